"""The plan workbook as people read it: headlines, formats, frozen headers, filters,
sorting, charts pointing at the right cells, conditional formats, safety of what is written,
and (where LibreOffice is installed) that it renders to PDF with a page for every sheet."""
from __future__ import annotations

import os
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from planner.cli import main
from planner.output import write_plan
from render import charts_by_sheet, first_page_with, pdf_pages, resolve, to_pdf
from wb import make_workbook, read_plan_sheet

SPEC_SHEETS = ["Summary", "Flows", "Mix", "Limits", "Unmet", "Utilization", "Run info"]
ROOT = Path(__file__).resolve().parents[1]

# Every table sheet of the plan and its columns, in order, as docs/model.md (section 6)
# names them. Written out here, not imported from the planner: a change of the plan's
# contract must show as a failing test.
PLAN_COLUMNS = {
    "Summary": ["scenario", "status", "total_cost", "change_vs_base", "change_vs_base_pct",
                "purchase_cost", "processing_cost", "freight_cost", "stockpile_cost",
                "unmet_cost", "option_cost", "unmet_t"],
    # a cross table: these, then one column per scenario
    "Sourcing": ["material", "kind", "id", "country", "period"],
    # the example has options (in two scenarios): its plan has an Options sheet
    "Options": ["scenario", "option", "kind", "node", "material", "taken", "fixed_cost",
                "capacity_t", "first_period", "capacity_used"],
    "Flows": ["scenario", "period", "material", "from", "from_kind", "from_country", "to",
              "to_kind", "to_country", "quantity_t", "freight_cost", "freight_per_t",
              "unit_cost", "purchase_cost"],
    "Comparison": ["scenario", "section", "item", "base_value", "value", "change", "detail"],
    "Mix": ["scenario", "period", "material", "stage", "country", "quantity_t", "share",
            "stage_total_t", "hhi"],
    # the example has rules that follow the material: its plan has a Provenance sheet
    "Provenance": ["scenario", "period", "customer", "material", "basis", "member",
                   "quantity_t", "share"],
    "Limits": ["scenario", "rule", "type", "stage", "by", "material", "period", "customer",
               "member", "volume_t", "stage_volume_t", "share", "level", "bound", "sense",
               "binds",
               "shadow_price", "value_of_1pt", "cost_of_rule"],
    "Diagnosis": ["scenario", "status", "kind", "rule", "material", "period", "customer",
                  "member", "current", "needed", "change", "unit", "explanation"],
    "Unmet": ["scenario", "customer", "country", "material", "period", "demand_t",
              "delivered_t", "unmet_t", "unmet_penalty", "unmet_cost"],
    "Utilization": ["scenario", "period", "kind", "id", "material", "used_t", "capacity_t",
                    "utilization"],
    "Run info": ["scenario", "status", "message", "solver", "start", "time_limit_s",
                 "variables", "constraints", "nonzeros", "model_s", "solve_s", "report_s", "seconds",
                 "input_file", "input_sha256", "planner_version", "pulp_version",
                 "highspy_version", "python", "created_utc"],
}
SUMMARY_COLUMNS = PLAN_COLUMNS["Summary"]
COST_PARTS = ["purchase_cost", "processing_cost", "freight_cost", "stockpile_cost",
              "unmet_cost", "option_cost"]

# Two mines for one plant over two periods; China capped at half the supply. Base, by hand:
# per period 40 t CN (5 + 5 freight) and 40 t AU (10 + 5) = 1,000 EUR, 2,000 in all; the cap
# binds at -5 EUR per t (value of one point: 5 x 80 t x 1% = 4 EUR). "no CN": AU sells at
# most 60 t: 60 x 15 = 900 plus 20 t unmet x 1,000 per period = 41,800 EUR.
SHEETS = {
    "Settings": [{"setting": "currency", "value": "EUR"}],
    "Suppliers": [
        {"supplier": "au-mine", "country": "AU", "material": "ore", "capacity_t": 100,
         "unit_cost": 10},
        {"supplier": "cn-mine", "country": "CN", "material": "ore", "capacity_t": 100,
         "unit_cost": 5},
    ],
    "Demand": [
        {"customer": "plant", "country": "JP", "material": "ore", "period": p,
         "quantity_t": 80, "unmet_penalty": 1000} for p in ("P1", "P2")],
    "Freight": [{"from_country": "AU", "to_country": "JP", "cost_per_t": 5},
                {"from_country": "CN", "to_country": "JP", "cost_per_t": 5}],
    "Limits": [{"rule": "CN cap", "material": "ore", "stage": "supply", "by": "country",
                "member": "CN", "max_share": 0.5}],
    "Scenarios": [
        {"scenario": "no CN", "sheet": "Suppliers", "where": "country=CN", "action": "drop"},
        {"scenario": "no CN", "sheet": "Suppliers", "where": "supplier=au-mine",
         "column": "capacity_t", "action": "set", "value": 60},
    ],
}


