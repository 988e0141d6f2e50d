"""`planner template`: every sheet and column of the schema, instructions, example rows that
plan, dropdowns; template -> filled in by a program -> validate -> run; LibreOffice render."""
from __future__ import annotations

import openpyxl
import pytest
from click.testing import CliRunner

from planner import api, schema
from planner.cli import main
from planner.template import INSTRUCTIONS, write_template
from render import first_page_with, pdf_pages, to_pdf
from wb import read_plan_sheet


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "case.xlsx"
    result = _run("template", path)
    assert result.exit_code == 0, result.output
    return path


def _validations(ws) -> dict[str, object]:
    """Column letter -> the data validation covering its rows 2.., from the file."""
    out = {}
    for dv in ws.data_validations.dataValidation:
        for rng in str(dv.sqref).split():
            first, _, last = rng.partition(":")
            letter = first.rstrip("0123456789")
            assert first == f"{letter}2" and last.startswith(letter), rng
            out[letter] = dv
    return out


def test_every_schema_sheet_and_column_with_an_example_row(template):
    wb = openpyxl.load_workbook(template)
    assert wb.sheetnames == [INSTRUCTIONS, *schema.SHEETS]
    for sheet in schema.SHEETS.values():
        ws = wb[sheet.name]
        assert [c.value for c in ws[1]] == [c.name for c in sheet.columns], sheet.name
        assert ws.freeze_panes == "A2"
        example = [c.value for c in ws[2]]
        assert any(v is not None for v in example), sheet.name
        for column, cell in zip(sheet.columns, ws[2]):
            if not column.blank_ok:
                assert cell.value is not None, (sheet.name, column.name)
        for cell, column in zip(ws[1], sheet.columns):
            assert cell.font.b
            assert column.description in cell.comment.text


def test_instructions_explain_every_sheet_and_column(template):
    wb = openpyxl.load_workbook(template)
    ws = wb[INSTRUCTIONS]
    rows = [tuple(c.value for c in row) for row in ws.iter_rows()]
    described = {(r[0], r[1]) for r in rows if r[1]}
    for sheet in schema.SHEETS.values():
        assert (sheet.name, None) in {(r[0], r[1]) for r in rows}, sheet.name
        for column in sheet.columns:
            assert (sheet.name, column.name) in described, (sheet.name, column.name)
            row = next(r for r in rows if (r[0], r[1]) == (sheet.name, column.name))
            assert row[4] == column.description
            assert row[3]  # unit / kind
    units = {(r[0], r[1]): r[3] for r in rows if r[1]}
    assert units[("Suppliers", "capacity_t")] == "t per period"
    assert units[("Suppliers", "unit_cost")].startswith("money per t")
    assert units[("Limits", "max_share")].startswith("share")
    for setting in schema.SETTINGS:
        assert ("Settings", f"setting = {setting}") in described


def test_dropdowns_for_choices_and_for_ids_defined_on_other_sheets(template):
    wb = openpyxl.load_workbook(template)
    for sheet in schema.SHEETS.values():
        dvs = _validations(wb[sheet.name])
        for j, column in enumerate(sheet.columns, start=1):
            dv = dvs[openpyxl.utils.get_column_letter(j)]
            assert dv.prompt  # every column explains itself when selected
            if column.kind in (schema.CHOICE, schema.FLAG):
                values = column.choices or ("yes", "no")
                assert dv.type == "list" and dv.errorStyle == "stop"
                assert dv.formula1 == '"' + ",".join(values) + '"', (sheet.name, column.name)
    dv = _validations(wb["Processes"])["A"]
    assert (dv.type, dv.formula1, dv.errorStyle) == ("list", "'Sites'!$A$2:$A$5000", "stop")
    dv = _validations(wb["Demand"])["D"]
    assert (dv.type, dv.formula1) == ("list", "'Periods'!$A$2:$A$5000")
    assert dv.errorStyle == "warning"
    dv = _validations(wb["Scenarios"])["B"]
    assert dv.formula1 == '"' + ",".join(schema.SCENARIO_SHEETS) + '"'


