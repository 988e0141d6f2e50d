"""What-if scenarios (docs/workbook.md, Scenarios): parse the changes, check them against the base
data, and derive each scenario's inputs from the base.

A change selects rows of one sheet with `where` conditions (all must hold; text
matches ignore case, numbers match numerically) and sets, multiplies, adds to or
drops them. Blank cells stay blank under multiply and add: unlimited stays
unlimited.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import schema
from .cells import EXCEPT, coerce, scenario_scope
from .errors import ERROR, WARNING, Problem
from .inputs import BASE, ROW, Inputs, Table

_PROCESS_LEVEL = ("cost_per_t", "capacity_t")


@dataclass(frozen=True)
class Change:
    scenario: str
    sheet: str                          # schema sheet name
    where: tuple[tuple[str, object], ...]  # (column, typed value)
    column: str | None
    action: str
    value: float | None
    row: int                            # Scenarios row, for messages


def applies(cell: object, scenario: str) -> bool:
    """Whether a rule with this `scenario` cell applies in `scenario`."""
    names, excluding = scenario_scope(cell)
    if not names:
        return True
    return (scenario.lower() in {n.lower() for n in names}) != excluding


def scenario_names(scenarios: pd.DataFrame, *rule_sheets: pd.DataFrame) -> list[str]:
    """`base` first, then every scenario named in the workbook in order of appearance: on the
    Scenarios sheet, then in the `scenario` cells of rule sheets (a scenario may consist of
    rules only, e.g. an embargo that is one ban, or of a rule left out with "except:")."""
    names: dict[str, str] = {BASE: BASE}
    cells = list(scenarios["scenario"])
    for frame in rule_sheets:
        cells += [n for cell in frame["scenario"] for n in scenario_scope(cell)[0]]
    for name in cells:
        if name is not None and name.strip():
            names.setdefault(name.strip().lower(), name.strip())
    return list(names.values())


def _resolve_sheet(label: str) -> str | None:
    key = schema.normalise(label)
    for name in schema.SCENARIO_SHEETS:
        if schema.normalise(name) == key:
            return name
    return None


def _resolve_column(sheet: str, label: str) -> schema.Column | None:
    key = schema.normalise(label)
    for col in schema.SHEETS[sheet].columns:
        if schema.normalise(col.name) == key:
            return col
    return None


def parse_changes(scenarios: pd.DataFrame, report, unreadable: set[int] = frozenset()
                  ) -> list[Change]:
    """Typed changes; every problem goes to `report(message, row, column, value, severity)`.
    `unreadable`: rows whose value cell the reader already refused (not reported again)."""
    changes = []
    spelt: dict[str, tuple[str, int]] = {}  # first spelling and row of each scenario
    for r in scenarios.to_dict("records"):
        row, name = r[ROW], r["scenario"]
        if name is None or r["sheet"] is None or r["action"] is None:
            continue  # blank required cells are reported by the reader
        if name.lower() == BASE:
            report("base is the unchanged data; give the scenario another name", row,
                   "scenario", name, ERROR)
            continue
        if ";" in name or name.lower().startswith(EXCEPT):
            report(f"a scenario name may not contain ';' or start with '{EXCEPT}' (rules list "
                   f"scenarios with them); rename it", row, "scenario", name, ERROR)
            continue
        # Names match ignoring case (rules' scenario cells and --scenario rely on it), so
        # `Up` and `up` would silently be one scenario with both rows' changes compounded.
        first, first_row = spelt.setdefault(name.lower(), (name, row))
        if first != name:
            report(f"scenario {name!r} is written {first!r} in row {first_row}; write every "
                   f"row of a scenario the same way", row, "scenario", name, ERROR)
        sheet = _resolve_sheet(r["sheet"])
        if sheet is None:
            report(f"scenarios can change {', '.join(schema.SCENARIO_SHEETS)}; not "
                   f"{r['sheet']!r}", row, "sheet", r["sheet"], ERROR)
            continue
        ok = True
        where = []
        for cond in (r["where"] or "").split(";"):
            if not cond.strip():
                continue
            label, sep, text = cond.partition("=")
            col = _resolve_column(sheet, label) if sep else None
            if col is None:
                report(f"condition {cond.strip()!r}: write column=value with a column of "
                       f"{sheet}", row, "where", r["where"], ERROR)
                ok = False
                continue
            typed, error = coerce(text.strip(), col)
            if error:
                report(f"condition {cond.strip()!r}: {error}", row, "where", r["where"], ERROR)
                ok = False
            where.append((col.name, typed))
        column = None
        if r["action"] == "drop" and (r["column"] is not None or r["value"] is not None):
            # Perhaps meant as another action: drop removes the rows whatever they say.
            cell = "column" if r["column"] is not None else "value"
            report("drop removes the matching rows; its column and value are not read "
                   "(did you mean set, multiply or add?)", row, cell, r[cell], WARNING)
        if r["action"] != "drop":
            col = _resolve_column(sheet, r["column"]) if r["column"] else None
            if col is None or col.kind not in schema.NUMERIC_KINDS:
                numeric = [c.name for c in schema.SHEETS[sheet].columns
                           if c.kind in schema.NUMERIC_KINDS]
                report(f"{r['action']} needs a numeric column of {sheet}: "
                       f"{', '.join(numeric)}", row, "column", r["column"], ERROR)
                ok = False
            else:
                column = col.name
            if r["value"] is None:
                if row not in unreadable:
                    report(f"{r['action']} needs a value", row, "value", None, ERROR)
                ok = False
        if ok:
            changes.append(Change(name, sheet, tuple(where), column, r["action"], r["value"],
                                  row))
    return changes


def _matches(frame: pd.DataFrame, where: tuple[tuple[str, object], ...]) -> np.ndarray:
    hit = np.ones(len(frame), bool)
    for column, value in where:
        cells = frame[column]
        if value is None:
            hit &= cells.isna().to_numpy()
        elif isinstance(value, str):
            hit &= cells.map(lambda c: c is not None and str(c).lower() == value.lower()) \
                .to_numpy(bool)
        else:
            hit &= cells.map(lambda c: c is not None and not isinstance(c, str)
                             and bool(np.isclose(float(c), float(value)))).to_numpy(bool)
    return hit


def apply_changes(tables: dict[str, pd.DataFrame], changes: list[Change],
                  scenario: str) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """The scenario's tables, and problems (no row matched; a number turned negative)."""
    tables = dict(tables)
    problems = []
    for change in changes:
        if change.scenario.lower() != scenario.lower():
            continue
        frame = tables[change.sheet].copy()
        hit = _matches(frame, change.where)
        if change.sheet == "Processes" and change.column in _PROCESS_LEVEL:
            # cost and capacity belong to the whole process: a change to one output row of
            # a co-product process applies to all its rows, which must agree (docs/workbook.md).
            named = frame["process"].notna().to_numpy()
            keys = set(zip(frame["site"][hit & named], frame["process"][hit & named]))
            hit = hit | (named & np.array([k in keys for k in zip(frame["site"],
                                                                  frame["process"])], bool))
        if not hit.any():
            problems.append(Problem(WARNING, f"scenario {change.scenario!r}: the change matches "
                                             f"no row of {change.sheet}", "Scenarios",
                                    change.row, "where"))
            continue
        if change.action == "drop":
            frame = frame[~hit]
        else:
            old = frame.loc[hit, change.column]
            if change.action == "set":
                new = pd.Series(change.value, index=old.index, dtype=object)
            elif change.action == "multiply":
                new = old.map(lambda v: None if v is None else v * change.value)
            else:
                new = old.map(lambda v: None if v is None else v + change.value)
            kind = schema.SHEETS[change.sheet].column(change.column).kind
            least = schema.SHEETS[change.sheet].column(change.column).least
            bad = new.map(lambda v: v is not None and (
                v < 0 or (least and v < least) or (kind == schema.SHARE and v > 1))
            ).to_numpy(bool)
            if bad.any():
                problems.append(Problem(ERROR, f"scenario {change.scenario!r}: {change.action} "
                                               f"makes {change.column} out of range in "
                                               f"{change.sheet} row "
                                               f"{int(frame.loc[hit][ROW].iloc[bad.argmax()])}",
                                        "Scenarios", change.row, "value", change.value))
                continue
            # The reader refuses such numbers where they are typed; a change can make one.
            big = new.map(lambda v: v is not None and abs(v) > schema.MAX_MAGNITUDE
                          ).to_numpy(bool)
            if big.any():
                at = big.argmax()
                problems.append(Problem(ERROR, f"scenario {change.scenario!r}: {change.action} "
                                               f"makes {change.column} {new.iloc[at]:g} in "
                                               f"{change.sheet} row "
                                               f"{int(frame.loc[hit][ROW].iloc[at])}, beyond what "
                                               f"the solver can handle exactly (at most "
                                               f"{schema.MAX_MAGNITUDE:g}); check the value and "
                                               f"the units", "Scenarios", change.row, "value",
                                        change.value))
                continue
            frame[change.column] = frame[change.column].astype(object)
            frame.loc[hit, change.column] = new.map(lambda v: None if v is None else v + 0.0)
        tables[change.sheet] = frame.reset_index(drop=True)
    return tables, problems


