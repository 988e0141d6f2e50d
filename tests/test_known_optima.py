"""Known optima: textbook and hand-solved instances fed through the planner.

Every expected number below comes from the cited source or from the hand
calculation written next to it, never from a planner run. Each instance was also
re-solved with a separate, minimal PuLP formulation outside the repository
(HiGHS and CBC both agreed with the numbers here) before the planner existed.

Each test hands the input tables (docs/workbook.md) to the library API as DataFrames
(`api.plan`) and reads the plan's tables (docs/model.md). Two go end to end as a user
would: the beer distribution writes an input workbook, runs `planner run` and reads the
plan workbook back (the file's Flows sheet), and the infeasible stockpile checks the exit
status of a plan with a scenario that is not optimal. All tests run with both solvers:
HiGHS and CBC must report the same optimum.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from planner.cli import main
from test_rules import plan_tables as solve  # DataFrames through the library API
from wb import make_workbook, read_plan_sheet, table_rows

SOLVERS = ["highs", "cbc"]
TOL = 1e-6

COST_COLUMNS = ("purchase_cost", "freight_cost", "processing_cost", "stockpile_cost", "unmet_cost")


# --------------------------------------------------------------------------- helpers


def approx(value):
    return pytest.approx(value, rel=TOL, abs=TOL)


def run_plan(tmp_path, sheets, solver, expect_exit=0):
    """Write the input workbook, run the CLI, return (out path, result)."""
    inp = make_workbook(tmp_path / "input.xlsx", sheets)
    out = tmp_path / "plan.xlsx"
    result = CliRunner().invoke(
        main, ["run", str(inp), "-o", str(out), "--solver", solver, "--quiet"]
    )
    assert result.exit_code == expect_exit, (result.exit_code, result.output, result.exception)
    return out, result


def sheet_rows(out, sheet):
    """Rows of a plan sheet, from the plan file (a path) or the API's tables."""
    return read_plan_sheet(out, sheet) if isinstance(out, Path) else table_rows(out[sheet])


def base_summary(out):
    rows = [r for r in sheet_rows(out, "Summary") if r.get("scenario") == "base"]
    assert len(rows) == 1, rows
    return rows[0]


def base_flows(out):
    return [r for r in sheet_rows(out, "Flows") if r.get("scenario") == "base"]


def flow(flows, **match):
    """Sum of quantity_t over the flow rows whose columns equal every given value.

    Use `frm=` for the `from` column (a Python keyword). Values are compared as text
    so a period label written back as a string or a number still matches.
    """
    if "frm" in match:
        match["from"] = match.pop("frm")
    total = 0.0
    for row in flows:
        if all(str(row.get(col)) == str(val) for col, val in match.items()):
            total += float(row["quantity_t"] or 0)
    return total


def assert_summary(summary, total, **parts):
    """Status optimal, total cost as expected, listed parts as expected, parts add up."""
    assert summary["status"] == "optimal", summary
    assert float(summary["total_cost"]) == approx(total), summary
    for col, val in parts.items():
        assert float(summary[col] or 0) == approx(val), (col, summary)
    assert sum(float(summary[c] or 0) for c in COST_COLUMNS) == approx(total), summary


# --------------------------------------------------------------------------- 1. beer distribution

# PuLP documentation, case study "A Transportation Problem" (the Beer Distribution
# Problem), also shipped as pulp/examples/BeerDistributionProblem.py:
#   warehouses A (supply 1000), B (supply 4000); bars 1..5 demand 500, 900, 1800, 200, 700
#   cost per crate   bar1 bar2 bar3 bar4 bar5
#        A             2    4    5    2    1
#        B             3    1    3    2    3
# Published result: "Total Cost of Transportation = 8600.0" with
#   A->1 300, A->5 700, B->1 200, B->2 900, B->3 1800, B->4 200.
# Arithmetic: 2*300 + 1*700 + 3*200 + 1*900 + 3*1800 + 2*200
#           = 600 + 700 + 600 + 900 + 5400 + 400 = 8600.
# The optimum is unique: A's 1000 crates go where A is cheaper than B -- bar 5
# (saves 2/crate, all 700) then bar 1 (saves 1/crate, the remaining 300); bar 4 is
# a tie (2 = 2) but A has nothing left. B covers everything else at its own cost.
BEER_COST = {
    "A": [2, 4, 5, 2, 1],
    "B": [3, 1, 3, 2, 3],
}
BEER_SUPPLY = {"A": 1000, "B": 4000}
BEER_DEMAND = [500, 900, 1800, 200, 700]


