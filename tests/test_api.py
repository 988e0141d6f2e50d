"""The library API: DataFrames in, the plan's DataFrames out; the same plan as the command
line makes from the same workbook; problems located as in a sheet."""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from planner import api
from planner.cli import main

EXAMPLE = Path(__file__).resolve().parents[1] / "inputs" / "example.xlsx"

# 60 t from an AU mine at 10 + freight 5 to a JP plant, by hand: 900; a CN mine at 8 + 9
# freight is dearer (1,020).
TABLES = {
    "Suppliers": pd.DataFrame({"supplier": ["au-mine", "cn-mine"], "country": ["AU", "CN"],
                               "material": ["ore", "ore"], "capacity_t": [100.0, None],
                               "unit_cost": [10, 8]}),
    "Demand": pd.DataFrame({"customer": ["plant"], "country": ["JP"], "material": ["ore"],
                            "period": ["Q1"], "quantity_t": [60]}),
    "Freight": pd.DataFrame({"from_country": ["AU", "CN"], "to_country": ["JP", "JP"],
                             "cost_per_t": [5, 9]}),
    "Scenarios": pd.DataFrame({"scenario": ["short"], "sheet": ["Suppliers"],
                               "where": ["supplier=au-mine"], "column": ["capacity_t"],
                               "action": ["set"], "value": [20]}),
}


def test_plan_from_dataframes_matches_a_hand_solved_case():
    plan = api.plan(TABLES)
    summary = plan["Summary"].set_index("scenario")
    assert summary.loc["base", "status"] == "optimal"
    assert summary.loc["base", "total_cost"] == pytest.approx(900)
    # short: 20 t from AU (15/t) and 40 t from CN (17/t) = 300 + 680
    assert summary.loc["short", "total_cost"] == pytest.approx(980)
    flows = plan["Flows"]
    short = flows[flows["scenario"] == "short"].set_index("from")["quantity_t"]
    assert short.to_dict() == {"au-mine": 20, "cn-mine": 40}
    assert plan.all_optimal


def test_numbers_held_as_numpy_values_in_object_columns_are_numbers():
    """A DataFrame built row by row keeps numpy numbers in object columns (np.int64,
    np.float32): they plan as the hand-solved case (they were refused as "int64 data")."""
    import numpy as np

    tables = dict(TABLES)
    tables["Demand"] = TABLES["Demand"].astype(object).assign(
        quantity_t=pd.Series([np.int64(60)], dtype=object))
    tables["Suppliers"] = TABLES["Suppliers"].astype(object).assign(
        unit_cost=pd.Series([np.float32(10), np.int32(8)], dtype=object))
    summary = api.plan(tables, ["base"])["Summary"].set_index("scenario")
    assert summary.loc["base", "total_cost"] == pytest.approx(900)


def test_one_scenario_and_an_unknown_one():
    assert list(api.plan(TABLES, ["short"])["Summary"]["scenario"]) == ["short"]
    with pytest.raises(ValueError, match="no scenario named 'nope'"):
        api.plan(TABLES, ["nope"])


def test_problems_are_raised_with_their_cells():
    bad = dict(TABLES)
    bad["Suppliers"] = TABLES["Suppliers"].assign(capacity_t=["abc", None])
    bad["Demand"] = TABLES["Demand"].drop(columns=["quantity_t"])
    with pytest.raises(api.InputError) as caught:
        api.plan(bad)
    found = {(p.sheet, p.row, p.column) for p in caught.value.problems
             if p.severity == "error"}
    # the DataFrame's first row is row 2 of a sheet whose header is row 1
    assert ("Suppliers", 2, "capacity_t") in found
    assert ("Demand", 1, None) in found  # required column quantity_t missing, at the header


def _normalised(frame: pd.DataFrame) -> pd.DataFrame:
    """Values as a spreadsheet holds them: flags as yes/no, ±inf as words, blanks as None,
    numbers as floats rounded to the 6 decimals of the report; rows in a fixed order."""
    def cell(v):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return None
        if isinstance(v, bool):
            return "yes" if v else "no"
        if isinstance(v, (int, float)):
            if math.isinf(v):
                return "unlimited" if v > 0 else "-unlimited"
            return round(float(v), 6)
        return str(v)
    out = pd.DataFrame({c: [cell(v) for v in frame[c].astype(object)] for c in frame.columns})
    return out.sort_values(list(out.columns), key=lambda s: s.astype(str),
                           ignore_index=True)


def test_api_plan_equals_planner_run_on_the_same_workbook(tmp_path):
    out = tmp_path / "plan.xlsx"
    result = CliRunner().invoke(main, ["run", str(EXAMPLE), "-o", str(out), "--jobs", "1",
                                       "--quiet"])
    assert result.exit_code == 0, result.output
    plan = api.plan(api.read(EXAMPLE))
    import openpyxl

    book = openpyxl.load_workbook(out, read_only=True, data_only=True)
    compared = 0
    for name, frame in plan.items():
        if name == "Run info":  # seconds and a timestamp differ from run to run
            continue
        rows = list(book[name].iter_rows(values_only=True))
        # the header: the first row with the table's first column (`scenario`, or
        # `material` for the Sourcing cross table); the table ends at a blank row
        head = next(i for i, r in enumerate(rows) if frame.columns[0] in r)
        header = [h for h in rows[head] if h is not None]
        data = []
        for r in rows[head + 1:]:
            if all(v is None for v in r):
                break
            data.append(r[:len(header)])
        from_file = pd.DataFrame(data, columns=header)
        assert header == list(frame.columns), name
        pd.testing.assert_frame_equal(_normalised(frame), _normalised(from_file),
                                      check_dtype=False, obj=name)
        compared += 1
    book.close()
    assert compared >= 7


def test_write_makes_the_same_workbook_as_the_command_line(tmp_path):
    plan = api.plan(TABLES)
    api.write(plan, tmp_path / "plan.xlsx")
    import openpyxl

    book = openpyxl.load_workbook(tmp_path / "plan.xlsx", read_only=True)
    assert book.sheetnames[0] == "Summary" and "Flows" in book.sheetnames
    book.close()