def add_scenarios(inputs: Inputs, problems: list[Problem]) -> None:
    """Parse the Scenarios sheet and apply each scenario's changes to the base tables, once:
    the scenario names and changes go into `inputs.scenarios` and `inputs.changes`, the
    changed tables into `inputs.scenario_tables`; problems are added to `problems` at their
    Scenarios cells."""
    sheet = schema.SHEETS["Scenarios"]
    table = inputs.read_tables.get("Scenarios") or Table(sheet, sheet.name, pd.DataFrame(),
                                                          {}, {})

    def report(message, row, column, value, severity):
        problems.append(table.problem(message, row, column, value, severity))

    value_header = table.headers.get("value", "value")
    unreadable = {p.row for p in problems if p.severity == ERROR and p.sheet == table.title
                  and p.column == value_header}
    frame = inputs["Scenarios"]
    inputs.changes = parse_changes(frame, report, unreadable)
    inputs.scenarios = scenario_names(frame, inputs["Limits"], inputs["Restrictions"],
                                      inputs["Options"])
    for name in inputs.scenarios[1:]:
        tables, found = apply_changes(inputs.tables, inputs.changes, name)
        inputs.scenario_tables[name] = {k: v for k, v in tables.items()
                                        if v is not inputs.tables[k]}
        for p in found:  # located through the sheet's headers, as every other problem
            report(p.message, p.row, p.column, p.value, p.severity)


def scenario_inputs(inputs: Inputs, scenario: str) -> Inputs:
    """The inputs of one scenario: its changed tables over the base ones (base: `inputs`
    itself). The result carries no other scenario's tables."""
    if scenario == BASE:
        return inputs
    derived = copy.copy(inputs)
    derived.tables = {**inputs.tables, **inputs.scenario_tables.get(scenario, {})}
    derived.scenario_tables = {}
    return derived
