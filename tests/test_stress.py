"""`planner stress`: disruption events with probabilities, each outcome solved with the
plan's contract book fixed (committed) and re-planned (replan), and the statistics of the
cost distribution. Expected values come from hand calculation, from a greedy rule that
solves the one-customer networks below exactly, and from an independent statistics code."""
from __future__ import annotations

import itertools
import math
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from click.testing import CliRunner

from planner import api
from planner.cli import main
from test_cli import EXAMPLE
from wb import frames, make_workbook, table_rows

FREIGHT = [{"from_country": a, "to_country": "JP", "cost_per_t": 0}
           for a in ("CN", "AU", "VN", "US", "CA")]


def _two_suppliers(risks, **extra):
    """A cheap Chinese mine and a dearer Australian one for one Japanese customer (100 t,
    unmet at 1,000/t); the base plan buys the 100 t from China at 10/t."""
    return {
        "Suppliers": [{"supplier": "CN-mine", "country": "CN", "material": "ore",
                       "capacity_t": 100, "unit_cost": 10},
                      {"supplier": "AU-mine", "country": "AU", "material": "ore",
                       "capacity_t": 100, "unit_cost": 20}],
        "Demand": [{"customer": "C", "country": "JP", "material": "ore", "period": "P1",
                    "quantity_t": 100, "unmet_penalty": 1000}],
        "Freight": FREIGHT,
        "Restrictions": [{"rule": "embargo", "type": "ban", "from": "CN", "to": "JP",
                          "scenario": "embargo"}],
        "Risks": risks,
        **extra,
    }


def _by_policy(tables, sheet="Risk"):
    return {r["policy"]: r for r in table_rows(tables[sheet])}


def test_an_embargo_built_from_a_scoped_rule_matches_the_hand_calculation():
    """Embargo p = 0.04. Committed: the book (100 t from China, 1,000) is paid; under the
    embargo the 100 t are bought spot from Australia at 20 x 1.5: 1,000 + 3,000 = 4,000.
    Replan: 1,000, or 2,000 from Australia under the embargo."""
    tables = api.stress(frames(_two_suppliers([{"event": "embargo", "probability": 0.04}])))
    risk = _by_policy(tables)
    committed, replan = risk["committed"], risk["replan"]
    assert committed["expected_cost"] == pytest.approx(0.96 * 1000 + 0.04 * 4000)
    assert committed["std_cost"] == pytest.approx(math.sqrt(0.96 * 120 ** 2 + 0.04 * 2880 ** 2))
    assert committed["var_50"] == committed["var_90"] == committed["var_95"] == 1000
    assert committed["var_99"] == 4000
    # CVaR: the mean of the worst 5% (4% at 4,000, 1% at 1,000), and of the worst 10%.
    assert committed["cvar_95"] == pytest.approx((0.04 * 4000 + 0.01 * 1000) / 0.05)
    assert committed["cvar_90"] == pytest.approx((0.04 * 4000 + 0.06 * 1000) / 0.10)
    assert committed["cvar_99"] == pytest.approx(4000)
    assert replan["expected_cost"] == pytest.approx(0.96 * 1000 + 0.04 * 2000)
    assert replan["cvar_95"] == pytest.approx((0.04 * 2000 + 0.01 * 1000) / 0.05)
    assert committed["p_unmet"] == replan["p_unmet"] == 0
    stress = table_rows(tables["Stress"])
    assert [(r["outcome"], r["events"], r["policy"], r["total_cost"]) for r in stress] == [
        ("o1", "none", "committed", 1000), ("o1", "none", "replan", 1000),
        ("o2", "embargo", "committed", 4000), ("o2", "embargo", "replan", 2000)]
    embargoed = stress[2]
    assert (embargoed["contract_cost"], embargoed["spot_cost"]) == (1000, 3000)
    events = _by_policy(tables, "Events")
    assert events["committed"]["cost_effect"] == pytest.approx(3000)
    assert events["replan"]["cost_effect"] == pytest.approx(1000)


