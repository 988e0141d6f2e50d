"""The plan workbook's file, as a reader sees it: for hand-made tables that use every
feature of the writer (money in millions, per-row units, flags, formula-like and illegal
text, NaN and inf, highlights, every kind of chart, a log scale, sheets with nothing to
report, a frontier), every sheet, cell value and type, number format, font, fill, border,
alignment, quote prefix, merged range, column width, row height, frozen pane, filter,
print setting, page break, conditional format and chart is what the reference workbooks in
tests/data hold. Those were written by the openpyxl writer that XlsxWriter replaced (issue
22); after a deliberate change of the plan's looks, `python tests/test_writer.py` writes
them again. The same tables give the same bytes.

`content` normalises how a writer spells the same thing: colours' alpha byte, the default
font's size and name or fit-to-page height 1 left unsaid, quoted or absolute references,
shared or inline strings, several equal columns in one <col>, a chart's size to the pixel
(XlsxWriter anchors charts to cells in whole pixels, openpyxl sizes them in EMU).
"""
from __future__ import annotations

import io
import math
import sys
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pandas as pd
import pytest

from planner.excel import plan_file
from render import _rels

DATA = Path(__file__).resolve().parent / "data"
EMU_PER_PIXEL = 9525
NS = {"xdr": "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing",
      "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
      "c": "http://schemas.openxmlformats.org/drawingml/2006/chart",
      "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
      "p": "http://schemas.openxmlformats.org/package/2006/relationships",
      "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
NAN, INF = math.nan, math.inf


# The tables ----------------------------------------------------------------------------
def plan_tables() -> dict[str, tuple[str, pd.DataFrame]]:
    """Base, a scenario named like a formula and one without a plan; millions of money."""
    scenarios = ["base", "=tax", "embargo"]
    summary = pd.DataFrame({
        "scenario": scenarios, "status": ["optimal", "optimal", "infeasible"],
        "total_cost": [2.5e6, 2.75e6, NAN], "change_vs_base": [0.0, 2.5e5, NAN],
        "change_vs_base_pct": [0.0, 0.1, NAN], "purchase_cost": [1.5e6, 1.6e6, NAN],
        "processing_cost": [6e5, 7e5, NAN], "freight_cost": [3e5, 3.5e5, NAN],
        "stockpile_cost": [1e5, 1e5, NAN], "unmet_cost": [0.0, 0.0, NAN],
        "unmet_t": [0.0, 0.0, NAN]})
    sourcing = pd.DataFrame({
        "material": ["ore", "ore", "oxide", "ore", "ore"],
        "kind": ["supplier", "supplier", "site", "supplier", "supplier"],
        "id": ["au-mine", "cn-mine", "my-refinery", "au-mine", "cn-mine"],
        "country": ["AU", "CN", "MY", "AU", "CN"],
        "period": ["all", "all", "all", "P1", "P1"],
        "base": [800.0, 5.0, 400.0, 400.0, 5.0], "=tax": [900.0, 0.0, 450.0, 450.0, 0.0],
        "embargo": [NAN] * 5})
    flows = pd.DataFrame({
        "scenario": ["base", "base", "=tax", "base"], "period": ["P1", "@P2", "P1", "P1"],
        "material": ["ore", "-ore", "ore", "oxide"],
        "from": ["au-mine", "#N/A", "au-mine", "my-refinery"],
        "from_kind": ["supplier", "supplier", "supplier", "site"],
        "from_country": ["AU", "CN", "AU", "MY"],
        "to": ["my-refinery", "my-refinery", "my-refinery", "=HYPERLINK(\"http://x\")"],
        "to_kind": ["site", "site", "site", "customer"],
        "to_country": ["MY", "MY", "MY", "JP\x07"],
        "quantity_t": [400.0, NAN, 450.0, 200.0], "freight_cost": [2000.0, INF, 2250.0, -INF],
        "freight_per_t": [5.0, 5.0, 5.0, 7.5], "unit_cost": [10.0, 5.0, 10.0, NAN],
        "purchase_cost": [4000.0, 25.0, 4500.0, 0.0]})
    comparison = pd.DataFrame({
        "scenario": ["=tax"] * 4, "section": ["cost", "top share", "unmet", "flow"],
        "item": ["total_cost", "ore / supply", "unmet_t", "P1 ore: au-mine -> my-refinery"],
        "base_value": [2.5e6, 0.99, 0.0, 400.0], "value": [2.75e6, 1.0, 0.0, 450.0],
        "change": [2.5e5, 0.01, 0.0, 50.0], "detail": ["", "AU", "", "+50 t"]})
    mix = pd.DataFrame([
        {"scenario": s, "period": "P1", "material": m, "stage": stage, "country": c,
         "quantity_t": q, "share": q / total, "stage_total_t": total, "hhi": 5000.0}
        for s, rows in (("base", (("AU", 400.0), ("CN", 5.0))),
                        ("=tax", (("AU", 450.0), ("MY", 50.0))))
        for m, stages in (("ore", ("supply", "processing")), ("oxide", ("delivery",)))
        for stage in stages
        for total in [sum(q for _, q in rows)]
        for c, q in rows])
    limits = pd.DataFrame({
        "scenario": ["base", "base", "=tax"], "rule": ["CN cap", "licence", "CN cap"],
        "type": ["limit", "quota", "limit"], "stage": ["supply", "", "supply"],
        "by": ["country", "", "country"], "material": ["ore"] * 3, "period": ["P1"] * 3,
        "customer": ["", "", ""], "member": ["CN", "", "CN"],
        "volume_t": [5.0, 10.0, 0.0], "stage_volume_t": [405.0, NAN, 450.0],
        "share": [0.0123, NAN, 0.0], "bound": [0.5, 60.0, 0.5], "sense": ["<=", "<=", "<="],
        "binds": [True, False, False], "shadow_price": [-5.0, 0.0, 0.0],
        "value_of_1pt": [20.25, NAN, 0.0], "cost_of_rule": [400.0, 0.0, 0.0]})
    diagnosis = pd.DataFrame({
        "scenario": ["embargo"] * 2, "status": ["infeasible"] * 2,
        "kind": ["relaxation"] * 2, "rule": ["CN cap", "demand"], "material": ["ore"] * 2,
        "period": ["P1"] * 2, "customer": ["", "plant"], "member": ["CN", ""],
        "current": [0.5, 100.0], "needed": [1.0, 60.0], "change": [0.5, -40.0],
        "unit": ["share", "t"], "explanation": ["raise the cap", "=deliver less"]})
    unmet = pd.DataFrame(columns=["scenario", "customer", "country", "material", "period",
                                  "demand_t", "delivered_t", "unmet_t", "unmet_penalty",
                                  "unmet_cost"])
    utilization = pd.DataFrame({
        "scenario": ["base", "base", "base", "=tax", "=tax"], "period": ["P1"] * 5,
        "kind": ["supplier", "site", "supplier", "supplier", "site"],
        "id": ["cn-mine", "my-refinery", "au-mine", "au-mine", "my-refinery"],
        "material": ["ore", "", "ore", "ore", ""], "used_t": [5.0, 400.0, 400.0, 450.0, 0.0],
        "capacity_t": [5.0, 420.0, 1000.0, 1000.0, 0.0],
        "utilization": [1.0, 400 / 420, 0.4, 0.45, NAN]})
    info = pd.DataFrame({
        "scenario": scenarios, "status": ["optimal", "optimal", "infeasible"],
        "message": ["optimal", "optimal", "no plan meets every rule and demand"],
        "solver": ["highs"] * 3, "start": ["cold", "base", "base"],
        "time_limit_s": [NAN] * 3, "variables": [12, 12, 10], "constraints": [8, 8, 8],
        "nonzeros": [30, 30, 26], "model_s": [0.01] * 3, "solve_s": [0.002] * 3,
        "report_s": [0.003] * 3, "seconds": [0.015] * 3, "input_file": ["case.xlsx"] * 3,
        "input_sha256": ["ab12"] * 3, "planner_version": ["0.1.0"] * 3,
        "pulp_version": ["3.3"] * 3, "highspy_version": ["1.7"] * 3,
        "python": ["3.11"] * 3, "created_utc": ["2027-01-01 00:00:00"] * 3})
    return {"Summary": ("One row per scenario. Money in USD, quantities in t.", summary),
            "Sourcing": ("Tonnes of each material sold by each supplier.", sourcing),
            "Flows": ("Tonnes shipped per period on each arc.", flows),
            "Comparison": ("Each scenario against base.", comparison),
            "Mix": ("Share of each country per stage.", mix),
            "Limits": ("Every rule instance.", limits),
            "Diagnosis": ("Why a scenario has no optimal plan.", diagnosis),
            "Unmet": ("Nothing to report: every plan meets all demand.", unmet),
            "Utilization": ("Used versus capacity per period.", utilization),
            "Run info": ("Input, versions, model size and seconds per scenario.", info)}


def frontier_tables() -> dict[str, tuple[str, pd.DataFrame]]:
    caps = [1.0, 0.7, 0.4]
    frontier = pd.DataFrame({
        "scenario": ["base"] * 3, "point": ["sweep"] * 3, "cap": caps,
        "status": ["optimal"] * 3, "total_cost": [2.745e9, 2.745e9, 2.768e9],
        "cost_increase": [0.0, 0.0, 2.3e7], "marginal_cost_per_pt": [NAN, 0.0, 7.6e5],
        "unmet_t": [0.0] * 3, "member_share": [0.52, 0.52, 0.4],
        "hhi": [4094.6, 4094.6, 3408.9], "note": [NAN, NAN, "turns steep here"]})
    summary = pd.DataFrame({
        "scenario": [f"cap {c:.0%}" for c in caps], "status": ["optimal"] * 3,
        "total_cost": [2.745e9, 2.745e9, 2.768e9], "purchase_cost": [1.72e9] * 3,
        "processing_cost": [9.6e8, 9.6e8, 9.8e8], "freight_cost": [6e7] * 3,
        "stockpile_cost": [2.8e6] * 3, "unmet_cost": [0.0] * 3, "unmet_t": [0.0] * 3})
    return {"Frontier": ("Max share of CN in ore, swept from 100% to 40%.", frontier),
            "Summary": ("One row per sweep point (scenario = the cap).", summary)}


CASES = {"plan": plan_tables, "frontier": frontier_tables}


# What a reader sees --------------------------------------------------------------------
def _colour(c) -> str | None:
    """A colour without its alpha byte; the text colour by default (theme 1) as none."""
    if c is None:
        return None
    if c.type == "rgb":
        return None if c.rgb in (None, "00000000") else str(c.rgb)[-6:].upper()
    if c.type == "theme":
        return None if c.theme == 1 else f"theme{c.theme}"
    return f"indexed{c.indexed}"


def _cell(c) -> dict:
    value = c.value
    kind = "b" if isinstance(value, bool) else "n" if isinstance(value, (int, float)) \
        else "s" if isinstance(value, str) else type(value).__name__
    out = {"value": float(value) if kind == "n" else value, "type": kind}
    if c.__class__.__name__ == "MergedCell":
        return out
    f, a, b = c.font, c.alignment, c.border
    fill = None if c.fill.patternType in (None, "none") else (c.fill.patternType,
                                                             _colour(c.fill.fgColor))
    out.update(
        format=c.number_format, quote=bool(c.quotePrefix), fill=fill,
        font=(bool(f.b), bool(f.i), float(f.sz or 11), f.name or "Calibri", _colour(f.color),
              f.u),
        border={side: (getattr(b, side).style, _colour(getattr(b, side).color))
                for side in ("left", "right", "top", "bottom")
                if getattr(b, side) is not None and getattr(b, side).style},
        align=(a.horizontal, a.vertical, bool(a.wrap_text), a.indent or 0))
    return out


def _widths(ws) -> dict[int, float]:
    return {j: float(dim.width) for dim in ws.column_dimensions.values()
            if dim.customWidth and dim.width is not None for j in range(dim.min, dim.max + 1)}


def _ref(text: str | None) -> str | None:
    return None if text is None else text.replace("'", "").replace("$", "")


def _rich(rich) -> tuple | None:
    """A title's text, and its size and boldness where it says them."""
    if rich is None:
        return None
    runs, sizes, bold = [], set(), set()
    for p in rich.p:
        props = [r.rPr for r in p.r or [] if r.rPr is not None]
        if p.pPr is not None and p.pPr.defRPr is not None:
            props.append(p.pPr.defRPr)
        runs += [r.t for r in p.r or []]
        sizes |= {x.sz for x in props if x.sz}
        bold |= {x.b for x in props if x.b is not None}
    return "".join(runs), sorted(sizes), sorted(bold)


def _title(t) -> tuple | None:
    return None if t is None or t.tx is None else _rich(t.tx.rich)


def _text_size(txpr) -> list:
    return [] if txpr is None else sorted(
        {p.pPr.defRPr.sz for p in txpr.p
         if p.pPr is not None and p.pPr.defRPr is not None and p.pPr.defRPr.sz})


def _axis(ax) -> dict:
    s = ax.scaling
    return {"title": _title(ax.title), "format": ax.numFmt.formatCode if ax.numFmt else None,
            "deleted": bool(ax.delete), "scale": (s.orientation, s.min, s.max, s.logBase),
            "gridlines": ax.majorGridlines is not None, "text": _text_size(ax.txPr)}


def _source(source) -> str | None:
    if source is None:
        return None
    r = source.numRef or getattr(source, "strRef", None)
    return None if r is None else _ref(r.f)


def _chart(c) -> dict:
    return {"kind": type(c).__name__, "dir": getattr(c, "type", None),
            "grouping": getattr(c, "grouping", None), "overlap": getattr(c, "overlap", None),
            "gap": getattr(c, "gapWidth", None), "title": _title(c.title),
            "series": [(_ref(s.tx.strRef.f) if s.tx is not None and s.tx.strRef else None,
                        _source(s.cat), _source(s.val), _source(s.xVal), _source(s.yVal),
                        s.marker.symbol if s.marker is not None else None)
                       for s in c.series],
            "x_axis": _axis(c.x_axis), "y_axis": _axis(c.y_axis),
            "legend": None if c.legend is None else (c.legend.position,
                                                     _text_size(c.legend.txPr))}


def _chart_xml(data: bytes) -> dict:
    """What openpyxl's chart reader leaves out or fills in with a default."""
    root = ElementTree.fromstring(data)

    def vals(path):
        return [e.get("val") for e in root.iterfind(path, NS)]
    return {"style": vals("c:style"), "blanks": vals(".//c:dispBlanksAs") or ["gap"],
            "ticks": vals(".//c:majorTickMark") + vals(".//c:minorTickMark")}


def _pixels(ws, start: tuple, end: tuple) -> tuple[int, int]:
    """A two-cell anchor's size: its columns' 7 pixels a character (Excel's default 64)
    and its rows' 4/3 pixel a point (default 20)."""
    widths = _widths(ws)

    def height(i):
        dim = ws.row_dimensions.get(i + 1)
        return 20 if dim is None or dim.height is None else dim.height * 4 / 3
    width = sum(64 if j + 1 not in widths else int(widths[j + 1] * 7 + 0.5)
                for j in range(start[0], end[0]))
    return (round(width + (end[2] - start[2]) / EMU_PER_PIXEL),
            round(sum(height(i) for i in range(start[1], end[1]))
                  + (end[3] - start[3]) / EMU_PER_PIXEL))


def _drawings(z: zipfile.ZipFile, wb) -> dict[str, list]:
    """Per sheet, each chart's top-left cell and offsets, size in pixels, whether it keeps
    its size when cells change, and `_chart_xml`."""
    def rels(part):
        return _rels(z, part)

    def cell(anchor, tag):
        at = anchor.find(f"xdr:{tag}", NS)
        return tuple(int(at.find(f"xdr:{k}", NS).text) for k in ("col", "row", "colOff",
                                                                 "rowOff"))
    found = {}
    parts = rels("xl/workbook.xml")
    for sheet in ElementTree.fromstring(z.read("xl/workbook.xml")).iter(f"{{{NS['m']}}}sheet"):
        charts = found[sheet.get("name")] = []
        for kind, drawing in rels(parts[sheet.get(f"{{{NS['r']}}}id")][1]).values():
            if kind != "drawing":
                continue
            targets = rels(drawing)
            for anchor in ElementTree.fromstring(z.read(drawing)):
                start, ext = cell(anchor, "from"), anchor.find("xdr:ext", NS)
                size = (round(int(ext.get("cx")) / EMU_PER_PIXEL),
                        round(int(ext.get("cy")) / EMU_PER_PIXEL)) if ext is not None \
                    else _pixels(wb[sheet.get("name")], start, cell(anchor, "to"))
                rid = anchor.find(".//c:chart", NS).get(f"{{{NS['r']}}}id")
                charts.append({"at": start, "pixels": size,
                               "keeps_size": anchor.tag.endswith("oneCellAnchor")
                               or anchor.get("editAs") == "oneCell",
                               "xml": _chart_xml(z.read(targets[rid][1]))})
    return found


def _rule(r) -> tuple:
    dxf = r.dxf
    fill = None if dxf is None or dxf.fill is None else \
        _colour(dxf.fill.bgColor) or _colour(dxf.fill.fgColor)  # a dxf's solid colour
    font = None if dxf is None or dxf.font is None else (bool(dxf.font.b),
                                                         _colour(dxf.font.color))
    return r.type, r.operator, list(r.formula), bool(r.stopIfTrue), r.priority, font, fill


def _sheet(ws, drawings: dict) -> dict:
    blank = _cell(openpyxl.Workbook().active["A1"])
    page, m = ws.page_setup, ws.page_margins
    fit = ws.sheet_properties.pageSetUpPr
    cells = {c.coordinate: _cell(c) for c in ws._cells.values()
             if not (c.__class__.__name__ == "MergedCell" and c.value is None)}
    return {
        "cells": {at: cell for at, cell in cells.items() if cell != blank},
        "merged": sorted(str(r) for r in ws.merged_cells.ranges),
        "widths": _widths(ws),
        # to 1e-9 pt: a height may be written 61.4 or 61.39999999999999
        "heights": {r: round(d.height, 9) for r, d in ws.row_dimensions.items()
                    if d.height is not None},
        "freeze": ws.freeze_panes, "filter": ws.auto_filter.ref,
        "print": (ws.print_title_rows, ws.print_title_cols,
                  _ref(ws.print_area) if ws.print_area else None),
        "page": (page.orientation, str(page.paperSize), int(page.fitToWidth or 1),
                 int(1 if page.fitToHeight is None else page.fitToHeight),
                 bool(fit and fit.fitToPage)),
        "margins": (m.left, m.right, m.top, m.bottom, m.header, m.footer),
        "breaks": ([b.id for b in ws.row_breaks.brk], [b.id for b in ws.col_breaks.brk]),
        "conditional": {str(cf.sqref): [_rule(r) for r in cf.rules]
                        for cf in ws.conditional_formatting},
        "gridlines": ws.sheet_view.showGridLines,
        "charts": [_chart(c) for c in ws._charts],
        "drawings": drawings.get(ws.title, [])}


def content(data: bytes) -> dict:
    """Everything a reader sees of the workbook file `data`, normalised (module docstring)."""
    wb = openpyxl.load_workbook(io.BytesIO(data))
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        drawings = _drawings(z, wb)
    out = {"sheets": wb.sheetnames, "active": wb.index(wb.active),
           **{ws.title: _sheet(ws, drawings) for ws in wb}}
    wb.close()
    return out


def differences(old, new, where: str = "") -> list[str]:
    """Where two `content`s differ, one line each."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [line for k in [*old, *(k for k in new if k not in old)]
                for line in (differences(old[k], new[k], f"{where}/{k}")
                             if k in old and k in new
                             else [f"{where}/{k}: only in {'new' if k in new else 'old'}"])]
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [line for i, (a, b) in enumerate(zip(old, new))
                for line in differences(a, b, f"{where}[{i}]")]
    return [] if old == new else [f"{where}: {old!r} became {new!r}"]


# Tests ---------------------------------------------------------------------------------
def _plan(case: str) -> bytes:
    return plan_file(CASES[case](), "USD")


@pytest.mark.parametrize("case", list(CASES))
def test_the_plan_reads_exactly_as_the_reference(case):
    found = differences(content((DATA / f"reference-{case}.xlsx").read_bytes()),
                        content(_plan(case)))
    assert not found, "\n".join(found[:40])


def test_the_tables_use_every_feature():
    """What the reference must hold for the comparison to mean something."""
    book = content(_plan("plan"))
    assert book["sheets"] == ["Summary", "Sourcing", "Charts", "Flows", "Comparison", "Mix",
                              "Limits", "Diagnosis", "Utilization", "Run info", "Chart data",
                              "Unmet"]
    charts = [c for sheet in book["sheets"] for c in book[sheet]["charts"]]
    assert [(c["kind"], c["grouping"]) for c in charts] == [
        ("BarChart", "stacked"), ("BarChart", "clustered"), ("BarChart", "percentStacked"),
        ("BarChart", "percentStacked"), ("BarChart", "clustered")]
    assert book["Sourcing"]["charts"][0]["y_axis"]["scale"][3] == 10  # a log scale
    assert [c["kind"] for c in content(_plan("frontier"))["Frontier"]["charts"]] == \
        ["ScatterChart", "ScatterChart"]
    cells = [c for sheet in book["sheets"] for c in book[sheet]["cells"].values()]
    assert {"unlimited", "-unlimited", "yes", "no", "JP\ufffd"} <= {c["value"] for c in cells}
    assert any(c["quote"] for c in cells) and any(c["value"] == "#N/A" for c in cells)
    assert book["Summary"]["conditional"] and book["Limits"]["conditional"]
    assert book["Utilization"]["conditional"] and book["Charts"]["breaks"][0]
    assert "m USD" in book["Summary"]["cells"]["C4"]["format"]


def test_the_same_tables_give_the_same_bytes():
    assert _plan("plan") == _plan("plan")


if __name__ == "__main__":  # write the references again (a deliberate change of looks)
    DATA.mkdir(exist_ok=True)
    for name in CASES:
        (DATA / f"reference-{name}.xlsx").write_bytes(_plan(name))
    sys.exit(0)
