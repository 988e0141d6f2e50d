"""Diversification limits (Limits sheet) and trade restrictions (Restrictions sheet).

Small hand-solved instances where each rule BINDS and changes the optimum. Every expected
number below comes from the hand calculation written next to it, never from a planner run.
Each instance (with and without its rule, and with the bound moved by one step) was also
re-solved beforehand with a separate, minimal PuLP formulation outside the repository
(HiGHS and CBC both agreed with the numbers here, shadow prices by finite difference).

Conventions checked (docs/model.md: the Limits and Restrictions rows, 4.6-4.8, and the
Limits / Mix plan sheets):
  * shadow_price = d(total cost) / d(bound): <= 0 for a max rule (max_share, quota, lane
    cap), >= 0 for a min_share rule. For quotas, lanes and floors the bound is tonnes (money
    per t); for a share rule it is the share, so moving it by delta moves the cost by
    shadow_price x delta. The hand values below give a share rule's price per t of its row
    (the row is member volume - share x stage volume), which is shadow_price /
    stage_volume_t; value_of_1pt = |shadow_price| x 0.01.
  * Every instance is built so the optimum (flows) and the duals are unique: no cost ties
    between the alternatives a rule forces, and no degenerate vertex (the number of positive
    variables equals the number of tight rows).

Every solved plan is also recomputed from its Flows sheet alone by an independent checker
(`check_plan_obeys_rules`) against the rules written into the input.

The instances are solved through the library API (`api.plan` on the same tables as
DataFrames: the numbers do not need the files); `test_quota_blank_period_is_one_instance_per_period`
and `test_chain_instance_without_rules` run `planner run` on a written workbook and read the
plan file back, so the command line and the file's form of the Limits sheet (binds yes/no,
period labels as text) stay covered.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
from click.testing import CliRunner

from planner import api
from planner.cli import main
from wb import frames, make_workbook, read_plan_sheet, table_rows

SOLVERS = ["highs", "cbc"]
TOL = 1e-6
SHADOW_TOL = 1e-5   # the plan rounds to 6 decimals

LIMIT_KEYS = ("rule", "material", "stage", "by", "member", "customer", "period", "min_share",
              "max_share")
RESTRICTION_KEYS = ("rule", "type", "material", "from", "to", "max_t", "period")


# --------------------------------------------------------------------------- helpers


def approx(value, tol=TOL):
    return pytest.approx(value, rel=tol, abs=tol)


def run_plan(tmp_path, sheets, solver, name="input", expect_exit=0):
    """Write the input workbook, run the CLI, return the plan path."""
    inp = make_workbook(tmp_path / f"{name}.xlsx", sheets)
    out = tmp_path / f"{name}-plan.xlsx"
    result = CliRunner().invoke(
        main, ["run", str(inp), "-o", str(out), "--solver", solver, "--quiet"]
    )
    assert result.exit_code == expect_exit, (result.exit_code, result.output, result.exception)
    return out


def plan_tables(sheets, solver):
    """The same tables as DataFrames through the library API; every scenario optimal (what
    exit status 0 says on the command line)."""
    plan = api.plan(frames(sheets), solver=solver, jobs=1)
    assert plan.all_optimal, table_rows(plan["Summary"])
    return plan


def base_rows(out, sheet):
    """Base rows of a plan sheet, from the plan file (a path) or the API's tables."""
    rows = read_plan_sheet(out, sheet) if isinstance(out, Path) else table_rows(out[sheet])
    return [r for r in rows if r.get("scenario") == "base"]


def total_cost(out):
    rows = base_rows(out, "Summary")
    assert len(rows) == 1, rows
    assert rows[0]["status"] == "optimal", rows[0]
    return float(rows[0]["total_cost"])


def flow(flows, **match):
    """Sum of quantity_t over flow rows matching every given column (`frm=` for `from`)."""
    if "frm" in match:
        match["from"] = match.pop("frm")
    return sum(float(r["quantity_t"] or 0) for r in flows
               if all(str(r.get(c)) == str(v) for c, v in match.items()))


def assert_flows(flows, expected, **common):
    """expected: {(from, to): t} or {(from, to, period): t}; everything else unlisted is free."""
    for key, qty in expected.items():
        frm, to = key[0], key[1]
        extra = {"period": key[2]} if len(key) > 2 else {}
        assert flow(flows, frm=frm, to=to, **extra, **common) == approx(qty), (key, qty)


def limit_rows(out, rule):
    return [r for r in base_rows(out, "Limits") if r.get("rule") == rule]


def _same(cell, value):
    if value is None:
        return cell is None or str(cell).strip() == ""
    return str(cell) == str(value)


def limit_row(out, rule, **keys):
    """The one Limits-sheet row of `rule` whose columns equal `keys` (None = blank cell)."""
    rows = [r for r in limit_rows(out, rule) if all(_same(r.get(k), v) for k, v in keys.items())]
    assert len(rows) == 1, (rule, keys, limit_rows(out, rule))
    return rows[0]


def assert_share_row(row, *, volume, stage, bound, sense, shadow, binds=True):
    """A share-rule row of the API's Limits table: level, bound, binding flag (a boolean),
    shadow price (`shadow`: the hand value per t of the rule's row) and value of one
    point."""
    assert row["type"] == "limit", row
    assert row["sense"] == sense, row
    assert float(row["volume_t"]) == approx(volume), row
    assert float(row["stage_volume_t"]) == approx(stage), row
    assert float(row["share"]) == approx(volume / stage), row
    assert float(row["level"]) == approx(volume / stage), row  # in the bound's unit: a share
    assert float(row["bound"]) == approx(bound), row
    assert row["binds"] is binds, row
    # `shadow`: the hand value per t of the row; the sheet's is per 1.0 of the share bound
    assert float(row["shadow_price"] or 0) == approx(shadow * stage, SHADOW_TOL), row
    assert float(row["value_of_1pt"] or 0) == approx(abs(shadow) * stage * 0.01, SHADOW_TOL), row
    if sense == "max":
        assert float(row["shadow_price"] or 0) <= SHADOW_TOL, row
    else:
        assert float(row["shadow_price"] or 0) >= -SHADOW_TOL, row


def limit(rule, stage, by, member=None, *, material="Li", customer=None, period=None,
          min_share=None, max_share=None):
    return {"rule": rule, "material": material, "stage": stage, "by": by, "member": member,
            "customer": customer, "period": period, "min_share": min_share, "max_share": max_share}


def restriction(rule, type_, frm=None, to=None, *, material=None, max_t=None, period=None):
    return {"rule": rule, "type": type_, "material": material, "from": frm, "to": to,
            "max_t": max_t, "period": period}


def with_rules(sheets, limits=(), restrictions=()):
    sheets = dict(sheets)
    if limits:
        sheets["Limits"] = [{k: r.get(k) for k in LIMIT_KEYS} for r in limits]
    if restrictions:
        sheets["Restrictions"] = [{k: r.get(k) for k in RESTRICTION_KEYS} for r in restrictions]
    return sheets


# --------------------------------------------------------------------------- independent checker


def _blank(v):
    return v is None or (isinstance(v, str) and not v.strip())