def test_exclusive_events_are_alternatives():
    """An embargo (0.3) or the Australian mine shut (0.2), never both: three outcomes."""
    sheets = _two_suppliers(
        [{"event": "embargo", "probability": 0.3, "exclusive": "crisis"},
         {"event": "au-shut", "probability": 0.2, "exclusive": "crisis"}],
        Scenarios=[{"scenario": "au-shut", "sheet": "Suppliers", "where": "supplier=AU-mine",
                    "column": "capacity_t", "action": "set", "value": 0}])
    tables = api.stress(frames(sheets))
    stress = table_rows(tables["Stress"])
    assert [(r["events"], r["probability"]) for r in stress if r["policy"] == "replan"] == [
        ("none", pytest.approx(0.5)), ("embargo", pytest.approx(0.3)),
        ("au-shut", pytest.approx(0.2))]
    risk = _by_policy(tables)
    assert risk["committed"]["expected_cost"] == pytest.approx(0.5 * 1000 + 0.3 * 4000
                                                               + 0.2 * 1000)
    assert risk["replan"]["expected_cost"] == pytest.approx(0.5 * 1000 + 0.3 * 2000
                                                            + 0.2 * 1000)


# --- several independent outages, against a greedy rule ------------------------------------
OUTAGES = [  # supplier, country, capacity t, unit cost, probability of an outage
    ("S1", "CN", 60, 10, 0.3), ("S2", "AU", 50, 14, 0.2), ("S3", "VN", 40, 17, 0.1),
    ("S4", "US", 30, 25, 0.25), ("S5", "CA", 80, 40, 0.05)]
DEMAND, PENALTY, PREMIUM = 150, 70.0, 0.5


def _outage_sheets(**settings):
    return {
        "Suppliers": [{"supplier": s, "country": c, "material": "ore", "capacity_t": cap,
                       "unit_cost": cost} for s, c, cap, cost, _ in OUTAGES],
        "Demand": [{"customer": "C", "country": "JP", "material": "ore", "period": "P1",
                    "quantity_t": DEMAND, "unmet_penalty": PENALTY}],
        "Freight": FREIGHT,
        "Scenarios": [{"scenario": f"{s}-out", "sheet": "Suppliers", "where": f"supplier={s}",
                       "column": "capacity_t", "action": "set", "value": 0}
                      for s, *_ in OUTAGES],
        "Risks": [{"event": f"{s}-out", "probability": p} for s, *_, p in OUTAGES],
        "Settings": [{"setting": k, "value": v} for k, v in settings.items()],
    }


def _greedy(need: float, offers: list[tuple[float, float]]) -> tuple[float, float]:
    """Cheapest first: (cost, t left) buying `need` t from (capacity, price) offers, with
    the rest unmet when the penalty is cheaper than what is left."""
    cost = 0.0
    for capacity, price in sorted(offers, key=lambda o: o[1]):
        if price >= PENALTY or need <= 0:
            break
        take = min(capacity, need)
        cost, need = cost + take * price, need - take
    return cost + need * PENALTY, need


def _by_hand() -> list[tuple[float, float, float, float, float]]:
    """(probability, committed cost, replan cost, committed unmet, replan unmet) of every
    outcome, from the greedy rule: the book is the base plan's purchases; under an outage
    the booked tonnes of the others arrive (already paid), the rest is bought spot at
    1.5 x unit cost from what the others have left, or left unmet."""
    book = {}
    need = DEMAND
    for s, _, cap, cost, _ in sorted(OUTAGES, key=lambda o: o[3]):
        book[s] = min(cap, need)
        need -= book[s]
    contract = sum(book[s] * cost for s, _, _, cost, _ in OUTAGES)
    found = []
    for out in itertools.product([False, True], repeat=len(OUTAGES)):
        p = math.prod(q if o else 1 - q for (*_, q), o in zip(OUTAGES, out))
        up = [(s, cap, cost) for (s, _, cap, cost, _), o in zip(OUTAGES, out) if not o]
        replan, replan_short = _greedy(DEMAND, [(cap, cost) for _, cap, cost in up])
        arrived = sum(book[s] for s, _, _ in up)
        spot, short = _greedy(DEMAND - arrived, [(cap - book[s], cost * (1 + PREMIUM))
                                                 for s, cap, cost in up])
        found.append((p, contract + spot, replan, short, replan_short))
    return found


def _statistics(costs, weights) -> dict:
    """Independently of the planner: VaR by scanning the sorted outcomes; CVaR as the
    Rockafellar-Uryasev minimum over eta, tried at every outcome's cost."""
    pairs = sorted(zip(costs, weights))
    mean = sum(c * w for c, w in pairs)
    out = {"expected_cost": mean,
           "std_cost": math.sqrt(sum(w * (c - mean) ** 2 for c, w in pairs))}
    for level in (0.5, 0.9, 0.95, 0.99):
        total = 0.0
        for c, w in pairs:
            total += w
            if total >= level - 1e-12:
                out[f"var_{round(level * 100)}"] = c
                break
    for level in (0.9, 0.95, 0.99):
        out[f"cvar_{round(level * 100)}"] = min(
            eta + sum(w * max(c - eta, 0) for c, w in pairs) / (1 - level) for eta, _ in pairs)
    return out


