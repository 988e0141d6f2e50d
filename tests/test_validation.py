"""Bad input never crashes: every broken workbook gets exit status 1 and a message naming
sheet, row and column; nothing is written and the input is unchanged (docs/workbook.md;
exit statuses in README.md)."""
from __future__ import annotations

import copy
import hashlib
import io
import re
import time
import tracemalloc
import zipfile

import openpyxl
import pytest
from click.testing import CliRunner

from planner.cli import main
from wb import make_workbook, read_plan_sheet

VALID = {
    "Suppliers": [
        {"supplier": "mine", "country": "AU", "material": "ore", "capacity_t": 100,
         "unit_cost": 10},
        {"supplier": "cn-mine", "country": "CN", "material": "ore", "capacity_t": 100,
         "unit_cost": 8},
    ],
    "Sites": [{"site": "mill", "country": "AU", "capacity_t": 500}],
    "Processes": [{"site": "mill", "input_material": "ore", "output_material": "oxide",
                   "yield": 0.5, "cost_per_t": 3}],
    "Freight": [{"from_country": "AU", "to_country": "JP", "cost_per_t": 5},
                {"from_country": "CN", "to_country": "AU", "cost_per_t": 4}],
    "Demand": [{"customer": "plant", "country": "JP", "material": "oxide", "period": "Q1",
                "quantity_t": 40}],
    "Groups": [{"group": "Allies", "country": "AU"}],
    "Limits": [{"rule": "cap", "material": "ore", "stage": "supply", "by": "country",
                "member": "CN", "max_share": 0.65}],
    "Restrictions": [{"rule": "q", "type": "quota", "from": "CN", "to": "AU", "max_t": 50}],
    "Scenarios": [{"scenario": "more", "sheet": "Demand", "column": "quantity_t",
                   "action": "multiply", "value": 1.1}],
}


def edit(sheet_name, row, **cells):
    def apply(sheets):
        sheets[sheet_name][row].update(cells)
    return apply


def add_row(sheet_name, **cells):
    return lambda sheets: sheets.setdefault(sheet_name, []).append(cells)


def rename_sheet(old, new):
    return lambda sheets: sheets.__setitem__(new, sheets.pop(old))


def rename_column(sheet, old, new):
    def apply(sheets):
        sheets[sheet] = [{(new if k == old else k): v for k, v in r.items()} for r in sheets[sheet]]
    return apply


