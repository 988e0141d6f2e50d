"""The plan workbook as people read it in the meeting: formats, notes, headlines, charts.

`build_plan_workbook` turns the plan's tables (`plan.plan_sheets`) into an openpyxl
workbook; `output.write_plan` saves it atomically. What this module adds never changes
the contract of the plan (docs/plan-workbook.md): sheet and column names are the frames'
own, the header row is the first row with a `scenario` cell (nothing above it has one) and
data rows follow it directly; numbers stay numbers (formats only). How each column looks,
the order of the rows and the highlights come from the sheets' declarations
(planner/sheets.py), never from a column's name.

Work is linear in the number of cells: one pass writes values, safety fixes and number
formats together; only header rows get fonts and fills; conditional formats and charts are
single objects over ranges. Sorting (Flows, Unmet, Utilization) is one pandas sort.
"""
from __future__ import annotations

import contextlib
import gc
import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.chart import BarChart, Reference, ScatterChart, Series
from openpyxl.formatting.rule import CellIsRule, FormulaRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.properties import PageSetupProperties

from .headlines import headlines
from .report import horizon_shares
from .sheets import (ALPHABETICAL, AT_LEAST, BETWEEN, COST_PARTS, COUNT, EQUALS, FIRST_SEEN,
                     FLAG, INDEX, LARGEST_FIRST, MONEY, NONE_OF, NUMBER, PRICE, SECONDS, SHARE,
                     STAGES, TONNES, PerRow, Sheet, declared)

FORMULA_LEADERS = ("=", "+", "-", "@", "\t", "\r")

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
FREEZE_POINTS = 450       # Summary: freeze at the header only if what is above fits a screen

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", start_color="DCE6F1", end_color="DCE6F1")
HEADER_BORDER = Border(bottom=Side(style="thin", color="7F7F7F"))
NOTE_FONT = Font(italic=True, color="404040")
TITLE_FONT = Font(bold=True, size=14)
LEAD_FONT = Font(bold=True)
FULL_FILL = PatternFill("solid", start_color="F4B6B6", end_color="F4B6B6")    # at capacity
NEAR_FILL = PatternFill("solid", start_color="FCE4B6", end_color="FCE4B6")    # >= 90 %
BINDS_FILL = PatternFill("solid", start_color="FCE4B6", end_color="FCE4B6")
BAD_FONT = Font(bold=True, color="9C0006")
BAD_FILL = PatternFill("solid", start_color="FFC7CE", end_color="FFC7CE")
LOOKS = {"at capacity": (None, FULL_FILL), "near capacity": (None, NEAR_FILL),  # (font, fill)
         "binding": (None, BINDS_FILL), "not optimal": (BAD_FONT, BAD_FILL)}


# Cells ---------------------------------------------------------------------------------
def cell_value(value: object) -> object:
    """Numbers stay numbers; NaN is a blank cell and ±inf the words "unlimited" /
    "-unlimited", never an empty <v/> (what openpyxl writes for NaN or inf: the number
    silently disappears); text loses characters XML forbids."""
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


def guard_text(cell) -> None:
    """User text that looks like a formula is written as text, never evaluated (openpyxl
    stores a string starting with "=" as a live formula, which Excel and LibreOffice run)."""
    if cell.data_type == "f":
        cell.data_type = "s"
        cell.quotePrefix = True
    elif isinstance(cell.value, str) and cell.value.startswith(FORMULA_LEADERS):
        cell.quotePrefix = True


def put_text(ws, row: int, column: int, text: object, font: Font | None = None):
    cell = ws.cell(row=row, column=column, value=cell_value(text))
    guard_text(cell)
    if font is not None:
        cell.font = font
    return cell


_LOOK_TWICE = FORMULA_LEADERS + ("#",)   # text openpyxl may not store as text


def column_cells(ws, values: list, fmt: str | list | None) -> list:
    """The cells of one column from its `column_values`: blanks None; text stored as text
    as Excel allows it (at most 32,767 characters), never as a formula (a formula leader
    gets its quote prefix, as `guard_text` gives it) nor as an error code; numbers with the
    column's format, or their row's when `fmt` is a list."""
    per_row = isinstance(fmt, list)
    cells = []
    append = cells.append
    for i, value in enumerate(values):
        if value is None:
            append(None)
            continue
        cell = Cell(ws, value=value)
        if value.__class__ is str:
            if value.startswith(_LOOK_TWICE):
                guard_text(cell)
                cell.data_type = "s"  # openpyxl reads "=..." as a formula, "#N/A" an error
        elif value.__class__ is not bool:
            number_format = fmt[i] if per_row else fmt
            if number_format is not None:
                cell.number_format = number_format
        append(cell)
    return cells