@pytest.fixture(scope="module")
def outage_tables():
    return api.stress(frames(_outage_sheets()))


def test_every_statistic_of_enumerated_outages_matches_the_greedy_rule(outage_tables):
    outcomes = _by_hand()
    assert len(outage_tables["Stress"]) == 2 * len(outcomes) == 2 * 2 ** len(OUTAGES)
    weights = [o[0] for o in outcomes]
    risk = _by_policy(outage_tables)
    for policy, cost, short in (("committed", 1, 3), ("replan", 2, 4)):
        expected = _statistics([o[cost] for o in outcomes], weights)
        for key, value in expected.items():
            assert risk[policy][key] == pytest.approx(value, rel=1e-9, abs=1e-6), (policy, key)
        assert risk[policy]["expected_unmet_t"] == pytest.approx(
            sum(w * o[short] for w, o in zip(weights, outcomes)), abs=1e-6)
        assert risk[policy]["p_unmet"] == pytest.approx(
            sum(w for w, o in zip(weights, outcomes) if o[short] > 1e-6), abs=1e-9)
    # Every outcome's cost, row by row (outcomes in the order of enumeration).
    rows = table_rows(outage_tables["Stress"])
    committed = {r["events"]: r["total_cost"] for r in rows if r["policy"] == "committed"}
    assert sorted(committed.values()) == pytest.approx(sorted(o[1] for o in outcomes))


def test_event_effects_are_conditional_expectations(outage_tables):
    outcomes = _by_hand()
    cases = list(itertools.product([False, True], repeat=len(OUTAGES)))
    events = {(r["event"], r["policy"]): r for r in table_rows(outage_tables["Events"])}
    for j, (s, *_) in enumerate(OUTAGES):
        on = [(o[0], o[1]) for o, c in zip(outcomes, cases) if c[j]]
        off = [(o[0], o[1]) for o, c in zip(outcomes, cases) if not c[j]]
        when = sum(p * c for p, c in on) / sum(p for p, _ in on)
        not_ = sum(p * c for p, c in off) / sum(p for p, _ in off)
        row = events[(f"{s}-out", "committed")]
        assert row["cost_if_happens"] == pytest.approx(when)
        assert row["cost_effect"] == pytest.approx(when - not_)


def test_sampling_converges_and_repeats_with_its_seed():
    exact = _by_hand()
    mean = sum(o[0] * o[1] for o in exact)
    sd = math.sqrt(sum(o[0] * (o[1] - mean) ** 2 for o in exact))
    sheets = frames(_outage_sheets(max_outcomes=4))  # 32 outcomes > 4: sampled
    first = api.stress(sheets, samples=4000, seed=7)
    estimate = _by_policy(first)["committed"]["expected_cost"]
    assert len(first["Stress"]) == 2 * 4000
    assert abs(estimate - mean) < 4 * sd / math.sqrt(4000)
    again = api.stress(sheets, samples=4000, seed=7)
    for sheet in ("Stress", "Risk", "Shortfalls", "Events"):
        assert again[sheet].equals(first[sheet]), sheet
    other = api.stress(sheets, samples=4000, seed=8)
    assert not other["Stress"].equals(first["Stress"])


# --- mistakes -------------------------------------------------------------------------------
@pytest.mark.parametrize("risks, extra, words", [
    ([{"event": "blockade", "probability": 0.1}], {}, ["Risks", "no scenario named 'blockade'"]),
    ([{"event": "embargo", "probability": 0}], {}, ["Risks", "outside (0, 1]"]),
    ([{"event": "embargo", "probability": 0.7, "exclusive": "x"},
      {"event": "au-shut", "probability": 0.4, "exclusive": "x"}],
     {"Scenarios": [{"scenario": "au-shut", "sheet": "Suppliers", "where": "supplier=AU-mine",
                     "column": "capacity_t", "action": "set", "value": 0}]},
     ["exclusive set 'x'", "add up to 1.1 > 1"]),
])
def test_risks_sheet_mistakes_name_their_cell(tmp_path, risks, extra, words):
    sheets = _two_suppliers(risks, **extra)
    path = make_workbook(tmp_path / "in.xlsx", sheets)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 1, result.output
    for word in words:
        assert word in result.output
    assert "row 2" in result.output or "row" in result.output


