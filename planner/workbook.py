"""Read the input workbook into typed tables (docs/modelling.md, "Reading the workbook").

Each sheet becomes a `Table`: a DataFrame with the schema's column names, cells
coerced to the column's kind, plus the Excel row number of every record, so
that every later check can point at the cell. Cells that cannot be coerced are
reported as problems and left blank in the frame.
"""
from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from python_calamine import CalamineWorkbook
import pandas as pd

from . import schema
from .cells import as_label, coerce, column_letter, visible
from .errors import ERROR, WARNING, InputError, Problem
from .inputs import ROW, Table
from .xlsx import ContainerError, SheetFacts, check_container, sheet_facts, split_ref


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


# A unit in brackets at the end of a header: `Unit cost (USD/t)`, `Capacity [t]`.
_UNIT = re.compile(r"\s*[(\[][^()\[\]]*[)\]]\s*$")


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
    """Merged cells, hidden rows and error values in the header (formulas and errors in
    the data are checked per cell)."""
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
    for ref, error in facts.errors.items():
        letter, row = split_ref(ref)
        if row == head + 1:  # read as a blank header: the column would go without a word
            problems.append(Problem(WARNING, f"the header cell holds the Excel error {error}; "
                                             f"its column is ignored: type the header",
                                    table.title, row, letter))
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
        col = wanted.get(schema.normalise(text)) or wanted.get(schema.normalise(
            _UNIT.sub("", text)))  # `Unit cost (USD/t)`: unit_cost, its unit aside
        text = visible(text)[0]  # as the header is shown in messages
        letter = column_letter(idx + 1)
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
               if as_label(h) and schema.normalise(as_label(h)) not in wanted
               and schema.normalise(_UNIT.sub("", as_label(h))) not in wanted]
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
            continue  # fully empty rows are ignored (docs/workbook.md)
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
    if not records and sheet.required:  # (optional sheets are left so in the template)
        problems.append(table.problem(f"the sheet has a header but no rows: {sheet.name} is "
                                      f"required, with at least one row"))
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
    except Exception as exc:  # a corrupt file makes the parsers raise almost any kind
        # (fuzzing found BadZipFile, ParseError, zlib.error, KeyError, EOFError, TypeError...)
        raise InputError([Problem(ERROR, f"could not read {path.name} as an .xlsx workbook "
                                         f"({type(exc).__name__}); save it from Excel as "
                                         f"'Excel Workbook (.xlsx)' and try again")]) from exc
    tables: dict[str, Table] = {}
    title = None
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
    except Exception as exc:  # a damaged sheet (its XML), or a value no check expected
        raise InputError([Problem(ERROR, f"could not read {path.name}: {type(exc).__name__}: "
                                         f"{exc}; save it again from Excel as .xlsx",
                                  title)]) from exc
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
