"""Infeasible scenarios explained: each fixture's diagnosis names the rule or demand and
the hand-computed amount it must move; applying exactly that makes the plan feasible."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
from click.testing import CliRunner

from planner import api
from planner.cli import main
from wb import frames, make_workbook, read_plan_sheet

CN_ONLY = {
    "Suppliers": [{"supplier": "cn-mine", "country": "CN", "material": "ore",
                   "capacity_t": 1000, "unit_cost": 10}],
    "Demand": [{"customer": "jp-plant", "country": "JP", "material": "ore", "period": "Q1",
                "quantity_t": 100}],
    "Freight": [{"from_country": "CN", "to_country": "JP", "cost_per_t": 5}],
}


def with_(base, **sheets):
    out = copy.deepcopy(base)
    out.update(copy.deepcopy(sheets))
    return out


CASES = {
    # Capacity 60 < demand 100: 40 t short, by hand.
    "demand above capacity": (
        with_(CN_ONLY, Suppliers=[dict(CN_ONLY["Suppliers"][0], capacity_t=60)]),
        {"demand": [("Demand", 0, "quantity_t", 100, 60)]},
        {"rules": [("Demand", 0, "quantity_t", 100, 60)]},
    ),
    # Only China supplies: a 65% cap on China holds only with zero volume, so either all
    # 100 t go unmet, or the cap must be 100%.
    "share cap with one country": (
        with_(CN_ONLY, Limits=[{"rule": "CRMA 65", "material": "ore", "stage": "supply",
                                "by": "country", "member": "CN", "max_share": 0.65}]),
        {"demand": [("Demand", 0, "quantity_t", 100, 0)]},
        {"rules": [("Limits", 0, "max_share", 0.65, 1.0)]},
    ),
    # The ban closes the only route: all 100 t unmet, or the ban must allow 100 t.
    "ban cuts the only route": (
        with_(CN_ONLY, Restrictions=[{"rule": "export ban", "type": "ban", "from": "CN"}]),
        {"demand": [("Demand", 0, "quantity_t", 100, 0)]},
        {"rules": [("Restrictions", 0, "max_t", 0, 100)]},  # applied as a quota
    ),
    # Quota 60 t on the only route: 40 t unmet, or the quota must rise to 100 t.
    "quota too small": (
        with_(CN_ONLY, Restrictions=[{"rule": "licence", "type": "quota", "from": "CN",
                                      "to": "JP", "max_t": 60}]),
        {"demand": [("Demand", 0, "quantity_t", 100, 60)]},
        {"rules": [("Restrictions", 0, "max_t", 60, 100)]},
    ),
    # Reserve starts at 50 with a floor of 80; refill is at most 20 t a period, so at the
    # end of Q1 the level is at most 70: the Q1 floor must fall by 10 t; Q2 reaches 90.
    "stockpile floor above refill": (
        with_(CN_ONLY,
              Suppliers=[{"supplier": "jp-mine", "country": "JP", "material": "ore",
                          "capacity_t": 20, "unit_cost": 10}],
              Demand=[{"customer": "jp-plant", "country": "JP", "material": "ore",
                       "period": p, "quantity_t": 0} for p in ("Q1", "Q2")],
              Stockpiles=[{"stockpile": "reserve", "country": "JP", "material": "ore",
                           "initial_t": 50, "min_level_t": 80, "intake": "yes"}]),
        {"demand": [("Stockpiles", 0, "min_level_t", 80, 70)]},
        {"rules": [("Stockpiles", 0, "min_level_t", 80, 70)]},
    ),
}


def _run(inp, out, *extra):
    return CliRunner().invoke(main, ["run", str(inp), "-o", str(out), "--jobs", "1", *extra])


@pytest.mark.parametrize("relax_first", ["demand", "rules"])
@pytest.mark.parametrize("case", list(CASES))
def test_diagnosis_names_the_rule_and_the_amount(tmp_path, case, relax_first):
    sheets, *expectations = CASES[case]
    expected = {k: v for e in expectations for k, v in e.items()}[relax_first]
    inp = make_workbook(tmp_path / "in.xlsx", sheets)
    out = tmp_path / "plan.xlsx"
    result = _run(inp, out, "--relax-first", relax_first)
    assert result.exit_code == 3, result.output
    assert read_plan_sheet(out, "Summary")[0]["status"] == "infeasible"
    found = [d for d in read_plan_sheet(out, "Diagnosis") if d["kind"] == "relaxation"]
    assert len(found) == len(expected), found
    fixed = copy.deepcopy(sheets)
    for d, (sheet, row, column, current, needed) in zip(found, expected):
        assert d["current"] == pytest.approx(current) and d["needed"] == pytest.approx(needed)
        assert d["explanation"] in result.output
        fixed[sheet][row][column] = d["needed"]  # apply exactly what the diagnosis says
        if fixed[sheet][row].get("type") == "ban":
            fixed[sheet][row]["type"] = "quota"  # "make it a quota of at least ..."
    fixed_in = make_workbook(tmp_path / "fixed.xlsx", fixed)
    again = _run(fixed_in, tmp_path / "fixed-plan.xlsx")
    assert again.exit_code == 0, again.output


# When a rule takes part, both ways out, by hand (the amounts of CASES): the rule first when
# the shortfall would be the whole demand or rules are relaxed first.
BOTH_WAYS = {
    "share cap with one country": (
        "either loosen CRMA 65 to 100%, or accept a shortfall of 100.00 t (jp-plant ore)",) * 2,
    "ban cuts the only route": (
        "either lift export ban (or make it a quota of 100.00 t), or accept a shortfall of "
        "100.00 t (jp-plant ore)",) * 2,
    "quota too small": (
        "either accept a shortfall of 40.00 t (jp-plant ore), or raise licence to 100.00 t",
        "either raise licence to 100.00 t, or accept a shortfall of 40.00 t (jp-plant ore)"),
}


@pytest.mark.parametrize("relax_first", ["demand", "rules"])
@pytest.mark.parametrize("case", list(CASES))
def test_when_a_rule_is_in_the_way_both_ways_out_are_given(tmp_path, case, relax_first):
    out = tmp_path / "plan.xlsx"
    result = _run(make_workbook(tmp_path / "in.xlsx", CASES[case][0]), out,
                  "--relax-first", relax_first)
    rows = [d for d in read_plan_sheet(out, "Diagnosis") if d["kind"] == "either"]
    if case not in BOTH_WAYS:  # no rule involved: capacity, or a floor in both orders
        assert rows == []
        return
    expected = BOTH_WAYS[case][relax_first == "rules"]
    assert [r["explanation"] for r in rows] == [f"Rules are in the way: {expected}."]
    assert expected in result.output


def test_diagnosis_sentences_are_in_the_buyers_words(tmp_path):
    sheets = CASES["share cap with one country"][0]
    out = tmp_path / "plan.xlsx"
    result = _run(make_workbook(tmp_path / "in.xlsx", sheets), out, "--relax-first", "rules")
    assert "CRMA 65 (supply, CN) for ore in Q1 would need 100% instead of 65%" in result.output
    sheets = CASES["demand above capacity"][0]
    result = _run(make_workbook(tmp_path / "in2.xlsx", sheets), out)
    assert "jp-plant ore in Q1 can receive at most 60.00 t of 100.00 t" in result.output
    sheets = CASES["quota too small"][0]
    result = _run(make_workbook(tmp_path / "in3.xlsx", sheets), out, "--relax-first", "rules")
    assert "quota licence in Q1 must allow 40.00 t more (100.00 t instead of 60.00 t)" \
        in result.output


def test_a_closed_route_is_reported_as_the_structural_cause_first(tmp_path):
    sheets = CASES["ban cuts the only route"][0]
    out = tmp_path / "plan.xlsx"
    _run(make_workbook(tmp_path / "in.xlsx", sheets), out)
    rows = read_plan_sheet(out, "Diagnosis")
    assert rows[0]["kind"] == "structural"
    assert rows[0]["explanation"] == "Every route of ore to jp-plant in Q1 is closed by export ban."


def test_a_ban_leaves_the_domestic_leg_so_no_structural_cause(tmp_path):
    sheets = with_(CASES["ban cuts the only route"][0], Suppliers=[
        CN_ONLY["Suppliers"][0],
        {"supplier": "jp-mine", "country": "JP", "material": "ore", "capacity_t": 30,
         "unit_cost": 50}])
    out = tmp_path / "plan.xlsx"
    _run(make_workbook(tmp_path / "in.xlsx", sheets), out)
    rows = read_plan_sheet(out, "Diagnosis")
    assert [r["kind"] for r in rows] == ["either", "alternative", "relaxation"]
    assert rows[2]["needed"] == pytest.approx(30)  # only the Japanese mine's 30 t arrive
    assert rows[1]["needed"] == pytest.approx(70)  # or the ban lets the other 70 t through


def test_a_rule_a_best_effort_plan_breaks_shows_no_shadow_price(tmp_path):
    """Rules relaxed first, the 60 t quota is broken to deliver all 100 t: on Limits its
    level, 100 t, is past its bound, and it has no shadow price (the relaxed row's dual is
    the price of breaking it, not a cost per t of the quota; it showed as one)."""
    out = tmp_path / "plan.xlsx"
    result = _run(make_workbook(tmp_path / "in.xlsx", CASES["quota too small"][0]), out,
                  "--best-effort", "--relax-first", "rules")
    assert result.exit_code == 3, result.output
    [row] = [r for r in read_plan_sheet(out, "Limits") if r["rule"] == "licence"]
    assert (row["level"], row["bound"]) == (pytest.approx(100), pytest.approx(60))
    assert row["shadow_price"] is None


def test_best_effort_lists_no_sliver_its_least_cost_phase_gives_up():
    """Both offtakes taken (as the diagnosis takes options), C's take-or-pay 600 t in P2
    meets a demand of 50 t: its minimum must fall by 550 t, the one item. The least-cost
    phase may add violation up to the solver's precision; it spent it on 5e-5 t of P1's
    demand (cheaper to leave than to buy), listed as a second item "K can receive at most
    999.9999 t of 1,000.0000 t", and the plan left it undelivered."""
    sheets = {
        "Suppliers": [
            {"supplier": "A", "country": "AU", "material": "ore", "capacity_t": 300,
             "unit_cost": 10},
            {"supplier": "B", "country": "AU", "material": "ore", "capacity_t": 500,
             "unit_cost": 12},
            {"supplier": "C", "country": "AU", "material": "ore", "capacity_t": 600,
             "unit_cost": 11, "min_t": 600}],
        "Demand": [{"customer": "K", "country": "JP", "material": "ore", "period": p,
                    "quantity_t": q} for p, q in (("P1", 1000), ("P2", 50))],
        "Freight": [{"from_country": "AU", "to_country": "JP", "cost_per_t": 1}],
        "Options": [{"option": f"sign {s}", "kind": "supplier", "node": s, "material": "ore",
                     "fixed_cost": 1000} for s in ("B", "C")],
    }
    plan = api.plan(frames(sheets), best_effort=True)
    found = plan["Diagnosis"][plan["Diagnosis"]["kind"] == "relaxation"]
    assert list(zip(found["rule"], found["needed"])) == [("min_t C", pytest.approx(50))]
    # The plan delivers all demand: P1 600 t from C at 11, 300 from A at 10, 100 from B at
    # 12; P2 C's 50 t; freight 1/t; both offtakes 1,000: 10,800 + 550 + 1,050 + 2,000.
    summary = plan["Summary"].iloc[0]
    assert summary["unmet_t"] == 0 and summary["total_cost"] == pytest.approx(14_400, rel=1e-9)


