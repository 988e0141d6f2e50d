"""Disruption events with probabilities (the Risks sheet) and the outcomes they make
(docs/model.md, Risk).

An event is a scenario of the workbook: its Scenarios rows and the rules scoped to it. An
outcome is the set of events that happen: events without an `exclusive` label happen
independently of each other, and each exclusive set yields one of its events or none. An
outcome's data is the base data with the changes of every event that happened applied in
the order of the Risks rows, under the rules of base changed by those events (a rule
scoped to an event that happened applies; a rule that applies in base but not in such an
event's scenario does not). Outcomes are enumerated when there are at most `max_outcomes`
of them, else sampled with a seeded generator.
"""
from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import ERROR, WARNING, Problem
from .inputs import BASE, ROW, Inputs
from .scenarios import applies, apply_changes

NONE = "none"  # how an outcome in which nothing happens is named
MAX_OUTCOMES = 1_000_000  # enumerated or sampled outcomes at most (memory: a row each)
CERTAIN = 1e-9  # a chance within this of 0 is none (probabilities are typed decimals)


@dataclass(frozen=True)
class Event:
    name: str           # the scenario, as the workbook spells it
    probability: float
    exclusive: str | None
    row: int            # its Risks row, for messages


def check_risks(inputs: Inputs, problems: list[Problem]) -> None:
    """Parse the Risks sheet into `inputs.events`; every mistake goes to `problems` at its
    cell: unknown events, probabilities outside (0, 1], an exclusive set whose
    probabilities add up to more than 1, demand without a price on unmet tonnes (a risk
    run must be able to leave demand unmet: a warning here, an error for `planner
    stress`), max_outcomes that is not a whole number."""
    frame = inputs["Risks"]
    inputs.events = []
    if frame.empty:
        return
    table = inputs.read_tables.get("Risks")

    def add(message, row=None, column=None, value=None, sheet="Risks"):
        where = inputs.read_tables.get(sheet) if sheet != "Risks" else table
        problems.append(where.problem(message, row, column, value) if where is not None
                        else Problem(ERROR, message, sheet, row, column, None, value))

    known = {n.lower(): n for n in inputs.scenarios[1:]}
    sets: dict[str, list[Event]] = {}
    listed: dict[str, tuple[int, str]] = {}  # event -> its first Risks row and spelling
    for row, name, probability, exclusive in zip(frame[ROW], frame["event"],
                                                frame["probability"], frame["exclusive"]):
        if name is None or probability is None:
            continue  # a blank required cell is reported by the reader
        if name.lower() == BASE:
            add("base is the data when nothing happens; an event names another scenario",
                row, "event", name)
            continue
        if name.lower() not in known:
            add(f"no scenario named {name!r}: an event is a scenario of the Scenarios sheet "
                f"or of a rule's scenario cell"
                + (f" (the workbook has: {', '.join(list(known.values())[:8])})"
                   if known else " (the workbook has none)"), row, "event", name)
            continue
        if not 0 < probability <= 1:
            add(f"probability {probability:g} is outside (0, 1]: give the chance the event "
                f"happens within the horizon, e.g. 0.2 or 20%", row, "probability",
                probability)
            continue
        if name.lower() in listed:
            first_row, first_name = listed[name.lower()]
            if name != first_name:  # the very same name is the reader's duplicate-row error
                add(f"the same event as row {first_row} (names match ignoring case): list "
                    f"each event once", row, "event", name)
            continue
        listed[name.lower()] = int(row), name
        event = Event(known[name.lower()], float(probability), exclusive, int(row))
        inputs.events.append(event)
        if exclusive is not None:
            sets.setdefault(exclusive.lower(), []).append(event)
    for members in sets.values():
        total = math.fsum(e.probability for e in members)
        if total > 1 + 1e-9:
            add(f"the events of exclusive set {members[0].exclusive!r} (rows "
                f"{', '.join(str(e.row) for e in members)}) are alternatives, at most one "
                f"happens, but their probabilities add up to {total:g} > 1",
                members[-1].row, "probability", members[-1].probability)
    unpriced = unpriced_demand(inputs, WARNING)
    if unpriced is not None:  # `planner run` plans such a workbook; `planner stress` won't
        problems.append(unpriced)
    limit = inputs.settings.max_outcomes
    if limit != int(limit) or not 1 <= limit <= MAX_OUTCOMES:
        settings = inputs["Settings"]
        row = next((r for r, s in zip(settings[ROW], settings["setting"])
                    if s == "max_outcomes"), None)
        add(f"max_outcomes must be a whole number from 1 to {MAX_OUTCOMES:,}, not "
            f"{limit:g}", row,
            "value", limit, sheet="Settings")