# (id, mutation, exact location text, words of the message)
ERRORS = [
    ("misspelt sheet", rename_sheet("Suppliers", "Supplers"),
     "sheet Suppliers", "did you mean 'Supplers'"),
    ("missing column", rename_column("Demand", "quantity_t", "quantity"),
     "sheet Demand, row 1", "did you mean 'quantity'"),
    ("thousands separator", edit("Suppliers", 0, capacity_t="1,000"),
     "sheet Suppliers, row 2, column capacity_t (D)", "plain number"),
    ("unit in number", edit("Suppliers", 1, unit_cost="12 t"),
     "sheet Suppliers, row 3, column unit_cost (E)", "plain number"),
    ("N/A in number", edit("Demand", 0, quantity_t="N/A"),
     "sheet Demand, row 2, column quantity_t (E)", "plain number"),
    ("INF in number", edit("Suppliers", 0, capacity_t="INF"),
     "sheet Suppliers, row 2, column capacity_t (D)", "plain number"),
    ("negative cost", edit("Suppliers", 0, unit_cost=-1),
     "sheet Suppliers, row 2, column unit_cost (E)", "must not be negative"),
    ("group of a group", add_row("Groups", group="Quad", country="Allies"),
     "sheet Groups, row 3, column country", "'Allies' is a group"),
    ("time limit of 0", add_row("Settings", setting="time_limit_s", value=0),
     "sheet Settings, row 2, column value", "must be more than 0 seconds"),
    ("supplier option without material",
     add_row("Options", option="sign", kind="supplier", node="mine", fixed_cost=10),
     "sheet Options, row 2, column material", "give material: a supplier option opens one"),
    ("zero yield", edit("Processes", 0, **{"yield": 0}),
     "sheet Processes, row 2, column yield (D)", "above 0"),
    ("share above 1", edit("Limits", 0, max_share=65),
     "sheet Limits, row 2, column max_share (F)", "between 0 and 1"),
    ("min above max", edit("Limits", 0, min_share=0.9),
     "sheet Limits, row 2, column min_share", "above max_share"),
    ("duplicate offer", add_row("Suppliers", supplier="mine", country="AU", material="ore",
                                capacity_t=5, unit_cost=1),
     "sheet Suppliers, row 4, column supplier (A)", "same (supplier, material, period) as row 2"),
    ("unknown site", edit("Processes", 0, site="mil"),
     "sheet Processes, row 2, column site (A)", "unknown site"),
    ("unknown period", edit("Restrictions", 0, period="Q9"),
     "sheet Restrictions, row 2, column period", "unknown period"),
    ("supplier period no Demand row has", edit("Suppliers", 0, period="Q9"),
     "sheet Suppliers, row 2, column period", "unknown period (no Demand row has it"),
    ("unknown group", edit("Limits", 0, by="group", member="Alies"),
     "sheet Limits, row 2, column member (E)", "unknown group"),
    ("unknown lane node", add_row("Lanes", **{"from": "mine", "to": "plnt", "cost_per_t": 1}),
     "sheet Lanes, row 2, column to (B)", "unknown node"),
    ("material without source", edit("Demand", 0, material="oxyde"),
     "sheet Demand, row 2, column material (C)", "no supplier, process or stockpile"),
    ("id reused across kinds", edit("Demand", 0, customer="mill"),
     "sheet Demand, row 2, column customer (A)", "already used by a site"),
    ("customer with two countries", add_row("Demand", customer="plant", country="KR",
                                            material="oxide", period="Q2", quantity_t=1),
     "sheet Demand, row 3, column country (B)", "a node has one country"),
    ("group named like a country", add_row("Groups", group="CN", country="AU"),
     "sheet Groups, row 3, column group (A)", "also a country"),
    ("scenario on unknown sheet", edit("Scenarios", 0, sheet="Limitz"),
     "sheet Scenarios, row 2, column sheet (B)", "scenarios can change"),
    ("scenario on unknown column", edit("Scenarios", 0, column="qty"),
     "sheet Scenarios, row 2, column column (C)", "numeric column of Demand"),
    ("scenario name with a semicolon", edit("Scenarios", 0, scenario="CN cut; 50%"),
     "sheet Scenarios, row 2, column scenario (A)", "may not contain ';'"),
    ("quota without max_t", edit("Restrictions", 0, max_t=None),
     "sheet Restrictions, row 2, column max_t", "needs max_t"),
    ("customer scope off delivery", edit("Limits", 0, customer="plant"),
     "sheet Limits, row 2, column customer", "delivery, origin and touched stages only"),
    ("min_share without member", edit("Limits", 0, member=None, max_share=None, min_share=0.1),
     "sheet Limits, row 2, column member", "needs a member"),
    ("bad choice", edit("Limits", 0, stage="mining"),
     "sheet Limits, row 2, column stage (C)", "write one of: supply, processing, delivery"),
    ("formula without value", edit("Suppliers", 0, unit_cost="=5*2"),
     "sheet Suppliers, row 2, column unit_cost (E)", "formula without a computed value"),
    # `More` and `more` would be one scenario with both changes compounded.
    ("scenario written in two spellings",
     add_row("Scenarios", scenario="More", sheet="Suppliers", column="unit_cost",
             action="multiply", value=2),
     "sheet Scenarios, row 3, column scenario (A)",
     "scenario 'More' is written 'more' in row 2; write every row of a scenario the same way"),
    # 100 t x 1e11 = 1e13 t, past the 1e12 any typed number may have.
    ("scenario pushes a number past 1e12",
     edit("Scenarios", 0, sheet="Suppliers", column="capacity_t", value=1e11),
     "sheet Scenarios, row 2, column value (E)",
     "scenario 'more': multiply makes capacity_t 1e+13 in Suppliers row 2"),
    # 0.5 x 1e-6 = 5e-7: below the least yield the solver keeps (as typed, 1e-6).
    ("scenario pushes a yield below 1e-6",
     edit("Scenarios", 0, sheet="Processes", column="yield", value=1e-6),
     "sheet Scenarios, row 2, column value (E)",
     "scenario 'more': multiply makes yield out of range in Processes row 2"),
]


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize("mutate,where,words", [c[1:] for c in ERRORS],
                         ids=[c[0] for c in ERRORS])
def test_each_broken_workbook_is_rejected_at_its_cell(tmp_path, mutate, where, words):
    sheets = copy.deepcopy(VALID)
    mutate(sheets)
    inp = make_workbook(tmp_path / "in.xlsx", sheets)
    before = _sha(inp)
    out = tmp_path / "plan.xlsx"
    for args in (["validate", inp], ["run", inp, "-o", out]):
        result = _invoke(*args)
        assert result.exit_code == 1, result.output
        line = next((ln for ln in result.output.splitlines() if where in ln), None)
        assert line is not None and "error:" in line and words in line, result.output
        assert "Traceback" not in result.output
    assert not out.exists() and _sha(inp) == before
    assert [p.name for p in tmp_path.iterdir()] == ["in.xlsx"]


@pytest.mark.parametrize("value", ["abc", "#N/A", 1e13])
def test_an_unreadable_scenario_value_is_reported_once(tmp_path, value):
    """The value refused at its cell; the change is not also told it needs a value."""
    sheets = copy.deepcopy(VALID)
    edit("Scenarios", 0, value=value)(sheets)
    result = _invoke("validate", make_workbook(tmp_path / "in.xlsx", sheets))
    assert result.exit_code == 1
    assert "Errors (1):" in result.output, result.output
    assert "sheet Scenarios, row 2, column value (E)" in result.output
    assert "needs a value" not in result.output


