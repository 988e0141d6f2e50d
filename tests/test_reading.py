"""SPEC §1 header, sheet-name, blank and percentage rules: every variant reads the same."""
from __future__ import annotations

import pytest

from planner.validate import load
from wb import make_workbook

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
    from planner.workbook import coerce

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
    from planner.workbook import coerce

    setting = schema.SHEETS["Settings"].column("setting")
    assert coerce("Unmet penalty", setting) == ("unmet_penalty", None)
    assert coerce(" TIME-LIMIT (s) ", setting) == ("time_limit_s", None)
    stage = schema.SHEETS["Limits"].column("stage")
    assert coerce("Processing", stage) == ("processing", None)
    assert coerce("mining", stage)[0] is None
