"""The command line as a user meets it: exit statuses (README.md), files written or not."""
from __future__ import annotations

import hashlib
import shlex
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from planner import __version__
from planner.cli import main
from wb import make_workbook, read_plan_sheet

EXAMPLE = Path(__file__).resolve().parents[1] / "inputs" / "example.xlsx"

SHEETS = {
    "Suppliers": [{"supplier": "mine", "country": "AU", "material": "ore", "capacity_t": 100,
                   "unit_cost": 10}],
    "Demand": [{"customer": "plant", "country": "JP", "material": "ore", "period": "Q1",
                "quantity_t": 60}],
    "Freight": [{"from_country": "AU", "to_country": "JP", "cost_per_t": 5}],
}


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_run_writes_a_complete_plan_and_leaves_the_input_alone(tmp_path):
    inp = make_workbook(tmp_path / "in.xlsx", SHEETS)
    before = _sha(inp)
    out = tmp_path / "plan.xlsx"
    result = _run("run", inp, "-o", out)
    assert result.exit_code == 0, result.output
    assert _sha(inp) == before
    # 60 t at 10 + 5 freight, by hand
    summary = read_plan_sheet(out, "Summary")
    assert summary == [{"scenario": "base", "status": "optimal", "total_cost": 900,
                        "change_vs_base": 0, "change_vs_base_pct": 0,
                        "purchase_cost": 600, "processing_cost": 0, "freight_cost": 300,
                        "stockpile_cost": 0, "unmet_cost": 0, "option_cost": 0,
                        "unmet_t": 0}]
    assert read_plan_sheet(out, "Run info")[0]["message"] == "optimal"
    flows = read_plan_sheet(out, "Flows")
    assert [(f["from"], f["to"], f["quantity_t"], f["freight_cost"]) for f in flows] == \
        [("mine", "plant", 60, 300)]
    assert read_plan_sheet(out, "Run info")[0]["input_sha256"] == before
    assert "total cost 900.00 USD" in result.output
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".~planner")]


def test_default_output_goes_to_outputs_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    make_workbook(tmp_path / "case.xlsx", SHEETS)
    result = _run("run", "case.xlsx", "--quiet")
    assert result.exit_code == 0, result.output
    assert result.output == ""
    assert (tmp_path / "outputs" / "case-plan.xlsx").is_file()


def test_infeasible_plan_exits_3_and_still_writes_the_plan(tmp_path):
    sheets = dict(SHEETS, Demand=[dict(SHEETS["Demand"][0], quantity_t=150)])
    inp = make_workbook(tmp_path / "in.xlsx", sheets)
    out = tmp_path / "plan.xlsx"
    result = _run("run", inp, "-o", out)
    assert result.exit_code == 3, result.output
    summary = read_plan_sheet(out, "Summary")
    assert summary[0]["status"] == "infeasible" and summary[0]["total_cost"] is None
    assert read_plan_sheet(out, "Flows") == []


def test_invalid_input_exits_1_names_the_cell_and_writes_nothing(tmp_path):
    sheets = dict(SHEETS, Suppliers=[dict(SHEETS["Suppliers"][0], capacity_t="1,000")])
    inp = make_workbook(tmp_path / "in.xlsx", sheets)
    before = _sha(inp)
    out = tmp_path / "plan.xlsx"
    result = _run("run", inp, "-o", out)
    assert result.exit_code == 1
    assert "sheet Suppliers, row 2, column capacity_t (D)" in result.output
    assert "Traceback" not in result.output
    assert not out.exists() and _sha(inp) == before


def test_missing_sheet_and_unreadable_file_exit_1(tmp_path):
    inp = make_workbook(tmp_path / "in.xlsx", {"Suppliers": SHEETS["Suppliers"]})
    result = _run("validate", inp)
    assert result.exit_code == 1 and "required sheet Demand is missing" in result.output
    junk = tmp_path / "junk.xlsx"
    junk.write_text("not a workbook")
    result = _run("run", junk, "-o", tmp_path / "p.xlsx")
    assert result.exit_code == 1 and "junk.xlsx is not an Excel file" in result.output
    assert not (tmp_path / "p.xlsx").exists()


def test_usage_errors_exit_2(tmp_path):
    inp = make_workbook(tmp_path / "in.xlsx", SHEETS)
    assert _run("run", inp, "--solver", "gurobi").exit_code == 2
    assert _run("run", inp, "-o", inp).exit_code == 2
    before = _sha(inp)
    assert _run("frontier", inp, "--material", "ore", "-o", inp).exit_code == 2
    assert _sha(inp) == before
    assert _run("run", inp, "--time-limit", "-1").exit_code == 2
    assert _run("frobnicate").exit_code == 2


