"""The price of diversification: sweep one max-share cap from loose to tight, solve each
point (in parallel, like scenarios), and find the tightest feasible cap by bisection.

The swept rule is added to the base data next to the workbook's own rules, so it
tightens whatever they already impose. Several members cap their combined share.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .plan import run_tasks
from .report import TOL, ScenarioReport, horizon_shares, rounded
from .sheets import FRONTIER, FRONTIER_SUMMARY
from .inputs import BASE, ROW, Inputs
from .solve import SolveOptions

FRONTIER_COLUMNS = FRONTIER.names
RULE = "frontier cap"
BISECTION_STEPS = 12


class FrontierError(ValueError):
    """The sweep cannot be set up (unknown material, member or stage)."""


@dataclass(frozen=True)
class Sweep:
    material: str
    stage: str = "processing"
    by: str = "country"
    members: tuple[str, ...] = ()   # empty: each member separately
    period: str | None = None       # None: each period; "all": the horizon; or a label
    start: float = 1.0
    stop: float = 0.3
    steps: int = 15

    def caps(self) -> np.ndarray:
        return np.round(np.linspace(self.start, self.stop, self.steps), 10)


@dataclass
class Frontier:
    sweep: Sweep
    table: pd.DataFrame
    tightest: float | None        # tightest cap that holds (None: none holds)
    reports: list[ScenarioReport]
    stops: bool = False           # the sweep found caps that do not hold below `tightest`


def check_sweep(inputs: Inputs, sweep: Sweep) -> None:
    materials = set(inputs["Suppliers"]["material"]) | set(inputs["Processes"]["output_material"]) \
        | set(inputs["Stockpiles"]["material"])
    if sweep.material not in materials:
        raise FrontierError(f"no supplier, process or stockpile provides {sweep.material!r}; "
                            f"materials are: {', '.join(sorted(materials))}")
    if not 0 <= sweep.stop <= sweep.start <= 1 or sweep.steps < 2:
        raise FrontierError("sweep from a loose cap down to a tighter one: 1 >= --from >= --to "
                            ">= 0, with --steps of 2 or more")
    if sweep.period not in (None, "all") and sweep.period not in inputs.periods:
        raise FrontierError(f"unknown period {sweep.period!r}; periods are: "
                            f"{', '.join(inputs.periods)}")
    if sweep.stage == "origin" and sweep.by == "node":
        raise FrontierError("the origin stage counts tonnes by the country where they were "
                            "mined: use --by country or group")
    known = {"country": set().union(*(set(inputs[s]["country"]) for s in
                                      ("Suppliers", "Sites", "Stockpiles")),
                                    set(inputs["Stockpiles"]["origin"]) - {None}),
             "group": set(inputs["Groups"]["group"]),
             "node": set(inputs["Suppliers"]["supplier"]) | set(inputs["Sites"]["site"])
             | set(inputs["Stockpiles"]["stockpile"])}[sweep.by]
    unknown = [m for m in sweep.members if m not in known]
    if unknown:
        raise FrontierError(f"unknown {sweep.by} {', '.join(map(repr, unknown))}")


def _with_cap(inputs: Inputs, sweep: Sweep, cap: float) -> Inputs:
    limits = inputs["Limits"]
    row = {col: None for col in limits.columns}
    row.update({ROW: 0, "rule": RULE, "material": sweep.material, "stage": sweep.stage,
                "by": sweep.by, "period": sweep.period, "max_share": float(cap),
                "member": (sweep.members if len(sweep.members) > 1 else
                           sweep.members[0] if sweep.members else None)})
    derived = copy.copy(inputs)
    derived.tables = dict(inputs.tables)
    derived.tables["Limits"] = pd.concat([limits, pd.DataFrame([row], dtype=object)],
                                         ignore_index=True)
    return derived


def _point(sweep: Sweep, cap: float, report: ScenarioReport, kind: str) -> dict:
    row = {"scenario": BASE, "point": kind, "cap": cap, "status": report.status}
    if report.status != "optimal":
        return row
    shares = horizon_shares(report.tables["Mix"])
    shares = shares[(shares["material"] == sweep.material) & (shares["stage"] == sweep.stage)]
    limits = report.tables["Limits"]
    mine = limits[limits["rule"] == RULE]
    share = pd.to_numeric(mine["share"], errors="coerce").max() if len(mine) else None
    share = None if share is None or pd.isna(share) else share  # the highest, over periods
    row.update(total_cost=report.costs["total_cost"], unmet_t=report.costs["unmet_t"],
               member_share=None if share is None else float(rounded(share)),
               hhi=float(rounded(((shares["share"] * 100) ** 2).sum())))
    return row


def _holds(report: ScenarioReport) -> bool:
    """A cap holds when the plan under it is optimal and meets all demand (soft demand can
    keep a plan optimal while the cap leaves buyers short)."""
    return report.status == "optimal" and report.costs.get("unmet_t", 0.0) <= TOL


def _fails(report: ScenarioReport) -> bool:
    """A cap fails when the plan under it is proved infeasible or leaves demand unmet; a
    point the solver did not finish (time limit, error) neither holds nor fails."""
    return report.status == "infeasible" or (report.status == "optimal" and not _holds(report))


def unsolved(table: pd.DataFrame) -> pd.Series:
    """The points the solver did not finish: neither optimal nor proved infeasible."""
    return ~table["status"].isin(["optimal", "infeasible"])


def cap_label(cap: float) -> str:
    """A cap as the terminal, the sheets and the scenario names show it: 30%, 47.5%."""
    return f"{cap * 100:.4g}%"


def frontier(inputs: Inputs, sweep: Sweep, options: SolveOptions, jobs: int | None = None,
             progress=None) -> Frontier:
    """Solve the sweep's points (in parallel when they are slow), then, if the sweep found
    where caps stop holding (a cap below the tightest that holds is infeasible or leaves
    demand unmet), bisect between the two (serially: each step depends on the last).
    Every point's solver starts from the loosest point's optimum (the cap is a coefficient:
    the LPs differ only in numbers), and every point solved in this process shares its
    network and rows before the rules (the cap is a Limits row)."""
    check_sweep(inputs, sweep)
    caps = sweep.caps()
    tasks = [(f"cap {cap_label(cap)}", _with_cap(inputs, sweep, cap), BASE) for cap in caps]
    results, start = run_tasks(tasks, options, jobs, progress)
    rows = [_point(sweep, cap, r, "sweep") for cap, (r, _) in zip(caps, results)]
    reports = [r for r, _ in results]
    holding = [c for c, (r, _) in zip(caps, results) if _holds(r)]
    tightest = min(holding) if holding else None
    below = [c for c, (r, _) in zip(caps, results)
             if tightest is not None and c < tightest and _fails(r)]
    found = bool(below)
    if found:
        lo, hi = max(below), tightest
        best = None
        for _ in range(BISECTION_STEPS):
            mid = (lo + hi) / 2
            [(report, _)], _ = run_tasks([(f"cap {cap_label(mid)}",
                                           _with_cap(inputs, sweep, mid), BASE)], options, 1,
                                         start=start)
            if _holds(report):
                hi, best = mid, (mid, report)
            elif _fails(report):
                lo = mid
            else:  # not finished: the boundary is not known more closely than this
                rows.append(_point(sweep, mid, report, "bisection (not finished)"))
                break
        if best is not None:
            tightest = best[0]
            rows.append(_point(sweep, best[0], best[1], "tightest that holds (bisection)"))
    table = pd.DataFrame(rows, columns=FRONTIER_COLUMNS)
    loosest = next((r["total_cost"] for r in rows if r["status"] == "optimal"), None)
    table["cost_increase"] = [None if r.get("total_cost") is None or loosest is None
                              else float(rounded(r["total_cost"] - loosest)) for r in rows]
    table["marginal_cost_per_pt"] = _marginal(table)
    table["note"] = _notes(table)
    moved = [r for r in rows if r["status"] == "optimal"]
    if moved and all(not r.get("hhi") for r in moved):
        table.loc[0, "note"] = (f"no tonnes of {sweep.material} at the {sweep.stage} stage: the "
                                f"cap has nothing to act on")
        tightest, found = None, False
    return Frontier(sweep, table, None if tightest is None else float(round(tightest, 6)),
                    reports, found)


def verdict(result: Frontier) -> str:
    """The sweep's answer in one sentence, as the terminal and the sheet's note give it."""
    sweep = result.sweep
    open_ = int(unsolved(result.table).sum())
    unfinished = (f"; the solver did not finish {open_} point{'s' if open_ > 1 else ''} "
                  f"(see its status: allow more time?)" if open_ else "")
    if result.tightest is None:
        return (f"no cap from {cap_label(sweep.start)} down to {cap_label(sweep.stop)} holds "
                f"(each is infeasible, leaves demand unmet, or has nothing to act on; see "
                f"the notes){unfinished}")
    if not result.stops:
        further = "try a lower --to" if sweep.stop > 0 else "it reached 0%"
        return (f"every cap down to {cap_label(result.tightest)} holds (the sweep did not go "
                f"tighter: {further}){unfinished}")
    return f"tightest cap that holds: {cap_label(result.tightest)}{unfinished}"


def _notes(table: pd.DataFrame) -> list:
    """Where the curve turns steep (the largest rise in marginal cost between two steps),
    where the sweep first becomes infeasible, and the points that leave demand unmet."""
    notes = [None] * len(table)
    marginal = pd.to_numeric(table["marginal_cost_per_pt"], errors="coerce")
    rise = marginal.diff()
    if rise.notna().any() and rise.max() > 1e-9:
        notes[int(rise.idxmax())] = "turns steep here"
    unmet = pd.to_numeric(table["unmet_t"], errors="coerce").fillna(0.0)
    for i in table.index[(table["status"] == "optimal") & (unmet > TOL)]:
        notes[int(i)] = f"leaves {unmet[i]:,.1f} t of demand unmet: the cap does not hold"
    sweep = table["point"] == "sweep"
    bad = table.index[sweep & (table["status"] == "infeasible")]
    if len(bad):
        notes[int(bad[0])] = "first infeasible cap"
    for i in table.index[unsolved(table)]:
        notes[int(i)] = f"not solved ({table['status'][i]}): neither holds nor fails"
    return notes


def _marginal(table: pd.DataFrame) -> list:
    """Cost per percentage point of tightening, from the previous (looser) sweep point."""
    out, prev = [], None
    for row in table.to_dict("records"):
        value = None
        if row["point"] == "sweep" and row["total_cost"] is not None and \
                not pd.isna(row["total_cost"]) and prev is not None:
            value = float(rounded((row["total_cost"] - prev[1]) / ((prev[0] - row["cap"]) * 100)))
        if row["point"] == "sweep":
            prev = (row["cap"], row["total_cost"]) if row["status"] == "optimal" else None
        out.append(value)
    return out


def frontier_sheets(inputs: Inputs, result: Frontier) -> dict[str, tuple[str, pd.DataFrame]]:
    sweep = result.sweep
    who = " + ".join(sweep.members) if sweep.members else f"each {sweep.by}"
    note = FRONTIER.note_for(
        who=who, material=sweep.material, stage=sweep.stage, start=cap_label(sweep.start),
        stop=cap_label(sweep.stop),
        currency=inputs.settings.currency,
        verdict=verdict(result))
    summary = pd.DataFrame([r.summary_row() for r in result.reports])
    return {"Frontier": (note, result.table),
            "Summary": (FRONTIER_SUMMARY.note_for(), summary)}