@pytest.fixture(scope="module")
def plan_path(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plan")
    inp = make_workbook(folder / "case.xlsx", SHEETS)
    out = folder / "case-plan.xlsx"
    result = CliRunner().invoke(main, ["run", str(inp), "-o", str(out), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def book(plan_path):
    wb = openpyxl.load_workbook(plan_path)
    yield wb
    wb.close()


def first_column(ws) -> str:
    """The header cell that marks a sheet's header row: `scenario`, or for the Sourcing
    cross table (a column per scenario) its first column."""
    return "material" if ws.title == "Sourcing" else "scenario"


def header_row(ws) -> int:
    for row in ws.iter_rows():
        if any(c.value == first_column(ws) for c in row):
            return row[0].row
    raise AssertionError(f"{ws.title}: no header row")


def column_width(ws, column: int) -> float | None:
    """The width the file gives a column (one <col> element may set several alike)."""
    for dim in ws.column_dimensions.values():
        if dim.min <= column <= dim.max:
            return dim.width
    return None


def column_cells(ws, name: str) -> list:
    h = header_row(ws)
    col = [c.value for c in ws[h]].index(name) + 1
    out = []
    for r in range(h + 1, ws.max_row + 1):
        if all(ws.cell(r, j).value is None for j in range(1, ws.max_column + 1)):
            break
        out.append(ws.cell(r, col))
    return out


def test_sheets_in_meeting_order_with_the_spec_columns(book, plan_path):
    names = book.sheetnames
    # every scenario is optimal: nothing to diagnose, so Diagnosis comes last
    assert names[:3] == ["Summary", "Sourcing", "Charts"]
    assert names[-2:] == ["Chart data", "Diagnosis"]
    assert set(SPEC_SHEETS) <= set(names)
    for sheet in ("Summary", "Sourcing", "Flows", "Mix", "Limits", "Unmet", "Utilization"):
        columns = PLAN_COLUMNS[sheet]
        ws = book[sheet]
        header = [c.value for c in ws[header_row(ws)] if c.value is not None]
        assert header[:len(columns)] == columns, sheet
    summary = read_plan_sheet(plan_path, "Summary")
    assert [(r["scenario"], r["status"]) for r in summary] == [("base", "optimal"),
                                                                ("no CN", "optimal")]
    assert summary[0]["total_cost"] == pytest.approx(2000)
    assert summary[1]["total_cost"] == pytest.approx(41800)
    assert summary[1]["unmet_t"] == pytest.approx(40)


def test_every_table_has_a_bold_frozen_filtered_header_and_a_note_above(book):
    for name in book.sheetnames:
        if name == "Charts":
            continue
        ws = book[name]
        h = header_row(ws)
        # docs/model.md: nothing above the header has a `scenario` cell; data follow directly
        for row in ws.iter_rows(max_row=h - 1):
            assert all(c.value not in ("scenario", first_column(ws)) for c in row), name
        assert h >= 2 and isinstance(ws.cell(1, 1).value, str) and ws.cell(1, 1).value, name
        assert all(c.font.b for c in ws[h] if c.value is not None), name
        assert ws.freeze_panes == f"A{h + 1}", name
        assert ws.print_title_rows == f"${h}:${h}", name
        if name == "Chart data":  # the tables behind the charts: no filter to hide their rows
            continue
        last = len(column_cells(ws, first_column(ws)))
        assert ws.auto_filter.ref.startswith(f"A{h}:"), name
        assert ws.auto_filter.ref.endswith(str(max(h, h + last))), name
        assert ws.print_title_rows == f"${h}:${h}", name
        for cell in ws[h]:
            if cell.value is not None:
                width = column_width(ws, cell.column)
                assert width >= min(len(cell.value) + 2, 50), (name, cell.value)


def test_numbers_stay_numbers_with_unit_formats(book):
    expect = {
        ("Summary", "total_cost"): '#,##0 "EUR"',     # below a million: whole units
        ("Summary", "change_vs_base"): '+#,##0 "EUR";-#,##0 "EUR";#,##0 "EUR"',
        ("Summary", "change_vs_base_pct"): "+0.0%;-0.0%;0.0%",
        ("Summary", "unmet_t"): "#,##0.0",
        ("Sourcing", "base"): "#,##0.0",
        ("Flows", "quantity_t"): "#,##0.0",
        ("Flows", "freight_cost"): '#,##0 "EUR"',
        ("Flows", "unit_cost"): '#,##0.00 "EUR"',
        ("Mix", "share"): "0.0%",
        ("Mix", "hhi"): "#,##0",
        ("Limits", "shadow_price"): '#,##0.00 "EUR"',
        ("Limits", "bound"): "0.0%",          # a share rule's bound is a share
        ("Utilization", "utilization"): "0.0%",
        ("Utilization", "capacity_t"): "#,##0.0",
        ("Unmet", "unmet_t"): "#,##0.0",
    }
    for (sheet, column), fmt in expect.items():
        cells = [c for c in column_cells(book[sheet], column) if c.value is not None]
        assert cells, (sheet, column)
        for cell in cells:
            assert cell.data_type == "n", (sheet, column, cell.value)
            assert cell.number_format == fmt, (sheet, column, cell.number_format)


def below_the_table(ws) -> dict[str, list]:
    """What the Summary shows under its KPI table: {first cell: [the row's other cells]},
    by row (a scenario's lines are a row: its name, then the result, the costliest rule
    and the largest shares against base)."""
    last = header_row(ws) + len(column_cells(ws, "scenario"))
    out = {}
    for row in ws.iter_rows(min_row=last + 1):
        values = [c.value for c in row if c.value is not None]
        if values:
            out[values[0]] = values[1:]
    return out


def test_summary_is_title_kpi_table_then_short_lines_per_scenario(book, plan_path):
    ws = book["Summary"]
    h = header_row(ws)
    assert h <= 10
    assert ws.cell(1, 1).value.startswith("Sourcing plan for case.xlsx")
    header = [c.value for c in ws[h] if c.value is not None]
    assert header == SUMMARY_COLUMNS and "message" not in header
    lines = below_the_table(ws)
    # base: 2,000 EUR. no CN: 41,800 EUR, 39,800 more than base (+1990%), by hand above
    assert lines["base"][0] == "optimal, 2,000 EUR; all demand met"
    assert lines["no CN"][0] == ("optimal, +39,800 EUR (+1990.0%); 40 t unmet "
                                 "(penalty 40,000 EUR)")
    # without the cap CN sells all 80 t a period at 10: 1,600 EUR, so the cap costs 400
    assert lines["base"][1] == "CN cap: 400 EUR (2 instances bind)"
    assert lines["no CN"][1] == "no rule binds: the rules cost nothing"
    # other scenarios: only what differs from base (a tie goes to the first country in
    # alphabetical order: AU)
    assert lines["no CN"][2] == "ore supply AU 50% \u2192 AU 100%, +1 more"
    assert all(len(v) <= 3 for k, v in lines.items() if k in ("base", "no CN"))
    # base's largest share per material and stage: a table of numbers, the country named
    # by the number format
    (at,) = [c for row in ws.iter_rows(min_row=h + 1) for c in row if c.value == "material"]
    h2, j0 = at.row, at.column
    assert [ws.cell(h2, j).value for j in range(j0, j0 + 3)] == ["material", "supply",
                                                                 "delivery"]
    cells = [ws.cell(h2 + 1, j) for j in range(j0, j0 + 3)]
    assert [c.value for c in cells] == ["ore", 0.5, 0.5]
    assert [c.number_format for c in cells[1:]] == ['"AU "0%', '"AU "0%']
    # Nothing to diagnose: said in one line, the sheet at the end
    assert [k for k in lines if str(k).startswith("Nothing to report")] == [
        "Nothing to report on Diagnosis (every scenario has an optimal plan): its sheet is "
        "at the end of the workbook."]


def test_change_against_base_is_the_comparison_s_total_cost_change(plan_path, example_plan):
    for path in (plan_path, example_plan):
        summary = {r["scenario"]: r for r in read_plan_sheet(path, "Summary")}
        comparison = {r["scenario"]: r["change"] for r in read_plan_sheet(path, "Comparison")
                      if r["section"] == "cost" and r["item"] == "total_cost"}
        assert summary["base"]["change_vs_base"] == 0
        assert summary["base"]["change_vs_base_pct"] == 0
        assert set(comparison) == set(summary) - {"base"}
        for name, change in comparison.items():
            row = summary[name]
            assert row["change_vs_base"] == change
            assert row["change_vs_base_pct"] == pytest.approx(
                change / summary["base"]["total_cost"], abs=1e-6)
    summary = {r["scenario"]: r for r in read_plan_sheet(plan_path, "Summary")}
    assert summary["no CN"]["change_vs_base"] == pytest.approx(39800)   # 41,800 - 2,000
    assert summary["no CN"]["change_vs_base_pct"] == pytest.approx(19.9)


def test_summary_money_in_millions_when_amounts_reach_one(example_plan):
    wb = openpyxl.load_workbook(example_plan)
    ws = wb["Summary"]
    money = ["total_cost", "change_vs_base", *COST_PARTS]
    for column in money:
        cells = column_cells(ws, column)
        assert cells and all(c.data_type == "n" for c in cells), column
        assert all(",, " in c.number_format and '"m USD"' in c.number_format
                   for c in cells), (column, cells[0].number_format)
    assert column_cells(ws, "total_cost")[0].number_format == '#,##0.0,, "m USD"'
    assert column_cells(ws, "change_vs_base")[0].number_format == \
        '+#,##0.0,, "m USD";-#,##0.0,, "m USD";#,##0.0,, "m USD"'
    # the cells hold the full amounts
    base = column_cells(ws, "total_cost")[0].value
    assert base > 1e9 and base == read_plan_sheet(example_plan, "Summary")[0]["total_cost"]
    assert "Money in millions" in ws.cell(2, 1).value
    assert column_cells(ws, "unmet_t")[0].number_format == "#,##0.0"
    # Flows keep whole units
    assert column_cells(wb["Flows"], "purchase_cost")[0].number_format == '#,##0 "USD"'
    wb.close()


def _supplier_tonnes_from_flows(path) -> dict:
    totals: dict = {}
    for f in read_plan_sheet(path, "Flows"):
        if f["from_kind"] == "supplier":
            key = (f["scenario"], f["material"], f["from"])
            totals[key] = totals.get(key, 0.0) + f["quantity_t"]
    return totals


def _sourcing(path) -> tuple[list[str], list[dict]]:
    """The Sourcing cross table as read from the file: its scenario columns and rows."""
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = list(wb["Sourcing"].iter_rows(values_only=True))
    wb.close()
    h = next(i for i, r in enumerate(rows) if "material" in r)
    header = [v for v in rows[h] if v is not None]
    data = []
    for r in rows[h + 1:]:
        if all(v is None for v in r):
            break
        data.append(dict(zip(header, r)))
    return header[len(PLAN_COLUMNS["Sourcing"]):], data


def test_sourcing_totals_are_the_flows_per_supplier(plan_path, example_plan):
    for path in (plan_path, example_plan):
        scenarios, rows = _sourcing(path)
        assert scenarios == [r["scenario"] for r in read_plan_sheet(path, "Summary")]
        flows = _supplier_tonnes_from_flows(path)
        horizon = {(s, r["material"], r["id"]): r[s] for r in rows for s in scenarios
                   if r["period"] == "all" and r["kind"] == "supplier" and r[s]}
        assert horizon.keys() == flows.keys()
        for key, tonnes in flows.items():
            assert horizon[key] == pytest.approx(tonnes, abs=1e-5), key
        # each period's rows add up to the horizon's
        for r in rows:
            if r["period"] == "all":
                parts = [p for p in rows if p["period"] != "all" and all(
                    p[k] == r[k] for k in ("material", "kind", "id"))]
                for s in scenarios:
                    assert sum(p[s] for p in parts) == pytest.approx(r[s], abs=1e-5)
        # the horizon first, then per period; within a material, the most tonnes first
        periods = [r["period"] for r in rows]
        assert periods[:periods.count("all")] == ["all"] * periods.count("all")
        first = [r for r in rows if r["period"] == "all"]
        for material in {r["material"] for r in first}:
            tonnes = [r[scenarios[0]] for r in first if r["material"] == material]
            assert tonnes == sorted(tonnes, reverse=True), material
    # the small case by hand: base 40 t a period from each mine; no CN 60 t a period, AU
    scenarios, rows = _sourcing(plan_path)
    horizon = {(r["kind"], r["id"]): (r["base"], r["no CN"]) for r in rows
               if r["period"] == "all"}
    assert horizon == {("supplier", "au-mine"): (80, 120), ("supplier", "cn-mine"): (80, 0)}


def test_sourcing_chart_draws_the_suppliers_tonnes(book, plan_path):
    (chart,) = charts_by_sheet(plan_path)["Sourcing"]
    assert (chart["dir"], chart["grouping"]) == ("bar", "clustered")
    assert [resolve(book, s["title_ref"])[0] for s in chart["series"]] == ["base", "no CN"]
    labels = resolve(book, chart["series"][0]["cat_ref"])
    assert labels == ["au-mine (ore)", "cn-mine (ore)"]
    assert [resolve(book, s["val_ref"]) for s in chart["series"]] == [[80, 80], [120, 0]]


def test_big_items_first(plan_path):
    flows = read_plan_sheet(plan_path, "Flows")
    assert [f["scenario"] for f in flows] == sorted(
        (f["scenario"] for f in flows), key=["base", "no CN"].index)
    util = read_plan_sheet(plan_path, "Utilization")
    for scenario in ("base", "no CN"):
        for period in ("P1", "P2"):
            values = [u["utilization"] for u in util if u["scenario"] == scenario
                      and u["period"] == period and u["utilization"] is not None]
            assert values == sorted(values, reverse=True)


def test_charts_point_at_the_right_cells(book, plan_path):
    charts = charts_by_sheet(plan_path)
    # Cost by component, on Summary, straight from the KPI table
    (cost,) = charts["Summary"]
    assert (cost["kind"], cost["dir"], cost["grouping"]) == ("barChart", "bar", "stacked")
    assert cost["title"] == "Cost by component per scenario (EUR)"
    assert "1" not in cost["axes_deleted"]  # no axis hidden
    ws = book["Summary"]
    h = header_row(ws)
    assert [resolve(book, s["title_ref"])[0] for s in cost["series"]] == COST_PARTS
    for s in cost["series"]:
        assert s["cat_ref"].replace("'", "") == f"Summary!$A${h + 1}:$A${h + 2}"
        assert resolve(book, s["cat_ref"]) == ["base", "no CN"]
    purchase = resolve(book, cost["series"][0]["val_ref"])
    assert purchase == pytest.approx([1200, 1200])
    # Sourcing mix per scenario and utilisation, on Charts, fed by the tables of Chart data
    mix = [c for c in charts["Charts"] if c["title"].startswith("Sourcing mix")]
    assert [c["title"] for c in mix] == ["Sourcing mix by country, base",
                                         "Sourcing mix by country, no CN"]
    base = mix[0]
    assert (base["dir"], base["grouping"]) == ("bar", "percentStacked")
    countries = [resolve(book, s["title_ref"])[0] for s in base["series"]]
    assert set(countries) == {"AU", "CN"}
    labels = resolve(book, base["series"][0]["cat_ref"])
    assert labels == ["ore / supply", "ore / delivery"]
    shares = [resolve(book, s["val_ref"]) for s in base["series"]]
    for row in zip(*shares):
        assert sum(v or 0 for v in row) == pytest.approx(1.0)
        assert [v for v in row] == pytest.approx([0.5, 0.5])
    (util,) = [c for c in charts["Charts"] if c["title"].startswith("Utilisation")]
    assert (util["dir"], util["grouping"]) == ("bar", "clustered")
    assert [resolve(book, s["title_ref"])[0] for s in util["series"]] == ["base", "no CN"]
    assert set(resolve(book, util["series"][0]["cat_ref"])) == {"au-mine (ore)",
                                                                 "cn-mine (ore)"}
    peaks = dict(zip(resolve(book, util["series"][1]["cat_ref"]),
                     resolve(book, util["series"][1]["val_ref"])))
    assert peaks["au-mine (ore)"] == pytest.approx(1.0)  # no CN: AU sells its 60 t


def test_conditional_formats_for_full_capacity_and_binding_rules(book):
    ws = book["Utilization"]
    h = header_row(ws)
    n = len(column_cells(ws, "scenario"))
    ranges = {str(cf.sqref): cf.rules for cf in ws.conditional_formatting}
    letter = [c.value for c in ws[h]].index("utilization") + 1
    col = openpyxl.utils.get_column_letter(letter)
    rules = ranges[f"{col}{h + 1}:{col}{h + n}"]
    assert [(r.type, r.operator, r.formula) for r in rules] == [
        ("cellIs", "greaterThanOrEqual", ["0.999"]), ("cellIs", "between", ["0.9", "0.999"])]
    ws = book["Limits"]
    h = header_row(ws)
    (rule,) = [r for cf in ws.conditional_formatting for r in cf.rules]
    binds = openpyxl.utils.get_column_letter([c.value for c in ws[h]].index("binds") + 1)
    assert rule.type == "expression" and rule.formula == [f'${binds}{h + 1}="yes"']
    # binds is written as the words the rule tests: base's cap binds in both periods
    assert sorted((c.value, c.data_type) for c in column_cells(ws, "binds")) == [
        ("no", "s"), ("no", "s"), ("yes", "s"), ("yes", "s")]


def _sheets(**frames):
    notes = {"Summary": "One row per scenario. Money in USD, quantities in t."}
    return {name: (notes.get(name, f"The {name} sheet."), frame)
            for name, frame in frames.items()}


@pytest.fixture(scope="module")
def example_plan(tmp_path_factory):
    out = tmp_path_factory.mktemp("example") / "example-plan.xlsx"
    result = CliRunner().invoke(main, ["run", str(ROOT / "inputs" / "example.xlsx"), "-o",
                                       str(out), "--jobs", "1", "--quiet"])
    assert result.exit_code == 0, result.output
    return out


def test_every_sheet_of_the_example_plan_has_its_columns_in_order(example_plan):
    wb = openpyxl.load_workbook(example_plan, read_only=True)
    try:
        # every scenario is optimal: nothing to diagnose, so Diagnosis comes last
        assert wb.sheetnames == ["Summary", "Sourcing", "Charts",
                                 *[n for n in list(PLAN_COLUMNS)[2:] if n != "Diagnosis"],
                                 "Chart data", "Diagnosis"]
        scenarios = [r["scenario"] for r in read_plan_sheet(example_plan, "Summary")]
        for name, columns in PLAN_COLUMNS.items():
            rows = wb[name].iter_rows(values_only=True)
            header = next(row for row in rows if columns[0] in row)
            if name == "Sourcing":
                columns = columns + scenarios
            assert [v for v in header if v is not None] == columns, name
    finally:
        wb.close()


def test_flags_read_as_yes_and_no_and_units_follow_the_row(tmp_path):
    """The tables hold typed values (binds is True/False); the plan shows the words, and
    where a column's unit depends on the row, so does its format."""
    limits = pd.DataFrame([
        {"scenario": "base", "rule": "cap", "type": "limit", "volume_t": 40.0, "bound": 0.5,
         "binds": True, "shadow_price": -5.0},
        {"scenario": "base", "rule": "licence", "type": "quota", "volume_t": 10.0,
         "bound": 60.0, "binds": False, "shadow_price": 0.0}])
    comparison = pd.DataFrame([
        {"scenario": "s", "section": "cost", "item": "total_cost", "base_value": 10.0,
         "value": 12.0, "change": 2.0},
        {"scenario": "s", "section": "top share", "item": "ore / supply", "base_value": 0.5,
         "value": 1.0, "change": 0.5},
        {"scenario": "s", "section": "unmet", "item": "unmet_t", "base_value": 0.0,
         "value": 40.0, "change": 40.0},
        {"scenario": "s", "section": "flow", "item": "P1 ore: a -> b", "base_value": 40.0,
         "value": 0.0, "change": -40.0}])
    diagnosis = pd.DataFrame([
        {"scenario": "s", "status": "infeasible", "kind": "relaxation", "current": 100.0,
         "needed": 60.0, "change": -40.0, "unit": "t", "explanation": "x"},
        {"scenario": "s", "status": "infeasible", "kind": "relaxation", "current": 0.65,
         "needed": 1.0, "change": 0.35, "unit": "share", "explanation": "y"}])
    out = tmp_path / "p.xlsx"
    write_plan(out, _sheets(Limits=limits, Comparison=comparison, Diagnosis=diagnosis), "EUR")
    wb = openpyxl.load_workbook(out)
    binds = column_cells(wb["Limits"], "binds")
    assert [(c.value, c.data_type) for c in binds] == [("yes", "s"), ("no", "s")]
    assert [c.number_format for c in column_cells(wb["Limits"], "bound")] == ["0.0%",
                                                                              "#,##0.0"]
    for column in ("base_value", "value", "change"):
        assert [c.number_format for c in column_cells(wb["Comparison"], column)] == [
            '#,##0 "EUR"', "0.0%", "#,##0.0", "#,##0.0"], column
    for column in ("current", "needed", "change"):
        assert [c.number_format for c in column_cells(wb["Diagnosis"], column)] == [
            "#,##0.0", "0.0%"], column
    assert [r["binds"] for r in read_plan_sheet(out, "Limits")] == ["yes", "no"]


def test_money_is_labelled_in_the_currency_given_not_read_from_the_notes(tmp_path):
    summary = pd.DataFrame([{"scenario": "base", "status": "optimal", "total_cost": 10.0,
                             "purchase_cost": 10.0, "processing_cost": 0.0,
                             "freight_cost": 0.0, "stockpile_cost": 0.0, "unmet_cost": 0.0,
                             "unmet_t": 0.0}])
    flows = pd.DataFrame([{"scenario": "base", "period": "P1", "material": "ore",
                           "quantity_t": 1.0, "freight_cost": 2.0, "unit_cost": 10.0}])
    out = tmp_path / "p.xlsx"
    # the notes say USD (or nothing): the currency argument alone labels the money
    write_plan(out, _sheets(Summary=summary, Flows=flows), "EUR")
    wb = openpyxl.load_workbook(out)
    assert column_cells(wb["Summary"], "total_cost")[0].number_format == '#,##0 "EUR"'
    assert column_cells(wb["Flows"], "freight_cost")[0].number_format == '#,##0 "EUR"'
    assert column_cells(wb["Flows"], "unit_cost")[0].number_format == '#,##0.00 "EUR"'
    assert below_the_table(wb["Summary"])["base"][0] == "optimal, 10 EUR; all demand met"


def test_formula_like_text_is_text_everywhere_and_nan_inf_are_never_silent(tmp_path):
    summary = pd.DataFrame([{"scenario": "=1+1", "status": "optimal", "total_cost": 10.0,
                             "purchase_cost": 10.0, "processing_cost": 0.0,
                             "freight_cost": 0.0, "stockpile_cost": 0.0, "unmet_cost": 0.0,
                             "unmet_t": 0.0}])
    limits = pd.DataFrame([{"scenario": "=1+1", "rule": "=HYPERLINK(\"http://x\")",
                            "type": "quota", "binds": True, "shadow_price": -3.0,
                            "volume_t": 5.0, "bound": 5.0}])
    flows = pd.DataFrame([{"scenario": "=1+1", "period": "@P1", "material": "-ore",
                           "from": "#N/A", "quantity_t": float("nan"),
                           "freight_cost": float("inf")}])
    out = tmp_path / "p.xlsx"
    write_plan(out, _sheets(Summary=summary, Limits=limits, Flows=flows), "USD")
    wb = openpyxl.load_workbook(out)
    for ws in wb:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str) and cell.value[:1] in "=+-@":
                    assert cell.quotePrefix, (ws.title, cell.coordinate)
    ws = wb["Summary"]
    assert [c.quotePrefix for c in ws["A"] if c.value == "=1+1"] == [True, True]  # KPI, lines
    row = read_plan_sheet(out, "Flows")[0]
    assert row["quantity_t"] is None and row["freight_cost"] == "unlimited"
    # text that reads like an Excel error code is text too, not an error cell
    assert [c.data_type for r in wb["Flows"].iter_rows() for c in r if c.value == "#N/A"] \
        == ["s"]
    assert oct(os.stat(out).st_mode & 0o777) == "0o644"
    assert [p.name for p in tmp_path.iterdir()] == ["p.xlsx"]


def test_empty_tables_keep_their_header_and_filter(tmp_path):
    out = tmp_path / "p.xlsx"
    write_plan(out, _sheets(Summary=pd.DataFrame(columns=SUMMARY_COLUMNS),
                            Unmet=pd.DataFrame(columns=PLAN_COLUMNS["Unmet"])), "USD")
    wb = openpyxl.load_workbook(out)
    ws = wb["Unmet"]
    h = header_row(ws)
    assert ws.auto_filter.ref == f"A{h}:J{h}" and ws.freeze_panes == f"A{h + 1}"
    assert read_plan_sheet(out, "Unmet") == []
    assert wb.sheetnames == ["Summary", "Unmet"]  # no charts without data


def test_plan_renders_in_libreoffice_with_a_page_for_every_sheet(book, plan_path, tmp_path):
    pdf = to_pdf(plan_path, tmp_path)
    pages = pdf_pages(pdf)
    assert len(pages) >= len(book.sheetnames)
    found = []
    for name in book.sheetnames:
        ws = book[name]
        marker = " ".join(str(ws.cell(1, 1).value).split()[:6])
        page = first_page_with(pages, marker)
        assert page is not None, (name, marker)
        found.append(page)
    assert found == sorted(found)  # one sheet after the other
    # the charts are drawn: their titles and axis labels are on the pages
    charts = pages[found[2]:found[3]]
    assert any("Sourcing mix by country, base" in p for p in charts)
    assert any("Utilisation of the most loaded suppliers and sites" in p for p in charts)
    assert "Cost by component per scenario (EUR)" in pages[found[0]]


def test_a_scenario_without_a_plan_is_said_so_first_and_nothing_breaks(tmp_path):
    summary = pd.DataFrame([
        {"scenario": "base", "status": "optimal", "total_cost": 100.0, "purchase_cost": 100.0,
         "processing_cost": 0.0, "freight_cost": 0.0, "stockpile_cost": 0.0,
         "unmet_cost": 0.0, "unmet_t": 0.0, "change_vs_base": 0.0, "change_vs_base_pct": 0.0},
        {"scenario": "embargo", "status": "infeasible", "total_cost": None}],
        columns=SUMMARY_COLUMNS)
    info = pd.DataFrame([{"scenario": "base", "status": "optimal", "message": "optimal"},
                         {"scenario": "embargo", "status": "infeasible",
                          "message": "no plan meets every rule and demand"}])
    diagnosis = pd.DataFrame([{"scenario": "embargo", "status": "infeasible",
                               "kind": "relaxation", "current": 0.65, "needed": 1.0,
                               "change": 0.35, "unit": "share", "explanation": "x"}])
    out = tmp_path / "p.xlsx"
    write_plan(out, _sheets(Summary=summary, Diagnosis=diagnosis,
                            Mix=pd.DataFrame(columns=PLAN_COLUMNS["Mix"]),
                            Limits=pd.DataFrame(columns=PLAN_COLUMNS["Limits"]),
                            **{"Run info": info}), "USD")
    wb = openpyxl.load_workbook(out)
    lines = below_the_table(wb["Summary"])
    # the message (from Run info) goes into the scenario's lines
    assert lines["embargo"] == ["infeasible: no plan meets every rule and demand; see "
                                "Diagnosis"]
    assert lines["base"] == ["optimal, 100 USD; all demand met",
                             "no rule binds: the rules cost nothing"]
    assert [c.number_format for c in column_cells(wb["Diagnosis"], "needed")] == ["0.0%"]
    assert [s for s in wb.sheetnames] == ["Summary", "Diagnosis", "Mix", "Limits", "Run info"]
    (chart,) = charts_by_sheet(out)["Summary"]  # the cost chart, with a blank bar
    assert resolve(wb, chart["series"][0]["cat_ref"]) == ["base", "embargo"]


def test_number_formats_are_numbered_in_row_order(tmp_path):
    """The writer makes a table's cells a column at a time; the formats still get their ids
    in the order of their first number row by row, so that the file does not depend on it."""
    import zipfile

    flows = pd.DataFrame([{"scenario": "base", "quantity_t": None, "freight_cost": 2.0},
                          {"scenario": "base", "quantity_t": 1.0, "freight_cost": 3.0}])
    out = tmp_path / "p.xlsx"
    write_plan(out, {"Flows": ("Flows.", flows)}, "EUR")
    with zipfile.ZipFile(out) as z:
        styles = z.read("xl/styles.xml").decode()
    money, tonnes = styles.find('formatCode="#,##0 &quot;EUR&quot;"'), \
        styles.find('formatCode="#,##0.0"')
    assert 0 < money < tonnes, styles[:400]


def test_the_declarations_hold_together():
    from planner import excel, schema, sheets

    assert sheets.STAGES + schema.ORIGIN_STAGES == \
        schema.SHEETS["Limits"].column("stage").choices
    for sheet in [*sheets.PLAN_SHEETS.values(), *sheets.FRONTIER_SHEETS.values()]:
        # a table has its scenario column first, a cross table a column per scenario
        assert (sheet.names[0] == "scenario") != bool(sheet.per_scenario), sheet.name
        assert len(set(sheet.names)) == len(sheet.names)
        for column in sheet.columns:
            kind = column.kind
            kinds = [k for _, k in kind.kinds] + [kind.otherwise] \
                if isinstance(kind, sheets.PerRow) else [kind]
            assert set(kinds) <= set(sheets.KINDS), (sheet.name, column.name)
            if isinstance(kind, sheets.PerRow):
                assert sheet.column(kind.by) is not None, (sheet.name, column.name)
        for key in [*sheet.order, *sheet.highlights]:
            assert sheet.column(key.column) is not None, (sheet.name, key)
        assert all(h.look in excel.LOOKS for h in sheet.highlights), sheet.name
    assert sheets.declared("Flows 2") is sheets.FLOWS and sheets.declared("Charts") is None


def test_sheets_with_nothing_to_report_go_last_with_their_header_and_why(tmp_path):
    """Base alone, optimal and met: nothing to compare, diagnose or leave unmet. Those
    sheets keep their header (tools read them) and move to the end, each saying why; the
    Summary says so in one line."""
    sheets = {k: v for k, v in SHEETS.items() if k != "Scenarios"}
    inp = make_workbook(tmp_path / "case.xlsx", sheets)
    out = tmp_path / "plan.xlsx"
    result = CliRunner().invoke(main, ["run", str(inp), "-o", str(out), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(out)
    idle = ["Comparison", "Diagnosis", "Unmet"]
    assert wb.sheetnames[-3:] == idle
    assert wb.sheetnames[:3] == ["Summary", "Sourcing", "Charts"]
    why = {"Comparison": "only base was planned, so there is no scenario to compare",
           "Diagnosis": "every scenario has an optimal plan",
           "Unmet": "every plan meets all demand"}
    for name in idle:
        ws = wb[name]
        assert ws.cell(1, 1).value.startswith(f"Nothing to report: {why[name]}."), name
        h = header_row(ws)
        assert [c.value for c in ws[h] if c.value is not None] == PLAN_COLUMNS[name]
        assert read_plan_sheet(out, name) == []
        assert ws.freeze_panes == f"A{h + 1}" and ws.auto_filter.ref.startswith(f"A{h}:")
    said = [k for k in below_the_table(wb["Summary"]) if str(k).startswith("Nothing")]
    assert said == ["Nothing to report on Comparison (only base was planned, so there is no "
                    "scenario to compare), Diagnosis (every scenario has an optimal plan) and "
                    "Unmet (every plan meets all demand): their sheets are at the end of the "
                    "workbook."]
    # the api's tables keep the plan's order and say the same
    from planner import api

    tables = api.plan(api.read(inp))
    assert tables.notes["Diagnosis"].startswith("Nothing to report: every scenario")
    assert list(tables) == ["Summary", "Sourcing", "Flows", "Comparison", "Mix", "Limits",
                            "Diagnosis", "Unmet", "Utilization", "Run info"]


def test_example_plan_prints_in_few_pages_with_the_kpi_table_on_page_one(example_plan,
                                                                          tmp_path):
    """Rendered by LibreOffice as a person would print it: long tables print their first
    rows on two pages each, and the Summary (title, KPI table, lines, shares and the cost
    chart) is one landscape page."""
    pages = pdf_pages(to_pdf(example_plan, tmp_path))
    assert len(pages) <= 30, len(pages)
    first = pages[0]
    assert "Sourcing plan for example.xlsx" in first
    assert "scenario status total_cost change_vs_base change_vs_base_pct" in first
    assert "2,745.4 m USD" in first                        # base's total cost, in millions
    assert "Cost by component per scenario (m USD)" in first
    assert "Largest country share in base" in first
    assert first_page_with(pages, "Tonnes of each material sold by each supplier") == 1
    wb = openpyxl.load_workbook(example_plan)
    flows = wb["Flows"]
    assert flows.print_area and flows.page_setup.fitToHeight == 2
    assert "Printing shows the first" in flows.cell(1, 1).value
    summary = wb["Summary"]  # fit to one page tall: 1 is the default, which may go unsaid
    assert summary.sheet_properties.pageSetUpPr.fitToPage
    assert summary.page_setup.fitToHeight in (None, 1)
    wb.close()


def test_summary_sentences_never_round_a_real_amount_or_share_into_a_false_one():
    """Found on the meeting page: a 20,000 USD fall shown as "+0.0 m USD (-0.0%)", 0.04 t
    unmet as "0.0 t", 99.6% as "100%" (a sole source), 85.5% -> 86.5% as "86% -> 86%".
    Amounts too small for millions are in whole units; shares get the decimals that tell
    them apart; nothing nonzero reads as zero."""
    from planner.headlines import change, money, percents, tonnes

    assert change(-20_000, "USD", millions=True) == "-20,000 USD"
    assert change(20_000, "USD", millions=True) == "+20,000 USD"
    assert change(0.0, "USD", millions=True) == "+0.0 m USD"
    assert money(2_745_372_449.76, "USD", millions=True) == "2,745.4 m USD"
    assert tonnes(0.04) == "0.04 t" and tonnes(62_893.2) == "62,893 t"
    assert percents(0.996) == ["99.6%"] and percents(1.0) == ["100%"]
    assert percents(0.004) == ["0.4%"] and percents(0.5, 0.6) == ["50%", "60%"]
    assert percents(0.855, 0.865) == ["85.5%", "86.5%"]


def test_the_share_that_moved_most_is_a_real_move_not_a_tie_tipping_over():
    """Base: ore is AU 50.4% / CN 49.6%, ore2 CN 60%. The scenario: ore CN 50.4% (a near
    tie tipped over: CN rose 0.8 points) and ore2 CN 95% (35 points). The line names ore2
    (a change of largest country counted as about 100 points, so the tie won)."""
    from planner.headlines import _shares_against_base

    top = {("ore", "supply"): ("CN", 0.504), ("ore2", "supply"): ("CN", 0.95)}
    before = {("ore", "supply"): ("AU", 0.504), ("ore2", "supply"): ("CN", 0.60)}
    base_shares = {("ore", "supply", "AU"): 0.504, ("ore", "supply", "CN"): 0.496,
                   ("ore2", "supply", "CN"): 0.60}
    assert _shares_against_base(top, before, base_shares) == \
        "ore2 supply CN 60% \u2192 CN 95%, +1 more"