def test_time_limit_is_accepted(tmp_path):
    inp = make_workbook(tmp_path / "in.xlsx", SHEETS)
    result = _run("run", inp, "-o", tmp_path / "p.xlsx", "--time-limit", "30")
    assert result.exit_code == 0, result.output
    assert read_plan_sheet(tmp_path / "p.xlsx", "Run info")[0]["time_limit_s"] == 30


def test_unwritable_output_exits_4(tmp_path):
    inp = make_workbook(tmp_path / "in.xlsx", SHEETS)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = _run("run", inp, "-o", blocker / "plan.xlsx")
    assert result.exit_code == 4 and "cannot write" in result.output


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["validate", "--help"],
                                  ["template", "--help"], ["frontier", "--help"]])
def test_help_has_an_example(args):
    result = _run(*args)
    assert result.exit_code == 0 and "Example" in result.output


def _examples(help_text: str) -> list[list[str]]:
    """The commands under "Example:" in a help text, continuation lines joined."""
    lines = help_text.split("Example:", 1)[1].split("\n\n", 1)[0].splitlines()
    commands, current = [], ""
    for line in lines:
        text = line.split("#", 1)[0].strip()
        current += " " + text.rstrip("\\").strip()
        if not text.endswith("\\"):
            if current.strip():
                commands.append(shlex.split(current)[1:])  # without "planner"
            current = ""
    return commands


def test_every_help_example_runs_on_the_shipped_example(tmp_path, monkeypatch):
    (tmp_path / "inputs").mkdir()
    shutil.copy(EXAMPLE, tmp_path / "inputs" / "example.xlsx")
    monkeypatch.chdir(tmp_path)
    ran = []
    for command in ([], ["run"], ["validate"], ["template"], ["frontier"]):
        for example in _examples(_run(*command, "--help").output):
            result = _run(*example, "--jobs", "1") if example[0] in ("run", "frontier") \
                else _run(*example)
            assert result.exit_code == 0, (example, result.output)
            ran.append(example[0])
    assert sorted(set(ran)) == ["frontier", "run", "template", "validate"]
    assert (tmp_path / "outputs" / "plan.xlsx").is_file()
    assert (tmp_path / "inputs" / "my-case.xlsx").is_file()


def test_version():
    result = _run("--version")
    assert result.exit_code == 0 and __version__ in result.output


def test_flows_beyond_a_sheets_rows_are_split_over_sheets(tmp_path, monkeypatch):
    import planner.plan

    monkeypatch.setattr(planner.plan, "FLOWS_PER_SHEET", 2)  # stands for Excel's row limit
    sheets = dict(SHEETS, Suppliers=[dict(SHEETS["Suppliers"][0], supplier=f"mine{i}",
                                          capacity_t=12) for i in range(5)])
    out = tmp_path / "plan.xlsx"
    result = _run("run", make_workbook(tmp_path / "in.xlsx", sheets), "-o", out, "--jobs", "1")
    assert result.exit_code == 0, result.output
    parts = [read_plan_sheet(out, name) for name in ("Flows", "Flows 2", "Flows 3")]
    assert [len(p) for p in parts] == [2, 2, 1]  # 60 t from five mines of 12 t
    assert sum(f["quantity_t"] for p in parts for f in p) == 60


def test_verbose_names_each_independent_block_before_its_solver_log(tmp_path, monkeypatch):
    """Two materials that nothing links are two LPs; --verbose solves them one after the
    other and says which is which. Cost by hand: 60 t x (10 + 5) + 10 t x (20 + 5).
    (Parts this small are normally solved together: every part is a block here.)"""
    monkeypatch.setattr("planner.solve.MIN_BLOCK_COLUMNS", 1)
    sheets = {**SHEETS,
              "Suppliers": SHEETS["Suppliers"] + [{"supplier": "mine2", "country": "AU",
                                                   "material": "salt", "capacity_t": 50,
                                                   "unit_cost": 20}],
              "Demand": SHEETS["Demand"] + [{"customer": "plant2", "country": "JP",
                                             "material": "salt", "period": "Q1",
                                             "quantity_t": 10}]}
    inp = make_workbook(tmp_path / "in.xlsx", sheets)
    result = _run("run", inp, "-o", tmp_path / "plan.xlsx", "--verbose")
    assert result.exit_code == 0, result.output
    assert "independent block 1 of 2" in result.output
    assert "independent block 2 of 2" in result.output
    assert read_plan_sheet(tmp_path / "plan.xlsx", "Summary")[0]["total_cost"] == 1150