def check_plan_obeys_rules(sheets, flows, tol=1e-6):
    """Recompute every Limits and Restrictions rule of the input from the Flows sheet alone.

    Node kinds come from the input sheets (which ids are suppliers, sites, customers,
    stockpiles); countries come from the Flows rows. Returns nothing; asserts no violation.
    """
    groups = defaultdict(set)
    for r in sheets.get("Groups", []):
        groups[r["group"]].add(r["country"])
    suppliers = {r["supplier"] for r in sheets.get("Suppliers", [])}
    sites = {r["site"] for r in sheets.get("Sites", [])}
    stockpiles = {r["stockpile"] for r in sheets.get("Stockpiles", [])}
    customers = {r["customer"] for r in sheets.get("Demand", [])}
    if "Periods" in sheets:
        periods = [str(r["period"]) for r in sheets["Periods"]]
    else:
        periods = sorted({str(r["period"]) for r in sheets["Demand"]})
    customers_of = defaultdict(set)
    for r in sheets["Demand"]:
        customers_of[r["material"]].add(r["customer"])
    rows = [dict(r, period=str(r["period"]), quantity_t=float(r["quantity_t"] or 0)) for r in flows]

    def matches(spec, node, country):
        if _blank(spec):
            return True
        return spec == node or spec == country or country in groups.get(spec, ())

    in_stage = {
        "supply": lambda r: r["from"] in suppliers or r["from"] in stockpiles,
        "processing": lambda r: r["from"] in sites,
        "delivery": lambda r: r["to"] in customers,
    }
    problems = []
    for rule in sheets.get("Limits", []):
        stage_rows = [r for r in rows if in_stage[rule["stage"]](r)]
        mats = ([rule["material"]] if not _blank(rule.get("material"))
                else sorted({r["material"] for r in stage_rows}))
        per = rule.get("period")
        scopes = ([[p] for p in periods] if _blank(per)
                  else [periods] if str(per) == "all" else [[str(per)]])
        by = rule["by"]
        if not _blank(rule.get("member")):
            members = [rule["member"]]
        elif by == "group":
            members = sorted(groups)
        elif by == "country":
            members = sorted({r["from_country"] for r in stage_rows})
        else:
            members = sorted({r["from"] for r in stage_rows})
        for mat in mats:
            cust = rule.get("customer")
            if rule["stage"] != "delivery" or _blank(cust):
                cscopes = [None]
            elif cust == "each":
                cscopes = [{c} for c in sorted(customers_of[mat])]
            else:
                cscopes = [{cust}]
            for ps in scopes:
                for cs in cscopes:
                    sel = [r for r in stage_rows if r["material"] == mat and r["period"] in ps
                           and (cs is None or r["to"] in cs)]
                    total = sum(r["quantity_t"] for r in sel)
                    for mem in members:
                        if by == "node":
                            own = sum(r["quantity_t"] for r in sel if r["from"] == mem)
                        elif by == "group":
                            own = sum(r["quantity_t"] for r in sel if r["from_country"] in groups[mem])
                        else:
                            own = sum(r["quantity_t"] for r in sel if r["from_country"] == mem)
                        where = (rule["rule"], mat, ps, cs, mem, own, total)
                        if rule.get("max_share") is not None and own > rule["max_share"] * total + tol:
                            problems.append(("max_share", where))
                        if rule.get("min_share") is not None and own < rule["min_share"] * total - tol:
                            problems.append(("min_share", where))
    for rule in sheets.get("Restrictions", []):
        def hit(r):
            return ((_blank(rule.get("material")) or r["material"] == rule["material"])
                    and (_blank(rule.get("period")) or r["period"] == str(rule["period"])))
        if rule["type"] == "exclude":
            for r in rows:
                if not hit(r) or r["quantity_t"] <= tol:
                    continue
                if r["from"] not in customers and matches(rule.get("from"), r["from"], r["from_country"]):
                    problems.append(("exclude ships", rule["rule"], r))
                if r["to"] not in customers and matches(rule.get("from"), r["to"], r["to_country"]):
                    problems.append(("exclude receives", rule["rule"], r))
        else:
            cross = [r for r in rows if hit(r) and r["from_country"] != r["to_country"]
                     and matches(rule.get("from"), r["from"], r["from_country"])
                     and matches(rule.get("to"), r["to"], r["to_country"])]
            if rule["type"] == "ban":
                problems += [("ban", rule["rule"], r) for r in cross if r["quantity_t"] > tol]
            else:
                for p in periods:
                    q = sum(r["quantity_t"] for r in cross if r["period"] == p)
                    if q > float(rule["max_t"]) + tol:
                        problems.append(("quota", rule["rule"], p, q))
    assert not problems, problems


def solve_checked(sheets, solver):
    """Plan through the API, check every rule from its Flows table, return (plan, total cost,
    flows)."""
    return _checked(plan_tables(sheets, solver), sheets)


def solve_checked_cli(tmp_path, sheets, solver, name="input"):
    """As `solve_checked`, through `planner run` and the plan file: (plan path, cost, flows)."""
    return _checked(run_plan(tmp_path, sheets, solver, name), sheets)


def _checked(out, sheets):
    flows = base_rows(out, "Flows")
    cost = total_cost(out)
    check_plan_obeys_rules(sheets, flows)
    return out, cost, flows


# =========================================================================== instances

# --------------------------------------------------------------------------- SUPPLY
# Periods P1, P2. One buyer in JP needs 100 t Li in P1 and 50 t in P2. Suppliers (unlimited):
#   S_CN (CN) 10 + freight 2 = landed 12
#   S_AU (AU) 14 + 3 = 17 in P1; a P2 row prices it at 20 -> landed 23 in P2
#   S_CL (CL) 17 + 4 = 21
# No rule: all from CN: 12 x 150 = 1,800.
# Rule "cn_cap": supply, country CN, max_share 0.6 (CN's tonnes <= 0.6 x all supply tonnes).
#   The next-cheapest source replaces CN: AU in P1 (+5/t), CL in P2 (21 - 12 = +9/t; AU is 23).
#   period blank (each period): P1 CN 60 + AU 40 = 720 + 680 = 1,400;
#       P2 CN 30 + CL 20 = 360 + 420 = 780; total 2,180. Shadows P1 -5, P2 -9.
#       value_of_1pt: 5 x 100 x 0.01 = 5; 9 x 50 x 0.01 = 4.5.
#   period all: CN <= 0.6 x 150 = 90 over the horizon; the 60 t cut falls where replacing is
#       cheapest (P1, +5 < +9): P1 CN 40 + AU 60 = 480 + 1,020 = 1,500; P2 CN 50 = 600;
#       total 2,100. Shadow -5 (one more CN t replaces one AU t in P1); 1pt = 5 x 150 x 0.01 = 7.5.
#   period P2: P1 all CN 1,200; P2 780; total 1,980. Shadow -9; 1pt = 4.5.
# Rule "au_floor": supply, country AU, min_share 0.4 (AU's tonnes >= 0.4 x supply), rest CN.
#   period blank: P1 AU 40 + CN 60 = 1,400; P2 AU 20 + CN 30 = 460 + 360 = 820; total 2,220.
#       Shadows P1 +5 (17 - 12), P2 +11 (23 - 12). 1pt: 5, 11 x 50 x 0.01 = 5.5.
#   period all: AU >= 60 over the horizon, all in P1 (+5 < +11): P1 AU 60 + CN 40 = 1,500;
#       P2 CN 600; total 2,100. Shadow +5; 1pt = 5 x 150 x 0.01 = 7.5.
#   period P2: P1 1,200 + P2 820 = 2,020. Shadow +11; 1pt 5.5.
# Step (bound moved by delta; max: +0.01, min: -0.01, i.e. loosened), same basis:
#   cn_cap blank: -(5 x 100 + 9 x 50) x 0.01 = -9.5; all: -5 x 150 x 0.01 = -7.5; P2: -4.5.
#   au_floor blank: -(5 x 100 + 11 x 50) x 0.01 = -10.5; all: -7.5; P2: -5.5.

SUPPLY_NO_RULE = 1800


def supply_sheets():
    return {
        "Periods": [{"period": "P1"}, {"period": "P2"}],
        "Suppliers": [
            {"supplier": "S_CN", "country": "CN", "material": "Li", "capacity_t": None, "unit_cost": 10, "period": None},
            {"supplier": "S_AU", "country": "AU", "material": "Li", "capacity_t": None, "unit_cost": 14, "period": None},
            {"supplier": "S_AU", "country": "AU", "material": "Li", "capacity_t": None, "unit_cost": 20, "period": "P2"},
            {"supplier": "S_CL", "country": "CL", "material": "Li", "capacity_t": None, "unit_cost": 17, "period": None},
        ],
        "Demand": [
            {"customer": "Buyer", "country": "JP", "material": "Li", "period": "P1", "quantity_t": 100},
            {"customer": "Buyer", "country": "JP", "material": "Li", "period": "P2", "quantity_t": 50},
        ],
        "Freight": [
            {"from_country": "CN", "to_country": "JP", "cost_per_t": 2},
            {"from_country": "AU", "to_country": "JP", "cost_per_t": 3},
            {"from_country": "CL", "to_country": "JP", "cost_per_t": 4},
        ],
    }


