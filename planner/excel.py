"""The plan workbook as people read it in the meeting: formats, notes, headlines, charts.

`plan_file` turns the plan's tables (`plan.plan_sheets`) into the bytes of an .xlsx file,
written with XlsxWriter in memory; `output.write_plan` saves them atomically. What this
module adds never changes the contract of the plan (docs/plan-workbook.md): sheet and column
names are the frames' own, the header row is the first row with a `scenario` cell (nothing
above it has one) and data rows follow it directly; numbers stay numbers (formats only). How
each column looks, the order of the rows and the highlights come from the sheets'
declarations (planner/sheets.py), never from a column's name.

Work is linear in the number of cells: values are converted a column at a time and written
with one XlsxWriter call per cell, formats looked up once per column (or per distinct
format); only header rows get fonts and fills; conditional formats and charts are single
objects over ranges. Sorting (Flows, Unmet, Utilization) is one pandas sort. Rows and
columns are numbered from 1 here, as in the sheet; XlsxWriter's are from 0.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import gc
import io
import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from xlsxwriter import Workbook
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from .headlines import headlines, nothing_to_report, top_shares
from .network import SUPPLIER
from .report import ALL_PERIODS, horizon_shares
from .sheets import (ALPHABETICAL, AT_LEAST, BETWEEN, COST_PARTS, COUNT, EQUALS, FIRST_SEEN,
                     FLAG, INDEX, LARGEST_FIRST, MONEY, NONE_OF, NUMBER, PRICE, SECONDS, SHARE,
                     MIX_STAGES, TONNES, PerRow, Sheet, declared)

FORMULA_LEADERS = ("=", "+", "-", "@", "\t", "\r")
# Characters XML 1.0 forbids (as openpyxl defines them); text loses them.
ILLEGAL_CHARACTERS_RE = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")

# Number formats by kind of value (planner/sheets.py). Money (whole units) and prices (money
# per t, two decimals) get the currency label: `money_format`. Ids and text have none.
FORMATS = {TONNES: "#,##0.0", SHARE: "0.0%", INDEX: "#,##0", COUNT: "#,##0",
           SECONDS: "0.000", NUMBER: "#,##0.###"}
SHARE_FORMAT = FORMATS[SHARE]
FLAG_WORDS = {True: "yes", False: "no"}   # how a FLAG reads in the plan

CHARTS_SHEET = "Charts"
CHART_DATA_SHEET = "Chart data"
MAX_MIX_CHARTS = 6        # scenarios with a sourcing-mix chart (base first)
MAX_UTIL_SERIES = 3       # scenarios side by side in the utilisation chart (base first)
MAX_SERIES = 12           # countries per mix chart (the rest summed as "other")
TOP_LOADED = 15           # suppliers and sites in the utilisation chart
MAX_SOURCE_SERIES = 4     # scenarios in the suppliers' tonnes chart (base, then the most moved)
MAX_SOURCES = 30          # suppliers in that chart (the most tonnes)
LOG_SPAN = 100            # tonnes spanning more than this factor are drawn on a log scale
DATA_HEADER_ROW = 2       # the Chart data sheet's one header row
# Summary: a scenario's lines are cells side by side, of about these shares of the width
LINE_CELLS = (0.38, 0.32, 0.30)
LINE_LABELS = ("result against base", "costliest rule: what it costs",
               "largest country share against base")
MILLIONS_NOTE = "Money in millions (m); the cells hold the full amounts."
SHARE_ROWS = 10           # base's largest shares: more materials than this, two tables
# Page margins in inches: left, right, top, bottom, header, footer
MARGINS = (0.75, 0.75, 1.0, 1.0, 0.5, 0.5)           # what PAGE_POINTS is measured inside
SUMMARY_MARGINS = (0.4, 0.4, 0.5, 0.5, 0.3, 0.3)
A4 = 9                    # the paper size's code in the file
CHART_CM = (11.5, 8.0)    # the Summary's cost chart at least this wide and tall
MILLION = 1e6             # money on the Summary in millions once an amount reaches this
PRINT_PAGES = 2           # a long table prints its first rows on this many pages
PAGE_POINTS = (734, 451)  # A4 landscape inside MARGINS, pt
ROW_POINTS = 15           # Excel's default row height, pt
DEFAULT_WIDTH = 13        # a column the layout measures before giving it a width (below)
PIXELS_PER_CM = 96 / 2.54
CREATED = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)  # same plan, same file

# Looks: XlsxWriter format properties, combined per cell (`PlanWorkbook.look`)
HEADER_COLOUR = "DCE6F1"
HEADER_FONT = {"bold": True}
HEADER = {"bold": True, "pattern": 1, "bg_color": f"#{HEADER_COLOUR}", "bottom": 1,
          "bottom_color": "#7F7F7F"}
NOTE_FONT = {"italic": True, "font_color": "#404040"}
TITLE_FONT = {"bold": True, "font_size": 14}
LEAD_FONT = {"bold": True}
QUOTED = {"quote_prefix": True}   # text that looks like a formula stays text on editing
INDENTED = {"indent": 1}          # text right of a column of numbers, set apart from them
TOP = {"valign": "top"}
FULL_FILL = {"bg_color": "#F4B6B6"}    # at capacity
NEAR_FILL = {"bg_color": "#FCE4B6"}    # >= 90 %
BINDS_FILL = {"bg_color": "#FCE4B6"}
BAD = {"bold": True, "font_color": "#9C0006", "bg_color": "#FFC7CE"}
LOOKS = {"at capacity": FULL_FILL, "near capacity": NEAR_FILL, "binding": BINDS_FILL,
         "not optimal": BAD}


# The workbook ---------------------------------------------------------------------------
class PlanSheet(Worksheet):
    """An XlsxWriter worksheet that remembers the column widths it was given (the layout
    measures them; XlsxWriter only writes them) and knows its workbook (for formats and
    charts)."""

    def __init__(self):
        super().__init__()
        self.book: PlanWorkbook | None = None
        self.widths: dict[int, float] = {}

    def width(self, column: int) -> float:
        """The width of `column`, in characters. A column measured before it was given one
        gets DEFAULT_WIDTH and keeps it in the file (as the plan always had it)."""
        if column not in self.widths:
            self.set_width(column, DEFAULT_WIDTH)
        return self.widths[column]

    def set_width(self, column: int, width: float) -> None:
        self.widths[column] = width
        # a width of w characters is 7w pixels (Calibri 11): the file says exactly w
        self.set_column_pixels(column - 1, column - 1, round(width * 7))

    def set_height(self, row: int, points: float) -> None:
        # in pixels of 3/4 pt, unrounded: set_row would round the height to a whole pixel
        self.set_row_pixels(row - 1, points * 4 / 3)


class PlanWorkbook(Workbook):
    """An XlsxWriter workbook made in memory, whose sheets are PlanSheets and whose cell
    formats are made once per look (XlsxWriter's add_format makes a new one at every call)."""

    def __init__(self, target):
        super().__init__(target, {"in_memory": True, "strings_to_formulas": False,
                                  "strings_to_numbers": False, "strings_to_urls": False})
        self.set_properties({"created": CREATED})
        self._looks: dict[tuple, Format] = {}

    def add_sheet(self, name: str) -> PlanSheet:
        ws = self.add_worksheet(name, worksheet_class=PlanSheet)
        ws.book = self
        return ws

    def look(self, *parts: dict | None) -> Format | None:
        """The format of the looks `parts` together (None: the default look)."""
        props = {k: v for part in parts if part for k, v in part.items()}
        if not props:
            return None
        key = tuple(sorted(props.items()))
        made = self._looks.get(key)
        if made is None:
            made = self._looks[key] = self.add_format(props)
        return made


# Cells ---------------------------------------------------------------------------------
def cell_value(value: object) -> object:
    """Numbers stay numbers; NaN is a blank cell and ±inf the words "unlimited" /
    "-unlimited" (a spreadsheet has no such numbers); text loses characters XML forbids."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "unlimited" if value > 0 else "-unlimited"
        return float(value) + 0.0
    if value is pd.NaT or (not isinstance(value, str) and pd.isna(value) is True):
        return None
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", str(value))


def _guarded(ws: PlanSheet, value: object, looks: tuple) -> tuple[object, Format | None]:
    """`cell_value` of `value` and its cell's format: text that looks like a formula gets the
    quote prefix (it is written as text in any case, never evaluated)."""
    value = cell_value(value)
    if value.__class__ is str and value.startswith(FORMULA_LEADERS):
        looks += (QUOTED,)
    return value, ws.book.look(*looks)


def put(ws: PlanSheet, row: int, column: int, value: object, *looks: dict | None) -> None:
    """One cell: `value` as `cell_value` makes it, in the looks given. XlsxWriter's write()
    picks the cell's type from the value's; the workbook's options keep text text."""
    ws.write(row - 1, column - 1, *_guarded(ws, value, looks))


def put_merged(ws: PlanSheet, row: int, first: int, last: int, value: object,
               *looks: dict | None) -> None:
    """`put` into a row's cells `first` to `last` merged."""
    if last > first:
        ws.merge_range(row - 1, first - 1, row - 1, last - 1, *_guarded(ws, value, looks))
    else:
        put(ws, row, first, value, *looks)


def write_column(ws: PlanSheet, first_row: int, column: int, values: list,
                 fmt: str | list | None, indent: bool = False) -> None:
    """The cells of one column from its `column_values`, from `first_row` down: blanks
    skipped; text as text, a formula leader with its quote prefix; numbers with the
    column's format, or their row's when `fmt` is a list. `indent`: text set in by one
    character (a text column right of a number column would touch its numbers)."""
    look = ws.book.look
    inset = INDENTED if indent else None
    quoted, plain = look(QUOTED, inset), look(inset)
    if isinstance(fmt, list):
        by_format = {f: look({"num_format": f}) if f else None for f in set(fmt)}
        formats = [by_format[f] for f in fmt]
    else:
        formats = None
        number_format = look({"num_format": fmt}) if fmt else None
    write_number, write_string = ws.write_number, ws.write_string
    row, column = first_row - 1, column - 1
    for i, value in enumerate(values):
        kind = value.__class__
        if kind is float or kind is int:
            write_number(row + i, column, value, formats[i] if formats else number_format)
        elif kind is str:
            if value:
                write_string(row + i, column, value,
                             quoted if value.startswith(FORMULA_LEADERS) else plain)
        elif kind is bool:
            ws.write_boolean(row + i, column, value)


@contextlib.contextmanager
def _collector_paused():
    """Python's cycle collector paused while the plan is made: it would scan the millions
    of long-lived cells of a large plan again and again, though none of them is garbage."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def column_values(series: pd.Series) -> list:
    """`cell_value` of every entry of a column, converted a column at a time: numeric
    columns with one `tolist()` (NaN a blank cell, ±inf the words, -0.0 as 0.0), text
    columns with one check for characters XML forbids; anything else entry by entry."""
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "biu":
        return series.to_numpy().tolist()
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        values = series.to_numpy()
        out = (values + 0.0).tolist()
        for i in np.flatnonzero(~np.isfinite(values)).tolist():
            out[i] = cell_value(values[i])
        return out
    out = series.tolist()
    clean = not ILLEGAL_CHARACTERS_RE.search("\n".join(v for v in out if v.__class__ is str))
    return [v if clean and v.__class__ is str else cell_value(v) for v in out]


# Formats -------------------------------------------------------------------------------
def _label(text: str) -> str:
    """Text that can stand in quotes inside a number format."""
    return text.replace('"', "").replace("\\", "")


def money_format(currency: str | None, decimals: int = 0, millions: bool = False) -> str:
    """Whole units (or `decimals`), or millions with one decimal: the cell keeps the full
    amount, the two trailing commas of the format divide it by a million on screen."""
    if millions:
        return f'#,##0.0,, "m {_label(currency)}"' if currency else '#,##0.0,, "m"'
    base = "#,##0" + ("." + "0" * decimals if decimals else "")
    if not currency:
        return base
    return f'{base} "{_label(currency)}"'


def signed(fmt: str) -> str:
    """A change's format: +x, -x, and 0 without a sign."""
    return f"+{fmt};-{fmt};{fmt}"


def kind_format(kind: str, currency: str | None, millions: bool = False) -> str | None:
    """The number format of a kind of value; None for ids, text and flags."""
    if kind == MONEY:
        return money_format(currency, millions=millions)
    if kind == PRICE:
        return money_format(currency, 2)
    return FORMATS.get(kind)


def in_millions(sheet: Sheet | None, frame: pd.DataFrame) -> bool:
    """Whether the sheet shows its money in millions: it says so, and an amount reaches a
    million."""
    if sheet is None or not sheet.millions:
        return False
    money = [c.name for c in sheet.columns if c.kind == MONEY and c.name in frame]
    if not money:
        return False
    values = frame[money].apply(pd.to_numeric, errors="coerce").abs().to_numpy(float)
    return bool(np.isfinite(values).any() and np.nanmax(values) >= MILLION)


def column_formats(sheet: Sheet | None, frame: pd.DataFrame, column: str,
                   currency: str | None, millions: bool = False) -> str | list | None:
    """The format of a column as its sheet declares it: one format, or one per row for a
    column whose unit depends on the row (Limits.bound, Comparison and Diagnosis values);
    a cross table's scenario columns have the sheet's `per_scenario` kind. None for a
    column the sheet does not declare."""
    declared_column = sheet.column(column) if sheet is not None else None
    if declared_column is None:
        if sheet is not None and sheet.per_scenario and column not in sheet.names:
            return kind_format(sheet.per_scenario, currency)
        return None
    kind = declared_column.kind
    if not isinstance(kind, PerRow):
        fmt = kind_format(kind, currency, millions)
        return signed(fmt) if fmt and declared_column.signed else fmt
    if kind.by not in frame:
        return None
    key = frame[kind.by].astype(str)
    return np.select([key == value for value, _ in kind.kinds],
                     [kind_format(k, currency) for _, k in kind.kinds],
                     kind_format(kind.otherwise, currency)).tolist()


_NUMBER_FORMAT = re.compile(r'#,##0(?:\.(0+))?(,*)')


def shown_length(value: object, fmt: str | None) -> int:
    """About how many characters a value takes on screen in its format (the first section
    of a signed one, plus the sign)."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return len(str(value))
    sign = 1 if fmt and ";" in fmt else 0
    fmt = fmt.split(";", 1)[0].lstrip("+") if fmt else fmt
    if fmt == SHARE_FORMAT:
        return 7 + sign
    found = _NUMBER_FORMAT.search(fmt) if fmt else None
    if found:
        decimals = len(found.group(1) or "")
        text = f"{value / 1000 ** len(found.group(2)):,.{min(decimals, 3)}f}"
        label = re.search(r'"(.*)"', fmt)
        return len(text) + sign + (len(label.group(1)) + 1 if label else 0)
    return len(f"{value:.6g}")


# Presentation order --------------------------------------------------------------------
def _first_seen(series: pd.Series) -> np.ndarray:
    codes, _ = pd.factorize(series.astype(str), sort=False)
    return codes


def presentation_order(sheet: Sheet | None, frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in the sheet's declared order: big items first, scenarios and periods kept in
    their plan order (first appearance). A sheet without one keeps the order the report
    gives it (Mix and Limits are already sorted biggest first; Diagnosis lists causes
    first), as does a table that lacks a column of the order."""
    if sheet is None or not sheet.order or frame.empty \
            or any(o.column not in frame for o in sheet.order):
        return frame
    keys = {}
    for i, o in enumerate(sheet.order):
        values = frame[o.column]
        if o.direction == FIRST_SEEN:
            keys[f"_{i}"] = _first_seen(values)
        elif o.direction == ALPHABETICAL:
            keys[f"_{i}"] = values.astype(str)
        elif o.direction == LARGEST_FIRST:
            keys[f"_{i}"] = -pd.to_numeric(values, errors="coerce").fillna(o.blank)
        else:
            raise ValueError(f"{sheet.name}: unknown order {o.direction!r}")
    order = pd.DataFrame(keys, index=frame.index).sort_values(list(keys), kind="stable").index
    return frame.loc[order].reset_index(drop=True)


# Tables --------------------------------------------------------------------------------
@dataclass
class Placed:
    """Where a frame landed on a sheet."""

    ws: PlanSheet
    columns: list[str]
    header_row: int
    n_rows: int

    @property
    def first_row(self) -> int:
        return self.header_row + 1

    @property
    def last_row(self) -> int:
        return self.header_row + self.n_rows

    def col(self, name: str) -> int:
        return self.columns.index(name) + 1

    def letter(self, name: str) -> str:
        return xl_col_to_name(self.col(name) - 1)


def _widths(columns: list[str], values: list[list], formats: list, indents: list[bool],
            sample: int = 200) -> list[float]:
    """Column widths from the header and the first `sample` cell values (`column_values`),
    a character more for an indented column."""
    widths = []
    for j, name in enumerate(columns):
        fmt = formats[j]
        longest = len(str(name)) + 3  # room for the filter button
        for i, v in enumerate(values[j][:sample]):
            f = fmt[i] if isinstance(fmt, list) else fmt
            longest = max(longest, shown_length(v, f) + indents[j])
        widths.append(min(max(9, longest + 2), 50))
    return widths


def write_lines(ws: PlanSheet, row: int, lines: list[tuple[str, dict | None, int]],
                width_chars: float, last_col: int) -> int:
    """Paragraphs above a table, one per row, each merged across the table's width and
    wrapped, with a row height that fits. Returns the next free row."""
    for text, font, indent in lines:
        if not text:
            row += 1
            continue
        put_merged(ws, row, 1, last_col, text, font, _wrapped(indent))
        lines_needed = max(1, math.ceil(len(str(text)) * 0.9 / max(width_chars - 2 * indent,
                                                                      20)))
        size = (font or {}).get("font_size", 11)
        ws.set_height(row, lines_needed * (size * 1.35) + 2)
        row += 1
    return row


def _wrapped(indent: int = 0) -> dict:
    return {"text_wrap": True, "valign": "top", **({"indent": indent} if indent else {})}


def write_table(ws: PlanSheet, sheet: Sheet | None, frame: pd.DataFrame, start_row: int,
                currency: str | None, below: bool = False) -> Placed:
    """Header at `start_row`, data directly below: formats per column as `sheet` declares
    them, flags as yes/no, text guarded. `below`: a table under another one on the sheet
    (columns only ever widened; the sheet's one filter stays on the first table)."""
    columns = [str(c) for c in frame.columns]
    for j, name in enumerate(columns, start=1):
        put(ws, start_row, j, name, HEADER)
    millions = in_millions(sheet, frame)
    formats = [column_formats(sheet, frame, name, currency, millions) for name in columns]
    # Values converted a column at a time (exactly `cell_value`), flags to their words,
    # then written a column at a time.
    values = [column_values(frame.iloc[:, j]) for j in range(len(columns))]
    for j, name in enumerate(columns):
        column = sheet.column(name) if sheet is not None else None
        if column is not None and column.kind == FLAG:
            values[j] = [FLAG_WORDS[v] if v.__class__ is bool else v for v in values[j]]
    indents = [fmt is None and j > 0 and formats[j - 1] is not None
               for j, fmt in enumerate(formats)]
    for j, (column, fmt, indent) in enumerate(zip(values, formats, indents), start=1):
        write_column(ws, start_row + 1, j, column, fmt, indent)
    table = Placed(ws, columns, start_row, len(frame))
    for j, width in enumerate(_widths(columns, values, formats, indents), start=1):
        ws.set_width(j, max(width, ws.widths.get(j, 0.0)) if below else width)
    if columns and not below:
        ws.autofilter(start_row - 1, 0, max(start_row, table.last_row) - 1, len(columns) - 1)
    return table


def write_below(above: Placed, title: str, note: str | None, frame: pd.DataFrame,
                currency: str | None) -> Placed:
    """The table of sheet `title` under the table `above`, after a blank row, its note
    on the row above its header."""
    ws, row = above.ws, above.last_row + 2
    if note:
        put(ws, row, 1, note, NOTE_FONT)
        row += 1
    return write_table(ws, declared(title), presentation_order(declared(title), frame), row,
                       currency, below=True)


def _page_setup(ws: PlanSheet, title_row: int | None = None, pages: int = 0,
                margins: tuple = MARGINS) -> None:
    """Landscape, one page wide (and at most `pages` tall, 0: as many as it takes), the
    header repeated on every printed page."""
    ws.set_landscape()
    ws.set_paper(A4)
    ws.fit_to_pages(1, pages)
    left, right, top, bottom, header, footer = margins
    ws.set_margins(left, right, top, bottom)
    ws.set_header("", {"margin": header})
    ws.set_footer("", {"margin": footer})
    if title_row:
        ws.repeat_rows(title_row - 1)


def printed_rows(ws: PlanSheet, n_columns: int, above: int) -> int:
    """About how many table rows PRINT_PAGES landscape pages hold at the scale that fits
    the table's width, its header repeated on each and `above` rows on the first, in
    Excel's 15 pt rows (LibreOffice's are lower: it fits them in fewer pages)."""
    width = sum(ws.width(j) * 7 + 5 for j in range(1, n_columns + 1)) * 0.75  # px to pt
    scale = min(1.0, PAGE_POINTS[0] / max(width, 1.0))
    per_page = int(PAGE_POINTS[1] / (ROW_POINTS * scale))
    return max(1, PRINT_PAGES * (per_page - 1) - above)


def _table_width(ws: PlanSheet, n_columns: int) -> float:
    return sum(ws.width(j) for j in range(1, n_columns + 1))


def write_sheet(ws: PlanSheet, title: str, note: str | None, frame: pd.DataFrame,
                currency: str | None, above: list[tuple[str, dict | None, int]] = (),
                freeze: bool = True, tables_below: bool = False) -> Placed:
    """A plan sheet: the one-line note (and any headline paragraphs), then the table. A
    table longer than PRINT_PAGES printed pages prints its first rows only (the biggest
    items, as sorted), and the note says so. The header prints again on every page unless
    other tables follow below it (`tables_below`): their rows would print under a header
    that is not theirs (a sheet has one set of print titles)."""
    sheet = declared(title)
    if sheet is not None and sheet.name == title:  # Flows 2, ...: kept in the split's order
        frame = presentation_order(sheet, frame)
    lines = ([(note, NOTE_FONT, 0)] if note else []) + list(above)
    start = len(lines) + 1
    table = write_table(ws, sheet, frame, start, currency)
    n = max(len(table.columns), 6)
    shown = printed_rows(ws, len(table.columns), start)
    pages = 0
    if note and table.n_rows > shown:
        lines[0] = (f"{note} Printing shows the first {shown:,} of {table.n_rows:,} rows; "
                    f"filter, then print the selection, for others.", NOTE_FONT, 0)
        ws.print_area(0, 0, table.header_row + shown - 1, len(table.columns) - 1)
        pages = PRINT_PAGES
    write_lines(ws, 1, lines, _table_width(ws, n), n)
    if freeze:
        ws.freeze_panes(table.first_row - 1, 0)
    _page_setup(ws, None if tables_below else table.header_row, pages)
    return table


# Conditional formats -------------------------------------------------------------------
def _literal(value: object) -> str:
    """A value in a conditional format's formula; a flag as the words the plan shows."""
    if isinstance(value, bool):
        return f'"{FLAG_WORDS[value]}"'
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"'
    return str(value)


def _conditional(sheet: Sheet | None, table: Placed) -> None:
    """The sheet's declared highlights, each one rule over its column (or the table's
    rows)."""
    if sheet is None or table.n_rows == 0:
        return
    ws, first, last = table.ws, table.first_row, table.last_row
    for h in sheet.highlights:
        if h.column not in table.columns:
            continue
        cells = (first - 1, 0, last - 1, len(table.columns) - 1) if h.whole_row \
            else (first - 1, table.col(h.column) - 1, last - 1, table.col(h.column) - 1)
        cell = f"${table.letter(h.column)}{first}"   # the formula's first row; Excel shifts it
        if h.test == AT_LEAST:
            rule = {"type": "cell", "criteria": ">=", "value": _literal(h.values[0])}
        elif h.test == BETWEEN:
            rule = {"type": "cell", "criteria": "between", "minimum": _literal(h.values[0]),
                    "maximum": _literal(h.values[1])}
        elif h.test == EQUALS:
            rule = {"type": "formula", "criteria": f"{cell}={_literal(h.values[0])}"}
        elif h.test == NONE_OF:
            rule = {"type": "formula", "criteria": "AND(" + ",".join(
                f"{cell}<>{_literal(v)}" for v in h.values) + ")"}
        else:
            raise ValueError(f"{sheet.name}: unknown highlight test {h.test!r}")
        ws.conditional_format(*cells, {**rule, "format": ws.book.look(LOOKS[h.look]),
                                       "stop_if_true": bool(h.stop)})


# Charts --------------------------------------------------------------------------------
NO_TICKS = {"major_tick_mark": "none", "minor_tick_mark": "none"}


def _bar_chart(book: PlanWorkbook, title: str, subtype: str, value_axis: dict,
               title_points: int | None = None, text_points: int | None = None):
    """Horizontal bars, the first category on top as in the table. `value_axis`: its
    XlsxWriter options (number format, name, scale); `title_points`: a title in that size
    (the default is large for a chart on a busy page); `text_points`: axis and legend text
    in that size."""
    chart = book.add_chart({"type": "bar", "subtype": subtype})
    chart.set_style(10)
    chart.set_title({"name": title, **({"name_font": {"size": title_points, "bold": True}}
                                       if title_points else {})})
    text = {"num_font": {"size": text_points}} if text_points else {}
    # for bars XlsxWriter's x axis is the value axis, drawn across
    chart.set_x_axis({**NO_TICKS, "major_gridlines": {"visible": True}, **text, **value_axis})
    chart.set_y_axis({**NO_TICKS, "reverse": True, **text})
    chart.set_legend({"position": "bottom",
                      **({"font": {"size": text_points}} if text_points else {})})
    return chart


def _series(chart, ws: PlanSheet, name_row: int, column: int, first: int, last: int,
            categories: int, **options) -> None:
    """One series: the values of `column` in rows `first` to `last`, named by the cell in
    `name_row`, the categories in column `categories` of the same rows."""
    chart.add_series({"name": [ws.name, name_row - 1, column - 1],
                      "categories": [ws.name, first - 1, categories - 1, last - 1,
                                     categories - 1],
                      "values": [ws.name, first - 1, column - 1, last - 1, column - 1],
                      **options})


def _insert(ws: PlanSheet, row: int, column: int, chart, width_cm: float,
            height_cm: float) -> None:
    """`chart` at the top left of a cell, of a size in cm that does not change with the
    cells'."""
    chart.set_size({"width": width_cm * PIXELS_PER_CM, "height": height_cm * PIXELS_PER_CM})
    ws.insert_chart(row - 1, column - 1, chart, {"object_position": 2})


def cost_chart(summary: Placed, currency: str | None, millions: bool = False):
    """Stacked bars: each scenario's total cost split into its components, straight from
    the Summary table's cells (in millions, as the table shows them)."""
    parts = [c for c in COST_PARTS if c in summary.columns]
    if summary.n_rows == 0 or not parts or "scenario" not in summary.columns:
        return None
    unit = f"m {currency}" if millions and currency else "m" if millions else currency
    value_axis = {"num_format": '#,##0,,' if millions else "#,##0"}
    if unit:
        value_axis["name"] = unit
    # small print, so that every scenario keeps its label in a chart the page has room for
    chart = _bar_chart(summary.ws.book, f"Cost by component per scenario ({unit or 'money'})",
                       "stacked", value_axis, title_points=11, text_points=9)
    for name in parts:
        _series(chart, summary.ws, summary.header_row, summary.col(name), summary.first_row,
                summary.last_row, summary.col("scenario"), gap=40)
    return chart


def _optimal_scenarios(summary: pd.DataFrame) -> list[str]:
    if summary.empty:
        return []
    return [str(s) for s, st in zip(summary["scenario"], summary["status"])
            if str(st) == "optimal"]


def mix_pivot(mix: pd.DataFrame, scenarios: list[str]) -> tuple[list[str], dict]:
    """Countries (most tonnes first, at most MAX_SERIES with the rest as "other") and, per
    scenario, rows (material / stage label, {country: share of the stage over the horizon})."""
    if mix.empty or not {"scenario", "material", "stage", "country", "quantity_t"} <= set(mix):
        return [], {}
    mix = mix.assign(quantity_t=pd.to_numeric(mix["quantity_t"], errors="coerce").fillna(0.0),
                     scenario=mix["scenario"].astype(str), country=mix["country"].astype(str))
    mix = mix[mix["scenario"].isin(scenarios)]
    ranking = mix.groupby("country")["quantity_t"].sum().sort_values(ascending=False,
                                                                     kind="stable")
    countries = list(ranking.index)
    if len(countries) > MAX_SERIES:
        keep = set(countries[:MAX_SERIES - 1])
        mix = mix.assign(country=mix["country"].where(mix["country"].isin(keep), "other"))
        countries = countries[:MAX_SERIES - 1] + ["other"]
    stages = {s: i for i, s in enumerate(MIX_STAGES)}
    out = {}
    for scenario in scenarios:
        rows = mix[mix["scenario"] == scenario]
        if rows.empty:
            continue
        share = horizon_shares(rows).set_index(["material", "stage", "country"])["share"] \
            .to_dict()  # a dict: looked up once per country and row
        keys = sorted({(m, s) for m, s, _ in share},
                      key=lambda k: (str(k[0]).casefold(), stages.get(k[1], 9)))
        out[scenario] = [(f"{m} / {s}", {c: float(share.get((m, s, c), 0.0)) for c in countries})
                         for m, s in keys]
    return countries, out


def loaded_pivot(util: pd.DataFrame, scenarios: list[str]) -> pd.DataFrame:
    """The TOP_LOADED suppliers and sites with the highest peak utilisation (over periods),
    one column per scenario."""
    if util.empty or not {"scenario", "kind", "id", "material", "utilization"} <= set(util):
        return pd.DataFrame()
    util = util.assign(scenario=util["scenario"].astype(str),
                       utilization=pd.to_numeric(util["utilization"], errors="coerce"))
    util = util[util["kind"].isin(["supplier", "site"]) & util["utilization"].notna()
                & util["scenario"].isin(scenarios)]
    if util.empty:
        return pd.DataFrame()
    label = np.where(util["kind"] == "site", util["id"].astype(str) + " (site)",
                     util["id"].astype(str) + " (" + util["material"].astype(str) + ")")
    util = util.assign(label=label)
    peak = util.pivot_table(index=["label", "kind"], columns="scenario", values="utilization",
                            aggfunc="max")
    peak = peak.reindex(columns=[s for s in scenarios if s in peak.columns])
    top = peak.max(axis=1).sort_values(ascending=False, kind="stable")
    peak = peak.loc[top.index[:TOP_LOADED]]
    return peak.reset_index()


def source_pivot(sourcing: pd.DataFrame | None) -> pd.DataFrame:
    """The suppliers' tonnes over the whole horizon, from the Sourcing table: a label per
    supplier and material, then the first planned scenario (base) and the scenarios whose
    suppliers' tonnes differ from it most (MAX_SOURCE_SERIES columns at most); the
    MAX_SOURCES suppliers with the most tonnes, in the table's order."""
    sheet = declared("Sourcing")
    if sourcing is None or sourcing.empty or not set(sheet.names) <= set(sourcing.columns):
        return pd.DataFrame()
    names = [c for c in sourcing.columns if c not in sheet.names]
    rows = sourcing[(sourcing["period"].astype(str) == ALL_PERIODS)
                    & (sourcing["kind"] == SUPPLIER)]
    values = rows[names].apply(pd.to_numeric, errors="coerce")
    planned = [n for n in names if values[n].notna().any()]
    if rows.empty or not planned:
        return pd.DataFrame()
    first = planned[0]
    moved = {n: float((values[n] - values[first]).abs().sum()) for n in planned[1:]}
    chosen = [first] + [n for n in sorted(moved, key=lambda n: -moved[n])
                        if moved[n] > 0][:MAX_SOURCE_SERIES - 1]
    largest = set(values[chosen].max(axis=1).nlargest(MAX_SOURCES).index)
    keep = [i for i in rows.index if i in largest]
    out = pd.DataFrame({"label": rows.loc[keep, "id"].astype(str) + " ("
                        + rows.loc[keep, "material"].astype(str) + ")"})
    for name in chosen:
        out[name] = values.loc[keep, name]
    return out.reset_index(drop=True)


@dataclass
class ChartData:
    """What the charts show, known before any sheet is written (it decides whether the
    Charts and Chart data sheets exist, and where)."""

    countries: list[str]
    mixes: dict
    loaded: pd.DataFrame
    sources: pd.DataFrame
    n_scenarios: int

    @property
    def charts_sheet(self) -> bool:
        return bool(self.mixes) or not self.loaded.empty

    @property
    def data_sheet(self) -> bool:
        return self.charts_sheet or not self.sources.empty


def chart_data(sheets: dict, written: list[str]) -> ChartData:
    """The pivots behind the charts of `sheets`, of which `written` come before the charts
    (the sheets with nothing to report come after them)."""
    summary = sheets.get("Summary", (None, pd.DataFrame()))[1]
    scenarios = _optimal_scenarios(summary)
    countries, mixes = mix_pivot(sheets.get("Mix", (None, pd.DataFrame()))[1],
                                 scenarios[:MAX_MIX_CHARTS])
    loaded = loaded_pivot(sheets.get("Utilization", (None, pd.DataFrame()))[1],
                          scenarios[:MAX_UTIL_SERIES])
    sources = source_pivot(sheets["Sourcing"][1]) if "Sourcing" in written \
        else pd.DataFrame()
    return ChartData(countries, mixes, loaded, sources, len(scenarios))


def _data_table(ws: PlanSheet, column: int, header: list[str], rows: list[list],
                formats: list[str | None]) -> tuple[int, int]:
    """A table on the Chart data sheet, its header on DATA_HEADER_ROW from `column` on, the
    tables side by side: (first data row, last data row)."""
    for j, name in enumerate(header, start=column):
        put(ws, DATA_HEADER_ROW, j, name, HEADER)
    for i, values in enumerate(rows, start=DATA_HEADER_ROW + 1):
        for j, (value, fmt) in enumerate(zip(values, formats), start=column):
            value = cell_value(value)
            number = value.__class__ is float or value.__class__ is int
            put(ws, i, j, value, {"num_format": fmt} if number and fmt else None)
    return DATA_HEADER_ROW + 1, DATA_HEADER_ROW + len(rows)


def sourcing_chart(table: Placed, data: PlanSheet, column: int, first: int, last: int,
                   names: list[str], log_from: float | None) -> None:
    """Horizontal bars: each supplier's tonnes over the horizon, one bar per scenario shown,
    beside the Sourcing table; on a log scale from `log_from` t when that is given."""
    title = "Tonnes over the horizon by supplier" + (" (log scale)" if log_from else "")
    value_axis = {"num_format": "#,##0", "name": "t over the horizon"}
    if log_from:
        value_axis.update(log_base=10, min=log_from)
    chart = _bar_chart(data.book, title, "clustered", value_axis, title_points=12)
    for k in range(len(names)):
        _series(chart, data, DATA_HEADER_ROW, column + 1 + k, first, last, column, gap=40)
    height = min(max(8.0, 0.3 * (last - first + 1) * max(1, len(names)) ** 0.5 + 4), 24.0)
    _insert(table.ws, table.header_row, len(table.columns) + 2, chart, 22, height)


def frontier_charts(table: Placed, frame: pd.DataFrame, currency: str | None) -> None:
    """Cost against cap and HHI against cap, over the sweep points (the first rows), loose
    cap on the left; placed beside the Frontier table."""
    n = int((frame["point"] == "sweep").sum()) if "point" in frame else 0
    if n < 2:
        return
    ws, last = table.ws, table.header_row + n
    for i, (column, title, fmt) in enumerate((
            ("total_cost", f"Total cost against the cap ({currency or 'money'})", "#,##0"),
            ("hhi", "Concentration (HHI) of the stage against the cap", "#,##0"))):
        chart = ws.book.add_chart({"type": "scatter", "subtype": "straight_with_markers"})
        chart.set_style(13)
        chart.set_title({"name": title})
        _series(chart, ws, table.header_row, table.col(column), table.first_row, last,
                table.col("cap"), marker={"type": "circle"})
        axis = {**NO_TICKS, "major_gridlines": {"visible": True}}
        chart.set_x_axis({**axis, "name": "cap (max share)", "num_format": "0%",
                          "reverse": True})  # from loose to tight, left to right
        chart.set_y_axis({**axis, "name": column, "num_format": fmt})
        chart.set_legend({"none": True})
        _insert(ws, 3 + 19 * i, len(table.columns) + 2, chart, 18, 9)


def _exceedance_chart(ws: PlanSheet, curve: Placed, names: list, currency: str | None):
    """The chance that the cost exceeds each amount, one line per policy (or plan) of the
    Distribution table (`names`: its policy column)."""
    chart = ws.book.add_chart({"type": "scatter", "subtype": "straight"})
    chart.set_style(13)
    chart.set_title({"name": f"Chance the cost exceeds ({currency or 'money'})"})
    for name in dict.fromkeys(names):
        rows = [i for i, p in enumerate(names) if p == name]
        first, last = curve.first_row + rows[0], curve.first_row + rows[-1]
        chart.add_series({
            "name": name,
            "categories": [curve.ws.name, first - 1, curve.col("total_cost") - 1,
                           last - 1, curve.col("total_cost") - 1],
            "values": [curve.ws.name, first - 1, curve.col("p_exceed") - 1, last - 1,
                       curve.col("p_exceed") - 1]})
    axis = {**NO_TICKS, "major_gridlines": {"visible": True}}
    chart.set_x_axis({**axis, "name": "total cost", "num_format": "#,##0"})
    chart.set_y_axis({**axis, "name": "P(cost > x)", "num_format": "0%", "min": 0, "max": 1})
    chart.set_legend({"position": "bottom"})
    return chart


def risk_charts(tables: dict[str, Placed], sheets: dict, currency: str | None) -> None:
    """Beside the Risk tables: the cost distribution of each policy (the chance that the
    cost exceeds each amount, from the Distribution sheet) and the events ranked by their
    effect on the committed plan's expected cost and unmet t (from the Events table)."""
    risk = tables["Risk"]
    ws, column = risk.ws, len(risk.columns) + 2
    curve = tables.get("Distribution")
    if curve is not None and curve.n_rows:
        _insert(ws, 3, column, _exceedance_chart(
            ws, curve, list(sheets["Distribution"][1]["policy"]), currency), 18, 9)
    events = tables.get("Events")
    if events is None or not events.n_rows:
        return
    committed = [i for i, p in enumerate(sheets["Events"][1]["policy"]) if p == "committed"]
    if not committed:
        return
    first, last = events.first_row + committed[0], events.first_row + committed[-1]
    for i, (name, fmt, title) in enumerate((
            ("cost_effect", "#,##0", f"Effect on expected cost ({currency or 'money'})"),
            ("unmet_t_effect", "#,##0.0", "Effect on expected unmet t"))):
        chart = _bar_chart(ws.book, f"{title}, committed plan", "clustered",
                           {"num_format": fmt})
        _series(chart, ws, events.header_row, events.col(name), first, last,
                events.col("event"))
        chart.set_legend({"none": True})
        _insert(ws, 22 + 19 * i, column, chart, 18, 9)


def hedge_charts(tables: dict[str, Placed], sheets: dict, currency: str | None) -> None:
    """Beside the Contracts tables: both books' contract cost by supplier and by supplier
    country. Beside the Hedge tables: the cost distributions of EEV, RP and WS, and with
    a risk-weight sweep its expected cost against CVaR."""
    unit = currency or "money"
    contracts = tables["Contracts"]
    ws, column = contracts.ws, len(contracts.columns) + 2
    for i, (title, key) in enumerate((("By supplier", "supplier"),
                                      ("By country", "country"))):
        table = tables.get(title)
        if table is None or not table.n_rows:
            continue
        # in millions when the table is (an amount reaches a million), as the table
        millions = in_millions(declared(title), sheets[title][1])
        chart = _bar_chart(ws.book, f"Contract cost {title.lower()}, hedged and base book "
                                    f"({'m ' if millions else ''}{unit})", "clustered",
                           {"num_format": '#,##0,,' if millions else "#,##0", "min": 0},
                           title_points=11, text_points=9)
        for name in ("hedged_cost", "base_cost"):
            _series(chart, ws, table.header_row, table.col(name), table.first_row,
                    table.last_row, table.col(key), gap=40)
        height = min(max(8.0, 0.45 * table.n_rows + 4), 20.0)
        _insert(ws, 3 + 22 * i, column, chart, 18, height)
    hedge = tables["Hedge"]
    ws, column = hedge.ws, len(hedge.columns) + 2
    curve = tables.get("Distribution")
    if curve is not None and curve.n_rows:
        _insert(ws, 3, column, _exceedance_chart(
            ws, curve, list(sheets["Distribution"][1]["policy"]), currency), 18, 9)
    sweep = tables.get("Risk weights")
    if sweep is not None and sweep.n_rows > 1:
        chart = ws.book.add_chart({"type": "scatter", "subtype": "straight_with_markers"})
        chart.set_style(13)
        chart.set_title({"name": f"Expected cost against CVaR per risk weight ({unit})"})
        _series(chart, ws, sweep.header_row, sweep.col("expected_cost"), sweep.first_row,
                sweep.last_row, sweep.col("cvar_alpha"), marker={"type": "circle"},
                data_labels={"value": False, "custom": [
                    {"value": f"λ = {w:g}"} for w in sheets["Risk weights"][1]["risk_weight"]]})
        axis = {**NO_TICKS, "major_gridlines": {"visible": True}, "num_format": "#,##0"}
        chart.set_x_axis({**axis, "name": "CVaR of the total cost"})
        chart.set_y_axis({**axis, "name": "expected total cost"})
        chart.set_legend({"none": True})
        _insert(ws, 22, column, chart, 18, 9)


def provenance_chart(table: Placed, frame: pd.DataFrame) -> None:
    """Beside the Provenance table: base's origin mix per customer and material over the
    horizon, as a small table (the chart's numbers) and 100% stacked bars."""
    rows = frame[(frame["scenario"] == "base") & (frame["basis"] == "origin")]
    if rows.empty:
        return
    tonnes = rows.groupby(["customer", "material", "member"], sort=True)["quantity_t"].sum()
    ranking = tonnes.groupby(level="member").sum().sort_values(ascending=False, kind="stable")
    origins = list(ranking.index[:MAX_SERIES - 1]) + (["other"] if len(ranking) >= MAX_SERIES
                                                       else [])
    member = tonnes.index.get_level_values("member")
    tonnes = tonnes.groupby([tonnes.index.get_level_values("customer"),
                             tonnes.index.get_level_values("material"),
                             np.where(member.isin(origins), member, "other")]).sum()
    share = (tonnes / tonnes.groupby(level=[0, 1]).transform("sum")).unstack(fill_value=0.0)
    # below the table's header row, which stays the table's alone (readers take its cells)
    ws, column, top = table.ws, len(table.columns) + 2, table.header_row + 2
    put(ws, top - 1, column, "Origin mix per customer over the horizon (base)", LEAD_FONT)
    for j, name in enumerate(["customer / material", *origins], start=column):
        put(ws, top, j, name, HEADER)
    for i, ((customer, material), values) in enumerate(share.iterrows(), start=top + 1):
        put(ws, i, column, f"{customer} / {material}")
        for j, origin in enumerate(origins, start=column + 1):
            put(ws, i, j, float(values.get(origin, 0.0)), {"num_format": SHARE_FORMAT})
    ws.set_width(column, 34)
    first, last = top + 1, top + len(share)
    chart = _bar_chart(ws.book, "Where each customer's material was mined (base)",
                       "percent_stacked", {"num_format": "0%"}, title_points=12)
    for j in range(len(origins)):
        _series(chart, ws, top, column + 1 + j, first, last, column, gap=40)
    height = min(max(8.0, 0.45 * len(share) + 4), 24.0)
    _insert(ws, last + 3, column, chart, 22, height)


def add_charts(data: PlanSheet | None, charts: PlanSheet | None, sheets: dict,
               tables: dict[str, Placed], pivots: ChartData, currency: str | None) -> None:
    """Sourcing-mix and utilisation charts on the Charts sheet, the suppliers' tonnes beside
    the Sourcing table, all fed by the Chart data sheet; the frontier's curves. (The cost
    chart is the Summary's.)"""
    if "Frontier" in tables:
        frontier_charts(tables["Frontier"], sheets["Frontier"][1], currency)
    if "Risk" in tables:
        risk_charts(tables, sheets, currency)
    if "Hedge" in tables:
        hedge_charts(tables, sheets, currency)
    if "Provenance" in tables:
        provenance_chart(tables["Provenance"], sheets["Provenance"][1])
    if data is None:
        return
    countries, mixes, loaded, sources = (pivots.countries, pivots.mixes, pivots.loaded,
                                         pivots.sources)
    # The tables side by side under one header row: the frozen header fits every one.
    column, widths, n_rows = 1, [], 0
    mix_rows = {}
    if mixes:
        rows = []
        for scenario, entries in mixes.items():
            mix_rows[scenario] = (DATA_HEADER_ROW + 1 + len(rows),
                                  DATA_HEADER_ROW + len(rows) + len(entries))
            rows += [[scenario, label, *[shares[c] or None for c in countries]]
                     for label, shares in entries]
        _data_table(data, column, ["scenario", "material / stage", *countries], rows,
                    [None, None] + [SHARE_FORMAT] * len(countries))
        widths += [16, 32] + [9] * len(countries) + [3]
        n_rows = max(n_rows, len(rows))
        column += len(countries) + 3
    util_column = column
    util_names = [c for c in loaded.columns if c not in ("label", "kind")]
    if not loaded.empty:
        rows = [[r["label"], r["kind"], *[None if pd.isna(r[n]) else float(r[n])
                                           for n in util_names]]
                for r in loaded.to_dict("records")]
        util_rows = _data_table(data, column, ["supplier or site", "kind", *util_names], rows,
                                [None, None] + [SHARE_FORMAT] * len(util_names))
        widths += [30, 9] + [max(12, len(n) + 2) for n in util_names] + [3]
        n_rows = max(n_rows, len(rows))
        column += len(util_names) + 3
    source_column = column
    source_names = [c for c in sources.columns if c != "label"]
    log = None
    if not sources.empty:
        values = sources[source_names].to_numpy(float)
        positive = values[np.isfinite(values) & (values > 0)]
        if len(positive) and positive.max() > LOG_SPAN * positive.min():
            log = 10.0 ** math.floor(math.log10(positive.min()))  # the smallest bar shows
        # zero has no place on a log scale: a supplier not used is a missing bar
        rows = [[label, *[None if pd.isna(v) or (log and v <= 0) else float(v) for v in r]]
                for label, r in zip(sources["label"], values.tolist())]
        source_rows = _data_table(data, column, ["supplier (material)", *source_names], rows,
                                  [None] + [FORMATS[TONNES]] * len(source_names))
        widths += [34] + [max(12, len(n) + 2) for n in source_names]
        n_rows = max(n_rows, len(rows))
    for j, width in enumerate(widths, start=1):
        data.set_width(j, width)
    note = ("The numbers behind the charts, side by side: each country's share of a "
            "material's stage tonnes over the whole horizon and the peak utilisation of the "
            f"most loaded suppliers and sites ({CHARTS_SHEET} sheet); the suppliers' tonnes "
            "over the whole horizon (Sourcing sheet).")
    n_columns = max(1, len(widths))
    shown = printed_rows(data, n_columns, DATA_HEADER_ROW)
    if n_rows > shown:
        note += (f" Printing shows the first {shown:,} of {n_rows:,} rows.")
        data.print_area(0, 0, DATA_HEADER_ROW + shown - 1, n_columns - 1)
    write_lines(data, 1, [(note, NOTE_FONT, 0)], 120, min(n_columns, 16))
    data.freeze_panes(DATA_HEADER_ROW, 0)
    _page_setup(data, DATA_HEADER_ROW, PRINT_PAGES if n_rows > shown else 0)
    if not sources.empty:
        sourcing_chart(tables["Sourcing"], data, source_column, *source_rows, source_names,
                       log)
    if charts is None:
        return
    shown = ", ".join(list(mixes)[:MAX_MIX_CHARTS])
    more = (f" Mix charts are drawn for the first {MAX_MIX_CHARTS} optimal scenarios."
            if pivots.n_scenarios > MAX_MIX_CHARTS else "")
    more += (f" Utilisation is shown for the first {MAX_UTIL_SERIES} optimal scenarios."
             if pivots.n_scenarios > MAX_UTIL_SERIES else "")
    write_lines(charts, 1, [(
        "Sourcing mix: each country's share of every material's supply, processing and "
        f"delivery tonnes over the whole horizon ({shown or 'no optimal scenario'}). "
        f"Utilisation: peak used/capacity over the periods of the {TOP_LOADED} most loaded "
        f"suppliers and sites. The numbers are on the {CHART_DATA_SHEET} sheet." + more,
        NOTE_FONT, 0)], 160, 16)
    anchor, breaks = 3, []

    def place(chart, height: float) -> None:
        """Each chart on its own printed page: a page break above every chart but the first."""
        nonlocal anchor
        if anchor > 3:
            breaks.append(anchor - 1)
        _insert(charts, anchor, 1, chart, 24, height)
        anchor += int(height / 0.53) + 3   # rows of 15 pt are about 0.53 cm

    for scenario, (first, last) in mix_rows.items():
        chart = _bar_chart(data.book, f"Sourcing mix by country, {scenario}", "percent_stacked",
                           {"num_format": "0%", "name": "share of the stage's tonnes"})
        for k in range(len(countries)):
            _series(chart, data, DATA_HEADER_ROW, 3 + k, first, last, 2, gap=40)
        place(chart, min(max(8.0, 0.6 * (last - first + 1) + 4), 18.0))
    if not loaded.empty:
        first, last = util_rows
        value_axis = {"num_format": "0%", "name": "peak used / capacity", "min": 0}
        peak = pd.to_numeric(loaded[util_names].stack(), errors="coerce").max()
        if peak <= 1.0 + 1e-9:
            value_axis["max"] = 1
        chart = _bar_chart(data.book, "Utilisation of the most loaded suppliers and sites",
                           "clustered", value_axis)
        for k in range(len(util_names)):
            _series(chart, data, DATA_HEADER_ROW, util_column + 2 + k, first, last,
                    util_column, gap=60)
        place(chart, min(max(8.0, 0.4 * len(loaded) * max(1, len(util_names)) + 4), 18.0))
    charts.set_h_pagebreaks(breaks)
    _page_setup(charts)


# The Summary ---------------------------------------------------------------------------
def _merged(ws: PlanSheet, row: int, first: int, last: int, text: object,
            font: dict | None = None, indent: int = 0) -> int:
    """Text in a row's cells `first` to `last` merged, wrapped; the lines it needs there."""
    put_merged(ws, row, first, last, text, font, _wrapped(indent))
    width = sum(ws.width(j) for j in range(first, last + 1))
    # text runs narrower than the digit widths columns are measured in
    return max(1, math.ceil(len(str(text or "")) * 0.85 / max(width - 1 - 2 * indent, 8)))


def _cm(ws: PlanSheet, first: int, last: int) -> float:
    """About how wide columns `first` to `last` are on screen, in cm."""
    return sum(ws.width(j) * 7 + 5 for j in range(first, last + 1)) * 2.54 / 96


def _line_cells(ws: PlanSheet, n_columns: int) -> list[tuple[int, int]]:
    """Columns 2 to `n_columns` cut into one group per share of LINE_CELLS, of about that
    share of their width: (first, last column) of each cell of a scenario's lines."""
    widths = [ws.width(j) for j in range(2, n_columns + 1)]
    total, groups, first, done = sum(widths), [], 2, 0.0
    for k in range(len(LINE_CELLS)):
        if k == len(LINE_CELLS) - 1:
            groups.append((first, n_columns))
            break
        last, width = first, widths[first - 2]
        while last < n_columns - (len(LINE_CELLS) - 1 - k) \
                and done + width + widths[last - 1] / 2 <= total * sum(LINE_CELLS[:k + 1]):
            width += widths[last - 1]
            last += 1
        groups.append((first, last))
        done += width
        first = last + 1
    return groups


def _share_cells(ws: PlanSheet, row: int, top: pd.DataFrame, groups: int,
                 start: int) -> tuple[int, int]:
    """Base's largest country share per material (rows) and stage (columns), the
    materials split into `groups` tables side by side from column `start` on: each cell
    the share, its number format naming the country ("CN 87%"). Returns (the next free
    row, the last column)."""
    stages = [s for s in MIX_STAGES if s in set(top["stage"])]
    by_material = {}
    for r in top.itertuples(index=False):
        by_material.setdefault(r.material, {})[r.stage] = (r.country, float(r.share))
    materials = list(by_material)
    per_group = math.ceil(len(materials) / groups)
    longest = max(len(str(m)) for m in materials)
    for k in range(groups):
        column = start + k * (1 + len(stages))
        _widen(ws, column, min(longest + 2, 30))
        for j in range(column + 1, column + 1 + len(stages)):
            _widen(ws, j, 10)
        for j, name in enumerate(["material", *stages], start=column):
            put(ws, row, j, name, HEADER)
        for i, material in enumerate(materials[k * per_group:(k + 1) * per_group],
                                     start=row + 1):
            put(ws, i, column, material)
            for j, stage in enumerate(stages, start=column + 1):
                if stage in by_material[material]:
                    country, share = by_material[material][stage]
                    put(ws, i, j, share, {"num_format": f'"{_label(str(country))} "0%',
                                          "align": "left"})
    return row + 1 + per_group, start + groups * (1 + len(stages)) - 1


def _widen(ws: PlanSheet, column: int, width: float) -> None:
    ws.set_width(column, max(ws.width(column), width))


def write_summary(ws: PlanSheet, sheets: dict, note: str | None, frame: pd.DataFrame,
                  currency: str | None, idle: dict[str, str]) -> Placed:
    """Summary, top to bottom, on one screen and one printed page: the title and note; the
    KPI table; per scenario one row of short cells (result, costliest rule, largest
    shares against base); the sheets with nothing to report; base's largest country
    share per material and stage, with the cost chart beside it."""
    def frame_of(name):
        return sheets.get(name, (None, None))[1]

    info = frame_of("Run info")
    source = str(info["input_file"].iloc[0]) \
        if info is not None and len(info) and "input_file" in info else None
    title = f"Sourcing plan{' for ' + source if source else ''}"
    millions = in_millions(declared("Summary"), frame)
    text = " ".join(t for t in (note, MILLIONS_NOTE if millions else None) if t)
    table = write_sheet(ws, "Summary", None, frame, currency,
                        [(title, TITLE_FONT, 0)] + ([(text, NOTE_FONT, 0)] if text else []))
    n = max(len(table.columns), 6)
    mix = frame_of("Mix")
    base_top = top_shares(mix, "base") if mix is not None else pd.DataFrame()
    row = table.last_row + 2
    heads = headlines(frame, frame_of("Limits"), mix, frame_of("Diagnosis"), currency,
                      info, millions, frame_of("Options"))
    groups = _line_cells(ws, n)
    if heads:
        for (first, last), label in zip(groups, LINE_LABELS):
            _merged(ws, row, first, last, label, HEADER_FONT)
        row += 1
    for head in heads:
        put(ws, row, 1, head.scenario, LEAD_FONT, TOP)
        shares = head.shares if head.shares is not None else \
            ("the table below" if head.scenario == "base" and len(base_top) else "")
        needed = [_merged(ws, row, first, last, text)
                  for (first, last), text in zip(groups, (head.result, head.rule, shares))]
        ws.set_height(row, max(needed) * 14.5 + 1)
        row += 1
    if idle:
        names = [f"{name} ({why})" for name, why in idle.items()]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        where = "its sheet is" if len(names) == 1 else "their sheets are"
        needed = _merged(ws, row, 1, n, f"Nothing to report on {listed}: {where} at the end "
                                        f"of the workbook.", NOTE_FONT)
        ws.set_height(row, needed * 14.5 + 1)
        row += 1
    row += 0 if idle else 1
    chart = cost_chart(table, currency, millions)
    # The cost chart on the left, base's largest shares beside it (two tables side by
    # side when the materials are many, so that the page stays short).
    last = 0
    if chart is not None:
        last = 1
        while _cm(ws, 1, last) < CHART_CM[0]:
            last += 1
    end = row + int(CHART_CM[1] / 0.53) if chart is not None else row
    if len(base_top):
        tables = 2 if base_top["material"].nunique() > SHARE_ROWS else 1
        # a column's gap after the chart: spreadsheet programs draw columns a little wider
        # than their nominal width, and the chart is sized by the nominal one
        first = last + 2 if chart is not None else last + 1
        stop = first - 1 + tables * (1 + base_top["stage"].nunique())
        _merged(ws, row, first, stop, "Largest country share in base, whole horizon",
                LEAD_FONT)
        shares_end, _ = _share_cells(ws, row + 1, base_top, tables, first)
        end = max(end, shares_end)
    if chart is not None:
        _insert(ws, row, 1, chart, _cm(ws, 1, last) - 0.2,
                max(CHART_CM[1], (end - row) * 0.53 - 0.2))
    _page_setup(ws, table.header_row, 1, SUMMARY_MARGINS)  # one page: the margins give room
    return table


# The workbook --------------------------------------------------------------------------
def sheet_order(written: list[str], idle: dict, pivots: ChartData) -> list[str]:
    """The plan's sheets in order: those with something to report (`written`), the Charts
    sheet after Summary (and Sourcing), Chart data after them, then those with nothing to
    report (`idle`)."""
    order = written + ([CHART_DATA_SHEET] if pivots.data_sheet else [])
    if pivots.charts_sheet:
        after = "Sourcing" if "Sourcing" in written else "Summary"
        order.insert(order.index(after) + 1 if after in order else len(order), CHARTS_SHEET)
    return order + list(idle)


def plan_file(sheets: dict[str, tuple[str | None, pd.DataFrame]],
              currency: str | None) -> bytes:
    """The plan workbook of `sheets` (title -> (note, table), in order), money labelled in
    `currency` (the Settings currency), as the bytes of its .xlsx file. Sheets with nothing
    to report come last."""
    under = {t: declared(t).under for t in sheets
             if declared(t) is not None and declared(t).under in sheets}
    idle = nothing_to_report({title: frame for title, (_, frame) in sheets.items()
                              if title not in under})
    written = [t for t in sheets if t not in idle and t not in under]
    pivots = chart_data(sheets, written)
    buffer = io.BytesIO()
    wb = PlanWorkbook(buffer)
    with _collector_paused():
        ws = {title: wb.add_sheet(title) for title in sheet_order(written, idle, pivots)}
        tables: dict[str, Placed] = {}

        def write(title):
            note, frame = sheets[title]
            if title == "Summary":
                table = write_summary(ws[title], sheets, note, frame, currency, idle)
            else:
                table = write_sheet(ws[title], title, note, frame, currency,
                                    tables_below=title in under.values())
            _conditional(declared(title), table)
            tables[title] = table
            for below, parent in under.items():
                if parent == title:
                    table = write_below(table, below, *sheets[below], currency)
                    _conditional(declared(below), table)
                    tables[below] = table

        for title in written:
            write(title)
        add_charts(ws.get(CHART_DATA_SHEET), ws.get(CHARTS_SHEET), sheets, tables, pivots,
                   currency)
        for title in idle:
            write(title)
        wb.close()
    return buffer.getvalue()
