"""The header, sheet-name, blank and percentage rules of docs/workbook.md: every variant
reads the same."""
from __future__ import annotations

import copy
import hashlib
import zipfile

import openpyxl
import pytest
from click.testing import CliRunner
from openpyxl.worksheet.table import Table

from planner.cli import main
from planner.plan import load
from test_validation import VALID, add_row, edit
from wb import make_workbook, read_plan_sheet

BASE = {
    "Suppliers": [{"supplier": "S1", "country": "AU", "material": "ore", "capacity_t": 100,
                   "unit_cost": 10, "min_t": None}],
    "Demand": [{"customer": "C1", "country": "AU", "material": "ore", "period": "P1",
                "quantity_t": 60}],
}


def _rename(sheets: dict, sheet_names: dict, headers: dict) -> dict:
    return {sheet_names.get(s, s): [{headers.get(k, k): v for k, v in row.items()}
                                    for row in rows] for s, rows in sheets.items()}


@pytest.mark.parametrize("sheet_names,headers", [
    ({}, {}),
    ({"Suppliers": "SUPPLIERS", "Demand": " demand "},
     {"capacity_t": "Capacity (t)", "unit_cost": "Unit cost", "quantity_t": "Quantity (t)"}),
    ({"Suppliers": "suppliers"},
     {"capacity_t": "CAPACITY_T", "unit_cost": "unit-cost", "min_t": "Min t",
      "quantity_t": "quantity t"}),
    ({}, {"capacity_t": "  capacity  (t) ", "unit_cost": "Unit_Cost.", "supplier": "Supplier"}),
])
def test_header_and_sheet_variants_read_the_same(tmp_path, sheet_names, headers):
    path = make_workbook(tmp_path / "in.xlsx", _rename(BASE, sheet_names, headers))
    inputs = load(path)
    s = inputs["Suppliers"].iloc[0]
    assert (s["supplier"], s["capacity_t"], s["unit_cost"], s["min_t"]) == ("S1", 100.0, 10.0,
                                                                            None)
    assert inputs["Demand"].iloc[0]["quantity_t"] == 60.0
    assert inputs.periods == ["P1"]


def test_percentages_and_share_text_are_fractions(tmp_path):
    from planner import schema
    from planner.cells import coerce

    share = schema.Column("max_share", schema.SHARE, "")
    assert coerce(0.65, share) == (0.65, None)
    assert coerce("65%", share) == (0.65, None)
    assert coerce(" 65 % ", share)[0] == pytest.approx(0.65)
    assert coerce(65, share)[0] is None and "between 0 and 1" in coerce(65, share)[1]


def test_ids_stay_text_and_blanks_are_blank(tmp_path):
    sheets = {
        "Suppliers": [{"supplier": "001", "country": "NA", "material": "ore",
                       "capacity_t": None, "unit_cost": 1}],
        "Demand": [{"customer": 7, "country": "NA", "material": "ore", "period": 2027,
                    "quantity_t": "12"}],
    }
    inputs = load(make_workbook(tmp_path / "in.xlsx", sheets))
    s = inputs["Suppliers"].iloc[0]
    assert s["supplier"] == "001" and s["country"] == "NA" and s["capacity_t"] is None
    d = inputs["Demand"].iloc[0]
    assert d["customer"] == "7" and d["period"] == "2027" and d["quantity_t"] == 12.0


def test_periods_sort_numbers_numerically_without_a_periods_sheet(tmp_path):
    demand = [{"customer": "C", "country": "AU", "material": "ore", "period": p,
               "quantity_t": 1} for p in (10, 9, 100)]
    inputs = load(make_workbook(tmp_path / "in.xlsx",
                                {"Suppliers": BASE["Suppliers"], "Demand": demand}))
    assert inputs.periods == ["9", "10", "100"]


def test_choices_match_like_headers():
    from planner import schema
    from planner.cells import coerce

    setting = schema.SHEETS["Settings"].column("setting")
    assert coerce("Unmet penalty", setting) == ("unmet_penalty", None)
    assert coerce(" TIME-LIMIT (s) ", setting) == ("time_limit_s", None)
    stage = schema.SHEETS["Limits"].column("stage")
    assert coerce("Processing", stage) == ("processing", None)
    assert coerce("mining", stage)[0] is None


# What the value reader would hide: each is refused (or warned about) at its cell --------------


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _rejected(tmp_path, inp, where: str, *words: str) -> list[str]:
    """validate and run both exit 1 naming the cell; nothing written, input unchanged.
    Returns the error lines of `run`."""
    before = _sha(inp)
    out = tmp_path / "plan.xlsx"
    for args in (["validate", inp], ["run", inp, "-o", out, "--jobs", "1"]):
        result = _invoke(*args)
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output
        line = next((ln for ln in result.output.splitlines() if where in ln), None)
        assert line is not None and "error:" in line, result.output
        assert all(w in line for w in words), result.output
    assert not out.exists() and _sha(inp) == before
    return [ln for ln in result.output.splitlines() if "error:" in ln]