def beer_workbook():
    # Each warehouse and bar in its own "country", so the only arcs are the Lanes rows.
    suppliers = [
        {"supplier": w, "country": f"W{w}", "material": "beer", "capacity_t": cap, "unit_cost": 0}
        for w, cap in BEER_SUPPLY.items()
    ]
    demand = [
        {"customer": f"Bar{b}", "country": f"XB{b}", "material": "beer", "period": "P1", "quantity_t": q}
        for b, q in enumerate(BEER_DEMAND, start=1)
    ]
    lanes = [
        {"from": w, "to": f"Bar{b}", "cost_per_t": c}
        for w, row in BEER_COST.items()
        for b, c in enumerate(row, start=1)
    ]
    return {"Suppliers": suppliers, "Demand": demand, "Lanes": lanes}


@pytest.mark.parametrize("solver", SOLVERS)
def test_beer_distribution_pulp_case_study(tmp_path, solver):
    # End to end: `planner run` on a written workbook; the numbers are read from the plan file.
    out, _ = run_plan(tmp_path, beer_workbook(), solver)
    assert_summary(
        base_summary(out), 8600,
        purchase_cost=0, freight_cost=8600, processing_cost=0, stockpile_cost=0, unmet_cost=0,
    )
    flows = base_flows(out)
    expected = {
        ("A", "Bar1"): 300, ("A", "Bar2"): 0, ("A", "Bar3"): 0, ("A", "Bar4"): 0, ("A", "Bar5"): 700,
        ("B", "Bar1"): 200, ("B", "Bar2"): 900, ("B", "Bar3"): 1800, ("B", "Bar4"): 200, ("B", "Bar5"): 0,
    }
    for (w, bar), qty in expected.items():
        assert flow(flows, frm=w, to=bar, material="beer") == approx(qty), (w, bar)
    # freight_cost column of the flow rows = lane cost x quantity; it sums to the total.
    assert sum(float(r["freight_cost"] or 0) for r in flows) == approx(8600)
    row = next(r for r in flows if r["from"] == "B" and r["to"] == "Bar3")
    assert str(row["from_kind"]).lower().startswith("supplier"), row
    assert row["from_country"] == "WB" and row["to_country"] == "XB3"
    assert float(row["freight_cost"]) == approx(3 * 1800)


# --------------------------------------------------------------------------- 2. Powerco

# Winston, "Operations Research: Applications and Algorithms", 4th ed., section 7.1,
# Example 1 (Powerco). Supply (million kWh): plant1 35, plant2 50, plant3 40;
# demand: city1 45, city2 20, city3 30, city4 30 (balanced: 125 = 125).
#   cost ($1000 per million kWh)  city1 city2 city3 city4
#        plant1                      8     6    10     9
#        plant2                      9    12    13     7
#        plant3                     14     9    16     5
# Published optimum z = 1020 with x12 = 10, x13 = 25, x21 = 45, x23 = 5, x32 = 10, x34 = 30.
# Arithmetic: 6*10 + 10*25 + 9*45 + 13*5 + 9*10 + 5*30 = 60 + 250 + 405 + 65 + 90 + 150 = 1020.
# (Unique: min and max of every x_ij at cost 1020 coincide, checked independently.)
# Costs are given as Freight rows between country labels (not Lanes) to exercise that path.
POWERCO_COST = {1: [8, 6, 10, 9], 2: [9, 12, 13, 7], 3: [14, 9, 16, 5]}
POWERCO_SUPPLY = {1: 35, 2: 50, 3: 40}
POWERCO_DEMAND = {1: 45, 2: 20, 3: 30, 4: 30}
POWERCO_OPT = {(1, 2): 10, (1, 3): 25, (2, 1): 45, (2, 3): 5, (3, 2): 10, (3, 4): 30}


