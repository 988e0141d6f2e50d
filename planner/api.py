"""The library API: sourcing plans from pandas DataFrames, as the command line makes them
from files.

    from planner import api

    tables = api.read("inputs/example.xlsx")    # sheet name -> DataFrame
    tables["Demand"]["quantity_t"] *= 1.1       # what if demand grows by 10%?
    plan = api.plan(tables)                     # sheet name -> DataFrame
    plan["Summary"][["scenario", "status", "total_cost"]]
    api.write(plan, "outputs/what-if.xlsx")

The input tables are the sheets of the input workbook (docs/workbook.md): one DataFrame
per sheet, one column per header (matched loosely: `Capacity (t)` is `capacity_t`), one
row per row; blanks are None or NaN. The plan's tables are the sheets of the plan
workbook (docs/plan-workbook.md). Problems are raised as `InputError`, whose `problems`
list every (sheet, row, column, message); rows are numbered as in a sheet whose header is
row 1, so the DataFrame's first row is row 2.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from . import schema
from .errors import ERROR, WARNING, InputError, Problem
from .inputs import ROW, Inputs
from .output import write_csv, write_plan
from .plan import Plan, checked, options_for, plan_sheets
from .plan import load as load_file
from .plan import plan as solve_plan
from .report import ScenarioReport
from .hedge import HedgeError, HedgeResult, hedge_sheets
from .hedge import hedge as run_hedge
from .stress import StressError, StressResult, stress_sheets
from .stress import stress as run_stress
from .workbook import RawWorkbook, read_table, read_workbook

__all__ = ["HedgeError", "HedgeTables", "InputError", "Inputs", "PlanTables", "StressError",
           "StressTables", "hedge", "read", "load", "plan", "stress", "write"]


class _Tables(dict):
    """Sheet name -> DataFrame, in the workbook's order, with the note above each table
    (`notes`) and the currency its money is in."""

    def __init__(self, sheets: dict[str, tuple[str | None, pd.DataFrame]], currency: str):
        super().__init__((name, frame) for name, (_, frame) in sheets.items())
        self.notes = {name: note for name, (note, _) in sheets.items()}
        self.currency = currency


class PlanTables(_Tables):
    """The plan's tables, with their notes, the currency, and the `Plan` they were made
    from."""

    def __init__(self, result: Plan):
        super().__init__(plan_sheets(result), result.inputs.settings.currency)
        self.result = result

    @property
    def all_optimal(self) -> bool:
        return self.result.all_optimal

    @property
    def warnings(self) -> list[Problem]:
        return self.result.inputs.warnings


def read(path: str | Path) -> dict[str, pd.DataFrame]:
    """The input workbook at `path` as DataFrames, one per sheet the planner knows, with the
    columns named as in docs/workbook.md and every cell typed (numbers as floats, blanks as
    None). Raises InputError when a cell cannot be read (the base data is not otherwise
    checked here: `plan` checks everything)."""
    raw, problems = read_workbook(Path(path))
    if any(p.severity == ERROR for p in problems):
        raise InputError(problems)
    return {name: table.frame.drop(columns=[ROW]).reset_index(drop=True)
            for name, table in raw.tables.items()}


def load(source) -> Inputs:
    """Checked `Inputs` from an input workbook's path or from DataFrames (see `plan`);
    `Inputs` are returned as they are. Raises InputError listing every problem; the
    warnings are in `Inputs.warnings`."""
    if isinstance(source, Inputs):
        return source
    if isinstance(source, (str, Path)):
        return load_file(Path(source))
    return _from_tables(source)


def _from_tables(tables: Mapping[str, pd.DataFrame], name: str = "tables") -> Inputs:
    problems: list[Problem] = []
    read_tables = {}
    digest = hashlib.sha256()
    by_key = {schema.normalise(s.name): s for s in schema.SHEETS.values()}
    for title, frame in tables.items():
        sheet = by_key.get(schema.normalise(title))
        if sheet is None:
            if schema.normalise(title) not in map(schema.normalise, schema.INFO_SHEETS):
                problems.append(Problem(WARNING, "unknown sheet, ignored by the planner",
                                        str(title)))
            continue
        frame = pd.DataFrame(frame)
        cells = frame.astype(object).where(frame.notna(), None)
        rows = [list(map(str, frame.columns))] + cells.to_numpy().tolist()
        read_tables[sheet.name] = read_table(str(title), rows, sheet, problems)
        digest.update(f"{title}\n{frame.to_csv(index=False)}".encode())
    for sheet in schema.SHEETS.values():
        if sheet.required and sheet.name not in read_tables:
            problems.append(Problem(ERROR, f"required sheet {sheet.name} is missing", sheet.name))
    return checked(RawWorkbook(Path(name), digest.hexdigest(), read_tables), problems)


def plan(source, scenarios: list[str] | None = None, *, solver: str | None = None,
         time_limit: float | None = None, jobs: int | None = 1, best_effort: bool = False,
         relax_first: str = "demand", rule_costs: str = "binding", verbose: bool = False,
         progress: Callable[[ScenarioReport, dict], None] | None = None,
         mip_progress: bool = False) -> PlanTables:
    """Solve base and every scenario of `source` (or only `scenarios`, matched ignoring
    case) and return the plan's tables.

    `source`: a mapping of sheet name -> DataFrame, an input workbook's path, or `Inputs`
    from `load`. Required sheets: the Suppliers sheet (columns supplier, country, material, capacity_t,
    unit_cost) and the Demand sheet (customer, country, material, period, quantity_t); the
    other sheets and optional columns as in docs/workbook.md. `solver` and `time_limit`
    override the Settings sheet; `jobs` scenarios are solved at once (None: one per CPU; in
    processes when above 1: call from under `if __name__ == "__main__":` in a script);
    `progress(report, info)` is called for each scenario in order as it is done;
    `mip_progress`: a mixed-integer solve (Options) longer than a few seconds shows its
    best plan, bound and gap on stderr.
    `best_effort`, `relax_first`: as `planner run --best-effort / --relax-first`;
    `rule_costs`: which rules' total cost (Limits `cost_of_rule`) is found by solving
    without them: "binding" (those with a nonzero shadow price; the others cost exactly
    nothing), "all" or "none".

    Raises InputError (with every problem) when the tables cannot be planned, and
    ValueError for a scenario the tables do not name. A scenario that is not optimal is
    not an error: its `status` in the Summary says why, and the Diagnosis table what
    would make it plannable."""
    inputs = load(source)
    if scenarios is not None:
        known = {n.lower() for n in inputs.scenarios}
        unknown = [n for n in scenarios if n.lower() not in known]
        if unknown:
            raise ValueError(f"no scenario named {', '.join(map(repr, unknown))}; the "
                             f"workbook has: {', '.join(inputs.scenarios)}")
    options = options_for(inputs, solver, time_limit, best_effort=best_effort,
                          relax_first=relax_first, rule_costs=rule_costs, verbose=verbose,
                          mip_progress=mip_progress)
    return PlanTables(solve_plan(inputs, options, scenarios, jobs, progress))


class StressTables(_Tables):
    """The stress test's tables (Stress, Risk, Shortfalls, Events, Distribution), with their
    notes, the currency, the `StressResult` they were made from, and the whole Stress table
    when it has more rows than a sheet holds (`overflow`, else None)."""

    def __init__(self, inputs: Inputs, result: StressResult):
        sheets, self.overflow = stress_sheets(inputs, result)
        super().__init__(sheets, inputs.settings.currency)
        self.result = result

    @property
    def all_optimal(self) -> bool:
        return self.result.all_optimal


def stress(source, plan: str = "base", samples: int = 2000, seed: int = 0,
           scheduler: str | None = None, workers: int | None = None, *,
           solver: str | None = None, time_limit: float | None = None,
           progress: Callable[[int, int], None] | None = None) -> StressTables:
    """The stress test of the plan of scenario `plan` (default base) over the outcomes of
    the Risks sheet of `source` (as in `plan`): every outcome (when there are at most
    Settings max_outcomes) or `samples` draws seeded with `seed`, each solved committed
    (the plan's contract book fixed) and replan (docs/model.md, Risk). Outcomes are solved
    in this process when few, else on a local Dask cluster of `workers` processes (default
    one per CPU; call from under `if __name__ == "__main__":` in a script) or on the
    cluster whose scheduler is at `scheduler` ("tcp://host:port"). `progress(done, total)`
    is called as outcomes are done.

    Raises InputError (the workbook, no events, demand without a price on unmet tonnes),
    StressError (the plan not optimal, an unknown `plan`) and ClusterError (the cluster
    cannot be started or reached)."""
    inputs = load(source)
    options = options_for(inputs, solver, time_limit, rule_costs="none")
    return StressTables(inputs, run_stress(inputs, options, plan, samples, seed, scheduler,
                                           workers, progress))


class HedgeTables(_Tables):
    """The hedge's tables (Contracts with its country shares and concentration, Hedge with
    its evaluation and risk-weight sweep, Outcomes, Distribution), with their notes, the
    currency and the `HedgeResult` they were made from."""

    def __init__(self, inputs: Inputs, result: HedgeResult):
        super().__init__(hedge_sheets(inputs, result), inputs.settings.currency)
        self.result = result

    @property
    def all_optimal(self) -> bool:
        return self.result.all_optimal


def hedge(source, samples: int = 200, seed: int = 0,
          risk_weight: float | Sequence[float] = 0.0, cvar_level: float = 0.95,
          evaluate: int = 2000, scheduler: str | None = None, workers: int | None = None, *,
          solver: str | None = None, time_limit: float | None = None,
          progress: Callable[[str, int, int], None] | None = None) -> HedgeTables:
    """The hedged contract book of `source` (as in `plan`): the supplier tonnes to contract
    in each period that minimise contract cost + expected recourse cost + `risk_weight` x
    CVaR at `cvar_level` of the total cost over the outcomes of the Risks sheet (every
    outcome when there are at most Settings max_outcomes, else `samples` draws seeded with
    `seed`), compared with the base plan's book (EEV) and perfect information (WS); with
    sampled outcomes both books are also evaluated on `evaluate` fresh draws (docs/model.md,
    Hedge). A sequence of risk weights solves each (the Risk weights table); the Contracts
    and Hedge tables are those of the first. Outcomes are solved as in `stress` (a local
    Dask cluster when many, or the one at `scheduler`); `progress(phase, done, total)` as
    the work goes.

    Raises InputError (the workbook, no events, demand without a price on unmet tonnes,
    an option only an event has), HedgeError (an outcome that no book can plan, a
    stochastic LP too large, a plan that is not optimal, arguments out of range) and
    ClusterError."""
    inputs = load(source)
    options = options_for(inputs, solver, time_limit, rule_costs="none")
    weights = (float(risk_weight),) if isinstance(risk_weight, (int, float)) \
        else tuple(map(float, risk_weight))
    return HedgeTables(inputs, run_hedge(inputs, options, samples, seed, weights, cvar_level,
                                         evaluate, scheduler, workers, progress))


def write(plan_tables: PlanTables | StressTables | HedgeTables, path: str | Path) -> None:
    """Write the plan workbook (formats, headlines, charts) to `path`, atomically: the file
    is complete or untouched; a stress test's Stress table too long for a sheet goes whole
    to a CSV file beside it (`<name>-stress.csv`). Raises OutputError when it cannot be
    written."""
    sheets = {name: (plan_tables.notes.get(name), frame) for name, frame in plan_tables.items()}
    overflow = getattr(plan_tables, "overflow", None)
    if overflow is not None:
        write_csv(Path(path).with_name(f"{Path(path).stem}-stress.csv"), overflow)
    write_plan(Path(path), sheets, plan_tables.currency)
