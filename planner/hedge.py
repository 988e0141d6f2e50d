"""The hedged plan (docs/model.md, Hedge): the contract book chosen by a two-stage
stochastic LP over the outcomes of the Risks sheet, optionally risk-averse through CVaR,
and compared with the base plan's book (EEV) and with perfect information (WS).

The extensive form stacks one committed model per distinct outcome (stress.outcome_model,
with its deliveries bounded by the first-stage contracts instead of a fixed book) under
the contract columns, each block's costs weighted by the outcome's probability; CVaR is
Rockafellar and Uryasev's linearisation: eta + sum p_k z_k / (1 - alpha) with
z_k >= total cost of outcome k - eta, z_k >= 0.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import ERROR, InputError, Problem
from .inputs import BASE, ROW, Inputs
from .lp import EQ, GE, LE, LinearModel
from .model import OfferBounds
from .network import base_offers, base_options
from .risk import MAX_OUTCOMES, Outcomes, outcomes, risk_problems
from .scenarios import applies
from .sheets import (CONTRACT_CONCENTRATION, CONTRACT_COUNTRIES, CONTRACT_OPTIONS,
                     CONTRACT_SHARES, CONTRACT_SUPPLIERS, CONTRACTS, DISTRIBUTION,
                     HEDGE, HEDGE_EVALUATION, HEDGE_OUTCOMES, RISK_WEIGHTS)
from .solve import SolveOptions, SolveRun
from .stress import (COMMITTED, SHORT_T, Book, Result, contract_book, cvar, distribution,
                     exceedance, outcome_model, solve_chunk, solve_outcomes)

EEV, RP, WS = "EEV", "RP", "WS"
VSS, EVPI = "VSS", "EVPI"
# The extensive form's size at most (nonzeros plus columns): about 8.5 GB at the peak and
# 15 minutes on a 2-CPU, 24 GiB machine, at the 420 MB per million measured on the example
# (bench/RESULTS.md, Hedge).
MAX_SIZE = 20_000_000
Z95 = 1.959963984540054   # two-sided 95% normal quantile, for confidence intervals
TINY_T = 1e-7             # contract tonnes below this are none (solver noise)


class HedgeError(ValueError):
    """The hedge cannot be made (an outcome that cannot be planned, a model too large, a
    plan that is not optimal, arguments out of range)."""


@dataclass
class Plan:
    """One contract book's results over outcomes (committed), or the replan policy's."""

    name: str
    results: list[Result]       # per distinct outcome, in outcome order
    probability: np.ndarray

    def costs(self) -> np.ndarray:
        return np.array([r.costs.get("total_cost", math.nan) for r in self.results])

    def unmet(self) -> np.ndarray:
        return np.array([r.unmet_t for r in self.results])

    def stats(self, level: float, among: np.ndarray | None = None) -> dict[str, float]:
        """Expected cost, spread, VaR and CVaR (at 0.9, 0.95, 0.99 and `level`), expected
        unmet t and the probability of any unmet demand, over the outcomes solved (and
        `among`, when given)."""
        costs, unmet = self.costs(), self.unmet()
        solved = ~np.isnan(costs) & (True if among is None else among)
        if not solved.any():
            return {}
        w = self.probability[solved] / self.probability[solved].sum()
        found = distribution(costs[solved], w)
        found["cvar_alpha"] = cvar(costs[solved], w, level)
        found["expected_unmet_t"] = float(w @ unmet[solved])
        found["p_unmet"] = float(w[unmet[solved] > SHORT_T].sum())
        return found


@dataclass
class Evaluation:
    """Both books on fresh samples (sampled outcomes only)."""

    outcomes: Outcomes
    seed: tuple[int, int]
    base: Plan
    hedged: Plan

    def per_sample(self, plan: Plan) -> np.ndarray:
        return plan.costs()[self.outcomes.draws]


@dataclass
class Sweep:
    """The hedge at one risk weight."""

    risk_weight: float
    book: Book
    plan: Plan
    objective: float


@dataclass
class HedgeResult:
    outcomes: Outcomes
    samples: int | None          # sampled: N; enumerated: None
    seed: int
    level: float                 # the CVaR level alpha
    base: Book                   # the base plan's book
    eev: Plan                    # the base book, committed
    ws: Plan                     # the replan policy (perfect information)
    sweeps: list[Sweep]          # per risk weight, the first one's book is `hedged`
    normal: dict[str, float]     # plan -> total cost when nothing happens
    evaluation: Evaluation | None
    size: dict[str, int]         # the extensive form's columns, rows, nonzeros

    @property
    def hedged(self) -> Book:
        return self.sweeps[0].book

    @property
    def rp(self) -> Plan:
        return self.sweeps[0].plan

    @property
    def all_optimal(self) -> bool:
        return all(r.costs for p in (self.eev, self.ws, self.rp) for r in p.results)

    @property
    def common(self) -> np.ndarray:
        """The outcomes all three plans solved: the ones they are compared on."""
        return np.logical_and.reduce([~np.isnan(p.costs()) for p in (self.eev, self.rp,
                                                                       self.ws)])


def _open_book(offers: pd.DataFrame) -> Book:
    """Every base offer open to the first-stage contracts: a committed model built with it
    bounds each delivery only by what its row to the contract column allows."""
    table = offers[["supplier", "material", "period", "unit_cost"]].assign(book_t=np.inf)
    return Book("hedge", table, math.nan)


def _keys(frame: pd.DataFrame) -> pd.MultiIndex:
    return pd.MultiIndex.from_frame(frame[["supplier", "material", "period"]])


@dataclass
class Block:
    """What the extensive form takes from one outcome's model (stress.outcome_model, with
    every base offer open and its options left to decide, at no cost of their own: the
    first stage pays them): its committed LP, where its offers are among base's (-1: an
    offer base does not have), and its options."""

    lp: LinearModel
    at: np.ndarray
    options: np.ndarray  # the option of each of its option columns (Options sheet)


def outcome_blocks(inputs: Inputs, out: Outcomes,
                   progress: Callable[[int, int], None] | None = None) -> list[Block]:
    """Each distinct outcome's block, built once for every extensive form of a hedge (each
    risk weight's and each outcome's own, for perfect information). Raises HedgeError
    when an outcome cannot be built, and after the first outcome when the extensive form
    would be larger than MAX_SIZE."""
    settings = inputs.settings
    offers = base_offers(inputs)
    keys, book = _keys(offers), _open_book(offers)
    blocks = []
    for k in range(len(out)):
        om = outcome_model(inputs, out.names(k), book, settings.limit_penalty,
                           settings.spot_premium, free_options=True)
        if om.errors:
            raise HedgeError(f"outcome {out.label(k)} cannot be planned: "
                             + "; ".join(om.errors))
        if k == 0:
            rows, _, _ = om.committed.terms()
            size = (len(rows) + om.committed.n_cols) * len(out)
            if size > MAX_SIZE:
                raise HedgeError(
                    f"the hedge over {len(out):,} outcomes would have about {size:,} "
                    f"nonzeros and columns, more than the {MAX_SIZE:,} this machine can "
                    f"solve: use fewer --samples (or a lower Settings max_outcomes, so "
                    f"that outcomes are sampled)")
        committed, options = om.committed, om.sm.network.options["option"].to_numpy(object)
        if "option" in committed.variables:
            committed = committed.with_cost("option", np.zeros(len(options)))
        blocks.append(Block(committed, keys.get_indexer(_keys(om.sm.network.offers)),
                            options))
        if progress:
            progress(k + 1, len(out))
    return blocks


def extensive_form(inputs: Inputs, out: Outcomes, risk_weight: float, level: float,
                   progress: Callable[[int, int], None] | None = None,
                   blocks: list[Block] | None = None,
                   first_stage: tuple[pd.DataFrame, pd.DataFrame] | None = None
                   ) -> tuple[LinearModel, np.ndarray, list[np.ndarray]]:
    """The two-stage stochastic LP over the distinct outcomes of `out`, the columns of its
    contracts (one per base offer, in base_offers order) and each outcome's unmet columns.
    `blocks`: the outcomes' `outcome_blocks`, when already built (else built here, with
    `progress`); `first_stage`: (base_offers, base_options) of `inputs`, when already
    found. Raises HedgeError as outcome_blocks does."""
    if blocks is None:
        blocks = outcome_blocks(inputs, out, progress)
    # first: the options of base, decided once for every outcome at their fixed cost
    offers, first = first_stage or (base_offers(inputs), base_options(inputs))
    price = offers["unit_cost"].to_numpy(float)
    bounds = OfferBounds.of(offers, first, inputs.periods)
    lp = LinearModel("hedge")
    # (the most an offer can sell with every option taken bounds its contract column)
    contract = lp.add_columns("contract", len(offers), bounds.least,
                              bounds.given(np.ones(len(first)))[1], price)
    chosen = lp.add_columns("option", len(first), 0.0, 1.0, first["fixed_cost"].to_numpy(float))
    if len(first):  # a mixed-integer program only when there is something to decide
        lp.integer.add("option")
    # The contract of an offer base's options open: within the sums of min_t and capacity
    # over the options taken, as the model bounds its sales.
    for family, sense, adds in (("contract_opened", LE, bounds.adds_most),
                                ("contract_min", GE, bounds.adds_least)):
        terms = np.flatnonzero(adds > 0)
        if not len(terms):
            continue
        at, row = np.unique(bounds.offer[terms], return_inverse=True)
        lp.add_rows(family, offers.iloc[at][["supplier", "material", "period"]]
                    .reset_index(drop=True), sense, 0.0,
                    np.concatenate([np.arange(len(at)), row]),
                    np.concatenate([contract[at], chosen[bounds.option[terms]]]),
                    np.concatenate([np.ones(len(at)), -adds[terms]]))
    link_x, link_y, link_o, link_y_o, recourse, unmet = [], [], [], [], [], []
    for k, block in enumerate(blocks):
        col0, _ = lp.append(block.lp, f"o{k}", float(out.probability[k]))
        if len(block.options):
            which = pd.Index(first["option"]).get_indexer(block.options)
            link_o.append(col0 + block.lp.columns("option")[which >= 0])
            link_y_o.append(chosen[which[which >= 0]])
        at = block.at
        delivered = col0 + block.lp.columns("delivered")
        unmet.append(col0 + block.lp.columns("unmet"))
        link_y.append(delivered[at >= 0])
        link_x.append(contract[at[at >= 0]])
        if risk_weight > 0:
            cost = np.concatenate(block.lp.cost)
            nz = np.flatnonzero(cost)
            recourse.append((col0 + nz, cost[nz]))
    # An outcome's deliveries of an offer are at most its contract; its options are those
    # chosen.
    for family, sense, parts, first_stage in (("contract_delivery", LE, link_y, link_x),
                                              ("option_taken", EQ, link_o, link_y_o)):
        if not parts:
            continue
        y, x = np.concatenate(parts), np.concatenate(first_stage)
        n = len(y)
        lp.add_rows(family, pd.DataFrame({"column": y}), sense, 0.0,
                    np.concatenate([np.arange(n), np.arange(n)]), np.concatenate([y, x]),
                    np.concatenate([np.ones(n), -np.ones(n)]))
    if risk_weight > 0:
        # the first stage's cost (contracts, options) is part of every outcome's total
        _add_cvar(lp, np.concatenate([contract, chosen]),
                  np.concatenate([price, first["fixed_cost"].to_numpy(float)]), recourse,
                  out.probability, risk_weight, level)
    return lp, contract, unmet


def _add_cvar(lp: LinearModel, contract: np.ndarray, price: np.ndarray,
              recourse: list[tuple[np.ndarray, np.ndarray]], probability: np.ndarray,
              weight: float, level: float) -> None:
    """weight x CVaR_level of the total cost: eta + sum p_k excess_k / (1 - level), with
    excess_k >= first-stage cost (`contract` columns at `price`) + recourse cost of
    outcome k - eta."""
    eta = lp.add_columns("eta", 1, -np.inf, np.nan, weight)
    excess = lp.add_columns("excess", len(recourse), 0.0, np.nan,
                            weight * probability / (1.0 - level))
    rows, cols, coefs = [], [], []
    for k, (columns, cost) in enumerate(recourse):
        cols += [excess[k:k + 1], eta, contract, columns]
        coefs += [np.ones(2), -price, -cost]
        rows.append(np.full(2 + len(contract) + len(columns), k))
    lp.add_rows("cvar_excess", pd.DataFrame({"outcome": np.arange(len(recourse))}), GE, 0.0,
                np.concatenate(rows), np.concatenate(cols), np.concatenate(coefs))


def event_options(inputs: Inputs) -> list[Problem]:
    """An input problem at each option that exists in the scenario of some event but not
    in base: it cannot be decided before the outcome is known."""
    events = [e.name for e in inputs.events]
    options, table = inputs["Options"], inputs.read_tables.get("Options")
    found = []
    for row, option, cell in zip(options[ROW], options["option"], options["scenario"]):
        if applies(cell, BASE) or not any(applies(cell, e) for e in events):
            continue
        message = (f"planner hedge decides options before the outcome is known, and option "
                   f"{option!r} exists only in an event's scenario: scope it to base too, or "
                   f"remove it")
        found.append(Problem(ERROR, message, "Options", row) if table is None
                     else table.problem(message, row, "scenario", cell))
    return found


def hedged_book(offers: pd.DataFrame, x: np.ndarray, name: str,
                options: tuple[str, ...] = ()) -> Book:
    """The contract book of the extensive form's optimum `x` (per base offer), with the
    `options` it takes."""
    x = np.where(np.abs(x) < TINY_T, 0.0, x)
    table = offers[["supplier", "material", "period"]].assign(
        book_t=x, unit_cost=offers["unit_cost"].to_numpy(float))
    table = table[table["book_t"] > 0].reset_index(drop=True)
    return Book(name, table, float(table["book_t"].to_numpy() @ table["unit_cost"].to_numpy()),
                options)


def solve_hedge(inputs: Inputs, out: Outcomes, risk_weight: float, level: float,
                options: SolveOptions, progress: Callable[[str, int, int], None] | None,
                blocks: list[Block] | None = None,
                first_stage: tuple[pd.DataFrame, pd.DataFrame] | None = None
                ) -> tuple[Book, float, dict[str, int]]:
    """The hedged book at `risk_weight`, the extensive form's optimum and its size
    (`blocks`, `first_stage`: as extensive_form takes them)."""
    step = (lambda done, total: progress("extensive form", done, total)) if progress else None
    offers, first = first_stage = first_stage or (base_offers(inputs), base_options(inputs))
    lp, contract, _ = extensive_form(inputs, out, risk_weight, level, step, blocks,
                                     first_stage)
    if progress:
        progress("solving the extensive form", 0, 1)
    sol = SolveRun(lp, options).solve()
    if not sol.ok:
        raise HedgeError(f"the hedge's stochastic LP is {sol.status.value}: {sol.message}")
    if progress:
        progress("solving the extensive form", 1, 1)
    rows, _, _ = lp.terms()
    size = {"columns": lp.n_cols, "rows": lp.n_rows, "nonzeros": len(rows)}
    taken = np.round(sol.values[lp.columns("option")]) > 0
    book = hedged_book(offers, sol.values[contract], f"hedge (λ = {risk_weight:g})",
                       tuple(first["option"][taken]))
    return book, float(sol.objective), size


def perfect_information(inputs: Inputs, out: Outcomes, options: SolveOptions,
                        progress: Callable[[str, int, int], None] | None = None,
                        blocks: list[Block] | None = None,
                        first_stage: tuple[pd.DataFrame, pd.DataFrame] | None = None
                        ) -> Plan:
    """WS: each outcome's own hedge, the contract book chosen knowing that the outcome
    happens (the stochastic LP with that outcome alone): contracts at the base data's
    unit_cost within its [min_t, capacity_t], as for RP, so that WS <= RP. `blocks`,
    `first_stage`: as extensive_form takes them."""
    results = []
    first_stage = first_stage or (base_offers(inputs), base_options(inputs))  # for all
    for k in range(len(out)):
        alone = Outcomes(out.events, out.happened[k:k + 1], np.ones(1), False, None)
        lp, _, unmet = extensive_form(inputs, alone, 0.0, 0.95,
                                      blocks=None if blocks is None else blocks[k:k + 1],
                                      first_stage=first_stage)
        sol = SolveRun(lp, options).solve()
        costs = {"total_cost": float(sol.objective)} if sol.ok else {}
        results.append(Result(k, WS, sol.status.value, sol.message, costs,
                              float(sol.values[unmet[0]].sum()) if sol.ok else math.nan, {}))
        if progress:
            progress("perfect information", k + 1, len(out))
    return Plan(WS, results, out.probability)


def _committed(inputs: Inputs, out: Outcomes, books: list[tuple[str, Book]],
               options: SolveOptions, scheduler, workers, progress, phase: str) -> list[Plan]:
    """The committed plan of each (name, book), each outcome's model built once for all."""
    step = (lambda done, total: progress(phase, done, total)) if progress else None
    results = solve_outcomes(inputs, out, tuple(book for _, book in books), options,
                             scheduler, workers, step, (COMMITTED,))
    return [Plan(name, found, out.probability) for (name, _), found in zip(books, results)]


