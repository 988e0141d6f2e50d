"""`planner template OUT.xlsx`: an input workbook to fill in, generated from planner/schema.py.

Every sheet and column comes from `schema.SHEETS` (the definition the reader and the
validator use), so the template cannot drift from what `planner run` accepts. Per sheet:
the header in row 1 (the reader takes the first non-empty row as the header), one example
row below it, dropdowns for choice columns and for ids that other sheets define, and an
input message with each column's meaning and unit. An Instructions sheet explains every
sheet and column in plain words; the reader knows it is prose and skips it.

The example rows together are a small plan that solves: ore from an Australian mine is
refined in Malaysia, shipped to a Japanese plant on a capped lane, topped up from a
stockpile, under a diversification rule, a quota and a price scenario.
"""
from __future__ import annotations

import math
from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.properties import PageSetupProperties

from . import schema
from .errors import OutputError
from .excel import FORMULA_LEADERS, HEADER_COLOUR
from .output import save_workbook

INSTRUCTIONS = "Instructions"
LAST_ROW = 5000          # dropdowns and input messages cover rows 2..LAST_ROW

# One example row per sheet (more where the plan needs them). Values are what a user
# types; blanks are left out. Together they form a feasible plan (tests/test_template.py).
EXAMPLES: dict[str, list[dict]] = {
    "Suppliers": [{"supplier": "Mine-A", "country": "AU", "material": "ore",
                   "capacity_t": 1000, "unit_cost": 100}],
    "Demand": [{"customer": "Plant-C", "country": "JP", "material": "oxide",
                "period": "2027-Q1", "quantity_t": 300, "unmet_penalty": 5000}],
    "Sites": [{"site": "Refinery-B", "country": "MY", "capacity_t": 800}],
    "Processes": [{"site": "Refinery-B", "input_material": "ore", "output_material": "oxide",
                   "yield": 0.5, "cost_per_t": 50, "process": "refining"}],
    "Freight": [{"from_country": "AU", "to_country": "MY", "cost_per_t": 20}],
    "Lanes": [{"from": "Refinery-B", "to": "Plant-C", "material": "oxide", "cost_per_t": 30,
               "max_t": 500, "allowed": "yes"}],
    "Stockpiles": [{"stockpile": "Reserve-D", "country": "JP", "material": "oxide",
                    "initial_t": 100, "capacity_t": 200, "min_level_t": 50,
                    "max_release_t": 50, "release_cost": 10, "holding_cost": 2,
                    "intake": "no", "origin": "AU"}],
    "Periods": [{"period": "2027-Q1"}],
    "Groups": [{"group": "Allies", "country": "AU"}],
    "Limits": [{"rule": "Allies at least half of ore", "material": "ore", "stage": "supply",
                "by": "group", "member": "Allies", "min_share": 0.5}],
    "Restrictions": [{"rule": "MY-JP oxide quota", "type": "quota", "material": "oxide",
                      "from": "MY", "to": "JP", "max_t": 1000},
                     {"rule": "no Malaysian-mined oxide to JP", "type": "ban",
                      "material": "oxide", "to": "JP", "origin": "MY"},
                     {"rule": "Australian-touched oxide to JP", "type": "quota",
                      "material": "oxide", "to": "JP", "via": "AU", "max_t": 1000}],
    "Options": [{"option": "expand Refinery-B", "kind": "site", "node": "Refinery-B",
                 "capacity_t": 200, "fixed_cost": 20000, "first_period": "2027-Q1",
                 "scenario": "base; ore +20%"},
                {"option": "sign Mine-A", "kind": "supplier", "node": "Mine-A",
                 "material": "ore", "fixed_cost": 0, "scenario": "base; ore +20%"}],
    "Scenarios": [{"scenario": "ore +20%", "sheet": "Suppliers", "where": "supplier=Mine-A",
                   "column": "unit_cost", "action": "multiply", "value": 1.2}],
    "Risks": [{"event": "ore +20%", "probability": 0.1}],
    "Settings": [{"setting": "currency", "value": "USD"}],
}

