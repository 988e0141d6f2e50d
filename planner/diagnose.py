"""Infeasible, unbounded and time-limited scenarios explained in a buyer's words.

An infeasible scenario is re-solved as an *elastic* model: every hard demand, share
limit, restriction (ban, exclude, quota), lane cap, supplier minimum and stockpile
floor gets a non-negative violation column, and the weighted sum of violations is
minimised. Physical limits (capacities, yields, balances) are never relaxed.

Priority (documented in docs/modelling.md): by default demand is relaxed first —
the diagnosis says how much demand cannot be met while every rule holds, because
trade rules are not the buyer's to break; `relax_first="rules"` instead keeps
demand and says how far rules would have to move. The other side is weighted
RULE_WEIGHT times heavier, so it moves only when nothing else can.

The same elastic model, with the plan's costs minimised second, is the
best-effort plan (`planner run --best-effort`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .lp import LE, LinearModel
from .model import SourcingModel
from .inputs import Inputs
from .network import CUSTOMER, stranded, stranded_sentence
from .headlines import figures
from .report import rounded
from .sheets import DIAGNOSIS
from .solve import Solution, SolveOptions, Status, solve

DIAGNOSIS_COLUMNS = DIAGNOSIS.names
RELAX_FIRST = ("demand", "rules")
RULE_WEIGHT = 100.0
TOL = 1e-6

# Families that may be relaxed, with the sign of the violation term in their rows.
_ELASTIC = {"demand": +1.0, "share_max": -1.0, "share_min": +1.0, "restriction": -1.0,
            "lane_cap": -1.0, "supplier_min": +1.0, "stockpile_floor": +1.0}


@dataclass
class Elastic:
    lp: LinearModel
    violations: pd.DataFrame   # family, local row, column of the violation, weight


def elastic_model(sm: SourcingModel, relax_first: str = "demand") -> Elastic:
    """The model with a violation column on every relaxable row; costs set to zero."""
    lp = sm.lp.copy()
    lp.cost = [np.zeros_like(c) for c in lp.cost]
    parts = []
    soft_demand = sm.network.demand["unmet_penalty"].notna().to_numpy()
    for family, sign in _ELASTIC.items():
        if family not in lp.families:
            continue
        rows = lp.rows_of(family)
        local = np.arange(len(rows))
        if family == "demand":
            local = local[~soft_demand]  # soft demand already has its own unmet column
        if not len(local):
            continue
        is_demand = family == "demand"
        weight = 1.0 if (is_demand == (relax_first == "demand")) else RULE_WEIGHT
        cols = lp.add_columns(f"violation_{family}", len(local), 0.0, np.nan, weight)
        lp.add_terms(rows[local], cols, sign)
        parts.append(pd.DataFrame({"family": family, "local": local, "col": cols,
                                   "weight": weight}))
    violations = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["family", "local", "col", "weight"])
    return Elastic(lp, violations)


def solve_elastic(sm: SourcingModel, options: SolveOptions,
                  least_cost: bool) -> tuple[Elastic, Solution]:
    """Phase 1: least weighted violation. Phase 2 (least_cost): least plan cost among the
    plans with that violation, so the best-effort plan is also a sensible plan."""
    elastic = elastic_model(sm, options.relax_first)
    first = solve(elastic.lp, options)
    if not first.ok or not least_cost:
        return elastic, first
    lp = elastic.lp
    cols = elastic.violations["col"].to_numpy(np.int64)
    weights = elastic.violations["weight"].to_numpy(float)
    lp.cost = [c.copy() for c in sm.lp.cost] + [np.zeros(n) for _, n in
                                                 list(lp.variables.values())[len(sm.lp.variables):]]
    bound = first.objective * (1 + 1e-9) + 1e-7  # keep phase 1's violation, to solver precision
    lp.add_rows("violation_total", pd.DataFrame({"bound": [bound]}), LE, bound,
                np.zeros(len(cols), np.int64), cols, weights)
    # Only what phase 1 relaxed may be relaxed: the precision allowance is not spent on a
    # sliver of something else that saves cost (999.9999 t of 1,000 t delivered).
    for family in elastic.violations["family"].unique():
        name = f"violation_{family}"
        lp = lp.with_upper(name, np.where(first.values[lp.columns(name)] > TOL, np.inf, 0.0))
    second = solve(lp, options)
    return elastic, second if second.ok else first


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def structural_causes(sm: SourcingModel) -> list[str]:
    """Hard demand that no arc reaches, whose every route a ban/exclusion closes, or whose
    every direct source has zero capacity in that period."""
    net, lp = sm.network, sm.lp
    flows = net.flows.assign(col=lp.columns("flow"))
    demand = net.demand.reset_index(drop=True)
    hard = demand[demand["unmet_penalty"].isna()]
    into = flows[flows["to_kind"] == CUSTOMER]
    closed_by: dict[int, set[str]] = {}
    if "restriction" in lp.families:
        fam = lp.families["restriction"]
        zero = fam.keys["bound"].to_numpy(float) == 0
        rows, cols, _ = lp.terms()
        start = fam.start
        in_fam = (rows >= start) & (rows < start + len(fam.keys))
        for r, c in zip(rows[in_fam] - start, cols[in_fam]):
            if zero[r]:
                closed_by.setdefault(int(c), set()).add(fam.keys["rule"].iat[r])
    dead = {(n, p) for n, p, c in zip(net.offers["supplier"], net.offers["period"],
                                      net.offers["capacity_t"]) if c is not None and c <= 0}
    empty = set(net.sites["site"][net.sites["capacity_t"].eq(0.0)]) | set(
        net.stockpiles["stockpile"][(net.stockpiles["initial_t"] <= 0)
                                    & ~net.stockpiles["intake"]])
    source = dict(zip(flows["col"], zip(flows["from"], flows["period"])))
    causes = []
    groups = into.groupby(["to", "material", "period"])["col"].apply(list).to_dict()
    for d in hard.itertuples(index=False):
        routes = groups.get((d.customer, d.material, d.period), [])
        if d.quantity_t <= TOL:
            continue
        if not routes:
            causes.append(f"No supplier, site or stockpile can ship {d.material} to "
                          f"{d.customer} in {d.period}: there is no route (check Suppliers, "
                          f"Processes, Freight and Lanes, or what the scenario drops).")
        elif all(c in closed_by for c in routes):
            rules = sorted(set().union(*(closed_by[c] for c in routes)))
            causes.append(f"Every route of {d.material} to {d.customer} in {d.period} is closed "
                          f"by {', '.join(rules)}.")
        elif all(source[c] in dead or source[c][0] in empty for c in routes):
            names = sorted({source[c][0] for c in routes})
            causes.append(f"Every source that ships {d.material} to {d.customer} has zero "
                          f"capacity in {d.period}: {', '.join(names)}.")
    return causes


def _pct(*shares: float) -> list[str]:
    """Shares as percentages, told apart like `figures` (65% rather than 65.0%)."""
    texts = figures(*(100 * x for x in shares), least=1, most=4)
    if all(t.endswith(".0") for t in texts):
        texts = [t[:-2] for t in texts]
    return [t + "%" for t in texts]


def _describe(sm: SourcingModel, elastic: Elastic, sol: Solution) -> list[dict]:
    lp, x = sm.lp, sol.values
    out = []
    v = elastic.violations.assign(amount=x[elastic.violations["col"].to_numpy(np.int64)])
    v = v[v["amount"] > TOL]
    for family, rows in v.groupby("family", sort=False):
        keys = lp.families[family].keys.iloc[rows["local"].to_numpy()].reset_index(drop=True)
        amounts = rows["amount"].to_numpy(float)
        for k, e in zip(keys.to_dict("records"), amounts):
            row = {"kind": "relaxation", "rule": k.get("rule"), "material": k.get("material"),
                   "period": k.get("period"), "customer": k.get("customer"),
                   "member": k.get("member")}
            if family == "demand":
                q = float(k["quantity_t"])
                most, of = figures(q - e, q)
                row.update(rule=None, customer=k["customer"], current=q, needed=q - e,
                           change=-e, unit="t",
                           explanation=f"{k['customer']} {k['material']} in {k['period']} can "
                                       f"receive at most {most} t of {of} t")
            elif family in ("share_max", "share_min"):
                stage = float(x[int(k["volume_col"])])
                bound = float(k["bound"])
                need = bound + (e / stage if family == "share_max" else -e / stage)
                who = " ".join(str(s) for s in (k.get("member"),) if s)
                need_pct, bound_pct = _pct(need, bound)
                row.update(current=bound, needed=need, change=need - bound, unit="share",
                           action=f"{'loosen' if family == 'share_max' else 'lower'} "
                                  f"{k['rule']} to {need_pct}",
                           explanation=f"{k['rule']} ({k['stage']}, {who}) for {k['material']} "
                                       f"in {k['period']} would need {need_pct} instead of "
                                       f"{bound_pct}")
            elif family in ("restriction", "lane_cap"):
                if family == "lane_cap":
                    row["rule"] = f"lane {k['from']} -> {k['to']}"
                    bound = float(k["max_t"])
                else:
                    bound = float(k["bound"])
                what = k.get("type", "lane cap")
                scope = (f" for {k['material']}" if k.get("material") else "") \
                    + f" in {k['period']}"
                row.update(current=bound, needed=bound + e, change=e, unit="t")
                more, needed, now = figures(e, bound + e, bound)
                if what == "ban":
                    row["explanation"] = (f"{what} {row['rule']}{scope} closes routes that "
                                          f"need {more} t: lift it or make it a quota of at "
                                          f"least {more} t")
                    row["action"] = f"lift {row['rule']} (or make it a quota of {more} t)"
                elif what == "exclude":
                    # An exclude counts what its nodes ship and what they receive: a tonne
                    # through an excluded site counts twice, and no quota stands for it.
                    row["explanation"] = (f"exclude {row['rule']}{scope} keeps out nodes the "
                                          f"plan needs ({more} t they would ship and "
                                          f"receive): lift it")
                    row["action"] = f"lift {row['rule']}"
                else:
                    row["explanation"] = (f"{what} {row['rule']}{scope} must allow {more} t "
                                          f"more ({needed} t instead of {now} t)")
                    row["action"] = f"raise {row['rule']} to {needed} t"
            elif family == "supplier_min":
                bound = float(k["min_t"])
                less, to = figures(e, bound - e, bound)[:2]
                row.update(rule=f"min_t {k['supplier']}", member=k["supplier"], current=bound,
                           needed=bound - e, change=-e, unit="t",
                           action=f"lower {k['supplier']}'s minimum to {to} t",
                           explanation=f"{k['supplier']}'s minimum offtake of {k['material']} in "
                                       f"{k['period']} must fall by {less} t (to {to} t)")
            else:  # stockpile_floor
                bound = float(k["min_level_t"])
                less, to = figures(e, bound - e, bound)[:2]
                row.update(rule=f"floor {k['stockpile']}", member=k["stockpile"],
                           current=bound, needed=bound - e, change=-e, unit="t",
                           action=f"lower the {k['stockpile']} floor to {to} t",
                           explanation=f"{k['stockpile']} floor in {k['period']} must fall by "
                                       f"{less} t (to {to} t)")
            out.append(row)
    return out


def _both_ways(sm: SourcingModel, options: SolveOptions, found: list[dict]) -> list[dict]:
    """When rules take part in the infeasibility, the way out the chosen order did not
    take: the elastic model solved in the other order. Returns the sentence giving both
    ways out (led by the rule when the shortfall would be the whole demand) and the other
    order's relaxations (kind "alternative"); nothing when both orders agree (demand
    beyond what the suppliers have, a stockpile floor above what refills can reach)."""
    other = "rules" if options.relax_first == "demand" else "demand"
    elastic, solved = solve_elastic(sm, replace(options, relax_first=other), False)
    if not solved.ok:
        return []
    alternative = _describe(sm, elastic, solved)
    by_order = {options.relax_first: found, other: alternative}
    shortfall = [r for r in by_order["demand"] if r.get("unit") == "t" and r["rule"] is None]
    rules = [r for r in by_order["rules"] if r["rule"] is not None]
    if not shortfall or not rules or len(shortfall) != len(by_order["demand"]):
        return []
    short_t = figures(sum(-r["change"] for r in shortfall))[0]
    where = sorted({f"{r['customer']} {r['material']}" for r in shortfall})
    shortfall_text = (f"accept a shortfall of {short_t} t ({', '.join(where[:3])}"
                      + (f" and {len(where) - 3} more" if len(where) > 3 else "") + ")")
    rules_text = "; ".join(r["action"] for r in rules[:3]) + \
        (f"; and {len(rules) - 3} more (see below)" if len(rules) > 3 else "")
    whole = all(abs(r["needed"]) <= TOL for r in shortfall)
    ways = (f"either {rules_text}, or {shortfall_text}"
            if whole or options.relax_first == "rules"
            else f"either {shortfall_text}, or {rules_text}")
    lead = {"explanation": f"Rules are in the way: {ways}.", "kind": "either"}
    return [lead] + [dict(r, kind="alternative") for r in alternative]


def diagnose(name: str, sm: SourcingModel, sol: Solution,
             options: SolveOptions = SolveOptions(),
             inputs: Inputs | None = None) -> tuple[pd.DataFrame, Solution | None]:
    """Diagnosis rows for a scenario that is not optimal, and for an infeasible one the
    elastic solution (least violation, then least cost when `options.best_effort`).
    With the scenario's `inputs`, routes that no Freight or Lanes cost opens come first."""
    rows: list[dict] = []
    relaxed = None
    if sol.status is Status.INFEASIBLE:
        if inputs is not None:
            rows += [{"kind": "structural", "explanation": _sentence(stranded_sentence(r))}
                     for r in stranded(inputs).to_dict("records")]
        rows += [{"kind": "structural", "explanation": c} for c in structural_causes(sm)]
        elastic, relaxed = solve_elastic(sm, options, options.best_effort)
        if relaxed.ok:
            found = _describe(sm, elastic, relaxed)
            rows += _both_ways(sm, options, found)
            rows += found
            if not found:
                rows.append({"kind": "note", "explanation": "the elastic model needs no "
                             "relaxation: the solver's infeasibility is numerical; try the "
                             "other solver (--solver)"})
        else:
            rows.append({"kind": "note", "explanation": f"the relaxed model could not be solved "
                                                        f"either ({relaxed.status.value}: "
                                                        f"{relaxed.message})"})
    elif sol.status is Status.TIME_LIMIT:
        rows.append({"kind": "advice", "explanation": "the solver stopped at the time limit "
                     "before proving an optimum; run again with a larger --time-limit (or "
                     "Settings time_limit_s), or fewer scenarios at once"})
    elif sol.status is Status.UNBOUNDED:
        rows.append({"kind": "advice", "explanation": "the cost can fall without limit: look "
                     "for a negative cost (a scenario add or multiply can make one) on a route "
                     "with blank (unlimited) capacity, and give that supplier or site a "
                     "capacity"})
    elif sol.status is Status.ERROR:
        rows.append({"kind": "advice", "explanation": f"{sol.message}; try the other solver "
                                                      f"(--solver cbc or highs)"})
    table = pd.DataFrame(rows, columns=DIAGNOSIS_COLUMNS)
    table["scenario"], table["status"] = name, sol.status.value
    for column in ("current", "needed", "change"):  # no solver dust in the plan
        values = pd.to_numeric(table[column], errors="coerce")
        table[column] = [None if pd.isna(v) else float(rounded(v)) for v in values]
    return table, relaxed if relaxed is not None and relaxed.ok else None