def test_demand_without_a_price_on_unmet_tonnes_is_refused_by_stress_only(tmp_path):
    """`planner run` plans such a workbook (a warning says why stress will not); `planner
    stress` refuses it at the first such Demand cell, writing nothing."""
    sheets = _two_suppliers([{"event": "embargo", "probability": 0.1}])
    sheets["Demand"][0]["unmet_penalty"] = None
    path = make_workbook(tmp_path / "in.xlsx", sheets)
    checked = CliRunner().invoke(main, ["validate", str(path)])
    assert checked.exit_code == 0 and "need a price on unmet demand" in checked.output
    result = CliRunner().invoke(main, ["stress", str(path), "-o", str(tmp_path / "s.xlsx")])
    assert result.exit_code == 1
    assert "sheet Demand, row 2, column unmet_penalty" in result.output
    assert result.output.count("need a price on unmet demand") == 1  # an error, not also
    assert "warning:" not in result.output                            # a warning before it
    assert not (tmp_path / "s.xlsx").exists()


def test_a_workbook_without_risks_is_told_to_add_them(tmp_path):
    sheets = _two_suppliers([])
    del sheets["Risks"]
    path = make_workbook(tmp_path / "in.xlsx", sheets)
    result = CliRunner().invoke(main, ["stress", str(path), "-o", str(tmp_path / "s.xlsx")])
    assert result.exit_code == 1  # invalid input, at the sheet it lacks
    assert "sheet Risks" in result.output and "no Risks sheet" in result.output
    assert not (tmp_path / "s.xlsx").exists()
    # Every problem a risk run has is listed at once: no events, and demand without a
    # price on unmet tonnes (it said only the first, then the other on the next try).
    sheets["Demand"][0]["unmet_penalty"] = None
    path = make_workbook(tmp_path / "both.xlsx", sheets)
    for command in ("stress", "hedge"):
        result = CliRunner().invoke(main, [command, str(path), "-o", str(tmp_path / "s.xlsx")])
        assert result.exit_code == 1 and "Errors (2):" in result.output, result.output
        assert "no Risks sheet" in result.output and "no unmet_penalty" in result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_scheduler_that_does_not_answer_is_exit_2_in_bounded_time(tmp_path):
    path = make_workbook(tmp_path / "in.xlsx",
                         _two_suppliers([{"event": "embargo", "probability": 0.1}]))
    start = time.monotonic()
    result = CliRunner().invoke(main, ["stress", str(path), "-o", str(tmp_path / "s.xlsx"),
                                       "--scheduler", f"tcp://127.0.0.1:{_free_port()}"])
    assert result.exit_code == 2, result.output
    assert "could not reach the scheduler" in result.output
    assert "Traceback" not in result.output
    assert time.monotonic() - start < 60
    assert not (tmp_path / "s.xlsx").exists()


# --- a real cluster -------------------------------------------------------------------------
DASK = str(Path(sys.executable).with_name("dask"))


def _wait_for_port(port: int, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.2)
    return False