@pytest.mark.parametrize("solver", SOLVERS)
def test_powerco_winston(solver):
    sheets = {
        "Suppliers": [
            {"supplier": f"Plant{i}", "country": f"PL{i}", "material": "power", "capacity_t": s, "unit_cost": 0}
            for i, s in POWERCO_SUPPLY.items()
        ],
        "Demand": [
            {"customer": f"City{j}", "country": f"CT{j}", "material": "power", "period": "P1", "quantity_t": d}
            for j, d in POWERCO_DEMAND.items()
        ],
        "Freight": [
            {"from_country": f"PL{i}", "to_country": f"CT{j}", "cost_per_t": c}
            for i, row in POWERCO_COST.items()
            for j, c in enumerate(row, start=1)
        ],
    }
    out = solve(sheets, solver)
    assert_summary(base_summary(out), 1020, purchase_cost=0, freight_cost=1020, unmet_cost=0)
    flows = base_flows(out)
    for i in POWERCO_SUPPLY:
        for j in POWERCO_DEMAND:
            assert flow(flows, frm=f"Plant{i}", to=f"City{j}") == approx(POWERCO_OPT.get((i, j), 0)), (i, j)


# --------------------------------------------------------------------------- 2b. Widgetco transshipment

# Data: Winston, "Operations Research: Applications and Algorithms", 4th ed., section 7.6
# (Widgetco transshipment example): factories Memphis (150/day) and Denver (200/day),
# customers Los Angeles and Boston (130/day each), transshipment via New York or Chicago.
#   cost per widget   NY  Chicago  LA  Boston
#     Memphis          8    13     25    28
#     Denver          15    12     26    25
#     New York         -     6     16    17
#     Chicago          6     -     14    16
# Optimum by hand (cheapest route per origin/destination):
#   Memphis->LA: via NY 8+16 = 24 (direct 25, via Chicago 27); Memphis->Boston: via NY 8+17 = 25;
#   Denver->LA: 26 (direct, or via Chicago 12+14); Denver->Boston: direct 25.
#   LA: Memphis is 2 cheaper than Denver and has 150 >= 130, so all 130 go Memphis->NY->LA (3120).
#   Boston: 25 from either origin (tie), 130*25 = 3250.
#   z = 3120 + 3250 = 6370. (Independent PuLP check: 6370 with HiGHS and CBC.)
# Boston's split between Denver direct and Memphis->NY is a tie (Memphis has 20 spare),
# so only Boston's total, the LA route and the cost are asserted.
# The transshipment points are Sites with a widget->widget process of yield 1, cost 0.
WIDGETCO_LANES = {
    ("Memphis", "NewYork"): 8, ("Memphis", "Chicago"): 13, ("Memphis", "LosAngeles"): 25, ("Memphis", "Boston"): 28,
    ("Denver", "NewYork"): 15, ("Denver", "Chicago"): 12, ("Denver", "LosAngeles"): 26, ("Denver", "Boston"): 25,
    ("NewYork", "Chicago"): 6, ("NewYork", "LosAngeles"): 16, ("NewYork", "Boston"): 17,
    ("Chicago", "NewYork"): 6, ("Chicago", "LosAngeles"): 14, ("Chicago", "Boston"): 16,
}


@pytest.mark.parametrize("solver", SOLVERS)
def test_widgetco_transshipment_winston(solver):
    sheets = {
        "Suppliers": [
            {"supplier": "Memphis", "country": "MEM", "material": "widget", "capacity_t": 150, "unit_cost": 0},
            {"supplier": "Denver", "country": "DEN", "material": "widget", "capacity_t": 200, "unit_cost": 0},
        ],
        "Sites": [
            {"site": "NewYork", "country": "NYC", "capacity_t": None},
            {"site": "Chicago", "country": "CHI", "capacity_t": None},
        ],
        "Processes": [
            {"site": s, "input_material": "widget", "output_material": "widget", "yield": 1.0, "cost_per_t": 0}
            for s in ("NewYork", "Chicago")
        ],
        "Demand": [
            {"customer": "LosAngeles", "country": "LAX", "material": "widget", "period": "P1", "quantity_t": 130},
            {"customer": "Boston", "country": "BOS", "material": "widget", "period": "P1", "quantity_t": 130},
        ],
        "Lanes": [{"from": a, "to": b, "cost_per_t": c} for (a, b), c in WIDGETCO_LANES.items()],
    }
    out = solve(sheets, solver)
    assert_summary(base_summary(out), 6370, purchase_cost=0, freight_cost=6370, processing_cost=0, unmet_cost=0)
    flows = base_flows(out)
    assert flow(flows, frm="NewYork", to="LosAngeles") == approx(130)
    assert flow(flows, to="LosAngeles") == approx(130)
    assert flow(flows, to="Boston") == approx(130)
    for route in [("Memphis", "LosAngeles"), ("Denver", "LosAngeles"), ("Chicago", "LosAngeles"),
                  ("Memphis", "Chicago"), ("Denver", "Chicago"), ("Memphis", "Boston")]:
        assert flow(flows, frm=route[0], to=route[1]) == approx(0), route
    # Memphis feeds NY with the 130 for LA plus whatever of its 20 spare it sends to Boston.
    m_ny = flow(flows, frm="Memphis", to="NewYork")
    assert m_ny == approx(130 + flow(flows, frm="NewYork", to="Boston"))
    assert flow(flows, frm="Denver", to="Boston") + flow(flows, frm="NewYork", to="Boston") == approx(130)


