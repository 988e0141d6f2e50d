"""The pipeline: a workbook loaded and checked (`load`), then each scenario's inputs ->
network -> model -> solve -> report (`plan`), and the tables of the plan workbook
(`plan_sheets`). Writing files is left to the caller.
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
from pathlib import Path

import numpy as np
import pandas as pd
import pulp

from . import __version__
from .diagnose import diagnose
from .model import SourcingModel, build_model
from .network import build_network
from .headlines import nothing_to_report
from .report import ScenarioReport, comparison, scenario_report, sourcing, summary
from .sheets import (FLOWS, FLOWS_PART_NOTE, FLOWS_SPLIT_NOTE, NOTHING_TO_REPORT, PLAN_SHEETS,
                     SUMMARY)
from .errors import ERROR, WARNING, InputError, Problem
from .inputs import ROW, Inputs
from .loops import gain_loops
from .network import (SITE, STOCKPILE, SUPPLIER, demand_routes, same_sources, stranded,
                      stranded_sentence, structure_sources)
from .risk import check_risks
from .rule_costs import rule_costs
from .scenarios import add_scenarios, scenario_inputs
from .solve import Basis, SolveOptions, SolveRun, Status, usable_cpus
from .validate import validate
from .workbook import RawWorkbook, read_workbook


def load(path: Path) -> Inputs:
    """Read and check the workbook at `path`. Raises InputError listing every error (and
    the warnings)."""
    raw, problems = read_workbook(Path(path))
    return checked(raw, problems)


def checked(raw: RawWorkbook, problems: list[Problem]) -> Inputs:
    """The `Inputs` of workbook tables as read, once every check has run: the base data,
    the scenarios, then what needs the network (loops that make material, demand no route
    reaches). Raises InputError listing every error."""
    inputs = validate(raw, problems)
    add_scenarios(inputs, problems)
    check_risks(inputs, problems)
    if any(p.severity == ERROR for p in problems):
        raise InputError(problems)
    inputs.warnings = [p for p in problems if p.severity == WARNING]
    loops = gain_loops(inputs)
    inputs.warnings.extend(stranded_warnings(inputs) + unreachable_demand(inputs))
    if loops:
        raise InputError(loops + inputs.warnings)
    return inputs


def stranded_warnings(inputs: Inputs) -> list[Problem]:
    """A warning at the row of every offer, site output or stockpile that can reach no
    taker of its material because no Freight or Lanes cost is known (or lanes are closed):
    the model leaves it out without a word otherwise."""
    where = {SUPPLIER: ("Suppliers", "supplier", "material"),
             SITE: ("Processes", "site", "output_material"),
             STOCKPILE: ("Stockpiles", "stockpile", "material")}
    # The first row of each (node, material) on each sheet, found once for all of them.
    first_row = {kind: inputs[sheet].drop_duplicates([node, material]).set_index(
                     [node, material])[ROW].to_dict()
                 for kind, (sheet, node, material) in where.items()}
    found = []
    for r in stranded(inputs).to_dict("records"):
        sheet, _, material = where[r["from_kind"]]
        row = first_row[r["from_kind"]].get((r["from"], r["material"]))
        table = inputs.read_tables.get(sheet)
        problem = Problem(WARNING, stranded_sentence(r), sheet) if table is None else \
            table.problem(stranded_sentence(r), None if row is None else int(row), material,
                          r["material"], WARNING)
        found.append(problem)
    return found


def unreachable_demand(inputs: Inputs) -> list[Problem]:
    """Demand rows no arc can reach in the base data: they will be unmet (or infeasible)."""
    reached = demand_routes(inputs)
    demand = inputs["Demand"]
    table = inputs.read_tables["Demand"]
    default = inputs.settings.unmet_penalty
    return [table.problem(f"no supplier, site or stockpile can ship {m!r} to {c!r} in {p!r} "
                          f"(check Freight and Lanes); "
                          + ("this demand will be unmet" if penalty is not None or default
                             is not None else "the plan will be infeasible unless this row "
                             "gets an unmet_penalty"), row, "material", m, WARNING)
            for row, c, m, p, q, penalty in zip(demand[ROW], demand["customer"],
                                                demand["material"], demand["period"],
                                                demand["quantity_t"], demand["unmet_penalty"])
            if (c, m, p) not in reached and (q or 0) > 0]


@dataclass
class Plan:
    inputs: Inputs
    reports: list[ScenarioReport]
    run_info: list[dict]

    @property
    def all_optimal(self) -> bool:
        return all(r.status == "optimal" for r in self.reports)


def solve_scenario(name: str, inputs: Inputs, options: SolveOptions,
                   data: str | None = None, start: Basis | None = None,
                   keep_basis: bool = False, like: SourcingModel | None = None,
                   keep_model: bool = False) -> tuple[ScenarioReport, dict]:
    """Build, solve and report one scenario, named `name`, on `inputs`: the data of workbook
    scenario `data` (default: `name`; see `scenario_inputs`), the solver starting from
    `start` when it fits (`solve.Basis`). Never raises for one scenario's failure, so the
    other scenarios of a run complete. A scenario that is not optimal gets a Diagnosis
    table; with `best_effort`, an infeasible one also gets the least-bad plan. With
    `keep_basis`, the optimum's basis is in the info under "basis"; with `keep_model`, the
    model under "model", to be another scenario's `like` (`model.build_model`)."""
    data = data or name
    began = time.perf_counter()
    basis = None
    try:
        sm = build_model(build_network(inputs, data, like and like.network), like)
        network_s = time.perf_counter() - began
        chosen = None
        if sm.lp.integer:  # options: the mixed-integer program, then the LP they leave
            chosen = SolveRun(sm.lp, options).solve()
            if chosen.values is not None:
                taken = np.round(chosen.values[sm.lp.columns("option")])
                sm.lp = sm.lp.fixed("option", taken)
            else:  # what is in the way even with every option available
                sm.lp = sm.lp.fixed("option", np.ones(len(sm.network.options)))
        run = SolveRun(sm.lp, options, start)
        solution = run.solve() if chosen is None or chosen.values is not None else chosen
        started = run.started_from
        began = time.perf_counter()
        costs = {}
        if solution.ok:
            costs = rule_costs(sm, solution, run, options.rule_costs)
            basis = run.basis(f"from the optimum of {name}") if keep_basis else None
        del run  # the solver's memory is released before reporting
        report = scenario_report(name, sm, solution, costs)
        if chosen is not None and solution.ok and not chosen.ok:  # a plan, not proved best
            report.status, report.message = chosen.status.value, chosen.message
        if not solution.ok:
            diagnosis, relaxed = diagnose(name, sm, solution, options, inputs)
            if options.best_effort and relaxed is not None:
                report = scenario_report(name, sm, relaxed)
                report.status = solution.status.value
                broken = int((diagnosis["kind"] == "relaxation").sum())
                report.message = (f"no plan meets every rule and demand; this is the "
                                  f"best-effort plan, relaxing {broken} item(s) listed in "
                                  f"Diagnosis")
            report.tables["Diagnosis"] = diagnosis
            if chosen is not None and chosen.status is Status.INFEASIBLE:
                report.message += (" whichever options are taken (the diagnosis takes them "
                                   "all)")
    except Exception as exc:  # an internal error in one scenario, reported as its status
        report = ScenarioReport(name, Status.ERROR.value,
                                f"internal error: {type(exc).__name__}: {exc}")
        return report, {"scenario": name, "status": report.status, "message": report.message,
                        "solver": options.solver,
                        "seconds": round(time.perf_counter() - began, 3)}
    info = {
        "scenario": name, "status": report.status, "message": report.message,
        "solver": options.solver, "start": started,
        "time_limit_s": options.time_limit,
        "variables": sm.lp.n_cols, "constraints": sm.lp.n_rows,
        "nonzeros": len(sm.lp.terms()[0]),
        "model_s": round(network_s + solution.seconds.get("build", 0.0), 3),
        "solve_s": round(solution.seconds.get("solve", 0.0) + (  # the options' choice too
            chosen.seconds.get("solve", 0.0) if chosen is not None and chosen is not solution
            else 0.0), 3),
        "report_s": round(time.perf_counter() - began, 3),
    }
    info["seconds"] = round(info["model_s"] + info["solve_s"] + info["report_s"], 3)
    if keep_basis:
        info["basis"] = basis
    if keep_model:
        info["model"] = sm
    return report, info


