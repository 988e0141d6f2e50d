"""Solver choice, options, status mapping and the result of one solve.

One place owns the solvers: HiGHS through highspy (default; the model is handed
over as column-wise arrays in one call, the solution read back as arrays) and CBC
through PuLP (fallback). Whatever
the solver says, a solution is returned only when it is a proven optimum that
also passes our own feasibility check (PITFALLS #9, #10).
"""
from __future__ import annotations

import contextlib
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum

import numpy as np
import pulp

from .lp import LinearModel

SOLVERS = ("highs", "cbc")
MIN_BLOCK_COLUMNS = 5_000  # smaller independent parts are solved together (Arrays.blocks)
FEASIBILITY_TOL = 1e-6  # relative to the size of each row's terms


class Status(str, Enum):
    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    TIME_LIMIT = "time_limit"
    ERROR = "error"


@dataclass
class Solution:
    status: Status
    message: str
    solver: str
    objective: float | None = None
    values: np.ndarray | None = None   # per column, only when status is OPTIMAL
    duals: np.ndarray | None = None    # per row (cost change per unit of rhs), only when OPTIMAL
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status is Status.OPTIMAL


def usable_cpus() -> int:
    """CPUs this process may run on (a container or `taskset` can grant fewer than the
    machine has, which is what os.cpu_count() reports)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def quiet_stdout(enabled: bool = True):
    """Send fd 1 to /dev/null: HiGHS prints its banner there whatever its options say."""
    if not enabled:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


@dataclass
class Arrays:
    """An LP as HiGHS takes it: column costs and bounds, row bounds and the column-wise
    (CSC) constraint matrix `start`, `index`, `value`."""

    cost: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    start: np.ndarray
    index: np.ndarray
    value: np.ndarray

    @classmethod
    def of(cls, lp: LinearModel) -> "Arrays":
        cost, lower, upper = (np.concatenate(a) if a else np.zeros(0)
                              for a in (lp.cost, lp.lower, lp.upper))
        return cls(cost, lower, upper, *lp.row_bounds(), *lp.matrix())

    @property
    def n_cols(self) -> int:
        return len(self.cost)

    @property
    def n_rows(self) -> int:
        return len(self.row_lower)

    def part(self, cols: np.ndarray, rows: np.ndarray) -> "Arrays":
        """The LP restricted to `cols` and `rows` (every entry of `cols` must lie in `rows`)."""
        counts = np.diff(self.start)[cols]
        start = np.zeros(len(cols) + 1, np.int32)
        np.cumsum(counts, out=start[1:])
        entries = np.repeat(self.start[cols] - start[:-1], counts) + np.arange(start[-1])
        renumber = np.full(self.n_rows, -1, np.int32)
        renumber[rows] = np.arange(len(rows), dtype=np.int32)
        return Arrays(self.cost[cols], self.lower[cols], self.upper[cols],
                      self.row_lower[rows], self.row_upper[rows], start,
                      renumber[self.index[entries]], self.value[entries])

    def blocks(self, min_columns: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
        """(columns, rows) of each independent block, largest first: blocks share no row
        and no column, so the LP is their sum and each can be solved on its own. Columns
        and rows without entries join the largest block. One block when nothing splits.

        Components with fewer than `min_columns` columns are packed together, in order,
        into blocks of about that many columns: each HiGHS instance costs about half a
        millisecond to set up, more than a tiny LP takes to solve (5,000 components of 20
        columns: 2.5 s apart, against 0.1 s in one piece)."""
        min_columns = MIN_BLOCK_COLUMNS if min_columns is None else min_columns
        label = _row_components(self.n_rows, self.start, self.index)
        counts = np.diff(self.start)
        col_label = np.full(self.n_cols, -1, np.int64)
        col_label[counts > 0] = label[self.index[self.start[:-1][counts > 0]]]
        row_label = np.where(np.bincount(self.index, minlength=self.n_rows) > 0, label, -1)
        roots, sizes = np.unique(col_label[col_label >= 0], return_counts=True)
        if len(roots) <= 1:
            return [(np.arange(self.n_cols), np.arange(self.n_rows))]
        # Largest first (the slowest solve starts first); ties in label order.
        order = np.lexsort((roots, -sizes))
        roots, sizes = roots[order], sizes[order]
        block_of_root = np.zeros(len(roots), np.int64)
        block, filled = 0, 0
        for i, size in enumerate(sizes.tolist()):  # one step per component
            if filled and (size >= min_columns or filled >= min_columns):
                block, filled = block + 1, 0
            block_of_root[i] = block
            filled += size
            if size >= min_columns:
                filled = min_columns  # a large component stays a block of its own
        if block == 0:
            return [(np.arange(self.n_cols), np.arange(self.n_rows))]
        block_of_label = np.zeros(max(self.n_rows, 1), np.int64)
        block_of_label[roots] = block_of_root
        # Columns and rows without entries join the first (largest) block.
        col_block = np.where(col_label >= 0, block_of_label[np.maximum(col_label, 0)], 0)
        row_block = np.where(row_label >= 0, block_of_label[np.maximum(row_label, 0)], 0)
        return list(zip(_split_by(col_block, block + 1), _split_by(row_block, block + 1)))


def _split_by(group: np.ndarray, n: int) -> list[np.ndarray]:
    """Positions of each group 0..n-1, ascending within a group."""
    order = np.argsort(group, kind="stable")
    return np.split(order, np.cumsum(np.bincount(group, minlength=n))[:-1])


def _row_components(n_rows: int, start: np.ndarray, index: np.ndarray) -> np.ndarray:
    """For each row, the smallest row of its connected component (rows are connected
    when a column has entries in both). Vectorised union-find: every root is hooked
    onto the smallest root met in one of its columns, then pointers are followed to
    their roots; a few rounds, each linear in the number of entries."""
    label = np.arange(n_rows, dtype=np.int32)
    if not len(index):
        return label
    counts = np.diff(start)
    used = np.flatnonzero(counts)
    column_of_entry = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
    column_min = np.zeros(len(counts), np.int32)
    while True:
        roots = label[index]
        column_min[used] = np.minimum.reduceat(roots, start[used])
        hooked = label.copy()
        np.minimum.at(hooked, roots, column_min[column_of_entry])
        while True:  # pointer jumping: labels only ever point to smaller rows
            jumped = hooked[hooked]
            if np.array_equal(jumped, hooked):
                break
            hooked = jumped
        if np.array_equal(hooked, label):
            return label
        label = hooked


class BulkHiGHS(pulp.HiGHS):
    """PuLP's HiGHS interface with a bulk hand-over: the model goes to HiGHS in one
    `passModel` call as column-wise (CSC) numpy arrays, and the solution comes back as
    arrays (PITFALLS, fast path).

    With `arrays` (see `Arrays.of`) the LP is taken from them directly and the PuLP
    problem passed to `solve` only carries PuLP's status fields: creating one PuLP object
    per variable and per term costs more than the whole solve on large models (about 10 s
    and 800 MB at a million variables, see bench/RESULTS.md). Without `arrays`, the
    problem's PuLP constraints are read (in one pass) and the solution is in the order of
    `columns`.
    """

    def __init__(self, columns: list[pulp.LpVariable] | None = None, *,
                 arrays: Arrays | None = None, **kwargs):
        super().__init__(**kwargs)
        self.columns = columns
        self.arrays = arrays
        self.model_status = None
        self.col_value = self.row_dual = None

    def _arrays_from_pulp(self, lp) -> Arrays:
        """Column and row arrays of a PuLP problem, in the order of `self.columns`."""
        inf = np.inf
        columns = self.columns if self.columns is not None else lp.variables()
        for j, var in enumerate(columns):
            var.index = j
        cost = np.array([lp.objective.get(v, 0.0) for v in columns], float)
        lower = np.array([-inf if v.lowBound is None else v.lowBound for v in columns], float)
        upper = np.array([inf if v.upBound is None else v.upBound for v in columns], float)
        rows, cols, coefs, row_lower, row_upper = [], [], [], [], []
        for i, constraint in enumerate(lp._constraints.values()):
            constraint.index = i
            n = len(constraint)
            rows.extend([i] * n)
            cols.extend(var.index for var in constraint)
            coefs.extend(constraint.values())
            lb, ub = constraint.getLb(), constraint.getUb()
            row_lower.append(-inf if lb is None else lb)
            row_upper.append(inf if ub is None else ub)
        twin = LinearModel(n_cols=len(columns))
        twin._rows, twin._cols, twin._coefs = (
            [np.array(rows, np.int64)], [np.array(cols, np.int64)], [np.array(coefs, float)])
        twin.n_rows = len(row_lower)
        return Arrays(cost, lower, upper, np.array(row_lower, float),
                      np.array(row_upper, float), *twin.matrix())

    def buildSolverModel(self, lp):
        import highspy

        a = self.arrays if self.arrays is not None else self._arrays_from_pulp(lp)
        inf = highspy.kHighsInf
        # One call with numpy arrays (HighsLp's attribute setters convert element by
        # element: 0.6 s at a million variables, against 0.03 s here). An all-continuous
        # integrality vector: HiGHS solves the same LP (same iterations, same duals).
        status = lp.solverModel.passModel(
            a.n_cols, a.n_rows, len(a.value), int(highspy.MatrixFormat.kColwise),
            int(highspy.ObjSense.kMinimize), 0.0, a.cost, np.clip(a.lower, -inf, inf),
            np.clip(a.upper, -inf, inf), np.clip(a.row_lower, -inf, inf),
            np.clip(a.row_upper, -inf, inf), a.start, a.index, a.value,
            np.zeros(a.n_cols, np.int32))
        if status == highspy.HighsStatus.kError:
            raise pulp.PulpSolverError("HiGHS refused the model (passModel failed)")

    def readBack(self, lp) -> int:
        """Model status, solution and duals as arrays; PuLP's status fields set on `lp`."""
        highs = lp.solverModel
        self.model_status = highs.getModelStatus()
        solution = highs.getSolution()
        self.col_value = np.asarray(solution.col_value, float)
        self.row_dual = np.asarray(solution.row_dual, float)
        status, sol_status = _highs_to_pulp(self.model_status)
        lp.assignStatus(status, sol_status)
        return status

    def actualSolve(self, lp):
        with quiet_stdout(not self.msg):
            self.createAndConfigureSolver(lp)
            self.buildSolverModel(lp)
            self.callSolver(lp)
        return self.readBack(lp)


