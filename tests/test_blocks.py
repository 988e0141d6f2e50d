"""Independent blocks: the LP split into parts that share no row, each solved on its own.

Checked against things known outside the splitting code: a plain union-find over the
matrix for the blocks, hand-solved two-block LPs for status, optimum and duals, and
highspy solving the whole LP in one piece for generated sourcing instances.
"""
from __future__ import annotations

import shutil
import subprocess
import sys

import highspy
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import planner.solve
from planner.lp import EQ, GE, LE, LinearModel
from planner.solve import (Arrays, SolveOptions, SolveRun, Status, combine_statuses,
                           solve)

from test_bench import _instance


@pytest.fixture
def split_all(monkeypatch):
    """Every component its own block, however small (the default packs small ones)."""
    monkeypatch.setattr(planner.solve, "MIN_BLOCK_COLUMNS", 1)


def _union_find_blocks(n_rows: int, start, index) -> set[frozenset[int]]:
    """Row sets of the connected components, by textbook union-find in plain Python."""
    parent = list(range(n_rows))

    def find(r):
        while parent[r] != r:
            parent[r] = parent[parent[r]]
            r = parent[r]
        return r

    for j in range(len(start) - 1):
        rows = index[start[j]:start[j + 1]]
        for r in rows[1:]:
            parent[find(int(r))] = find(int(rows[0]))
    groups: dict[int, set[int]] = {}
    for r in range(n_rows):
        groups.setdefault(find(r), set()).add(r)
    return {frozenset(g) for g in groups.values()}


@st.composite
def sparse_lps(draw):
    n_rows = draw(st.integers(1, 30))
    n_cols = draw(st.integers(1, 40))
    model = LinearModel()
    model.add_columns("x", n_cols, 0.0, 10.0, draw(st.lists(
        st.integers(-3, 5), min_size=n_cols, max_size=n_cols)))
    terms = draw(st.lists(st.tuples(st.integers(0, n_rows - 1), st.integers(0, n_cols - 1)),
                          max_size=60))
    # a chain through rows in shuffled order, one column per link: a component whose rows
    # are found only over several rounds of hooking
    chain = draw(st.permutations(range(n_rows)))[:draw(st.integers(0, min(n_rows, n_cols)))]
    for j, (a, b) in enumerate(zip(chain, chain[1:])):
        terms += [(a, j), (b, j)]
    rows = np.array([t[0] for t in terms], np.int64)
    cols = np.array([t[1] for t in terms], np.int64)
    model.add_rows("r", pd.DataFrame({"i": range(n_rows)}), LE, 5.0, rows, cols, 1.0)
    return model


@settings(max_examples=150, deadline=None)
@given(sparse_lps())
def test_blocks_are_the_connected_components_of_the_matrix(model):
    arrays = Arrays.of(model)
    blocks = arrays.blocks(min_columns=1)
    # every column and every row in exactly one block
    assert sorted(np.concatenate([c for c, _ in blocks]).tolist()) == list(range(model.n_cols))
    assert sorted(np.concatenate([r for _, r in blocks]).tolist()) == list(range(model.n_rows))
    expected = _union_find_blocks(model.n_rows, arrays.start, arrays.index)
    has_entries = {r for r in range(model.n_rows) if r in set(arrays.index.tolist())}
    real = {g for g in expected if g & has_entries}
    if len(real) <= 1:
        assert len(blocks) == 1
        return
    # rows of each block: one component with entries (plus, in the largest, empty rows)
    found = [frozenset(r.tolist()) & has_entries for _, r in blocks]
    assert set(found) == real
    for cols, rows in blocks:  # no entry of a block's columns lies outside its rows
        part = arrays.part(cols, rows)
        assert (part.index >= 0).all()
        assert len(part.value) == sum(np.diff(arrays.start)[cols])
    sizes = [len(c) for c, _ in blocks]
    assert sizes == sorted(sizes, reverse=True)


