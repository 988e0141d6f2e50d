"""Test helpers: write input workbooks from plain Python data and read plan sheets back.

Kept independent of the planner package on purpose: tests describe inputs and
read outputs the way a user (or an outside check) would, through the files.
"""
from __future__ import annotations

from pathlib import Path

import openpyxl


def make_workbook(path: Path, sheets: dict[str, list[dict]]) -> Path:
    """Write one sheet per entry; the header is the union of the row keys in first-seen order."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        header: list[str] = []
        for row in rows:
            for key in row:
                if key not in header:
                    header.append(key)
        ws.append(header)
        for row in rows:
            ws.append([row.get(col) for col in header])
    wb.save(path)
    return Path(path)


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
