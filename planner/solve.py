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
from dataclasses import dataclass, field
from enum import Enum

import numpy as np
import pulp

from .lp import LinearModel

SOLVERS = ("highs", "cbc")
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


class BulkHiGHS(pulp.HiGHS):
    """PuLP's HiGHS interface with a bulk hand-over: the model goes to HiGHS in one
    `passModel` call as column-wise (CSC) numpy arrays, and the solution comes back as
    arrays (PITFALLS, fast path).

    With `model` (a LinearModel) the arrays are taken from it directly and the PuLP
    problem passed to `solve` only carries PuLP's status fields: creating one PuLP object
    per variable and per term costs more than the whole solve on large models (about 10 s
    and 800 MB at a million variables, see bench/RESULTS.md). Without `model`, the
    problem's PuLP constraints are read (in one pass) and the solution is in the order of
    `columns`.
    """

    def __init__(self, columns: list[pulp.LpVariable] | None = None, *,
                 model: LinearModel | None = None, **kwargs):
        super().__init__(**kwargs)
        self.columns = columns
        self.model = model
        self.model_status = None
        self.col_value = self.row_dual = None

    def _arrays_from_pulp(self, lp):
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
        return cost, lower, upper, np.array(row_lower, float), np.array(row_upper, float), \
            twin.matrix()

    def buildSolverModel(self, lp):
        import highspy

        if self.model is not None:
            m = self.model
            cost, lower, upper = (np.concatenate(a) if a else np.zeros(0)
                                  for a in (m.cost, m.lower, m.upper))
            row_lower, row_upper = m.row_bounds()
            start, index, value = m.matrix()
        else:
            cost, lower, upper, row_lower, row_upper, (start, index, value) = \
                self._arrays_from_pulp(lp)
        inf = highspy.kHighsInf
        lower, upper = np.clip(lower, -inf, inf), np.clip(upper, -inf, inf)
        row_lower, row_upper = np.clip(row_lower, -inf, inf), np.clip(row_upper, -inf, inf)
        # One call with numpy arrays (HighsLp's attribute setters convert element by
        # element: 0.6 s at a million variables, against 0.03 s here). An all-continuous
        # integrality vector: HiGHS solves the same LP (same iterations, same duals).
        n = len(cost)
        status = lp.solverModel.passModel(
            n, len(row_lower), len(value), int(highspy.MatrixFormat.kColwise),
            int(highspy.ObjSense.kMinimize), 0.0, cost, lower, upper, row_lower, row_upper,
            start, index, value, np.zeros(n, np.int32))
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
        return Status.TIME_LIMIT, "the time limit stopped the solver before it proved an " \
                                  "optimum; allow more time"
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


class SolveRun:
    """One solve in its steps, so that each can be timed on its own (bench/run.py):
    `hand_over` (the model to the solver), `run` (the solver), `read_back` (values,
    duals, status, our feasibility check). `solve` runs them in this order."""

    def __init__(self, lp: LinearModel, solver: str = "highs", time_limit: float | None = None,
                 verbose: bool = False):
        if solver not in SOLVERS:
            raise ValueError(f"unknown solver {solver!r}; choose one of {', '.join(SOLVERS)}")
        self.lp, self.solver, self.time_limit, self.verbose = lp, solver, time_limit, verbose
        self.seconds: dict[str, float] = {}
        self.prob = self.engine = self.columns = self.rows = None
        self.error: str | None = None

    def _timed(self, name: str, start: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

    def hand_over(self) -> None:
        start = time.perf_counter()
        if self.solver == "highs":
            # The PuLP problem carries PuLP's status fields; the model itself goes over as
            # arrays (see BulkHiGHS).
            self.prob = pulp.LpProblem(self.lp.name, pulp.LpMinimize)
            self.engine = BulkHiGHS(model=self.lp, msg=self.verbose, timeLimit=self.time_limit)
            self.seconds["build"] = 0.0
            try:
                with quiet_stdout(not self.verbose):
                    self.engine.createAndConfigureSolver(self.prob)
                    self.engine.buildSolverModel(self.prob)
            except pulp.PulpSolverError as exc:
                self.error = str(exc)
        else:
            self.prob, self.columns, self.rows = self.lp.to_pulp()
            self.seconds["build"] = time.perf_counter() - start
            self.engine = pulp.PULP_CBC_CMD(msg=self.verbose, timeLimit=self.time_limit)
        self._timed("handover", start)

    def run(self) -> None:
        start = time.perf_counter()
        if self.error is None:
            try:
                if self.solver == "highs":
                    with quiet_stdout(not self.verbose):
                        self.engine.callSolver(self.prob)
                else:
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

    def _read_back(self) -> Solution:
        lp, solver, seconds = self.lp, self.solver, self.seconds
        if self.error is not None:
            return Solution(Status.ERROR, f"the {solver} solver failed: {self.error}", solver,
                            seconds=seconds)
        highs_status = None
        if solver == "highs":
            self.engine.readBack(self.prob)
            highs_status = self.engine.model_status
            values, duals = self.engine.col_value, self.engine.row_dual
        else:
            values = np.array([v.varValue if v.varValue is not None else np.nan
                               for v in self.columns], float)
            duals = np.array([c.pi if c.pi is not None else 0.0 for c in self.rows], float)
        status, message = _status(self.prob, self.time_limit is not None, highs_status)
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


def solve(lp: LinearModel, solver: str = "highs", time_limit: float | None = None,
          verbose: bool = False) -> Solution:
    """Solve `lp`; values and duals are filled only for a verified optimum.

    `Solution.seconds`: build (PuLP problem, CBC only), handover, run, readback, and
    solve (= handover + run + readback, less build)."""
    if lp.n_cols == 0:
        return _solve_without_columns(lp, solver)
    run = SolveRun(lp, solver, time_limit, verbose)
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