def test_the_example_rows_plan(template, tmp_path):
    out = tmp_path / "plan.xlsx"
    result = _run("run", template, "-o", out, "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output  # the Instructions sheet is known to be prose
    # By hand: 50 t from the reserve (release 10, holding 2 on the 50 t floor), 250 t of
    # oxide refined from 500 t of ore: 500 x (100 + 20) + 500 x 50 + 250 x 30 lane
    # + 500 + 100 = 93,100; the scenario makes ore 120: + 500 x 20 = 103,100.
    summary = {r["scenario"]: r for r in read_plan_sheet(out, "Summary")}
    assert summary["base"]["total_cost"] == pytest.approx(93100)
    assert summary["ore +20%"]["total_cost"] == pytest.approx(103100)
    # The hedge takes the example rows too (its options exist in base as in the event):
    # the event raises the spot price only, and contracts are at the base price, so every
    # plan costs base's 93,100 whatever happens.
    result = _run("hedge", template, "-o", tmp_path / "hedge.xlsx")
    assert result.exit_code == 0, result.output
    plans = api.hedge(template)["Hedge"].set_index("plan")["expected_cost"]
    assert list(plans[["EEV", "RP", "WS"]]) == pytest.approx([93100] * 3)


def _append(ws, record: dict) -> None:
    header = [c.value for c in ws[1]]
    row = ws.max_row + 1
    for key, value in record.items():
        ws.cell(row=row, column=header.index(key) + 1, value=value)


def test_template_filled_in_by_a_program_validates_and_plans(template, tmp_path):
    wb = openpyxl.load_workbook(template)
    _append(wb["Demand"], {"customer": "Plant-E", "country": "JP", "material": "oxide",
                           "period": "2027-Q1", "quantity_t": 100})
    _append(wb["Freight"], {"from_country": "MY", "to_country": "JP", "cost_per_t": 25})
    _append(wb["Settings"], {"setting": "solver", "value": "highs"})
    filled = tmp_path / "filled.xlsx"
    wb.save(filled)
    result = _run("validate", filled)
    assert result.exit_code == 0, result.output
    out = tmp_path / "plan.xlsx"
    result = _run("run", filled, "-o", out, "--jobs", "1")
    assert result.exit_code == 0, result.output
    # By hand: the reserve's 50 t go to Plant-C (saves the 30 lane cost, more than the 25
    # freight), 350 t of oxide from 700 t of ore: 700 x 120 + 700 x 50 + 250 x 30 + 100 x 25
    # + 500 + 100 = 129,600; with ore at 120 per t: + 700 x 20 = 143,600.
    summary = {r["scenario"]: r for r in read_plan_sheet(out, "Summary")}
    assert summary["base"]["total_cost"] == pytest.approx(129600)
    assert summary["ore +20%"]["total_cost"] == pytest.approx(143600)
    flows = [f for f in read_plan_sheet(out, "Flows") if f["scenario"] == "base"]
    assert sum(f["quantity_t"] for f in flows if f["to"] == "Plant-E") == pytest.approx(100)


def test_the_template_never_overwrites_a_workbook(template, tmp_path):
    before = template.read_bytes()
    result = _run("template", template)
    assert result.exit_code == 4 and "already exists" in result.output
    assert template.read_bytes() == before
    with pytest.raises(Exception, match="already exists"):
        write_template(template)


def test_template_renders_in_libreoffice(template, tmp_path):
    wb = openpyxl.load_workbook(template)
    pdf = to_pdf(template, tmp_path)
    pages = pdf_pages(pdf)
    assert first_page_with(pages, "How to fill in this workbook") == 0
    page = 0
    for sheet in schema.SHEETS.values():  # each sheet on pages of its own, in order
        header = " ".join(str(c.value) for c in wb[sheet.name][1][:2])
        page = next((i for i in range(page + 1, len(pages))
                     if pages[i].strip().startswith(header)), None)
        assert page is not None, (sheet.name, header)
