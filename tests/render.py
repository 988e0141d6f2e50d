"""Test helpers for what a reader of the workbook sees: charts inside the .xlsx package, and
the LibreOffice (headless) rendering to PDF. Independent of the planner package."""
from __future__ import annotations

import posixpath
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pytest

NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "p": "http://schemas.openxmlformats.org/package/2006/relationships",
    "c": "http://schemas.openxmlformats.org/drawingml/2006/chart",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
}


def _rels(zf: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type suffix, absolute part name) for one package part."""
    folder, name = posixpath.split(part)
    rels = posixpath.join(folder, "_rels", name + ".rels")
    if rels not in zf.namelist():
        return {}
    out = {}
    for rel in ElementTree.fromstring(zf.read(rels)).iter(f"{{{NS['p']}}}Relationship"):
        target = rel.get("Target")
        target = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
            posixpath.join(folder, target))
        out[rel.get("Id")] = (rel.get("Type").rsplit("/", 1)[-1], target)
    return out


def charts_by_sheet(path: Path) -> dict[str, list[dict]]:
    """Every chart of every sheet: {sheet title: [{"kind", "dir", "grouping", "title",
    "series": [{"title_ref", "cat_ref", "val_ref"}]}]}."""
    out: dict[str, list[dict]] = {}
    with zipfile.ZipFile(path) as zf:
        book = ElementTree.fromstring(zf.read("xl/workbook.xml"))
        targets = _rels(zf, "xl/workbook.xml")
        for sheet in book.iter(f"{{{NS['m']}}}sheet"):
            part = targets[sheet.get(f"{{{NS['r']}}}id")][1]
            charts = []
            for kind, drawing in _rels(zf, part).values():
                if kind != "drawing":
                    continue
                for kind2, chart_part in _rels(zf, drawing).values():
                    if kind2 == "chart":
                        charts.append(_chart(ElementTree.fromstring(zf.read(chart_part))))
            out[sheet.get("name")] = charts
    return out


def _text(elem, path: str) -> str | None:
    found = elem.find(path, NS)
    return None if found is None else found.text


def _chart(root) -> dict:
    plot = root.find(".//c:plotArea", NS)
    kinds = [child for child in plot if child.tag.endswith("Chart")]
    kind = kinds[0]
    title = "".join(t.text or "" for t in root.findall("./c:chart/c:title//a:t", NS))
    series = []
    for ser in kind.findall("c:ser", NS):
        series.append({
            "title_ref": _text(ser, "c:tx/c:strRef/c:f"),
            "cat_ref": _text(ser, "c:cat/c:strRef/c:f") or _text(ser, "c:cat/c:numRef/c:f"),
            "val_ref": _text(ser, "c:val/c:numRef/c:f"),
        })
    grouping = kind.find("c:grouping", NS)
    bar_dir = kind.find("c:barDir", NS)
    axes_deleted = [d.get("val") for d in plot.findall(".//c:delete", NS)]
    return {"kind": kind.tag.split("}")[1], "title": title, "series": series,
            "grouping": None if grouping is None else grouping.get("val"),
            "dir": None if bar_dir is None else bar_dir.get("val"),
            "axes_deleted": axes_deleted}


_REF = re.compile(r"^'?(.*?)'?!\$?([A-Z]+)\$?(\d+)(?::\$?([A-Z]+)\$?(\d+))?$")


def resolve(wb, ref: str) -> list:
    """The values a chart reference points at (a row or a column of cells)."""
    m = _REF.match(ref)
    assert m, ref
    title, c1, r1, c2, r2 = m.groups()
    ws = wb[title.replace("''", "'")]
    cells = ws[f"{c1}{r1}:{c2 or c1}{r2 or r1}"]
    if not isinstance(cells, tuple):
        return [cells.value]
    return [c.value for row in cells for c in (row if isinstance(row, tuple) else (row,))]


def soffice() -> str:
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if not exe:
        pytest.skip("LibreOffice (soffice) is not installed; apt-get install libreoffice-calc "
                    "to run the render check")
    return exe


def to_pdf(path: Path, outdir: Path) -> Path:
    """Convert with LibreOffice Calc, headless, in a private profile (safe in parallel)."""
    exe = soffice()
    profile = outdir / "lo-profile"
    result = subprocess.run(
        [exe, f"-env:UserInstallation={profile.resolve().as_uri()}", "--headless",
         "--convert-to", "pdf", "--outdir", str(outdir), str(path)],
        capture_output=True, text=True, timeout=240)
    pdf = outdir / (path.stem + ".pdf")
    assert result.returncode == 0 and pdf.is_file() and pdf.stat().st_size > 0, \
        (result.returncode, result.stdout, result.stderr)
    return pdf


def pdf_pages(pdf: Path) -> list[str]:
    """The text of each page (whitespace squeezed), with poppler's pdftotext; skips without it."""
    exe = shutil.which("pdftotext")
    if not exe:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    text = subprocess.run([exe, "-layout", str(pdf), "-"], capture_output=True, text=True,
                          timeout=120, check=True).stdout
    return [re.sub(r"\s+", " ", page) for page in text.split("\f")[:-1] or [text]]


def first_page_with(pages: list[str], needle: str) -> int | None:
    needle = re.sub(r"\s+", " ", needle)
    return next((i for i, page in enumerate(pages) if needle in page), None)