def _highs_to_pulp(model_status) -> tuple[int, int]:
    import highspy

    s = highspy.HighsModelStatus
    if model_status == s.kOptimal:
        return pulp.LpStatusOptimal, pulp.LpSolutionOptimal
    if model_status in (s.kInfeasible, s.kUnboundedOrInfeasible):
        return pulp.LpStatusInfeasible, pulp.LpSolutionInfeasible
    if model_status == s.kUnbounded:
        return pulp.LpStatusUnbounded, pulp.LpSolutionUnbounded
    if model_status in (s.kTimeLimit, s.kIterationLimit, s.kInterrupt):
        return pulp.LpStatusOptimal, pulp.LpSolutionIntegerFeasible
    return pulp.LpStatusNotSolved, pulp.LpSolutionNoSolutionFound


_TIME_LIMIT_MESSAGE = ("the time limit stopped the solver before it proved an optimum; "
                       "allow more time")


def _status(prob: pulp.LpProblem, time_limited: bool, highs_status=None) -> tuple[Status, str]:
    """Both PuLP status fields must agree on an optimum (PITFALLS table)."""
    if highs_status is not None:
        import highspy

        if highs_status == highspy.HighsModelStatus.kUnboundedOrInfeasible:
            return Status.INFEASIBLE, "the solver found the model infeasible or unbounded"
    status, sol = prob.status, prob.sol_status
    if status == pulp.LpStatusOptimal and sol == pulp.LpSolutionOptimal:
        return Status.OPTIMAL, "optimal"
    if status == pulp.LpStatusInfeasible or sol == pulp.LpSolutionInfeasible:
        return Status.INFEASIBLE, "no plan satisfies every constraint"
    if status == pulp.LpStatusUnbounded or sol == pulp.LpSolutionUnbounded:
        return Status.UNBOUNDED, "the cost can fall without limit (a negative cost on an " \
                                 "unlimited path?)"
    if time_limited and sol in (pulp.LpSolutionIntegerFeasible, pulp.LpSolutionNoSolutionFound):
        return Status.TIME_LIMIT, _TIME_LIMIT_MESSAGE
    return Status.ERROR, f"the solver stopped without a plan (PuLP status " \
                         f"{pulp.LpStatus.get(status, status)}, solution status {sol})"


