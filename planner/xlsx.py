"""Look inside an .xlsx container before and beside openpyxl.

- `check_container`: refuse what is not a plain .xlsx (old .xls, password-protected files,
  CSV, anything else) with one clear sentence, and refuse zip bombs by decompressing in
  1 MB chunks up to configurable limits before any XML is parsed (PITFALLS #2).
- `sheet_facts`: one streaming pass over each worksheet's XML (defusedxml, so entity
  tricks are refused) for what openpyxl's fast reader does not tell: formulas without a
  cached value (PITFALLS #3), merged ranges, hidden rows; and hidden sheets.
"""
from __future__ import annotations

import os
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from defusedxml import ElementTree

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


class ContainerError(Exception):
    """The file is not a readable .xlsx; the message says what to do."""


@dataclass(frozen=True)
class Limits:
    """Ceilings for what a workbook may unpack to; override with environment variables."""

    file_mb: float = float(os.environ.get("PLANNER_MAX_FILE_MB", 200))
    unzipped_mb: float = float(os.environ.get("PLANNER_MAX_UNZIPPED_MB", 2000))
    ratio: float = float(os.environ.get("PLANNER_MAX_ZIP_RATIO", 200))


def check_container(path: Path, limits: Limits = Limits()) -> None:
    size = path.stat().st_size
    if size > limits.file_mb * 1e6:
        raise ContainerError(f"{path.name} is {size / 1e6:.0f} MB, above the {limits.file_mb:g} "
                             f"MB limit (set PLANNER_MAX_FILE_MB to raise it)")
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ContainerError(f"{path.name} is password-protected or an old .xls (Excel 97-2003) "
                             f"file; remove the password / save it as Excel Workbook (.xlsx)")
    if not head.startswith(b"PK"):
        kind = "a CSV file" if path.suffix.lower() in (".csv", ".txt") else "not an Excel file"
        raise ContainerError(f"{path.name} is {kind}; open it in Excel or LibreOffice and save "
                             f"it as Excel Workbook (.xlsx)")
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if "xl/workbook.xml" not in names:
                raise ContainerError(f"{path.name} is a zip file but not an Excel workbook "
                                     f"(no xl/workbook.xml); save it as .xlsx from Excel")
            budget = limits.unzipped_mb * 1e6
            for info in zf.infolist():
                declared = info.file_size
                if declared > budget:
                    raise ContainerError(_bomb(path, limits))
                # Declared sizes can lie: count what really comes out, 1 MB at a time.
                out = 0
                with zf.open(info) as member:
                    while chunk := member.read(1 << 20):
                        out += len(chunk)
                        if out > budget or out > limits.ratio * max(info.compress_size, 1) \
                                + (1 << 20):
                            raise ContainerError(_bomb(path, limits))
                budget -= out
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as exc:
        raise ContainerError(f"{path.name} is damaged ({type(exc).__name__}: {exc}); open it in "
                             f"Excel to repair it and save it again") from exc
    except NotImplementedError as exc:  # unsupported compression or encryption
        raise ContainerError(f"{path.name} uses a zip feature that is not supported ({exc}); "
                             f"save it again from Excel as .xlsx") from exc


def _bomb(path: Path, limits: Limits) -> str:
    return (f"{path.name} unpacks to more than the limits allow ({limits.unzipped_mb:g} MB, "
            f"ratio {limits.ratio:g}); it may be a zip bomb. If it is a genuine workbook, raise "
            f"PLANNER_MAX_UNZIPPED_MB / PLANNER_MAX_ZIP_RATIO")


@dataclass
class SheetFacts:
    hidden: bool = False
    hidden_rows: list[int] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)                 # "A2:B3"
    formulas_without_value: list[str] = field(default_factory=list)  # "C7"


_CELL = re.compile(r"([A-Z]+)(\d+)")


def sheet_facts(path: Path) -> dict[str, SheetFacts]:
    """Facts per sheet title. Raises ContainerError for XML that cannot be read safely."""
    try:
        with zipfile.ZipFile(path) as zf:
            book = ElementTree.fromstring(zf.read("xl/workbook.xml"))
            rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
            target = {r.get("Id"): r.get("Target") for r in rels.iter(f"{_PKG_REL}Relationship")}
            facts = {}
            for sheet in book.iter(f"{_MAIN}sheet"):
                part = target.get(sheet.get(f"{_REL}id"), "")
                part = part.lstrip("/") if part.startswith("/") else posixpath.normpath(
                    posixpath.join("xl", part))
                fact = SheetFacts(hidden=sheet.get("state", "visible") != "visible")
                if part in zf.namelist():
                    with zf.open(part) as fh:
                        _scan(fh, fact)
                facts[sheet.get("name")] = fact
            return facts
    except ContainerError:
        raise
    except Exception as exc:  # defusedxml's EntitiesForbidden, ParseError, KeyError, ...
        raise ContainerError(f"{path.name} has XML that cannot be read safely "
                             f"({type(exc).__name__}); save it again from Excel as .xlsx") \
            from exc


def _scan(fh, fact: SheetFacts) -> None:
    for _, elem in ElementTree.iterparse(fh, events=("end",)):
        tag = elem.tag
        if tag == f"{_MAIN}c":
            f, v = elem.find(f"{_MAIN}f"), elem.find(f"{_MAIN}v")
            # An empty <v/> is what libraries write when they cannot compute the formula.
            if f is not None and (v is None or (not v.text and elem.get("t") != "str")):
                fact.formulas_without_value.append(elem.get("r", "?"))
            elem.clear()
        elif tag == f"{_MAIN}row":
            if elem.get("hidden") in ("1", "true"):
                fact.hidden_rows.append(int(elem.get("r", 0)))
            elem.clear()
        elif tag == f"{_MAIN}mergeCell":
            fact.merged.append(elem.get("ref", ""))


def split_ref(ref: str) -> tuple[str, int]:
    """'C7' -> ('C', 7)."""
    m = _CELL.fullmatch(ref)
    return (m.group(1), int(m.group(2))) if m else (ref, 0)
