"""Solves that start from another optimum (a scenario from base's, a frontier point from the
loosest cap's, a rule's total cost from the plan's own optimum on the same HiGHS instances)
give what a solve from scratch gives: the same values and duals on the shipped example."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from planner.frontier import Sweep, _point, _with_cap
from planner.inputs import BASE
from planner.model import build_model
from planner.network import build_network
from planner.plan import load
from planner.report import scenario_report
from planner.rule_costs import rule_rows
from planner.scenarios import scenario_inputs
from planner.solve import SolveOptions, SolveRun, solve

EXAMPLE = Path(__file__).resolve().parents[1] / "inputs" / "example.xlsx"


@pytest.fixture(scope="module")
def example():
    return load(EXAMPLE)


def _model(inputs, scenario=BASE):
    return build_model(build_network(inputs, scenario))


def _reference(lp):
    run = SolveRun(lp, SolveOptions(threads=1))
    solution = run.solve()
    assert solution.ok
    return solution, run.basis("reference")


def _same_as_cold(lp, start, values=True):
    """Solve `lp` from `start` and from scratch; the two optima agree (with `values`,
    value for value and dual for dual). Whether it started warm (the basis fits) is
    returned."""
    warm_run = SolveRun(lp, SolveOptions(threads=1), start)
    warm, cold = warm_run.solve(), solve(lp, SolveOptions(threads=1))
    assert warm.ok and cold.ok
    assert warm.objective == pytest.approx(cold.objective, rel=1e-9)
    if values:
        np.testing.assert_allclose(warm.values, cold.values, rtol=1e-7, atol=1e-6)
        np.testing.assert_allclose(warm.duals, cold.duals, rtol=1e-7, atol=1e-6)
    return warm_run.started_from is not None


def test_scenarios_started_from_base_equal_fresh_solves(example):
    _, basis = _reference(_model(example).lp)
    warm = [name for name in example.scenarios[1:]
            if _same_as_cold(_model(scenario_inputs(example, name), name).lp, basis)]
    # The scenarios that change only numbers start from base's optimum; the others (new
    # rules, dropped rows) cannot and are solved from scratch.
    assert {"au-tax-offset", "jp-battery+20%"} <= set(warm)


def test_frontier_points_started_from_the_loosest_equal_fresh_solves(example):
    """Same cost and the same frontier row (cost, member share, HHI) at every point. Flow
    values and duals are not compared one by one: at some points the example has several
    cheapest plans (8 of 550 flows differ between two optima of equal cost, in a chain
    the cap does not touch) and several sets of shadow prices, and which one a simplex
    run ends on depends on where it starts."""
    sweep = Sweep("NdPr oxide", "processing", "country", ("CN",), None, 1.0, 0.3, 8)
    loosest, *tighter = sweep.caps()
    _, basis = _reference(_model(_with_cap(example, sweep, loosest)).lp)
    for cap in tighter:
        sm = _model(_with_cap(example, sweep, cap))
        assert _same_as_cold(sm.lp, basis, values=False)  # the cap is a coefficient
        warm = SolveRun(sm.lp, SolveOptions(threads=1), basis).solve()
        cold = solve(sm.lp, SolveOptions(threads=1))
        rows = [_point(sweep, cap, scenario_report("p", sm, s), "sweep") for s in (warm, cold)]
        assert rows[0].keys() == rows[1].keys()
        for key, value in rows[0].items():
            assert value == (rows[1][key] if isinstance(value, str)
                             else pytest.approx(rows[1][key], rel=1e-9)), key


@pytest.mark.parametrize("scenario", ["base", "embargo+reserve", "cn-oct25-return"])
def test_rules_relaxed_in_place_equal_the_relaxed_lp_solved_fresh(example, scenario):
    sm = _model(scenario_inputs(example, scenario), scenario)
    run = SolveRun(sm.lp, SolveOptions(threads=2))
    optimum = run.solve()
    for rule, rows in rule_rows(sm).items():
        relaxed, fresh = run.relaxed(rows), solve(sm.lp.relaxed(rows), SolveOptions())
        assert relaxed.ok and fresh.ok, rule
        assert relaxed.objective == pytest.approx(fresh.objective, rel=1e-9), rule
        assert relaxed.objective <= optimum.objective * (1 + 1e-9), rule
    # The instances were put back: the plan's own LP again, at its optimum at once.
    run.run()
    again = run.read_back()
    assert again.objective == pytest.approx(optimum.objective, rel=1e-12)
    assert all(p.highs.getInfo().simplex_iteration_count == 0 for p in run.parts)


def _arrays(lp):
    rows, cols, coefs = lp.terms()
    return {"lower": np.concatenate(lp.lower), "upper": np.concatenate(lp.upper),
            "cost": np.concatenate(lp.cost), "rows": rows, "cols": cols, "coefs": coefs,
            "rhs": np.concatenate(lp._rhs), "sense": np.array(lp._sense),
            "integrality": lp.integrality()}


def test_scenarios_sharing_base_structure_build_the_lp_a_fresh_build_makes(example):
    # A scenario that changes only rules shares base's network and rows before the rules
    # (`like`); its LP must be exactly the one built from scratch: arrays, row families
    # and the tables that say what each row and column is.
    base = _model(example)
    shared = []
    for name in example.scenarios[1:]:
        data = scenario_inputs(example, name)
        net = build_network(data, name, like=base.network)
        reused, fresh = build_model(net, like=base), _model(data, name)
        if reused.network.codes is base.network.codes:
            shared.append(name)
        if reused.structure is base.structure:
            assert base.network.options.equals(fresh.network.options)
        ours, theirs = _arrays(reused.lp), _arrays(fresh.lp)
        for key in ours:
            np.testing.assert_array_equal(ours[key], theirs[key], err_msg=f"{name}: {key}")
        assert list(reused.lp.families) == list(fresh.lp.families)
        for family, rows in fresh.lp.families.items():
            assert rows.start == reused.lp.families[family].start
            assert rows.keys.equals(reused.lp.families[family].keys), (name, family)
        for table in ("flows", "limits", "restrictions", "options"):
            assert getattr(reused.network, table).equals(getattr(fresh.network, table))
        assert reused.lp.n_rows == fresh.lp.n_rows and reused.lp.n_cols == fresh.lp.n_cols
    # The example's rule-only scenarios share it, those changing a table do not; the two
    # that add a plant option share the network but not the rows the options change.
    assert shared == ["us-ga-ban", "cn-oct25-return", "next-plant", "no-jp-target",
                      "cn-ree-embargo", "embargo+plant"]
    assert base.lp is not base.structure.lp and base.structure.lp.n_rows < base.lp.n_rows
    # Origin tracking is shared too where the rules need the same layers; an origin cap on
    # another material needs another origin layer, built afresh, and the LP is a fresh
    # build's all the same.
    sweep = Sweep("Dy/Tb oxide", "origin", "country", ("CN",), None, 1.0, 0.3, 2)
    for name, data, same in (("us-ga-ban", scenario_inputs(example, "us-ga-ban"), True),
                             (BASE, _with_cap(example, sweep, 0.5), False)):
        reused = build_model(build_network(data, name, like=base.network), like=base)
        assert reused.structure is base.structure
        assert (reused.tracking is base.tracking) is same
        ours, theirs = _arrays(reused.lp), _arrays(_model(data, name).lp)
        for key in ours:
            np.testing.assert_array_equal(ours[key], theirs[key], err_msg=key)