def _unplannable(plan: Plan, out: Outcomes) -> str | None:
    failed = [(out.label(r.outcome), r.status, r.message) for r in plan.results if not r.costs]
    if not failed:
        return None
    label, status, message = failed[0]
    # An outcome that could not be built (its data is wrong) needs the data fixed; one that
    # could not be planned, a rule loosened.
    remedy = ("fix the data of those events" if status == "error" else
              "loosen the Limits or Restrictions those events break, or set Settings "
              "limit_penalty so that Limits may be broken at a price in outcomes")
    return (f"{len(failed)} outcome(s) cannot be planned whatever is contracted (first: "
            f"{label}, {status}: {message}); a hedge must plan every outcome: {remedy}")


def hedge(inputs: Inputs, options: SolveOptions, samples: int = 200, seed: int = 0,
          risk_weights: tuple[float, ...] = (0.0,), level: float = 0.95,
          evaluate: int = 2000, scheduler: str | None = None, workers: int | None = None,
          progress: Callable[[str, int, int], None] | None = None) -> HedgeResult:
    """The hedged contract book at each of `risk_weights` over the outcomes of the Risks
    sheet (enumerated when there are at most Settings max_outcomes, else `samples` draws
    seeded with `seed`), compared with the base plan's book (EEV) and perfect information
    (WS); when sampled, both books also on `evaluate` fresh draws. `progress(phase, done,
    total)` as the work goes. Raises InputError (no events, demand without
    unmet_penalty), HedgeError, and cluster.ClusterError."""
    for name, n, least in (("samples", samples, 1), ("evaluate", evaluate, 2)):
        if not least <= n <= MAX_OUTCOMES:
            raise HedgeError(f"{name} must be from {least} to {MAX_OUTCOMES:,}, not {n:,}")
    if seed < 0:
        raise HedgeError(f"the seed must be 0 or more, not {seed}")
    if not 0 < level < 1:
        raise HedgeError(f"the CVaR level must be between 0 and 1 (e.g. 0.95), not {level:g}")
    if not risk_weights or any(not 0 <= w < math.inf for w in risk_weights):
        raise HedgeError("risk weights must be 0 or more (0: risk neutral)")
    problems = risk_problems(inputs, "hedge") + event_options(inputs)
    if problems:
        raise InputError(problems)
    out = outcomes(inputs.events, int(inputs.settings.max_outcomes), samples, seed)
    try:
        base = contract_book(inputs, options, BASE)
    except ValueError as exc:
        raise HedgeError(str(exc)) from None
    [eev] = _committed(inputs, out, [(EEV, base)], options, scheduler, workers, progress,
                       "base book")
    problem = _unplannable(eev, out)
    if problem:
        raise HedgeError(problem)
    # Each outcome's model is built once, for perfect information and every risk weight.
    blocks = outcome_blocks(inputs, out, (lambda done, total: progress(
        "outcome models", done, total)) if progress else None)
    first_stage = base_offers(inputs), base_options(inputs)  # for every extensive form
    ws = perfect_information(inputs, out, options, progress, blocks, first_stage)
    hedged, size = [], {}
    for weight in risk_weights:
        book, objective, size = solve_hedge(inputs, out, weight, level, options, progress,
                                            blocks, first_stage)
        hedged.append((weight, book, objective))
    plans = _committed(inputs, out, [(RP, book) for _, book, _ in hedged], options,
                       scheduler, workers, progress,
                       "hedged book" if len(hedged) == 1 else "hedged books")
    sweeps = [Sweep(weight, book, plan, objective)
              for (weight, book, objective), plan in zip(hedged, plans)]
    # A normal year: no event happens (solved apart: a sample may not hold that outcome).
    normal = {name: results[0].costs.get("total_cost", math.nan)
              for name, results in zip((EEV, RP), solve_chunk(
                  inputs, [(0, ())], (base, sweeps[0].book), options, (COMMITTED,)))}
    nothing = Outcomes(inputs.events, np.zeros((1, len(inputs.events)), bool), np.ones(1),
                       False, None)
    normal[WS] = perfect_information(inputs, nothing, options,
                                     first_stage=first_stage).costs()[0]
    evaluation = None
    if out.sampled:
        fresh_seed = (seed, 1)  # a stream of its own, not another run's draws
        fresh = outcomes(inputs.events, 0, evaluate, fresh_seed)
        evaluation = Evaluation(fresh, fresh_seed, *_committed(
            inputs, fresh, [(EEV, base), (RP, sweeps[0].book)], options, scheduler, workers,
            progress, "fresh samples, both books"))
    return HedgeResult(out, samples if out.sampled else None, seed, level, base, eev, ws,
                       sweeps, normal, evaluation, size)