# (id, rule, total, flows {(supplier, period): t}, rows [(period, volume, stage, shadow)],
#  step, cost change for the step)
SUPPLY_CASES = [
    ("cn-max-each-period", limit("cn_cap", "supply", "country", "CN", max_share=0.6), 2180,
     {"P1": (60, 40, 0), "P2": (30, 0, 20)}, [("P1", 60, 100, -5), ("P2", 30, 50, -9)], +0.01, -9.5),
    ("cn-max-all", limit("cn_cap", "supply", "country", "CN", period="all", max_share=0.6), 2100,
     {"P1": (40, 60, 0), "P2": (50, 0, 0)}, [("all", 90, 150, -5)], +0.01, -7.5),
    ("cn-max-P2", limit("cn_cap", "supply", "country", "CN", period="P2", max_share=0.6), 1980,
     {"P1": (100, 0, 0), "P2": (30, 0, 20)}, [("P2", 30, 50, -9)], +0.01, -4.5),
    ("au-min-each-period", limit("au_floor", "supply", "country", "AU", min_share=0.4), 2220,
     {"P1": (60, 40, 0), "P2": (30, 20, 0)}, [("P1", 40, 100, 5), ("P2", 20, 50, 11)], -0.01, -10.5),
    ("au-min-all", limit("au_floor", "supply", "country", "AU", period="all", min_share=0.4), 2100,
     {"P1": (40, 60, 0), "P2": (50, 0, 0)}, [("all", 60, 150, 5)], -0.01, -7.5),
    ("au-min-P2", limit("au_floor", "supply", "country", "AU", period="P2", min_share=0.4), 2020,
     {"P1": (100, 0, 0), "P2": (30, 20, 0)}, [("P2", 20, 50, 11)], -0.01, -5.5),
]


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("case", SUPPLY_CASES, ids=[c[0] for c in SUPPLY_CASES])
def test_supply_share_by_country_and_period_scope(solver, case):
    _, rule, total, by_period, rows, _, _ = case
    sheets = with_rules(supply_sheets(), [rule])
    out, cost, flows = solve_checked(sheets, solver)
    assert cost == approx(total)
    assert cost > SUPPLY_NO_RULE + 1          # the rule binds and costs money
    for period, (cn, au, cl) in by_period.items():
        assert_flows(flows, {("S_CN", "Buyer", period): cn, ("S_AU", "Buyer", period): au,
                             ("S_CL", "Buyer", period): cl}, material="Li")
    bound = rule["max_share"] if rule["max_share"] is not None else rule["min_share"]
    sense = "max" if rule["max_share"] is not None else "min"
    assert len(limit_rows(out, rule["rule"])) == len(rows)
    for period, volume, stage, shadow in rows:
        row = limit_row(out, rule["rule"], period=period)
        assert row["stage"] == "supply" and row["by"] == "country" and row["material"] == "Li"
        assert row["member"] == rule["member"] and _same(row["customer"], None)
        assert_share_row(row, volume=volume, stage=stage, bound=bound, sense=sense, shadow=shadow)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("case", SUPPLY_CASES, ids=[c[0] for c in SUPPLY_CASES])
def test_supply_share_shadow_price_matches_a_resolve(solver, case):
    _, rule, total, _, rows, step, delta = case
    out, cost, _ = solve_checked(with_rules(supply_sheets(), [rule]), solver)
    moved = dict(rule)
    key = "max_share" if rule["max_share"] is not None else "min_share"
    moved[key] = round(rule[key] + step, 10)
    _, cost2, _ = solve_checked(with_rules(supply_sheets(), [moved]), solver)
    assert cost2 - cost == approx(delta, 1e-5)                  # the hand value
    predicted = sum(float(r["shadow_price"]) * step for r in limit_rows(out, rule["rule"]))
    assert cost2 - cost == approx(predicted, 1e-5)              # the reported shadow prices


def test_supply_instance_without_rules():
    _, cost, flows = solve_checked(supply_sheets(), "highs")
    assert cost == approx(SUPPLY_NO_RULE)
    assert flow(flows, frm="S_CN") == approx(150)


# --------------------------------------------------------------------------- GROUPS (supply)
# One period. Buyer (JP) needs 100 t Li. Landed costs: S_CN 10+2 = 12 (capacity 30),
# S_RU 11+2 = 13, S_AU 14+3 = 17, S_CL 17+4 = 21. Groups: FEOC = {CN, RU}, Allies = {AU, CL}.
# No rule: CN 30 + RU 70 = 360 + 910 = 1,270.
# "feoc_cap" FEOC max_share 0.5: FEOC <= 50: CN 30 (full), RU 20, AU 50:
#     360 + 260 + 850 = 1,470. Shadow -4 (one more FEOC t: RU 13 replaces AU 17); 1pt = 4.
# "allies_floor" Allies min_share 0.5: the same plan, 1,470, shadow +4.
# "each_group" member blank, max_share 0.7: FEOC <= 70 binds (CN 30, RU 40, AU 30:
#     360 + 520 + 510 = 1,390; shadow -4, 1pt 4); Allies 30 <= 70 does not bind (shadow 0).
# Step +0.01 on feoc_cap: RU 21, AU 49: -4 x 100 x 0.01 = -4 (and -4 on each_group).

GROUP_NO_RULE = 1270


def group_sheets():
    return {
        "Suppliers": [
            {"supplier": "S_CN", "country": "CN", "material": "Li", "capacity_t": 30, "unit_cost": 10},
            {"supplier": "S_RU", "country": "RU", "material": "Li", "capacity_t": None, "unit_cost": 11},
            {"supplier": "S_AU", "country": "AU", "material": "Li", "capacity_t": None, "unit_cost": 14},
            {"supplier": "S_CL", "country": "CL", "material": "Li", "capacity_t": None, "unit_cost": 17},
        ],
        "Demand": [{"customer": "Buyer", "country": "JP", "material": "Li", "period": "P1", "quantity_t": 100}],
        "Freight": [
            {"from_country": c, "to_country": "JP", "cost_per_t": f}
            for c, f in (("CN", 2), ("RU", 2), ("AU", 3), ("CL", 4))
        ],
        "Groups": [
            {"group": "FEOC", "country": "CN"}, {"group": "FEOC", "country": "RU"},
            {"group": "Allies", "country": "AU"}, {"group": "Allies", "country": "CL"},
        ],
    }


GROUP_CASES = [
    ("feoc-max", limit("feoc_cap", "supply", "group", "FEOC", max_share=0.5), 1470, (30, 20, 50, 0),
     [("FEOC", 50, "max", 0.5, -4, True)], -4),
    ("allies-min", limit("allies_floor", "supply", "group", "Allies", min_share=0.5), 1470, (30, 20, 50, 0),
     [("Allies", 50, "min", 0.5, 4, True)], None),
    ("each-group-max", limit("each_group", "supply", "group", None, max_share=0.7), 1390, (30, 40, 30, 0),
     [("FEOC", 70, "max", 0.7, -4, True), ("Allies", 30, "max", 0.7, 0, False)], -4),
]


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("case", GROUP_CASES, ids=[c[0] for c in GROUP_CASES])
def test_supply_share_by_group(solver, case):
    _, rule, total, (cn, ru, au, cl), rows, step_delta = case
    out, cost, flows = solve_checked(with_rules(group_sheets(), [rule]), solver)
    assert cost == approx(total)
    assert cost > GROUP_NO_RULE + 1
    assert_flows(flows, {("S_CN", "Buyer"): cn, ("S_RU", "Buyer"): ru, ("S_AU", "Buyer"): au,
                         ("S_CL", "Buyer"): cl})
    assert len(limit_rows(out, rule["rule"])) == len(rows)      # `each` = one row per group
    for member, volume, sense, bound, shadow, binds in rows:
        row = limit_row(out, rule["rule"], member=member)
        assert row["by"] == "group" and str(row["period"]) == "P1"
        assert_share_row(row, volume=volume, stage=100, bound=bound, sense=sense, shadow=shadow,
                         binds=binds)
    if step_delta is not None:
        moved = dict(rule, max_share=rule["max_share"] + 0.01)
        _, cost2, _ = solve_checked(with_rules(group_sheets(), [moved]), solver)
        assert cost2 - cost == approx(step_delta, 1e-5)


def test_group_instance_without_rules():
    _, cost, flows = solve_checked(group_sheets(), "highs")
    assert cost == approx(GROUP_NO_RULE)
    assert flow(flows, frm="S_RU") == approx(70)


# --------------------------------------------------------------------------- PROCESSING / DELIVERY via sites
# One period. Mine M_AU (AU) sells ore at 50/t. Refineries R_CN (CN) and R_MY (MY) turn ore
# into LiOH at yield 0.5, cost 20 (CN) / 30 (MY) per t of ore. Cell (JP) needs 100 t LiOH.
# Freight AU->CN 5, AU->MY 6, CN->JP 10, MY->JP 12. Group NorthAsia = {CN, JP}.
# Per t of LiOH (2 t ore): via R_CN 2 x (50 + 5) + 2 x 20 + 10 = 160;
#                          via R_MY 2 x (50 + 6) + 2 x 30 + 12 = 184; difference 24.
# No rule: all via R_CN: 16,000 (purchase 200 x 50 = 10,000, processing 4,000, freight
#     200 x 5 + 100 x 10 = 2,000).
# A max_share 0.5 on CN's processing (by country CN, node R_CN or group NorthAsia), or on CN's
# delivery (counted by the shipping node: R_CN ships to Cell), or min_share 0.5 on MY:
#     50 t LiOH each way: 50 x 160 + 50 x 184 = 8,000 + 9,200 = 17,200
#     (purchase 10,000; processing 100 x 20 + 100 x 30 = 5,000; freight 100 x 5 + 100 x 6 +
#     50 x 10 + 50 x 12 = 2,200). Shadow -24 (max) / +24 (min); 1pt = 24 x 100 x 0.01 = 24.
# "each_site" processing by node, member blank, max_share 0.7: R_CN 70, R_MY 30:
#     70 x 160 + 30 x 184 = 11,200 + 5,520 = 16,720. R_CN row binds (-24), R_MY not (0).
# Step +0.01 (-0.01 for min): 24 x 100 x 0.01 = 24 saved.