@contextlib.contextmanager
def _collector_paused():
    """Python's cycle collector paused while a table's cells are made: it would scan the
    millions of long-lived cells of a large plan again and again (a quarter of the time of
    making them), though none of them is garbage."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _register_formats(ws, values: list[list], formats: list) -> None:
    """Give a table's number formats their ids in the order that writing its cells row by
    row would (the format of the first number first): `write_table` makes the cells a
    column at a time, and the plan file must not depend on that."""
    first: dict[str, tuple[int, int]] = {}
    for j, (column, fmt) in enumerate(zip(values, formats)):
        if fmt is None:
            continue
        per_row = isinstance(fmt, list)
        for i, value in enumerate(column):
            if value is None or value.__class__ is str or value.__class__ is bool:
                continue
            number_format = fmt[i] if per_row else fmt
            if (i, j) < first.get(number_format, (len(column), j)):
                first[number_format] = (i, j)
            if not per_row:
                break
    for number_format in sorted(first, key=first.get):
        Cell(ws).number_format = number_format  # a cell outside the sheet: registers it only


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
def money_format(currency: str | None, decimals: int = 0) -> str:
    base = "#,##0" + ("." + "0" * decimals if decimals else "")
    if not currency:
        return base
    label = currency.replace('"', "").replace("\\", "")
    return f'{base} "{label}"'


def kind_format(kind: str, currency: str | None) -> str | None:
    """The number format of a kind of value; None for ids, text and flags."""
    if kind == MONEY:
        return money_format(currency)
    if kind == PRICE:
        return money_format(currency, 2)
    return FORMATS.get(kind)


def column_formats(sheet: Sheet | None, frame: pd.DataFrame, column: str,
                   currency: str | None) -> str | list | None:
    """The format of a column as its sheet declares it: one format, or one per row for a
    column whose unit depends on the row (Limits.bound, Comparison and Diagnosis values).
    None for a column the sheet does not declare."""
    declared_column = sheet.column(column) if sheet is not None else None
    if declared_column is None:
        return None
    kind = declared_column.kind
    if not isinstance(kind, PerRow):
        return kind_format(kind, currency)
    if kind.by not in frame:
        return None
    key = frame[kind.by].astype(str)
    return np.select([key == value for value, _ in kind.kinds],
                     [kind_format(k, currency) for _, k in kind.kinds],
                     kind_format(kind.otherwise, currency)).tolist()


def shown_length(value: object, fmt: str | None) -> int:
    """About how many characters a value takes on screen in its format."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return len(str(value))
    if fmt == SHARE_FORMAT:
        return 7
    if fmt and "#,##0" in fmt:
        decimals = len(fmt.split(".", 1)[1].split(" ")[0]) if "." in fmt else 0
        text = f"{value:,.{min(decimals, 3)}f}"
        label = re.search(r'"(.*)"', fmt)
        return len(text) + (len(label.group(1)) + 1 if label else 0)
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
class Table:
    """Where a frame landed on a sheet."""

    ws: object
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
        return get_column_letter(self.col(name))

    def data_range(self, name: str) -> str:
        letter = self.letter(name)
        return f"{letter}{self.first_row}:{letter}{self.last_row}"

    @property
    def last_letter(self) -> str:
        return get_column_letter(max(1, len(self.columns)))


def _widths(columns: list[str], values: list[list], formats: list,
            sample: int = 200) -> list[float]:
    """Column widths from the header and the first `sample` cell values (`column_values`)."""
    widths = []
    for j, name in enumerate(columns):
        fmt = formats[j]
        longest = len(str(name)) + 3  # room for the filter button
        for i, v in enumerate(values[j][:sample]):
            f = fmt[i] if isinstance(fmt, list) else fmt
            longest = max(longest, shown_length(v, f))
        widths.append(min(max(9, longest + 2), 50))
    return widths


