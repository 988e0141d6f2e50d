"""Read the input workbook into typed tables (SPEC §1).

Each sheet becomes a `Table`: a DataFrame with the schema's column names, cells
coerced to the column's kind, plus the Excel row number of every record, so
that every later check can point at the cell. Cells that cannot be coerced are
reported as problems and left blank in the frame.
"""
from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import math
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

import openpyxl
from python_calamine import CalamineWorkbook
import pandas as pd
from openpyxl.utils import get_column_letter

from . import schema
from .errors import ERROR, WARNING, InputError, OutputError, Problem
from .excel import build_plan_workbook
from .xlsx import ContainerError, SheetFacts, check_container, sheet_facts, split_ref

ROW = "row"  # column holding the Excel row number of each record


@dataclass
class Table:
    sheet: schema.Sheet
    title: str                  # the sheet's name as typed in the file
    frame: pd.DataFrame         # schema columns present in the file, plus ROW
    headers: dict[str, str]     # schema column -> header text as typed
    letters: dict[str, str]     # schema column -> column letter

    def problem(self, message: str, row: int | None = None, column: str | None = None,
                value: object = None, severity: str = ERROR) -> Problem:
        return Problem(severity, message, self.title, row,
                       self.headers.get(column, column) if column else None,
                       self.letters.get(column) if column else None, value)


@dataclass
class RawWorkbook:
    path: Path
    sha256: str
    tables: dict[str, Table]    # schema sheet name -> table (only sheets present in the file)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _number_label(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def as_label(value: object) -> str | None:
    """Text of an id/period cell: numbers without a trailing .0, dates as ISO dates."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return None if isinstance(value, float) and math.isnan(value) else _number_label(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    return text or None


_NUMBER_TEXT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def coerce(value: object, column: schema.Column) -> tuple[object, str | None]:
    """(typed value, error sentence or None). Blank cells give (None, None)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    kind = column.kind
    if kind in (schema.ID, schema.TEXT, schema.PERIOD):
        return as_label(value), None
    if kind == schema.FLAG:
        text = as_label(value).lower()
        if text in ("yes", "y", "true", "1"):
            return True, None
        if text in ("no", "n", "false", "0"):
            return False, None
        return None, "write yes or no"
    if kind == schema.CHOICE:  # matched like headers: "Unmet penalty" = unmet_penalty
        found = {schema.normalise(c): c for c in column.choices}.get(schema.normalise(value))
        if found is not None:
            return found, None
        return None, "write one of: " + ", ".join(column.choices)
    # numeric kinds
    percent = False
    if isinstance(value, bool):
        return None, "write a number, not TRUE/FALSE"
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return None, "write a number, not a date (check the cell's format)"
    if isinstance(value, str):
        text = value.strip()
        if kind == schema.SHARE and text.endswith("%"):
            text, percent = text[:-1].strip(), True
        if not _NUMBER_TEXT.match(text):
            return None, ("write a plain number (no thousands separators, units or words"
                          + (", e.g. 0.65 or 65%" if kind == schema.SHARE else "")
                          + "); leave the cell blank where blank is allowed")
        number = float(text) / (100 if percent else 1)
    else:
        number = float(value)
    if not math.isfinite(number):
        return None, "write a finite number; leave the cell blank for unlimited"
    if kind in (schema.NUMBER, schema.SHARE) and number < 0:
        return None, "must not be negative"
    if kind == schema.SHARE and number > 1:
        return None, "a share is a fraction between 0 and 1 (write 0.65 or 65%)"
    return number + 0.0, None


def _header_row(rows: list[tuple]) -> int | None:
    for i, row in enumerate(rows):
        if any(as_label(v) for v in row):
            return i
    return None


def _closest(name: str, candidates: list[str]) -> str:
    """' (did you mean X?)' for the candidate nearest to `name`, or ''."""
    keys = {schema.normalise(c): c for c in candidates}
    hit = difflib.get_close_matches(schema.normalise(name), list(keys), n=1, cutoff=0.6)
    return f" (did you mean {keys[hit[0]]!r}?)" if hit else ""


