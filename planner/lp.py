"""A linear program as arrays of columns, rows and (row, column, coefficient) terms,
mirrored into PuLP in one pass (`LinearModel.to_pulp`).

Rows are added a family at a time from arrays, so building is linear in the
model's size; families keep a table describing each row, used to report duals.
Variables are named by index (`x12`), never by a user id: PuLP turns `-`, spaces, `/`
and the like into `_`, so ids `S-1` and `S_1` would collide (an opaque solver error).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pulp
from scipy.sparse import csc_matrix

pulp.set_v4_migration_warnings(False)  # the warning per LpVariable doubles creation time

LE, GE, EQ = "<=", ">=", "="
_PULP_SENSE = {LE: pulp.LpConstraintLE, GE: pulp.LpConstraintGE, EQ: pulp.LpConstraintEQ}


@dataclass
class Family:
    """A block of constraints of one kind; `keys` describes each row in order."""

    name: str
    keys: pd.DataFrame
    start: int
    sense: str


@dataclass
class LinearModel:
    """Columns, rows and terms of an LP, mirrored into a PuLP problem by `to_pulp`."""

    name: str = "planner"
    lower: list[np.ndarray] = field(default_factory=list)
    upper: list[np.ndarray] = field(default_factory=list)
    cost: list[np.ndarray] = field(default_factory=list)
    variables: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (first, n)
    families: dict[str, Family] = field(default_factory=dict)
    _rows: list[np.ndarray] = field(default_factory=list)
    _cols: list[np.ndarray] = field(default_factory=list)
    _coefs: list[np.ndarray] = field(default_factory=list)
    _rhs: list[np.ndarray] = field(default_factory=list)
    _sense: list[str] = field(default_factory=list)
    n_cols: int = 0
    n_rows: int = 0
    integer: set[str] = field(default_factory=set)   # variables whose columns are integer

    def add_columns(self, variable: str, n: int, lower, upper, cost) -> np.ndarray:
        """Add n columns of one variable (`flow`, `unmet`, ...); `upper` may hold NaN for no
        bound. Returns their indices."""
        idx = np.arange(self.n_cols, self.n_cols + n)
        self.variables[variable] = (self.n_cols, n)
        self.lower.append(np.broadcast_to(np.asarray(lower, float), n).copy())
        upper = np.broadcast_to(np.asarray(upper, float), n).copy()
        self.upper.append(np.where(np.isnan(upper), np.inf, upper))
        self.cost.append(np.broadcast_to(np.asarray(cost, float), n).copy())
        self.n_cols += n
        return idx

    def columns(self, variable: str) -> np.ndarray:
        start, n = self.variables[variable]
        return np.arange(start, start + n)

    def add_rows(self, family: str, keys: pd.DataFrame, sense: str, rhs,
                 rows: np.ndarray, cols: np.ndarray, coefs) -> None:
        """Rows `keys` (one per constraint) with terms (local row, column, coefficient)."""
        n = len(keys)
        self.families[family] = Family(family, keys.reset_index(drop=True), self.n_rows, sense)
        self._rhs.append(np.broadcast_to(np.asarray(rhs, float), n).copy())
        self._sense.extend([sense] * n)
        self._rows.append(np.asarray(rows, np.int64) + self.n_rows)
        self._cols.append(np.asarray(cols, np.int64))
        self._coefs.append(np.broadcast_to(np.asarray(coefs, float), len(rows)).copy())
        self.n_rows += n

    def add_terms(self, rows: np.ndarray, cols: np.ndarray, coefs) -> None:
        """Extra terms in existing rows (global row indices)."""
        self._rows.append(np.asarray(rows, np.int64))
        self._cols.append(np.asarray(cols, np.int64))
        self._coefs.append(np.broadcast_to(np.asarray(coefs, float), len(rows)).copy())

    def copy(self) -> "LinearModel":
        """A copy that can grow without changing this model (arrays are shared, not mutated)."""
        twin = copy.copy(self)
        for name in ("lower", "upper", "cost", "_rows", "_cols", "_coefs", "_rhs", "_sense"):
            setattr(twin, name, list(getattr(self, name)))
        twin.variables, twin.families = dict(self.variables), dict(self.families)
        twin.integer = set(self.integer)
        return twin

    def integrality(self) -> np.ndarray:
        """1 for each column of an integer variable, else 0 (HiGHS's integrality)."""
        found = np.zeros(self.n_cols, np.int32)
        for name in self.integer:
            found[self.columns(name)] = 1
        return found

    def fixed(self, variable: str, values: np.ndarray) -> "LinearModel":
        """A continuous copy in which the columns of `variable` are fixed at `values`."""
        twin = self.copy()
        i = list(self.variables).index(variable)
        twin.lower[i] = np.asarray(values, float).copy()
        twin.upper[i] = np.asarray(values, float).copy()
        twin.integer = set()
        return twin

    def with_cost(self, variable: str, cost: np.ndarray) -> "LinearModel":
        """A copy in which the columns of `variable` cost `cost`."""
        return self._with("cost", variable, cost)

    def with_upper(self, variable: str, upper: np.ndarray) -> "LinearModel":
        """A copy in which the columns of `variable` are at most `upper`."""
        return self._with("upper", variable, upper)

    def _with(self, which: str, variable: str, values: np.ndarray) -> "LinearModel":
        twin = self.copy()
        getattr(twin, which)[list(self.variables).index(variable)] = \
            np.asarray(values, float).copy()
        return twin

    def relaxed(self, rows: np.ndarray) -> "LinearModel":
        """A copy in which `rows` bind nothing (their right-hand side moved to infinity, away
        from their sense); the rows stay, so every other row keeps its index."""
        twin = self.copy()
        rhs = np.concatenate(self._rhs) if self._rhs else np.zeros(0)
        sense = np.array(self._sense, dtype=object)[rows]
        rhs[rows] = np.where(sense == LE, np.inf, np.where(sense == GE, -np.inf, rhs[rows]))
        twin._rhs = [rhs]
        return twin

    def append(self, other: "LinearModel", name: str, cost_scale: float = 1.0) -> tuple[int, int]:
        """`other`'s columns (variable `name`, costs times `cost_scale`) and rows (family
        `name`, each row keeping its sense) as a block of this model, sharing no column
        with it until terms are added. Returns the block's first column and first row."""
        col0, row0 = self.n_cols, self.n_rows
        lower, upper, cost = (np.concatenate(a) if a else np.zeros(0)
                              for a in (other.lower, other.upper, other.cost))
        self.add_columns(name, other.n_cols, lower, upper, cost * cost_scale)
        rows, cols, coefs = other.terms()
        self.families[name] = Family(name, pd.DataFrame({"row": np.arange(other.n_rows)}),
                                     row0, "mixed")
        self._rhs.append(np.concatenate(other._rhs) if other._rhs else np.zeros(0))
        self._sense.extend(other._sense)
        self._rows.append(rows + row0)
        self._cols.append(cols + col0)
        self._coefs.append(coefs)
        self.n_rows += other.n_rows
        return col0, row0

    # Whole-model arrays ---------------------------------------------------------------
    def terms(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All terms as three flat arrays. The parts are joined once and kept joined (the
        lists then hold one array each), so repeated calls do not copy the terms again."""
        if not self._rows:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        if len(self._rows) > 1:
            self._rows = [np.concatenate(self._rows)]
            self._cols = [np.concatenate(self._cols)]
            self._coefs = [np.concatenate(self._coefs)]
        return self._rows[0], self._cols[0], self._coefs[0]

    def row_activity(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(Σ coef·x per row, Σ |coef·x| per row), the latter to scale tolerances."""
        rows, cols, coefs = self.terms()
        terms = coefs * x[cols]
        activity = np.bincount(rows, terms, minlength=self.n_rows)
        size = np.bincount(rows, np.abs(terms), minlength=self.n_rows)
        return activity, size

    def row_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) of every row's activity, ±inf where a side is open."""
        rhs = np.concatenate(self._rhs) if self._rhs else np.zeros(0)
        sense = np.array(self._sense, dtype=object)
        lower = np.where(sense == LE, -np.inf, rhs)
        upper = np.where(sense == GE, np.inf, rhs)
        return lower, upper

    def matrix(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The constraint matrix column-wise (start, index, value), HiGHS's CSC layout.

        Each column's entries are in row order; terms given twice for one (row, column)
        are summed (as `row_activity` counts them) and exact zeros are left out.
        """
        rows, cols, coefs = self.terms()
        m = csc_matrix((coefs, (rows, cols)), shape=(self.n_rows, self.n_cols))
        m.sum_duplicates()
        m.eliminate_zeros()
        m.sort_indices()
        return m.indptr.astype(np.int32, copy=False), m.indices.astype(np.int32, copy=False), \
            m.data

    def rows_of(self, family: str) -> np.ndarray:
        fam = self.families[family]
        return np.arange(fam.start, fam.start + len(fam.keys))

    def to_pulp(self) -> tuple[pulp.LpProblem, list[pulp.LpVariable], list[pulp.LpConstraint]]:
        """The model as a PuLP problem: variables `x{j}`, constraints `c{i}` (used for CBC);
        the constraint list has None for a row that binds nothing (`relaxed`).

        Terms of a row are taken from the column-wise matrix, so duplicates are summed
        and each expression is built by one C-level dict construction.
        """
        lower, upper, cost = (np.concatenate(a) if a else np.zeros(0)
                              for a in (self.lower, self.upper, self.cost))
        prob = pulp.LpProblem(self.name, pulp.LpMinimize)
        cat = np.where(self.integrality() == 1, pulp.LpInteger, pulp.LpContinuous).tolist()
        variables = [pulp.LpVariable(f"x{j}", None if lb == -np.inf else lb,
                                     None if ub == np.inf else ub, c)
                     for j, lb, ub, c in zip(range(self.n_cols), lower.tolist(),
                                             upper.tolist(), cat)]
        nz = np.flatnonzero(cost)
        prob.setObjective(pulp.LpAffineExpression(
            zip(map(variables.__getitem__, nz.tolist()), cost[nz].tolist())))
        prob.addVariables(variables)
        start, index, value = self.matrix()
        col_of = np.repeat(np.arange(self.n_cols), np.diff(start))
        order = np.argsort(index, kind="stable")  # row by row, columns ascending in a row
        cols_l, coefs_l = col_of[order].tolist(), value[order].tolist()
        bounds = np.searchsorted(index[order], np.arange(self.n_rows + 1)).tolist()
        del col_of, order
        rhs_l = (np.concatenate(self._rhs) if self._rhs else np.zeros(0)).tolist()
        sense = self._sense
        get = variables.__getitem__
        constraints = {}
        for i in range(self.n_rows):
            if not np.isfinite(rhs_l[i]):  # a relaxed row: no constraint (see `relaxed`)
                continue
            a, b = bounds[i], bounds[i + 1]
            expr = pulp.LpAffineExpression(zip(map(get, cols_l[a:b]), coefs_l[a:b]))
            constraints[f"c{i}"] = pulp.LpConstraint(expr, _PULP_SENSE[sense[i]], f"c{i}",
                                                     rhs_l[i])
        prob.extend(constraints)
        return prob, variables, [constraints.get(f"c{i}") for i in range(self.n_rows)]