def test_the_valid_workbook_plans(tmp_path):
    inp = make_workbook(tmp_path / "in.xlsx", VALID)
    result = _invoke("validate", inp)
    assert result.exit_code == 0 and "no errors" in result.output
    assert _invoke("run", inp, "-o", tmp_path / "p.xlsx", "--jobs", "1").exit_code == 0


def test_an_unreadable_share_is_reported_once(tmp_path):
    """65 (meant as 65%) is refused at its cell; the rule is not also told it has no share."""
    sheets = copy.deepcopy(VALID)
    edit("Limits", 0, max_share=65)(sheets)
    result = _invoke("validate", make_workbook(tmp_path / "in.xlsx", sheets))
    assert result.exit_code == 1
    assert "Errors (1):" in result.output and "between 0 and 1" in result.output
    assert "give min_share, max_share or both" not in result.output
    edit("Limits", 0, max_share=None)(sheets)  # truly blank: that message is the right one
    result = _invoke("validate", make_workbook(tmp_path / "in2.xlsx", sheets))
    assert "give min_share, max_share or both" in result.output


def test_all_problems_are_listed_at_once(tmp_path):
    sheets = copy.deepcopy(VALID)
    edit("Suppliers", 0, capacity_t="1,000")(sheets)
    edit("Processes", 0, **{"yield": -2})(sheets)
    edit("Demand", 0, customer="mill")(sheets)
    result = _invoke("validate", make_workbook(tmp_path / "in.xlsx", sheets))
    assert result.exit_code == 1
    assert "Errors (3):" in result.output and "3 error(s)" in result.output


WARNINGS = [
    ("unknown column", edit("Sites", 0, notes="owner: Lynas"), "sheet Sites, row 1, column notes (D)",
     "unknown column"),
    ("empty sheet", lambda s: s.__setitem__("Lanes", []), "sheet Lanes", "empty"),
    ("site without process", add_row("Sites", site="idle", country="AU"),
     "sheet Sites, row 3, column site (A)", "no row on the Processes sheet"),
    ("unreachable demand", add_row("Demand", customer="far", country="US", material="oxide",
                                   period="Q1", quantity_t=1, unmet_penalty=100),
     "sheet Demand, row 3, column material (C)", "will be unmet"),
    ("scenario matches nothing", add_row("Scenarios", scenario="x", sheet="Suppliers",
                                         where="country=US", action="drop"),
     "sheet Scenarios, row 3, column where", "matches no row"),
    ("unknown sheet", add_row("Contacts", name="hello"), "sheet Contacts", "unknown sheet"),
    ("material spelt in another case", add_row("Freight", from_country="AU", to_country="JP",
                                               material="ORE", cost_per_t=3),
     "sheet Freight, row 4, column material (D)",
     "'ORE' (Freight row 4) and 'ore' (Suppliers row 2) differ only in case, spaces or "
     "punctuation; ids must match exactly, so these are two different materials"),
    ("rule on an unknown material", edit("Limits", 0, material="oar"),
     "sheet Limits, row 2, column material (B)", "matches nothing"),
    # cells a rule's type does not read, and a Lanes row that overrides nothing
    ("max_t on a ban", edit("Restrictions", 0, type="ban"),
     "sheet Restrictions, row 2, column max_t", "max_t is read only for a quota"),
    ("to on an exclude", edit("Restrictions", 0, type="exclude", max_t=None),
     "sheet Restrictions, row 2, column to", "exclude does not read to"),
    ("exclude a customer", add_row("Restrictions", rule="x", type="exclude", **{"from": "plant"}),
     "sheet Restrictions, row 3, column from", "'plant' is a customer"),
    ("lane that sets nothing", add_row("Lanes", **{"from": "mine", "to": "mill"}),
     "sheet Lanes, row 2", "it changes nothing"),
    ("except: naming nothing", edit("Limits", 0, scenario="except:"),
     "sheet Limits, row 2, column scenario", "except: names no scenario"),
    ("drop with a value", add_row("Scenarios", scenario="less", sheet="Suppliers",
                                  where="supplier=cn-mine", column="unit_cost", action="drop",
                                  value=2),
     "sheet Scenarios, row 3, column column", "did you mean set, multiply or add?"),
]


@pytest.mark.parametrize("mutate,where,words", [c[1:] for c in WARNINGS],
                         ids=[c[0] for c in WARNINGS])
def test_warnings_do_not_stop_the_plan(tmp_path, mutate, where, words):
    sheets = copy.deepcopy(VALID)
    mutate(sheets)
    inp = make_workbook(tmp_path / "in.xlsx", sheets)
    result = _invoke("validate", inp)
    assert result.exit_code == 0, result.output
    line = next((ln for ln in result.output.splitlines() if where in ln), None)
    assert line is not None and "warning:" in line and words in line, result.output
    assert _invoke("run", inp, "-o", tmp_path / "p.xlsx", "--jobs", "1").exit_code == 0