def write_lines(ws, row: int, lines: list[tuple[str, Font | None, int]], width_chars: float,
                last_col: int) -> int:
    """Paragraphs above a table, one per row, each merged across the table's width and
    wrapped, with a row height that fits. Returns the next free row."""
    for text, font, indent in lines:
        if not text:
            row += 1
            continue
        cell = put_text(ws, row, 1, text, font)
        cell.alignment = Alignment(wrap_text=True, vertical="top", indent=indent)
        if last_col > 1:
            ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=last_col)
        lines_needed = max(1, math.ceil(len(str(text)) * 0.9 / max(width_chars - 2 * indent,
                                                                      20)))
        size = font.size if font is not None and font.size else 11
        ws.row_dimensions[row].height = lines_needed * (size * 1.35) + 2
        row += 1
    return row


def write_table(ws, sheet: Sheet | None, frame: pd.DataFrame, start_row: int,
                currency: str | None) -> Table:
    """Header at `start_row`, data directly below: formats per column as `sheet` declares
    them, flags as yes/no, text guarded."""
    columns = [str(c) for c in frame.columns]
    for j, name in enumerate(columns, start=1):
        cell = put_text(ws, start_row, j, name, HEADER_FONT)
        cell.fill = HEADER_FILL
        cell.border = HEADER_BORDER
    formats = [column_formats(sheet, frame, name, currency) for name in columns]
    # Values converted a column at a time (exactly `cell_value`), flags to their words;
    # cells made a column at a time, already carrying their format (no second look-up per
    # cell); then rows go in with ws.append right below the header (the last row written
    # so far).
    values = [column_values(frame.iloc[:, j]) for j in range(len(columns))]
    for j, name in enumerate(columns):
        column = sheet.column(name) if sheet is not None else None
        if column is not None and column.kind == FLAG:
            values[j] = [FLAG_WORDS[v] if v.__class__ is bool else v for v in values[j]]
    _register_formats(ws, values, formats)
    with _collector_paused():
        cells = [column_cells(ws, column, fmt) for column, fmt in zip(values, formats)]
        for row in zip(*cells) if cells else [()] * len(frame):
            ws.append(row)
    table = Table(ws, columns, start_row, len(frame))
    for j, width in enumerate(_widths(columns, values, formats), start=1):
        ws.column_dimensions[get_column_letter(j)].width = width
    if columns:
        ws.auto_filter.ref = f"A{start_row}:{table.last_letter}{max(start_row, table.last_row)}"
    return table


def _page_setup(ws, title_row: int | None = None) -> None:
    """Landscape, one page wide, the header repeated on every printed page."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    if title_row:
        ws.print_title_rows = f"{title_row}:{title_row}"


def _table_width(ws, n_columns: int) -> float:
    return sum(ws.column_dimensions[get_column_letter(j)].width or 9
               for j in range(1, n_columns + 1))


def write_sheet(ws, title: str, note: str | None, frame: pd.DataFrame,
                currency: str | None, above: list[tuple[str, Font | None, int]] = (),
                freeze: bool = True) -> Table:
    """A plan sheet: the one-line note (and any headline paragraphs), then the table."""
    sheet = declared(title)
    if sheet is not None and sheet.name == title:  # Flows 2, ...: kept in the split's order
        frame = presentation_order(sheet, frame)
    lines = ([(note, NOTE_FONT, 0)] if note else []) + list(above)
    start = len(lines) + 1
    table = write_table(ws, sheet, frame, start, currency)
    n = max(len(table.columns), 6)
    write_lines(ws, 1, lines, _table_width(ws, n), n)
    if freeze:
        ws.freeze_panes = f"A{table.first_row}"
    _page_setup(ws, table.header_row)
    return table


# Conditional formats -------------------------------------------------------------------
def _literal(value: object) -> str:
    """A value in a conditional format's formula; a flag as the words the plan shows."""
    if isinstance(value, bool):
        return f'"{FLAG_WORDS[value]}"'
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"'
    return str(value)


