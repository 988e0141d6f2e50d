"""Regenerate `docs/tutorial.md` from `docs/tutorial.md.in` and a fresh run of the example.

Run from anywhere, with the Python that has the planner installed:

    .venv/bin/python docs/make_tutorial.py           # run the planner, write docs/tutorial.md
    .venv/bin/python docs/make_tutorial.py --check   # exit 1 with a diff if docs/tutorial.md
                                                     # does not match a fresh run

The script runs `planner validate` and `planner run --jobs 1` on `inputs/example.xlsx`
exactly as an analyst would (through the command line), reads the plan workbook the run
wrote, and fills every `{{name}}` placeholder of the template with a number taken from
that workbook. It also checks the qualitative statements the text makes ("China is the
country Japan's target holds back", "the reserve changes nothing in normal times", ...)
and stops with an error if a changed example makes one of them false, so the prose cannot
go stale silently either.

Needs only the planner's own dependencies (pandas, openpyxl).
"""
from __future__ import annotations

import argparse
import difflib
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "docs" / "tutorial.md.in"
OUTPUT = ROOT / "docs" / "tutorial.md"
EXAMPLE = Path("inputs") / "example.xlsx"  # relative to ROOT, as the tutorial types it

PLANNER = [sys.executable, "-c",
           "import sys; sys.argv[0] = 'planner'; from planner.cli import main; main()"]

BASE = "base"
# The order in which the tutorial's table lists the scenarios (the Summary sheet lists them
# in order of first appearance in the workbook).
ORDER = ["base", "cn-ree-embargo", "embargo+reserve", "us-ga-ban", "cn-oct25-return",
         "my-licence", "pilbara-port", "reserve-release", "au-tax-offset", "jp-battery+20%",
         "no-jp-target", "next-plant", "embargo+plant"]
NEXT_PLANT, EMBARGO_PLANT = "next-plant", "embargo+plant"
EMBARGO, EMBARGO_RESERVE = "cn-ree-embargo", "embargo+reserve"
US_GA_BAN, OCT25 = "us-ga-ban", "cn-oct25-return"
RESERVE, TAX_OFFSET, BATTERY, NO_TARGET = ("reserve-release", "au-tax-offset",
                                           "jp-battery+20%", "no-jp-target")
NDPR, DYTB, ANODE, GALLIUM = "NdPr oxide", "Dy/Tb oxide", "anode graphite", "gallium"
JP_MAGNETS = "JP-magnet-makers"


class StaleText(AssertionError):
    """A qualitative statement of the tutorial no longer holds for the example."""


def claim(condition: bool, statement: str) -> None:
    if not condition:
        raise StaleText(f"the tutorial says: {statement!r}, which a fresh run contradicts; "
                        f"update docs/tutorial.md.in")


# ---------------------------------------------------------------------------------------
# Running the planner and reading its plan

@dataclass
class Run:
    plan: Path              # the plan workbook written by `planner run`
    validate_output: str    # what `planner validate` printed (warnings, then the verdict)
    run_status: int         # exit status of `planner run`
    stress: Path            # the workbook written by `planner stress`
    stress_output: str      # what `planner stress` printed
    hedge: Path             # the workbook written by `planner hedge`
    hedge_output: str       # what `planner hedge` printed


def _planner(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*PLANNER, *args], cwd=ROOT, capture_output=True, text=True)


def fresh_run(workdir: Path) -> Run:
    """Validate and plan the example through the command line, as the tutorial does."""
    checked = _planner("validate", str(EXAMPLE))
    if checked.returncode != 0:
        raise RuntimeError(f"planner validate failed ({checked.returncode}):\n"
                           f"{checked.stdout}{checked.stderr}")
    plan = Path(workdir) / "example-plan.xlsx"
    ran = _planner("run", str(EXAMPLE), "-o", str(plan), "--jobs", "1", "--quiet")
    if ran.returncode != 0 or not plan.exists():
        raise RuntimeError(f"planner run failed ({ran.returncode}):\n{ran.stdout}{ran.stderr}")
    # The terminal shows the warnings (stderr) before the verdict (stdout).
    text = (checked.stderr.strip() + "\n" + checked.stdout.strip()).strip()
    stress = Path(workdir) / "example-stress.xlsx"
    stressed = _planner("stress", str(EXAMPLE), "-o", str(stress))
    if stressed.returncode != 0 or not stress.exists():
        raise RuntimeError(f"planner stress failed ({stressed.returncode}):\n"
                           f"{stressed.stdout}{stressed.stderr}")
    shown = stressed.stdout.replace(str(stress), "outputs/example-stress.xlsx").strip()
    hedge = Path(workdir) / "example-hedge.xlsx"
    hedged = _planner("hedge", str(EXAMPLE), "-o", str(hedge), *HEDGE_WEIGHTS)
    if hedged.returncode != 0 or not hedge.exists():
        raise RuntimeError(f"planner hedge failed ({hedged.returncode}):\n"
                           f"{hedged.stdout}{hedged.stderr}")
    return Run(plan, text, ran.returncode, stress, shown, hedge,
               hedged.stdout.replace(str(hedge), "outputs/example-hedge.xlsx").strip())


