"""The spare process (planner/spare.py): a second interpreter started with the command that
solves scenarios beside it. It answers what it is sent, its prints cannot corrupt the
answers, a spare that ends is noticed, and a plan does not depend on it: the same tables
whether the spare solved some scenarios, none, or died on the way."""
from __future__ import annotations

import operator
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from planner import api, spare
from planner.launch import wants_spare
from test_cli import EXAMPLE

TWO_CPUS = pytest.mark.skipif(spare.usable_cpus() < 2, reason="a spare needs a second CPU")


@pytest.fixture
def helper():
    """This process's spare, loading the planner, stopped whatever the test does."""
    made = spare.start("planner.plan")
    yield made
    spare.stop()


def _spares() -> list[int]:
    """Spare processes running on this machine, by their command line."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and b"planner.spare import serve" in Path(
                    f"/proc/{entry}/cmdline").read_bytes():
                found.append(int(entry))
        except OSError:
            pass
    return found


@pytest.mark.parametrize("args, wanted", [
    (["run", "in.xlsx"], True), (["frontier", "in.xlsx", "--material", "Li"], True),
    (["run", "in.xlsx", "--jobs", "1"], False), (["run", "in.xlsx", "--jobs=3"], False),
    (["run", "--help"], False), (["validate", "in.xlsx"], False),
    (["stress", "in.xlsx"], False), ([], False)])
def test_only_commands_solving_one_scenario_after_another_want_a_spare(args, wanted):
    assert wants_spare(args) is wanted


@TWO_CPUS
def test_a_spare_answers_calls_and_raises_their_errors():
    made = spare.Spare("operator")
    try:
        assert made.call(operator.add, 2, 3) == 5
        with pytest.raises(ValueError, match="invalid literal"):
            made.call(int, "five")
        # Whatever it prints goes nowhere: the answers after it still arrive whole.
        assert made.call(print, "a line that would corrupt the channel") is None
        assert made.call(os.write, 1, b"raw bytes on its standard output") == 32
        assert made.call(operator.mul, 6, 7) == 42
        assert made.calls == 5
    finally:
        made.stop()


@TWO_CPUS
def test_a_spare_that_ended_is_lost_not_waited_for():
    made = spare.Spare("operator")
    assert made.wait_ready()
    made._process.kill()
    made._process.wait()
    with pytest.raises(spare.SpareLost):
        made.call(operator.add, 1, 1)
    made.stop()


def _tables(plan: api.PlanTables) -> dict[str, pd.DataFrame]:
    """The plan's tables without what depends on time (Run info)."""
    return {name: frame for name, frame in plan.items() if name != "Run info"}


def _assert_same(a: api.PlanTables, b: api.PlanTables) -> None:
    assert list(a) == list(b)
    for name, frame in _tables(a).items():
        pd.testing.assert_frame_equal(frame, b[name], check_exact=True, obj=name)


@TWO_CPUS
def test_a_plan_is_the_same_with_the_spare_solving_some_scenarios(helper):
    """Serially in this process (jobs=1) against the default with a spare ready: the spare
    answers some of the example's scenarios, and every table is equal to the last bit."""
    alone = api.plan(EXAMPLE, jobs=1)
    assert helper.wait_ready()
    shared = api.plan(EXAMPLE, jobs=None)
    assert helper.calls >= 1
    _assert_same(shared, alone)


@TWO_CPUS
def test_a_spare_that_dies_leaves_its_scenarios_to_this_process(helper):
    alone = api.plan(EXAMPLE, jobs=1)
    assert helper.wait_ready()
    helper._process.kill()
    shared = api.plan(EXAMPLE, jobs=None)
    assert helper.calls == 0
    _assert_same(shared, alone)


# The command as its console script runs it, saying on stderr how many calls its spare
# answered when the command stops it (it ends with a hard exit: no atexit).
COUNTING = """
import sys
from planner import launch, spare
stop = spare.stop
def counted():
    sys.stderr.write(f"spare answered {spare.current() and spare.current().calls}")
    stop()
spare.stop = counted
sys.argv = ["planner", *sys.argv[1:]]
launch.entry()
"""


@TWO_CPUS
def test_the_command_uses_its_spare_and_leaves_none_behind(tmp_path):
    before = set(_spares())
    out = tmp_path / "plan.xlsx"
    proc = subprocess.run([sys.executable, "-c", COUNTING, "run", str(EXAMPLE), "-o", str(out),
                           "--quiet"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.startswith("spare answered ")
    assert int(proc.stderr.split()[-1]) >= 1, proc.stderr
    assert set(_spares()) <= before


def test_one_process_asked_for_starts_no_spare(tmp_path):
    proc = subprocess.run([sys.executable, "-c", COUNTING, "run", str(EXAMPLE), "-o",
                           str(tmp_path / "plan.xlsx"), "--quiet", "--jobs", "1"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "spare answered None"