@pytest.fixture
def cluster(tmp_path):
    """`dask scheduler` and one `dask worker` as separate processes on 127.0.0.1; always
    torn down."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], cwd=tmp_path, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)]
    try:
        assert _wait_for_port(port, 60), "the scheduler did not start"
        procs.append(subprocess.Popen([DASK, "worker", address, "--nworkers", "2",
                                       "--nthreads", "1", "--no-dashboard",
                                       "--host", "127.0.0.1"], cwd=tmp_path,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def test_a_real_cluster_gives_the_numbers_of_a_local_run(tmp_path, cluster):
    path = make_workbook(tmp_path / "in.xlsx", _outage_sheets(max_outcomes=8))
    args = ["--samples", "300", "--seed", "3", "--quiet"]
    local = CliRunner().invoke(main, ["stress", str(path), "-o", str(tmp_path / "local.xlsx"),
                                      "--workers", "1", *args])
    assert local.exit_code == 0, local.output
    remote = subprocess.run([str(Path(sys.executable).with_name("planner")), "stress",
                             str(path), "-o", str(tmp_path / "remote.xlsx"), "--scheduler",
                             cluster, *args], capture_output=True, text=True, timeout=300)
    assert remote.returncode == 0, remote.stderr

    def values(name, sheet):
        wb = openpyxl.load_workbook(tmp_path / name, read_only=True, data_only=True)
        try:
            return list(wb[sheet].iter_rows(values_only=True))
        finally:
            wb.close()

    for sheet in ("Stress", "Risk"):
        assert values("local.xlsx", sheet) == values("remote.xlsx", sheet), sheet
    rows = values("remote.xlsx", "Risk")
    header = next(i for i, r in enumerate(rows) if r and r[0] == "policy")
    assert [r[0] for r in rows[header + 1:header + 3]] == ["committed", "replan"]
    assert np.isfinite([r[1] for r in rows[header + 1:header + 3]]).all()


@pytest.mark.parametrize("penalty, committed, replan, limit_cost", [
    (None, 1500 + 100 * 1000, 100 * 1000, 0),
    # CN may then break its 50% cap at 50/t of excess: 100 t from China, 50 t over the cap.
    (50, 1500 + 50 * 15 + 50 * 50, 100 * 10 + 50 * 50, 50 * 50)])
def test_limit_penalty_lets_an_outcome_break_a_share_rule_at_its_price(penalty, committed,
                                                                        replan, limit_cost):
    """Base buys 50 t from each mine under "China at most 50%" (book 1,500). Australia shut:
    without limit_penalty the cap leaves all 100 t unmet; with it, China sells 100 t (the
    committed plan gets 50 booked and 50 spot at 15/t)."""
    sheets = _two_suppliers(
        [{"event": "au-shut", "probability": 0.1}],
        Scenarios=[{"scenario": "au-shut", "sheet": "Suppliers", "where": "supplier=AU-mine",
                    "column": "capacity_t", "action": "set", "value": 0}],
        Limits=[{"rule": "CN cap", "material": "ore", "stage": "supply", "by": "country",
                 "member": "CN", "max_share": 0.5}],
        Settings=[{"setting": "limit_penalty", "value": penalty}] if penalty else [])
    del sheets["Restrictions"]
    rows = table_rows(api.stress(frames(sheets))["Stress"])
    shut = {r["policy"]: r for r in rows if r["events"] == "au-shut"}
    assert shut["committed"]["total_cost"] == pytest.approx(committed)
    assert shut["replan"]["total_cost"] == pytest.approx(replan)
    assert shut["committed"]["limit_cost"] == shut["replan"]["limit_cost"] == \
        pytest.approx(limit_cost)
    calm = {r["policy"]: r["total_cost"] for r in rows if r["events"] == "none"}
    assert calm == {"committed": pytest.approx(1500), "replan": pytest.approx(1500)}


def test_events_whose_changes_clash_make_an_outcome_that_cannot_be_solved(tmp_path):
    """Each event takes 60 t off Australia's 100 t: alone fine, together negative. That
    outcome (p = 0.25) is `error` with the reason; the statistics are over the others, the
    Risk table says how much probability they miss, and the command exits 3."""
    change = {"sheet": "Suppliers", "where": "supplier=AU-mine", "column": "capacity_t",
              "action": "add", "value": -60}
    sheets = _two_suppliers([{"event": "cut-a", "probability": 0.5},
                             {"event": "cut-b", "probability": 0.5}],
                            Scenarios=[{"scenario": "cut-a", **change},
                                       {"scenario": "cut-b", **change}])
    tables = api.stress(frames(sheets))
    both = [r for r in table_rows(tables["Stress"]) if r["events"] == "cut-a + cut-b"]
    assert {r["status"] for r in both} == {"error"}
    assert "out of range" in tables.result.results[-1].message
    assert _by_policy(tables)["committed"]["p_unsolved"] == pytest.approx(0.25)
    path = make_workbook(tmp_path / "in.xlsx", sheets)
    result = CliRunner().invoke(main, ["stress", str(path), "-o", str(tmp_path / "s.xlsx"),
                                       "--quiet"])
    assert result.exit_code == 3, result.output
    assert (tmp_path / "s.xlsx").exists()


def test_exclusive_chances_adding_to_one_leave_no_none_outcome_and_certain_events_work():
    """0.7 + 0.2 + 0.1 = 1: three outcomes, none without an event; an event with
    probability 1 happens in every outcome: its effect has nothing to compare with."""
    sheets = _two_suppliers(
        [{"event": e, "probability": p, "exclusive": "x"}
         for e, p in (("embargo", 0.7), ("au-shut", 0.2), ("cn-half", 0.1))],
        Scenarios=[{"scenario": "au-shut", "sheet": "Suppliers", "where": "supplier=AU-mine",
                    "column": "capacity_t", "action": "set", "value": 0},
                   {"scenario": "cn-half", "sheet": "Suppliers", "where": "supplier=CN-mine",
                    "column": "capacity_t", "action": "multiply", "value": 0.5}])
    stress = table_rows(api.stress(frames(sheets))["Stress"])
    assert sorted({r["events"] for r in stress}) == ["au-shut", "cn-half", "embargo"]
    certain = api.stress(frames(_two_suppliers([{"event": "embargo", "probability": 1}])))
    assert len(certain["Stress"]) == 2
    events = table_rows(certain["Events"])
    assert all(r["cost_effect"] is None and r["cost_if_not"] is None for r in events)
    assert _by_policy(certain)["committed"]["expected_cost"] == pytest.approx(4000)


def test_an_event_listed_twice_in_other_case_is_refused(tmp_path):
    path = make_workbook(tmp_path / "in.xlsx", _two_suppliers(
        [{"event": "embargo", "probability": 0.1}, {"event": "EMBARGO", "probability": 0.2}]))
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 1
    assert "the same event as row 2" in result.output
    # Listed twice the same way: one error, the reader's (it was reported twice).
    path = make_workbook(tmp_path / "same.xlsx", _two_suppliers(
        [{"event": "embargo", "probability": 0.1}, {"event": "embargo", "probability": 0.2}]))
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 1 and result.output.count("the same event as row 2") == 1


def test_an_outage_below_the_take_or_pay_minimum_lowers_the_minimum():
    """China must sell at least 80 t (take-or-pay); the event halves it to 50 t of
    capacity: in that outcome the minimum is 50 t, and replan buys 50 from China (10/t) and
    50 from Australia (20/t) instead of being infeasible."""
    sheets = _two_suppliers(
        [{"event": "cn-half", "probability": 0.5}],
        Scenarios=[{"scenario": "cn-half", "sheet": "Suppliers", "where": "supplier=CN-mine",
                    "column": "capacity_t", "action": "multiply", "value": 0.5}])
    sheets["Suppliers"][0]["min_t"] = 80
    stress = table_rows(api.stress(frames(sheets))["Stress"])
    half = {r["policy"]: r for r in stress if r["events"] == "cn-half"}
    assert half["replan"]["status"] == "optimal"
    assert half["replan"]["total_cost"] == pytest.approx(50 * 10 + 50 * 20)


def test_an_event_cutting_an_offtakes_capacity_below_its_minimum_lowers_the_minimum():
    """China sells (1/t, at least 30 t a period) once its offtake is signed (10); Australia
    at 10/t; 50 t a period for two periods. Base signs China: 100 + 10. The event cuts the
    offtake's capacity to 10 t: replan signs it still, its minimum now 10 t, and buys 40 t
    a period from Australia: 2 x (10 + 400) + 10 = 830 (without the minimum lowered it
    could not sign: 1,000). Committed to base's book: 10 t a period delivered of the 50
    contracted (100 paid), 40 spot from Australia at 15: 100 + 10 + 1,200 = 1,310. An
    option whose base capacity is already below its minimum is not an event's doing: the
    minimum stays, and the offtake cannot be signed whatever happens (1,000)."""
    from test_hedge import _offtake_under_outage

    def costs(option_cap, event_cap):
        sheets = _offtake_under_outage(10, None)
        sheets["Options"][0]["capacity_t"] = option_cap
        sheets["Scenarios"] = [{"scenario": "cut", "sheet": "Options", "where": "option=sign CN",
                                "column": "capacity_t", "action": "set", "value": event_cap}]
        sheets["Risks"] = [{"event": "cut", "probability": 0.5}]
        return {(r["events"], r["policy"]): r["total_cost"]
                for r in table_rows(api.stress(frames(sheets))["Stress"])}

    assert costs(None, 10) == pytest.approx({("none", "committed"): 110, ("none", "replan"): 110,
                                             ("cut", "committed"): 1310, ("cut", "replan"): 830})
    assert costs(5, 5) == pytest.approx({("none", "committed"): 1000,
                                         ("none", "replan"): 1000,
                                         ("cut", "committed"): 1000, ("cut", "replan"): 1000})


def test_an_offer_two_options_open_books_what_the_options_taken_allow():
    """China's ore (1/t, take-or-pay 30 t) comes with a small offtake (40 t, 5) or a big
    one (100 t, 1,000); Australia sells at 10/t; 50 t are needed. Base signs the small one:
    40 t from China, 10 from Australia, 145. Committed to that book, nothing happening
    costs base's 145 (the book was emptied, as if no option had been signed, because the
    big one was not: 165), and so do the hedge's three plans (Australia's outage to 20 t
    leaves the 10 t it sells). An event also halving both offtakes (20 t and 50 t) lowers
    China's minimum to the smaller, 20 t (it crashed the outcome: two options on one
    offer): committed, 20 t arrive from China, 10 from Australia and 10 spot at 15, 10 t
    unmet: 140 + 5 + 150 + 10,000 = 10,295; replan signs the big one: 50 + 1,000 = 1,050."""
    sheets = _two_suppliers([{"event": "outage", "probability": 0.5}],
                            Scenarios=[{"scenario": "outage", "sheet": "Suppliers",
                                        "where": "supplier=AU-mine", "column": "capacity_t",
                                        "action": "set", "value": 20}],
                            Options=[{"option": name, "kind": "supplier", "node": "CN-mine",
                                      "material": "ore", "capacity_t": cap, "fixed_cost": cost}
                                     for name, cap, cost in (("small", 40, 5),
                                                             ("big", 100, 1000))])
    sheets["Suppliers"] = [dict(sheets["Suppliers"][0], unit_cost=1, min_t=30),
                           dict(sheets["Suppliers"][1], unit_cost=10)]
    sheets["Demand"][0]["quantity_t"] = 50

    def costs(tables):
        return {(r["events"], r["policy"]): r["total_cost"]
                for r in table_rows(tables["Stress"])}

    assert costs(api.stress(frames(sheets))) == pytest.approx({
        ("none", "committed"): 145, ("none", "replan"): 145,
        ("outage", "committed"): 145, ("outage", "replan"): 145})
    plans = {r["plan"]: r["expected_cost"] for r in table_rows(api.hedge(frames(sheets))["Hedge"])}
    assert [plans[p] for p in ("EEV", "RP", "WS")] == pytest.approx([145] * 3)
    sheets["Scenarios"].append({"scenario": "outage", "sheet": "Options",
                                "where": "node=CN-mine", "column": "capacity_t",
                                "action": "multiply", "value": 0.5})
    assert costs(api.stress(frames(sheets))) == pytest.approx({
        ("none", "committed"): 145, ("none", "replan"): 145,
        ("outage", "committed"): 10_295, ("outage", "replan"): 1050})


def _yield_events() -> dict:
    """Kwinana splits ore into 0.45 t metal and 0.5 t slag, Osaka turns both back into ore:
    the loop loses (0.95). Event `metal-up` raises the metal yield 10% (0.995: still a
    loss), `slag-up` the slag yield (0.95 + 0.05 = 1.0 at most: no gain); together 0.495 +
    0.55 = 1.045: ore from nothing."""
    procs = [{"site": "Kwinana", "process": "split", "input_material": "ore",
              "output_material": m, "yield": y, "cost_per_t": 1}
             for m, y in (("metal", 0.45), ("slag", 0.5))]
    procs += [{"site": "Osaka", "process": f"{m} back", "input_material": m,
               "output_material": "ore", "yield": 1.0, "cost_per_t": 1}
              for m in ("slag", "metal")]
    return {"Suppliers": [{"supplier": "mine", "country": "AU", "material": "ore",
                           "capacity_t": 1e5, "unit_cost": 1000}],
            "Sites": [{"site": "Kwinana", "country": "AU", "capacity_t": None},
                      {"site": "Osaka", "country": "JP", "capacity_t": None}],
            "Processes": procs,
            "Freight": [{"from_country": a, "to_country": b, "cost_per_t": 5}
                        for a, b in (("AU", "JP"), ("JP", "AU"))],
            "Demand": [{"customer": "plant", "country": "JP", "material": "metal",
                        "period": "P1", "quantity_t": 40, "unmet_penalty": 1e5}],
            "Scenarios": [{"scenario": e, "sheet": "Processes", "where": f"output_material={m}",
                           "column": "yield", "action": "multiply", "value": 1.1}
                          for e, m in (("metal-up", "metal"), ("slag-up", "slag"))],
            "Risks": [{"event": "metal-up", "probability": 0.5},
                      {"event": "slag-up", "probability": 0.5}]}


def test_events_that_make_a_loop_together_make_that_outcome_an_error(tmp_path):
    # Each event alone passes the loop check (as a scenario); the outcome with both would
    # have replanned buying no ore at all. It is an error with the reason, not a plan.
    tables = api.stress(frames(_yield_events()))
    stress = table_rows(tables["Stress"])
    both = [r for r in stress if r["events"] == "metal-up + slag-up"]
    assert [r["status"] for r in both] == ["error", "error"]
    assert all(r["status"] == "optimal" for r in stress if r["events"] != "metal-up + slag-up")
    messages = {r.message for r in tables.result.results if r.status == "error"}
    assert len(messages) == 1 and "make material from nothing through their co-products" \
        in messages.pop()
    inp = make_workbook(tmp_path / "in.xlsx", _yield_events())
    result = CliRunner().invoke(main, ["stress", str(inp), "-o", str(tmp_path / "s.xlsx")])
    assert result.exit_code == 3
    assert "  metal-up + slag-up: processes make material from nothing" in result.output
    with pytest.raises(api.HedgeError) as refused:
        api.hedge(frames(_yield_events()))
    assert "(first: metal-up + slag-up, error: processes make material from nothing" \
        in str(refused.value) and str(refused.value).endswith("fix the data of those events")


def test_books_solved_together_build_each_outcome_once_and_answer_as_alone():
    """A chunk of the example's outcomes under two contract books (base's plan and the
    embargo scenario's): each book's results equal those of a chunk of that book alone, to
    the last bit; the second book's committed LP, made from the first's model by its
    deliveries' bounds, equals the one built for it from scratch array by array."""
    from planner.inputs import BASE
    from planner.plan import options_for
    from planner.risk import outcomes
    from planner.stress import POLICIES, contract_book, outcome_model, solve_chunk
    from test_warm import _arrays

    inputs = api.load(EXAMPLE)
    options = options_for(inputs)
    books = (contract_book(inputs, options, BASE),
             contract_book(inputs, options, "cn-ree-embargo"))
    assert books[0].cost != books[1].cost
    out = outcomes(inputs.events, int(inputs.settings.max_outcomes), 100, 0)
    chunk = [(k, out.names(k)) for k in range(len(out))]
    together = solve_chunk(inputs, chunk, books, options, POLICIES)
    for book, found in zip(books, together):
        [alone] = solve_chunk(inputs, chunk, (book,), options, POLICIES)
        assert repr(found) == repr(alone)
    assert {r.policy for r in together[1]} == set(POLICIES)
    settings = inputs.settings
    for k in (0, len(out) - 1):
        first = outcome_model(inputs, out.names(k), books[0], settings.limit_penalty,
                              settings.spot_premium)
        fresh = outcome_model(inputs, out.names(k), books[1], settings.limit_penalty,
                              settings.spot_premium)
        made, built = _arrays(first.with_book(books[1]).committed), _arrays(fresh.committed)
        for name in built:
            np.testing.assert_array_equal(made[name], built[name], err_msg=name)