def _report_facts(table: Table, facts: SheetFacts, head: int, problems: list[Problem]) -> None:
    """Merged cells and hidden rows inside the table (formulas are checked per cell)."""
    letters = {letter: name for name, letter in table.letters.items()}
    for ref in facts.merged:
        first, _, last = ref.partition(":")
        (l1, r1), (_, r2) = split_ref(first), split_ref(last or first)
        if r2 > head + 1:
            problems.append(Problem(ERROR, f"merged cells {ref} in the table: only the first "
                                           f"cell keeps a value; unmerge them and fill every cell",
                                    table.title, max(r1, head + 2), table.headers.get(
                                        letters.get(l1, ""), None), l1))
        elif r2 == head + 1:
            problems.append(Problem(WARNING, f"merged cells {ref} in the header row; unmerge "
                                             f"them so every column has its own header",
                                    table.title, r1))
    hidden = [r for r in facts.hidden_rows if r > head + 1]
    if hidden:
        shown = ", ".join(map(str, hidden[:10])) + (" ..." if len(hidden) > 10 else "")
        problems.append(Problem(WARNING, f"hidden (or filtered) rows {shown} are read as data "
                                         f"like any other row", table.title, hidden[0]))


def read_table(title: str, rows: list[list], sheet: schema.Sheet, problems: list[Problem],
               facts: SheetFacts | None = None) -> Table:
    """The table of one sheet from its cell values, row 1 first (blank cells: None or "")."""
    rows = list(rows)
    while rows and not any(as_label(v) for v in rows[-1]):
        rows.pop()  # trailing formatted-but-empty rows
    table = Table(sheet, title, pd.DataFrame(columns=[ROW]), {}, {})
    head = _header_row(rows)
    if head is None:
        problems.append(table.problem("the sheet is empty", severity=WARNING))
        return table
    wanted = {schema.normalise(c.name): c for c in sheet.columns}
    positions: dict[str, int] = {}
    for idx, label in enumerate(rows[head]):
        text = as_label(label)
        if text is None:
            continue
        col = wanted.get(schema.normalise(text))
        letter = get_column_letter(idx + 1)
        if col is None:
            missing = [c.name for c in sheet.columns if schema.normalise(c.name) not in
                       {schema.normalise(as_label(h) or "") for h in rows[head]}]
            problems.append(Problem(WARNING, "unknown column, ignored by the planner"
                                    + _closest(text, missing), title, head + 1, text, letter))
        elif col.name in positions:
            problems.append(Problem(ERROR, f"column {col.name} appears twice; keep one",
                                    title, head + 1, text, letter))
        else:
            positions[col.name] = idx
            table.headers[col.name] = text
            table.letters[col.name] = letter
    unknown = [as_label(h) for h in rows[head]
               if as_label(h) and schema.normalise(as_label(h)) not in wanted]
    for col in sheet.columns:
        if col.required and col.name not in positions:
            problems.append(table.problem(f"required column {col.name} is missing; add a "
                                          f"header cell named {col.name}"
                                          + _closest(col.name, unknown), row=head + 1))
    if facts is not None:
        _report_facts(table, facts, head, problems)
    formulas = {split_ref(ref) for ref in facts.formulas_without_value} if facts else set()
    records = []
    for offset, row in enumerate(rows[head + 1:], start=head + 2):
        if not any(as_label(v) for v in row):
            continue  # fully empty rows are ignored (SPEC §1)
        record: dict[str, object] = {ROW: offset}
        for name, idx in positions.items():
            col = sheet.column(name)
            raw = row[idx] if idx < len(row) else None
            value, error = coerce(raw, col)
            if error:
                problems.append(table.problem(error, offset, name, raw))
            elif value is None and (table.letters[name], offset) in formulas:
                problems.append(table.problem(
                    "formula without a computed value: the file was saved by a program that "
                    "does not compute formulas; open it in Excel or LibreOffice and save it "
                    "again", offset, name))
            elif value is None and not col.blank_ok:
                problems.append(table.problem(f"{name} must not be blank", offset, name))
            record[name] = value
        records.append(record)
    columns = [ROW] + [c.name for c in sheet.columns if c.name in positions]
    table.frame = pd.DataFrame.from_records(records, columns=columns).astype(object)
    table.frame[ROW] = table.frame[ROW].astype(int)
    if not records:
        problems.append(table.problem("the sheet has a header but no rows", severity=WARNING))
    return table