Task = tuple[str, Inputs, str]  # (name shown, its inputs, workbook scenario whose rules apply)


# A scenario solved serially in less than this is not worth a worker process: starting
# one (a fresh interpreter importing pandas and the solver) costs about a second, and its
# inputs are copied to it (bench/RESULTS.md, "Scenarios in parallel").
PARALLEL_AFTER_S = 2.0


@dataclass
class Reference:
    """What the tasks of a run start from: the first task's optimal basis (`solve.Basis`)
    and, when later tasks share its tables, its model (`model.build_model`'s `like`)."""

    basis: Basis | None = None
    model: SourcingModel | None = None


def run_tasks(tasks: list[Task], options: SolveOptions, jobs: int | None = None,
              progress: Callable[[ScenarioReport, dict], None] | None = None,
              start: Reference | None = None
              ) -> tuple[list[tuple[ScenarioReport, dict]], Reference]:
    """Solve every task: (results in task order, what the tasks started from); `progress`
    is called for each in task order, as soon as it and every task before it are done.

    Every task's solver starts from `start.basis` where the LPs differ only in numbers
    (`solve.Basis`; at 100k variables ~8x fewer seconds of HiGHS), and tasks solved in this
    process share `start.model`'s structure where they have its tables. Without `start`,
    the first task is solved first, in this process, from scratch, and the others start
    from its optimum. Always from that one optimum, never from whichever task ran before:
    a plan does not depend on which process solved what.

    `jobs`: processes solving the other tasks at once. By default, tasks are solved one
    after another while each takes less than PARALLEL_AFTER_S, and the rest on one
    process per CPU once one takes longer: so the default is never much slower than
    serial on small models, and uses every CPU on large ones."""
    done: dict[int, tuple[ScenarioReport, dict]] = {}
    reported = 0

    def report_ready():
        nonlocal reported
        while reported in done:
            if progress:
                progress(*done[reported])
            reported += 1

    first, slow = 0, False
    basis, like = (start.basis, start.model) if start is not None else (None, None)
    if start is None and tasks:
        name, inputs, data = tasks[0]
        began = time.perf_counter()
        # Its model is kept for the tasks in this process that share its structure (those
        # changing only rules): their network and rows before the rules are not built again.
        sources = structure_sources(inputs)
        shared = any(same_sources(structure_sources(other), sources) for _, other, _ in tasks[1:])
        report, info = solve_scenario(name, inputs, options, data, keep_basis=len(tasks) > 1,
                                      keep_model=shared)
        basis, like = info.pop("basis", None), info.pop("model", None)
        done[0] = report, info
        report_ready()
        first, slow = 1, time.perf_counter() - began > PARALLEL_AFTER_S
    if jobs is None:
        jobs = usable_cpus()
        for i, (name, inputs, data) in list(enumerate(tasks))[first:]:
            if jobs <= 1 or slow:
                break
            began = time.perf_counter()
            done[i] = solve_scenario(name, inputs, options, data, basis, like=like)
            report_ready()
            first = i + 1
            slow = time.perf_counter() - began > PARALLEL_AFTER_S
    rest = list(enumerate(tasks))[first:]
    jobs = min(jobs, len(rest))
    if jobs <= 1:
        for i, (name, inputs, data) in rest:
            done[i] = solve_scenario(name, inputs, options, data, basis, like=like)
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
            futures = {pool.submit(solve_scenario, name, inputs, options, data, basis): i
                       for i, (name, inputs, data) in rest}
            for future in as_completed(futures):
                done[futures[future]] = future.result()
                report_ready()
    return [done[i] for i in range(len(tasks))], Reference(basis, like)