PROCESSING_NO_RULE = 16000


def processing_sheets():
    return {
        "Suppliers": [{"supplier": "M_AU", "country": "AU", "material": "ore", "capacity_t": None, "unit_cost": 50}],
        "Sites": [{"site": "R_CN", "country": "CN", "capacity_t": None},
                  {"site": "R_MY", "country": "MY", "capacity_t": None}],
        "Processes": [
            {"site": "R_CN", "input_material": "ore", "output_material": "LiOH", "yield": 0.5, "cost_per_t": 20},
            {"site": "R_MY", "input_material": "ore", "output_material": "LiOH", "yield": 0.5, "cost_per_t": 30},
        ],
        "Demand": [{"customer": "Cell", "country": "JP", "material": "LiOH", "period": "P1", "quantity_t": 100}],
        "Freight": [
            {"from_country": "AU", "to_country": "CN", "cost_per_t": 5},
            {"from_country": "AU", "to_country": "MY", "cost_per_t": 6},
            {"from_country": "CN", "to_country": "JP", "cost_per_t": 10},
            {"from_country": "MY", "to_country": "JP", "cost_per_t": 12},
        ],
        "Groups": [{"group": "NorthAsia", "country": "CN"}, {"group": "NorthAsia", "country": "JP"}],
    }


PROCESSING_CASES = [
    ("processing-country", limit("cap", "processing", "country", "CN", material="LiOH", max_share=0.5)),
    ("processing-node", limit("cap", "processing", "node", "R_CN", material="LiOH", max_share=0.5)),
    ("processing-group", limit("cap", "processing", "group", "NorthAsia", material="LiOH", max_share=0.5)),
    ("processing-min", limit("cap", "processing", "country", "MY", material="LiOH", min_share=0.5)),
    ("delivery-country", limit("cap", "delivery", "country", "CN", material="LiOH", max_share=0.5)),
    ("delivery-node", limit("cap", "delivery", "node", "R_CN", material="LiOH", max_share=0.5)),
]


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("case", PROCESSING_CASES, ids=[c[0] for c in PROCESSING_CASES])
def test_processing_and_delivery_share_through_sites(solver, case):
    _, rule = case
    out, cost, flows = solve_checked(with_rules(processing_sheets(), [rule]), solver)
    summary = base_rows(out, "Summary")[0]
    assert cost == approx(17200)
    assert cost > PROCESSING_NO_RULE + 1
    for col, val in (("purchase_cost", 10000), ("processing_cost", 5000), ("freight_cost", 2200)):
        assert float(summary[col] or 0) == approx(val), (col, summary)
    assert_flows(flows, {("M_AU", "R_CN"): 100, ("M_AU", "R_MY"): 100,
                         ("R_CN", "Cell"): 50, ("R_MY", "Cell"): 50})
    sense = "max" if rule["max_share"] is not None else "min"
    row = limit_row(out, "cap", member=rule["member"])
    assert len(limit_rows(out, "cap")) == 1
    assert row["stage"] == rule["stage"] and row["material"] == "LiOH" and str(row["period"]) == "P1"
    assert_share_row(row, volume=50, stage=100, bound=0.5, sense=sense,
                     shadow=-24 if sense == "max" else 24)
    # moving the bound one point in the loosening direction saves 24 x 100 x 0.01 = 24
    moved = (dict(rule, max_share=0.51) if sense == "max" else dict(rule, min_share=0.49))
    _, cost2, _ = solve_checked(with_rules(processing_sheets(), [moved]), solver)
    assert cost2 - cost == approx(-24, 1e-5)
    assert cost2 - cost == approx(-abs(float(row["shadow_price"])) * 0.01, 1e-5)


@pytest.mark.parametrize("solver", SOLVERS)
def test_processing_each_site(solver):
    rule = limit("each_site", "processing", "node", None, material="LiOH", max_share=0.7)
    out, cost, flows = solve_checked(with_rules(processing_sheets(), [rule]), solver)
    assert cost == approx(16720)
    assert_flows(flows, {("R_CN", "Cell"): 70, ("R_MY", "Cell"): 30, ("M_AU", "R_CN"): 140,
                         ("M_AU", "R_MY"): 60})
    assert len(limit_rows(out, "each_site")) == 2
    assert_share_row(limit_row(out, "each_site", member="R_CN"), volume=70, stage=100, bound=0.7,
                     sense="max", shadow=-24)
    assert_share_row(limit_row(out, "each_site", member="R_MY"), volume=30, stage=100, bound=0.7,
                     sense="max", shadow=0, binds=False)


def test_processing_instance_without_rules():
    _, cost, flows = solve_checked(processing_sheets(), "highs")
    assert cost == approx(PROCESSING_NO_RULE)
    assert flow(flows, frm="R_CN", to="Cell") == approx(100)


# --------------------------------------------------------------------------- DELIVERY: customer scope
# One period. S_CN (CN) sells LiOH at 10, S_AU (AU) at 14, both unlimited. Customers J (JP)
# and K (KR) need 100 t each. Freight CN->JP 2, CN->KR 1, AU->JP 5, AU->KR 8.
# Landed: CN->J 12, CN->K 11, AU->J 19, AU->K 22; AU's premium: 7 at J, 11 at K.
# No rule: all CN: 1,200 + 1,100 = 2,300.
# Rule: delivery, CN max_share 0.6 (by country CN, or by node S_CN):
#   customer blank (all customers together): CN <= 120 of 200; AU's 80 go to J (premium 7):
#       J: CN 20 + AU 80 = 240 + 1,520; K: CN 100 = 1,100; total 2,860. Shadow -7;
#       1pt = 7 x 200 x 0.01 = 14.
#   customer J: J CN 60 + AU 40 = 720 + 760 = 1,480; K 1,100; total 2,580. Shadow -7, 1pt 7.
#   customer K: K CN 60 + AU 40 = 660 + 880 = 1,540; J 1,200; total 2,740. Shadow -11, 1pt 11.
#   customer each: 1,480 + 1,540 = 3,020; J row -7, K row -11.
# Rule: delivery, AU min_share 0.4, customer each: the same plan (3,020), shadows +7 / +11.
# Step +0.01 (max) / -0.01 (min): blank -14; J -7; K -11; each -18.

DELIVERY_NO_RULE = 2300


def delivery_sheets():
    return {
        "Suppliers": [
            {"supplier": "S_CN", "country": "CN", "material": "LiOH", "capacity_t": None, "unit_cost": 10},
            {"supplier": "S_AU", "country": "AU", "material": "LiOH", "capacity_t": None, "unit_cost": 14},
        ],
        "Demand": [
            {"customer": "J", "country": "JP", "material": "LiOH", "period": "P1", "quantity_t": 100},
            {"customer": "K", "country": "KR", "material": "LiOH", "period": "P1", "quantity_t": 100},
        ],
        "Freight": [
            {"from_country": "CN", "to_country": "JP", "cost_per_t": 2},
            {"from_country": "CN", "to_country": "KR", "cost_per_t": 1},
            {"from_country": "AU", "to_country": "JP", "cost_per_t": 5},
            {"from_country": "AU", "to_country": "KR", "cost_per_t": 8},
        ],
    }


# (id, by, member, customer, sense, total, flows (CN->J, AU->J, CN->K, AU->K),
#  rows [(customer, volume, stage, shadow)], step delta)
DELIVERY_CASES = [
    ("all-customers", "country", "CN", None, "max", 2860, (20, 80, 100, 0), [(None, 120, 200, -7)], -14),
    ("customer-J", "country", "CN", "J", "max", 2580, (60, 40, 100, 0), [("J", 60, 100, -7)], -7),
    ("customer-K", "country", "CN", "K", "max", 2740, (100, 0, 60, 40), [("K", 60, 100, -11)], -11),
    ("each-customer", "country", "CN", "each", "max", 3020, (60, 40, 60, 40),
     [("J", 60, 100, -7), ("K", 60, 100, -11)], -18),
    ("each-customer-node", "node", "S_CN", "each", "max", 3020, (60, 40, 60, 40),
     [("J", 60, 100, -7), ("K", 60, 100, -11)], -18),
    ("each-customer-min", "country", "AU", "each", "min", 3020, (60, 40, 60, 40),
     [("J", 40, 100, 7), ("K", 40, 100, 11)], -18),
]