# --------------------------------------------------------------------------- 3. Sailco

# Winston, "Operations Research: Applications and Algorithms", 4th ed., section 3.10
# (Sailco), also Winston & Albright p. 200 (GAMS model sailco.gms):
#   demand 40, 60, 75, 25 sailboats in quarters 1..4; initial inventory 10;
#   regular time up to 40/quarter at $400; overtime unlimited at $450;
#   holding $20 per boat in inventory at the end of each quarter.
# Published optimum z = $78,450: regular x = 40, 40, 40, 25; overtime y = 0, 10, 35, 0;
#   end inventory i = 10, 0, 0, 0.
# Arithmetic: 400*(40+40+40+25) + 450*(10+35) + 20*10 = 58,000 + 20,250 + 200 = 78,450.
# Encoded: two suppliers in the customer's country (no freight), and a Stockpile holding
# the initial 10 boats with intake so production can be stored.
SAILCO_DEMAND = {"Q1": 40, "Q2": 60, "Q3": 75, "Q4": 25}
SAILCO_REGULAR = {"Q1": 40, "Q2": 40, "Q3": 40, "Q4": 25}
SAILCO_OVERTIME = {"Q1": 0, "Q2": 10, "Q3": 35, "Q4": 0}
# Net release of the stockpile (out - in) per quarter: level 10 -> 10 -> 0 -> 0 -> 0.
SAILCO_NET_RELEASE = {"Q1": 0, "Q2": 10, "Q3": 0, "Q4": 0}


@pytest.mark.parametrize("solver", SOLVERS)
def test_sailco_multiperiod_inventory_winston(solver):
    sheets = {
        "Periods": [{"period": q} for q in SAILCO_DEMAND],
        "Suppliers": [
            {"supplier": "Regular", "country": "US", "material": "sailboat", "capacity_t": 40, "unit_cost": 400},
            {"supplier": "Overtime", "country": "US", "material": "sailboat", "capacity_t": None, "unit_cost": 450},
        ],
        "Demand": [
            {"customer": "Market", "country": "US", "material": "sailboat", "period": q, "quantity_t": d}
            for q, d in SAILCO_DEMAND.items()
        ],
        "Stockpiles": [
            {"stockpile": "Yard", "country": "US", "material": "sailboat", "initial_t": 10, "capacity_t": None,
             "min_level_t": None, "max_release_t": None, "release_cost": 0, "holding_cost": 20, "intake": "yes"},
        ],
    }
    out = solve(sheets, solver)
    assert_summary(
        base_summary(out), 78450,
        purchase_cost=78250, stockpile_cost=200, freight_cost=0, processing_cost=0, unmet_cost=0,
    )
    flows = base_flows(out)
    for q in SAILCO_DEMAND:
        # Production = everything a supplier ships (to the customer or into the yard).
        assert flow(flows, frm="Regular", period=q) == approx(SAILCO_REGULAR[q]), q
        assert flow(flows, frm="Overtime", period=q) == approx(SAILCO_OVERTIME[q]), q
        assert flow(flows, to="Market", period=q) == approx(SAILCO_DEMAND[q]), q
        net = flow(flows, frm="Yard", period=q) - flow(flows, to="Yard", period=q)
        assert net == approx(SAILCO_NET_RELEASE[q]), q