def test_hidden_rows_sheets_and_merged_cells_are_reported(tmp_path):
    inp = make_workbook(tmp_path / "in.xlsx", VALID)
    wb = openpyxl.load_workbook(inp)
    wb["Suppliers"].row_dimensions[3].hidden = True
    wb["Groups"].sheet_state = "hidden"
    wb.save(inp)
    result = _invoke("validate", inp)
    assert result.exit_code == 0
    assert "sheet Suppliers, row 3: hidden (or filtered) rows 3" in result.output
    assert "sheet Groups: the sheet is hidden" in result.output
    wb = openpyxl.load_workbook(inp)
    wb["Suppliers"].merge_cells("B2:B3")
    wb.save(inp)
    result = _invoke("validate", inp)
    assert result.exit_code == 1
    assert "sheet Suppliers, row 2, column country (B): merged cells B2:B3" in result.output


def _write_zip(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


@pytest.mark.parametrize("name,content,words", [
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600,
     "password-protected or an old .xls"),
    ("data.csv", b"supplier,country\nmine,AU\n", "is a CSV file"),
    ("notes.xlsx", b"hello, I am text", "is not an Excel file"),
    ("broken.xlsx", b"PK\x03\x04" + b"\x00" * 100, "is damaged"),
])
def test_non_workbooks_get_one_clear_message(tmp_path, name, content, words):
    path = tmp_path / name
    path.write_bytes(content)
    result = _invoke("run", path, "-o", tmp_path / "p.xlsx")
    assert result.exit_code == 1 and words in result.output
    assert "Traceback" not in result.output and not (tmp_path / "p.xlsx").exists()


def test_a_docx_like_zip_is_not_a_workbook(tmp_path):
    path = _write_zip(tmp_path / "doc.xlsx", {"word/document.xml": b"<w/>"})
    result = _invoke("validate", path)
    assert result.exit_code == 1 and "not an Excel workbook" in result.output


def test_entity_expansion_is_refused(tmp_path):
    inp = make_workbook(tmp_path / "in.xlsx", VALID)
    members = _members(inp)
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            + b"".join(b'<!ENTITY lol%d "%s">' % (i + 1, (b"&lol%d;" % i if i else b"&lol;") * 10)
                       for i in range(9))
            + b"]>")
    sheet = re.sub(rb"^<\?xml[^>]*\?>", b"", members["xl/worksheets/sheet1.xml"])
    members["xl/worksheets/sheet1.xml"] = bomb + sheet.replace(b"<v>", b"<v>&lol9;", 1)
    path = _write_zip(tmp_path / "bomb.xlsx", members)
    start = time.perf_counter()
    result = _invoke("validate", path)
    assert result.exit_code == 1 and "cannot be read safely" in result.output, result.output
    assert time.perf_counter() - start < 10
    # An entity XML does not define is refused too (a parser would stop at it).
    members["xl/worksheets/sheet1.xml"] = sheet.replace(b"<v>", b"<v>&nbsp;", 1)
    result = _invoke("validate", _write_zip(tmp_path / "undefined.xlsx", members))
    assert result.exit_code == 1 and "cannot be read safely" in result.output, result.output


def test_zip_bomb_is_refused_quickly_with_bounded_memory(tmp_path):
    inp = make_workbook(tmp_path / "in.xlsx", VALID)
    members = _members(inp)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        # 300 MB of blanks inside a sheet part: compresses ~1000:1.
        with zf.open("xl/worksheets/sheet99.xml", "w", force_zip64=True) as fh:
            block = b" " * (1 << 20)
            for _ in range(300):
                fh.write(block)
    path = tmp_path / "zipbomb.xlsx"
    path.write_bytes(buf.getvalue())
    assert path.stat().st_size < 2_000_000
    tracemalloc.start()
    start = time.perf_counter()
    result = _invoke("validate", path)
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert result.exit_code == 1 and "zip bomb" in result.output
    assert elapsed < 10 and peak < 64 * 2**20


def test_formula_like_text_is_written_as_text(tmp_path):
    sheets = copy.deepcopy(VALID)
    inp = make_workbook(tmp_path / "in.xlsx", sheets)
    wb = openpyxl.load_workbook(inp)
    link = '=HYPERLINK("http://evil.example","mine")'
    for ws, col in ((wb["Suppliers"], 1),):
        cell = ws.cell(row=2, column=col, value=link)
        cell.data_type = "s"  # typed as text in the input, not a formula
    wb.save(inp)
    out = tmp_path / "plan.xlsx"
    result = _invoke("run", inp, "-o", out, "--jobs", "1")
    assert result.exit_code == 0, result.output
    flows = read_plan_sheet(out, "Flows")
    assert any(f["from"] == link for f in flows)
    plan = openpyxl.load_workbook(out)  # formulas would come back with data_type "f"
    cells = [c for row in plan["Flows"].iter_rows() for c in row if c.value == link]
    assert cells and all(c.data_type == "s" for c in cells)


