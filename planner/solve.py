"""Solver choice, options, status mapping and the result of one solve.

One place owns the solvers: HiGHS through highspy (default; the model is handed
over as row-wise arrays in one call) and CBC through PuLP (fallback). Whatever
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

from .lp import EQ, GE, LE, LinearModel

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
    """PuLP's HiGHS interface, but the model goes over in one `passModel` call and the
    solution comes back as arrays, in the order of `columns` (PITFALLS, fast path)."""

    def __init__(self, columns: list[pulp.LpVariable], **kwargs):
        super().__init__(**kwargs)
        self.columns = columns
        self.model_status = None
        self.col_value = self.row_dual = None

    def buildSolverModel(self, lp):
        import highspy

        inf = highspy.kHighsInf
        for j, var in enumerate(self.columns):
            var.index = j
        n = len(self.columns)
        model = highspy.HighsLp()
        model.num_col_ = n
        model.col_cost_ = np.array([lp.objective.get(v, 0.0) for v in self.columns], float)
        model.col_lower_ = np.array([-inf if v.lowBound is None else v.lowBound
                                     for v in self.columns], float)
        model.col_upper_ = np.array([inf if v.upBound is None else v.upBound
                                     for v in self.columns], float)
        starts, index, value, lower, upper = [0], [], [], [], []
        for i, constraint in enumerate(lp._constraints.values()):
            constraint.index = i
            for var, coef in constraint.items():
                index.append(var.index)
                value.append(coef)
            starts.append(len(index))
            lb, ub = constraint.getLb(), constraint.getUb()
            lower.append(-inf if lb is None else lb)
            upper.append(inf if ub is None else ub)
        model.num_row_ = len(lower)
        model.row_lower_ = np.array(lower, float)
        model.row_upper_ = np.array(upper, float)
        model.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        model.a_matrix_.num_col_ = n
        model.a_matrix_.num_row_ = len(lower)
        model.a_matrix_.start_ = np.array(starts, np.int32)
        model.a_matrix_.index_ = np.array(index, np.int32)
        model.a_matrix_.value_ = np.array(value, float)
        lp.solverModel.passModel(model)

    def actualSolve(self, lp):
        with quiet_stdout(not self.msg):
            self.createAndConfigureSolver(lp)
            self.buildSolverModel(lp)
            self.callSolver(lp)
        highs = lp.solverModel
        self.model_status = highs.getModelStatus()
        solution = highs.getSolution()
        self.col_value = np.asarray(solution.col_value, float)
        self.row_dual = np.asarray(solution.row_dual, float)
        status, sol_status = _highs_to_pulp(self.model_status)
        lp.assignStatus(status, sol_status)
        return status


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
    _, _, _, rhs, sense, lower, upper, _ = lp.arrays()
    activity, size = lp.row_activity(x)
    scale = np.maximum(np.maximum(size, 1.0), np.abs(rhs))
    gap = activity - rhs
    viol = np.where(sense == LE, np.maximum(gap, 0),
                    np.where(sense == GE, np.maximum(-gap, 0), np.abs(gap))) / scale
    bound = np.maximum(np.maximum(lower - x, 0), np.maximum(x - upper, 0)) \
        / np.maximum(1.0, np.abs(x))
    return float(max(viol.max(initial=0.0), bound.max(initial=0.0)))


def solve(lp: LinearModel, solver: str = "highs", time_limit: float | None = None,
          verbose: bool = False) -> Solution:
    """Solve `lp`; values and duals are filled only for a verified optimum."""
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; choose one of {', '.join(SOLVERS)}")
    seconds = {}
    start = time.perf_counter()
    prob, columns, rows = lp.to_pulp()
    seconds["build"] = time.perf_counter() - start
    start = time.perf_counter()
    highs_status = None
    try:
        if solver == "highs":
            engine = BulkHiGHS(columns, msg=verbose, timeLimit=time_limit)
            prob.solve(engine)
            highs_status = engine.model_status
            values, duals = engine.col_value, engine.row_dual
        else:
            engine = pulp.PULP_CBC_CMD(msg=verbose, timeLimit=time_limit)
            prob.solve(engine)
            values = np.array([v.varValue if v.varValue is not None else np.nan
                               for v in columns], float)
            duals = np.array([c.pi if c.pi is not None else 0.0 for c in rows], float)
    except pulp.PulpSolverError as exc:
        seconds["solve"] = time.perf_counter() - start
        return Solution(Status.ERROR, f"the {solver} solver failed: {exc}", solver,
                        seconds=seconds)
    seconds["solve"] = time.perf_counter() - start
    status, message = _status(prob, time_limit is not None, highs_status)
    if status is not Status.OPTIMAL:
        return Solution(status, message, solver, seconds=seconds)
    if values is None or len(values) != lp.n_cols or np.isnan(values).any():
        return Solution(Status.ERROR, "the solver reported an optimum without values", solver,
                        seconds=seconds)
    worst = infeasibility(lp, values)
    if worst > FEASIBILITY_TOL:
        return Solution(Status.ERROR, f"the solver's optimum violates a constraint by "
                                      f"{worst:.2g} (relative); try the other solver", solver,
                        seconds=seconds)
    objective = float(np.concatenate(lp.cost) @ values) if lp.n_cols else 0.0
    return Solution(Status.OPTIMAL, message, solver, objective, values, duals, seconds)