# (error value, mutation, cell) in every kind of column: a blank-means-unlimited capacity, an
# optional penalty, a floor that defaults to 0, a required number, an id, a choice, Settings.
ERROR_CELLS = [
    ("#N/A", lambda s, v: edit("Suppliers", 0, capacity_t=v)(s),
     "sheet Suppliers, row 2, column capacity_t (D)"),
    ("#DIV/0!", lambda s, v: edit("Demand", 0, unmet_penalty=v)(s),
     "sheet Demand, row 2, column unmet_penalty (F)"),
    ("#NUM!", lambda s, v: add_row("Stockpiles", stockpile="reserve", country="JP",
                                   material="oxide", initial_t=10, min_level_t=v)(s),
     "sheet Stockpiles, row 2, column min_level_t (E)"),
    ("#VALUE!", lambda s, v: edit("Demand", 0, quantity_t=v)(s),
     "sheet Demand, row 2, column quantity_t (E)"),
    ("#REF!", lambda s, v: edit("Suppliers", 1, supplier=v)(s),
     "sheet Suppliers, row 3, column supplier (A)"),
    ("#NAME?", lambda s, v: edit("Limits", 0, stage=v)(s),
     "sheet Limits, row 2, column stage (C)"),
    ("#NULL!", lambda s, v: add_row("Settings", setting="unmet_penalty", value=v)(s),
     "sheet Settings, row 2, column value (B)"),
]


@pytest.mark.parametrize("error,mutate,where", ERROR_CELLS, ids=[e[0] for e in ERROR_CELLS])
def test_an_excel_error_value_is_an_error_at_its_cell(tmp_path, error, mutate, where):
    sheets = copy.deepcopy(VALID)
    mutate(sheets, error)
    inp = make_workbook(tmp_path / "in.xlsx", sheets)
    cell = openpyxl.load_workbook(inp)[where.split(",")[0].split()[1]]
    assert any(c.data_type == "e" for row in cell.iter_rows() for c in row)  # a true error cell
    errors = _rejected(tmp_path, inp, where, f"the cell holds the Excel error {error}",
                       "fix the formula or type the value")
    assert len(errors) == 1, errors  # once, at its cell: not also "must not be blank"