def delivery_rule(by, member, customer, sense, share):
    if sense == "max":
        return limit("deliv", "delivery", by, member, material="LiOH", customer=customer, max_share=share)
    return limit("deliv", "delivery", by, member, material="LiOH", customer=customer, min_share=share)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("case", DELIVERY_CASES, ids=[c[0] for c in DELIVERY_CASES])
def test_delivery_share_customer_scope(solver, case):
    _, by, member, customer, sense, total, (cj, aj, ck, ak), rows, delta = case
    share = 0.6 if sense == "max" else 0.4
    out, cost, flows = solve_checked(
        with_rules(delivery_sheets(), [delivery_rule(by, member, customer, sense, share)]), solver)
    assert cost == approx(total)
    assert cost > DELIVERY_NO_RULE + 1
    assert_flows(flows, {("S_CN", "J"): cj, ("S_AU", "J"): aj, ("S_CN", "K"): ck, ("S_AU", "K"): ak})
    assert len(limit_rows(out, "deliv")) == len(rows)
    for cust, volume, stage, shadow in rows:
        row = limit_row(out, "deliv", customer=cust)
        assert row["stage"] == "delivery" and row["by"] == by and row["member"] == member
        assert_share_row(row, volume=volume, stage=stage, bound=share, sense=sense, shadow=shadow)
    step = 0.01 if sense == "max" else -0.01
    moved = delivery_rule(by, member, customer, sense, round(share + step, 10))
    _, cost2, _ = solve_checked(with_rules(delivery_sheets(), [moved]), solver)
    assert cost2 - cost == approx(delta, 1e-5)
    predicted = sum(float(r["shadow_price"]) * step for r in limit_rows(out, "deliv"))
    assert cost2 - cost == approx(predicted, 1e-5)


def test_delivery_instance_without_rules():
    _, cost, _ = solve_checked(delivery_sheets(), "highs")
    assert cost == approx(DELIVERY_NO_RULE)


# --------------------------------------------------------------------------- MATERIAL blank
# One period. S_CN (CN) sells Li at 10 and Co at 30; S_AU (AU) Li at 14 and Co at 38.
# Buyer (JP) needs Li 100 and Co 50. Freight CN->JP 2, AU->JP 3 (all materials).
# Landed Li: CN 12, AU 17 (premium 5); Co: CN 32, AU 41 (premium 9).
# No rule: 1,200 + 1,600 = 2,800.
# Supply CN max_share 0.6, material blank = each material separately:
#   Li CN 60 + AU 40 = 720 + 680 = 1,400; Co CN 30 + AU 20 = 960 + 820 = 1,780; total 3,180.
#   Rows: Li shadow -5 (1pt 5), Co shadow -9 (1pt 9 x 50 x 0.01 = 4.5).
#   (Pooled over both materials it would be CN <= 90 of 150, cut from Li: 3,100 -- not this.)
# Material Co only: Li all CN 1,200 + Co 1,780 = 2,980; one row.
# Step +0.01 on the blank-material rule: -(5 x 100 + 9 x 50) x 0.01 = -9.5.

MATERIALS_NO_RULE = 2800


def materials_sheets():
    return {
        "Suppliers": [
            {"supplier": "S_CN", "country": "CN", "material": "Li", "capacity_t": None, "unit_cost": 10},
            {"supplier": "S_CN", "country": "CN", "material": "Co", "capacity_t": None, "unit_cost": 30},
            {"supplier": "S_AU", "country": "AU", "material": "Li", "capacity_t": None, "unit_cost": 14},
            {"supplier": "S_AU", "country": "AU", "material": "Co", "capacity_t": None, "unit_cost": 38},
        ],
        "Demand": [
            {"customer": "Buyer", "country": "JP", "material": "Li", "period": "P1", "quantity_t": 100},
            {"customer": "Buyer", "country": "JP", "material": "Co", "period": "P1", "quantity_t": 50},
        ],
        "Freight": [
            {"from_country": "CN", "to_country": "JP", "cost_per_t": 2},
            {"from_country": "AU", "to_country": "JP", "cost_per_t": 3},
        ],
    }


@pytest.mark.parametrize("solver", SOLVERS)
def test_blank_material_is_each_material_separately(solver):
    rule = limit("cn_cap", "supply", "country", "CN", material=None, max_share=0.6)
    out, cost, flows = solve_checked(with_rules(materials_sheets(), [rule]), solver)
    assert cost == approx(3180)
    assert cost > MATERIALS_NO_RULE + 1
    assert_flows(flows, {("S_CN", "Buyer"): 60, ("S_AU", "Buyer"): 40}, material="Li")
    assert_flows(flows, {("S_CN", "Buyer"): 30, ("S_AU", "Buyer"): 20}, material="Co")
    assert len(limit_rows(out, "cn_cap")) == 2
    assert_share_row(limit_row(out, "cn_cap", material="Li"), volume=60, stage=100, bound=0.6,
                     sense="max", shadow=-5)
    assert_share_row(limit_row(out, "cn_cap", material="Co"), volume=30, stage=50, bound=0.6,
                     sense="max", shadow=-9)
    _, cost2, _ = solve_checked(
        with_rules(materials_sheets(), [dict(rule, max_share=0.61)]), solver)
    assert cost2 - cost == approx(-9.5, 1e-5)


@pytest.mark.parametrize("solver", SOLVERS)
def test_named_material_leaves_other_materials_free(solver):
    rule = limit("co_cap", "supply", "country", "CN", material="Co", max_share=0.6)
    out, cost, flows = solve_checked(with_rules(materials_sheets(), [rule]), solver)
    assert cost == approx(2980)
    assert_flows(flows, {("S_CN", "Buyer"): 100, ("S_AU", "Buyer"): 0}, material="Li")
    assert_flows(flows, {("S_CN", "Buyer"): 30, ("S_AU", "Buyer"): 20}, material="Co")
    assert len(limit_rows(out, "co_cap")) == 1
    assert_share_row(limit_row(out, "co_cap", material="Co"), volume=30, stage=50, bound=0.6,
                     sense="max", shadow=-9)


def test_materials_instance_without_rules():
    _, cost, _ = solve_checked(materials_sheets(), "highs")
    assert cost == approx(MATERIALS_NO_RULE)


# --------------------------------------------------------------------------- SUPPLY counts stockpile releases
# One period. Buyer (JP) needs 100 t Li. S_CN (CN) 10 + 2 = 12; S_CL (CL) 17 + 4 = 21;
# stockpile ST_AU (AU) holds 30 t, release cost 14 + freight 3 = 17, no holding cost, no intake.
# No rule: all CN, 1,200.
# Supply CN max_share 0.6, where supply = sold by suppliers AND released by stockpiles:
#   CN 60, the reserve's 30 (17), CL 10 (21): 720 + 510 + 210 = 1,440.
#   purchase 600 + 170 = 770; stockpile (release) 14 x 30 = 420; freight 120 + 90 + 40 = 250.
#   Shadow -9 (one more CN t replaces CL: 12 - 21); 1pt = 9.
#   (If releases were left out of the stage, CN <= 0.6 x (CN + CL) with CN + CL = 70 would give
#   CN 42, CL 28: not this plan.)
# Mix: supply and delivery (counted by the shipping node's country) CN 60 / AU 30 / CL 10:
#   HHI = 60^2 + 30^2 + 10^2 = 3,600 + 900 + 100 = 4,600.


def stockpile_sheets():
    return {
        "Suppliers": [
            {"supplier": "S_CN", "country": "CN", "material": "Li", "capacity_t": None, "unit_cost": 10},
            {"supplier": "S_CL", "country": "CL", "material": "Li", "capacity_t": None, "unit_cost": 17},
        ],
        "Stockpiles": [
            {"stockpile": "ST_AU", "country": "AU", "material": "Li", "initial_t": 30, "capacity_t": None,
             "min_level_t": None, "max_release_t": None, "release_cost": 14, "holding_cost": 0, "intake": None},
        ],
        "Demand": [{"customer": "Buyer", "country": "JP", "material": "Li", "period": "P1", "quantity_t": 100}],
        "Freight": [
            {"from_country": "CN", "to_country": "JP", "cost_per_t": 2},
            {"from_country": "AU", "to_country": "JP", "cost_per_t": 3},
            {"from_country": "CL", "to_country": "JP", "cost_per_t": 4},
        ],
    }


