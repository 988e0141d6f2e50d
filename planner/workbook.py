"""Read the input workbook into typed tables (SPEC §1).

Each sheet becomes a `Table`: a DataFrame with the schema's column names, cells
coerced to the column's kind, plus the Excel row number of every record, so
that every later check can point at the cell. Cells that cannot be coerced are
reported as problems and left blank in the frame.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import errno
import gc
import hashlib
import io
import math
import os
import re
import stat
import sys
import tempfile
import threading
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

# C0 and C1 control characters other than tab and newline. Excel keeps them in text (ESC is
# stored as _x001B_) though they are invisible there; raw, they break the chart writer and
# drive the terminal. The reader replaces each by the four visible characters \xNN (ESC
# becomes \x1b), one form for C0 and C1 alike, so the same label reaches the plan, its
# charts and the terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_C0_NAMES = ("NUL SOH STX ETX EOT ENQ ACK BEL BS HT LF VT FF CR SO SI DLE DC1 DC2 DC3 DC4 "
             "NAK SYN ETB CAN EM SUB ESC FS GS RS US").split()


def visible(text: str) -> tuple[str, list[str]]:
    """`text` with each control character as \\xNN, and the names of those replaced
    ("ESC (U+001B)"); `text` itself and [] when it has none."""
    if text.isprintable() or not _CONTROL.search(text):  # isprintable: fast common case
        return text, []
    found = dict.fromkeys(_CONTROL.findall(text))
    names = [(_C0_NAMES[ord(c)] + " " if ord(c) < 32 else "DEL " if ord(c) == 127 else "")
             + f"(U+{ord(c):04X})" for c in found]
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text), names


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
    if abs(number) > schema.MAX_MAGNITUDE:
        return None, (f"{number:g} is beyond what the solver can handle exactly (at most "
                      f"{schema.MAX_MAGNITUDE:g}); check the units")
    if 0 < abs(number) < column.least:
        return None, (f"{number:g} is below {column.least:g}: the solver would silently lose "
                      f"a coefficient this small (HiGHS drops matrix entries below 1e-9); "
                      f"check the units")
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


EXTERNAL = "external"
_TEXT_KINDS = (schema.ID, schema.TEXT, schema.PERIOD, schema.CHOICE)
# What a cell flagged by sheet_facts holds instead of a value the planner can trust.
_MARKS = {
    "error": "the cell holds the Excel error {}; fix the formula or type the value",
    "missing": "formula without a computed value: the file was saved by a program that does "
               "not compute formulas; open it in Excel or LibreOffice and save it again",
    "stale": "formula never calculated: this workbook was written by a program and never "
             "calculated (its stored value is a placeholder): open and save it in Excel or "
             "LibreOffice, or replace the formulas by values",
    EXTERNAL: "value taken from another workbook (external link) as last saved; it may be out "
              "of date: open the linked workbook and save this one again in Excel, or replace "
              "the formula by its value",
}


def _marks(facts: SheetFacts, letters: dict[str, str]) -> dict[int, dict[str, tuple]]:
    """row -> {column: (mark, detail)} for the table's cells that sheet_facts flagged; linear
    in the number of flagged cells."""
    by_letter = {letter: name for name, letter in letters.items()}
    marks: dict[int, dict[str, tuple]] = {}
    flagged = ((facts.errors.items(), "error"),
               (((r, None) for r in facts.formulas_without_value), "missing"),
               (((r, None) for r in facts.stale_formulas), "stale"),
               (((r, None) for r in facts.external_formulas), EXTERNAL))
    for cells, mark in flagged:
        for ref, detail in cells:
            letter, row = split_ref(ref)
            name = by_letter.get(letter)
            if name is not None:
                marks.setdefault(row, {}).setdefault(name, (mark, detail))
    return marks


def _totals(facts: SheetFacts, positions: dict[str, int]) -> dict[int, str]:
    """row -> Excel table name, for Totals rows of tables that span a column the planner
    reads (a table elsewhere on the sheet does not hide a row of the data)."""
    read = {idx + 1 for idx in positions.values()}
    return {row: name for row, (name, first, last) in facts.totals_rows.items()
            if any(first <= c <= last for c in read)}


def read_table(title: str, rows: list[list], sheet: schema.Sheet, problems: list[Problem],
               facts: SheetFacts | None = None) -> Table:
    """The table of one sheet from its cell values, row 1 first (blank cells: None or "")."""
    rows = list(rows)
    # Error values and formulas without a value read as empty cells: keep their rows.
    held = {split_ref(ref)[1] for ref in (*facts.errors, *facts.formulas_without_value)} \
        if facts else set()
    while rows and not any(as_label(v) for v in rows[-1]) and len(rows) not in held:
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
        text = visible(text)[0]  # as the header is shown in messages
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
    marks = _marks(facts, table.letters) if facts else {}
    totals = _totals(facts, positions) if facts else {}
    by_name = {name: sheet.column(name) for name in positions}
    records = []
    for offset, row in enumerate(rows[head + 1:], start=head + 2):
        cells = marks.get(offset)
        if not cells and not any(as_label(v) for v in row):
            continue  # fully empty rows are ignored (SPEC §1)
        if offset in totals:
            problems.append(Problem(WARNING, f"row {offset} is the Totals row of the Excel "
                                             f"table {totals[offset]}; it is not read",
                                    title, offset))
            continue
        record: dict[str, object] = {ROW: offset}
        for name, idx in positions.items():
            col = by_name[name]
            mark = cells.get(name) if cells else None
            if mark is not None and mark[0] != EXTERNAL:
                problems.append(table.problem(_MARKS[mark[0]].format(mark[1]), offset, name))
                record[name] = None
                continue
            raw = row[idx] if idx < len(row) else None
            value, error = coerce(raw, col)
            if error:
                problems.append(table.problem(error, offset, name, raw))
            elif value is None and not col.blank_ok:
                problems.append(table.problem(f"{name} must not be blank", offset, name))
            if mark is not None:  # EXTERNAL
                problems.append(table.problem(_MARKS[EXTERNAL], offset, name, value, WARNING))
            if isinstance(value, str) and col.kind in _TEXT_KINDS:
                value, controls = visible(value)
                if controls:
                    problems.append(table.problem(
                        f"the text holds the invisible control character"
                        f"{'s' if len(controls) > 1 else ''} {', '.join(controls)}; it is read "
                        f"as \"{value}\" (\\x and the character's code in its place); delete "
                        f"it from the cell", offset, name, severity=WARNING))
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
    if not path.exists():
        raise InputError([Problem(ERROR, f"no such file: {path}")])
    if not path.is_file():
        what = "a folder" if path.is_dir() else "not a regular file (a pipe or device?)"
        raise InputError([Problem(ERROR, f"{path} is {what}; give the path of an .xlsx "
                                         f"workbook")])
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
# Set when the process is being interrupted: no plan is saved after it, and files being
# written are removed (planner/supervise.py). The command line clears it at each start.
STOP = threading.Event()
_partial: set[str] = set()      # temporary files being written next to their targets
_partial_lock = threading.Lock()


def remove_partial_outputs() -> None:
    """Delete every temporary plan file still being written (an interrupt)."""
    with _partial_lock:
        for tmp in list(_partial):
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        _partial.clear()


def check_output(path: Path) -> None:
    """Refuse, before any work, an output that cannot be written: open in Excel (its lock
    file exists), not a regular file, or in a folder where no file can be created."""
    path = Path(path)
    lock = path.with_name("~$" + path.name)
    if lock.exists():
        raise OutputError(f"{path} is open in Excel (lock file {lock.name} exists); close it "
                          f"and run again")
    if path.exists() and not path.is_file():
        what = "a folder" if path.is_dir() else "not a regular file"
        raise OutputError(f"cannot write {path}: it is {what}; choose a file name ending "
                          f"in .xlsx")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # the folders on the way are created when the plan is saved
    if not folder.is_dir():
        raise OutputError(f"cannot write {path}: {folder} is not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".~planner-", suffix=".probe", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except PermissionError as exc:
        raise OutputError(f"cannot write {path}: no permission to create files in the folder "
                          f"{folder}; choose another -o or ask for write access") from exc
    except OSError as exc:
        raise OutputError(f"cannot write {path}: cannot create files in the folder {folder} "
                          f"({_reason(exc)})") from exc


def _reason(exc: BaseException) -> str:
    """What went wrong with a write, in words (lxml reports a full disk as 'IO_ENOSPC')."""
    code = getattr(exc, "errno", None)
    if code == errno.ENOSPC or "ENOSPC" in str(exc):
        return "no space left on the device"
    if code == errno.EFBIG or "EFBIG" in str(exc):
        return "the file is larger than the file-size limit allows"
    if code == errno.EDQUOT:
        return "the disk quota is exhausted"
    if code == errno.EROFS:
        return "the file system is read-only"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _megabytes(n: int) -> str:
    return f"{n / 1e6:,.1f} MB" if n >= 1e5 else f"{n / 1e3:,.0f} kB"


def _in_memory(wb: openpyxl.Workbook) -> tuple[bytes, str | None]:
    """The workbook's file as bytes, or the reason it could not be made. A save that fails
    half-way leaves a zip file and sheet writers that try (and fail) to finish when they
    are collected; those echoes of the one failure are collected here, silently."""
    buffer = io.BytesIO()
    hook = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: None
    try:
        try:
            wb.save(buffer)
        except Exception as exc:
            return b"", _reason(exc)
        finally:
            gc.collect()
    finally:
        sys.unraisablehook = hook
    return buffer.getvalue(), None


def save_workbook(wb: openpyxl.Workbook, path: Path) -> None:
    """Save atomically: the workbook is built in memory, written to a temporary file in the
    target folder and renamed into place, so the target is complete or untouched; a full
    disk or a file-size limit is one plain OutputError and leaves nothing behind."""
    path = Path(path)
    check_output(path)
    data, failure = _in_memory(wb)
    if failure is not None:  # openpyxl writes each sheet through a file in the temp folder
        raise OutputError(f"cannot build the plan {path.name}: writing to the temporary folder "
                          f"{tempfile.gettempdir()} failed ({failure})")
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".~planner-", suffix=".xlsx", dir=path.parent)
        with _partial_lock:
            _partial.add(tmp)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())  # a full disk can first show at the flush to disk
        mode = stat.S_IMODE(os.stat(path).st_mode) if path.exists() else 0o644
        os.chmod(tmp, mode)
        with _partial_lock:
            if STOP.is_set() or tmp not in _partial:
                raise OutputError(f"interrupted: {path} was not written")
            os.replace(tmp, path)
            _partial.discard(tmp)
            tmp = None
    except PermissionError as exc:
        raise OutputError(f"cannot write {path}: permission denied. If the file is open in "
                          f"Excel, close it and run again") from exc
    except OSError as exc:
        raise OutputError(f"cannot write {path} ({_megabytes(len(data))}): "
                          f"{_reason(exc)}") from exc
    finally:
        if tmp is not None:
            with _partial_lock:
                _partial.discard(tmp)
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def write_plan(path: Path, sheets: dict[str, tuple[str | None, pd.DataFrame]],
               currency: str | None = None) -> None:
    """Write the plan workbook (SPEC §3) with its headlines, formats and charts
    (planner/excel.py), atomically. `currency` defaults to the one named in the Summary
    note."""
    check_output(path)  # before the work of building, as well as at saving
    if STOP.is_set():
        raise OutputError(f"interrupted: {path} was not written")
    save_workbook(build_plan_workbook(sheets, currency), path)