# --------------------------------------------------------------------------- 4. co-products

# Hand-solved. One mine sells ore at 100/t (unlimited). Plant runs ONE process "split"
# (two Processes rows sharing the process name): 1 t ore -> 0.6 t A + 0.3 t B, cost 20 per
# t of ore (charged once per t of input, not once per output row). All nodes in country X;
# lanes: Mine->Plant 5, Plant->BuyerA 10, Plant->BuyerB 15 (TraderB->BuyerB 20 when present).
# Cost per t of ore processed (z): 100 + 5 + 20 = 125.
#
# (a) demand A 60, B 20: A needs z >= 60/0.6 = 100, B needs z >= 20/0.3 = 66.7 -> A binds, z = 100.
#     Output B = 30, 20 shipped, 10 t surplus left (free disposal: outflow <= yield x activity).
#     purchase 100*100 = 10,000; processing 20*100 = 2,000;
#     freight 5*100 + 10*60 + 15*20 = 500 + 600 + 300 = 1,400; total 13,400.
#
# (b) demand A 30, B 30 (B binds: z >= 30/0.3 = 100; A alone needs only 50).
#   - no trader: z = 100, A surplus 30. purchase 10,000; processing 2,000;
#     freight 500 + 10*30 + 15*30 = 1,250; total 13,250.
#   - trader sells B at p, +20 freight. Replacing process B costs 125/0.3 + 15 = 431.67 per t B
#     until A binds at z = 50 (below that A is short and has no other source).
#     p = 300 (320 landed < 431.67): z = 50, process B = 0.3*50 = 15, trader B = 15.
#       purchase 50*100 + 15*300 = 9,500; processing 20*50 = 1,000;
#       freight 5*50 + 10*30 + 15*15 + 20*15 = 250 + 300 + 225 + 300 = 1,075; total 11,575.
#     p = 500 (520 landed > 431.67): trader unused, same plan as without it: 13,250.


def coproduct_workbook(demand_a, demand_b, trader_price=None):
    suppliers = [{"supplier": "Mine", "country": "X", "material": "ore", "capacity_t": None, "unit_cost": 100}]
    lanes = [
        {"from": "Mine", "to": "Plant", "cost_per_t": 5},
        {"from": "Plant", "to": "BuyerA", "cost_per_t": 10},
        {"from": "Plant", "to": "BuyerB", "cost_per_t": 15},
    ]
    if trader_price is not None:
        suppliers.append({"supplier": "TraderB", "country": "X", "material": "B", "capacity_t": None,
                          "unit_cost": trader_price})
        lanes.append({"from": "TraderB", "to": "BuyerB", "cost_per_t": 20})
    return {
        "Suppliers": suppliers,
        "Sites": [{"site": "Plant", "country": "X", "capacity_t": None}],
        "Processes": [
            {"site": "Plant", "process": "split", "input_material": "ore", "output_material": "A",
             "yield": 0.6, "cost_per_t": 20},
            {"site": "Plant", "process": "split", "input_material": "ore", "output_material": "B",
             "yield": 0.3, "cost_per_t": 20},
        ],
        "Demand": [
            {"customer": "BuyerA", "country": "X", "material": "A", "period": "P1", "quantity_t": demand_a},
            {"customer": "BuyerB", "country": "X", "material": "B", "period": "P1", "quantity_t": demand_b},
        ],
        "Lanes": lanes,
    }