# Columns whose values are ids defined on another sheet: (sheet, column) -> (source sheet,
# source column, strict). Strict lists refuse other values; the others only warn, because
# the column also takes values the source does not list (`all`, `each`, `a;b`, countries).
REFERENCES: dict[tuple[str, str], tuple[str, str, bool]] = {
    ("Processes", "site"): ("Sites", "site", True),
    ("Suppliers", "period"): ("Periods", "period", False),
    ("Demand", "period"): ("Periods", "period", False),
    ("Limits", "period"): ("Periods", "period", False),
    ("Restrictions", "period"): ("Periods", "period", False),
    ("Limits", "customer"): ("Demand", "customer", False),
    ("Limits", "member"): ("Groups", "group", False),
    ("Restrictions", "from"): ("Groups", "group", False),
    ("Restrictions", "to"): ("Groups", "group", False),
    ("Limits", "scenario"): ("Scenarios", "scenario", False),
    ("Risks", "event"): ("Scenarios", "scenario", False),
    ("Restrictions", "scenario"): ("Scenarios", "scenario", False),
}

REQUIRED_FILL = PatternFill("solid", start_color="1F4E79", end_color="1F4E79")
HEADER_FILL = PatternFill("solid", start_color=HEADER_COLOUR, end_color=HEADER_COLOUR)
EXAMPLE_FONT = Font(italic=True, color="595959")
LEVELS = {("Stockpiles", "initial_t"), ("Stockpiles", "capacity_t"),
          ("Stockpiles", "min_level_t")}   # stock levels, not flows per period
MONEY_COLUMNS = {"unit_cost", "cost_per_t", "unmet_penalty", "release_cost", "holding_cost"}


def unit_of(sheet: str, column: schema.Column) -> str:
    """The unit or the kind of value, in plain words."""
    name = column.name
    if name == "yield":
        return "t of output per t of input"
    if name in MONEY_COLUMNS:
        return "money per t (Settings currency)"
    if name.endswith("_t"):
        return "t" if (sheet, name) in LEVELS else "t per period"
    if column.kind == schema.SHARE:
        return "share: 0.65 or 65%"
    if column.kind == schema.FLAG:
        return "yes or no"
    if column.kind == schema.CHOICE:
        return "one of: " + ", ".join(column.choices)
    if column.kind == schema.PERIOD:
        return "period label"
    if column.kind == schema.SIGNED:
        return "number (may be negative)"
    if column.kind == schema.NUMBER:
        return "number"
    if column.kind == schema.ID:
        return "id / label (text)"
    return "text"


def choices_of(sheet: str, column: schema.Column) -> tuple[tuple[str, ...], bool] | None:
    """Inline dropdown values and whether they are the only ones allowed."""
    if column.kind == schema.CHOICE:
        return column.choices, True
    if column.kind == schema.FLAG:
        return ("yes", "no"), True
    if (sheet, column.name) == ("Scenarios", "sheet"):
        return schema.SCENARIO_SHEETS, True
    if (sheet, column.name) == ("Scenarios", "column"):
        names = dict.fromkeys(c.name for s in schema.SCENARIO_SHEETS
                              for c in schema.SHEETS[s].columns
                              if c.kind in schema.NUMERIC_KINDS)
        return tuple(names), False
    return None


def examples_of(sheet: schema.Sheet) -> list[dict]:
    """The schema's own example rows if it has them, else the column examples, else ours."""
    if sheet.example:
        return [dict(row) for row in sheet.example]
    from_columns = {c.name: c.example for c in sheet.columns if c.example is not None}
    if from_columns:
        return [from_columns]
    return EXAMPLES.get(sheet.name, [])


def _validation(formula: str, strict: bool, title: str, prompt: str) -> DataValidation:
    dv = DataValidation(type="list", formula1=formula, allow_blank=True)
    dv.showErrorMessage = True
    dv.showInputMessage = True
    dv.errorStyle = "stop" if strict else "warning"
    dv.errorTitle = title[:32]
    dv.error = ("Choose a value from the list." if strict else
                "Not in the list. Keep it only if you mean it (see Instructions).")
    dv.promptTitle = title[:32]
    dv.prompt = prompt[:255]
    return dv


