"""Look inside an .xlsx container before and beside openpyxl.

- `check_container`: refuse what is not a plain .xlsx (old .xls, password-protected files,
  CSV, anything else) with one clear sentence, and refuse zip bombs by decompressing in
  1 MB chunks up to configurable limits before any XML is parsed (a 490 KB file can
  inflate to 500 MB of XML, and the parsers would hold it all in memory).
- `sheet_facts`: one streaming pass over each worksheet's XML (defusedxml, so entity
  tricks are refused) for what openpyxl's fast reader does not tell: formulas without a
  cached value (value readers return them as blanks, silently, when a library rather
  than Excel saved the file), merged ranges, hidden rows; and hidden sheets. Also what the
  value reader hides: Excel error values (calamine reads `#N/A` as an empty cell), formulas
  whose cached values the workbook itself declares stale (`fullCalcOnLoad`, written by
  programs that do not calculate), formulas reading another workbook, and the Totals rows
  of Excel tables.
"""
from __future__ import annotations

import os
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from defusedxml import ElementTree

from .cells import column_letter

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
    errors: dict[str, str] = field(default_factory=dict)            # "C7" -> "#N/A"
    # Formulas with a cached value the workbook declares stale (fullCalcOnLoad): the value
    # is a placeholder (XlsxWriter writes 0) that no spreadsheet program ever computed.
    stale_formulas: list[str] = field(default_factory=list)         # "C7"
    external_formulas: list[str] = field(default_factory=list)      # "C7": reads a workbook
    # Totals rows of Excel tables: row -> (table name, first and last column number)
    totals_rows: dict[int, tuple[str, int, int]] = field(default_factory=dict)


_CELL = re.compile(r"([A-Z]+)(\d+)")
# A reference into another workbook as stored in the file: `[1]Sheet1!A1`, `'[1]My sheet'!A1`
# or `[1]!Name`, the number pointing at xl/externalLinks/externalLinkN.xml. The character
# before `[` rules out structured references such as `Table1[2020]` or `[[#This Row],[x]]`.
_EXTERNAL = re.compile(r"(?:^|[^\w\].\[])'?\[\d+\][^\[\]!]*!")