def infeasibility(lp: LinearModel, x: np.ndarray) -> float:
    """Largest violation of a row or bound at x, relative to the row's term sizes."""
    row_lower, row_upper = lp.row_bounds()
    lower, upper = (np.concatenate(a) if a else np.zeros(0) for a in (lp.lower, lp.upper))
    activity, size = lp.row_activity(x)
    rhs = np.where(np.isfinite(row_lower), row_lower, row_upper)
    scale = np.maximum(np.maximum(size, 1.0), np.abs(rhs))
    viol = np.maximum(np.maximum(row_lower - activity, activity - row_upper), 0) / scale
    bound = np.maximum(np.maximum(lower - x, 0), np.maximum(x - upper, 0)) \
        / np.maximum(1.0, np.abs(x))
    return float(max(viol.max(initial=0.0), bound.max(initial=0.0)))


@dataclass
class _Part:
    """One independent block of the LP on its own HiGHS instance."""

    cols: np.ndarray
    rows: np.ndarray
    prob: pulp.LpProblem
    engine: BulkHiGHS
    error: str | None = None
    timed_out: bool = False  # the time limit ran out before this block's turn


class SolveRun:
    """One solve in its steps, so that each can be timed on its own (bench/run.py):
    `hand_over` (the model to the solver), `run` (the solver), `read_back` (values,
    duals, status, our feasibility check). `solve` runs them in this order.

    With HiGHS, blocks of the LP that share no row (typically the material chains that
    no process, limit or stockpile links) are solved as separate LPs, on up to `threads`
    threads at once (HiGHS releases the GIL while it runs): the same optimum, sooner
    (at a million variables in five blocks, about half the time of the whole LP on two
    cores; bench/RESULTS.md). CBC gets the whole LP through PuLP."""

    def __init__(self, lp: LinearModel, solver: str = "highs", time_limit: float | None = None,
                 verbose: bool = False, threads: int | None = None):
        if solver not in SOLVERS:
            raise ValueError(f"unknown solver {solver!r}; choose one of {', '.join(SOLVERS)}")
        self.lp, self.solver, self.time_limit, self.verbose = lp, solver, time_limit, verbose
        # One at a time when the solver's log is shown, so that logs do not interleave.
        self.threads = 1 if verbose else max(1, threads or usable_cpus())
        self.seconds: dict[str, float] = {}
        self.prob = self.engine = self.columns = self.rows = None
        self.parts: list[_Part] = []
        self.error: str | None = None

    def _timed(self, name: str, start: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

    def hand_over(self) -> None:
        start = time.perf_counter()
        if self.solver == "highs":
            # A PuLP problem per block carries PuLP's status fields; the block itself goes
            # over as arrays (see BulkHiGHS).
            arrays = Arrays.of(self.lp)
            blocks = arrays.blocks()
            self.seconds["build"] = 0.0
            with quiet_stdout(not self.verbose):
                for cols, rows in blocks:
                    part = arrays if len(blocks) == 1 else arrays.part(cols, rows)
                    prob = pulp.LpProblem(self.lp.name, pulp.LpMinimize)
                    engine = BulkHiGHS(arrays=part, msg=self.verbose,
                                       timeLimit=self.time_limit)
                    self.parts.append(_Part(cols, rows, prob, engine))
                    try:
                        engine.createAndConfigureSolver(prob)
                        engine.buildSolverModel(prob)
                    except pulp.PulpSolverError as exc:
                        self.parts[-1].error = str(exc)
                    engine.arrays = None  # HiGHS holds its own copy now
        else:
            self.prob, self.columns, self.rows = self.lp.to_pulp()
            self.seconds["build"] = time.perf_counter() - start
            self.engine = pulp.PULP_CBC_CMD(msg=self.verbose, timeLimit=self.time_limit)
        self._timed("handover", start)

    def _run_part(self, part: _Part, deadline: float | None) -> None:
        if part.error is not None:
            return
        if deadline is not None:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                part.timed_out = True
                return
            part.prob.solverModel.setOptionValue("time_limit", remaining)
        try:
            part.engine.callSolver(part.prob)
        except pulp.PulpSolverError as exc:
            part.error = str(exc)

    def run(self) -> None:
        start = time.perf_counter()
        if self.solver == "highs":
            deadline = None if self.time_limit is None else start + self.time_limit
            with quiet_stdout(not self.verbose):
                if self.threads == 1 or len(self.parts) == 1:
                    for i, part in enumerate(self.parts, start=1):
                        if self.verbose and len(self.parts) > 1:  # which log is which
                            print(f"\nplanner: independent block {i} of {len(self.parts)} "
                                  f"({len(part.cols):,} columns, {len(part.rows):,} rows)",
                                  flush=True)
                        self._run_part(part, deadline)
                else:
                    with ThreadPoolExecutor(min(self.threads, len(self.parts))) as pool:
                        list(pool.map(lambda p: self._run_part(p, deadline), self.parts))
        else:
            try:
                self.prob.solve(self.engine)
            except pulp.PulpSolverError as exc:
                self.error = str(exc)
        self._timed("run", start)

    def read_back(self) -> Solution:
        start = time.perf_counter()
        try:
            return self._read_back()
        finally:
            self._timed("readback", start)
            self.seconds["solve"] = sum(self.seconds.get(k, 0.0)
                                        for k in ("handover", "run", "readback")) \
                - self.seconds.get("build", 0.0)

    def _highs_result(self) -> tuple[Status, str, np.ndarray | None, np.ndarray | None]:
        """Status of the whole LP from its blocks' statuses (`combine_statuses`), and its
        values and duals put back in the whole LP's positions."""
        values, duals = np.full(self.lp.n_cols, np.nan), np.zeros(self.lp.n_rows)
        outcomes = []
        for part in self.parts:
            if part.error is not None:
                outcomes.append((Status.ERROR, f"the highs solver failed: {part.error}"))
                continue
            if part.timed_out:
                outcomes.append((Status.TIME_LIMIT, _TIME_LIMIT_MESSAGE))
                continue
            part.engine.readBack(part.prob)
            outcomes.append(_status(part.prob, self.time_limit is not None,
                                    part.engine.model_status))
            if outcomes[-1][0] is Status.OPTIMAL and len(part.engine.col_value) == len(part.cols):
                values[part.cols] = part.engine.col_value
                duals[part.rows] = part.engine.row_dual
        return (*combine_statuses(outcomes), values, duals)

    def _read_back(self) -> Solution:
        lp, solver, seconds = self.lp, self.solver, self.seconds
        if solver == "highs":
            status, message, values, duals = self._highs_result()
        elif self.error is not None:
            status, message = Status.ERROR, f"the {solver} solver failed: {self.error}"
        else:
            values = np.array([v.varValue if v.varValue is not None else np.nan
                               for v in self.columns], float)
            duals = np.array([c.pi if c.pi is not None else 0.0 for c in self.rows], float)
            status, message = _status(self.prob, self.time_limit is not None)
        if status is not Status.OPTIMAL:
            return Solution(status, message, solver, seconds=seconds)
        if values is None or len(values) != lp.n_cols or np.isnan(values).any():
            return Solution(Status.ERROR, "the solver reported an optimum without values",
                            solver, seconds=seconds)
        worst = infeasibility(lp, values)
        if worst > FEASIBILITY_TOL:
            return Solution(Status.ERROR, f"the solver's optimum violates a constraint by "
                                          f"{worst:.2g} (relative); try the other solver",
                            solver, seconds=seconds)
        objective = float(np.concatenate(lp.cost) @ values) if lp.n_cols else 0.0
        return Solution(Status.OPTIMAL, message, solver, objective, values, duals, seconds)


def combine_statuses(outcomes: list[tuple[Status, str]]) -> tuple[Status, str]:
    """The status of an LP made of independent blocks, from the blocks' (status, message).

    One infeasible block makes the whole LP infeasible, whatever the others did. Failing
    that, a block that failed or ran out of time leaves the LP undecided (error, time
    limit). Only when every block is optimal or unbounded is one unbounded block proof
    that the whole LP is unbounded; it is optimal when every block is."""
    for status in (Status.INFEASIBLE, Status.ERROR, Status.TIME_LIMIT, Status.UNBOUNDED):
        for found, message in outcomes:
            if found is status:
                return status, message
    return Status.OPTIMAL, "optimal"


def solve(lp: LinearModel, solver: str = "highs", time_limit: float | None = None,
          verbose: bool = False, threads: int | None = None) -> Solution:
    """Solve `lp`; values and duals are filled only for a verified optimum. `threads`:
    how many independent blocks HiGHS may solve at once (default: one per CPU).

    `Solution.seconds`: build (PuLP problem, CBC only), handover, run, readback, and
    solve (= handover + run + readback, less build)."""
    if lp.n_cols == 0:
        return _solve_without_columns(lp, solver)
    run = SolveRun(lp, solver, time_limit, verbose, threads)
    run.hand_over()
    run.run()
    return run.read_back()


def _solve_without_columns(lp: LinearModel, solver: str) -> Solution:
    """Nothing to decide (no arc, no activity): the rows hold at zero or nothing can.
    Solvers call such a model empty rather than feasible or not, so it is settled here."""
    x = np.zeros(0)
    if infeasibility(lp, x) > FEASIBILITY_TOL:
        return Solution(Status.INFEASIBLE, "no plan satisfies every constraint: nothing can "
                                           "be shipped, bought or made", solver)
    return Solution(Status.OPTIMAL, "optimal", solver, 0.0, x, np.zeros(lp.n_rows))