def guard_text(cell) -> None:
    """Text that looks like a formula is written as text, never evaluated (openpyxl stores
    a string starting with "=" as a live formula, which Excel and LibreOffice run)."""
    if cell.data_type == "f":
        cell.data_type = "s"
        cell.quotePrefix = True
    elif isinstance(cell.value, str) and cell.value.startswith(FORMULA_LEADERS):
        cell.quotePrefix = True


def _prompt(sheet: str, column: schema.Column) -> str:
    return f"{column.description} Unit: {unit_of(sheet, column)}."


def _landscape(ws) -> None:
    """Printed (or exported to PDF) one page wide."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)


def _data_sheet(wb: Workbook, sheet: schema.Sheet) -> None:
    ws = wb.create_sheet(sheet.name)
    for j, column in enumerate(sheet.columns, start=1):
        letter = get_column_letter(j)
        cell = ws.cell(row=1, column=j, value=column.name)
        cell.font = Font(bold=True, color="FFFFFF" if column.required else "000000")
        cell.fill = REQUIRED_FILL if column.required else HEADER_FILL
        cell.comment = Comment(_prompt(sheet.name, column)
                               + (" Required column." if column.required else
                                  " Optional column."), "planner")
        cells = f"{letter}2:{letter}{LAST_ROW}"
        listed = choices_of(sheet.name, column)
        source = REFERENCES.get((sheet.name, column.name))
        if listed is not None and len(",".join(listed[0])) + 2 <= 255:
            values, strict = listed
            dv = _validation('"' + ",".join(values) + '"', strict, column.name,
                             _prompt(sheet.name, column))
        elif source is not None:
            src_sheet, src_column, strict = source
            src_letter = get_column_letter(
                [c.name for c in schema.SHEETS[src_sheet].columns].index(src_column) + 1)
            dv = _validation(f"{quote_sheetname(src_sheet)}!${src_letter}$2:${src_letter}$"
                             f"{LAST_ROW}", strict, column.name,
                             _prompt(sheet.name, column)
                             + f" Dropdown: the {src_column} ids on {src_sheet}.")
        else:
            dv = DataValidation(allow_blank=True)  # input message only
            dv.showInputMessage = True
            dv.promptTitle = column.name[:32]
            dv.prompt = _prompt(sheet.name, column)[:255]
        ws.add_data_validation(dv)
        dv.add(cells)
        if column.kind == schema.SHARE:
            ws.column_dimensions[letter].number_format = "0%"
        width = max(len(column.name) + 4, 12)
        for row in examples_of(sheet):
            width = max(width, len(str(row.get(column.name, ""))) + 2)
        ws.column_dimensions[letter].width = min(width, 40)
    for i, row in enumerate(examples_of(sheet), start=2):
        for j, column in enumerate(sheet.columns, start=1):
            value = row.get(column.name)
            if value is None:
                continue
            cell = ws.cell(row=i, column=j, value=value)
            guard_text(cell)
            cell.font = EXAMPLE_FONT
            if column.kind == schema.SHARE:
                cell.number_format = "0%"
    ws.freeze_panes = "A2"
    _landscape(ws)


WIDTHS = (14, 22, 28, 30, 70, 30, 20)   # Instructions columns A..G


def _fit_height(ws, row: int, values: list) -> None:
    """Row height for wrapped text (spreadsheets do not all re-measure rows on opening)."""
    lines = max(math.ceil(len(str(v)) * 1.1 / (w - 1)) if v is not None else 1
                for v, w in zip(values, WIDTHS))
    if lines > 1:
        ws.row_dimensions[row].height = 15 * lines


def _instructions(wb: Workbook) -> None:
    ws = wb.create_sheet(INSTRUCTIONS, 0)
    required = [s.name for s in schema.SHEETS.values() if s.required]
    intro = [
        ("How to fill in this workbook", Font(bold=True, size=14)),
        ("1. Each sheet holds one table: keep the header in row 1 and write one record per row "
         "below it. Row 2 of every sheet is an example (grey italics): overwrite or delete it.",
         None),
        (f"2. Required sheets: {', '.join(required)}. The other sheets are optional: delete a "
         "sheet you do not need, or leave only its header.", None),
        ("3. Dark headers are required columns; light headers are optional and may be deleted. "
         "Blank cells mean what the column's description says (often: no limit).", None),
        ("4. Units: quantities in tonnes (t) per period (columns ending in _t); money in the "
         "currency named on Settings (default USD); shares as fractions (0.65) or percent "
         "(65%). Type plain numbers: no thousands separators, units or words.", None),
        ("5. Cells with a dropdown take one of the listed values. Dropdowns of ids (sites, "
         "periods, customers, groups, scenarios) list what the other sheets define; a value "
         "not in the list only gives a warning where the column also takes other words.",
         None),
        ("6. Check and plan from a terminal: planner validate FILE.xlsx, then planner run "
         "FILE.xlsx. The planner skips this Instructions sheet without a word.",
         None),
        ("", None),
    ]
    for i, (text, font) in enumerate(intro, start=1):
        cell = ws.cell(row=i, column=1, value=text or None)
        if font:
            cell.font = font
    header = INSTRUCTION_COLUMNS
    for letter, width in zip("ABCDEFG", WIDTHS):
        ws.column_dimensions[letter].width = width
    head_row = len(intro) + 1
    for j, name in enumerate(header, start=1):
        cell = ws.cell(row=head_row, column=j, value=name)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
    row = head_row + 1
    wrap = Alignment(wrap_text=True, vertical="top")
    for kind, values in instruction_rows():
        if kind == "sheet":
            name, needed, description = values
            ws.cell(row=row, column=1, value=name).font = Font(bold=True)
            ws.cell(row=row, column=3, value=needed).font = Font(bold=True)
            ws.cell(row=row, column=5, value=description).alignment = wrap
        else:
            for j, value in enumerate(values, start=1):
                cell = ws.cell(row=row, column=j, value=value or None)
                guard_text(cell)
                cell.alignment = wrap
            _fit_height(ws, row, values)
        row += 1
    ws.freeze_panes = ws.cell(row=head_row + 1, column=1)
    _landscape(ws)


INSTRUCTION_COLUMNS = ["sheet", "column", "needed", "unit / kind", "what to write",
                       "allowed values", "example"]


def instruction_rows():
    """What the Instructions sheet and docs/workbook.md say, from the schema: ("sheet",
    (name, needed, description)) before each sheet's ("column", INSTRUCTION_COLUMNS values)
    rows; the Settings sheet's settings after its columns."""
    for sheet in schema.SHEETS.values():
        yield "sheet", (sheet.name, "required sheet" if sheet.required else "optional sheet",
                        sheet.description)
        example = (examples_of(sheet) or [{}])[0]
        for column in sheet.columns:
            listed = choices_of(sheet.name, column)
            source = REFERENCES.get((sheet.name, column.name))
            allowed = (", ".join(listed[0]) if listed else
                       f"ids from {source[0]}.{source[1]}" if source else "")
            needed = ("required, never blank" if column.required and not column.blank_ok else
                      "required column, may be blank" if column.required else "optional")
            yield "column", [sheet.name, column.name, needed, unit_of(sheet.name, column),
                             column.description, allowed, example.get(column.name)]
        if sheet.name == "Settings":
            for setting in schema.SETTINGS.values():
                yield "column", ["Settings", f"setting = {setting.name}", "optional",
                                 unit_of("Settings", setting), setting.description,
                                 ", ".join(setting.choices), None]


def template_workbook() -> Workbook:
    wb = Workbook()
    wb.remove(wb.active)
    for sheet in schema.SHEETS.values():
        _data_sheet(wb, sheet)
    _instructions(wb)
    wb.active = 0
    return wb


def write_template(output: Path) -> None:
    """Write the template to `output`; an existing file is never overwritten (it may be a
    filled-in workbook)."""
    output = Path(output)
    if output.exists():
        raise OutputError(f"{output} already exists; choose another name or delete it first "
                          f"(the template never overwrites a workbook)")
    save_workbook(template_workbook(), output)
