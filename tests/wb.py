"""Test helpers: write input workbooks from plain Python data and read plan sheets back,
or hand the same data to the library API as DataFrames and read its tables as rows.

Kept independent of the planner package on purpose: tests describe inputs and
read outputs the way a user (or an outside check) would, through the files or
through plain DataFrames.
"""
from __future__ import annotations

import math
from pathlib import Path

import openpyxl
import pandas as pd


def _header(rows: list[dict]) -> list[str]:
    """The union of the row keys in first-seen order."""
    header: list[str] = []
    for row in rows:
        for key in row:
            if key not in header:
                header.append(key)
    return header


def make_workbook(path: Path, sheets: dict[str, list[dict]]) -> Path:
    """Write one sheet per entry; the header is the union of the row keys in first-seen order."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        header = _header(rows)
        ws.append(header)
        for row in rows:
            ws.append([row.get(col) for col in header])
    wb.save(path)
    return Path(path)


def frames(sheets: dict[str, list[dict]]) -> dict[str, pd.DataFrame]:
    """The same sheets as `make_workbook` writes, as DataFrames for `api.plan`: one column per
    key (first-seen order), a missing key or None a blank cell."""
    out = {}
    for name, rows in sheets.items():
        header = _header(rows)
        out[name] = pd.DataFrame([[row.get(col) for col in header] for row in rows],
                                 columns=header)
    return out


def _cell(value):
    """A DataFrame cell as `read_plan_sheet` gives a file's: NaN (a blank) as None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def table_rows(frame: pd.DataFrame) -> list[dict]:
    """Rows of one of `api.plan`'s tables as dicts, blanks as None (as `read_plan_sheet`).
    Values keep their API types: numbers as floats, yes/no flags as booleans."""
    return [{col: _cell(v) for col, v in row.items()} for row in frame.to_dict("records")]


def read_plan_sheet(path: Path, sheet: str) -> list[dict]:
    """Rows of a plan sheet as dicts; the header is the first row with a `scenario` cell
    (docs/model.md)."""
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        rows = list(wb[sheet].iter_rows(values_only=True))
    finally:
        wb.close()
    for i, row in enumerate(rows):
        if "scenario" in row:
            header = [h for h in row]
            out = []
            for data in rows[i + 1:]:
                if all(v is None for v in data):
                    break
                out.append({h: v for h, v in zip(header, data) if h is not None})
            return out
    raise AssertionError(f"sheet {sheet} has no header row with a 'scenario' column")