def test_an_exclude_in_the_way_is_to_be_lifted_and_its_tonnes_say_what_they_count(tmp_path):
    """Chinese ore reaches Japan only through the refinery r1 (yield 1), which an exclude
    keeps out: 100 t would pass through it, counted once received and once shipped. The
    diagnosis says so and asks to lift the rule; it does not offer a quota (a quota is a
    cap from one place to another, not on a node), nor call 200 t the tonnes needed."""
    sheets = with_(CN_ONLY,
                   Sites=[{"site": "r1", "country": "AU", "capacity_t": None}],
                   Processes=[{"site": "r1", "input_material": "ore",
                               "output_material": "oxide", "yield": 1, "cost_per_t": 1}],
                   Demand=[dict(CN_ONLY["Demand"][0], material="oxide")],
                   Freight=[{"from_country": a, "to_country": b, "cost_per_t": 1}
                            for a, b in (("CN", "AU"), ("AU", "JP"))],
                   Restrictions=[{"rule": "no r1", "type": "exclude", "from": "r1"}])
    out = tmp_path / "plan.xlsx"
    result = _run(make_workbook(tmp_path / "in.xlsx", sheets), out, "--relax-first", "rules")
    assert result.exit_code == 3, result.output
    [row] = [d for d in read_plan_sheet(out, "Diagnosis") if d["kind"] == "relaxation"]
    assert row["needed"] == pytest.approx(200)
    assert row["explanation"] == ("exclude no r1 in Q1 keeps out nodes the plan needs "
                                  "(200.00 t they would ship and receive): lift it")
    assert "quota" not in result.output