def _conditional(sheet: Sheet | None, table: Table) -> None:
    """The sheet's declared highlights, each one rule over its column (or the table's
    rows)."""
    if sheet is None or table.n_rows == 0:
        return
    cf = table.ws.conditional_formatting
    first = table.first_row
    for h in sheet.highlights:
        if h.column not in table.columns:
            continue
        font, fill = LOOKS[h.look]
        cells = (f"A{first}:{table.last_letter}{table.last_row}" if h.whole_row
                 else table.data_range(h.column))
        cell = f"${table.letter(h.column)}{first}"   # the formula's first row; Excel shifts it
        stop = True if h.stop else None
        if h.test == AT_LEAST:
            rule = CellIsRule(operator="greaterThanOrEqual", formula=[_literal(h.values[0])],
                              font=font, fill=fill, stopIfTrue=stop)
        elif h.test == BETWEEN:
            rule = CellIsRule(operator="between", formula=[_literal(v) for v in h.values],
                              font=font, fill=fill, stopIfTrue=stop)
        elif h.test == EQUALS:
            rule = FormulaRule(formula=[f"{cell}={_literal(h.values[0])}"], font=font,
                               fill=fill, stopIfTrue=stop)
        elif h.test == NONE_OF:
            rule = FormulaRule(formula=["AND(" + ",".join(f"{cell}<>{_literal(v)}"
                                                          for v in h.values) + ")"],
                               font=font, fill=fill, stopIfTrue=stop)
        else:
            raise ValueError(f"{sheet.name}: unknown highlight test {h.test!r}")
        cf.add(cells, rule)


# Charts --------------------------------------------------------------------------------
def _bar_chart(title: str, kind: str, grouping: str, value_format: str,
               axis_title: str | None = None) -> BarChart:
    chart = BarChart()
    chart.type = kind                  # "bar" horizontal, "col" vertical
    chart.grouping = grouping
    if grouping in ("stacked", "percentStacked"):
        chart.overlap = 100
    chart.title = title
    chart.style = 10
    chart.y_axis.number_format = value_format
    chart.x_axis.delete = False        # openpyxl 3.1 leaves axes hidden in Excel otherwise
    chart.y_axis.delete = False
    if axis_title:
        chart.y_axis.title = axis_title
    if kind == "bar":                  # first category on top, as in the table
        chart.x_axis.scaling.orientation = "maxMin"
    chart.legend.position = "b"
    return chart