def read_workbook(path: Path) -> tuple[RawWorkbook, list[Problem]]:
    """Read every known sheet. Raises InputError only when the file cannot be opened at all."""
    path = Path(path)
    problems: list[Problem] = []
    if not path.is_file():
        raise InputError([Problem(ERROR, f"no such file: {path}")])
    try:
        check_container(path)
        facts = sheet_facts(path)
        digest = sha256_of(path)
        # Cell values through calamine (Rust): 19x faster than openpyxl's reader on large
        # inputs; what it does not tell (formulas without values, merges, hidden rows) comes
        # from sheet_facts. Macros in .xlsm files are never run: only values are read.
        wb = CalamineWorkbook.from_path(str(path))
        sheetnames = list(wb.sheet_names)
    except ContainerError as exc:
        raise InputError([Problem(ERROR, str(exc))]) from exc
    except Exception as exc:  # the parsers raise many kinds (PITFALLS #17)
        raise InputError([Problem(ERROR, f"could not read {path.name} as an .xlsx workbook "
                                         f"({type(exc).__name__}); save it from Excel as "
                                         f"'Excel Workbook (.xlsx)' and try again")]) from exc
    tables: dict[str, Table] = {}
    try:
        by_key = {schema.normalise(s.name): s for s in schema.SHEETS.values()}
        for title in sheetnames:
            sheet = by_key.get(schema.normalise(title))
            fact = facts.get(title)
            if fact is not None and fact.hidden:
                problems.append(Problem(WARNING, "the sheet is hidden; it is read like any other",
                                        title))
            if sheet is None and schema.normalise(title) in map(schema.normalise,
                                                               schema.INFO_SHEETS):
                continue
            if sheet is None:
                absent = [s.name for s in schema.SHEETS.values()
                          if schema.normalise(s.name) not in map(schema.normalise, sheetnames)]
                problems.append(Problem(WARNING, "unknown sheet, ignored by the planner"
                                        + _closest(title, absent), title))
            elif sheet.name in tables:
                problems.append(Problem(ERROR, f"a second sheet matching {sheet.name}; keep one",
                                        title))
            else:
                values = wb.get_sheet_by_name(title).to_python(skip_empty_area=False)
                tables[sheet.name] = read_table(title, values, sheet, problems, fact)
    except InputError:
        raise
    except Exception as exc:
        raise InputError([Problem(ERROR, f"could not read {path.name}: {type(exc).__name__}: "
                                         f"{exc}; save it again from Excel as .xlsx")]) from exc
    finally:
        wb.close()
    unknown = [t for t in sheetnames if schema.normalise(t) not in
               {schema.normalise(s.name) for s in schema.SHEETS.values()}]
    for sheet in schema.SHEETS.values():
        if sheet.required and sheet.name not in tables:
            problems.append(Problem(ERROR, f"required sheet {sheet.name} is missing; add a sheet "
                                           f"named {sheet.name}" + _closest(sheet.name, unknown),
                                    sheet.name))
    return RawWorkbook(path, digest, tables), problems


# Writing the plan ---------------------------------------------------------------------------
def save_workbook(wb: openpyxl.Workbook, path: Path) -> None:
    """Save atomically: a temporary file in the target folder renamed into place, so the
    target is complete or untouched (PITFALLS #14, #15); refused while Excel has it open."""
    path = Path(path)
    lock = path.with_name("~$" + path.name)
    if lock.exists():
        raise OutputError(f"{path} is open in Excel (lock file {lock.name} exists); close it "
                          f"and run again")
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".~planner-", suffix=".xlsx", dir=path.parent)
        os.close(fd)
        wb.save(tmp)
        mode = stat.S_IMODE(os.stat(path).st_mode) if path.exists() else 0o644
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except PermissionError as exc:
        raise OutputError(f"cannot write {path}: permission denied. If the file is open in "
                          f"Excel, close it and run again") from exc
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)


def write_plan(path: Path, sheets: dict[str, tuple[str | None, pd.DataFrame]],
               currency: str | None = None) -> None:
    """Write the plan workbook (SPEC §3) with its headlines, formats and charts
    (planner/excel.py), atomically. `currency` defaults to the one named in the Summary
    note."""
    path = Path(path)
    lock = path.with_name("~$" + path.name)
    if lock.exists():  # before the work of building, as well as at saving
        raise OutputError(f"{path} is open in Excel (lock file {lock.name} exists); close it "
                          f"and run again")
    save_workbook(build_plan_workbook(sheets, currency), path)