def test_best_effort_writes_the_least_bad_plan(tmp_path):
    sheets = CASES["quota too small"][0]
    out = tmp_path / "plan.xlsx"
    result = _run(make_workbook(tmp_path / "in.xlsx", sheets), out, "--best-effort")
    assert result.exit_code == 3
    summary = read_plan_sheet(out, "Summary")[0]
    assert summary["status"] == "infeasible"
    assert "best-effort" in read_plan_sheet(out, "Run info")[0]["message"]
    # 60 t through the quota at 10 + 5: cost 900, by hand; the other 40 t are the violation.
    assert summary["total_cost"] == pytest.approx(900)
    flows = read_plan_sheet(out, "Flows")
    assert [(f["from"], f["to"], f["quantity_t"]) for f in flows] == \
        [("cn-mine", "jp-plant", 60)]
    # The hard demand the plan gives up is undelivered demand on the Summary as on Unmet
    # (the Summary counted only demand with an unmet column, and said 0).
    assert summary["unmet_t"] == pytest.approx(40)
    assert [r["unmet_t"] for r in read_plan_sheet(out, "Unmet")] == [pytest.approx(40)]


def test_feasible_scenarios_next_to_an_infeasible_one_are_unaffected(tmp_path):
    sheets = with_(CN_ONLY, Restrictions=[{"rule": "export ban", "type": "ban", "from": "CN",
                                           "scenario": "embargo"}])
    out = tmp_path / "plan.xlsx"
    result = _run(make_workbook(tmp_path / "in.xlsx", sheets), out)
    assert result.exit_code == 3
    summary = {r["scenario"]: r for r in read_plan_sheet(out, "Summary")}
    assert summary["base"]["status"] == "optimal" and summary["base"]["total_cost"] == 1500
    assert summary["embargo"]["status"] == "infeasible"
    assert {d["scenario"] for d in read_plan_sheet(out, "Diagnosis")} == {"embargo"}