@pytest.mark.parametrize("solver", SOLVERS)
def test_coproduct_surplus_is_disposed(solver):
    out = solve(coproduct_workbook(60, 20), solver)
    assert_summary(
        base_summary(out), 13400,
        purchase_cost=10000, processing_cost=2000, freight_cost=1400, stockpile_cost=0, unmet_cost=0,
    )
    flows = base_flows(out)
    assert flow(flows, frm="Mine", to="Plant", material="ore") == approx(100)
    assert flow(flows, frm="Plant", to="BuyerA", material="A") == approx(60)
    assert flow(flows, frm="Plant", to="BuyerB", material="B") == approx(20)  # 10 t of B left over


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize(
    "trader_price, total, purchase, processing, freight, ore_t, plant_b, trader_b",
    [
        (None, 13250, 10000, 2000, 1250, 100, 30, 0),   # no direct B supplier
        (300, 11575, 9500, 1000, 1075, 50, 15, 15),      # cheaper direct B: process cut to A's need
        (500, 13250, 10000, 2000, 1250, 100, 30, 0),     # dearer direct B: not used
    ],
    ids=["no-trader", "cheap-trader", "dear-trader"],
)
def test_coproduct_with_direct_supplier_of_b(solver, trader_price, total, purchase, processing,
                                             freight, ore_t, plant_b, trader_b):
    out = solve(coproduct_workbook(30, 30, trader_price), solver)
    assert_summary(
        base_summary(out), total,
        purchase_cost=purchase, processing_cost=processing, freight_cost=freight, stockpile_cost=0, unmet_cost=0,
    )
    flows = base_flows(out)
    assert flow(flows, frm="Mine", to="Plant", material="ore") == approx(ore_t)
    assert flow(flows, frm="Plant", to="BuyerA", material="A") == approx(30)
    assert flow(flows, frm="Plant", to="BuyerB", material="B") == approx(plant_b)
    assert flow(flows, frm="TraderB", to="BuyerB", material="B") == approx(trader_b)


# --------------------------------------------------------------------------- 5. stockpile floor, unmet demand

# Hand-solved. Periods P1, P2, P3; everything in country AU (no freight).
# Supplier Miner sells Li at 10/t, capacity 100/period, but a P2-only row cuts P2 capacity.
# Customer Cell needs 80 t every period.
# Stockpile Reserve: initial 50, floor (min_level_t) 20, max_release_t as given,
# release_cost 3/t, holding_cost 1/t at the end of each period, no intake (cannot refill).
# Only 50 - 20 = 30 t can ever be released. Releasing (3) is cheaper than buying (10) and
# lowers later holding, so the LP releases early unless a later shortage needs the tonnes.
#
# (a) P2 capacity 50, max_release 40, demand hard everywhere.
#     P2 needs 80 - 50 = 30 from the reserve = everything above the floor, so nothing can be
#     released in P1 or P3. Release 0 / 30 / 0; levels 50 / 20 / 20.
#     purchase 10*(80 + 50 + 80) = 2,100; release 3*30 = 90; holding 1*(50 + 20 + 20) = 90;
#     stockpile cost 180; total 2,280.
# (b) P2 capacity 40, max_release 40, P2 demand row carries unmet_penalty 500 (P1, P3 hard).
#     P2 short 40; the reserve gives 30 (floor binds, not max_release); 10 t unmet.
#     Release 0 / 30 / 0; levels 50 / 20 / 20.
#     purchase 10*(80 + 40 + 80) = 2,000; stockpile 90 + 90 = 180; unmet 500*10 = 5,000;
#     total 7,180.
# (c) P2 capacity 40, max_release 25 (binds), Settings unmet_penalty 500 for all demand.
#     P2: 40 bought + 25 released, 15 t unmet. The other 5 t above the floor are released in
#     P1 (saves 10 - 3 = 7/t of purchase and 1/t of holding in P1 vs releasing in P3).
#     Release 5 / 25 / 0; levels 45 / 20 / 20.
#     purchase 10*(75 + 40 + 80) = 1,950; release 3*30 = 90; holding 45 + 20 + 20 = 85;
#     stockpile 175; unmet 500*15 = 7,500; total 9,625.
# (d) as (a) but P2 capacity 40 and all demand hard: 40 + 30 < 80, infeasible (the floor
#     holds back 20 t that would otherwise close the gap).