def options_for(inputs: Inputs, solver: str | None = None, time_limit: float | None = None,
                **kwargs) -> SolveOptions:
    """Command-line choices over the Settings sheet over the defaults."""
    return SolveOptions(solver or inputs.settings.solver or "highs",
                        time_limit if time_limit is not None else inputs.settings.time_limit_s,
                        mip_gap=inputs.settings.mip_gap, **kwargs)


def plan(inputs: Inputs, options: SolveOptions | None = None,
         scenarios: list[str] | None = None, jobs: int | None = None,
         progress: Callable[[ScenarioReport, dict], None] | None = None) -> Plan:
    """Solve `scenarios` (default: base and every scenario of the workbook), each
    independently and, with jobs > 1, in parallel; base first."""
    options = options or options_for(inputs)
    chosen = {n.lower() for n in scenarios} if scenarios else None
    names = [n for n in inputs.scenarios if chosen is None or n.lower() in chosen]  # base first
    results, _ = run_tasks([(n, scenario_inputs(inputs, n), n) for n in names], options,
                           jobs, progress)
    return Plan(inputs, [r for r, _ in results], [i for _, i in results])


FLOWS_PER_SHEET = 1_000_000  # Excel holds 1,048,576 rows a sheet, header and note included


def _flow_sheets(flows: pd.DataFrame, currency: str) -> dict[str, tuple[str, pd.DataFrame]]:
    """Flows on one sheet, or on `Flows`, `Flows 2`, ... when Excel's row limit needs it."""
    note = FLOWS.note_for(currency=currency)
    if len(flows) <= FLOWS_PER_SHEET:
        return {"Flows": (note, flows)}
    parts = range(0, len(flows), FLOWS_PER_SHEET)
    return {("Flows" if i == 0 else f"Flows {k + 1}"):
            (note + " " + FLOWS_PART_NOTE.format(part=k + 1, parts=len(parts), first=i + 1,
                                                 last=min(i + FLOWS_PER_SHEET, len(flows)),
                                                 total=len(flows)),
             flows.iloc[i:i + FLOWS_PER_SHEET].reset_index(drop=True))
            for k, i in enumerate(parts)}