def _xlsxwriter_workbook(path, quantity_formula: str, cached=0, calculated=False):
    """Suppliers, Freight and Demand written by XlsxWriter, the demand as a formula with
    `cached` as its stored value; `calculated` drops fullCalcOnLoad, as Excel does on save."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    for name, rows in (
            ("Suppliers", [["supplier", "country", "material", "capacity_t", "unit_cost"],
                           ["mine", "AU", "ore", 1000, 10]]),
            ("Freight", [["from_country", "to_country", "cost_per_t"], ["AU", "JP", 5]]),
            ("Demand", [["customer", "country", "material", "period", "quantity_t"],
                        ["plant", "JP", "ore", "Q1", None]])):
        ws = book.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    ws.write(r, c, value)
    book.get_worksheet_by_name("Demand").write_formula(1, 4, quantity_formula, None, cached)
    book.close()
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    assert b'fullCalcOnLoad="1"' in members["xl/workbook.xml"]
    if calculated:
        members["xl/workbook.xml"] = members["xl/workbook.xml"].replace(
            b' fullCalcOnLoad="1"', b"")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in members.items():
                zf.writestr(name, data)
    return path


def test_formulas_never_calculated_are_refused(tmp_path):
    """XlsxWriter stores =100+50 with the placeholder 0 and asks Excel to calculate on
    opening: read as it is, the plan was 'optimal, total cost 0'."""
    inp = _xlsxwriter_workbook(tmp_path / "in.xlsx", "=100+50")
    _rejected(tmp_path, inp, "sheet Demand, row 2, column quantity_t (E)",
              "written by a program and never calculated",
              "open and save it in Excel or LibreOffice, or replace the formulas by values")
    # The same workbook as Excel saves it: the value 150 is computed, fullCalcOnLoad gone.
    # 150 t from mine at 10 + freight 5 = 2,250, by hand.
    inp = _xlsxwriter_workbook(tmp_path / "calculated.xlsx", "=100+50", 150, calculated=True)
    out = tmp_path / "plan.xlsx"
    result = _invoke("run", inp, "-o", out, "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert read_plan_sheet(out, "Summary")[0]["total_cost"] == pytest.approx(2250)


def test_a_value_from_another_workbook_is_warned_at_its_cell(tmp_path):
    inp = _xlsxwriter_workbook(tmp_path / "in.xlsx", "=[1]Sheet1!A1", 150, calculated=True)
    before = _sha(inp)
    out = tmp_path / "plan.xlsx"
    result = _invoke("run", inp, "-o", out, "--jobs", "1")
    assert result.exit_code == 0, result.output
    line = next(ln for ln in result.output.splitlines()
                if "sheet Demand, row 2, column quantity_t (E)" in ln)
    assert "warning:" in line and "another workbook (external link) as last saved" in line
    # The cached value is the one used: 150 t at 10 + 5 = 2,250, by hand.
    assert read_plan_sheet(out, "Summary")[0]["total_cost"] == pytest.approx(2250)
    assert _sha(inp) == before
    # Never calculated and external: the stale value is refused, not just warned about.
    (tmp_path / "stale").mkdir()
    stale = _xlsxwriter_workbook(tmp_path / "stale" / "in.xlsx", "=[1]Sheet1!A1", 150)
    _rejected(tmp_path / "stale", stale, "sheet Demand, row 2, column quantity_t (E)",
              "never calculated")


@pytest.mark.parametrize("total", ["=SUBTOTAL(109,Offers[capacity_t])", 2000])
def test_the_totals_row_of_an_excel_table_is_skipped_with_a_warning(tmp_path, total):
    # The total as a formula, or typed (a sheet with no formula at all is not parsed for
    # cell facts; its tables are still looked at).
    sheets = copy.deepcopy(VALID)
    inp = make_workbook(tmp_path / "in.xlsx", sheets)
    wb = openpyxl.load_workbook(inp)
    ws = wb["Suppliers"]  # header row 1, two offers in rows 2-3, the Totals row is row 4
    ws["A4"], ws["D4"] = "Total", total
    ws.add_table(Table(displayName="Offers", ref="A1:E4", totalsRowCount=1))
    wb.save(inp)
    before = _sha(inp)
    out = tmp_path / "plan.xlsx"
    result = _invoke("run", inp, "-o", out, "--jobs", "1")
    assert result.exit_code == 0, result.output
    line = next(ln for ln in result.output.splitlines() if "sheet Suppliers, row 4" in ln)
    assert "warning:" in line and "Totals row of the Excel table Offers" in line \
        and "not read" in line
    # Same plan as without the table: 80 t of ore (40 t oxide at yield 0.5) from mine at 10,
    # milled at 3, shipped AU->JP at 5 per t of oxide: 800 + 240 + 200 = 1,240, by hand.
    assert read_plan_sheet(out, "Summary")[0]["total_cost"] == pytest.approx(1240)
    assert "Total" not in {f["from"] for f in read_plan_sheet(out, "Flows")}
    assert _sha(inp) == before


def test_a_control_character_is_shown_escaped_everywhere(tmp_path):
    sheets = copy.deepcopy(VALID)
    # ESC as Excel stores it (_x001B_), followed by the colour code it would send a terminal.
    edit("Scenarios", 0, scenario="more_x001B_[31m")(sheets)
    inp = make_workbook(tmp_path / "in.xlsx", sheets)
    before = _sha(inp)
    out = tmp_path / "plan.xlsx"
    result = _invoke("run", inp, "-o", out, "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\x1b" not in result.stdout_bytes.decode()
    line = next(ln for ln in result.output.splitlines()
                if "sheet Scenarios, row 2, column scenario (A)" in ln)
    assert "warning:" in line and "ESC (U+001B)" in line and r"more\x1b[31m" in line
    summary = read_plan_sheet(out, "Summary")
    assert [r["scenario"] for r in summary] == ["base", r"more\x1b[31m"]
    assert [r["status"] for r in summary] == ["optimal", "optimal"]
    assert _sha(inp) == before


@pytest.mark.parametrize("mutate,where,words", [
    (edit("Demand", 0, quantity_t=1e20), "sheet Demand, row 2, column quantity_t (E)",
     "1e+20 is beyond what the solver can handle exactly (at most 1e+12); check the units"),
    (edit("Suppliers", 1, unit_cost=1e300), "sheet Suppliers, row 3, column unit_cost (E)",
     "1e+300 is beyond what the solver can handle exactly"),
    (edit("Suppliers", 0, capacity_t="2e12"), "sheet Suppliers, row 2, column capacity_t (D)",
     "2e+12 is beyond"),
    (edit("Scenarios", 0, value=-1e13), "sheet Scenarios, row 2, column value (E)",
     "-1e+13 is beyond"),
    (add_row("Settings", setting="unmet_penalty", value=1e15),
     "sheet Settings, row 2, column value (B)", "1e+15 is beyond"),
    (edit("Processes", 0, **{"yield": 1e-7}), "sheet Processes, row 2, column yield (D)",
     ("1e-07 is below 1e-06", "HiGHS drops matrix entries below 1e-9")),
], ids=["demand 1e20", "cost 1e300", "capacity text 2e12", "scenario value -1e13",
        "settings penalty 1e15", "yield 1e-7"])
def test_numbers_the_solver_cannot_take_are_refused_at_the_cell(tmp_path, mutate, where,
                                                                   words):
    sheets = copy.deepcopy(VALID)
    mutate(sheets)
    inp = make_workbook(tmp_path / "in.xlsx", sheets)
    words = (words,) if isinstance(words, str) else words  # one phrase or several
    _rejected(tmp_path, inp, where, *words)


def test_the_ceiling_is_1e12_and_the_least_yield_1e_6(tmp_path):
    """Exactly at the limits plans; just beyond them is refused."""
    sheets = copy.deepcopy(VALID)
    edit("Suppliers", 0, capacity_t=1e12)(sheets)
    edit("Processes", 0, **{"yield": 1e-6})(sheets)
    edit("Demand", 0, quantity_t=1e-4)(sheets)
    inp = make_workbook(tmp_path / "ok.xlsx", sheets)
    result = _invoke("run", inp, "-o", tmp_path / "ok-plan.xlsx", "--jobs", "1")
    assert result.exit_code == 0, result.output
    edit("Suppliers", 0, capacity_t=1.5e12)(sheets)
    edit("Processes", 0, **{"yield": 9e-7})(sheets)
    (tmp_path / "beyond").mkdir()
    inp = make_workbook(tmp_path / "beyond" / "in.xlsx", sheets)
    errors = _rejected(tmp_path / "beyond", inp, "sheet Suppliers, row 2, column capacity_t (D)",
                       "1.5e+12 is beyond")
    assert any("sheet Processes, row 2, column yield (D): 9e-07 is below 1e-06" in e
               for e in errors), errors


def test_column_letters_are_excels():
    """The reader's own column letters (it does not import openpyxl) against openpyxl's."""
    from openpyxl.utils import get_column_letter

    from planner.cells import column_letter

    assert all(column_letter(i) == get_column_letter(i) for i in range(1, 18_279))


def test_a_number_in_a_duration_formatted_cell_is_an_error_at_its_cell(tmp_path):
    """A capacity in a cell formatted [h]:mm:ss reads as a duration (calamine hands back a
    timedelta): an error at that cell, as a date is, and every other problem still listed
    (it stopped the reading with "could not read in.xlsx: TypeError: float() ...")."""
    inp = make_workbook(tmp_path / "in.xlsx", VALID)
    wb = openpyxl.load_workbook(inp)
    wb["Suppliers"]["D2"].number_format = "[h]:mm:ss"
    wb["Demand"]["E2"].number_format = "[h]:mm"
    wb.save(inp)
    errors = _rejected(tmp_path, inp, "sheet Suppliers, row 2, column capacity_t (D)",
                       "not a duration")
    assert any("sheet Demand, row 2, column quantity_t (E)" in e and "not a duration" in e
               for e in errors), errors


def test_a_damaged_sheet_is_named(tmp_path):
    """A sheet whose XML is cut short cannot be read: the error names that sheet (it named
    only the file)."""
    inp = make_workbook(tmp_path / "in.xlsx", VALID)
    damaged = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(inp) as src, zipfile.ZipFile(damaged, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet2.xml":
                data = data.replace(b"</sheetData>", b"<row>")
            dst.writestr(item, data)
    wb = openpyxl.load_workbook(inp)
    second = wb.sheetnames[1]
    result = _invoke("validate", damaged)
    assert result.exit_code == 1, result.output
    assert f"error: sheet {second}: could not read damaged.xlsx" in result.output


def test_an_error_value_in_the_header_row_is_warned(tmp_path):
    """A header cell holding #REF! reads as blank, so its column was left out without a
    word: now a warning at that cell (the plan is made without the column)."""
    sheets = copy.deepcopy(VALID)
    edit("Suppliers", 0, **{"#REF!": 1})(sheets)
    inp = make_workbook(tmp_path / "in.xlsx", sheets)
    result = _invoke("validate", inp)
    assert result.exit_code == 0, result.output
    line = next(ln for ln in result.output.splitlines() if "#REF!" in ln)
    assert line.startswith("  warning: sheet Suppliers, row 1, column F:"), line
    assert "column is ignored" in line