@pytest.mark.parametrize("solver", SOLVERS)
def test_supply_stage_counts_stockpile_releases(solver):
    rule = limit("cn_cap", "supply", "country", "CN", max_share=0.6)
    out, cost, flows = solve_checked(with_rules(stockpile_sheets(), [rule]), solver)
    summary = base_rows(out, "Summary")[0]
    assert cost == approx(1440)
    assert cost > 1200 + 1
    for col, val in (("purchase_cost", 770), ("stockpile_cost", 420), ("freight_cost", 250)):
        assert float(summary[col] or 0) == approx(val), (col, summary)
    assert_flows(flows, {("S_CN", "Buyer"): 60, ("ST_AU", "Buyer"): 30, ("S_CL", "Buyer"): 10})
    assert_share_row(limit_row(out, "cn_cap", period="P1"), volume=60, stage=100, bound=0.6,
                     sense="max", shadow=-9)


# --------------------------------------------------------------------------- RESTRICTIONS (chain)
# Ore mines M_CN (CN) 40/t, M_AU (AU) 50/t, M_RU (RU) 60/t, all unlimited. Refineries R_CN (CN)
# and R_MY (MY): ore -> LiOH, yield 0.5, cost 20 (CN) / 30 (MY) per t ore. Customers, LiOH
# per period: J1 (JP) 60, J2 (JP) 40, C_CN (CN) 40. Freight: CN->MY 4, AU->CN 5, AU->MY 6,
# RU->CN 4, RU->MY 4, CN->JP 10, MY->JP 12, MY->CN 9; Lanes R_CN->J2 13. Within CN: 0.
# Groups: FEOC = {CN, RU}.
# LiOH at the refinery (2 t ore per t): R_CN from M_CN 2 x 40 + 40 = 120, from M_AU
#   2 x 55 + 40 = 150, from M_RU 2 x 64 + 40 = 168; R_MY from M_CN 2 x 44 + 60 = 148,
#   from M_AU 2 x 56 + 60 = 172, from M_RU 2 x 64 + 60 = 188. (M_RU is never the cheapest.)
# Delivered per t: J1 via R_CN 130, via R_MY 160 (M_CN ore) or 184 (M_AU ore);
#                  J2 via R_CN 133, via R_MY 160 / 184; C_CN via R_CN 120, via R_MY 157 / 181.
# No rule: 60 x 130 + 40 x 133 + 40 x 120 = 7,800 + 5,320 + 4,800 = 17,920 (M_CN -> R_CN 280 t).
#
# ban from CN (any material, to anything): closes the CN -> MY ore leg and R_CN -> JP; the
#   CN mine -> CN refinery -> CN customer chain stays open (not across a border).
#   J1, J2 via R_MY on M_AU ore: 184 x 100 = 18,400; C_CN 4,800; total 23,200.
# ban from FEOC (group {CN, RU}): the same 23,200 (M_RU's exports were unused anyway).
# ban from CN to JP, or ban of LiOH from CN: only R_CN -> J1/J2 close; J via R_MY on M_CN ore
#   at 160: 16,000 + 4,800 = 20,800.
# ban from CN to J1 (a node): J1 via R_MY at 160 = 9,600; J2 5,320; C_CN 4,800; total 19,720.
# ban of ore from CN: closes only the unused CN -> MY ore leg: 17,920 (material scope).
# exclude M_CN (a node): R_CN runs on M_AU ore: J1 60 x 160 + J2 40 x 163 + C_CN 40 x 150
#   = 9,600 + 6,520 + 6,000 = 22,120.
# exclude CN (a country: the CN mine AND the CN refinery): all via R_MY on M_AU ore:
#   J1 60 x 184 + J2 40 x 184 + C_CN 40 x 181 = 11,040 + 7,360 + 7,240 = 25,640.
# exclude CN for LiOH only, or exclude the site R_CN: R_CN may not ship LiOH; M_CN still ships
#   ore to R_MY: 60 x 160 + 40 x 160 + 40 x 157 = 9,600 + 6,400 + 6,280 = 22,280.
# quota CN -> JP (both J1 and J2 arcs together) max_t 70: 30 t of the 100 move to R_MY where
#   it costs least: J2 (160 - 133 = 27 < J1's 160 - 130 = 30). R_CN -> J1 60, R_CN -> J2 10,
#   R_MY -> J2 30: 17,920 + 30 x 27 = 18,730. Shadow -27. max_t 71: 18,703 (-27).
# quota max_t 30: J2's 40 move (27 each), then 30 of J1 (30 each): 17,920 + 1,080 + 900
#   = 19,900. Shadow -30. max_t 31: 19,870.
# quota from FEOC to JP max_t 70: the same as from CN, 18,730.
# lane cap: Lanes R_CN -> J2 max_t 10: J2 10 via R_CN, 30 via R_MY: 17,920 + 30 x 27 = 18,730,
#   shadow -27.

CHAIN_NO_RULE = 17920


def chain_sheets(periods=("P1",), lane_max_t=None):
    demand = [{"customer": c, "country": k, "material": "LiOH", "period": p, "quantity_t": q}
              for p in periods for c, k, q in (("J1", "JP", 60), ("J2", "JP", 40), ("C_CN", "CN", 40))]
    return {
        "Periods": [{"period": p} for p in periods],
        "Suppliers": [
            {"supplier": "M_CN", "country": "CN", "material": "ore", "capacity_t": None, "unit_cost": 40},
            {"supplier": "M_AU", "country": "AU", "material": "ore", "capacity_t": None, "unit_cost": 50},
            {"supplier": "M_RU", "country": "RU", "material": "ore", "capacity_t": None, "unit_cost": 60},
        ],
        "Sites": [{"site": "R_CN", "country": "CN", "capacity_t": None},
                  {"site": "R_MY", "country": "MY", "capacity_t": None}],
        "Processes": [
            {"site": "R_CN", "input_material": "ore", "output_material": "LiOH", "yield": 0.5, "cost_per_t": 20},
            {"site": "R_MY", "input_material": "ore", "output_material": "LiOH", "yield": 0.5, "cost_per_t": 30},
        ],
        "Demand": demand,
        "Freight": [
            {"from_country": a, "to_country": b, "cost_per_t": c}
            for a, b, c in (("CN", "MY", 4), ("AU", "CN", 5), ("AU", "MY", 6), ("RU", "CN", 4),
                            ("RU", "MY", 4), ("CN", "JP", 10), ("MY", "JP", 12), ("MY", "CN", 9))
        ],
        "Lanes": [{"from": "R_CN", "to": "J2", "cost_per_t": 13, "max_t": lane_max_t}],
        "Groups": [{"group": "FEOC", "country": "CN"}, {"group": "FEOC", "country": "RU"}],
    }


# (id, restriction, total, flows that must hold {(from, to): t})
CHAIN_CASES = [
    ("ban-from-CN", restriction("r", "ban", "CN"), 23200,
     {("M_CN", "R_CN"): 80, ("R_CN", "C_CN"): 40, ("M_AU", "R_MY"): 200, ("R_MY", "J1"): 60,
      ("R_MY", "J2"): 40, ("M_CN", "R_MY"): 0, ("R_CN", "J1"): 0, ("R_CN", "J2"): 0}),
    ("ban-from-group", restriction("r", "ban", "FEOC"), 23200,
     {("M_CN", "R_CN"): 80, ("R_CN", "C_CN"): 40, ("M_AU", "R_MY"): 200, ("R_MY", "J1"): 60,
      ("R_MY", "J2"): 40, ("M_CN", "R_MY"): 0}),
    ("ban-CN-to-JP", restriction("r", "ban", "CN", "JP"), 20800,
     {("M_CN", "R_MY"): 200, ("R_MY", "J1"): 60, ("R_MY", "J2"): 40, ("M_CN", "R_CN"): 80,
      ("R_CN", "C_CN"): 40, ("M_AU", "R_MY"): 0}),
    ("ban-LiOH-from-CN", restriction("r", "ban", "CN", material="LiOH"), 20800,
     {("M_CN", "R_MY"): 200, ("R_MY", "J1"): 60, ("R_MY", "J2"): 40, ("M_CN", "R_CN"): 80,
      ("R_CN", "C_CN"): 40}),
    ("ban-CN-to-node-J1", restriction("r", "ban", "CN", "J1"), 19720,
     {("M_CN", "R_MY"): 120, ("R_MY", "J1"): 60, ("M_CN", "R_CN"): 160, ("R_CN", "J2"): 40,
      ("R_CN", "C_CN"): 40, ("R_CN", "J1"): 0}),
    ("exclude-mine", restriction("r", "exclude", "M_CN"), 22120,
     {("M_AU", "R_CN"): 280, ("R_CN", "J1"): 60, ("R_CN", "J2"): 40, ("R_CN", "C_CN"): 40,
      ("M_CN", "R_CN"): 0, ("M_CN", "R_MY"): 0}),
    ("exclude-country", restriction("r", "exclude", "CN"), 25640,
     {("M_AU", "R_MY"): 280, ("R_MY", "J1"): 60, ("R_MY", "J2"): 40, ("R_MY", "C_CN"): 40,
      ("M_CN", "R_CN"): 0, ("M_CN", "R_MY"): 0}),
    ("exclude-country-LiOH", restriction("r", "exclude", "CN", material="LiOH"), 22280,
     {("M_CN", "R_MY"): 280, ("R_MY", "J1"): 60, ("R_MY", "J2"): 40, ("R_MY", "C_CN"): 40,
      ("M_CN", "R_CN"): 0}),
    ("exclude-site", restriction("r", "exclude", "R_CN"), 22280,
     {("M_CN", "R_MY"): 280, ("R_MY", "J1"): 60, ("R_MY", "J2"): 40, ("R_MY", "C_CN"): 40,
      ("M_CN", "R_CN"): 0}),
]


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("case", CHAIN_CASES, ids=[c[0] for c in CHAIN_CASES])
def test_ban_and_exclude(solver, case):
    _, rule, total, expected = case
    out, cost, flows = solve_checked(with_rules(chain_sheets(), restrictions=[rule]), solver)
    assert cost == approx(total)
    assert cost > CHAIN_NO_RULE + 1
    assert_flows(flows, expected)
    rows = limit_rows(out, "r")
    assert rows and all(r["type"] == rule["type"] for r in rows), rows
    assert all(float(r["volume_t"] or 0) == approx(0) for r in rows), rows