def plan_sheets(result: Plan) -> dict[str, tuple[str, pd.DataFrame]]:
    """The plan workbook's sheets as (note, table), in the order and with the columns and
    notes that planner/sheets.py declares; money in the Settings currency. A sheet with
    nothing to report (`headlines.nothing_to_report`) says so, and why, before its note."""
    currency = result.inputs.settings.currency
    reports = result.reports

    def stacked(sheet: str) -> pd.DataFrame:
        parts = [r.tables[sheet] for r in reports if sheet in r.tables]
        parts = [p for p in parts if len(p)]
        return (pd.concat(parts, ignore_index=True) if parts
                else pd.DataFrame(columns=PLAN_SHEETS[sheet].names))

    summary_table = summary(reports)
    info = pd.DataFrame(result.run_info)
    info["input_file"] = result.inputs.path.name
    info["input_sha256"] = result.inputs.sha256
    info["planner_version"] = __version__
    info["pulp_version"] = pulp.__version__
    info["highspy_version"] = metadata.version("highspy")
    info["python"] = platform.python_version()
    info["created_utc"] = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    flows = _flow_sheets(stacked("Flows"), currency)
    summary_note = SUMMARY.note_for(currency=currency)
    if len(flows) > 1:
        summary_note += " " + FLOWS_SPLIT_NOTE.format(parts=len(flows), names=", ".join(flows))
    tables = {"Summary": summary_table, "Comparison": comparison(reports), "Run info": info,
              "Sourcing": sourcing(reports, list(result.inputs.periods))}
    sheets: dict[str, tuple[str, pd.DataFrame]] = {}
    for name, sheet in PLAN_SHEETS.items():
        if name == "Flows":
            sheets.update(flows)
        elif name == "Summary":
            sheets[name] = (summary_note, summary_table)
        else:
            table = tables[name] if name in tables else stacked(name)
            if name in ("Provenance", "Options") and table.empty:
                continue  # origins tracked only when a rule counts them; no options
            sheets[name] = (sheet.note_for(currency=currency), table)
    for name, why in nothing_to_report({n: frame for n, (_, frame) in sheets.items()}).items():
        sheets[name] = (NOTHING_TO_REPORT.format(why=why) + " " + sheets[name][0],
                        sheets[name][1])
    return sheets