def test_a_period_with_zero_capacity_is_reported_as_the_structural_cause(tmp_path):
    sheets = with_(CN_ONLY, Suppliers=[
        CN_ONLY["Suppliers"][0],
        dict(CN_ONLY["Suppliers"][0], capacity_t=0, period="Q2")],
        Demand=[dict(CN_ONLY["Demand"][0], period=p) for p in ("Q1", "Q2")])
    out = tmp_path / "plan.xlsx"
    result = _run(make_workbook(tmp_path / "in.xlsx", sheets), out)
    assert result.exit_code == 3
    rows = read_plan_sheet(out, "Diagnosis")
    assert rows[0]["explanation"] == ("Every source that ships ore to jp-plant has zero capacity "
                                      "in Q2: cn-mine.")
    assert [(r["period"], r["needed"]) for r in rows[1:]] == [("Q2", 0)]


# HiGHS only: CBC checks its clock coarsely and may prove the optimum anyway (a 90,000-
# variable LP with a 0.2 s limit came back optimal from CBC, time-limited from HiGHS).
@pytest.mark.parametrize("solver", ["highs"])
def test_a_time_limit_is_reported_as_such_with_advice_and_no_plan(tmp_path, solver):
    example = Path(__file__).resolve().parents[1] / "inputs" / "example.xlsx"
    out = tmp_path / "plan.xlsx"
    result = _run(example, out, "--scenario", "base", "--solver", solver,
                  "--time-limit", "0.000001")
    assert result.exit_code == 3, result.output
    summary = read_plan_sheet(out, "Summary")[0]
    assert summary["status"] == "time_limit" and summary["total_cost"] is None
    assert read_plan_sheet(out, "Flows") == []  # never values from a stopped solver
    advice = read_plan_sheet(out, "Diagnosis")
    assert [a["kind"] for a in advice] == ["advice"]
    assert "larger --time-limit" in advice[0]["explanation"]


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_a_model_with_nothing_to_decide_is_settled_without_the_solver(tmp_path, solver):
    # No freight from AU to JP: no arc at all. Hard demand of 5 t cannot be met; 0 t can.
    for quantity, code, status in ((5, 3, "infeasible"), (0, 0, "optimal")):
        sheets = with_(CN_ONLY, Freight=[], Demand=[dict(CN_ONLY["Demand"][0],
                                                         quantity_t=quantity)])
        out = tmp_path / f"plan{quantity}.xlsx"
        result = _run(make_workbook(tmp_path / f"in{quantity}.xlsx", sheets), out,
                      "--solver", solver)
        assert result.exit_code == code, result.output
        assert read_plan_sheet(out, "Summary")[0]["status"] == status
    assert read_plan_sheet(tmp_path / "plan0.xlsx", "Summary")[0]["total_cost"] == 0
    diagnosis = read_plan_sheet(tmp_path / "plan5.xlsx", "Diagnosis")
    assert [d["kind"] for d in diagnosis] == ["structural", "structural", "relaxation"]
    assert diagnosis[0]["explanation"] == ("No Freight row (nor Lanes cost) CN -> JP: "
                                           "cn-mine's ore cannot reach jp-plant.")
    assert "there is no route" in diagnosis[1]["explanation"]
    assert diagnosis[2]["needed"] == 0  # jp-plant can receive at most 0 t of 5 t


