"""Cost of diversification: the frontier against hand-computed curves."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.cli import main
from wb import make_workbook, read_plan_sheet

# China sells at 10 without limit, Australia at 20 up to 30 t; Japan needs 100 t a period.
# With China's share capped at c: CN = 100c, AU = 100(1 - c) <= 30, so the plan is feasible
# iff c >= 0.7 and costs 10*100c + 20*100(1 - c) = 2000 - 1000c per period, by hand.
TWO = {
    "Suppliers": [{"supplier": "cn-mine", "country": "CN", "material": "ore",
                   "capacity_t": None, "unit_cost": 10},
                  {"supplier": "au-mine", "country": "AU", "material": "ore",
                   "capacity_t": 30, "unit_cost": 20}],
    "Demand": [{"customer": "jp", "country": "JP", "material": "ore", "period": p,
                "quantity_t": 100} for p in ("Q1", "Q2")],
    "Freight": [{"from_country": c, "to_country": "JP", "cost_per_t": 0} for c in ("CN", "AU")],
    "Groups": [{"group": "FEOC", "country": "CN"}, {"group": "FEOC", "country": "RU"}],
}


def _frontier(tmp_path, sheets, *args, exit_code=0):
    inp = make_workbook(tmp_path / "in.xlsx", sheets)
    out = tmp_path / "frontier.xlsx"
    result = CliRunner().invoke(main, ["frontier", str(inp), "-o", str(out), "--jobs", "1",
                                       *args])
    assert result.exit_code == exit_code, result.output
    return result, read_plan_sheet(out, "Frontier")


def test_two_supplier_frontier_is_the_hand_computed_line(tmp_path):
    result, rows = _frontier(tmp_path, TWO, "--material", "ore", "--stage", "supply",
                             "--member", "CN", "--from", "1", "--to", "0.25", "--steps", "4")
    sweep = [r for r in rows if r["point"] == "sweep"]
    assert [r["cap"] for r in sweep] == [1, 0.75, 0.5, 0.25]
    assert [r["status"] for r in sweep] == ["optimal", "optimal", "infeasible", "infeasible"]
    assert sweep[0]["total_cost"] == pytest.approx(2 * (2000 - 1000 * 1.0))
    assert sweep[1]["total_cost"] == pytest.approx(2 * (2000 - 1000 * 0.75))
    assert sweep[1]["cost_increase"] == pytest.approx(500)
    # 500 over 25 percentage points
    assert sweep[1]["marginal_cost_per_pt"] == pytest.approx(20)
    assert sweep[1]["member_share"] == pytest.approx(0.75)
    assert sweep[1]["hhi"] == pytest.approx(75 ** 2 + 25 ** 2)
    tightest = [r for r in rows if r["point"].startswith("tightest")]
    assert tightest and tightest[0]["cap"] == pytest.approx(0.7, abs=1e-4)
    assert tightest[0]["total_cost"] == pytest.approx(2 * (2000 - 1000 * 0.7), abs=0.5)
    assert "tightest cap that holds: 70%" in result.output


def test_combined_members_and_groups_cap_together(tmp_path):
    sheets = dict(TWO, Suppliers=TWO["Suppliers"] + [
        {"supplier": "ru-mine", "country": "RU", "material": "ore", "capacity_t": None,
         "unit_cost": 12}])
    # CN and RU together may ship at most c of 100 t: the same line as above, RU unused.
    for args in (["--member", "CN", "--member", "RU"], ["--by", "group", "--member", "FEOC"]):
        _, rows = _frontier(tmp_path, sheets, "--material", "ore", "--stage", "supply",
                            "--from", "0.9", "--to", "0.8", "--steps", "2", *args)
        assert [r["total_cost"] for r in rows] == pytest.approx([2 * 1100, 2 * 1200])


def test_unknown_material_is_a_usage_error(tmp_path):
    inp = make_workbook(tmp_path / "in.xlsx", TWO)
    result = CliRunner().invoke(main, ["frontier", str(inp), "--material", "gold"])
    assert result.exit_code == 2 and "no supplier, process or stockpile provides 'gold'" \
        in result.output


@st.composite
def instances(draw):
    suppliers = [{"supplier": f"s{i}", "country": draw(st.sampled_from(["AU", "CN", "CL"])),
                  "material": "ore", "capacity_t": draw(st.integers(20, 120)),
                  "unit_cost": draw(st.integers(1, 40))} for i in range(draw(st.integers(2, 5)))]
    demand = [{"customer": "jp", "country": "JP", "material": "ore", "period": "Q1",
               "quantity_t": draw(st.integers(10, 60)), "unmet_penalty": 1000}]
    freight = [{"from_country": c, "to_country": "JP", "cost_per_t": draw(st.integers(0, 9))}
               for c in ("AU", "CN", "CL")]
    return {"Suppliers": suppliers, "Demand": demand, "Freight": freight}


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sheets=instances(), by=st.sampled_from(["country", "node"]))
def test_cost_never_falls_as_the_cap_tightens(tmp_path_factory, sheets, by):
    folder = tmp_path_factory.mktemp("f")
    _, rows = _frontier(folder, sheets, "--material", "ore", "--stage", "supply", "--by", by,
                        "--from", "1", "--to", "0.2", "--steps", "5")
    costs = [r["total_cost"] for r in rows if r["point"] == "sweep"]
    assert all(c is not None for c in costs)  # unmet demand is penalised, never infeasible
    assert all(b >= a - 1e-6 * max(1.0, abs(a)) for a, b in zip(costs, costs[1:]))


def test_frontier_workbook_has_cost_and_hhi_curves_over_the_sweep(tmp_path):
    import openpyxl

    _frontier(tmp_path, TWO, "--material", "ore", "--stage", "supply", "--member", "CN",
              "--from", "1", "--to", "0.25", "--steps", "4")
    ws = openpyxl.load_workbook(tmp_path / "frontier.xlsx")["Frontier"]
    header = next(r for r in range(1, 10) if ws.cell(r, 1).value == "scenario")
    cols = {ws.cell(header, c).value: openpyxl.utils.get_column_letter(c)
            for c in range(1, ws.max_column + 1)}
    charts = ws._charts
    assert len(charts) == 2
    # The sheet name may be quoted or not ('Frontier'!$C$3 and Frontier!$C$3 are the same).
    refs = [(s.xVal.numRef.f.replace("'", ""), s.yVal.numRef.f.replace("'", ""))
            for chart in charts for s in chart.series]
    first, last = header + 1, header + 4  # the four sweep points, not the bisection row
    assert refs == [
        (f"Frontier!${cols['cap']}${first}:${cols['cap']}${last}",
         f"Frontier!${cols['total_cost']}${first}:${cols['total_cost']}${last}"),
        (f"Frontier!${cols['cap']}${first}:${cols['cap']}${last}",
         f"Frontier!${cols['hhi']}${first}:${cols['hhi']}${last}")]


def test_the_point_where_the_curve_turns_steep_is_marked(tmp_path):
    # China 10, Australia 12 (30 t at most), Chile 30; 100 t. With China capped at c:
    # c >= 0.7: cost 1000c + 1200(1 - c) = 1200 - 200c (2 per point);
    # c < 0.7: Australia full, Chile the rest: 1000c + 360 + 30(70 - 100c) = 2460 - 2000c
    # (20 per point), by hand. The kink is at 0.7, so the step to 0.6 turns steep.
    sheets = {
        "Suppliers": [
            {"supplier": "cn", "country": "CN", "material": "ore", "capacity_t": None,
             "unit_cost": 10},
            {"supplier": "au", "country": "AU", "material": "ore", "capacity_t": 30,
             "unit_cost": 12},
            {"supplier": "cl", "country": "CL", "material": "ore", "capacity_t": None,
             "unit_cost": 30}],
        "Demand": [{"customer": "jp", "country": "JP", "material": "ore", "period": "Q1",
                    "quantity_t": 100}],
        "Freight": [{"from_country": c, "to_country": "JP", "cost_per_t": 0}
                    for c in ("CN", "AU", "CL")],
    }
    _, rows = _frontier(tmp_path, sheets, "--material", "ore", "--stage", "supply",
                        "--member", "CN", "--from", "1", "--to", "0.4", "--steps", "7")
    expected = {c: (1200 - 200 * c if c >= 0.7 else 2460 - 2000 * c)
                for c in (1, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4)}
    assert {r["cap"]: r["total_cost"] for r in rows} == pytest.approx(expected)
    assert [r["marginal_cost_per_pt"] for r in rows] == pytest.approx(
        [None, 2, 2, 2, 20, 20, 20])
    assert [r["cap"] for r in rows if r["note"] == "turns steep here"] == [0.6]


def test_a_stage_with_no_tonnes_says_so(tmp_path):
    result, rows = _frontier(tmp_path, TWO, "--material", "ore", "--stage", "processing",
                             "--from", "1", "--to", "0.5", "--steps", "2")
    assert rows[0]["note"] == "no tonnes of ore at the processing stage: the cap has nothing " \
                              "to act on"
    assert "no cap from 100% down to 50% holds" in result.output


def test_a_sweep_that_never_stops_holding_says_so(tmp_path):
    # Unlimited Chinese and Australian ore: every cap on China holds, down to 0%; nothing
    # tighter was tried, so no tightest cap is claimed.
    sheets = dict(TWO, Suppliers=[dict(TWO["Suppliers"][0]),
                                  dict(TWO["Suppliers"][1], capacity_t=None)])
    result, rows = _frontier(tmp_path, sheets, "--material", "ore", "--stage", "supply",
                             "--member", "CN", "--from", "0.3", "--to", "0", "--steps", "4")
    assert [r["status"] for r in rows] == ["optimal"] * 4
    assert "every cap down to 0% holds (the sweep did not go tighter" in result.output
    assert "tightest cap that holds" not in result.output


def test_caps_that_leave_demand_unmet_do_not_hold(tmp_path):
    # As TWO, but demand is soft (penalty 100/t): under a cap c < 0.7 the plan stays optimal
    # and delivers at most AU / (1 - c) = 30 / (1 - c) t a period (China ships c of it):
    # at 20%, 37.5 t, so 62.5 t a period are unmet, 125 t over two periods.
    sheets = dict(TWO, Demand=[dict(d, unmet_penalty=100) for d in TWO["Demand"]])
    result, rows = _frontier(tmp_path, sheets, "--material", "ore", "--stage", "supply",
                             "--member", "CN", "--from", "1", "--to", "0.2", "--steps", "5")
    sweep = {r["cap"]: r for r in rows if r["point"] == "sweep"}
    assert sweep[0.2]["status"] == "optimal" and sweep[0.2]["unmet_t"] == pytest.approx(125)
    assert sweep[0.2]["note"].startswith("leaves 125.0 t of demand unmet")
    assert sweep[0.8]["unmet_t"] == 0 and sweep[0.8]["note"] in (None, "turns steep here")
    # the tightest cap that meets all demand, by bisection between 0.6 and 0.8: 70%
    assert "tightest cap that holds: 70%" in result.output
    tightest = [r for r in rows if r["point"].startswith("tightest")]
    assert tightest[0]["cap"] == pytest.approx(0.7, abs=1e-4)


def _stop_the_solver_at(monkeypatch, *points: str) -> None:
    """Make the frontier's solves of the named points (e.g. "cap 50%") come back stopped
    by a time limit, without a plan; every other point is solved as usual."""
    from planner import frontier as frontier_module

    real = frontier_module.run_tasks

    def stopped(tasks, *args, **kwargs):
        results, start = real(tasks, *args, **kwargs)
        for (name, _, _), (report, _) in zip(tasks, results):
            if name in points:
                report.status, report.costs = "time_limit", {}
        return results, start

    monkeypatch.setattr(frontier_module, "run_tasks", stopped)


def test_points_the_solver_did_not_finish_neither_hold_nor_fail(tmp_path, monkeypatch):
    """As the hand-computed line, but the solver is stopped (time_limit, no plan) at the
    50% and 25% caps, which are infeasible: nothing proves where caps stop holding, so no
    bisection towards them and no "first infeasible cap"; each says it was not solved, the
    verdict counts them, exit status 3 (they were called infeasible, exit 0)."""
    _stop_the_solver_at(monkeypatch, "cap 50%", "cap 25%")
    result, rows = _frontier(tmp_path, TWO, "--material", "ore", "--stage", "supply",
                             "--member", "CN", "--from", "1", "--to", "0.25", "--steps", "4",
                             exit_code=3)
    assert [r["point"] for r in rows] == ["sweep"] * 4
    assert [r["status"] for r in rows] == ["optimal", "optimal", "time_limit", "time_limit"]
    assert [r["note"] for r in rows][2:] == ["not solved (time_limit): neither holds nor fails"] * 2
    assert "every cap down to 75% holds" in result.output
    assert "the solver did not finish 2 points" in result.output


def test_a_bisection_step_the_solver_did_not_finish_is_shown_and_counted(tmp_path,
                                                                         monkeypatch):
    """The hand-computed line holds down to 70%: the sweep finds 75% holding and 50%
    infeasible, and bisects. Its first step, 62.5%, is stopped (time_limit): the search
    ends there, and that point is a row of its own, counted by the verdict and the exit
    status (it was dropped: exit 0, 'tightest cap that holds: 75%' and nothing else)."""
    _stop_the_solver_at(monkeypatch, "cap 62.5%")
    result, rows = _frontier(tmp_path, TWO, "--material", "ore", "--stage", "supply",
                             "--member", "CN", "--from", "1", "--to", "0.25", "--steps", "4",
                             exit_code=3)
    assert [(r["point"], r["cap"], r["status"]) for r in rows][4:] == \
        [("bisection (not finished)", 0.625, "time_limit")]
    assert rows[4]["note"] == "not solved (time_limit): neither holds nor fails"
    assert "tightest cap that holds: 75%; the solver did not finish 1 point" in result.output


def test_a_sweep_infeasible_at_every_cap_exits_3(tmp_path):
    """Japan needs 500 t a period and the two mines sell at most 100 + 30 with hard demand:
    infeasible whatever the cap, the loosest too. The frontier is written, and says so
    with exit status 3 (it exited 0)."""
    sheets = dict(TWO, Demand=[dict(d, quantity_t=500) for d in TWO["Demand"]],
                  Suppliers=[dict(TWO["Suppliers"][0], capacity_t=100), TWO["Suppliers"][1]])
    _, rows = _frontier(tmp_path, sheets, "--material", "ore", "--stage", "supply",
                        "--member", "CN", "--from", "1", "--to", "0.5", "--steps", "2",
                        exit_code=3)
    assert [r["status"] for r in rows] == ["infeasible"] * 2


def test_caps_are_percentages_on_the_terminal_the_sheet_and_its_summary(tmp_path):
    import openpyxl

    result, _ = _frontier(tmp_path, TWO, "--material", "ore", "--stage", "supply",
                          "--member", "CN", "--from", "1", "--to", "0.25", "--steps", "4")
    assert "75.00%" in result.output
    book = openpyxl.load_workbook(tmp_path / "frontier.xlsx")
    summary = [r for r in read_plan_sheet(tmp_path / "frontier.xlsx", "Summary")]
    assert [r["scenario"] for r in summary][:4] == ["cap 100%", "cap 75%", "cap 50%", "cap 25%"]
    ws = book["Frontier"]
    header = next(r for r in range(1, 10) if ws.cell(r, 1).value == "scenario")
    cap = [c for c in range(1, ws.max_column + 1) if ws.cell(header, c).value == "cap"][0]
    assert ws.cell(header + 1, cap).number_format.endswith("%")
    assert "swept from 100% to 25%" in str(ws.cell(1, 1).value)
