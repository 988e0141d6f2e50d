"""Build `inputs/example.xlsx` from the readable data in `inputs/example_data.py`.

Run from the repository root:

    python inputs/build_example.py          # or: make example

Needs only openpyxl. The output is deterministic: fixed sheet, column and row
order, fixed document properties and fixed timestamps inside the .xlsx (zip)
container, so rebuilding unchanged data gives a byte-identical file and a
review diff shows only real changes.
"""
from __future__ import annotations

import datetime as dt
import importlib.util
import io
import os
import sys
import tempfile
import zipfile
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

HERE = Path(__file__).resolve().parent
DATA = HERE / "example_data.py"
OUTPUT = HERE / "example.xlsx"

FIXED_TIME = dt.datetime(2026, 1, 1, 0, 0, 0)  # document properties and zip entry times


def load_data(path: Path = DATA):
    """Import the data module by path (inputs/ is not a package)."""
    spec = importlib.util.spec_from_file_location("example_data", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check(data) -> None:
    """Catch typos in the data module before they reach the workbook."""
    problems = []
    if sorted(data.SHEET_ORDER) != sorted(data.SHEETS) or sorted(data.COLUMNS) != sorted(data.SHEETS):
        problems.append("SHEET_ORDER, COLUMNS and SHEETS must name the same sheets")
    for name, rows in data.SHEETS.items():
        known = set(data.COLUMNS.get(name, ()))
        for i, row in enumerate(rows, start=1):
            unknown = sorted(set(row) - known)
            if unknown:
                problems.append(f"{name} row {i}: unknown column(s) {', '.join(unknown)}")
    if problems:
        sys.exit("example_data.py:\n  " + "\n  ".join(problems))


def build(data) -> Workbook:
    wb = Workbook()
    wb.remove(wb.active)
    for name in data.SHEET_ORDER:
        columns = data.COLUMNS[name]
        ws = wb.create_sheet(name)
        ws.append(columns)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in data.SHEETS[name]:
            ws.append([row.get(col) for col in columns])
        ws.freeze_panes = "A2"
        for j, col in enumerate(columns, start=1):
            values = [col] + [row.get(col) for row in data.SHEETS[name]]
            width = max(len(f"{v:,}" if isinstance(v, (int, float)) else str(v))
                        for v in values if v is not None)
            ws.column_dimensions[get_column_letter(j)].width = min(max(width + 2, 8), 40)
            if any(isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 1000
                   for v in values[1:]):
                for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                    if isinstance(cell.value, int) and not isinstance(cell.value, bool):
                        cell.number_format = "#,##0"  # thousands separators; value unchanged
    props = wb.properties
    props.creator = "inputs/build_example.py"
    props.lastModifiedBy = "inputs/build_example.py"
    props.title = "Example input: lithium and rare-earth supply to Japanese buyers"
    props.created = FIXED_TIME
    props.modified = FIXED_TIME
    return wb


def xlsx_bytes(wb: Workbook) -> bytes:
    """The workbook as bytes, with every zip entry stamped with FIXED_TIME.

    `Workbook.save` would stamp the `modified` property with the current time, so
    the package is written with openpyxl's ExcelWriter, which keeps the fixed
    properties set in `build`.
    """
    raw = io.BytesIO()
    ExcelWriter(wb, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, allowZip64=True)).save()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            dst.writestr(entry, src.read(info.filename))
    return out.getvalue()


def write_atomically(path: Path, content: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    output = Path(argv[0]) if argv else OUTPUT
    data = load_data()
    check(data)
    write_atomically(output, xlsx_bytes(build(data)))
    rows = sum(len(data.SHEETS[n]) for n in data.SHEET_ORDER)
    print(f"wrote {output} ({len(data.SHEET_ORDER)} sheets, {rows} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