def cost_chart(summary: Table, currency: str | None) -> BarChart | None:
    """Stacked columns: each scenario's total cost split into its components, straight
    from the Summary table's cells."""
    ws = summary.ws
    parts = [c for c in COST_PARTS if c in summary.columns]
    if summary.n_rows == 0 or not parts or "scenario" not in summary.columns:
        return None
    chart = _bar_chart(f"Cost by component per scenario ({currency or 'money'})", "col",
                       "stacked", "#,##0", currency)
    for name in parts:
        col = summary.col(name)
        chart.add_data(Reference(ws, min_col=col, max_col=col, min_row=summary.header_row,
                                 max_row=summary.last_row), titles_from_data=True)
    col = summary.col("scenario")
    chart.set_categories(Reference(ws, min_col=col, max_col=col, min_row=summary.first_row,
                                   max_row=summary.last_row))
    chart.width, chart.height = 22, 11
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
    stages = {s: i for i, s in enumerate(STAGES)}
    out = {}
    for scenario in scenarios:
        rows = mix[mix["scenario"] == scenario]
        if rows.empty:
            continue
        share = horizon_shares(rows).set_index(["material", "stage", "country"])["share"]
        keys = sorted({(m, s) for m, s, _ in share.index},
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


def _block(ws, row: int, title: str, header: list[str], rows: list[list], fmt: str) -> tuple:
    """A titled little table on the Chart data sheet: (header row, last row, next free row)."""
    put_text(ws, row, 1, title, LEAD_FONT)
    header_row = row + 1
    for j, name in enumerate(header, start=1):
        cell = put_text(ws, header_row, j, name, HEADER_FONT)
        cell.fill = HEADER_FILL
        cell.border = HEADER_BORDER
    for i, values in enumerate(rows, start=header_row + 1):
        for j, value in enumerate(values, start=1):
            cell = ws.cell(row=i, column=j, value=cell_value(value))
            if isinstance(cell.value, (int, float)):
                cell.number_format = fmt
            else:
                guard_text(cell)
    last = header_row + len(rows)
    return header_row, last, last + 2


def frontier_charts(table: Table, frame: pd.DataFrame, currency: str | None) -> None:
    """Cost against cap and HHI against cap, over the sweep points (the first rows), loose
    cap on the left; placed beside the Frontier table."""
    n = int((frame["point"] == "sweep").sum()) if "point" in frame else 0
    if n < 2:
        return
    ws, last = table.ws, table.header_row + n
    x = Reference(ws, min_col=table.col("cap"), min_row=table.first_row, max_row=last)
    for i, (column, title, fmt) in enumerate((
            ("total_cost", f"Total cost against the cap ({currency or 'money'})", "#,##0"),
            ("hhi", "Concentration (HHI) of the stage against the cap", "#,##0"))):
        chart = ScatterChart()
        chart.title, chart.style = title, 13
        series = Series(Reference(ws, min_col=table.col(column), min_row=table.header_row,
                                  max_row=last), x, title_from_data=True)
        series.marker.symbol = "circle"
        chart.series.append(series)
        chart.x_axis.title, chart.y_axis.title = "cap (max share)", column
        chart.x_axis.number_format, chart.y_axis.number_format = "0%", fmt
        chart.x_axis.scaling.orientation = "maxMin"  # from loose to tight, left to right
        chart.x_axis.delete = chart.y_axis.delete = False
        chart.legend = None
        chart.width, chart.height = 18, 9
        ws.add_chart(chart, f"{get_column_letter(len(table.columns) + 2)}{3 + 19 * i}")


def add_charts(wb: Workbook, sheets: dict, tables: dict[str, Table],
               currency: str | None) -> None:
    """Cost chart on Summary; sourcing-mix and utilisation charts on a Charts sheet placed
    right after Summary, fed by the Chart data sheet at the end; the frontier's curves."""
    if "Frontier" in tables:
        frontier_charts(tables["Frontier"], sheets["Frontier"][1], currency)
    summary_table = tables.get("Summary")
    summary = sheets.get("Summary", (None, pd.DataFrame()))[1]
    if summary_table is not None:
        chart = cost_chart(summary_table, currency)
        if chart is not None:
            summary_table.ws.add_chart(chart, f"A{summary_table.last_row + 3}")
    scenarios = _optimal_scenarios(summary)
    countries, mixes = mix_pivot(sheets.get("Mix", (None, pd.DataFrame()))[1],
                                 scenarios[:MAX_MIX_CHARTS])
    loaded = loaded_pivot(sheets.get("Utilization", (None, pd.DataFrame()))[1],
                          scenarios[:MAX_UTIL_SERIES])
    if not mixes and loaded.empty:
        return
    charts = wb.create_sheet(CHARTS_SHEET, index=wb.sheetnames.index("Summary") + 1
                             if "Summary" in wb.sheetnames else None)
    data = wb.create_sheet(CHART_DATA_SHEET)
    shown = ", ".join(list(mixes)[:MAX_MIX_CHARTS])
    more = (f" Mix charts are drawn for the first {MAX_MIX_CHARTS} optimal scenarios."
            if len(scenarios) > MAX_MIX_CHARTS else "")
    more += (f" Utilisation is shown for the first {MAX_UTIL_SERIES} optimal scenarios."
             if len(scenarios) > MAX_UTIL_SERIES else "")
    write_lines(charts, 1, [(
        "Sourcing mix: each country's share of every material's supply, processing and "
        f"delivery tonnes over the whole horizon ({shown or 'no optimal scenario'}). "
        f"Utilisation: peak used/capacity over the periods of the {TOP_LOADED} most loaded "
        f"suppliers and sites. The numbers are on the {CHART_DATA_SHEET} sheet." + more,
        NOTE_FONT, 0)], 160, 16)
    write_lines(data, 1, [(f"The numbers behind the charts on the {CHARTS_SHEET} sheet: shares "
                           "of each stage's tonnes (whole horizon) and peak utilisation.",
                           NOTE_FONT, 0)], 120, 12)
    data.column_dimensions["A"].width = 34
    for j in range(2, max(len(countries), MAX_UTIL_SERIES + 1) + 2):
        data.column_dimensions[get_column_letter(j)].width = 12
    row, anchor = 3, 3

    def place(chart):
        """Each chart on its own printed page: a page break above every chart but the first."""
        nonlocal anchor
        if anchor > 3:
            charts.row_breaks.append(Break(id=anchor - 1))
        charts.add_chart(chart, f"A{anchor}")
        anchor += int(chart.height / 0.53) + 3   # rows of 15 pt are about 0.53 cm

    for scenario, rows in mixes.items():
        header_row, last, row = _block(
            data, row, f"Sourcing mix, {scenario}: share of stage tonnes by country",
            ["material / stage", *countries],
            [[label] + [shares[c] or None for c in countries] for label, shares in rows],
            SHARE_FORMAT)
        chart = _bar_chart(f"Sourcing mix by country, {scenario}", "bar", "percentStacked",
                           "0%", "share of the stage's tonnes")
        chart.add_data(Reference(data, min_col=2, max_col=1 + len(countries),
                                 min_row=header_row, max_row=last), titles_from_data=True)
        chart.set_categories(Reference(data, min_col=1, max_col=1, min_row=header_row + 1,
                                       max_row=last))
        chart.gapWidth = 40
        chart.width, chart.height = 24, min(max(8.0, 0.6 * len(rows) + 4), 18.0)
        place(chart)
    if not loaded.empty:
        names = [c for c in loaded.columns if c not in ("label", "kind")]
        header_row, last, row = _block(
            data, row, "Peak utilisation (used / capacity) of the most loaded suppliers and sites",
            ["supplier or site", "kind", *names],
            [[r["label"], r["kind"], *[None if pd.isna(r[n]) else float(r[n]) for n in names]]
             for r in loaded.to_dict("records")], SHARE_FORMAT)
        chart = _bar_chart("Utilisation of the most loaded suppliers and sites", "bar",
                           "clustered", "0%", "peak used / capacity")
        chart.add_data(Reference(data, min_col=3, max_col=2 + len(names), min_row=header_row,
                                 max_row=last), titles_from_data=True)
        chart.set_categories(Reference(data, min_col=1, max_col=1, min_row=header_row + 1,
                                       max_row=last))
        chart.y_axis.scaling.min = 0
        peak = pd.to_numeric(loaded[names].stack(), errors="coerce").max()
        if peak <= 1.0 + 1e-9:
            chart.y_axis.scaling.max = 1
        chart.gapWidth = 60
        chart.width = 24
        chart.height = min(max(8.0, 0.4 * len(loaded) * max(1, len(names)) + 4), 18.0)
        place(chart)
    _page_setup(charts)
    _page_setup(data)


# The workbook --------------------------------------------------------------------------
def _summary_lines(sheets: dict, currency: str | None) -> list[tuple[str, Font | None, int]]:
    summary = sheets["Summary"][1]

    def frame(name):
        return sheets.get(name, (None, None))[1]

    lines = []
    info = frame("Run info")
    source = None
    if info is not None and len(info) and "input_file" in info:
        source = str(info["input_file"].iloc[0])
    lines.append((f"Sourcing plan{' for ' + source if source else ''}", TITLE_FONT, 0))
    for head in headlines(summary, frame("Limits"), frame("Mix"), frame("Diagnosis"),
                          currency):
        lines.append((head.lines[0], LEAD_FONT, 0))
        lines.extend((text, None, 1) for text in head.lines[1:])
    return lines


def build_plan_workbook(sheets: dict[str, tuple[str | None, pd.DataFrame]],
                        currency: str | None) -> Workbook:
    """The plan workbook of `sheets` (title -> (note, table), in order), money labelled in
    `currency` (the Settings currency)."""
    wb = Workbook()
    wb.remove(wb.active)
    tables: dict[str, Table] = {}
    for title, (note, frame) in sheets.items():
        ws = wb.create_sheet(title)
        if title == "Summary":
            lines = _summary_lines(sheets, currency)
            # Title first, then the sheet's note, then the headlines.
            above = [lines[0]] + ([(note, NOTE_FONT, 0)] if note else []) + lines[1:]
            table = write_sheet(ws, title, None, frame, currency, above + [("", None, 0)])
            above_points = sum(ws.row_dimensions[r].height or 15
                               for r in range(1, table.header_row + 1))
            if above_points > FREEZE_POINTS:
                ws.freeze_panes = None  # a frozen block taller than a screen hides the rest
        else:
            table = write_sheet(ws, title, note, frame, currency)
        _conditional(declared(title), table)
        tables[title] = table
    add_charts(wb, sheets, tables, currency)
    if wb.sheetnames:
        wb.active = 0
    return wb
