"""Plan a workbook end to end: validated inputs -> network -> model -> solve -> report.

A pure function of its inputs (`plan`), plus `plan_sheets` giving the tables of
the plan workbook; reading and writing files is left to the caller.
"""
from __future__ import annotations

import datetime as dt
import multiprocessing
import platform
import signal
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from importlib import metadata

import pandas as pd
import pulp

from . import __version__
from .diagnose import DIAGNOSIS_COLUMNS, diagnose
from .model import build_model
from .network import build_network
from .report import (FLOW_COLUMNS, LIMIT_COLUMNS, MIX_COLUMNS,
                     SUMMARY_COLUMNS, UNMET_COLUMNS, UTILIZATION_COLUMNS, ScenarioReport,
                     comparison, scenario_report)
from .scenarios import scenario_inputs
from .solve import SolveOptions, Status, solve, usable_cpus
from .validate import Inputs

@dataclass
class Plan:
    inputs: Inputs
    reports: list[ScenarioReport]
    run_info: list[dict]

    @property
    def all_optimal(self) -> bool:
        return all(r.status == "optimal" for r in self.reports)


def solve_scenario(name: str, inputs: Inputs, options: SolveOptions,
                   data: str | None = None) -> tuple[ScenarioReport, dict]:
    """Build, solve and report one scenario, named `name`, on the data of workbook scenario
    `data` (default: `name`). Never raises for one scenario's failure, so the other
    scenarios of a run complete. A scenario that is not optimal gets a Diagnosis table;
    with `best_effort`, an infeasible one also gets the least-bad plan."""
    data = data or name
    start = time.perf_counter()
    try:
        sm = build_model(build_network(scenario_inputs(inputs, inputs.changes, data), data))
        network_s = time.perf_counter() - start
        solution = solve(sm.lp, options)
        start = time.perf_counter()
        report = scenario_report(name, sm, solution)
        if not solution.ok:
            diagnosis, relaxed = diagnose(name, sm, solution, options)
            if options.best_effort and relaxed is not None:
                report = scenario_report(name, sm, relaxed)
                report.status = solution.status.value
                broken = int((diagnosis["kind"] == "relaxation").sum())
                report.message = (f"no plan meets every rule and demand; this is the "
                                  f"best-effort plan, relaxing {broken} item(s) listed in "
                                  f"Diagnosis")
            report.tables["Diagnosis"] = diagnosis
    except Exception as exc:  # an internal error in one scenario, reported as its status
        report = ScenarioReport(name, Status.ERROR.value,
                                f"internal error: {type(exc).__name__}: {exc}")
        return report, {"scenario": name, "status": report.status, "message": report.message,
                        "solver": options.solver,
                        "seconds": round(time.perf_counter() - start, 3)}
    info = {
        "scenario": name, "status": report.status, "message": report.message,
        "solver": options.solver, "time_limit_s": options.time_limit,
        "variables": sm.lp.n_cols, "constraints": sm.lp.n_rows,
        "nonzeros": len(sm.lp.terms()[0]),
        "model_s": round(network_s + solution.seconds.get("build", 0.0), 3),
        "solve_s": round(solution.seconds.get("solve", 0.0), 3),
        "report_s": round(time.perf_counter() - start, 3),
    }
    info["seconds"] = round(info["model_s"] + info["solve_s"] + info["report_s"], 3)
    return report, info


Task = tuple[str, Inputs, str]  # (name shown, inputs, workbook scenario whose data it uses)