HEDGE_WEIGHTS = ("--risk-weight", "0,0.5,1")  # as the tutorial's command line says


def read_sheet(path: Path, sheet: str, first: str = "scenario") -> pd.DataFrame:
    """A plan sheet's table: the header is the first row with a `scenario` cell (for the
    Sourcing cross table, `material`), the data end at a blank row (docs/model.md)."""
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        rows = list(wb[sheet].iter_rows(values_only=True))
    finally:
        wb.close()
    for i, row in enumerate(rows):
        if first in row:
            header = list(row)
            data = []
            for values in rows[i + 1:]:
                if all(v is None for v in values):
                    break
                data.append(values)
            keep = [j for j, h in enumerate(header) if h is not None]
            return pd.DataFrame([[r[j] for j in keep] for r in data],
                                columns=[header[j] for j in keep])
    raise ValueError(f"sheet {sheet} of {path} has no header row with a {first!r} column")


def read_input_sheet(path: Path, sheet: str) -> pd.DataFrame:
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        rows = list(wb[sheet].iter_rows(values_only=True))
    finally:
        wb.close()
    return pd.DataFrame(rows[1:], columns=rows[0]).dropna(how="all")


# ---------------------------------------------------------------------------------------
# Number formats used in the text

def musd(value: float) -> str:
    """Money in millions: USD 2,745.4 m."""
    return f"USD {value / 1e6:,.1f} m"


def dmusd(value: float) -> str:
    """A change in millions with its sign: +1,049.2 m, −8.5 m, 0.0 m."""
    m = round(value / 1e6, 1)
    sign = "+" if m > 0 else ("−" if m < 0 else "±")
    return f"{sign}{abs(m):,.1f} m"


def usd(value: float) -> str:
    return f"USD {value:,.0f}"


def tonnes(value: float) -> str:
    return f"{value:,.1f} t" if abs(value - round(value)) > 1e-9 else f"{value:,.0f} t"


def pct(share: float) -> str:
    p = round(100 * share, 1)
    return f"{p:.0f}%" if p == int(p) else f"{p:.1f}%"


