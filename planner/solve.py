"""The solver boundary: an LP (`LinearModel`) and `SolveOptions` in, a `Solution` out.

HiGHS is driven through highspy directly (default: the model is handed over as
column-wise arrays in one call, its model status mapped straight to `Status`, the
solution read back as arrays); CBC through PuLP (fallback, `LinearModel.to_pulp`).
Whatever the solver says, values are returned only for a proven optimum that also
passes our own feasibility check (`infeasibility`).
"""
from __future__ import annotations

import hashlib
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum

import numpy as np
import pulp
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .highs import quiet_stdout
from .lp import LinearModel
from .terminal import end_line, progress_line

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


@dataclass(frozen=True)
class Basis:
    """Where a solved LP's optimum sits: HiGHS's status of every column and row (lower,
    basic, upper, zero, nonbasic), and the shape of the LP's matrix (`pattern`). An LP with
    the same pattern (a scenario that changes only bounds, costs or coefficients, a
    frontier point with another cap) can start from it instead of from scratch: at 100k
    variables about 100 simplex iterations instead of 11,000 (bench/RESULTS.md). Plain
    arrays, so it can be sent to a worker process."""

    name: str               # what it is the optimum of, as Run info shows it
    pattern: str
    col_status: np.ndarray  # int8, one per column
    row_status: np.ndarray  # int8, one per row


@dataclass(frozen=True)
class SolveOptions:
    """How to solve: passed down whole from the command line to each solve."""

    solver: str = "highs"
    time_limit: float | None = None
    verbose: bool = False
    best_effort: bool = False      # an infeasible scenario still gets its least-bad plan
    relax_first: str = "demand"    # what a diagnosis gives up first: demand or rules
    rule_costs: str = "binding"    # which rules' total cost is found by solving again
    threads: int | None = None     # blocks of one LP solved at once (default: one per CPU)
    mip_gap: float = 1e-4          # a mixed-integer plan is optimal within this relative gap
    mip_progress: bool = False     # show a long mixed-integer solve's progress on stderr