def test_output_open_in_excel_is_reported(tmp_path):
    inp = make_workbook(tmp_path / "in.xlsx", VALID)
    (tmp_path / "~$plan.xlsx").write_text("lock")
    result = _invoke("run", inp, "-o", tmp_path / "plan.xlsx", "--jobs", "1")
    assert result.exit_code == 4 and "close it" in result.output
    assert not (tmp_path / "plan.xlsx").exists()


# --------------------------------------------------------------------------- near-duplicate ids

def _differ(spelling, place, common, common_place, what):
    return (f"'{spelling}' ({place}) and '{common}' ({common_place}) differ only in case, "
            f"spaces or punctuation; ids must match exactly, so these are two different {what}")


SPELLINGS = [
    # Acme, acme (twice: one warning per spelling, not per row) and ACME are three suppliers;
    # each other spelling is compared with the most used one, acme.
    ("suppliers", [
        add_row("Suppliers", supplier="Acme", country="AU", material="ore", capacity_t=5,
                unit_cost=50),
        add_row("Suppliers", supplier="acme", country="AU", material="ore", capacity_t=5,
                unit_cost=50),
        add_row("Suppliers", supplier="acme", country="AU", material="ore", capacity_t=5,
                unit_cost=50, period="Q1"),
        add_row("Suppliers", supplier="ACME", country="AU", material="ore", capacity_t=5,
                unit_cost=50)],
     [("sheet Suppliers, row 4, column supplier (A)",
       _differ("Acme", "Suppliers row 4", "acme", "Suppliers row 5", "suppliers")),
      ("sheet Suppliers, row 7, column supplier (A)",
       _differ("ACME", "Suppliers row 7", "acme", "Suppliers row 5", "suppliers"))]),
    # A country `au` meets neither the AU of the other nodes nor Freight's AU rows.
    ("countries", [
        add_row("Suppliers", supplier="perth", country="au", material="ore", capacity_t=5,
                unit_cost=50),
        add_row("Freight", from_country="Au", to_country="KR", cost_per_t=1)],
     [("sheet Suppliers, row 4, column country (B)",
       _differ("au", "Suppliers row 4", "AU", "Suppliers row 2", "countries")),
      ("sheet Freight, row 4, column from_country (A)",
       _differ("Au", "Freight row 4", "AU", "Suppliers row 2", "countries"))]),
    # One row each: the first written is the reference.
    ("customers", [
        add_row("Demand", customer="Cathode Osaka", country="JP", material="oxide",
                period="Q1", quantity_t=5),
        add_row("Demand", customer="plant 2", country="JP", material="oxide", period="Q1",
                quantity_t=5),
        add_row("Demand", customer="Cathode-Osaka", country="JP", material="oxide",
                period="Q1", quantity_t=5)],
     [("sheet Demand, row 5, column customer (A)",
       _differ("Cathode-Osaka", "Demand row 5", "Cathode Osaka", "Demand row 3",
               "customers"))]),
    # A rule naming an unknown `cn`: compared with nodes, groups and countries alike.
    ("restriction", [edit("Restrictions", 0, **{"from": "cn"})],
     [("sheet Restrictions, row 2, column from (C)",
       _differ("cn", "Restrictions row 2", "CN", "Suppliers row 3", "countries"))]),
]


@pytest.mark.parametrize("mutations,expected", [c[1:] for c in SPELLINGS],
                         ids=[c[0] for c in SPELLINGS])
def test_ids_that_differ_only_in_case_spaces_or_punctuation_are_flagged(tmp_path, mutations,
                                                                        expected):
    sheets = copy.deepcopy(VALID)
    for mutate in mutations:
        mutate(sheets)
    inp = make_workbook(tmp_path / "in.xlsx", sheets)
    result = _invoke("validate", inp)
    assert result.exit_code == 0, result.output
    lines = [ln for ln in result.output.splitlines() if "differ only in case" in ln]
    assert len(lines) == len(expected), result.output
    for where, words in expected:
        assert any(where in ln and "warning:" in ln and words in ln for ln in lines), \
            result.output
    assert _invoke("run", inp, "-o", tmp_path / "p.xlsx", "--jobs", "1").exit_code == 0


# --------------------------------------------------------------------------- process loops
#
# Ore is mined in AU (10 per t) and refined at Kwinana (AU) into metal for a plant in JP;
# Osaka (JP) turns metal back into ore. Processing costs 1 per t of input everywhere, freight
# 5 per t. Row numbers: Kwinana's process is Processes row 2, Osaka's row 3.