def stockpile_workbook(p2_capacity, max_release, p2_penalty=None, default_penalty=None):
    demand = []
    for p in ("P1", "P2", "P3"):
        row = {"customer": "Cell", "country": "AU", "material": "Li", "period": p, "quantity_t": 80,
               "unmet_penalty": None}
        if p == "P2":
            row["unmet_penalty"] = p2_penalty
        demand.append(row)
    sheets = {
        "Periods": [{"period": p} for p in ("P1", "P2", "P3")],
        "Suppliers": [
            {"supplier": "Miner", "country": "AU", "material": "Li", "capacity_t": 100, "unit_cost": 10,
             "period": None},
            {"supplier": "Miner", "country": "AU", "material": "Li", "capacity_t": p2_capacity, "unit_cost": 10,
             "period": "P2"},
        ],
        "Demand": demand,
        "Stockpiles": [
            {"stockpile": "Reserve", "country": "AU", "material": "Li", "initial_t": 50, "capacity_t": None,
             "min_level_t": 20, "max_release_t": max_release, "release_cost": 3, "holding_cost": 1,
             "intake": None},
        ],
    }
    if default_penalty is not None:
        sheets["Settings"] = [{"setting": "unmet_penalty", "value": default_penalty}]
    return sheets


def unmet_rows(out):
    return [r for r in sheet_rows(out, "Unmet")
            if r.get("scenario") == "base" and float(r.get("unmet_t") or 0) > TOL]


@pytest.mark.parametrize("solver", SOLVERS)
def test_stockpile_released_down_to_floor(solver):
    out = solve(stockpile_workbook(p2_capacity=50, max_release=40), solver)
    summary = base_summary(out)
    assert_summary(summary, 2280, purchase_cost=2100, stockpile_cost=180, freight_cost=0, unmet_cost=0)
    assert float(summary["unmet_t"] or 0) == approx(0)
    flows = base_flows(out)
    for period, released, bought in [("P1", 0, 80), ("P2", 30, 50), ("P3", 0, 80)]:
        assert flow(flows, frm="Reserve", period=period) == approx(released), period
        assert flow(flows, frm="Miner", period=period) == approx(bought), period
        assert flow(flows, to="Cell", period=period) == approx(80), period
    assert unmet_rows(out) == []


@pytest.mark.parametrize("solver", SOLVERS)
def test_stockpile_floor_binds_rest_unmet(solver):
    out = solve(stockpile_workbook(p2_capacity=40, max_release=40, p2_penalty=500), solver)
    summary = base_summary(out)
    assert_summary(summary, 7180, purchase_cost=2000, stockpile_cost=180, freight_cost=0, unmet_cost=5000)
    assert float(summary["unmet_t"]) == approx(10)
    flows = base_flows(out)
    for period, released, bought, delivered in [("P1", 0, 80, 80), ("P2", 30, 40, 70), ("P3", 0, 80, 80)]:
        assert flow(flows, frm="Reserve", period=period) == approx(released), period
        assert flow(flows, frm="Miner", period=period) == approx(bought), period
        assert flow(flows, to="Cell", period=period) == approx(delivered), period
    rows = unmet_rows(out)
    assert len(rows) == 1, rows
    row = rows[0]
    assert (row["customer"], row["material"], str(row["period"])) == ("Cell", "Li", "P2")
    assert float(row["unmet_t"]) == approx(10)


@pytest.mark.parametrize("solver", SOLVERS)
def test_stockpile_max_release_binds_default_penalty(solver):
    out = solve(stockpile_workbook(p2_capacity=40, max_release=25, default_penalty=500), solver)
    summary = base_summary(out)
    assert_summary(summary, 9625, purchase_cost=1950, stockpile_cost=175, freight_cost=0, unmet_cost=7500)
    assert float(summary["unmet_t"]) == approx(15)
    flows = base_flows(out)
    for period, released, bought in [("P1", 5, 75), ("P2", 25, 40), ("P3", 0, 80)]:
        assert flow(flows, frm="Reserve", period=period) == approx(released), period
        assert flow(flows, frm="Miner", period=period) == approx(bought), period
    rows = unmet_rows(out)
    assert len(rows) == 1, rows
    assert (rows[0]["customer"], rows[0]["material"], str(rows[0]["period"])) == ("Cell", "Li", "P2")
    assert float(rows[0]["unmet_t"]) == approx(15)


@pytest.mark.parametrize("solver", SOLVERS)
def test_stockpile_floor_makes_hard_demand_infeasible(tmp_path, solver):
    # Exit status 3 (README.md) = plan written, some scenario not optimal.
    out, _ = run_plan(tmp_path, stockpile_workbook(p2_capacity=40, max_release=40), solver, expect_exit=3)
    assert base_summary(out)["status"] == "infeasible"