def test_amounts_in_one_sentence_print_as_different_numbers():
    from planner.headlines import figures

    assert figures(60, 100) == ["60.00", "100.00"]  # ordinary amounts keep two decimals
    assert figures(999_999.999, 1_000_000) == ["999,999.999", "1,000,000.000"]
    assert figures(0.001, 1_000_000.001, 1_000_000) == ["0.001", "1,000,000.001",
                                                        "1,000,000.000"]
    assert figures(0.0004, 5) == ["0.0004", "5.0000"]  # a nonzero gap never reads 0.00
    # Solver dust below the plan's 6 decimals does not ask for more digits.
    assert figures(999_999.999 + 2e-10, 1_000_000) == ["999,999.999", "1,000,000.000"]


def test_a_small_shortfall_on_a_large_demand_is_shown_exactly(tmp_path):
    # Demand 1,000,000 t, capacity 999,999.999 t, no unmet penalty: 0.001 t short, by hand.
    sheets = with_(CN_ONLY, Suppliers=[dict(CN_ONLY["Suppliers"][0], capacity_t=999_999.999)],
                   Demand=[dict(CN_ONLY["Demand"][0], quantity_t=1_000_000)])
    out = tmp_path / "plan.xlsx"
    result = _run(make_workbook(tmp_path / "in.xlsx", sheets), out)
    assert result.exit_code == 3, result.output
    sentence = "jp-plant ore in Q1 can receive at most 999,999.999 t of 1,000,000.000 t"
    assert sentence in result.output
    found = [d for d in read_plan_sheet(out, "Diagnosis") if d["kind"] == "relaxation"]
    assert [d["explanation"] for d in found] == [sentence]
    assert found[0]["needed"] == pytest.approx(999_999.999, abs=1e-6)
    # A quota 0.001 t short of the same demand, rules relaxed first: it must allow 0.001 t more.
    sheets = with_(CN_ONLY, Demand=[dict(CN_ONLY["Demand"][0], quantity_t=1_000_000)],
                   Suppliers=[dict(CN_ONLY["Suppliers"][0], capacity_t=2_000_000)],
                   Restrictions=[{"rule": "licence", "type": "quota", "from": "CN", "to": "JP",
                                  "max_t": 999_999.999}])
    result = _run(make_workbook(tmp_path / "in2.xlsx", sheets), tmp_path / "plan2.xlsx",
                  "--relax-first", "rules")
    assert result.exit_code == 3, result.output
    assert ("quota licence in Q1 must allow 0.001 t more (1,000,000.000 t instead of "
            "999,999.999 t)") in result.output