def _two_block_lp(second_demand: float = 4.0, second_cap: float = 10.0) -> LinearModel:
    """Block A: min 2a1 + 3a2, a1 + a2 >= 5, a1 <= 3   -> a = (3, 2), cost 12.
    Block B: min 1b1 + 4b2, b1 + b2 = d, b1 <= cap      -> b = (d, 0) when d <= cap."""
    lp = LinearModel()
    lp.add_columns("a", 2, 0.0, [3.0, np.nan], [2.0, 3.0])
    lp.add_columns("b", 2, 0.0, [second_cap, np.nan], [1.0, 4.0])
    lp.add_rows("need_a", pd.DataFrame({"k": [0]}), GE, 5.0, [0, 0], [0, 1], [1.0, 1.0])
    lp.add_rows("need_b", pd.DataFrame({"k": [0]}), EQ, second_demand, [0, 0], [2, 3],
                [1.0, 1.0])
    return lp


def test_two_hand_solved_blocks_give_the_sum_of_their_optima_and_their_duals(split_all):
    lp = _two_block_lp()
    assert len(Arrays.of(lp).blocks()) == 2
    sol = solve(lp, SolveOptions(threads=2))
    assert sol.status is Status.OPTIMAL
    assert sol.objective == pytest.approx(12.0 + 4.0)
    assert sol.values == pytest.approx([3.0, 2.0, 4.0, 0.0])
    # one more tonne of need_a costs 3 (a2), of need_b costs 1 (b1)
    assert sol.duals == pytest.approx([3.0, 1.0])
    assert solve(lp, SolveOptions("cbc")).objective == pytest.approx(16.0)


def test_one_infeasible_block_makes_the_whole_plan_infeasible(split_all):
    lp = _two_block_lp(second_demand=-1.0)  # b1 + b2 = -1 with b >= 0: impossible
    sol = solve(lp, SolveOptions(threads=2))
    assert sol.status is Status.INFEASIBLE
    assert sol.values is None and sol.duals is None


def test_one_unbounded_block_makes_the_whole_plan_unbounded(split_all):
    lp = _two_block_lp()
    lp.add_columns("free", 1, 0.0, np.nan, -1.0)  # a column of its own, cost -1, no bound
    lp.add_columns("c", 2, 0.0, np.nan, [-1.0, 0.0])
    lp.add_rows("c_link", pd.DataFrame({"k": [0]}), GE, 0.0, [0, 0], [5, 6], [1.0, -1.0])
    sol = solve(lp, SolveOptions(threads=2))
    assert sol.status is Status.UNBOUNDED
    assert sol.values is None


O, I, U, T, E = (Status.OPTIMAL, Status.INFEASIBLE, Status.UNBOUNDED, Status.TIME_LIMIT,
                 Status.ERROR)


@pytest.mark.parametrize("blocks,whole", [
    ([O, O, O], O),
    ([O, I, O], I),   # one infeasible block: no plan satisfies every constraint
    ([U, I], I), ([T, I], I), ([E, I], I),   # proven infeasible whatever the others did
    ([O, U], U), ([U, U], U),   # every other block feasible: the cost falls without limit
    ([U, T], T), ([T, U], T),   # an unfinished block may be infeasible: not proven unbounded
    ([U, E], E), ([O, E, T], E),
    ([O, T], T),
])
def test_whole_status_from_the_blocks_statuses(blocks, whole):
    outcomes = [(status, status.value) for status in blocks]
    assert combine_statuses(outcomes)[0] is whole
    assert combine_statuses(outcomes[::-1])[0] is whole  # the order of blocks does not matter


def _whole_lp_by_highspy(lp: LinearModel) -> float:
    """The LP solved in one piece by highspy directly (no splitting)."""
    a = Arrays.of(lp)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    inf = highspy.kHighsInf
    h.passModel(a.n_cols, a.n_rows, len(a.value), int(highspy.MatrixFormat.kColwise),
                int(highspy.ObjSense.kMinimize), 0.0, a.cost, np.clip(a.lower, -inf, inf),
                np.clip(a.upper, -inf, inf), np.clip(a.row_lower, -inf, inf),
                np.clip(a.row_upper, -inf, inf), a.start, a.index, a.value,
                np.zeros(a.n_cols, np.int32))
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return h.getInfo().objective_function_value