def test_the_plans_options_are_built_whatever_happens_and_replan_chooses_its_own():
    """The Australian mine sells only if its offtake (option `sign AU`, 150) is signed.
    Base's plan buys 100 t from China (1,000) and signs nothing. Committed to it, the
    embargo leaves the 100 t unmet (China banned, Australia not signed): 1,000 + 100,000;
    replanning signs Australia: 150 + 2,000. The embargo scenario's plan signs it and buys
    100 t there: committed, 150 + 2,000 whatever happens; replan as before."""
    option = {"option": "sign AU", "kind": "supplier", "node": "AU-mine", "material": "ore",
              "fixed_cost": 150}
    sheets = _two_suppliers([{"event": "embargo", "probability": 0.1}], Options=[option])

    def rows(plan):
        tables = api.stress(frames(sheets), plan=plan)
        return {(r["events"], r["policy"]): (r["total_cost"], r["option_cost"], r["unmet_t"])
                for r in table_rows(tables["Stress"])}

    assert rows("base") == {("none", "committed"): (1000, 0, 0),
                            ("none", "replan"): (1000, 0, 0),
                            ("embargo", "committed"): (101_000, 0, 100),
                            ("embargo", "replan"): (2150, 150, 0)}
    assert rows("embargo") == {("none", "committed"): (2150, 150, 0),
                               ("none", "replan"): (1000, 0, 0),
                               ("embargo", "committed"): (2150, 150, 0),
                               ("embargo", "replan"): (2150, 150, 0)}