# A Chilean and an Australian mine sell spodumene to a refinery in Australia, which makes
# LiOH (yield 0.15) for a Japanese plant; Freight knows AU -> JP but not CL -> AU.
ROUTES = {
    "Suppliers": [{"supplier": "Greenbushes", "country": "AU", "material": "spodumene",
                   "capacity_t": 500, "unit_cost": 900},
                  {"supplier": "Atacama", "country": "CL", "material": "spodumene",
                   "capacity_t": 1000, "unit_cost": 700}],
    "Sites": [{"site": "Kwinana", "country": "AU", "capacity_t": None}],
    "Processes": [{"site": "Kwinana", "input_material": "spodumene", "output_material": "LiOH",
                   "yield": 0.15, "cost_per_t": 100}],
    "Freight": [{"from_country": "AU", "to_country": "JP", "cost_per_t": 50}],
    "Demand": [{"customer": "Osaka", "country": "JP", "material": "LiOH", "period": "2027",
                "quantity_t": 60}],
}


def test_a_missing_freight_row_is_named_in_validate_and_run(tmp_path):
    inp = make_workbook(tmp_path / "in.xlsx", ROUTES)
    for args in (["validate", str(inp)], ["run", str(inp), "-o", str(tmp_path / "p.xlsx")]):
        result = CliRunner().invoke(main, args)
        assert ("sheet Suppliers, row 3, column material (C): no Freight row (nor Lanes "
                "cost) CL -> AU: Atacama's spodumene cannot reach Kwinana") in result.output
    # 60 t of LiOH need 400 t of spodumene: Greenbushes alone, 400 x 1,000 + 60 x 50
    assert result.exit_code == 0
    assert read_plan_sheet(tmp_path / "p.xlsx", "Summary")[0]["total_cost"] == 403_000


def test_a_missing_route_comes_first_among_the_structural_causes(tmp_path):
    sheets = copy.deepcopy(ROUTES)
    sheets["Demand"][0]["quantity_t"] = 90  # 600 t of spodumene: more than Greenbushes has
    inp = make_workbook(tmp_path / "in.xlsx", sheets)
    result = CliRunner().invoke(main, ["run", str(inp), "-o", str(tmp_path / "p.xlsx")])
    assert result.exit_code == 3, result.output
    diagnosis = read_plan_sheet(tmp_path / "p.xlsx", "Diagnosis")
    assert diagnosis[0]["kind"] == "structural"
    assert diagnosis[0]["explanation"] == ("No Freight row (nor Lanes cost) CL -> AU: "
                                           "Atacama's spodumene cannot reach Kwinana.")
    # and the shortfall itself, by hand: 500 t x 0.15 = 75 t of the 90 t
    assert any("at most 75.00 t of 90.00 t" in str(d["explanation"]) for d in diagnosis)