@pytest.mark.parametrize("solver", SOLVERS)
def test_ban_of_another_material_does_not_bind(solver):
    # ban of ore from CN closes only the unused CN -> MY ore leg: the unrestricted optimum.
    rule = restriction("r", "ban", "CN", material="ore")
    _, cost, flows = solve_checked(with_rules(chain_sheets(), restrictions=[rule]), solver)
    assert cost == approx(CHAIN_NO_RULE)
    assert_flows(flows, {("M_CN", "R_CN"): 280, ("R_CN", "J1"): 60, ("R_CN", "J2"): 40})


QUOTA_CASES = [
    # (id, from, max_t, total, (R_CN->J1, R_CN->J2, R_MY->J1, R_MY->J2), shadow)
    ("cn-70", "CN", 70, 18730, (60, 10, 0, 30), -27),
    ("cn-30", "CN", 30, 19900, (30, 0, 30, 40), -30),
    ("feoc-70", "FEOC", 70, 18730, (60, 10, 0, 30), -27),
]


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("case", QUOTA_CASES, ids=[c[0] for c in QUOTA_CASES])
def test_quota_all_arcs_together_with_shadow_price(solver, case):
    _, frm, max_t, total, (cj1, cj2, mj1, mj2), shadow = case
    rule = restriction("q", "quota", frm, "JP", material="LiOH", max_t=max_t)
    out, cost, flows = solve_checked(with_rules(chain_sheets(), restrictions=[rule]), solver)
    assert cost == approx(total)
    assert cost > CHAIN_NO_RULE + 1
    assert_flows(flows, {("R_CN", "J1"): cj1, ("R_CN", "J2"): cj2, ("R_MY", "J1"): mj1,
                         ("R_MY", "J2"): mj2, ("R_CN", "C_CN"): 40})
    row = limit_row(out, "q")
    assert row["type"] == "quota" and row["sense"] == "max" and row["binds"] is True, row
    assert float(row["volume_t"]) == approx(max_t) and float(row["bound"]) == approx(max_t), row
    assert float(row["level"]) == approx(max_t), row  # in the bound's unit: t
    assert float(row["shadow_price"]) == approx(shadow, SHADOW_TOL), row
    # re-solve with one more tonne of quota: the cost falls by |shadow|
    _, cost2, _ = solve_checked(
        with_rules(chain_sheets(), restrictions=[dict(rule, max_t=max_t + 1)]), solver)
    assert cost2 - cost == approx(shadow, 1e-5)
    assert cost2 - cost == approx(float(row["shadow_price"]), 1e-5)


# Two periods, the rule limited to P2 by its `period` label: P1 keeps the unrestricted
# optimum (17,920), P2 pays the restricted cost computed above.
PERIOD_CASES = [
    ("ban-P2", restriction("r", "ban", "CN", "JP", period="P2"), 17920 + 20800,
     {("R_CN", "J1", "P1"): 60, ("R_CN", "J1", "P2"): 0, ("R_MY", "J1", "P2"): 60}),
    ("exclude-P1", restriction("r", "exclude", "M_CN", period="P1"), 22120 + 17920,
     {("M_CN", "R_CN", "P1"): 0, ("M_AU", "R_CN", "P1"): 280, ("M_CN", "R_CN", "P2"): 280}),
    ("quota-P2", restriction("r", "quota", "CN", "JP", max_t=30, period="P2"), 17920 + 19900,
     {("R_CN", "J1", "P1"): 60, ("R_CN", "J2", "P1"): 40, ("R_CN", "J1", "P2"): 30,
      ("R_MY", "J2", "P2"): 40}),
]


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("case", PERIOD_CASES, ids=[c[0] for c in PERIOD_CASES])
def test_restriction_period_scope(solver, case):
    _, rule, total, expected = case
    out, cost, flows = solve_checked(
        with_rules(chain_sheets(("P1", "P2")), restrictions=[rule]), solver)
    assert cost == approx(total)
    assert_flows(flows, expected)
    if rule["type"] == "quota":
        rows = limit_rows(out, "r")
        assert [str(r["period"]) for r in rows] == ["P2"], rows
        assert float(rows[0]["shadow_price"]) == approx(-30, SHADOW_TOL)


@pytest.mark.parametrize("solver", SOLVERS)
def test_quota_blank_period_is_one_instance_per_period(tmp_path, solver):
    # max_t 70 in each of P1 and P2 separately: 2 x 18,730 = 37,460; both bind at -27.
    # Through `planner run` and the plan file: the file says binds "yes", periods as text.
    rule = restriction("q", "quota", "CN", "JP", max_t=70)
    out, cost, flows = solve_checked_cli(
        tmp_path, with_rules(chain_sheets(("P1", "P2")), restrictions=[rule]), solver)
    assert cost == approx(37460)
    rows = limit_rows(out, "q")
    assert sorted(str(r["period"]) for r in rows) == ["P1", "P2"]
    for r in rows:
        assert float(r["volume_t"]) == approx(70) and r["binds"] == "yes"
        assert float(r["shadow_price"]) == approx(-27, SHADOW_TOL)
        assert flow(flows, frm="R_CN", to="J2", period=r["period"]) == approx(10)


@pytest.mark.parametrize("solver", SOLVERS)
def test_lane_cap_row(solver):
    out, cost, flows = solve_checked(chain_sheets(lane_max_t=10), solver)
    assert cost == approx(18730)
    assert_flows(flows, {("R_CN", "J2"): 10, ("R_MY", "J2"): 30, ("R_CN", "J1"): 60})
    rows = [r for r in base_rows(out, "Limits") if r.get("type") == "lane"]
    assert len(rows) == 1, rows
    row = rows[0]
    assert float(row["volume_t"]) == approx(10) and float(row["bound"]) == approx(10)
    assert row["sense"] == "max" and row["binds"] is True
    assert float(row["shadow_price"]) == approx(-27, SHADOW_TOL)
    _, cost2, _ = solve_checked(chain_sheets(lane_max_t=11), solver)
    assert cost2 - cost == approx(-27, 1e-5)


def test_chain_instance_without_rules(tmp_path):
    # Through `planner run` and the plan file.
    _, cost, flows = solve_checked_cli(tmp_path, chain_sheets(), "highs")
    assert cost == approx(CHAIN_NO_RULE)
    assert_flows(flows, {("M_CN", "R_CN"): 280, ("R_CN", "J1"): 60, ("R_CN", "J2"): 40,
                         ("R_CN", "C_CN"): 40})


# --------------------------------------------------------------------------- instance counts
# Periods P1, P2; materials Li and Co; suppliers S_CN, S_AU, S_CL (one per country, both
# materials, unlimited); customers K_CN (CN) and K_AU (AU) need Li and Co every period; freight
# 2 between any two of the three countries. Groups: East {CN}, South {AU, CL}, Pacific {CN, AU}.
# Every country holds a supplier, so "each country" is unambiguous. Expected instances:
#   each_country   supply, country, member blank, material blank, period blank:
#                  3 countries x 2 materials x 2 periods = 12 rows
#   each_group     supply, group, member blank, Li, period all: 3 groups x 1 = 3 rows
#   each_customer  delivery, country CN, Co, customer each, period blank: 2 customers x 2 = 4 rows
#   nodes_k_cn     delivery, node, member blank, Li, customer K_CN, period P2: 3 shipping nodes
#   quota q        CN -> AU, period blank: one per period = 2 rows


