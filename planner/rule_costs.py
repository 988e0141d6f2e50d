"""What each rule costs in total: the plan's cost minus the cost of the same plan without
that rule (all of a Limits or Restrictions row's instances together, a lane's cap or a
stockpile's floor in every period), by solving again.

A shadow price is the marginal view (cost per tonne or per percentage point of the bound);
this is the whole rule. By LP duality a rule whose every instance has a zero shadow price
costs exactly nothing (the optimum stays optimal without it), so by default only rules with
a nonzero shadow price are solved again ("binding"); "all" solves every rule again (a
check, slower), "none" leaves the column blank (large models).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .model import SourcingModel
from .solve import Solution, SolveRun

RULE_COSTS = ("none", "binding", "all")
# Rows of Limits and Restrictions rules, of lanes' caps and of stockpiles' floors.
RULE_FAMILIES = ("share_max", "share_min", "restriction", "lane_cap", "stockpile_floor")
DUAL_TOL = 1e-9
SAVED_TOL = 1e-8  # relative: two solves of one LP agree on the optimum to about 1e-9


def rule_names(family: str, keys: pd.DataFrame) -> np.ndarray:
    """The rule each row of `family` (one of RULE_FAMILIES) belongs to, as the Limits sheet
    names it: the Limits or Restrictions rule, `lane A -> B`, `floor K`."""
    if family == "lane_cap":
        return ("lane " + keys["from"].astype(str) + " -> " + keys["to"].astype(str)
                ).to_numpy(object)
    if family == "stockpile_floor":
        return ("floor " + keys["stockpile"].astype(str)).to_numpy(object)
    return keys["rule"].to_numpy(object)


def rule_rows(sm: SourcingModel) -> dict[str, np.ndarray]:
    """Rule name -> the LP rows of all its instances."""
    found: dict[str, list[np.ndarray]] = {}
    for family in RULE_FAMILIES:
        if family not in sm.lp.families:
            continue
        rows = pd.Series(sm.lp.rows_of(family))
        names = rule_names(family, sm.lp.families[family].keys)
        for rule, of_rule in rows.groupby(names, sort=False):  # one pass, not one per rule
            found.setdefault(rule, []).append(of_rule.to_numpy())
    return {rule: np.concatenate(parts) for rule, parts in found.items()}


def rule_costs(sm: SourcingModel, sol: Solution, run: SolveRun,
               which: str = "binding") -> dict[str, float | None]:
    """Rule name -> the plan's total cost less its cost without the rule (None when the
    plan without it could not be solved to optimality). `sol` is `run`'s optimum; each
    rule is relaxed on `run`'s solver instances, starting from that optimum."""
    if which == "none" or not sol.ok:
        return {}
    costs: dict[str, float | None] = {}
    for rule, rows in rule_rows(sm).items():
        if which == "binding" and not (np.abs(sol.duals[rows]) > DUAL_TOL).any():
            costs[rule] = 0.0
            continue
        without = run.relaxed(rows)
        if not without.ok:
            costs[rule] = None
            continue
        saved = sol.objective - without.objective
        # Within the solvers' tolerance of the optimum, a saving is none.
        costs[rule] = saved if saved > SAVED_TOL * max(1.0, abs(sol.objective)) else 0.0
    return costs
