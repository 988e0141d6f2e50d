"""Build `inputs/example.xlsx` from the readable data in `inputs/example_data.py`.

Run from the repository root:

    python inputs/build_example.py          # or: make example

Needs only openpyxl. Every number in the data module is a figure `F` carrying its
provenance; the value goes to its sheet and the provenance to a `Sources` sheet
(one row per figure: the cell, the public source (publisher or outlet, title,
date, web address where known) and year, how sure the figure is, and whether the
value is published, rounded, derived or assumed). The planner skips `Sources`
without a word (a sheet for people, like Notes).

The output is deterministic: fixed sheet, column and row order, fixed document
properties and fixed timestamps inside the .xlsx (zip) container, so rebuilding
unchanged data gives a byte-identical file and a review diff shows only real
changes.
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

SOURCES_COLUMNS = ["sheet", "cell", "item", "column", "value", "basis", "source", "year",
                   "tag", "note"]
BASES = ("published", "rounded", "derived", "assumed")
NO_SOURCE = "assumed for the example (no public figure found)"
ANCHOR = "assumed, anchored on: "  # an assumed figure that cites what it was scaled from


# Columns whose figure is a name with a source (the group a rule follows), not a number.
TEXT_FIGURES = ("origin", "via")


def load_data(path: Path = DATA):
    """Import the data module by path (inputs/ is not a package)."""
    spec = importlib.util.spec_from_file_location("example_data", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses in the module look themselves up here
    spec.loader.exec_module(module)
    return module


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def plain(value):
    """The cell value of a data-module entry (a figure `F` or a plain value)."""
    return getattr(value, "value", value)


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
            for col, value in row.items():
                if is_number(value):
                    problems.append(f"{name} row {i} {col}: {value} is a bare number; write it "
                                    f"as a figure F(value, basis, ref, note)")
                elif isinstance(value, data.F):
                    if not is_number(value.value) and col not in TEXT_FIGURES:
                        problems.append(f"{name} row {i} {col}: figure value {value.value!r} "
                                        f"is not a number")
                    if value.basis not in BASES:
                        problems.append(f"{name} row {i} {col}: basis {value.basis!r} is not "
                                        f"one of {', '.join(BASES)}")
                    refs = [r for r in value.ref.split("+") if r]
                    missing = [r for r in refs if r not in data.REFS]
                    if missing:
                        problems.append(f"{name} row {i} {col}: unknown source(s) "
                                        f"{', '.join(missing)}")
                    if value.basis != "assumed" and not refs:
                        problems.append(f"{name} row {i} {col}: a {value.basis} figure needs "
                                        f"a source")
    for key, (_, _, tag) in data.REFS.items():
        if any(t not in data.CONFIDENCE for t in tag.split("/")):
            problems.append(f"REFS {key}: confidence {tag!r} is not C, S, D or U (or "
                            f"several, as C/D)")
    if problems:
        sys.exit("example_data.py:\n  " + "\n  ".join(problems))


def confidence(data, tag: str) -> str:
    """A source's confidence tag (C, S, D, U or several, as "C/D") in words."""
    return " / ".join(data.CONFIDENCE[t] for t in tag.split("/"))


def item_label(sheet: str, row: dict) -> str:
    """A readable name for the row a figure sits in (the Sources sheet's `item`)."""
    def get(*cols):
        return [str(plain(row[c])) for c in cols if row.get(c) is not None]

    def pair(a, b):
        return [f"{row[a]} -> {row[b]}"]

    parts = {
        "Suppliers": lambda: get("supplier", "material", "period"),
        "Sites": lambda: get("site"),
        "Processes": lambda: get("site", "process", "output_material"),
        "Freight": lambda: pair("from_country", "to_country") + get("material"),
        "Lanes": lambda: pair("from", "to") + get("material"),
        "Stockpiles": lambda: get("stockpile"),
        "Demand": lambda: get("customer", "material", "period"),
        "Limits": lambda: get("rule"),
        "Restrictions": lambda: get("rule"),
        "Scenarios": lambda: get("scenario", "sheet", "where"),
        "Risks": lambda: get("event"),
    }.get(sheet, list)()
    return " / ".join(parts)


def sources_rows(data) -> list[dict]:
    """One row per figure, in sheet, row and column order."""
    rows = []
    for name in data.SHEET_ORDER:
        columns = data.COLUMNS[name]
        for i, row in enumerate(data.SHEETS[name], start=2):
            for j, col in enumerate(columns, start=1):
                fig = row.get(col)
                if not isinstance(fig, data.F):
                    continue
                refs = [data.REFS[r] for r in fig.ref.split("+") if r]
                rows.append({
                    "sheet": name, "cell": f"{get_column_letter(j)}{i}",
                    "item": item_label(name, row), "column": col, "value": fig.value,
                    "basis": fig.basis,
                    "source": ((ANCHOR if fig.basis == "assumed" and refs else "")
                               + " | ".join(r[0] for r in refs)) or NO_SOURCE,
                    "year": " | ".join(r[1] for r in refs) or None,
                    "tag": " | ".join(confidence(data, r[2]) for r in refs) or None,
                    "note": fig.note or None,
                })
    return rows


def _write_sheet(wb: Workbook, name: str, columns: list[str], rows: list[dict],
                 max_width: int = 40) -> None:
    ws = wb.create_sheet(name)
    ws.append(columns)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append([plain(row.get(col)) for col in columns])
    ws.freeze_panes = "A2"
    for j, col in enumerate(columns, start=1):
        values = [col] + [plain(row.get(col)) for row in rows]
        width = max(len(f"{v:,}" if is_number(v) else str(v)) for v in values if v is not None)
        ws.column_dimensions[get_column_letter(j)].width = min(max(width + 2, 8), max_width)
        if any(is_number(v) and v >= 1000 for v in values[1:]):
            for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                if isinstance(cell.value, int) and not isinstance(cell.value, bool):
                    cell.number_format = "#,##0"  # thousands separators; value unchanged


def build(data) -> Workbook:
    wb = Workbook()
    wb.remove(wb.active)
    for name in data.SHEET_ORDER:
        _write_sheet(wb, name, data.COLUMNS[name], data.SHEETS[name])
    _write_sheet(wb, "Sources", SOURCES_COLUMNS, sources_rows(data), max_width=60)
    props = wb.properties
    props.creator = "inputs/build_example.py"
    props.lastModifiedBy = "inputs/build_example.py"
    props.title = "Example input: an Australia-Japan critical-minerals sourcing case, 2027"
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
    figures = len(sources_rows(data))
    print(f"wrote {output} ({len(data.SHEET_ORDER)} sheets + Sources, {rows} rows, "
          f"{figures} sourced figures)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