# Tables ---------------------------------------------------------------------------------
def contracts_table(inputs: Inputs, result: HedgeResult) -> pd.DataFrame:
    """Per base offer contracted in either book: the hedged and the base tonnes."""
    offers = base_offers(inputs)
    table = offers[["supplier", "country", "material", "period"]].copy()
    for column, book in (("hedged_t", result.hedged), ("base_t", result.base)):
        table[column] = book.tonnes(offers)
    change = table["hedged_t"] - table["base_t"]
    # the same tonnes found by two solves differ by solver noise, not by a decision
    same = change.abs() <= 1e-6 * np.maximum(1.0, table["base_t"].abs())
    table["change_t"] = change.where(~same, 0.0)
    table["unit_cost"] = offers["unit_cost"].to_numpy(float)
    used = (table["hedged_t"] > 0) | (table["base_t"] > 0)
    return table[used].reset_index(drop=True)[CONTRACTS.names]


def cost_tables(contracts: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both books per supplier (tonnes and cost) and per supplier country (cost and its
    share of the book), largest hedged cost first."""
    table = contracts.assign(hedged_cost=contracts["hedged_t"] * contracts["unit_cost"],
                             base_cost=contracts["base_t"] * contracts["unit_cost"])
    money = ["hedged_cost", "base_cost"]
    suppliers = table.groupby(["supplier", "country"], sort=False)[
        ["hedged_t", "base_t", *money]].sum().reset_index()
    countries = table.groupby("country", sort=False)[money].sum().reset_index()
    for name in money:
        total = countries[name].sum()
        countries[name.replace("_cost", "_share")] = countries[name] / total if total else 0.0

    def largest_first(frame):
        return frame.sort_values(money, ascending=False, kind="stable").reset_index(drop=True)

    return (largest_first(suppliers)[CONTRACT_SUPPLIERS.names],
            largest_first(countries)[CONTRACT_COUNTRIES.names])


def share_tables(contracts: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per material and supplier country, both books' tonnes over the horizon and shares;
    per material the HHI of both (shares in %, squared and summed: 10,000 is one country)."""
    tonnes = contracts.groupby(["material", "country"], sort=False)[["hedged_t", "base_t"]].sum()
    total = tonnes.groupby(level="material", sort=False).transform("sum")
    shares = (tonnes / total.where(total > 0)).fillna(0.0)
    table = tonnes.assign(hedged_share=shares["hedged_t"], base_share=shares["base_t"])
    table = table.reset_index().sort_values(["material", "hedged_t"], ascending=[True, False],
                                            kind="stable").reset_index(drop=True)
    hhi = ((shares * 100) ** 2).groupby(level="material", sort=False).sum()
    concentration = hhi.where(total.groupby(level="material", sort=False).first() > 0).rename(
        columns={"hedged_t": "hedged_hhi", "base_t": "base_hhi"}).reset_index()
    return table[CONTRACT_SHARES.names], concentration.sort_values(
        "material", kind="stable").reset_index(drop=True)[CONTRACT_CONCENTRATION.names]


def hedge_table(result: HedgeResult) -> pd.DataFrame:
    """EEV, RP and WS on the same outcomes, then VSS = EEV - RP and EVPI = RP - WS."""
    rows = []
    for plan in (result.eev, result.rp, result.ws):
        stats = plan.stats(result.level, result.common)
        rows.append({"plan": plan.name, **stats, "cvar_level": result.level,
                     "normal_year_cost": result.normal.get(plan.name)})
    expected = {r["plan"]: r.get("expected_cost", math.nan) for r in rows}
    rows.append({"plan": VSS, "expected_cost": expected[EEV] - expected[RP]})
    rows.append({"plan": EVPI, "expected_cost": expected[RP] - expected[WS]})
    return pd.DataFrame(rows).reindex(columns=HEDGE.names)


def evaluation_table(result: HedgeResult) -> pd.DataFrame:
    """Expected costs of both books on the fresh samples with 95% confidence intervals
    (mean +- 1.96 standard errors), and of their difference (VSS, paired on the same
    samples), beside the in-sample figures."""
    ev = result.evaluation
    if ev is None:
        return pd.DataFrame(columns=HEDGE_EVALUATION.names)
    base, hedged = ev.per_sample(ev.base), ev.per_sample(ev.hedged)
    in_sample = {EEV: result.eev.stats(result.level, result.common).get("expected_cost"),
                 RP: result.rp.stats(result.level, result.common).get("expected_cost")}
    in_sample[VSS] = in_sample[EEV] - in_sample[RP]
    rows = []
    for name, values in ((EEV, base), (RP, hedged), (VSS, base - hedged)):
        values = values[~np.isnan(values)]
        mean = float(values.mean()) if len(values) else math.nan
        half = Z95 * float(values.std(ddof=1)) / math.sqrt(len(values)) \
            if len(values) > 1 else math.nan
        rows.append({"plan": name, "samples": len(values), "expected_cost": mean,
                     "ci_low": mean - half, "ci_high": mean + half,
                     "in_sample_cost": in_sample[name]})
    return pd.DataFrame(rows, columns=HEDGE_EVALUATION.names)


def risk_weights_table(result: HedgeResult) -> pd.DataFrame:
    """Per risk weight: the hedged book's cost and expected cost against its CVaR."""
    rows = []
    for sweep in result.sweeps:
        stats = sweep.plan.stats(result.level)
        rows.append({"risk_weight": sweep.risk_weight, "contract_cost": sweep.book.cost,
                     "expected_cost": stats.get("expected_cost"),
                     "cvar_alpha": stats.get("cvar_alpha"), "std_cost": stats.get("std_cost"),
                     "expected_unmet_t": stats.get("expected_unmet_t"),
                     "objective": sweep.objective})
    return pd.DataFrame(rows, columns=RISK_WEIGHTS.names)


def outcomes_table(result: HedgeResult) -> pd.DataFrame:
    """Per distinct outcome: its probability and each plan's total cost and unmet t."""
    out = result.outcomes
    table = pd.DataFrame({"outcome": [f"o{i + 1}" for i in range(len(out))],
                          "events": [out.label(i) for i in range(len(out))],
                          "probability": out.probability})
    for plan in (result.eev, result.rp, result.ws):
        table[f"{plan.name.lower()}_cost"] = plan.costs()
        table[f"{plan.name.lower()}_unmet_t"] = plan.unmet()
    return table[HEDGE_OUTCOMES.names]


def distribution_table(result: HedgeResult) -> pd.DataFrame:
    """The exceedance curve of each plan (as the stress test's Distribution sheet)."""
    parts = []
    for plan in (result.eev, result.rp, result.ws):
        costs = plan.costs()
        solved = ~np.isnan(costs)
        if solved.any():
            parts.append(exceedance(plan.name, costs[solved], plan.probability[solved]))
    return pd.concat(parts, ignore_index=True) if parts else \
        pd.DataFrame(columns=DISTRIBUTION.names)


def options_table(inputs: Inputs, result: HedgeResult) -> pd.DataFrame:
    """Each option of base: whether the hedged book and the base plan's take it."""
    first = base_options(inputs)
    return first.assign(hedged=first["option"].isin(result.hedged.options),
                        base=first["option"].isin(result.base.options))[CONTRACT_OPTIONS.names]


def hedge_sheets(inputs: Inputs, result: HedgeResult) -> dict[str, tuple[str, pd.DataFrame]]:
    """The Contracts sheet (with the country shares and concentration below it), the Hedge
    sheet (with the fresh-sample evaluation and the risk-weight sweep below it), the
    per-outcome costs and the cost distributions, each with its note."""
    settings, out = inputs.settings, result.outcomes
    currency = settings.currency
    events = f"{len(out.events)} event{'s' if len(out.events) != 1 else ''}"
    what = (f"{result.samples:,} samples (seed {result.seed}) of the outcomes of {events}"
            if out.sampled else f"all {len(out):,} outcomes of {events}")
    lost = float(out.probability[~result.common].sum())
    unsolved = (f" Outcomes with probability {lost:.4g} could not be solved for some plan "
                f"(blank in Outcomes); the plans are compared on the others." if lost else "")
    weight = result.sweeps[0].risk_weight
    contracts = contracts_table(inputs, result)
    suppliers, countries = cost_tables(contracts)
    shares, concentration = share_tables(contracts)
    aim = ("expected cost" if weight == 0 else
           f"expected cost + {weight:g} x CVaR at {result.level:g} of the total cost")
    sheets = {
        CONTRACTS.name: (CONTRACTS.note_for(aim=aim, what=what, currency=currency,
                                            hedged=f"{result.hedged.cost:,.0f}",
                                            base=f"{result.base.cost:,.0f}"), contracts),
        CONTRACT_SUPPLIERS.name: (CONTRACT_SUPPLIERS.note_for(currency=currency), suppliers),
        CONTRACT_COUNTRIES.name: (CONTRACT_COUNTRIES.note_for(currency=currency), countries),
        CONTRACT_SHARES.name: (CONTRACT_SHARES.note_for(), shares),
        CONTRACT_CONCENTRATION.name: (CONTRACT_CONCENTRATION.note_for(), concentration),
        **({CONTRACT_OPTIONS.name: (CONTRACT_OPTIONS.note_for(currency=currency),
                                    options_table(inputs, result))}
           if len(base_options(inputs)) else {}),
        HEDGE.name: (HEDGE.note_for(what=what, currency=currency, level=f"{result.level:g}",
                                    spot=f"{1 + settings.spot_premium:g}", unsolved=unsolved),
                     hedge_table(result)),
    }
    if result.evaluation is not None:
        sheets[HEDGE_EVALUATION.name] = (HEDGE_EVALUATION.note_for(
            fresh=f"{len(result.evaluation.outcomes.draws):,}"), evaluation_table(result))
    if len(result.sweeps) > 1:
        sheets[RISK_WEIGHTS.name] = (RISK_WEIGHTS.note_for(level=f"{result.level:g}"),
                                     risk_weights_table(result))
    sheets[HEDGE_OUTCOMES.name] = (HEDGE_OUTCOMES.note_for(what=what, currency=currency),
                                   outcomes_table(result))
    sheets[DISTRIBUTION.name] = (DISTRIBUTION.note_for(currency=currency),
                                 distribution_table(result))
    return sheets