def usable_cpus() -> int:
    """CPUs this process may run on (a container or `taskset` can grant fewer than the
    machine has, which is what os.cpu_count() reports)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


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
    integrality: np.ndarray | None = None   # 1 for an integer column; None: an LP

    @classmethod
    def of(cls, lp: LinearModel) -> "Arrays":
        cost, lower, upper = (np.concatenate(a) if a else np.zeros(0)
                              for a in (lp.cost, lp.lower, lp.upper))
        return cls(cost, lower, upper, *lp.row_bounds(), *lp.matrix(),
                   lp.integrality() if lp.integer else None)

    @property
    def n_cols(self) -> int:
        return len(self.cost)

    @property
    def n_rows(self) -> int:
        return len(self.row_lower)

    def pattern(self) -> str:
        """A digest of the matrix's shape and nonzero positions (not its values)."""
        digest = hashlib.blake2b(f"{self.n_cols} {self.n_rows}".encode(), digest_size=16)
        digest.update(np.ascontiguousarray(self.start).data)
        digest.update(np.ascontiguousarray(self.index).data)
        return digest.hexdigest()

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
                      renumber[self.index[entries]], self.value[entries],
                      None if self.integrality is None else self.integrality[cols])

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
    when a column has entries in both): the components of the bipartite graph of rows
    and columns, each named by its smallest row so that the order of blocks does not
    depend on how the components are numbered."""
    if not len(index):
        return np.arange(n_rows, dtype=np.int32)
    # Rows linked through a column: each entry's row joined to its column's first row (a
    # star per column), a row-by-row graph with one edge per entry.
    counts = np.diff(start)
    first = np.repeat(index[start[:-1][counts > 0]], counts[counts > 0])
    graph = coo_matrix((np.ones(len(index), np.int8), (first, index)), shape=(n_rows, n_rows))
    count, component = connected_components(graph, directed=False)
    smallest = np.full(count, n_rows, np.int32)
    np.minimum.at(smallest, component, np.arange(n_rows, dtype=np.int32))
    return smallest[component]


def _highs(arrays: Arrays, options: SolveOptions):
    """A HiGHS instance holding the LP `arrays`; raises SolverRefused if HiGHS refuses it."""
    import highspy

    highs = highspy.Highs()
    if not options.verbose:
        highs.setOptionValue("output_flag", False)
    if options.time_limit is not None:
        highs.setOptionValue("time_limit", float(options.time_limit))
    a, inf = arrays, highspy.kHighsInf
    # One call with numpy arrays (HighsLp's attribute setters convert element by element:
    # 0.6 s at a million variables, against 0.03 s here). An all-continuous integrality
    # vector: HiGHS solves the same LP (same iterations, same duals).
    status = highs.passModel(
        a.n_cols, a.n_rows, len(a.value), int(highspy.MatrixFormat.kColwise),
        int(highspy.ObjSense.kMinimize), 0.0, a.cost, np.clip(a.lower, -inf, inf),
        np.clip(a.upper, -inf, inf), np.clip(a.row_lower, -inf, inf),
        np.clip(a.row_upper, -inf, inf), a.start, a.index, a.value,
        np.zeros(a.n_cols, np.int32) if a.integrality is None else a.integrality)
    if status == highspy.HighsStatus.kError:
        raise SolverRefused("HiGHS refused the model (passModel failed)")
    if a.integrality is not None:
        highs.setOptionValue("mip_rel_gap", float(options.mip_gap))
        if options.mip_progress:
            highs.cbMipInterrupt.subscribe(_MipMeter())
    return highs


class _MipMeter:
    """A long branch and bound's progress on one line of stderr, once a second after
    SHOW_AFTER_S: the best plan found, the bound, the gap between them."""

    SHOW_AFTER_S = 3.0

    def __init__(self):
        self.last = -np.inf

    def __call__(self, event) -> None:
        d = event.data_out
        if d.running_time < self.SHOW_AFTER_S or d.running_time - self.last < 1.0:
            return
        self.last = d.running_time
        best = (f"{d.mip_primal_bound:,.0f}" if np.isfinite(d.mip_primal_bound)
                else "none yet")
        gap = f"{d.mip_gap:.2%}" if np.isfinite(d.mip_gap) else "-"
        progress_line(f"branch and bound {d.running_time:,.0f} s: best plan {best}, "
                      f"bound {d.mip_dual_bound:,.0f}, gap {gap}   ")


class SolverRefused(Exception):
    """The solver would not take the model or failed while running."""


_TIME_LIMIT_MESSAGE = ("the time limit stopped the solver before it proved an optimum; "
                       "allow more time")


def _highs_status(highs) -> tuple[Status, str]:
    """The planner's status straight from HiGHS's model status."""
    import highspy

    s, found = highspy.HighsModelStatus, highs.getModelStatus()
    if found == s.kOptimal:
        return Status.OPTIMAL, "optimal"
    if found == s.kInfeasible:
        return Status.INFEASIBLE, "no plan satisfies every constraint"
    if found == s.kUnboundedOrInfeasible:
        return Status.INFEASIBLE, "the solver found the model infeasible or unbounded"
    if found == s.kUnbounded:
        return Status.UNBOUNDED, _UNBOUNDED_MESSAGE
    if found == s.kTimeLimit:
        return Status.TIME_LIMIT, _TIME_LIMIT_MESSAGE
    return Status.ERROR, (f"the solver stopped without a plan (HiGHS: "
                          f"{highs.modelStatusToString(found)})")


_UNBOUNDED_MESSAGE = "the cost can fall without limit (a negative cost on an unlimited path?)"


def _pulp_status(prob: pulp.LpProblem, time_limited: bool) -> tuple[Status, str]:
    """CBC through PuLP: both PuLP status fields must agree on an optimum."""
    status, sol = prob.status, prob.sol_status
    if status == pulp.LpStatusOptimal and sol == pulp.LpSolutionOptimal:
        return Status.OPTIMAL, "optimal"
    if status == pulp.LpStatusInfeasible or sol == pulp.LpSolutionInfeasible:
        return Status.INFEASIBLE, "no plan satisfies every constraint"
    if status == pulp.LpStatusUnbounded or sol == pulp.LpSolutionUnbounded:
        return Status.UNBOUNDED, _UNBOUNDED_MESSAGE
    if time_limited and sol == pulp.LpSolutionIntegerFeasible:
        return Status.TIME_LIMIT, ("the time limit stopped CBC with a plan not proved the "
                                   "best (CBC through PuLP does not report the gap; HiGHS "
                                   "does); allow more time")
    if time_limited and sol == pulp.LpSolutionNoSolutionFound:
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
    highs: object = None       # highspy.Highs
    error: str | None = None
    timed_out: bool = False  # the time limit ran out before this block's turn
    # (status, message, values, duals) of the block's own LP, read once after its run
    outcome: tuple | None = None
    arrays: Arrays | None = None  # the block as handed over (kept by a reusable run)


def _basis_statuses():
    """HiGHS's basis statuses indexed by their number (as a Basis stores them)."""
    import highspy

    members = highspy.HighsBasisStatus.__members__.values()
    return sorted(members, key=int)