def run_tasks(tasks: list[Task], options: SolveOptions, jobs: int | None = None,
              progress: Callable[[ScenarioReport, dict], None] | None = None
              ) -> list[tuple[ScenarioReport, dict]]:
    """Solve every task, on up to `jobs` processes (default: one per CPU); results in task
    order whatever order they finish in; `progress` is called for each in task order, as
    soon as it and every task before it are done."""
    jobs = min(jobs or usable_cpus(), len(tasks))
    done: dict[int, tuple[ScenarioReport, dict]] = {}
    reported = 0

    def report_ready():
        nonlocal reported
        while reported in done:
            if progress:
                progress(*done[reported])
            reported += 1

    if jobs <= 1:
        for i, (name, inputs, data) in enumerate(tasks):
            done[i] = solve_scenario(name, inputs, options, data)
            report_ready()
    else:
        # The CPUs are shared out between the scenarios solved at once.
        options = replace(options, threads=options.threads
                          or max(1, usable_cpus() // jobs))
        # spawn: a fresh interpreter per worker, safe with the solver's threads. Workers
        # ignore Ctrl-C: the terminal sends it to them too, and the parent decides.
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=signal.signal,
                                 initargs=(signal.SIGINT, signal.SIG_IGN)) as pool:
            futures = {pool.submit(solve_scenario, name, inputs, options, data): i
                       for i, (name, inputs, data) in enumerate(tasks)}
            for future in as_completed(futures):
                done[futures[future]] = future.result()
                report_ready()
    return [done[i] for i in range(len(tasks))]


def options_for(inputs: Inputs, solver: str | None = None, time_limit: float | None = None,
                **kwargs) -> SolveOptions:
    """Command-line choices over the Settings sheet over the defaults."""
    return SolveOptions(solver or inputs.settings.solver or "highs",
                        time_limit if time_limit is not None else inputs.settings.time_limit_s,
                        **kwargs)


def plan(inputs: Inputs, options: SolveOptions | None = None,
         scenarios: list[str] | None = None, jobs: int | None = None,
         progress: Callable[[ScenarioReport, dict], None] | None = None) -> Plan:
    """Solve `scenarios` (default: base and every scenario of the workbook), each
    independently and, with jobs > 1, in parallel; base first."""
    options = options or options_for(inputs)
    chosen = {n.lower() for n in scenarios} if scenarios else None
    names = [n for n in inputs.scenarios if chosen is None or n.lower() in chosen]  # base first
    results = run_tasks([(n, inputs, n) for n in names], options, jobs, progress)
    return Plan(inputs, [r for r, _ in results], [i for _, i in results])


FLOWS_PER_SHEET = 1_000_000  # Excel holds 1,048,576 rows a sheet, header and note included


def _flow_sheets(flows: pd.DataFrame, currency: str) -> dict[str, tuple[str, pd.DataFrame]]:
    """Flows on one sheet, or on `Flows`, `Flows 2`, ... when Excel's row limit needs it."""
    note = ("Tonnes shipped per period on each arc (flows above 1e-6 t). "
            f"freight_cost and purchase_cost are totals in {currency}.")
    if len(flows) <= FLOWS_PER_SHEET:
        return {"Flows": (note, flows)}
    parts = range(0, len(flows), FLOWS_PER_SHEET)
    return {("Flows" if i == 0 else f"Flows {k + 1}"):
            (f"{note} Part {k + 1} of {len(parts)}: rows {i + 1:,} to "
             f"{min(i + FLOWS_PER_SHEET, len(flows)):,} of {len(flows):,}.",
             flows.iloc[i:i + FLOWS_PER_SHEET].reset_index(drop=True))
            for k, i in enumerate(parts)}


def plan_sheets(result: Plan) -> dict[str, tuple[str, pd.DataFrame]]:
    """The plan workbook's sheets as (note, table), in order."""
    currency = result.inputs.settings.currency
    reports = result.reports

    def stacked(sheet: str, columns: list[str]) -> pd.DataFrame:
        parts = [r.tables[sheet] for r in reports if sheet in r.tables]
        parts = [p for p in parts if len(p)]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)

    summary = pd.DataFrame([r.summary_row() for r in reports], columns=SUMMARY_COLUMNS)
    summary["message"] = [r.message for r in reports]
    info = pd.DataFrame(result.run_info)
    info["input_file"] = result.inputs.path.name
    info["input_sha256"] = result.inputs.sha256
    info["planner_version"] = __version__
    info["pulp_version"] = pulp.__version__
    info["highspy_version"] = metadata.version("highspy")
    info["python"] = platform.python_version()
    info["created_utc"] = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    flows = _flow_sheets(stacked("Flows", FLOW_COLUMNS), currency)
    note = f"One row per scenario. Money in {currency}, quantities in t."
    if len(flows) > 1:
        note += (f" Flows exceed one sheet's rows and are split over {len(flows)} sheets: "
                 f"{', '.join(flows)}.")
    return {
        "Summary": (note, summary),
        **flows,
        "Comparison": ("Each scenario against base: change in cost components and unmet t, "
                       "each material's top-country share per stage over the horizon, and the "
                       "20 flows that changed most (t).", comparison(reports)),
        "Mix": ("Share of each country per stage (supply = sold by suppliers and released by "
                "stockpiles; processing = shipped out of sites; delivery = received by "
                "customers, by shipping country) and the stage's HHI (0-10,000).",
                stacked("Mix", MIX_COLUMNS)),
        "Limits": ("Every rule instance (Limits, Restrictions, lane caps, stockpile floors). "
                   f"shadow_price = change in total cost ({currency}) per t added to the rule's "
                   "right-hand side (member tonnes for share rules, max_t for quotas and lanes, "
                   "the level for floors): <= 0 for max rules, >= 0 for min rules. "
                   "value_of_1pt = cost saved if a share bound were loosened by one percentage "
                   "point, |shadow_price| x stage volume x 0.01 (first-order estimate).",
                   stacked("Limits", LIMIT_COLUMNS)),
        "Diagnosis": ("Why a scenario has no optimal plan, and the smallest changes found that "
                      "would make it plannable (each in its own units).",
                      stacked("Diagnosis", DIAGNOSIS_COLUMNS)),
        "Unmet": ("Demand left undelivered, t, and its penalty cost.",
                  stacked("Unmet", UNMET_COLUMNS)),
        "Utilization": ("Used versus capacity per period: supplier sales, site and process "
                        "input, stockpile end level, lane flow. Blank capacity = unlimited.",
                        stacked("Utilization", UTILIZATION_COLUMNS)),
        "Run info": ("Input, versions, model size and seconds per scenario.", info),
    }
