"""A linear program as arrays of columns, rows and (row, column, coefficient) terms,
mirrored into PuLP in one pass (`LinearModel.to_pulp`).

Rows are added a family at a time from arrays, so building is linear in the
model's size; families keep a table describing each row, used to report duals.
Variables are named by index (`x12`), never by a user id (PITFALLS #12).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pulp

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
    blocks: dict[str, tuple[int, int]] = field(default_factory=dict)
    families: dict[str, Family] = field(default_factory=dict)
    _rows: list[np.ndarray] = field(default_factory=list)
    _cols: list[np.ndarray] = field(default_factory=list)
    _coefs: list[np.ndarray] = field(default_factory=list)
    _rhs: list[np.ndarray] = field(default_factory=list)
    _sense: list[str] = field(default_factory=list)
    n_cols: int = 0
    n_rows: int = 0

    def add_columns(self, block: str, n: int, lower, upper, cost) -> np.ndarray:
        """Add n columns; `upper` may hold NaN for no bound. Returns their indices."""
        idx = np.arange(self.n_cols, self.n_cols + n)
        self.blocks[block] = (self.n_cols, n)
        self.lower.append(np.broadcast_to(np.asarray(lower, float), n).copy())
        upper = np.broadcast_to(np.asarray(upper, float), n).copy()
        self.upper.append(np.where(np.isnan(upper), np.inf, upper))
        self.cost.append(np.broadcast_to(np.asarray(cost, float), n).copy())
        self.n_cols += n
        return idx

    def columns(self, block: str) -> np.ndarray:
        start, n = self.blocks[block]
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
        twin.blocks, twin.families = dict(self.blocks), dict(self.families)
        return twin

    # Whole-model arrays ---------------------------------------------------------------
    def arrays(self):
        """(rows, cols, coefs, rhs, sense, lower, upper, cost) as flat arrays."""
        cat = (lambda parts, dtype: np.concatenate(parts) if parts else np.zeros(0, dtype))
        return (cat(self._rows, np.int64), cat(self._cols, np.int64), cat(self._coefs, float),
                cat(self._rhs, float), np.array(self._sense, dtype=object),
                cat(self.lower, float), cat(self.upper, float), cat(self.cost, float))

    def row_activity(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(Σ coef·x per row, Σ |coef·x| per row), the latter to scale tolerances."""
        rows, cols, coefs = (np.concatenate(a) if a else np.zeros(0)
                             for a in (self._rows, self._cols, self._coefs))
        terms = coefs * x[cols.astype(np.int64)]
        activity = np.bincount(rows.astype(np.int64), terms, minlength=self.n_rows)
        size = np.bincount(rows.astype(np.int64), np.abs(terms), minlength=self.n_rows)
        return activity, size

    def rows_of(self, family: str) -> np.ndarray:
        fam = self.families[family]
        return np.arange(fam.start, fam.start + len(fam.keys))

    def to_pulp(self) -> tuple[pulp.LpProblem, list[pulp.LpVariable], list[pulp.LpConstraint]]:
        rows, cols, coefs, rhs, sense, lower, upper, cost = self.arrays()
        prob = pulp.LpProblem(self.name, pulp.LpMinimize)
        variables = [pulp.LpVariable(f"x{j}", lb, None if np.isinf(ub) else ub)
                     for j, lb, ub in zip(range(self.n_cols), lower.tolist(), upper.tolist())]
        nz = np.flatnonzero(cost)
        prob.setObjective(pulp.LpAffineExpression(
            [(variables[j], c) for j, c in zip(nz.tolist(), cost[nz].tolist())]))
        prob.addVariables(variables)
        order = np.argsort(rows, kind="stable")
        rows, cols, coefs = rows[order], cols[order], coefs[order]
        bounds = np.searchsorted(rows, np.arange(self.n_rows + 1))
        cols_l, coefs_l = cols.tolist(), coefs.tolist()
        constraints = {}
        for i in range(self.n_rows):
            a, b = bounds[i], bounds[i + 1]
            expr = pulp.LpAffineExpression(
                [(variables[j], c) for j, c in zip(cols_l[a:b], coefs_l[a:b])])
            constraints[f"c{i}"] = pulp.LpConstraint(expr, _PULP_SENSE[sense[i]], f"c{i}",
                                                     float(rhs[i]))
        prob.extend(constraints)
        return prob, variables, list(constraints.values())
