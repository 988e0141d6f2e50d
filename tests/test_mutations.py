"""Property: whatever a colleague does to a valid workbook (blank a cell, type the wrong
thing, duplicate a row, delete a sheet), the planner plans it or rejects it with exit
status 1; never a traceback, never a partial file, never a changed input."""
from __future__ import annotations

import copy
import hashlib

from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from planner.cli import main
from test_validation import VALID
from wb import make_workbook, read_plan_sheet

CELLS = [(sheet, i, col) for sheet, rows in VALID.items() for i, row in enumerate(rows)
         for col in row]
# openpyxl stores "#N/A" and the other Excel error codes as error cells (data type "e") and
# "=..." as a formula without a cached value: neither may ever be planned as a number.
UNTRUSTED = ["#N/A", "#DIV/0!", "#REF!", "#VALUE!", "=1+1", "=B2*2"]
WRONG = st.sampled_from([None, "", "abc", "1,000", "12 t", "N/A", -5, 0, 1e12, "65%", True,
                         "NA", " ", "mine", "Q1", "CN", "each", "all", *UNTRUSTED])


@st.composite
def mutations(draw):
    steps = draw(st.lists(st.one_of(
        st.tuples(st.just("cell"), st.sampled_from(CELLS), WRONG),
        st.tuples(st.just("duplicate"), st.sampled_from(sorted(VALID)), st.integers(0, 5)),
        st.tuples(st.just("remove"), st.sampled_from(sorted(VALID)), st.none()),
    ), min_size=1, max_size=4))
    return steps


def _apply(steps) -> dict:
    sheets = copy.deepcopy(VALID)
    for kind, target, value in steps:
        if kind == "cell":
            sheet, i, col = target
            if sheet in sheets and i < len(sheets[sheet]):
                sheets[sheet][i][col] = value
        elif kind == "duplicate" and target in sheets and sheets[target]:
            sheets[target].append(dict(sheets[target][value % len(sheets[target])]))
        elif kind == "remove":
            sheets.pop(target, None)
    return sheets


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=mutations())
@example(steps=[("cell", ("Suppliers", 0, "capacity_t"), "#N/A")])  # was read as unlimited
@example(steps=[("cell", ("Limits", 0, "max_share"), "#DIV/0!")])   # was read as blank
def test_mutated_workbooks_plan_or_are_rejected(tmp_path_factory, steps):
    folder = tmp_path_factory.mktemp("m")
    sheets = _apply(steps)
    untrusted = any(v in UNTRUSTED for rows in sheets.values() for r in rows for v in r.values())
    inp = make_workbook(folder / "in.xlsx", sheets)
    before = hashlib.sha256(inp.read_bytes()).hexdigest()
    out = folder / "plan.xlsx"
    result = CliRunner().invoke(main, ["run", str(inp), "-o", str(out), "--jobs", "1"])
    assert result.exit_code in (0, 1, 3), (steps, result.output)
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert hashlib.sha256(inp.read_bytes()).hexdigest() == before
    if untrusted:  # an error value or an uncomputed formula is never planned as a number
        assert result.exit_code == 1, (steps, result.output)
        assert "the cell holds the Excel error" in result.output \
            or "formula without a computed value" in result.output, (steps, result.output)
    if result.exit_code == 1:
        assert not out.exists()
        assert "error:" in result.output
    else:
        assert [r["scenario"] for r in read_plan_sheet(out, "Summary")][0] == "base"
    assert sorted(p.name for p in folder.iterdir()) in (["in.xlsx"], ["in.xlsx", "plan.xlsx"])