def md_table(header: list[str], rows: list[list[str]], align: str) -> str:
    """A Markdown table; `align` has one letter per column, l or r."""
    marks = {"l": ":--", "r": "--:"}
    lines = ["| " + " | ".join(header) + " |",
             "| " + " | ".join(marks[a] for a in align) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# The numbers of the tutorial

def _annual_shares(mix: pd.DataFrame, scenario: str, material: str, stage: str) -> pd.Series:
    m = mix[(mix["scenario"] == scenario) & (mix["material"] == material)
            & (mix["stage"] == stage)]
    total = m.groupby("country")["quantity_t"].sum()
    return (total / total.sum()).sort_values(ascending=False)


def per_t(rows: pd.DataFrame) -> pd.Series:
    """A share rule's shadow price per t of its row (member tonnes less share x stage
    tonnes): the Limits sheet gives it per 1.0 of the share bound."""
    return pd.to_numeric(rows["shadow_price"]) / pd.to_numeric(rows["stage_volume_t"])


def _one(values, what: str) -> float:
    """The common value of per-quarter figures that the text quotes once."""
    v = pd.Series(list(values), dtype=float).round(2).unique()
    claim(len(v) == 1, f"{what} is the same in every quarter")
    return float(v[0])


def facts(run: Run) -> dict[str, str]:
    plan = run.plan
    summary = read_sheet(plan, "Summary").set_index("scenario")
    flows = read_sheet(plan, "Flows")
    mix = read_sheet(plan, "Mix")
    limits = read_sheet(plan, "Limits")
    unmet = read_sheet(plan, "Unmet")
    comparison = read_sheet(plan, "Comparison")
    sourcing = read_sheet(plan, "Sourcing", "material")
    f: dict[str, str] = {}

    # --- the input workbook
    example = ROOT / EXAMPLE
    sheets = {n: read_input_sheet(example, n) for n in
              ("Suppliers", "Sites", "Demand", "Stockpiles", "Limits", "Restrictions",
               "Scenarios", "Sources")}
    f["n_suppliers"] = str(sheets["Suppliers"]["supplier"].nunique())
    f["n_sites"] = str(sheets["Sites"]["site"].nunique())
    f["n_customers"] = str(sheets["Demand"]["customer"].nunique())
    f["n_stockpiles"] = str(sheets["Stockpiles"]["stockpile"].nunique())
    f["n_limits"] = str(len(sheets["Limits"]))
    f["n_restrictions"] = str(len(sheets["Restrictions"]))
    f["n_scenarios"] = str(len(summary) - 1)
    sources = sheets["Sources"]
    f["n_figures"] = str(len(sources))
    basis = sources["basis"].value_counts()
    for b in ("published", "rounded", "derived", "assumed"):
        f[f"n_{b}"] = str(int(basis.get(b, 0)))
    claim("no errors, 0 warning(s)" in run.validate_output,
          "validation finds no errors and no warnings")
    f["validate_output"] = run.validate_output

    # --- Summary
    claim((summary["status"] == "optimal").all(), "every scenario solves to optimal")
    base = summary.loc[BASE]
    f["base_total"] = musd(base["total_cost"])
    for col in ("purchase_cost", "processing_cost", "freight_cost", "stockpile_cost"):
        f[f"base_{col.split('_')[0]}"] = musd(base[col])
    claim(base["unmet_t"] == 0, "base meets all demand")
    claim(sorted(summary.index) == sorted(ORDER), "the example has the scenarios of ORDER")
    rows = []
    claim(all(abs(summary["change_vs_base"] - (summary["total_cost"] - base["total_cost"]))
              < 1e-3), "change_vs_base is the change in total cost against base")
    for name, r in summary.loc[ORDER].iterrows():
        change = "" if name == BASE else dmusd(r["change_vs_base"])
        rows.append([f"`{name}`", r["status"], f"{r['total_cost'] / 1e6:,.1f}", change,
                     f"{r['unmet_t']:,.1f}"])
    f["summary_table"] = md_table(["scenario", "status", "total cost (USD m)",
                                   "change vs base", "unmet (t)"], rows, "llrrr")

    def delta(name: str) -> float:
        return float(summary.loc[name, "change_vs_base"])

    # --- Sourcing: the largest mine of the base plan, over the year
    mines = sourcing[(sourcing["period"] == "all") & (sourcing["kind"] == "supplier")]
    top = mines.loc[mines[BASE].astype(float).idxmax()]
    f["top_mine"], f["top_mine_material"] = str(top["id"]), str(top["material"])
    f["top_mine_t"] = tonnes(round(float(top[BASE])))
    spodumene = mines[mines["material"] == "spodumene SC6"]
    claim(len(spodumene) == 2 and set(spodumene["country"]) == {"AU"},
          "spodumene comes from two Australian mines")
    f["spodumene_t"] = tonnes(round(float(spodumene[BASE].astype(float).sum())))

    # --- Mix (base, whole year)
    nd = _annual_shares(mix, BASE, NDPR, "delivery")
    claim(nd.index[0] == "CN" and round(nd["CN"], 3) > 0.5,
          "China is the largest NdPr shipper in base, above 50% (with Narva's 65%)")
    dy = _annual_shares(mix, BASE, DYTB, "delivery")
    claim(dy.index[0] == "CN", "China ships most Dy/Tb in base")
    f["base_dytb_cn"] = pct(dy["CN"])
    gr = _annual_shares(mix, BASE, ANODE, "processing")
    f["base_anode_cn"] = pct(gr["CN"])
    ni = _annual_shares(mix, BASE, "battery nickel", "processing")
    claim(ni.index[0] == "JP", "Niihama refines most of the nickel in base")
    f["base_ni_jp"] = pct(ni["JP"])
    ga = _annual_shares(mix, BASE, GALLIUM, "delivery")
    f["base_ga_cn"] = pct(ga["CN"])
    hhi = mix[(mix["scenario"] == BASE) & (mix["material"] == NDPR)
              & (mix["stage"] == "delivery")].groupby("period")["hhi"].first()
    claim(hhi.min() > 2500, "delivered NdPr is highly concentrated (HHI above 2,500)")
    f["base_ndpr_hhi"] = f"{hhi.min():,.0f}" if hhi.min() == hhi.max() else \
        f"{hhi.min():,.0f} to {hhi.max():,.0f}"
    top_rows = []
    for material in (NDPR, DYTB, "LiOH", "battery nickel", "battery cobalt", ANODE, GALLIUM):
        s = _annual_shares(mix, BASE, material, "delivery")
        top_rows.append([material, s.index[0], pct(s.iloc[0]),
                         ", ".join(f"{c} {pct(v)}" for c, v in s.iloc[1:].items() if v > 0)
                         or "-"])
    f["base_mix_table"] = md_table(["material delivered", "largest shipper", "share",
                                    "others"], top_rows, "llrl")

    # --- Limits (base)
    lim = limits[limits["scenario"] == BASE]

    def rows_of(frame: pd.DataFrame, rule: str, member: str | None = None,
                material: str | None = None) -> pd.DataFrame:
        r = frame[frame["rule"] == rule]
        if member is not None:
            r = r[r["member"] == member]
        if material is not None:
            r = r[r["material"] == material]
        claim(len(r) > 0, f"the Limits sheet lists {rule} {member or ''} {material or ''}")
        return r

    jp = rows_of(lim, "JP REE 50%", "CN")
    claim((jp["binds"] == "yes").all(), "Japan's 50% target binds on China in every quarter")
    others = rows_of(lim, "JP REE 50%").query("member != 'CN'")
    claim((others["shadow_price"] == 0).all(),
          "China is the only country Japan's target holds back at a cost")
    at_cap = int(((others["member"] == "MY") & (others["binds"] == "yes")).sum())
    claim(at_cap > 0, "Malaysia sits at 50% in some quarters")
    f["jp_my_at_cap"] = str(at_cap)
    f["jp_shadow"] = usd(abs(_one(per_t(jp), "the shadow price of Japan's target")))
    f["jp_1pt_q"] = usd(_one(jp["value_of_1pt"], "the value of 1 point of Japan's target"))
    f["jp_1pt_year"] = usd(jp["value_of_1pt"].sum())
    f["jp_stage_q"] = tonnes(_one(jp["stage_volume_t"], "Japan's NdPr volume"))
    eu = rows_of(lim, "EU CRMA 65%: CN", "CN", NDPR)
    claim((eu["binds"] == "yes").all(), "the EU cap binds on Chinese NdPr for Narva")
    f["eu_shadow"] = usd(abs(_one(per_t(eu), "the EU cap's shadow price")))
    us = rows_of(lim, "US 45X anode from Allies")
    claim((us["binds"] == "yes").all(), "the 45X rule binds")
    f["us45x_shadow"] = usd(_one(per_t(us), "the 45X rule's shadow price"))
    f["us45x_1pt"] = usd(_one(us["value_of_1pt"], "the 45X rule's value of 1 point"))
    q = rows_of(lim, "CN Dy/Tb licences (Apr 2025)")
    claim((q["binds"] == "no").all(), "China's Dy/Tb licences do not bind in base")
    f["dytb_quota"] = tonnes(_one(q["bound"], "the Dy/Tb licence quota"))
    f["dytb_quota_used"] = f"{tonnes(q['volume_t'].min())} to {tonnes(q['volume_t'].max())}"
    drc = rows_of(lim, "DRC cobalt export quota")
    claim((drc["binds"] == "no").all(), "the DRC quota does not bind")
    f["drc_quota"] = tonnes(_one(drc["bound"], "the DRC quota"))
    f["drc_used"] = tonnes(drc["volume_t"].max())
    ban = rows_of(lim, "ID nickel-ore export ban")
    claim((ban["shadow_price"] == 0).all(), "the Indonesian ore ban costs nothing")
    jare = rows_of(lim, "JARE share of Lynas Dy/Tb")
    claim((jare["binds"] == "no").all(), "JARE's cap does not bind in base")
    f["jare_cap"] = tonnes(_one(jare["bound"], "JARE's cap"))
    floor = rows_of(lim, "floor AU-reserve")
    claim((floor["cost_of_rule"] == 0).all() and (floor["shadow_price"] == 0).all(),
          "AU-reserve's floor costs nothing in base, in total or at the margin")
    claim(abs(summary.loc[RESERVE, "total_cost"] - base["total_cost"]) < 1.0,
          "reserve-release (floor 0) costs what base costs")
    f["au_floor_total"] = usd(floor["cost_of_rule"].max())
    n_binding = int((lim["binds"] == "yes").sum())
    f["n_binding_base"] = str(n_binding)

    # --- Comparison
    cmp_ = comparison

    def top_share(scenario: str, item: str) -> pd.Series:
        r = cmp_[(cmp_["scenario"] == scenario) & (cmp_["section"] == "top share")
                 & (cmp_["item"] == item)]
        claim(len(r) == 1, f"the Comparison sheet has a top share row for {item}")
        return r.iloc[0]

    ts = top_share(EMBARGO, f"{NDPR} / delivery")
    claim(ts["detail"] == "CN -> MY", "in the embargo Malaysia replaces China as the top "
                                      "NdPr shipper")
    f["emb_ndpr_top_base"], f["emb_ndpr_top"] = pct(ts["base_value"]), pct(ts["value"])
    fl = cmp_[(cmp_["scenario"] == EMBARGO) & (cmp_["section"] == "flow")]
    first = fl.iloc[0]
    claim("Mt Weld concentrate" in first["item"], "the embargo's largest flow change is more "
                                                  "Mt Weld concentrate")
    f["emb_top_flow"] = f"`{first['item']}`"
    f["emb_top_flow_from"], f["emb_top_flow_to"] = tonnes(first["base_value"]), \
        tonnes(first["value"])
    claim(abs(delta(RESERVE)) < 0.5, "releasing the reserve in normal times changes nothing")
    rr = cmp_[(cmp_["scenario"] == RESERVE) & (cmp_["section"] == "flow")]
    f["reserve_flows"] = (
        "and its flow section is empty" if rr.empty else
        f"yet its flow section lists {len(rr)} rows: swaps of rare-earth oxides between "
        f"sources and buyers at exactly the same cost. When costs tie, the solver may pick any "
        f"of the equally cheap plans; check the cost line before reading a flow change as a "
        f"decision")
    for name, key in ((TAX_OFFSET, "tax"), (BATTERY, "battery"), (US_GA_BAN, "ga"),
                      (OCT25, "oct"), (NO_TARGET, "notarget"), (EMBARGO, "emb"),
                      (EMBARGO_RESERVE, "embres")):
        f[f"d_{key}"] = dmusd(delta(name))
    claim(delta(TAX_OFFSET) < 0 < delta(BATTERY), "the offset saves and +20% demand costs")
    f["tax_pct"] = f"{-100 * delta(TAX_OFFSET) / base['processing_cost']:.1f}%"
    claim(summary.loc[BATTERY, "unmet_t"] == 0, "the +20% battery demand is all met")
    lioh = flows[flows["material"] == "LiOH"]
    more = (lioh[lioh["scenario"] == BATTERY].groupby("from_country")["quantity_t"].sum()
            .sub(lioh[lioh["scenario"] == BASE].groupby("from_country")["quantity_t"].sum(),
                 fill_value=0))
    claim(more.idxmax() == "CN", "the extra LiOH comes mostly from Chinese converters")
    nickel = flows[flows["material"] == "battery nickel"]
    more = (nickel[nickel["scenario"] == BATTERY].groupby("from_country")["quantity_t"].sum()
            .sub(nickel[nickel["scenario"] == BASE].groupby("from_country")["quantity_t"].sum(),
                 fill_value=0))
    claim(more.idxmax() == "CN", "the extra nickel comes mostly from the Chinese refiner")

    # --- Question 1: Japan's target
    claim(delta(NO_TARGET) < 0, "dropping Japan's target lowers the cost")
    f["q1_saving"] = musd(-delta(NO_TARGET))
    f["q1_pct_total"] = pct(-delta(NO_TARGET) / base["total_cost"])
    mon = limits[(limits["scenario"] == NO_TARGET) & (limits["rule"] == "JP REE share (monitor)")]
    mon = mon.set_index("member")
    claim(mon["share"].idxmax() == "CN" and mon.loc["CN", "share"] > 0.5,
          "without the target China ships more than half of Japan's NdPr")
    f["q1_cn_share"] = pct(mon.loc["CN", "share"])
    f["q1_my_share"] = pct(mon.loc["MY", "share"])
    estimate = jp["value_of_1pt"].sum() * (100 * mon.loc["CN", "share"] - 50)
    f["q1_estimate"] = musd(estimate)
    f["q1_points"] = f"{100 * mon.loc['CN', 'share'] - 50:.1f}"
    claim(estimate > -delta(NO_TARGET), "the first-order estimate overstates the saving")

    # --- Question 2: the embargo
    def japan_ree(scenario: str, country: str | None = None) -> float:
        r = flows[(flows["scenario"] == scenario) & (flows["to_country"] == "JP")
                  & flows["material"].isin([NDPR, DYTB])]
        if country is not None:
            r = r[r["from_country"] == country]
        return float(r["quantity_t"].sum())

    claim(japan_ree(EMBARGO, "CN") == 0 and japan_ree(EMBARGO_RESERVE, "CN") == 0,
          "no Chinese rare earths reach Japan in the embargo")

    def short(scenario: str, material: str) -> float:
        u = unmet[(unmet["scenario"] == scenario) & (unmet["material"] == material)]
        return float(u["unmet_t"].sum())

    claim(short(EMBARGO, NDPR) == 0, "the embargo leaves no NdPr unmet")
    claim(short(EMBARGO, DYTB) == float(summary.loc[EMBARGO, "unmet_t"]),
          "the embargo's whole shortfall is Dy/Tb")
    f["q2_dytb_short"] = tonnes(short(EMBARGO, DYTB))
    dytb_jp = float(read_input_sheet(example, "Demand").query(
        "customer == @JP_MAGNETS and material == @DYTB")["quantity_t"].sum())
    f["q2_dytb_demand"] = tonnes(dytb_jp)
    f["q2_dytb_short_pct"] = pct(short(EMBARGO, DYTB) / dytb_jp)
    f["q2_short_with_reserve"] = tonnes(short(EMBARGO_RESERVE, DYTB))
    f["q2_reserve_t"] = tonnes(short(EMBARGO, DYTB) - short(EMBARGO_RESERVE, DYTB))
    holding = float(sheets["Stockpiles"].set_index("stockpile").loc["AU-reserve", "initial_t"])
    claim(abs(short(EMBARGO, DYTB) - short(EMBARGO_RESERVE, DYTB) - holding) < 1e-6,
          "in the embargo the reserve is worth its whole holding")
    f["q2_reserve_saving"] = musd(delta(EMBARGO) - delta(EMBARGO_RESERVE))
    claim(delta(EMBARGO) > delta(EMBARGO_RESERVE) > 0, "the reserve lowers the embargo's cost")
    f["q2_unmet_cost"] = musd(summary.loc[EMBARGO, "unmet_cost"])
    f["q2_penalty"] = usd(unmet[(unmet["scenario"] == EMBARGO)
                                & (unmet["material"] == DYTB)]["unmet_penalty"].iloc[0])
    nd_jp = flows[(flows["scenario"] == EMBARGO) & (flows["to"] == JP_MAGNETS)
                  & (flows["material"] == NDPR)].groupby("from_country")["quantity_t"].sum()
    claim(nd_jp.idxmax() == "MY", "Lynas Malaysia carries Japan's NdPr in the embargo")
    f["q2_ndpr_my"] = pct(nd_jp["MY"] / nd_jp.sum())
    el = limits[limits["scenario"] == EMBARGO]
    jare_e = rows_of(el, "JARE share of Lynas Dy/Tb")
    claim((jare_e["binds"] == "yes").all(), "JARE's cap binds in the embargo")
    f["q2_jare_shadow"] = usd(abs(_one(jare_e["shadow_price"], "JARE's shadow price")))
    jfloor = rows_of(el, "floor JOGMEC-DyTb")
    claim((jfloor["binds"] == "yes").any(), "the JOGMEC floor binds in the embargo")
    f["q2_jogmec_floor"] = tonnes(_one(jfloor["bound"], "the JOGMEC floor"))
    f["q2_jogmec_shadow"] = usd(jfloor["shadow_price"].max())
    f["q2_jogmec_period"] = str(jfloor.loc[jfloor["shadow_price"].idxmax(), "period"])
    emb_ban = rows_of(el, f"CN embargo on JP: {DYTB}")
    f["q2_ban_shadow"] = f"{usd(abs(emb_ban['shadow_price']).min())} to " \
                         f"{usd(abs(emb_ban['shadow_price']).max())}"

    # --- Question 3: the suspended controls
    ga = flows[(flows["scenario"] == US_GA_BAN) & (flows["material"] == GALLIUM)
               & (flows["to"] == "US-semis")]
    claim(set(ga["from"]) == {"Wagerup-gallium"}, "Wagerup supplies the US chip maker under "
                                                  "the ban")
    f["q3_ga_t"] = tonnes(ga["quantity_t"].sum())
    gl = limits[(limits["scenario"] == US_GA_BAN)
                & (limits["rule"] == "CN gallium ban to US (Dec 2024)")]
    f["q3_ga_shadow"] = usd(abs(_one(gl["shadow_price"], "the gallium ban's shadow price")))
    claim(summary.loc[US_GA_BAN, "unmet_t"] == 0, "the gallium ban leaves nothing unmet")
    claim(summary.loc[OCT25, "unmet_cost"] > 0.5 * delta(OCT25),
          "most of the October controls' cost is unmet penalty")
    f["q3_oct_graphite"] = tonnes(short(OCT25, ANODE))
    f["q3_oct_dytb"] = tonnes(short(OCT25, DYTB))
    anode_demand = float(read_input_sheet(example, "Demand").query(
        "material == @ANODE and country in ['JP', 'KR']")["quantity_t"].sum())
    f["q3_oct_graphite_pct"] = pct(short(OCT25, ANODE) / anode_demand)
    ol = limits[limits["scenario"] == OCT25]
    f["q3_anode_shadow"] = usd(abs(_one(rows_of(ol, "CN Oct-2025 controls: anode")
                                        ["shadow_price"], "the anode quota's shadow price")))
    f["q3_dytb_quota"] = tonnes(_one(rows_of(ol, "CN Oct-2025 controls: Dy/Tb")["bound"],
                                     "the October Dy/Tb quota"))
    claim((rows_of(ol, "JARE share of Lynas Dy/Tb")["binds"] == "yes").all(),
          "under the October controls Lynas runs up to JARE's cap")
    jp_oct = rows_of(ol, "JP REE 50%", "MY")
    claim((jp_oct["binds"] == "yes").all(), "under the October controls Japan's target binds "
                                            "on Malaysia")
    # duals of a degenerate optimum may split between quarters: quote the largest
    f["q3_jp_my_shadow"] = usd(abs(per_t(jp_oct).min()))
    f["q3_oct_unmet_cost"] = musd(summary.loc[OCT25, "unmet_cost"])
    who = unmet[(unmet["scenario"] == OCT25) & (unmet["material"] == ANODE)]
    by_buyer = who.groupby("customer")["unmet_t"].sum()
    f["q3_oct_graphite_jp"] = tonnes(by_buyer.get("JP-anode", 0.0))
    f["q3_oct_graphite_kr"] = tonnes(by_buyer.get("KR-anode", 0.0))
    freight = read_input_sheet(example, "Freight")
    general = freight[freight["material"].isna()].set_index(["from_country", "to_country"])
    gap = general.loc[("CN", "JP"), "cost_per_t"] - general.loc[("CN", "KR"), "cost_per_t"]
    claim(gap > 0 and by_buyer.get("JP-anode", 0.0) > by_buyer.get("KR-anode", 0.0),
          "the graphite shortfall falls on Japan because shipping to Korea is cheaper")
    f["q3_freight_gap"] = f"${gap:,.0f}/t"

    # --- Options
    options = read_sheet(plan, "Options")
    claim(set(options["scenario"]) == {NEXT_PLANT, EMBARGO_PLANT},
          "the options exist in next-plant and embargo+plant only")
    claim(not (options["taken"] == "yes").any(), "no option is taken, even under the embargo")
    claim(abs(summary.loc[EMBARGO_PLANT, "total_cost"] - summary.loc[EMBARGO, "total_cost"])
          < 1.0 and abs(summary.loc[NEXT_PLANT, "total_cost"] - base["total_cost"]) < 1.0,
          "the scenarios with options cost what they cost without")
    by_name = options[options["scenario"] == EMBARGO_PLANT].set_index("option")
    jp, eneabba = by_name.loc["JP separator 2,500 t/q"], by_name.loc["Eneabba to 18,400 t/yr"]
    f["opt_jp_cost"] = musd(jp["fixed_cost"])
    f["opt_jp_t"] = tonnes(jp["capacity_t"])
    f["opt_jp_dytb"] = tonnes(jp["capacity_t"] * 0.004)
    f["opt_eneabba_cost"] = musd(eneabba["fixed_cost"])
    f["opt_eneabba_used"] = tonnes(eneabba["capacity_used"])
    util = read_sheet(plan, "Utilization")
    en = util[(util["scenario"] == EMBARGO_PLANT) & (util["id"] == "Eneabba")]
    claim((pd.to_numeric(en["utilization"]) < 0.999).all(),
          "Eneabba is not at capacity in embargo+plant")
    f["opt_eneabba_peak"] = pct(pd.to_numeric(en["utilization"]).max())

    # --- Provenance
    provenance = read_sheet(plan, "Provenance")
    base_prov = provenance[provenance["scenario"] == BASE]
    origin = _annual_shares(mix, BASE, NDPR, "origin")
    shipped = _annual_shares(mix, BASE, NDPR, "delivery")
    f["prov_cn_shipped"] = pct(shipped.get("CN", 0.0))
    f["prov_cn_mined"] = pct(origin.get("CN", 0.0))
    f["prov_mm_mined"] = pct(origin.get("MM", 0.0))
    f["prov_au_mined"] = pct(origin.get("AU", 0.0))
    claim(origin.get("CN", 0.0) < shipped.get("CN", 0.0),
          "China mines less of the NdPr than it ships")
    jp_nd = base_prov[(base_prov["customer"] == "JP-magnet-makers")
                      & (base_prov["material"] == NDPR)]
    received = jp_nd.loc[jp_nd["basis"] == "origin", "quantity_t"].sum()
    mined_cn = jp_nd.loc[(jp_nd["basis"] == "origin") & (jp_nd["member"] == "CN"),
                         "quantity_t"].sum()
    f["prov_jp_cn_mined"] = pct(mined_cn / received)
    flows = read_sheet(plan, "Flows")
    us = flows[(flows["scenario"] == BASE) & (flows["to"] == "US-cell-maker")]
    claim(us["from"].nunique() == 1, "the US cell maker's anode comes from one site")
    f["prov_us_anode_from"] = str(us["from"].iloc[0])
    claim(not ((base_prov["customer"] == "US-cell-maker")
               & (base_prov["basis"] == "touched")).any(),
          "the US cell maker's anode touched no covered nation")
    feoc = limits[(limits["scenario"] == BASE) & (limits["rule"] == "US FEOC: anode (IRA 30D)")]
    claim(feoc["cost_of_rule"].max() == 0 and (feoc["shadow_price"] == 0).all(),
          "the FEOC row costs nothing in total or at the margin in base")
    f["prov_feoc_total"] = usd(feoc["cost_of_rule"].max())
    f["prov_feoc_shadow"] = usd(abs(feoc["shadow_price"]).max())

    # --- The stress test
    risk = read_sheet(run.stress, "Risk", "policy").set_index("policy")
    stress = read_sheet(run.stress, "Stress", "outcome")
    events = read_sheet(run.stress, "Risk", "event")
    risks = read_input_sheet(example, "Risks")
    f["stress_output"] = run.stress_output
    f["n_events"] = str(len(risks))
    f["n_outcomes"] = str(stress["outcome"].nunique())
    committed, replan = risk.loc["committed"], risk.loc["replan"]
    f["stress_expected"] = musd(committed["expected_cost"])
    f["stress_replan_expected"] = musd(replan["expected_cost"])
    f["stress_cvar"] = musd(committed["cvar_95"])
    f["stress_p_unmet"] = pct(committed["p_unmet"])
    claim(committed["expected_cost"] >= replan["expected_cost"] - 1e-6,
          "knowing the outcome never costs more on average")
    f["stress_perfect_information"] = musd(committed["expected_cost"]
                                           - replan["expected_cost"])
    claim(abs(stress.query("events == 'none' and policy == 'committed'")["total_cost"].iloc[0]
              - summary.loc[BASE, "total_cost"]) < 1.0,
          "with nothing happening the committed plan costs base's total")
    top = events[events["policy"] == "committed"].iloc[0]
    f["stress_top_event"] = f"`{top['event']}`"
    f["stress_top_effect"] = musd(top["cost_effect"])
    f["stress_top_p"] = pct(top["probability"])

    # --- The hedge
    plans = read_sheet(run.hedge, "Hedge", "plan").set_index("plan")
    suppliers = read_sheet(run.hedge, "Contracts", "hedged_cost")
    sweep = read_sheet(run.hedge, "Hedge", "risk_weight")
    f["hedge_output"] = run.hedge_output
    f["hedge_weights"] = HEDGE_WEIGHTS[1]
    f["hedge_rp"] = musd(plans.loc["RP", "expected_cost"])
    f["hedge_eev"] = musd(plans.loc["EEV", "expected_cost"])
    f["hedge_ws"] = musd(plans.loc["WS", "expected_cost"])
    f["hedge_vss"] = musd(plans.loc["VSS", "expected_cost"])
    f["hedge_evpi"] = musd(plans.loc["EVPI", "expected_cost"])
    claim(abs(plans.loc["EEV", "expected_cost"] - committed["expected_cost"]) < 1.0,
          "EEV is the stress test's committed expected cost")
    claim(abs(plans.loc["WS", "expected_cost"] - replan["expected_cost"]) < 1.0,
          "WS is the stress test's replan expected cost")
    claim(plans.loc["VSS", "expected_cost"] > 0, "the hedge saves money on average")
    f["hedge_normal"] = musd(plans.loc["RP", "normal_year_cost"]
                             - plans.loc["EEV", "normal_year_cost"])
    f["hedge_cvar_saved"] = musd(plans.loc["EEV", "cvar_95"] - plans.loc["RP", "cvar_95"])
    change = (suppliers["hedged_cost"] - suppliers["base_cost"])
    up, down = suppliers.loc[change.idxmax()], suppliers.loc[change.idxmin()]
    claim(change.max() > 0 > change.min(), "the hedge buys more from one supplier and less "
                                           "from another")
    for name, row in (("up", up), ("down", down)):
        f[f"hedge_{name}"] = f"`{row['supplier']}` ({row['country']})"
        f[f"hedge_{name}_t"] = tonnes(abs(row["hedged_t"] - row["base_t"]))
        f[f"hedge_{name}_cost"] = musd(abs(row["hedged_cost"] - row["base_cost"]))
    last = sweep.iloc[-1]
    f["hedge_last_weight"] = f"{last['risk_weight']:g}"
    f["hedge_last_expected"] = musd(last["expected_cost"] - sweep.iloc[0]["expected_cost"])
    f["hedge_last_cvar"] = musd(sweep.iloc[0]["cvar_alpha"] - last["cvar_alpha"])
    claim(last["cvar_alpha"] <= sweep.iloc[0]["cvar_alpha"] + 1.0,
          "a higher risk weight lowers CVaR")
    return f


# ---------------------------------------------------------------------------------------
PLACEHOLDER = re.compile(r"\{\{\s*([a-zA-Z0-9_]+)\s*\}\}")


def render(template: str, values: dict[str, str]) -> str:
    used = set(PLACEHOLDER.findall(template))
    missing = sorted(used - set(values))
    if missing:
        raise KeyError(f"docs/tutorial.md.in uses unknown placeholder(s): {', '.join(missing)}")
    unused = sorted(set(values) - used)
    if unused:
        raise KeyError(f"facts computed but not used in docs/tutorial.md.in: "
                       f"{', '.join(unused)}")
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def build(workdir: Path | None = None) -> str:
    """The tutorial text from a fresh run (in `workdir`, else a temporary directory)."""
    if workdir is not None:
        return render(TEMPLATE.read_text(encoding="utf-8"), facts(fresh_run(workdir)))
    with tempfile.TemporaryDirectory() as tmp:
        return build(Path(tmp))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="compare with docs/tutorial.md instead of writing it")
    args = parser.parse_args(argv)
    text = build()
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current == text:
            print(f"{OUTPUT.relative_to(ROOT)} matches a fresh run")
            return 0
        sys.stdout.writelines(difflib.unified_diff(
            current.splitlines(keepends=True), text.splitlines(keepends=True),
            "docs/tutorial.md (committed)", "docs/tutorial.md (fresh run)"))
        print(f"\n{OUTPUT.relative_to(ROOT)} is stale: run python docs/make_tutorial.py")
        return 1
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