@pytest.mark.parametrize("flows,periods,seed", [(3000, 3, 4), (6000, 2, 5)])
def test_split_solve_equals_the_whole_lp_on_generated_instances(tmp_path, flows, periods, seed,
                                                                 split_all):
    sm = _instance(tmp_path, flows, periods, seed)
    blocks = Arrays.of(sm.lp).blocks()
    assert len(blocks) > 1  # the generator's material chains are independent
    whole = _whole_lp_by_highspy(sm.lp)
    together = solve(sm.lp, SolveOptions(threads=2))
    apart = solve(sm.lp, SolveOptions(threads=1))
    assert together.ok and apart.ok
    assert together.objective == pytest.approx(whole, rel=1e-9)
    # deterministic: the same plan whether blocks run side by side or one after another
    assert np.array_equal(together.values, apart.values)
    assert np.array_equal(together.duals, apart.duals)


def test_a_time_limit_covers_all_blocks_together(tmp_path, split_all):
    """The limit is for the whole solve: each block gets what is left when it starts, a
    block whose turn comes after the limit is not started, and a generous limit changes
    nothing."""
    sm = _instance(tmp_path, 6000, 2, 5)
    spent = SolveRun(sm.lp, SolveOptions(time_limit=1e-9, threads=1))
    spent.hand_over()
    spent.run()
    assert len(spent.parts) > 1 and all(part.timed_out for part in spent.parts)
    assert spent.read_back().status is Status.TIME_LIMIT

    generous = SolveRun(sm.lp, SolveOptions(time_limit=600.0, threads=1))
    generous.hand_over()
    generous.run()
    given = [part.highs.getOptionValue("time_limit")[1] for part in generous.parts]
    assert all(0 < left < 600.0 for left in given)
    assert given == sorted(given, reverse=True)  # later blocks, less time left
    solution = generous.read_back()
    assert solution.ok
    assert solution.objective == pytest.approx(_whole_lp_by_highspy(sm.lp), rel=1e-9)


@settings(max_examples=100, deadline=None)
@given(sparse_lps(), st.integers(1, 12))
def test_small_components_are_packed_whole_into_blocks_of_about_min_columns(model, least):
    arrays = Arrays.of(model)
    has_entries = np.diff(arrays.start) > 0  # columns without entries are packed with the first
    components = {frozenset(r.tolist()): int(has_entries[c].sum())
                  for c, r in arrays.blocks(min_columns=1)}
    blocks = arrays.blocks(min_columns=least)
    assert sorted(np.concatenate([c for c, _ in blocks]).tolist()) == list(range(model.n_cols))
    small_filled = []
    for cols, rows in blocks:
        inside = [(rows_, n) for rows_, n in components.items() if rows_ <= set(rows.tolist())]
        # a block is whole components only: their rows add up to the block's rows
        assert sum(len(r) for r, _ in inside) == len(rows) or len(blocks) == 1
        if len(inside) > 1:  # packed: only small components, closed once full
            assert all(n < least for _, n in inside)
            small_filled.append(sum(n for _, n in inside))
    assert all(total >= least for total in small_filled[:-1])


def test_many_tiny_chains_are_solved_in_a_few_blocks_with_the_hand_computed_optimum():
    """3,000 independent needs of 15 t, each from 20 sources of 10 t: the two cheapest
    sources of each need give its optimum (10 t at the cheapest, 5 t at the next)."""
    needs, sources = 3000, 20
    cost = np.random.default_rng(1).uniform(1, 5, (needs, sources))
    lp = LinearModel()
    cols = lp.add_columns("x", needs * sources, 0.0, 10.0, cost.ravel())
    lp.add_rows("need", pd.DataFrame({"i": range(needs)}), GE, 15.0,
                np.repeat(np.arange(needs), sources), cols, 1.0)
    blocks = Arrays.of(lp).blocks()
    assert 1 < len(blocks) <= needs * sources // planner.solve.MIN_BLOCK_COLUMNS
    cheapest = np.sort(cost, axis=1)
    sol = solve(lp, SolveOptions(threads=2))
    assert sol.ok
    assert sol.objective == pytest.approx(float((10 * cheapest[:, 0] + 5 * cheapest[:, 1]).sum()),
                                          rel=1e-9)


@pytest.mark.skipif(shutil.which("taskset") is None, reason="needs util-linux taskset")
def test_threads_default_to_the_cpus_granted_not_the_machines():
    """Under `taskset -c 0` the process may use one CPU, whatever the machine has."""
    out = subprocess.run(["taskset", "-c", "0", sys.executable, "-c",
                          "from planner.solve import usable_cpus; print(usable_cpus())"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"
