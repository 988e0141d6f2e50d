"""Scenarios (the Scenarios sheet and the `scenario` column of Limits and Restrictions in
docs/workbook.md, the plan sheets in docs/model.md, `--scenario` in README.md): what-if
runs solved side by side.

Every expected number is worked out by hand in the comments next to it (and was
re-solved with a separate minimal PuLP model outside the repository); none comes
from a planner run. Inputs are written as a user would write them and the plan is
read back through the files, via the CLI; the property test at the end, which reads only
the Summary's numbers, hands the same tables to the library API as DataFrames.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import openpyxl
import pulp
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner import api
from planner.cli import main
from wb import frames, make_workbook, read_plan_sheet, table_rows

TOL = 1e-6
PLAN_SHEETS = ["Summary", "Flows", "Comparison", "Mix", "Limits", "Unmet", "Utilization",
               "Run info"]  # docs/model.md, plan workbook
COST_COLUMNS = ("purchase_cost", "processing_cost", "freight_cost", "stockpile_cost",
                "unmet_cost")
COMPARISON_COLUMNS = ["scenario", "section", "item", "base_value", "value", "change", "detail"]


def approx(value):
    return pytest.approx(value, rel=TOL, abs=TOL)


def run_cli(inp: Path, out: Path, *args: str, jobs: int = 1):
    return CliRunner().invoke(main, ["run", str(inp), "-o", str(out), "--jobs", str(jobs),
                                     *map(str, args)])


def by_scenario(rows: list[dict]) -> dict[str, dict]:
    return {r["scenario"]: r for r in rows}


def sheet_names(path: Path) -> list[str]:
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def table_sheets(path: Path) -> list[str]:
    """The plan's table sheets with a `scenario` column: all but chart sheets (pictures
    and their helper data) and the Sourcing cross table (a column per scenario)."""
    return [s for s in sheet_names(path)
            if not s.lower().startswith("chart") and s != "Sourcing"]


def flow(rows: list[dict], scenario: str, frm: str, to: str) -> float:
    return sum(float(r["quantity_t"]) for r in rows
               if r["scenario"] == scenario and r["from"] == frm and r["to"] == to)


def progress_lines(output: str, names) -> dict[str, str]:
    """The progress line of each scenario: `<name> <status> ... (<seconds> s)`."""
    found = {}
    for line in output.splitlines():
        m = re.match(r"^(\S+)\s+(optimal|infeasible|unbounded|time_limit|error)\s.*\(\d+\.\d+ s\)$",
                     line)
        if m and m.group(1) in names:
            assert m.group(1) not in found, f"two progress lines for {m.group(1)}:\n{output}"
            found[m.group(1)] = line
    return found


# --------------------------------------------------------------------------- the hand instance
#
# One material (ore), one period (P1), one customer Plant in JP wanting 120 t, no penalty
# (demand is hard). Freight AU->JP 5, CL->JP 6; a Lanes row MineB->Plant at 5 (= Freight,
# so it changes nothing in base).
#
#   supplier  country  capacity  unit_cost  landed (unit + freight)
#   MineA     AU       100       10         15
#   MineB     AU       blank     14         19   (unlimited)
#   MineC     CL        50        8         14
#   MineD     CL       100       30         36
#
# base: cheapest first: MineC 50 (14 x 50 = 700), MineA 70 (15 x 70 = 1050) = 1750.
#       purchase 8x50 + 10x70 = 1100, freight 6x50 + 5x70 = 650.

SUPPLIERS = [
    {"supplier": "MineA", "country": "AU", "material": "ore", "capacity_t": 100, "unit_cost": 10},
    {"supplier": "MineB", "country": "AU", "material": "ore", "capacity_t": None, "unit_cost": 14},
    {"supplier": "MineC", "country": "CL", "material": "ore", "capacity_t": 50, "unit_cost": 8},
    {"supplier": "MineD", "country": "CL", "material": "ore", "capacity_t": 100, "unit_cost": 30},
]
BASE_SHEETS = {
    "Suppliers": SUPPLIERS,
    "Demand": [{"customer": "Plant", "country": "JP", "material": "ore", "period": "P1",
                "quantity_t": 120}],
    "Freight": [{"from_country": "AU", "to_country": "JP", "cost_per_t": 5},
                {"from_country": "CL", "to_country": "JP", "cost_per_t": 6}],
    "Lanes": [{"from": "MineB", "to": "Plant", "cost_per_t": 5}],
}


def change(scenario, sheet, where, column, action, value):
    return {"scenario": scenario, "sheet": sheet, "where": where, "column": column,
            "action": action, "value": value}


HAND_CHANGES = [
    # set, one text condition in another letter case ("minea" vs MineA):
    # MineA unit 20 -> landed 25 > MineB 19: MineC 50 (700) + MineB 70 (19 x 70 = 1330) = 2030.
    change("set_a", "Suppliers", "supplier=minea", "unit_cost", "set", 20),
    # multiply, blank where = every row; sheet name in another case: all unit costs x2,
    # landed A 25, B 33, C 22, D 66: MineC 50 (1100) + MineA 70 (1750) = 2850
    # (purchase 2 x 1100 = 2200, freight unchanged 650).
    change("double", "suppliers", None, "unit_cost", "multiply", 2),
    # add, one numeric condition (capacity_t=50 matches MineC only): MineC cap 80:
    # MineC 80 (14 x 80 = 1120) + MineA 40 (15 x 40 = 600) = 1720.
    change("add_c", "Suppliers", "capacity_t=50", "capacity_t", "add", 30),
    # multiply with blank where on a column with a blank cell: A 50, C 25, MineB stays
    # unlimited (a blank that became 0 would make demand 120 > 50 + 25 + 50 infeasible):
    # MineC 25 (350) + MineA 50 (750) + MineB 45 (19 x 45 = 855) = 1955.
    change("half_cap", "Suppliers", None, "capacity_t", "multiply", 0.5),
    # two conditions that must both hold: country=au (MineA, MineB) and capacity_t=100
    # (MineA, MineD) -> MineA only. MineA unit 1, landed 6:
    # MineA 100 (600) + MineC 20 (280) = 880.
    # (Either condition alone, or OR, would also cheapen MineB or MineD: 720 or 740.)
    change("two", "Suppliers", "Country=au; capacity_t=100", "unit_cost", "set", 1),
    # drop, text condition in upper case: without MineC: MineA 100 (1500) + MineB 20 (380) = 1880.
    change("drop_c", "Suppliers", "supplier=MINEC", None, "drop", None),
    # Lanes: MineB->Plant at 0.5, landed 14.5 < MineA 15:
    # MineC 50 (700) + MineB 70 (14.5 x 70 = 1015) = 1715.
    change("lane_b", "Lanes", "from=mineb", "cost_per_t", "set", 0.5),
    # Freight: CL->JP 6 + 2 = 8, MineC landed 16 > MineA 15:
    # MineA 100 (1500) + MineC 20 (320) = 1820.
    change("freight_cl", "Freight", "from_country=cl", "cost_per_t", "add", 2),
    # Demand x0.5 = 60 t: MineC 50 (700) + MineA 10 (150) = 850.
    change("half_demand", "Demand", "customer=PLANT", "quantity_t", "multiply", 0.5),
    # Matches no row: a warning naming the scenario and this row; the scenario equals base.
    change("ghost", "Suppliers", "supplier=nobody", "unit_cost", "set", 1),
    # Changes plus a rule: MineB unit 12 (landed 17) and the ban of the `embargo; Sanctions`
    # Restrictions row (CL may not ship to JP): MineA 100 (1500) + MineB 20 (340) = 1840.
    change("sanctions", "Suppliers", "supplier=MineB", "unit_cost", "set", 12),
]
GHOST_ROW = 2 + next(i for i, c in enumerate(HAND_CHANGES) if c["scenario"] == "ghost")

HAND_SHEETS = dict(
    BASE_SHEETS,
    Scenarios=HAND_CHANGES,
    # Rule-only scenario "Diverse": AU at most half of supply: AU <= 60 of 120, so
    # MineC 50 (700) + MineA 60 (900) + MineD 10 (36 x 10 = 360) = 1960.
    Limits=[{"rule": "au_half", "material": "ore", "stage": "supply", "by": "country",
             "member": "AU", "max_share": 0.5, "scenario": "Diverse"}],
    # Rule-only scenario "embargo" (and part of "sanctions", written in another case):
    # no CL -> JP: MineA 100 (1500) + MineB 20 (380) = 1880.
    Restrictions=[{"rule": "no_cl", "type": "ban", "from": "CL", "to": "JP",
                   "scenario": "embargo; Sanctions"}],
)

# scenario -> (total, purchase, freight, {(from, to): t}) -- all by hand, above.
HAND = {
    "base": (1750, 1100, 650, {"MineA": 70, "MineB": 0, "MineC": 50, "MineD": 0}),
    "set_a": (2030, 8 * 50 + 14 * 70, 650, {"MineA": 0, "MineB": 70, "MineC": 50, "MineD": 0}),
    "double": (2850, 2200, 650, {"MineA": 70, "MineB": 0, "MineC": 50, "MineD": 0}),
    "add_c": (1720, 8 * 80 + 10 * 40, 6 * 80 + 5 * 40,
              {"MineA": 40, "MineB": 0, "MineC": 80, "MineD": 0}),
    "half_cap": (1955, 8 * 25 + 10 * 50 + 14 * 45, 6 * 25 + 5 * 95,
                 {"MineA": 50, "MineB": 45, "MineC": 25, "MineD": 0}),
    "two": (880, 1 * 100 + 8 * 20, 5 * 100 + 6 * 20,
            {"MineA": 100, "MineB": 0, "MineC": 20, "MineD": 0}),
    "drop_c": (1880, 10 * 100 + 14 * 20, 5 * 120, {"MineA": 100, "MineB": 20, "MineC": 0,
                                                   "MineD": 0}),
    "lane_b": (1715, 8 * 50 + 14 * 70, 6 * 50 + 0.5 * 70,
               {"MineA": 0, "MineB": 70, "MineC": 50, "MineD": 0}),
    "freight_cl": (1820, 10 * 100 + 8 * 20, 5 * 100 + 8 * 20,
                   {"MineA": 100, "MineB": 0, "MineC": 20, "MineD": 0}),
    "half_demand": (850, 8 * 50 + 10 * 10, 6 * 50 + 5 * 10,
                    {"MineA": 10, "MineB": 0, "MineC": 50, "MineD": 0}),
    "ghost": (1750, 1100, 650, {"MineA": 70, "MineB": 0, "MineC": 50, "MineD": 0}),
    "sanctions": (1840, 10 * 100 + 12 * 20, 5 * 120,
                  {"MineA": 100, "MineB": 20, "MineC": 0, "MineD": 0}),
    "Diverse": (1960, 8 * 50 + 10 * 60 + 30 * 10, 6 * 50 + 5 * 60 + 6 * 10,
                {"MineA": 60, "MineB": 0, "MineC": 50, "MineD": 10}),
    "embargo": (1880, 10 * 100 + 14 * 20, 5 * 120,
                {"MineA": 100, "MineB": 20, "MineC": 0, "MineD": 0}),
}
# Workbook order: base, the Scenarios sheet, then Limits, then Restrictions.
HAND_ORDER = ["base", "set_a", "double", "add_c", "half_cap", "two", "drop_c", "lane_b",
              "freight_cl", "half_demand", "ghost", "sanctions", "Diverse", "embargo"]


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    """The hand instance, run once serially: (input path, plan path, CLI result)."""
    folder = tmp_path_factory.mktemp("hand")
    inp = make_workbook(folder / "in.xlsx", HAND_SHEETS)
    out = folder / "plan.xlsx"
    result = run_cli(inp, out)
    return inp, out, result


def test_hand_instance_runs_every_scenario_and_exits_0_despite_a_warning(hand):
    _, out, result = hand
    assert result.exit_code == 0, result.output
    assert [r["scenario"] for r in read_plan_sheet(out, "Summary")] == HAND_ORDER
    # The no-match warning names the scenario and the Scenarios row as Excel numbers it
    # (header = row 1, first change = row 2).
    warnings = [line for line in result.output.splitlines() if "matches no row" in line]
    assert len(warnings) == 1, result.output
    assert "ghost" in warnings[0] and "Scenarios" in warnings[0]
    assert f"row {GHOST_ROW}" in warnings[0]
    assert "warning" in warnings[0].lower()


@pytest.mark.parametrize("name", HAND_ORDER)
def test_hand_scenario_costs_and_flows(hand, name):
    _, out, _ = hand
    total, purchase, freight, flows = HAND[name]
    row = by_scenario(read_plan_sheet(out, "Summary"))[name]
    assert row["status"] == "optimal", row
    assert row["total_cost"] == approx(total), row
    assert row["purchase_cost"] == approx(purchase), row
    assert row["freight_cost"] == approx(freight), row
    assert (row["unmet_t"] or 0) == approx(0)
    assert sum(float(row[c] or 0) for c in COST_COLUMNS) == approx(total), row
    plan_flows = read_plan_sheet(out, "Flows")
    for mine, qty in flows.items():
        assert flow(plan_flows, name, mine, "Plant") == approx(qty), (name, mine)


def test_blank_capacity_stays_unlimited_under_multiply(hand):
    _, out, _ = hand
    util = [r for r in read_plan_sheet(out, "Utilization")
            if r["scenario"] == "half_cap" and r["kind"] == "supplier"]
    caps = {r["id"]: r["capacity_t"] for r in util}
    # 100 x 0.5, blank stays blank, 50 x 0.5, 100 x 0.5
    assert caps["MineA"] == approx(50) and caps["MineC"] == approx(25)
    assert caps["MineD"] == approx(50)
    assert caps["MineB"] is None
    # ... and MineB really sells beyond any finite "0.5 x blank": 45 t.
    used = {r["id"]: r["used_t"] for r in util}
    assert used["MineB"] == approx(45)


def test_dropped_rows_are_gone_from_the_scenario_only(hand):
    _, out, _ = hand
    util = read_plan_sheet(out, "Utilization")
    ids = lambda s: {r["id"] for r in util if r["scenario"] == s and r["kind"] == "supplier"}  # noqa: E731
    assert ids("drop_c") == {"MineA", "MineB", "MineD"}
    assert ids("base") == {"MineA", "MineB", "MineC", "MineD"}


def test_every_plan_sheet_has_a_scenario_column(hand):
    _, out, _ = hand
    assert set(PLAN_SHEETS) <= set(sheet_names(out))
    for sheet in table_sheets(out):
        rows = read_plan_sheet(out, sheet)  # raises if there is no header with `scenario`
        assert {r["scenario"] for r in rows} <= set(HAND_ORDER), sheet
    # the per-scenario sheets carry every scenario
    for sheet in ("Summary", "Flows", "Mix", "Utilization"):
        assert {r["scenario"] for r in read_plan_sheet(out, sheet)} == set(HAND_ORDER), sheet
    # Sourcing has a column per scenario, in the Summary's order
    wb = openpyxl.load_workbook(out, read_only=True)
    header = next(r for r in wb["Sourcing"].iter_rows(values_only=True) if "material" in r)
    wb.close()
    assert [h for h in header if h is not None][5:] == HAND_ORDER


def test_comparison_sheet_against_base(hand):
    _, out, _ = hand
    rows = read_plan_sheet(out, "Comparison")
    assert rows and list(rows[0]) == COMPARISON_COLUMNS
    assert "base" not in {r["scenario"] for r in rows}
    assert {r["scenario"] for r in rows} == set(HAND_ORDER) - {"base"}
    assert {r["section"] for r in rows} <= {"cost", "unmet", "top share", "flow", "status"}
    for name in HAND_ORDER[1:]:
        total = next(r for r in rows if r["scenario"] == name and r["section"] == "cost"
                     and r["item"] == "total_cost")
        assert total["base_value"] == approx(1750)
        assert total["value"] == approx(HAND[name][0])
        assert total["change"] == approx(HAND[name][0] - 1750)
    # set_a moves 70 t from MineA to MineB (by hand above); nothing else changes.
    moved = {r["item"]: (r["base_value"], r["value"], r["change"]) for r in rows
             if r["scenario"] == "set_a" and r["section"] == "flow"}
    assert moved == {"P1 ore: MineA -> Plant": (70, 0, -70),
                     "P1 ore: MineB -> Plant": (0, 70, 70)}
    # Diverse: the largest supply country goes from AU 70/120 to AU 60/120.
    top = next(r for r in rows if r["scenario"] == "Diverse" and r["section"] == "top share"
               and r["item"] == "ore / supply")
    assert top["base_value"] == approx(70 / 120) and top["value"] == approx(60 / 120)
    assert top["change"] == approx(-10 / 120)
    # ghost is base: no flow changes, every cost change 0.
    ghost = [r for r in rows if r["scenario"] == "ghost"]
    assert not [r for r in ghost if r["section"] == "flow"]
    assert all(r["change"] == approx(0) for r in ghost)


def test_one_progress_line_per_scenario(hand):
    _, _, result = hand
    lines = progress_lines(result.output, HAND_ORDER)
    assert set(lines) == set(HAND_ORDER), result.output
    assert "total cost 1,750.00 USD" in lines["base"]
    assert "total cost 880.00 USD" in lines["two"]


# --------------------------------------------------------------------------- other sheets

# A processing chain, all in AU (no freight), one period, unmet penalty 100 per t:
#   supplier S: ore, unlimited, 10/t; site R: capacity 100 t of input;
#   process at R: ore -> metal, yield 0.5, 4 per t of input; so metal from R costs
#   (10 + 4) / 0.5 = 28 per t, at most 50 t.
#   stockpile P: metal, initial 30, release cost 2.  Customer K: 60 t metal.
# base: P releases 30 (60) and R makes 30 (60 t ore: 600 + 240) -> 900.
CHAIN_SHEETS = {
    "Suppliers": [{"supplier": "S", "country": "AU", "material": "ore", "capacity_t": None,
                   "unit_cost": 10}],
    "Sites": [{"site": "R", "country": "AU", "capacity_t": 100}],
    "Processes": [{"site": "R", "input_material": "ore", "output_material": "metal",
                   "yield": 0.5, "cost_per_t": 4}],
    "Stockpiles": [{"stockpile": "P", "country": "AU", "material": "metal", "initial_t": 30,
                    "release_cost": 2}],
    "Demand": [{"customer": "K", "country": "AU", "material": "metal", "period": "P1",
                "quantity_t": 60, "unmet_penalty": 100}],
    "Scenarios": [
        # Site capacity 50 -> 25 t metal: 30 from P (60) + 25 x 28 (700) + 5 unmet x 100 (500)
        # = 1260.
        change("site_half", "Sites", "site=r", "capacity_t", "multiply", 0.5),
        # Processing 4 + 2 = 6: metal (10 + 6) / 0.5 = 32: 60 + 30 x 32 (960) = 1020.
        change("proc_cost", "Processes", "input_material=ORE", "cost_per_t", "add", 2),
        # Stockpile starts at 10: 10 released (20) + 50 made (100 t ore: 1000 + 400) = 1420.
        change("stock_low", "Stockpiles", "stockpile=p", "initial_t", "set", 10),
        # No stockpile: 50 made (1400) + 10 unmet (1000) = 2400.
        change("no_stock", "Stockpiles", None, None, "drop", None),
    ],
}
CHAIN = {  # scenario -> (total, purchase, processing, stockpile, unmet cost, unmet t)
    "base": (900, 600, 240, 60, 0, 0),
    "site_half": (1260, 500, 200, 60, 500, 5),
    "proc_cost": (1020, 600, 360, 60, 0, 0),
    "stock_low": (1420, 1000, 400, 20, 0, 0),
    "no_stock": (2400, 1000, 400, 0, 1000, 10),
}


def test_changes_on_sites_processes_and_stockpiles(tmp_path):
    inp = make_workbook(tmp_path / "chain.xlsx", CHAIN_SHEETS)
    out = tmp_path / "plan.xlsx"
    result = run_cli(inp, out, "--quiet")
    assert result.exit_code == 0, result.output
    assert result.output == ""  # --quiet: nothing on success
    summary = by_scenario(read_plan_sheet(out, "Summary"))
    assert list(summary) == list(CHAIN)
    for name, (total, purchase, processing, stock, unmet_cost, unmet_t) in CHAIN.items():
        row = summary[name]
        assert row["status"] == "optimal", row
        assert row["total_cost"] == approx(total), row
        assert row["purchase_cost"] == approx(purchase), row
        assert row["processing_cost"] == approx(processing), row
        assert row["stockpile_cost"] == approx(stock), row
        assert row["unmet_cost"] == approx(unmet_cost), row
        assert row["unmet_t"] == approx(unmet_t), row


# --------------------------------------------------------------------------- infeasible

# BASE_SHEETS plus:
#   cheap:    MineC unit 5, landed 11: still MineC 50 (550) + MineA 70 (1050) = 1600.
#   shortage: drop the AU suppliers and double demand: 240 t wanted, 150 t (C 50 + D 100)
#             available, no penalty -> infeasible. (Two changes make one scenario.)
#   pricey:   CL unit costs x1.5: MineC 12 + 6 = 18 > MineA 15, < MineB 19:
#             MineA 100 (1500) + MineC 20 (360) = 1860.
#   closed:   rule only: ban anything -> JP; every arc into JP crosses a border -> infeasible.
INFEASIBLE_SHEETS = dict(
    BASE_SHEETS,
    Scenarios=[
        change("cheap", "Suppliers", "supplier=MineC", "unit_cost", "set", 5),
        change("shortage", "Suppliers", "country=AU", None, "drop", None),
        change("shortage", "Demand", None, "quantity_t", "multiply", 2),
        change("pricey", "Suppliers", "country=cl", "unit_cost", "multiply", 1.5),
    ],
    Restrictions=[{"rule": "shut", "type": "ban", "to": "JP", "scenario": "closed"}],
)
INFEASIBLE_FEASIBLE = {"base": (1750, {"MineA": 70, "MineC": 50}),
                       "cheap": (1600, {"MineA": 70, "MineC": 50}),
                       "pricey": (1860, {"MineA": 100, "MineC": 20})}


def test_infeasible_scenario_does_not_stop_the_others(tmp_path):
    inp = make_workbook(tmp_path / "in.xlsx", INFEASIBLE_SHEETS)
    out = tmp_path / "plan.xlsx"
    result = run_cli(inp, out)
    assert result.exit_code == 3, result.output
    assert out.is_file()
    summary = read_plan_sheet(out, "Summary")
    assert [r["scenario"] for r in summary] == ["base", "cheap", "shortage", "pricey", "closed"]
    rows = by_scenario(summary)
    for name in ("shortage", "closed"):
        assert rows[name]["status"] == "infeasible", rows[name]
        for col in ("total_cost", *COST_COLUMNS, "unmet_t"):
            assert rows[name][col] is None, (name, col, rows[name])
    flows = read_plan_sheet(out, "Flows")
    assert not [f for f in flows if f["scenario"] in ("shortage", "closed")]
    for name, (total, expected) in INFEASIBLE_FEASIBLE.items():
        assert rows[name]["status"] == "optimal", rows[name]
        assert rows[name]["total_cost"] == approx(total), rows[name]
        for mine, qty in expected.items():
            assert flow(flows, name, mine, "Plant") == approx(qty), (name, mine)
        assert flow(flows, name, "MineB", "Plant") == approx(0)
    # Comparison: a status row for each infeasible scenario, costs for the others.
    comp = read_plan_sheet(out, "Comparison")
    status = {r["scenario"]: r for r in comp if r["section"] == "status"}
    assert set(status) == {"shortage", "closed"}
    assert all(str(r["detail"]).startswith("infeasible") for r in status.values())
    total = {r["scenario"]: r["value"] for r in comp
             if r["section"] == "cost" and r["item"] == "total_cost"}
    assert total == {"cheap": approx(1600), "pricey": approx(1860)}
    # The terminal: a progress line for each, and the infeasible ones named on stderr.
    lines = progress_lines(result.output, rows)
    assert set(lines) == set(rows)
    assert "infeasible" in lines["shortage"] and "infeasible" in lines["closed"]
    assert "scenario shortage: infeasible" in result.output
    assert "scenario closed: infeasible" in result.output


# --------------------------------------------------------------------------- --jobs

def _all_sheets(path: Path) -> dict[str, list]:
    """Every sheet but Run info (times differ): table rows, or raw cells for chart sheets."""
    tables = table_sheets(path)
    sheets = {s: read_plan_sheet(path, s) for s in tables if s != "Run info"}
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        for s in wb.sheetnames:
            if s not in tables:
                sheets[s] = [tuple(r) for r in wb[s].iter_rows(values_only=True)]
    finally:
        wb.close()
    assert set(sheets) == set(sheet_names(path)) - {"Run info"}
    return sheets


def test_parallel_and_serial_runs_give_identical_plans(tmp_path):
    # The hand instance plus an infeasible scenario: demand x10 = 1200 t without the
    # unlimited MineB (100 + 50 + 100 = 250 t available, no penalty).
    broken = [change("broken", "Demand", None, "quantity_t", "multiply", 10),
              change("broken", "Suppliers", "supplier=MineB", None, "drop", None)]
    inp = make_workbook(tmp_path / "in.xlsx", dict(HAND_SHEETS, Scenarios=HAND_CHANGES + broken))
    names = HAND_ORDER[:-2] + ["broken"] + HAND_ORDER[-2:]  # Scenarios sheet, then rules
    out1, out2 = tmp_path / "serial.xlsx", tmp_path / "parallel.xlsx"
    r1 = run_cli(inp, out1, "--quiet", jobs=1)
    r2 = run_cli(inp, out2, jobs=2)
    assert r1.exit_code == 3 and r2.exit_code == 3, (r1.output, r2.output)
    one, two = _all_sheets(out1), _all_sheets(out2)
    assert one == two
    summary = by_scenario(one["Summary"])
    assert list(summary) == names
    assert summary["broken"]["status"] == "infeasible"
    assert all(summary[n]["total_cost"] == approx(HAND[n][0]) for n in HAND_ORDER)
    # one progress line per scenario whatever order they finish in; Run info in plan order
    assert set(progress_lines(r2.output, names)) == set(names)
    assert [r["scenario"] for r in read_plan_sheet(out2, "Run info")] == names


# --------------------------------------------------------------------------- --scenario

def test_scenario_option_picks_and_compares_with_base(hand, tmp_path):
    inp = hand[0]
    out = tmp_path / "with-base.xlsx"
    result = run_cli(inp, out, "--scenario", "base", "--scenario", "DIVERSE",
                     "--scenario", "embargo")
    assert result.exit_code == 0, result.output
    summary = read_plan_sheet(out, "Summary")
    assert [r["scenario"] for r in summary] == ["base", "Diverse", "embargo"]
    assert by_scenario(summary)["Diverse"]["total_cost"] == approx(1960)
    assert set(progress_lines(result.output, HAND_ORDER)) == {"base", "Diverse", "embargo"}
    comp = read_plan_sheet(out, "Comparison")
    assert {r["scenario"] for r in comp} == {"Diverse", "embargo"}
    # without base: solved, but nothing to compare against
    out = tmp_path / "no-base.xlsx"
    result = run_cli(inp, out, "--scenario", "two", "--scenario", "half_cap", "--quiet")
    assert result.exit_code == 0, result.output
    assert result.output == ""
    summary = read_plan_sheet(out, "Summary")
    assert sorted(r["scenario"] for r in summary) == ["half_cap", "two"]
    assert by_scenario(summary)["two"]["total_cost"] == approx(880)
    assert read_plan_sheet(out, "Comparison") == []
    assert {r["scenario"] for r in read_plan_sheet(out, "Flows")} == {"two", "half_cap"}


def test_unknown_scenario_is_a_usage_error_listing_the_names(hand, tmp_path):
    out = tmp_path / "plan.xlsx"
    result = run_cli(hand[0], out, "--scenario", "base", "--scenario", "nonesuch")
    assert result.exit_code == 2, result.output
    assert "nonesuch" in result.output
    for name in HAND_ORDER:
        assert name in result.output, name
    assert "Traceback" not in result.output
    assert not out.exists()


def test_summary_lists_base_first_whatever_the_option_order(hand, tmp_path):
    out = tmp_path / "plan.xlsx"
    result = run_cli(hand[0], out, "--scenario", "embargo", "--scenario", "base", "--quiet")
    assert result.exit_code == 0, result.output
    assert [r["scenario"] for r in read_plan_sheet(out, "Summary")] == ["base", "embargo"]


def test_change_to_one_row_of_a_co_product_process_changes_the_process(tmp_path):
    # CHAIN with process p at R making metal 0.5 and slag 0.5 per t ore, 4 per t of input,
    # capacity 100 t of input (both rows, as they must agree, docs/workbook.md).
    # A change to cost_per_t or capacity_t on the slag row alone changes the process:
    #   dear: cost 14: metal (10 + 14) / 0.5 = 48 per t: 30 from P (60) + 30 x 48 (1440) = 1500.
    #   half: capacity 50 -> 25 t metal: 60 + 25 x 28 (700) + 5 unmet x 100 (500) = 1260.
    # (Before the fix the planner kept the first row's value: both came out at base, 900.)
    sheets = dict(CHAIN_SHEETS, Processes=[
        {"site": "R", "process": "p", "input_material": "ore", "output_material": out,
         "yield": 0.5, "cost_per_t": 4, "capacity_t": 100} for out in ("metal", "slag")],
        Scenarios=[change("dear", "Processes", "output_material=slag", "cost_per_t", "add", 10),
                   change("half", "Processes", "output_material=SLAG", "capacity_t", "multiply",
                          0.5)])
    inp = make_workbook(tmp_path / "in.xlsx", sheets)
    out = tmp_path / "plan.xlsx"
    result = run_cli(inp, out, "--quiet")
    assert result.exit_code == 0, result.output
    rows = by_scenario(read_plan_sheet(out, "Summary"))
    assert rows["base"]["total_cost"] == approx(900)
    assert rows["dear"]["total_cost"] == approx(1500)
    assert rows["dear"]["processing_cost"] == approx(14 * 60)
    assert rows["half"]["total_cost"] == approx(1260)
    assert rows["half"]["unmet_t"] == approx(5)


def test_scenario_cannot_make_a_yield_zero(tmp_path):
    # docs/workbook.md: validation rejects yields <= 0; a scenario that multiplies or sets a number
    # out of range is already an error naming the Scenarios row (e.g. a negative unit_cost).
    # (Before the fix: exit 0, and y0 planned with a process that makes nothing.)
    sheets = dict(CHAIN_SHEETS, Scenarios=[change("y0", "Processes", None, "yield", "set", 0)])
    inp = make_workbook(tmp_path / "in.xlsx", sheets)
    result = run_cli(inp, tmp_path / "plan.xlsx")
    assert result.exit_code == 1, result.output
    assert "Scenarios" in result.output and "row 2" in result.output


def test_one_scenario_must_be_written_one_way(tmp_path):
    # Names match ignoring case, so `Up`, `up` and `up ` were one scenario with all three
    # rows' changes compounded, silently. Now the later spellings are errors at their cells
    # (`up ` is read as `up`: spaces at the ends of an id are trimmed).
    rows = [change(name, "Suppliers", "supplier=MineA", "unit_cost", "add", 5)
            for name in ("Up", "up", "up ")]
    inp = make_workbook(tmp_path / "in.xlsx", dict(BASE_SHEETS, Scenarios=rows))
    result = run_cli(inp, tmp_path / "plan.xlsx")
    assert result.exit_code == 1, result.output
    errors = [ln for ln in result.output.splitlines() if "error: sheet Scenarios" in ln]
    assert len(errors) == 2, result.output
    for row in (3, 4):
        assert any(f"sheet Scenarios, row {row}, column scenario (A): scenario 'up' is written "
                   f"'Up' in row 2; write every row of a scenario the same way" in ln
                   for ln in errors), result.output
    assert not (tmp_path / "plan.xlsx").exists()
    # Written one way (trailing spaces aside), the two rows are one scenario: MineA 10 + 5 + 5
    # = 20, landed 25 > MineB 19: MineC 50 (700) + MineB 70 (1330) = 2030, as set_a above.
    # A rule's scenario cell still matches in any case: `UP` is no third scenario.
    inp = make_workbook(tmp_path / "in2.xlsx", dict(
        BASE_SHEETS, Scenarios=[change(name, "Suppliers", "supplier=MineA", "unit_cost", "add",
                                       5) for name in ("Up", "Up ")],
        Restrictions=[{"rule": "none", "type": "quota", "from": "CL", "to": "JP",
                       "max_t": 1000, "scenario": "UP"}]))
    out = tmp_path / "plan2.xlsx"
    result = run_cli(inp, out, "--quiet")
    assert result.exit_code == 0, result.output
    rows = by_scenario(read_plan_sheet(out, "Summary"))
    assert list(rows) == ["base", "Up"]
    assert rows["Up"]["total_cost"] == approx(2030)


# --------------------------------------------------------------------------- property

SUPPLY_COUNTRIES = ["AU", "CL", "CN"]
CUSTOMER_COUNTRIES = ["JP", "US", "AU"]  # AU: a domestic customer for some instances
PENALTY = 500  # above any landed cost (<= 50 + 20), so unmet is a last resort


@st.composite
def instances(draw):
    n_sup = draw(st.integers(2, 5))
    suppliers = []
    for i in range(n_sup):
        suppliers.append({
            "supplier": f"S{i}", "country": draw(st.sampled_from(SUPPLY_COUNTRIES)),
            "material": "ore", "capacity_t": draw(st.integers(10, 100)),
            "unit_cost": draw(st.integers(1, 50)),
        })
    n_cus = draw(st.integers(1, 2))
    demand = [{"customer": f"K{j}", "country": draw(st.sampled_from(CUSTOMER_COUNTRIES)),
               "material": "ore", "period": "P1", "quantity_t": draw(st.integers(10, 80))}
              for j in range(n_cus)]
    penalty = draw(st.booleans())
    if penalty:
        for d in demand:
            d["unmet_penalty"] = PENALTY
    else:  # keep the base feasible: enough capacity in total, or one unlimited supplier
        if draw(st.booleans()):
            suppliers[0]["capacity_t"] = None
        else:
            short = sum(d["quantity_t"] for d in demand) - sum(s["capacity_t"]
                                                               for s in suppliers)
            if short > 0:
                suppliers[0]["capacity_t"] += short
    countries = sorted({s["country"] for s in suppliers})
    freight = [{"from_country": a, "to_country": b, "cost_per_t": draw(st.integers(0, 20))}
               for a in countries for b in sorted({d["country"] for d in demand}) if a != b]
    member = draw(st.sampled_from(countries))
    tight_cap = draw(st.floats(0.1, 0.95))
    loose_cap = draw(st.floats(1.05, 3.0))
    loose_cost = draw(st.floats(0.1, 0.95))
    sheets = {
        "Suppliers": suppliers, "Demand": demand,
        "Scenarios": [
            change("t_cap", "Suppliers", None, "capacity_t", "multiply", tight_cap),
            change("t_freight", "Freight", None, "cost_per_t", "add", draw(st.integers(1, 10))),
            change("l_cap", "Suppliers", None, "capacity_t", "multiply", loose_cap),
            change("l_cost", "Suppliers", None, "unit_cost", "multiply", loose_cost),
            change("l_both", "Suppliers", f"country={member.lower()}", "capacity_t",
                   "multiply", loose_cap),
            change("l_both", "Suppliers", None, "unit_cost", "multiply", loose_cost),
        ],
        "Limits": [{"rule": "share", "material": "ore", "stage": "supply", "by": "country",
                    "member": member, "max_share": draw(st.floats(0.1, 0.9)),
                    "scenario": "t_share; t_both"}],
        "Restrictions": [{"rule": "trade", "type": draw(st.sampled_from(["ban", "quota"])),
                          "from": member, "max_t": draw(st.integers(0, 60)),
                          "scenario": "t_trade;T_BOTH"}],
    }
    if freight:
        sheets["Freight"] = freight
    else:
        sheets["Scenarios"] = [c for c in sheets["Scenarios"] if c["sheet"] != "Freight"]
    return sheets


def oracle_base_cost(sheets) -> float:
    """An independent minimal LP of the base (docs/model.md for this family): the scenario-scoped
    rules must not touch it."""
    freight = {(f["from_country"], f["to_country"]): f["cost_per_t"]
               for f in sheets.get("Freight", [])}
    lp = pulp.LpProblem("base", pulp.LpMinimize)
    x, cost = {}, []
    for s in sheets["Suppliers"]:
        for d in sheets["Demand"]:
            same = s["country"] == d["country"]
            if not same and (s["country"], d["country"]) not in freight:
                continue
            v = x[s["supplier"], d["customer"]] = pulp.LpVariable(
                f"x_{s['supplier']}_{d['customer']}", 0)
            cost.append((s["unit_cost"] + (0 if same else freight[s["country"], d["country"]]))
                        * v)
    unmet = {}
    for d in sheets["Demand"]:
        if "unmet_penalty" in d:
            unmet[d["customer"]] = pulp.LpVariable(f"u_{d['customer']}", 0)
            cost.append(d["unmet_penalty"] * unmet[d["customer"]])
    lp += pulp.lpSum(cost)
    for s in sheets["Suppliers"]:
        if s["capacity_t"] is not None:
            lp += pulp.lpSum(v for (i, _), v in x.items() if i == s["supplier"]) \
                <= s["capacity_t"]
    for d in sheets["Demand"]:
        lp += (pulp.lpSum(v for (_, k), v in x.items() if k == d["customer"])
               + unmet.get(d["customer"], 0)) == d["quantity_t"]
    lp.solve(pulp.HiGHS(msg=False))
    assert pulp.LpStatus[lp.status] == "Optimal"
    return pulp.value(lp.objective) or 0.0


def at_least(value, ref):
    return value >= ref or math.isclose(value, ref, rel_tol=TOL, abs_tol=TOL)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_tightening_never_cheaper_loosening_never_dearer(sheets):
    # Through the library API on the same tables (only the Summary's numbers are read; the
    # command line's files and exit statuses are covered by the tests above).
    plan = api.plan(frames(sheets), jobs=1)
    rows = by_scenario(table_rows(plan["Summary"]))
    base = rows["base"]
    assert base["status"] == "optimal", base
    base_cost = float(base["total_cost"])
    assert math.isclose(base_cost, oracle_base_cost(sheets), rel_tol=TOL, abs_tol=TOL)
    tight = [n for n in rows if n.lower().startswith("t_")]
    loose = [n for n in rows if n.startswith("l_")]
    # "t_both" is named in Limits as t_both and in Restrictions as T_BOTH: one scenario.
    assert {n.lower() for n in tight} >= {"t_cap", "t_share", "t_trade", "t_both"}
    assert len(tight) == len({n.lower() for n in tight})
    assert set(loose) == {"l_cap", "l_cost", "l_both"}
    for name in tight:
        row = rows[name]
        assert row["status"] in ("optimal", "infeasible"), row
        if row["status"] == "optimal":
            assert at_least(float(row["total_cost"]), base_cost), (name, row, base_cost)
    for name in loose:
        row = rows[name]
        assert row["status"] == "optimal", row
        assert at_least(base_cost, float(row["total_cost"])), (name, row, base_cost)
    if "unmet_penalty" in sheets["Demand"][0]:  # with a penalty nothing becomes infeasible
        assert all(r["status"] == "optimal" for r in rows.values()), rows
    assert plan.all_optimal == all(r["status"] == "optimal" for r in rows.values())


def test_a_rule_can_apply_in_every_scenario_except_some(tmp_path):
    # China 10 a t, Australia 20; 100 t. A 60% cap on China except in "free":
    # base and "strict" pay 600 + 800 = 1400; "free" pays 1000, by hand.
    sheets = {
        "Suppliers": [{"supplier": "cn", "country": "CN", "material": "ore", "capacity_t": None,
                       "unit_cost": 10},
                      {"supplier": "au", "country": "AU", "material": "ore", "capacity_t": None,
                       "unit_cost": 20}],
        "Demand": [{"customer": "jp", "country": "JP", "material": "ore", "period": "Q1",
                    "quantity_t": 100}],
        "Freight": [{"from_country": c, "to_country": "JP", "cost_per_t": 0}
                    for c in ("CN", "AU")],
        "Limits": [{"rule": "cap", "material": "ore", "stage": "supply", "by": "country",
                    "member": "CN", "max_share": 0.6, "scenario": "Except: FREE"}],
        "Scenarios": [{"scenario": "strict", "sheet": "Demand", "column": "quantity_t",
                       "action": "multiply", "value": 1}],
    }
    inp = make_workbook(tmp_path / "in.xlsx", sheets)
    out = tmp_path / "plan.xlsx"
    result = run_cli(inp, out, "--quiet")
    assert result.exit_code == 0, result.output
    costs = {r["scenario"]: r["total_cost"] for r in read_plan_sheet(out, "Summary")}
    assert costs == {"base": approx(1400), "strict": approx(1400), "FREE": approx(1000)}


def test_dropping_a_site_drops_what_it_makes(tmp_path):
    # Ore at 100 refined at R (yield 0.5, 10 a t of ore) for 40 t of metal, lane cost 1:
    # base = 80 x 110 + 40 = 8840. Without R nothing can make metal: all 40 t unmet at
    # 1000 = 40,000 (never metal from nowhere on R's lane), by hand.
    sheets = {
        "Suppliers": [{"supplier": "M", "country": "AU", "material": "ore", "capacity_t": 1000,
                       "unit_cost": 100}],
        "Sites": [{"site": "R", "country": "AU", "capacity_t": None}],
        "Processes": [{"site": "R", "input_material": "ore", "output_material": "met",
                       "yield": 0.5, "cost_per_t": 10}],
        "Demand": [{"customer": "C", "country": "AU", "material": "met", "period": "P1",
                    "quantity_t": 40, "unmet_penalty": 1000}],
        "Lanes": [{"from": "R", "to": "C", "cost_per_t": 1}],
        "Scenarios": [{"scenario": "close R", "sheet": "Sites", "where": "site=R",
                       "action": "drop"}],
    }
    inp = make_workbook(tmp_path / "in.xlsx", sheets)
    out = tmp_path / "plan.xlsx"
    result = run_cli(inp, out, "--quiet")
    assert result.exit_code == 0, result.output
    rows = by_scenario(read_plan_sheet(out, "Summary"))
    assert rows["base"]["total_cost"] == approx(8840)
    assert rows["close R"]["total_cost"] == approx(40000)
    assert rows["close R"]["unmet_t"] == approx(40)
    assert [f for f in read_plan_sheet(out, "Flows") if f["scenario"] == "close R"] == []


def test_utilization_lists_processes_with_a_capacity_or_that_run():
    """One site, three ways from ore to oxide: `cheap` (1/t, no capacity) runs all 30 t;
    `dear` (5/t, no capacity) does not run and has nothing to show; `capped` (9/t, 50 t)
    does not run but its capacity stands unused."""
    tables = api.plan(frames({
        "Suppliers": [{"supplier": "M", "country": "AU", "material": "ore",
                       "capacity_t": 100, "unit_cost": 10}],
        "Sites": [{"site": "S", "country": "AU", "capacity_t": None}],
        "Processes": [{"site": "S", "process": p, "input_material": "ore",
                       "output_material": "ox", "yield": 1, "cost_per_t": c,
                       "capacity_t": cap}
                      for p, c, cap in (("cheap", 1, None), ("dear", 5, None),
                                        ("capped", 9, 50))],
        "Demand": [{"customer": "K", "country": "JP", "material": "ox", "period": "P1",
                    "quantity_t": 30}],
        "Freight": [{"from_country": "AU", "to_country": to, "cost_per_t": 0}
                    for to in ("AU", "JP")]}))
    assert table_rows(tables["Summary"])[0]["total_cost"] == approx(30 * 10 + 30 * 1)
    processes = {r["id"]: (r["used_t"], r["capacity_t"])
                 for r in table_rows(tables["Utilization"]) if r["kind"] == "process"}
    assert processes == {"S / cheap": (30, None), "S / capped": (0, 50)}
