"""How scenarios are spread over processes by default: serially while they are quick (a
worker process costs more than a small scenario), on every CPU once one is slow; progress
always in workbook order."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest

from planner import plan as pipeline
from planner.solve import SolveOptions


class RecordingPool(ThreadPoolExecutor):
    """Stands in for the process pool: runs in threads, remembers what it was given."""
    made: list = []

    def __init__(self, workers, mp_context=None, initializer=None, initargs=()):
        super().__init__(workers)
        RecordingPool.made.append(workers)


@pytest.fixture
def fake(monkeypatch):
    """Scenarios that return their own name at once; the pool and CPUs as recorded."""
    RecordingPool.made = []
    RecordingPool.starts = {}

    RecordingPool.likes = {}

    def solve_scenario(name, inputs, options, data, start=None, keep_basis=False, like=None,
                       keep_model=False):
        RecordingPool.starts[name] = start
        RecordingPool.likes[name] = like
        return name, {**({"basis": f"optimum of {name}"} if keep_basis else {}),
                      **({"model": f"model of {name}"} if keep_model else {})}

    monkeypatch.setattr(pipeline, "solve_scenario", solve_scenario)
    monkeypatch.setattr(pipeline, "ProcessPoolExecutor", RecordingPool)
    monkeypatch.setattr(pipeline, "usable_cpus", lambda: 2)


# Every task's inputs: the same tables, as scenarios that change only rules have.
SAME = SimpleNamespace(settings=None, periods=[], tables={})


def _tasks(times):
    return [(f"s{i}", SAME, f"s{i}") for i, t in enumerate(times)]


def _run(monkeypatch, times, jobs=None):
    """Run tasks whose (fake) solves take `times` seconds each."""
    ticks = []
    now = 0.0
    for t in times:  # perf_counter read before and after each serial solve
        ticks += [now, now + t]
        now += t
    it = iter(ticks + [now] * 100)
    monkeypatch.setattr(pipeline.time, "perf_counter", lambda: next(it))
    seen = []
    results, _ = pipeline.run_tasks(_tasks(times), SolveOptions(), jobs,
                                    lambda name, info: seen.append(name))
    return results, seen


def test_quick_scenarios_stay_serial(fake, monkeypatch):
    results, seen = _run(monkeypatch, [0.1, 0.1, 0.1, 0.1])
    assert RecordingPool.made == []
    assert seen == ["s0", "s1", "s2", "s3"] == [r[0] for r in results]


def test_a_slow_scenario_sends_the_rest_to_every_cpu(fake, monkeypatch):
    results, seen = _run(monkeypatch, [0.1, pipeline.PARALLEL_AFTER_S + 1, 5, 5, 5])
    assert RecordingPool.made == [2]          # after s1, the three left on 2 processes
    assert seen == ["s0", "s1", "s2", "s3", "s4"] == [r[0] for r in results]


def test_the_last_scenario_alone_gets_no_pool(fake, monkeypatch):
    _run(monkeypatch, [0.1, pipeline.PARALLEL_AFTER_S + 1, 5])
    assert RecordingPool.made == []


def test_jobs_given_are_taken_as_given(fake, monkeypatch):
    _run(monkeypatch, [0.1, 0.1, 0.1], jobs=2)
    assert RecordingPool.made == [2]
    _run(monkeypatch, [9, 9, 9], jobs=1)
    assert RecordingPool.made == [2]


@pytest.mark.parametrize("times, jobs", [([0.1, 0.1, 0.1], None),
                                         ([0.1, pipeline.PARALLEL_AFTER_S + 1, 5, 5], None),
                                         ([9, 9, 9], 2), ([9, 9], 1)])
def test_every_task_starts_from_the_first_tasks_optimum(fake, monkeypatch, times, jobs):
    """Serially or in the pool, every later task gets the first task's basis (never the
    one solved just before it), and the first task starts from scratch."""
    results, _ = _run(monkeypatch, times, jobs)
    assert RecordingPool.starts == {"s0": None, **{f"s{i}": "optimum of s0"
                                                   for i in range(1, len(times))}}
    assert all("basis" not in info for _, info in results)


@pytest.mark.parametrize("times, jobs, serial", [([0.1, 0.1, 0.1], None, ["s1", "s2"]),
                                                 ([0.1, pipeline.PARALLEL_AFTER_S + 1, 5, 5],
                                                  None, ["s1"]),
                                                 ([9, 9, 9], 2, [])])
def test_tasks_in_this_process_get_the_first_tasks_model(fake, monkeypatch, times, jobs,
                                                         serial):
    """Serial tasks are given the first task's model as `like` (they share its tables, so
    its network and rows before the rules); tasks in worker processes are not (it would be
    copied to them)."""
    _run(monkeypatch, times, jobs)
    assert RecordingPool.likes["s0"] is None
    for name, like in RecordingPool.likes.items():
        if name != "s0":
            assert like == ("model of s0" if name in serial else None), name


def test_no_model_is_kept_when_no_task_shares_the_first_tasks_tables(fake, monkeypatch):
    monkeypatch.setattr(pipeline.time, "perf_counter", lambda: 0.0)
    tasks = [(f"s{i}", SimpleNamespace(settings=None, periods=[], tables={"Demand": object()}),
              f"s{i}") for i in range(3)]
    pipeline.run_tasks(tasks, SolveOptions(), None)
    assert list(RecordingPool.likes.values()) == [None, None, None]


def test_tasks_given_a_reference_start_from_its_basis_and_share_its_model(fake, monkeypatch):
    # The frontier's bisection: one task at a time, from the sweep's reference.
    monkeypatch.setattr(pipeline.time, "perf_counter", lambda: 0.0)
    given = pipeline.Reference("optimum of the loosest cap", "model of the loosest cap")
    _, reference = pipeline.run_tasks(_tasks([0.1]), SolveOptions(), 1, start=given)
    assert RecordingPool.starts == {"s0": given.basis}
    assert RecordingPool.likes == {"s0": given.model}
    assert reference == given