def _loop(forward=2.0, back=2.0, freight=(("AU", "JP"), ("JP", "AU")), osaka="Osaka", **more):
    sheets = {
        "Suppliers": [{"supplier": "mine", "country": "AU", "material": "ore",
                       "capacity_t": 1000, "unit_cost": 10}],
        "Sites": [{"site": "Kwinana", "country": "AU", "capacity_t": None},
                  {"site": "Osaka", "country": "JP", "capacity_t": None}],
        "Processes": [{"site": "Kwinana", "input_material": "ore", "output_material": "metal",
                       "yield": forward, "cost_per_t": 1},
                      {"site": osaka, "input_material": "metal", "output_material": "ore",
                       "yield": back, "cost_per_t": 1}],
        "Freight": [{"from_country": a, "to_country": b, "cost_per_t": 5} for a, b in freight],
        "Demand": [{"customer": "plant", "country": "JP", "material": "metal", "period": "P1",
                    "quantity_t": 40}],
    }
    sheets.update(more)
    return sheets


LOOP_2X2 = ("at Kwinana ore -> metal (yield 2, row 2), at Osaka metal -> ore (yield 2, row 3): "
            "1 t of ore comes back as 4 t; check the yields")


def _refused(tmp_path, sheets, where, *words):
    """validate and run both refuse the workbook at `where` (test_reading's check)."""
    from test_reading import _rejected

    _rejected(tmp_path, make_workbook(tmp_path / "loop.xlsx", sheets), where, *words)


def _total_cost(tmp_path, sheets) -> float:
    inp = make_workbook(tmp_path / "ok.xlsx", sheets)
    out = tmp_path / "ok-plan.xlsx"
    result = _invoke("run", inp, "-o", out, "--jobs", "1")
    assert result.exit_code == 0, result.output
    return read_plan_sheet(out, "Summary")[0]["total_cost"]


def test_a_process_loop_that_makes_material_is_refused(tmp_path):
    # 1 t of ore -> 2 t metal at Kwinana -> shipped to Osaka -> 4 t of ore -> shipped back.
    # (Before the check: exit 0 and an "optimal" plan of 420 built on metal from nothing.)
    _refused(tmp_path, _loop(), "sheet Processes, row 2, column yield (D)",
             "processes form a loop that makes material from nothing: " + LOOP_2X2)


def test_a_loop_at_one_site_needs_no_transport(tmp_path):
    # Both processes at Kwinana, and no freight at all: the loop closes inside the site.
    here = [{"customer": "plant", "country": "AU", "material": "metal", "period": "P1",
             "quantity_t": 40}]
    _refused(tmp_path, _loop(osaka="Kwinana", freight=(), Demand=here),
             "sheet Processes, row 2, column yield (D)",
             "at Kwinana ore -> metal (yield 2, row 2), at Kwinana metal -> ore (yield 2, "
             "row 3): 1 t of ore comes back as 4 t")


def test_loops_whose_yields_multiply_to_1_or_less_are_accepted(tmp_path):
    # 0.5 x 2.0000001 = 1.00000005: above 1 + 1e-9, refused.
    _refused(tmp_path, _loop(forward=0.5, back=2.0000001),
             "sheet Processes, row 3, column yield (D)",
             "at Kwinana ore -> metal (yield 0.5, row 2), at Osaka metal -> ore (yield 2, "
             "row 3): 1 t of ore comes back as 1.00000005 t")
    # 0.5 x 2 = 1 and 0.5 x 1.9 = 0.95 make nothing; the loop only costs, so it is unused:
    # 40 t metal need 80 t ore: purchase 80 x 10 = 800, processing 80 x 1 = 80, freight
    # Kwinana -> plant 40 x 5 = 200: 1080.
    for back in (2.0, 1.9):
        assert _total_cost(tmp_path, _loop(forward=0.5, back=back)) == pytest.approx(1080)


def test_a_loop_counts_only_where_the_material_can_travel(tmp_path):
    # Without JP -> AU freight, Osaka's ore cannot go back to Kwinana: no loop. By hand:
    # 20 t ore (200) refined at Kwinana (20) into 40 t metal, shipped to the plant (200): 420.
    assert _total_cost(tmp_path, _loop(freight=[("AU", "JP")])) == pytest.approx(420)
    # Freight both ways, but the lane Osaka -> Kwinana is closed: no loop either, 420.
    closed = [{"from": "Osaka", "to": "Kwinana", "allowed": "no"}]
    assert _total_cost(tmp_path, _loop(Lanes=closed)) == pytest.approx(420)
    # A priced lane Osaka -> Kwinana opens the way back without any JP -> AU freight.
    lane = [{"from": "Osaka", "to": "Kwinana", "cost_per_t": 3}]
    _refused(tmp_path, _loop(freight=[("AU", "JP")], Lanes=lane),
             "sheet Processes, row 2, column yield (D)", LOOP_2X2)