def no_events(inputs: Inputs, command: str) -> Problem | None:
    """A workbook with no event to stress or hedge against: an input problem at the Risks
    sheet (exit status 1), not a usage error."""
    if inputs.events:
        return None
    return Problem(ERROR, f"planner {command} needs disruption events: the workbook has no "
                          f"Risks sheet (or no event on it): add one row per event with its "
                          f"probability (docs/workbook.md, Risks)", "Risks")


def risk_problems(inputs: Inputs, command: str) -> list[Problem]:
    """The input problems that stop `planner <command>` (stress, hedge), all of them: no
    events, demand without a price on unmet tonnes."""
    return [p for p in (no_events(inputs, command), unpriced_demand(inputs)) if p is not None]


def unpriced_demand(inputs: Inputs, severity: str = ERROR) -> Problem | None:
    """Demand rows without a price on unmet tonnes, as one problem at the first of them:
    a risk run must be able to leave demand short."""
    if inputs.settings.unmet_penalty is not None:
        return None
    demand = inputs["Demand"]
    hard = [row for row, p in zip(demand[ROW], demand["unmet_penalty"]) if p is None]
    if not hard:
        return None
    message = (f"planner stress and hedge need a price on unmet demand: {len(hard)} Demand "
               f"row(s) have no unmet_penalty (first: row {hard[0]}); give them one or set "
               f"unmet_penalty on the Settings sheet")
    table = inputs.read_tables.get("Demand")
    return table.problem(message, hard[0], "unmet_penalty", None, severity) \
        if table is not None else Problem(severity, message, "Demand", hard[0])


@dataclass
class Outcomes:
    """The outcomes to solve: each distinct set of events once, with its probability (its
    share of the samples when sampled), and for a sample the draw order."""

    events: list[Event]
    happened: np.ndarray       # bool, distinct outcomes x events
    probability: np.ndarray    # per distinct outcome
    sampled: bool
    draws: np.ndarray | None   # sampled: each sample's distinct outcome, in draw order

    def __len__(self) -> int:
        return len(self.probability)

    def names(self, i: int) -> tuple[str, ...]:
        """The events of distinct outcome `i`, in Risks order."""
        return tuple(e.name for e, on in zip(self.events, self.happened[i]) if on)

    def label(self, i: int) -> str:
        return " + ".join(self.names(i)) or NONE


def _choices(events: list[Event]) -> list[tuple[list[int], np.ndarray]]:
    """The independent draws that make an outcome, in Risks order: per independent event
    (none, it), per exclusive set (none, each member); each as (event index per option,
    -1 for none; probabilities). Options that cannot happen (none beside an event that is
    certain) are left out."""
    draws, sets = [], {}
    for i, e in enumerate(events):
        if e.exclusive is None:
            draws.append(([-1, i], [1.0 - e.probability, e.probability]))
        else:
            key = e.exclusive.lower()
            if key not in sets:
                sets[key] = ([-1], [1.0])
                draws.append(sets[key])
            sets[key][0].append(i)
            sets[key][1].append(e.probability)
            sets[key][1][0] = 1.0 - math.fsum(sets[key][1][1:])
    out = []
    for options, chances in draws:
        chances = np.clip(np.array(chances), 0.0, 1.0)
        keep = chances > CERTAIN
        out.append(([o for o, k in zip(options, keep) if k], chances[keep] / chances[keep].sum()))
    return out