def count_sheets():
    countries = ("CN", "AU", "CL")
    return {
        "Periods": [{"period": "P1"}, {"period": "P2"}],
        "Suppliers": [
            {"supplier": f"S_{c}", "country": c, "material": m, "capacity_t": None, "unit_cost": cost}
            for c, (li, co) in zip(countries, ((10, 30), (14, 38), (17, 35)))
            for m, cost in (("Li", li), ("Co", co))
        ],
        "Demand": [
            {"customer": k, "country": c, "material": m, "period": p, "quantity_t": q}
            for p in ("P1", "P2")
            for k, c, li, co in (("K_CN", "CN", 50, 20), ("K_AU", "AU", 40, 10))
            for m, q in (("Li", li), ("Co", co))
        ],
        "Freight": [{"from_country": a, "to_country": b, "cost_per_t": 2}
                    for a in countries for b in countries if a != b],
        "Groups": [{"group": "East", "country": "CN"}, {"group": "South", "country": "AU"},
                   {"group": "South", "country": "CL"}, {"group": "Pacific", "country": "CN"},
                   {"group": "Pacific", "country": "AU"}],
    }


@pytest.mark.parametrize("solver", SOLVERS)
def test_each_member_customer_and_group_expand_to_instances(solver):
    limits = [
        limit("each_country", "supply", "country", None, material=None, max_share=0.8),
        limit("each_group", "supply", "group", None, material="Li", period="all", max_share=0.9),
        limit("each_customer", "delivery", "country", "CN", material="Co", customer="each", max_share=0.9),
        limit("nodes_k_cn", "delivery", "node", None, material="Li", customer="K_CN", period="P2",
              max_share=0.9),
    ]
    quota = restriction("q", "quota", "CN", "AU", max_t=1000)
    out, _, _ = solve_checked(with_rules(count_sheets(), limits, [quota]), solver)

    def keys(rule, *cols):
        return sorted(tuple(str(r[c]) if r[c] is not None else None for c in cols)
                      for r in limit_rows(out, rule))

    assert keys("each_country", "member", "material", "period") == sorted(
        (c, m, p) for c in ("CN", "AU", "CL") for m in ("Li", "Co") for p in ("P1", "P2"))
    assert keys("each_group", "member", "material", "period") == sorted(
        (g, "Li", "all") for g in ("East", "South", "Pacific"))
    assert keys("each_customer", "member", "customer", "period") == sorted(
        ("CN", k, p) for k in ("K_CN", "K_AU") for p in ("P1", "P2"))
    assert keys("nodes_k_cn", "member", "customer", "period") == sorted(
        (s, "K_CN", "P2") for s in ("S_CN", "S_AU", "S_CL"))
    assert keys("q", "period") == [("P1",), ("P2",)]
    for row in base_rows(out, "Limits"):
        if row["rule"] != "q":
            assert row["type"] == "limit" and row["sense"] == "max", row
            assert float(row["share"] or 0) <= float(row["bound"]) + TOL, row


# --------------------------------------------------------------------------- everything at once
# A chain with a ban, a quota and share limits at all three stages together; no hand optimum is
# asserted here, only that the plan is optimal and obeys every rule when recomputed from Flows.


@pytest.mark.parametrize("solver", SOLVERS)
def test_many_rules_together_hold_in_flows(solver):
    sheets = with_rules(
        chain_sheets(("P1", "P2")),
        limits=[
            limit("ore_cn", "supply", "country", "CN", material="ore", max_share=0.7),
            limit("proc_each", "processing", "node", None, material="LiOH", max_share=0.8),
            limit("deliv_each", "delivery", "country", None, material=None, customer="each", max_share=0.9),
            limit("deliv_my", "delivery", "country", "MY", material="LiOH", period="all", min_share=0.3),
            limit("supply_feoc", "supply", "group", "FEOC", material=None, period="P2", max_share=0.6),
        ],
        restrictions=[
            restriction("ban_ore_my", "ban", "CN", "MY", material="ore", period="P1"),
            restriction("q_jp", "quota", "FEOC", "JP", max_t=50),
        ],
    )
    solve_checked(sheets, solver)


# --------------------------------------------------------------------------- zero stage volume
# A rule whose stage has no tonnes holds trivially (0 <= share x 0, 0 >= share x 0): the plan
# stays optimal at the unrestricted cost.
#   (a) supply instance with P2 demand 0; AU min_share 0.4 in P2 only: P1 all CN = 1,200.
#   (b) supply instance plus a Co offer from S_AU nobody demands; CN min_share 0.5 on Co:
#       Li as unrestricted, 1,800.


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("case", ["empty-period", "undemanded-material"])
def test_rule_on_empty_stage_holds_trivially(solver, case):
    sheets = supply_sheets()
    if case == "empty-period":
        sheets["Demand"][1]["quantity_t"] = 0
        rule, total = limit("zero", "supply", "country", "AU", period="P2", min_share=0.4), 1200
    else:
        sheets["Suppliers"].append({"supplier": "S_AU", "country": "AU", "material": "Co",
                                    "capacity_t": None, "unit_cost": 5, "period": None})
        rule, total = limit("zero", "supply", "country", "CN", material="Co", min_share=0.5), 1800
    out, cost, _ = solve_checked(with_rules(sheets, [rule]), solver)
    assert cost == approx(total)
    for row in limit_rows(out, "zero"):
        assert float(row["stage_volume_t"] or 0) == approx(0) and float(row["volume_t"] or 0) == approx(0)


# --------------------------------------------------------------------------- Mix sheet


def mix_rows(out, stage, material, period="P1"):
    return {r["country"]: r for r in base_rows(out, "Mix")
            if r["stage"] == stage and r["material"] == material and str(r["period"]) == period
            and float(r["quantity_t"] or 0) > TOL}


def assert_mix(rows, quantities, hhi):
    total = sum(quantities.values())
    assert set(rows) == set(quantities), rows
    for country, q in quantities.items():
        row = rows[country]
        assert float(row["quantity_t"]) == approx(q), row
        assert float(row["share"]) == approx(q / total), row
        assert float(row["stage_total_t"]) == approx(total), row
        assert float(row["hhi"]) == approx(hhi, 1e-6), row


@pytest.mark.parametrize("solver", SOLVERS)
def test_mix_shares_and_hhi_with_stockpile(solver):
    # CN 60 / AU 30 (stockpile release) / CL 10: HHI 3,600 + 900 + 100 = 4,600 for supply, and
    # the same for delivery (suppliers and the stockpile ship straight to the buyer).
    rule = limit("cn_cap", "supply", "country", "CN", max_share=0.6)
    out, _, _ = solve_checked(with_rules(stockpile_sheets(), [rule]), solver)
    assert_mix(mix_rows(out, "supply", "Li"), {"CN": 60, "AU": 30, "CL": 10}, 4600)
    assert_mix(mix_rows(out, "delivery", "Li"), {"CN": 60, "AU": 30, "CL": 10}, 4600)
    assert mix_rows(out, "processing", "Li") == {}


@pytest.mark.parametrize("solver", SOLVERS)
def test_mix_shares_and_hhi_through_sites(solver):
    # each_site 0.7 plan: ore all from AU (200 t): HHI 100^2 = 10,000; LiOH shipped out of
    # sites CN 70 / MY 30: HHI 4,900 + 900 = 5,800; delivery counted by the shipping site's
    # country (not the customer's JP): the same 70 / 30, 5,800.
    rule = limit("each_site", "processing", "node", None, material="LiOH", max_share=0.7)
    out, _, _ = solve_checked(with_rules(processing_sheets(), [rule]), solver)
    assert_mix(mix_rows(out, "supply", "ore"), {"AU": 200}, 10000)
    assert_mix(mix_rows(out, "processing", "LiOH"), {"CN": 70, "MY": 30}, 5800)
    assert_mix(mix_rows(out, "delivery", "LiOH"), {"CN": 70, "MY": 30}, 5800)


@pytest.mark.parametrize("solver", SOLVERS)
def test_mix_per_period(solver):
    # cn_cap each period: P1 CN 60 / AU 40: HHI 3,600 + 1,600 = 5,200;
    # P2 CN 30 / CL 20 of 50: shares 0.6 / 0.4, HHI 5,200 as well.
    rule = limit("cn_cap", "supply", "country", "CN", max_share=0.6)
    out, _, _ = solve_checked(with_rules(supply_sheets(), [rule]), solver)
    assert_mix(mix_rows(out, "supply", "Li", "P1"), {"CN": 60, "AU": 40}, 5200)
    assert_mix(mix_rows(out, "supply", "Li", "P2"), {"CN": 30, "CL": 20}, 5200)