def test_a_loop_through_a_stockpile(tmp_path):
    # No AU -> JP freight: Kwinana's metal reaches Osaka only through the stockpile in KR
    # (AU -> KR, KR -> JP), and only if it takes metal in. The plant is in AU here.
    def sheets(intake):
        return _loop(freight=[("AU", "KR"), ("KR", "JP"), ("JP", "AU")],
                     Demand=[{"customer": "plant", "country": "AU", "material": "metal",
                              "period": "P1", "quantity_t": 40}],
                     Stockpiles=[{"stockpile": "Busan", "country": "KR", "material": "metal",
                                  "initial_t": 0, "intake": intake}])
    # Without intake: 20 t ore (200) + refining (20), all within AU: 220.
    assert _total_cost(tmp_path, sheets("no")) == pytest.approx(220)
    _refused(tmp_path, sheets("yes"), "sheet Processes, row 2, column yield (D)", LOOP_2X2)


def test_a_scenario_that_makes_a_loop_gain_is_refused(tmp_path):
    # Base: 0.5 x 2 = 1 (accepted above). `richer` multiplies Kwinana's yield by 1.5:
    # 0.75 x 2 = 1.5. Named at the change's Scenarios row.
    richer = [{"scenario": "richer", "sheet": "Processes", "where": "site=Kwinana",
               "column": "yield", "action": "multiply", "value": 1.5}]
    _refused(tmp_path, _loop(forward=0.5, Scenarios=richer),
             "sheet Scenarios, row 2, column value (F)",
             "scenario 'richer': processes form a loop that makes material from nothing: "
             "at Kwinana ore -> metal (yield 0.75, row 2), at Osaka metal -> ore (yield 2, "
             "row 3): 1 t of ore comes back as 1.5 t")
    # Base: 2 x 2 with no way back (accepted above); `new lane` prices the lane Osaka ->
    # Kwinana. No yield changes, so the loop is named at its Processes row, with the scenario.
    lane = [{"from": "Osaka", "to": "Kwinana", "max_t": 100}]
    opened = [{"scenario": "new lane", "sheet": "Lanes", "where": "from=Osaka",
               "column": "cost_per_t", "action": "set", "value": 3}]
    _refused(tmp_path, _loop(freight=[("AU", "JP")], Lanes=lane, Scenarios=opened),
             "sheet Processes, row 2, column yield (D)",
             "in scenario 'new lane', processes form a loop that makes material from nothing: "
             + LOOP_2X2)


# Co-products: Kwinana splits ore (1,000 per t) into metal and slag; Osaka turns slag (and
# metal) back into ore. Processing 1 per t of input, freight 5 per t each way. Rows: split
# 2 (metal) and 3 (slag), Osaka's slag back 4, metal back 5.

def _split(metal=0.6, slag=0.6, metal_back=True, freight=(("AU", "JP"), ("JP", "AU"))):
    back = [{"site": "Osaka", "process": "slag back", "input_material": "slag",
             "output_material": "ore", "yield": 1.0, "cost_per_t": 1}]
    if metal_back:
        back.append({"site": "Osaka", "process": "metal back", "input_material": "metal",
                     "output_material": "ore", "yield": 1.0, "cost_per_t": 1})
    split = [{"site": "Kwinana", "process": "split", "input_material": "ore",
              "output_material": m, "yield": y, "cost_per_t": 1}
             for m, y in (("metal", metal), ("slag", slag))]
    return _loop(freight=freight, Processes=split + back,
                 Suppliers=[{"supplier": "mine", "country": "AU", "material": "ore",
                             "capacity_t": 1000, "unit_cost": 1000}])


def test_a_loop_that_gains_only_through_co_products_is_refused(tmp_path):
    # Edge by edge every loop loses (ore -> metal -> ore and ore -> slag -> ore: 0.6 each),
    # but 1 t of ore comes back as 0.6 + 0.6 = 1.2 t. Unchecked, the plan delivered the 40 t
    # of metal without buying any ore ("optimal", purchase cost 0).
    _refused(tmp_path, _split(), "sheet Processes, row 2, column yield (E)",
             "processes make material from nothing through their co-products: at Kwinana "
             "split: ore -> metal (yield 0.6, row 2) and slag (yield 0.6, row 3); at Osaka "
             "slag back: slag -> ore (yield 1, row 4); at Osaka metal back: metal -> ore "
             "(yield 1, row 5)", "check the yields")
    # 0.5 + 0.5000001: a gain of 1e-7 t per turn is found too.
    _refused(tmp_path, _split(metal=0.5, slag=0.5000001),
             "sheet Processes, row 2, column yield (E)", "through their co-products")
    # A split that also puts out a little of its own input (a recycle stream) is still
    # checked: two terms of one process in one material once made the check's LP fail and
    # pass for "no loop".
    recycle = _split()
    recycle["Processes"].insert(2, {"site": "Kwinana", "process": "split",
                                    "input_material": "ore", "output_material": "ore",
                                    "yield": 0.05, "cost_per_t": 1})
    _refused(tmp_path, recycle, "sheet Processes, row 2, column yield (E)",
             "through their co-products", "ore (yield 0.05, row 4)")