def outcomes(events: list[Event], max_outcomes: int, samples: int, seed: int) -> Outcomes:
    """Every outcome with its probability when there are at most `max_outcomes`; else
    `samples` draws from a generator seeded with `seed` (each weighing 1/samples),
    solved once per distinct set of events."""
    draws = _choices(events)
    count = math.prod(len(options) for options, _ in draws)
    if count <= max_outcomes:
        picks = np.array(list(itertools.product(*(range(len(o)) for o, _ in draws))),
                         dtype=np.int64).reshape(count, len(draws))
        probability = np.prod([draws[j][1][picks[:, j]] for j in range(len(draws))], axis=0) \
            if draws else np.ones(1)
        return Outcomes(events, _happened(draws, picks, len(events)), probability, False, None)
    rng = np.random.default_rng(seed)
    picks = np.column_stack([rng.choice(len(options), size=samples, p=chances)
                             for options, chances in draws])
    distinct, first, draw_of = np.unique(picks, axis=0, return_index=True,
                                         return_inverse=True)
    # Distinct outcomes in the order they were first drawn, not sorted.
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    draw_of = rank[np.asarray(draw_of).reshape(-1)]
    probability = np.bincount(draw_of, minlength=len(order)) / samples
    return Outcomes(events, _happened(draws, distinct[order], len(events)), probability,
                    True, draw_of)


def _happened(draws, picks: np.ndarray, n_events: int) -> np.ndarray:
    happened = np.zeros((len(picks), n_events), bool)
    for j, (options, _) in enumerate(draws):
        chosen = np.array(options)[picks[:, j]]
        rows = np.flatnonzero(chosen >= 0)
        happened[rows, chosen[rows]] = True
    return happened


def outcome_inputs(inputs: Inputs, names: tuple[str, ...]) -> tuple[Inputs, list[Problem]]:
    """The data of the outcome in which the events `names` happen (in Risks order): base
    with each event's changes applied in turn, and the rules of that outcome, marked to
    apply in every scenario (plan it as base). Problems: changes that, combined, match no
    row or leave a number out of range."""
    tables, problems = dict(inputs.tables), []
    for name in names:
        tables, found = apply_changes(tables, inputs.changes, name)
        problems += found
    # Force majeure: an event that cuts an offer below its take-or-pay minimum lowers the
    # minimum with it (a contract cannot bind a supplier to sell what it cannot make).
    offers = tables["Suppliers"]
    cap = pd.to_numeric(offers["capacity_t"], errors="coerce")
    # A supplier option's capacity_t is what its offer can sell: where an event cut it
    # (below base's, or set it where base had none), the minimum follows it too; an offer
    # with several such options (one minimum for all) follows the smallest. Outcomes have
    # base's options.
    opened = tables["Options"]
    base_cap = pd.to_numeric(opened["option"].map(
        inputs["Options"].set_index("option")["capacity_t"]), errors="coerce")
    now_cap = pd.to_numeric(opened["capacity_t"], errors="coerce")
    cut = ((opened["kind"] == "supplier") & now_cap.notna() & ~(now_cap >= base_cap)
           & np.array([applies(cell, BASE) for cell in opened["scenario"]], bool))
    if cut.any():
        smallest = now_cap[cut].groupby([opened["node"][cut], opened["material"][cut]]).min()
        which = smallest.index.get_indexer(
            pd.MultiIndex.from_frame(offers[["supplier", "material"]]))
        option_cap = np.append(smallest.to_numpy(float), np.nan)[which]  # -1: none, NaN
        cap = pd.Series(np.fmin(cap.to_numpy(float), option_cap), index=cap.index)
    least = pd.to_numeric(offers["min_t"], errors="coerce")
    if (least > cap).any():
        tables["Suppliers"] = offers.assign(min_t=least.where(~(least > cap), cap)
                                            .astype(object).where(least.notna(), None))
    for sheet in ("Limits", "Restrictions"):
        rules = tables[sheet]
        keep = np.array([_rule_applies(cell, names) for cell in rules["scenario"]], bool)
        tables[sheet] = rules[keep].assign(scenario=None).reset_index(drop=True) \
            if len(rules) else rules
    derived = copy.copy(inputs)
    derived.tables = tables
    derived.scenario_tables = {}
    return derived, problems


def _rule_applies(cell: object, names: tuple[str, ...]) -> bool:
    """Base's rules, then each event in turn: a rule scoped to the event comes in, a rule
    its scenario leaves out goes (a later event overrides an earlier one)."""
    on = applies(cell, BASE)
    for name in names:
        in_event = applies(cell, name)
        if in_event != applies(cell, BASE):
            on = in_event
    return on