def sheet_facts(path: Path) -> dict[str, SheetFacts]:
    """Facts per sheet title. Raises ContainerError for XML that cannot be read safely."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            book = ElementTree.fromstring(zf.read("xl/workbook.xml"))
            rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
            target = {r.get("Id"): r.get("Target") for r in rels.iter(f"{_PKG_REL}Relationship")}
            calc = book.find(f"{_MAIN}calcPr")
            stale = calc is not None and calc.get("fullCalcOnLoad") in ("1", "true")
            scan = _Scan(stale, _external_names(book))
            facts = {}
            for sheet in book.iter(f"{_MAIN}sheet"):
                part = _resolve("xl/workbook.xml", target.get(sheet.get(f"{_REL}id"), ""))
                fact = SheetFacts(hidden=sheet.get("state", "visible") != "visible")
                if part in names:
                    if _worth_parsing(zf, part):
                        with zf.open(part) as fh:
                            scan.run(fh, fact)
                    _totals_rows(zf, names, part, fact)  # from the sheet's tables, not its XML
                facts[sheet.get("name")] = fact
            return facts
    except ContainerError:
        raise
    except Exception as exc:  # defusedxml's EntitiesForbidden, ParseError, KeyError, ...
        raise ContainerError(f"{path.name} has XML that cannot be read safely "
                             f"({type(exc).__name__}); save it again from Excel as .xlsx") \
            from exc


# What `_Scan` looks for, found by a plain search of the bytes: a formula or merge element
# (any namespace prefix), an error cell, a hidden row (or column); and what the parser
# refuses: a declaration (<!DOCTYPE, <!ENTITY) or a reference to an entity XML does not
# predefine. A sheet without any of them has no facts to find, and a search is some 50x
# quicker than parsing its XML; a false alarm only costs the parse.
_MARKERS = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:f|mergeCell)[\s/>]"
                      rb"|\st\s*=\s*[\"']e[\"']|\shidden\s*=|<!"
                      rb"|&(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9A-Fa-f]+);)")
_CHUNK = 1 << 20


def _worth_parsing(zf: zipfile.ZipFile, part: str) -> bool:
    """Whether the worksheet `part` holds any of `_MARKERS`, searched 1 MB at a time (with
    an overlap, for a marker across two chunks)."""
    tail = b""
    with zf.open(part) as fh:
        while chunk := fh.read(_CHUNK):
            if _MARKERS.search(tail + chunk):
                return True
            tail = chunk[-64:]
    return False


def _resolve(source: str, target: str) -> str:
    """The zip member a relationship of part `source` points at."""
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


def _external_names(book) -> re.Pattern | None:
    """Defined names that refer to another workbook, as a pattern to find them in formulas."""
    found = [d.get("name", "") for d in book.iter(f"{_MAIN}definedName")
             if d.text and _EXTERNAL.search(d.text)]
    if not found:
        return None
    alternatives = "|".join(re.escape(n) for n in sorted(found, key=len, reverse=True) if n)
    return re.compile(rf"(?<![\w.\\])(?:{alternatives})(?![\w.(])", re.IGNORECASE)


def _totals_rows(zf: zipfile.ZipFile, names: set[str], part: str, fact: SheetFacts) -> None:
    """Rows that are the Totals row of an Excel table (ListObject) on this sheet."""
    rels = posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")
    if rels not in names:
        return
    for rel in ElementTree.fromstring(zf.read(rels)).iter(f"{_PKG_REL}Relationship"):
        table = _resolve(part, rel.get("Target", ""))
        if not rel.get("Type", "").endswith("/table") or table not in names:
            continue
        root = ElementTree.fromstring(zf.read(table))
        count = int(root.get("totalsRowCount", "0") or 0)
        first, _, end = root.get("ref", "").partition(":")
        (c1, _), (c2, last) = split_ref(first), split_ref(end or first)
        if count <= 0 or not last:
            continue
        name = root.get("displayName") or root.get("name") or "?"
        for row in range(last - count + 1, last + 1):
            fact.totals_rows[row] = (name, _column_number(c1), _column_number(c2))


class _Scan:
    """One streaming pass over a worksheet's XML, linear in its size."""

    def __init__(self, stale: bool, external_names: re.Pattern | None):
        self.stale, self.external_names = stale, external_names

    def _external(self, formula: str | None) -> bool:
        return bool(formula) and (_EXTERNAL.search(formula) is not None or (
            self.external_names is not None and self.external_names.search(formula)
            is not None))

    def run(self, fh, fact: SheetFacts) -> None:
        row_no = 0            # the current row: its r attribute, else the previous one + 1
        last_ref = None       # the last cell of this row with an r attribute
        since = 0             # cells without an r attribute after it
        pending = []          # (what, column number, payload) of such cells, placed at row end
        shared_external = set()  # si of shared formulas whose master reads another workbook
        cell, row, merge, formula, value = (f"{_MAIN}{t}" for t in ("c", "row", "mergeCell",
                                                                    "f", "v"))
        for _, elem in ElementTree.iterparse(fh, events=("end",)):
            tag = elem.tag
            if tag == cell:
                ref = elem.get("r")
                if ref is not None:
                    last_ref, since = ref, 0
                else:
                    since += 1
                f, v, kind = elem.find(formula), elem.find(value), elem.get("t")
                what = payload = None
                if kind == "e":
                    what = "error"
                    payload = v.text if v is not None and v.text else "(no code)"
                elif f is not None and (v is None or (not v.text and kind != "str")):
                    # An empty <v/> is what libraries write when they cannot compute the formula.
                    what = "missing"
                elif f is not None and self.stale:
                    what = "stale"
                if f is not None:
                    external = self._external(f.text)
                    if f.get("t") == "shared" and f.get("si") is not None:
                        if external:
                            shared_external.add(f.get("si"))
                        external = external or f.get("si") in shared_external
                    if external and what is None:
                        what = "external"
                if what is not None:
                    if ref is not None:
                        self._add(fact, what, ref, payload)
                    else:
                        col = (_column_number(split_ref(last_ref)[0]) if last_ref else 0) + since
                        pending.append((what, col, payload))
                elem.clear()
            elif tag == row:
                row_no = int(elem.get("r") or row_no + 1)
                if elem.get("hidden") in ("1", "true"):
                    fact.hidden_rows.append(row_no)
                for what, col, payload in pending:
                    self._add(fact, what, f"{column_letter(col)}{row_no}", payload)
                pending.clear()
                last_ref, since = None, 0
                elem.clear()
            elif tag == merge:
                fact.merged.append(elem.get("ref", ""))

    @staticmethod
    def _add(fact: SheetFacts, what: str, ref: str, payload: str | None) -> None:
        if what == "error":
            fact.errors[ref] = payload
        elif what == "missing":
            fact.formulas_without_value.append(ref)
        elif what == "stale":
            fact.stale_formulas.append(ref)
        else:
            fact.external_formulas.append(ref)


def _column_number(letters: str) -> int:
    number = 0
    for ch in letters:
        number = number * 26 + ord(ch) - 64
    return number


def split_ref(ref: str) -> tuple[str, int]:
    """'C7' -> ('C', 7)."""
    m = _CELL.fullmatch(ref)
    return (m.group(1), int(m.group(2))) if m else (ref, 0)