def test_a_blank_process_name_is_a_process_of_its_own(tmp_path):
    # Row 2 has no process name (shown as "row 2"); row 3 is a process the user named
    # "row 2" at the same site. They are two one-output processes, not one making metal
    # and slag together (which would make ore from nothing): by hand, 66.67 t of ore bought
    # and split for 40 t of metal (66,666.67 + 66.67 + freight 200 = 66,933.33).
    sheets = _split()
    sheets["Processes"][0]["process"] = None
    sheets["Processes"][1]["process"] = "row 2"
    assert _total_cost(tmp_path, sheets) == pytest.approx(66933.3333, rel=1e-6)


def test_co_products_that_make_nothing_from_nothing_are_accepted(tmp_path):
    # Only slag comes back: 1 t of ore in, 0.6 t back; the rest must be bought. By hand:
    # 40 t of metal needs 66.67 t through the split, 40 t of it slag turned back into ore,
    # so 26.67 t bought (26,666.67); processing 66.67 + 40; freight metal, slag and ore
    # 3 x 40 x 5 = 600: 27,373.33.
    assert _total_cost(tmp_path, _split(metal_back=False)) == pytest.approx(27373.3333, rel=1e-6)
    # 0.5 + 0.5, both turned back: a loop that neither gains nor loses. 80 t through the
    # split, 40 t of slag back, 40 t bought: 40,000 + 80 + 40 + 600 = 40,720.
    assert _total_cost(tmp_path, _split(metal=0.5, slag=0.5)) == pytest.approx(40720, rel=1e-6)
    # The gaining split, but nothing can go back from Osaka to Kwinana: 66.67 t bought,
    # processed (66.67), metal shipped (200), the slag left: 66,933.33.
    assert _total_cost(tmp_path, _split(freight=[("AU", "JP")])) == pytest.approx(66933.3333,
                                                                                 rel=1e-6)


def test_unknown_ids_get_a_did_you_mean_and_periods_their_labels(tmp_path):
    sheets = copy.deepcopy(VALID)
    edit("Limits", 0, period="Q 1")(sheets)
    add_row("Lanes", **{"from": "mil", "to": "plant", "cost_per_t": 1})(sheets)
    result = _invoke("validate", make_workbook(tmp_path / "in.xlsx", sheets))
    assert result.exit_code == 1
    assert ("unknown period 'Q 1' (did you mean 'Q1'?); use a period label (Q1), all, or "
            "leave it blank") in result.output
    assert "unknown node 'mil' (did you mean 'mill'?)" in result.output


def test_headers_with_a_unit_in_brackets_are_recognised(tmp_path):
    """`Unit cost (USD/t)` is unit_cost and `Capacity [t]` capacity_t: the same plan as the
    plain headers (checked against the valid workbook's cost)."""
    sheets = copy.deepcopy(VALID)
    rename_column("Suppliers", "unit_cost", "Unit cost (USD/t)")(sheets)
    rename_column("Suppliers", "capacity_t", "Capacity [t]")(sheets)
    renamed = make_workbook(tmp_path / "units.xlsx", sheets)
    plain = make_workbook(tmp_path / "plain.xlsx", VALID)
    costs = []
    for inp in (renamed, plain):
        out = tmp_path / f"{inp.stem}-plan.xlsx"
        result = _invoke("run", inp, "-o", out, "--jobs", "1")
        assert result.exit_code == 0, result.output
        assert "unknown column" not in result.output
        costs.append(read_plan_sheet(out, "Summary")[0]["total_cost"])
    assert costs[0] == costs[1]


@pytest.mark.parametrize("sheet", ["Demand", "Suppliers"])
def test_a_required_sheet_with_only_its_header_is_an_error(tmp_path, sheet):
    """A required sheet whose rows were all deleted is as good as missing: an error at the
    sheet, exit status 1 (it was a warning, and a Demand sheet so emptied planned nothing
    at a total cost of 0 with exit status 0)."""
    sheets = copy.deepcopy(VALID)
    sheets["Periods"] = [{"period": "Q1"}]
    inp = make_workbook(tmp_path / "in.xlsx", sheets)
    wb = openpyxl.load_workbook(inp)
    wb[sheet].delete_rows(2, wb[sheet].max_row)
    wb.save(inp)
    result = _invoke("run", inp, "-o", tmp_path / "plan.xlsx", "--jobs", "1")
    assert result.exit_code == 1, result.output
    assert f"error: sheet {sheet}: the sheet has a header but no rows" in result.output
    assert not (tmp_path / "plan.xlsx").exists()


def test_a_negative_quota_is_reported_once(tmp_path):
    """-5 in a quota's max_t is an error at the cell; the blank it reads as is not also
    "a quota needs max_t" (both were listed)."""
    sheets = copy.deepcopy(VALID)
    edit("Restrictions", 0, max_t=-5)(sheets)
    result = _invoke("validate", make_workbook(tmp_path / "in.xlsx", sheets))
    assert result.exit_code == 1
    assert "must not be negative" in result.output
    assert "a quota needs max_t" not in result.output