class SolveRun:
    """One solve in its steps, so that each can be timed on its own (bench/run.py):
    `hand_over` (the model to the solver), `run` (the solver), `read_back` (values,
    duals, status, our feasibility check). `solve` runs them in this order.

    With HiGHS, blocks of the LP that share no row (typically the material chains that
    no process, limit or stockpile links) are solved as separate LPs, on up to
    `options.threads` threads at once (HiGHS releases the GIL while it runs): the same
    optimum, sooner (at a million variables in five blocks, about half the time of the
    whole LP on two cores; bench/RESULTS.md). CBC gets the whole LP through PuLP.

    `start`: a `Basis` to start from when it fits this LP (same matrix pattern). After an
    optimum, the run keeps its HiGHS instances: `relaxed` solves variants again on them,
    from the optimum, and `basis` gives the optimum's basis."""

    def __init__(self, lp: LinearModel, options: SolveOptions = SolveOptions(),
                 start: Basis | None = None, reusable: bool = False):
        if options.solver not in SOLVERS:
            raise ValueError(f"unknown solver {options.solver!r}; choose one of "
                             f"{', '.join(SOLVERS)}")
        self.lp, self.options, self.start, self.reusable = lp, options, start, reusable
        # One at a time when the solver's log is shown, so that logs do not interleave.
        self.threads = 1 if options.verbose else max(1, options.threads or usable_cpus())
        self.seconds: dict[str, float] = {}
        self.prob = self.engine = self.columns = self.rows = None
        self.parts: list[_Part] = []
        self.pattern: str | None = None
        self.started_from: str | None = None  # the name of the Basis started from
        self.error: str | None = None

    def _timed(self, name: str, start: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

    def hand_over(self) -> None:
        start = time.perf_counter()
        if self.options.solver == "highs":
            arrays = Arrays.of(self.lp)
            blocks = arrays.blocks()
            self.pattern = arrays.pattern()
            warm = self.start is not None and self.start.pattern == self.pattern
            self.started_from = self.start.name if warm else None
            self.seconds["build"] = 0.0
            with quiet_stdout(not self.options.verbose):
                for cols, rows in blocks:
                    part = _Part(cols, rows)
                    self.parts.append(part)
                    given = arrays if len(blocks) == 1 else arrays.part(cols, rows)
                    part.arrays = given if self.reusable else None
                    try:
                        part.highs = _highs(given, self.options)
                    except SolverRefused as exc:
                        part.error = str(exc)
                        continue
                    if warm:
                        self._set_basis(part, self.start)
        else:
            self.prob, self.columns, self.rows = self.lp.to_pulp()
            self.seconds["build"] = time.perf_counter() - start
            self.engine = pulp.PULP_CBC_CMD(msg=self.options.verbose,
                                            timeLimit=self.options.time_limit,
                                            gapRel=self.options.mip_gap if self.lp.integer
                                            else None)
        self._timed("handover", start)

    @staticmethod
    def _set_basis(part: _Part, basis: Basis) -> None:
        import highspy

        statuses = _basis_statuses()
        found = highspy.HighsBasis()
        found.col_status = [statuses[s] for s in basis.col_status[part.cols].tolist()]
        found.row_status = [statuses[s] for s in basis.row_status[part.rows].tolist()]
        found.valid = True
        part.highs.setBasis(found)

    def basis(self, name: str) -> Basis | None:
        """The optimum's basis, called `name` (HiGHS only; None otherwise)."""
        if self.pattern is None or not self.parts or \
                any(p.outcome is None or p.outcome[0] is not Status.OPTIMAL
                    for p in self.parts):
            return None
        cols, rows = np.zeros(self.lp.n_cols, np.int8), np.zeros(self.lp.n_rows, np.int8)
        for part in self.parts:
            found = part.highs.getBasis()
            cols[part.cols] = np.fromiter(map(int, found.col_status), np.int8, len(part.cols))
            rows[part.rows] = np.fromiter(map(int, found.row_status), np.int8, len(part.rows))
        return Basis(name, self.pattern, cols, rows)

    def _run_part(self, part: _Part, deadline: float | None) -> None:
        import highspy

        if part.error is not None:
            return
        if deadline is not None:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                part.timed_out = True
                return
            part.highs.setOptionValue("time_limit", remaining)
        if part.highs.run() == highspy.HighsStatus.kError:
            found = part.highs.getModelStatus()
            part.error = f"HiGHS failed ({part.highs.modelStatusToString(found)})"
        if self.options.mip_progress:
            end_line()

    def run(self, parts: list[_Part] | None = None) -> None:
        """Run the solver on every block (or on `parts` only)."""
        start = time.perf_counter()
        if self.options.solver == "highs":
            parts = self.parts if parts is None else parts
            limit = self.options.time_limit
            deadline = None if limit is None else start + limit
            with quiet_stdout(not self.options.verbose):
                if self.threads == 1 or len(parts) <= 1:
                    for i, part in enumerate(parts, start=1):
                        if self.options.verbose and len(parts) > 1:  # which log is which
                            print(f"\nplanner: independent block {i} of {len(parts)} "
                                  f"({len(part.cols):,} columns, {len(part.rows):,} rows)",
                                  flush=True)
                        self._run_part(part, deadline)
                else:
                    with ThreadPoolExecutor(min(self.threads, len(parts))) as pool:
                        list(pool.map(lambda p: self._run_part(p, deadline), parts))
                for part in parts:
                    part.outcome = self._part_outcome(part)
        else:
            try:
                self.prob.solve(self.engine)
            except pulp.PulpSolverError as exc:
                self.error = str(exc)
        self._timed("run", start)

    def read_back(self, lp: LinearModel | None = None) -> Solution:
        start = time.perf_counter()
        solution = self._read_back(self.lp if lp is None else lp)
        self._timed("readback", start)
        self.seconds["solve"] = sum(self.seconds.get(k, 0.0)
                                    for k in ("handover", "run", "readback")) \
            - self.seconds.get("build", 0.0)
        solution.seconds = dict(self.seconds)  # as of now: `relaxed` adds to them later
        return solution

    def solve(self) -> Solution:
        if self.lp.n_cols == 0:
            return _solve_without_columns(self.lp, self.options.solver)
        self.hand_over()
        self.run()
        return self.read_back()

    def relaxed(self, rows: np.ndarray) -> Solution:
        """The LP with `rows` binding nothing (`LinearModel.relaxed`), solved on this run's
        HiGHS instances from their optimum: only the blocks holding one of `rows` run
        again. Those instances are put back as they were (bounds and basis), so each call
        starts from the same optimum whatever was relaxed before. The run must have solved
        to an optimum; CBC solves the relaxed LP afresh."""
        lp = self.lp.relaxed(rows)
        if self.options.solver != "highs":
            return solve(lp, self.options)
        lower, upper = lp.row_bounds()
        was_lower, was_upper = self.lp.row_bounds()
        touched = []
        for part in self.parts:
            local = np.flatnonzero(np.isin(part.rows, rows)).astype(np.int32)
            if len(local) and part.error is None:
                whole = part.rows[local]
                touched.append((part, local, whole, part.highs.getBasis(), part.outcome))
                part.highs.changeRowsBounds(len(local), local, lower[whole], upper[whole])
        try:
            self.run([part for part, *_ in touched])
            return self.read_back(lp)
        finally:
            for part, local, whole, basis, outcome in touched:
                part.highs.changeRowsBounds(len(local), local, was_lower[whole],
                                            was_upper[whole])
                part.highs.setBasis(basis)
                part.outcome, part.timed_out = outcome, False

    def resolve(self, lp: LinearModel) -> Solution | None:
        """Solve `lp` on this run's HiGHS instances when its matrix has this run's pattern
        (it differs only in numbers): costs, bounds and the coefficients that changed are
        set in place, and HiGHS starts from the last optimum. None when it cannot (another
        pattern, another solver, a block that failed, or a run not made `reusable`)."""
        if not self.reusable or self.options.solver != "highs" or not self.parts \
                or any(p.error is not None for p in self.parts):
            return None
        arrays = Arrays.of(lp)
        if arrays.pattern() != self.pattern:
            return None
        for part in self.parts:
            new = arrays if len(self.parts) == 1 else arrays.part(part.cols, part.rows)
            highs, cols, rows = part.highs, np.arange(new.n_cols, dtype=np.int32), \
                np.arange(new.n_rows, dtype=np.int32)
            highs.changeColsCost(new.n_cols, cols, new.cost)
            highs.changeColsBounds(new.n_cols, cols, new.lower, new.upper)
            highs.changeRowsBounds(new.n_rows, rows, new.row_lower, new.row_upper)
            changed = np.flatnonzero(new.value != part.arrays.value)
            column = np.searchsorted(new.start, changed, side="right") - 1
            for entry, col in zip(changed.tolist(), column.tolist()):
                highs.changeCoeff(int(new.index[entry]), col, float(new.value[entry]))
            part.arrays, part.timed_out = new, False
        self.lp = lp
        self.run()
        return self.read_back()

    def _part_outcome(self, part: _Part) -> tuple:
        """(status, message, values, duals) of one block; values only from an optimum."""
        if part.error is not None:
            return Status.ERROR, f"the highs solver failed: {part.error}", None, None
        if part.timed_out:
            return Status.TIME_LIMIT, _TIME_LIMIT_MESSAGE, None, None
        status, message = _highs_status(part.highs)
        incumbent = status is Status.TIME_LIMIT and part.highs.getInfo().primal_solution_status \
            == 2 and self.lp.integer  # a mixed-integer plan found, not proved best
        if status is not Status.OPTIMAL and not incumbent:
            return status, message, None, None
        if incumbent:
            message = (f"the time limit stopped the solver with a plan {_gap(part.highs):.2%} "
                       f"at most from the best possible; allow more time to prove it")
        solution = part.highs.getSolution()
        return (status, message, np.asarray(solution.col_value, float),
                np.asarray(solution.row_dual, float))

    def _highs_result(self) -> tuple[Status, str, np.ndarray | None, np.ndarray | None]:
        """Status of the whole LP from its blocks' statuses (`combine_statuses`), and its
        values and duals put back in the whole LP's positions; values are read only from
        blocks proved optimal."""
        values, duals = np.full(self.lp.n_cols, np.nan), np.zeros(self.lp.n_rows)
        for part in self.parts:
            _, _, col_value, row_dual = part.outcome
            if col_value is not None and len(col_value) == len(part.cols):
                values[part.cols] = col_value
                duals[part.rows] = row_dual
        status, message = combine_statuses([p.outcome[:2] for p in self.parts])
        return status, message, values, duals

    def _read_back(self, lp: LinearModel) -> Solution:
        solver = self.options.solver
        if solver == "highs":
            status, message, values, duals = self._highs_result()
        elif self.error is not None:
            status, message = Status.ERROR, f"the {solver} solver failed: {self.error}"
        else:
            values = np.array([v.varValue if v.varValue is not None else np.nan
                               for v in self.columns], float)
            duals = np.array([0.0 if c is None or c.pi is None else c.pi for c in self.rows],
                             float)
            status, message = _pulp_status(self.prob, self.options.time_limit is not None)
            if self.prob.sol_status != pulp.LpSolutionIntegerFeasible and \
                    status is Status.TIME_LIMIT:
                values = None  # stopped before a plan: PuLP hands back the LP relaxation's
        incumbent = status is Status.TIME_LIMIT and lp.integer and values is not None \
            and not np.isnan(values).any() and _integral(lp, values)  # not proved best
        if status is not Status.OPTIMAL and not incumbent:
            return Solution(status, message, solver)
        if values is None or len(values) != lp.n_cols or np.isnan(values).any():
            return Solution(Status.ERROR, "the solver reported an optimum without values",
                            solver)
        worst = infeasibility(lp, values)
        if worst > FEASIBILITY_TOL:
            return Solution(Status.ERROR, f"the solver's optimum violates a constraint by "
                                          f"{worst:.2g} (relative); try the other solver",
                            solver)
        objective = float(np.concatenate(lp.cost) @ values) if lp.n_cols else 0.0
        return Solution(status, message, solver, objective, values, duals)


def _integral(lp: LinearModel, values: np.ndarray) -> bool:
    """Whether the integer columns of `lp` are whole numbers at `values` (within 1e-6)."""
    cols = np.concatenate([lp.columns(family) for family in lp.integer])
    return bool((np.abs(values[cols] - np.round(values[cols])) <= 1e-6).all())


def _gap(highs) -> float:
    """The relative gap between a mixed-integer plan and the best bound HiGHS proved."""
    gap = highs.getInfo().mip_gap
    return float(gap) if np.isfinite(gap) else float("inf")


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


def solve(lp: LinearModel, options: SolveOptions = SolveOptions(),
          start: Basis | None = None) -> Solution:
    """Solve `lp` with `options.solver` (from `start` when it fits, see `Basis`); values
    and duals are filled only for a verified optimum. `options.threads`: how many
    independent blocks HiGHS may solve at once (default: one per CPU).

    `Solution.seconds`: build (PuLP problem, CBC only), handover, run, readback, and
    solve (= handover + run + readback, less build)."""
    return SolveRun(lp, options, start).solve()


def _solve_without_columns(lp: LinearModel, solver: str) -> Solution:
    """Nothing to decide (no arc, no activity): the rows hold at zero or nothing can.
    Solvers call such a model empty rather than feasible or not, so it is settled here."""
    x = np.zeros(0)
    if infeasibility(lp, x) > FEASIBILITY_TOL:
        return Solution(Status.INFEASIBLE, "no plan satisfies every constraint: nothing can "
                                           "be shipped, bought or made", solver)
    return Solution(Status.OPTIMAL, "optimal", solver, 0.0, x, np.zeros(lp.n_rows))
