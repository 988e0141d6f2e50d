"""The stress test of a plan (docs/model.md, Risk): every outcome of the Risks sheet solved
twice, *committed* (the plan's contract book is fixed and paid; what it cannot deliver is
bought spot at a premium or left unmet) and *replan* (the whole plan re-optimised knowing
the outcome), then the statistics of the cost distribution.

Each distinct outcome is built once (its data and rules, network, model) and solved on a
HiGHS instance kept for a chunk of outcomes: when the next outcome's LP differs only in
numbers, its costs and bounds are changed in place and HiGHS starts from the last optimum.
Chunks run in this process for small runs and on a Dask cluster otherwise (`engine`).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

import numpy as np
import pandas as pd

from .errors import ERROR, InputError
from .inputs import BASE, Inputs
from .loops import outcome_loop
from .lp import EQ, LinearModel
from .model import OfferBounds, SourcingModel, build_model
from .network import SUPPLIER, base_offers, base_options, build_network
from .plan import solve_scenario
from .report import cost_parts
from .risk import MAX_OUTCOMES, Outcomes, outcome_inputs, outcomes, risk_problems
from .scenarios import scenario_inputs
from .sheets import (DISTRIBUTION, RISK, RISK_EVENTS, RISK_SHORTFALLS, STRESS,
                     STRESS_COSTS)
from .solve import Solution, SolveOptions, SolveRun, Status

COMMITTED, REPLAN = "committed", "replan"
POLICIES = (COMMITTED, REPLAN)
SLACKS = ("share_max_slack", "share_min_slack")
LEVELS = (0.5, 0.9, 0.95, 0.99)          # VaR levels of the Risk table
CVAR_LEVELS = (0.9, 0.95, 0.99)
SHORT_T = 1e-6                            # tonnes below this are no shortfall
CHUNK = 8                                 # outcomes per task: one model kept per chunk
IN_PROCESS_OUTCOMES = 32                  # fewer are not worth starting a cluster
CURVE_POINTS = 2000                       # points of a policy's cost distribution chart


class StressError(ValueError):
    """The stress test cannot run (the plan whose book is taken is not optimal or not
    known, samples out of range)."""


@dataclass
class Book:
    """The contract book: t bought from each supplier offer in each period, fixed before
    the outcome is known and paid at the base data's unit_cost whatever happens."""

    plan: str                 # the scenario whose plan it is
    table: pd.DataFrame       # supplier, material, period, book_t, unit_cost
    cost: float               # sum of book_t x unit_cost
    options: tuple[str, ...] = ()  # the options the plan took (Options sheet): built or
    # signed before the outcome is known, like the book

    def taken(self, options: pd.DataFrame) -> np.ndarray:
        """1.0 for each row of an outcome's `options` table that the plan took, else 0."""
        return np.isin(options["option"].to_numpy(object), list(self.options)).astype(float)

    def tonnes(self, offers: pd.DataFrame) -> np.ndarray:
        """book_t of each row (supplier, material, period) of `offers`; 0 where not booked."""
        keys = ["supplier", "material", "period"]
        at = pd.MultiIndex.from_frame(self.table[keys]).get_indexer(
            pd.MultiIndex.from_frame(offers[keys]))
        booked = np.append(self.table["book_t"].to_numpy(float), 0.0)
        return booked[at]  # -1, not booked, reads the appended 0


def contract_book(inputs: Inputs, options: SolveOptions, plan: str = BASE) -> Book:
    """The supplier sales of the plan of scenario `plan`, within [min_t, capacity_t] of the
    base data. Raises StressError when that plan is not optimal."""
    names = {n.lower(): n for n in inputs.scenarios}
    if plan.lower() not in names:
        raise StressError(f"no scenario named {plan!r}; the workbook has: "
                          f"{', '.join(inputs.scenarios)}")
    plan = names[plan.lower()]
    report, _ = solve_scenario(plan, scenario_inputs(inputs, plan), options)
    if report.status != Status.OPTIMAL.value:
        raise StressError(f"the plan of {plan} is {report.status} ({report.message}): it has "
                          f"no contract book to commit to (planner run shows why, in its "
                          f"Diagnosis)")
    flows = report.tables["Flows"]
    sold = flows[flows["from_kind"] == SUPPLIER].groupby(
        ["from", "material", "period"], sort=False)["quantity_t"].sum()
    chosen = report.tables.get("Options")
    taken = () if chosen is None else tuple(chosen.loc[chosen["taken"].eq(True), "option"])
    offers = base_offers(inputs)
    table = offers[["supplier", "material", "period", "unit_cost"]].copy()
    keys = pd.MultiIndex.from_frame(table[["supplier", "material", "period"]])
    book = sold.reindex(keys).fillna(0.0).to_numpy(float)
    # An offer that supplier options of base open sells (min_t included) only what the
    # options the plan took allow, from their first period.
    options = base_options(inputs)
    least, most = OfferBounds.of(offers, options, inputs.periods).given(
        np.isin(options["option"].to_numpy(object), list(taken)))
    table["book_t"] = np.clip(book, least, most)
    table = table[table["book_t"] > 0][["supplier", "material", "period", "book_t",
                                        "unit_cost"]].reset_index(drop=True)
    cost = float(table["book_t"].to_numpy() @ table["unit_cost"].to_numpy(float))
    return Book(plan, table, cost, taken)


@dataclass
class OutcomeModel:
    """One outcome's two LPs and what their columns mean."""

    sm: SourcingModel                 # the replan model (§2 with the outcome's data)
    committed: LinearModel            # with delivered and spot columns per offer
    spot_price: np.ndarray            # per outcome offer
    errors: list[str]                 # combined changes that could not be applied, or
                                      # that make material from nothing together

    def with_book(self, book: Book) -> "OutcomeModel":
        """The same outcome committed to another book: only the deliveries' bounds (each
        offer's booked tonnes) and the options taken differ."""
        offers = self.sm.network.offers.reset_index(drop=True)
        committed = self.committed.with_upper("delivered", book.tonnes(offers))
        if "option" in committed.variables:
            committed = committed.fixed("option", book.taken(self.sm.network.options))
        return replace(self, committed=committed)


def outcome_model(inputs: Inputs, names: tuple[str, ...], book: Book,
                  limit_penalty: float | None, premium: float,
                  free_options: bool = False) -> OutcomeModel:
    """Build the replan and committed LPs of the outcome in which `names` happen. The
    committed LP takes the book's options, or, with `free_options`, leaves them to be
    decided (the hedge links them to its first-stage choice)."""
    data, problems = outcome_inputs(inputs, names)
    errors = [p.message for p in problems if p.severity == ERROR]
    loop = outcome_loop(inputs, data, names)
    if loop is not None:  # the events together make material from nothing
        errors.append(loop)
    sm = build_model(build_network(data, BASE))
    if limit_penalty is not None:
        _soften_limits(sm.lp, limit_penalty)
    net, lp = sm.network, sm.lp
    flows, offers = net.flows, net.offers.reset_index(drop=True)
    # Committed: a supplier flow no longer carries the price; each offer's sales are the
    # book's tonnes it delivers (already paid) plus spot tonnes at the premium price.
    from_supplier = (flows["from_kind"] == SUPPLIER).to_numpy()
    flow_cost = lp.cost[list(lp.variables).index("flow")]
    committed = lp.with_cost("flow", flow_cost - np.where(
        from_supplier, flows["unit_cost"].to_numpy(float), 0.0))
    if "supplier_min" in lp.families:  # the take-or-pay minimum is in the book itself
        committed = committed.relaxed(lp.rows_of("supplier_min"))
    book_t = book.tonnes(offers)
    spot_price = offers["unit_cost"].to_numpy(float) * (1.0 + premium)
    n = len(offers)
    delivered = committed.add_columns("delivered", n, 0.0, book_t, 0.0)
    spot = committed.add_columns("spot", n, 0.0, np.nan, spot_price)
    offer_of = pd.MultiIndex.from_frame(offers[["supplier", "material", "period"]]).get_indexer(
        pd.MultiIndex.from_frame(flows.loc[from_supplier, ["from", "material", "period"]]))
    f = lp.columns("flow")[from_supplier][offer_of >= 0]
    rows = offer_of[offer_of >= 0]
    committed.add_rows("offer_sales", offers[["supplier", "material", "period"]], EQ, 0.0,
                       np.concatenate([rows, np.arange(n), np.arange(n)]),
                       np.concatenate([f, delivered, spot]),
                       np.concatenate([np.ones(len(f)), -np.ones(2 * n)]))
    om = OutcomeModel(sm, committed, spot_price, errors)
    # The book's options are built whatever happens (with_book fixes them).
    return om if free_options or "option" not in lp.variables else om.with_book(book)


def _soften_limits(lp: LinearModel, penalty: float) -> None:
    """Limits rules may be broken at `penalty` per t (Settings limit_penalty): a slack
    column per share row, taking up what the member's tonnes exceed (or fall short of)."""
    for family, sign in (("share_max", -1.0), ("share_min", 1.0)):
        if family in lp.families:
            rows = lp.rows_of(family)
            slack = lp.add_columns(f"{family}_slack", len(rows), 0.0, np.nan, penalty)
            lp.add_terms(rows, slack, sign)


def _costs(om: OutcomeModel, policy: str, sol: Solution, book: Book,
           limit_penalty: float | None) -> dict[str, float | None]:
    """The cost components of one policy's optimum (docs/model.md, Risk)."""
    lp = om.committed if policy == COMMITTED else om.sm.lp
    x = sol.values
    taken = np.round(x[lp.columns("option")]) if "option" in lp.variables else None
    costs: dict[str, float | None] = cost_parts(
        om.sm, *(x[lp.columns(v)] for v in ("flow", "activity", "unmet", "level")), taken)
    if policy == COMMITTED:  # the book is paid; the flows' own price is not
        costs["contract_cost"] = book.cost
        costs["spot_cost"] = float(om.spot_price @ x[lp.columns("spot")])
        costs["purchase_cost"] = costs["contract_cost"] + costs["spot_cost"]
    else:  # no book, no spot market: every tonne at unit_cost
        costs["contract_cost"] = costs["spot_cost"] = None
    costs["limit_cost"] = 0.0 if limit_penalty is None else limit_penalty * sum(
        float(x[lp.columns(v)].sum()) for v in SLACKS if v in lp.variables)
    return costs


@dataclass
class Result:
    """One distinct outcome under one policy."""

    outcome: int
    policy: str
    status: str
    message: str
    costs: dict[str, float]       # STRESS_COSTS and total_cost; empty unless optimal
    unmet_t: float
    shortfall: dict[tuple[str, str], float]  # (customer, material) -> t short


def _result(i: int, policy: str, om: OutcomeModel, sol: Solution, book: Book,
            limit_penalty: float | None) -> Result:
    if not sol.ok:
        return Result(i, policy, sol.status.value, sol.message, {}, math.nan, {})
    costs = _costs(om, policy, sol, book, limit_penalty)
    costs["total_cost"] = math.fsum(costs[c] for c in STRESS_COSTS
                                    if c not in ("contract_cost", "spot_cost"))
    lp = om.committed if policy == COMMITTED else om.sm.lp
    u = sol.values[lp.columns("unmet")]
    unmet = om.sm.unmet
    short = pd.Series(u).groupby([unmet["customer"].to_numpy(object),
                                  unmet["material"].to_numpy(object)], sort=False).sum()
    return Result(i, policy, sol.status.value, sol.message, costs, float(u.sum()),
                  {k: float(v) for k, v in short.items() if v > SHORT_T})


class _Solver:
    """The two policies' HiGHS instances, kept from one outcome to the next."""

    def __init__(self, options: SolveOptions):
        self.options = options
        self.runs: dict[str, SolveRun | None] = dict.fromkeys(POLICIES)

    def solve(self, policy: str, lp: LinearModel) -> Solution:
        run = self.runs[policy]
        found = run.resolve(lp) if run is not None else None
        if found is None:
            run = SolveRun(lp, self.options, reusable=True)
            found = run.solve()
            self.runs[policy] = run
        return found


def solve_chunk(inputs: Inputs, chunk: list[tuple[int, tuple[str, ...]]],
                books: tuple[Book, ...], options: SolveOptions,
                policies: tuple[str, ...] = POLICIES) -> list[list[Result]]:
    """The `policies` of each outcome (index, events) of `chunk` under each of `books`:
    per book, its results in outcome order. Each outcome's model is built once for every
    book; each book is solved on instances of its own, kept for the chunk, so its results
    are those of a chunk of that book alone. A worker's task: it needs nothing but its
    arguments."""
    settings = inputs.settings
    solvers = [_Solver(options) for _ in books]
    results: list[list[Result]] = [[] for _ in books]
    for i, names in chunk:
        try:
            om = outcome_model(inputs, names, books[0], settings.limit_penalty,
                               settings.spot_premium)
        except Exception as exc:  # one outcome's failure is its status, not the run's
            om, message = None, f"internal error: {type(exc).__name__}: {exc}"
        else:  # events whose changes, applied together, leave a number out of range
            message = "; ".join(om.errors) if om.errors else None
        for b, book in enumerate(books):
            if message is not None:
                results[b] += [Result(i, p, Status.ERROR.value, message, {}, math.nan, {})
                               for p in policies]
                continue
            model = om if b == 0 else om.with_book(book)
            for policy in policies:
                lp = model.committed if policy == COMMITTED else model.sm.lp
                sol = solvers[b].solve(policy, lp)
                results[b].append(_result(i, policy, model, sol, book, settings.limit_penalty))
    return results


def _chunks(out: Outcomes) -> list[list[tuple[int, tuple[str, ...]]]]:
    """Fixed chunks of distinct outcomes, whatever the number of workers: each chunk is
    solved in order on its own instances, so the results do not depend on who solved it."""
    items = [(i, out.names(i)) for i in range(len(out))]
    return [items[k:k + CHUNK] for k in range(0, len(items), CHUNK)]



def solve_outcomes(inputs: Inputs, out: Outcomes, books: tuple[Book, ...],
                   options: SolveOptions, scheduler: str | None = None,
                   workers: int | None = None,
                   progress: Callable[[int, int], None] | None = None,
                   policies: tuple[str, ...] = POLICIES) -> list[list[Result]]:
    """Every distinct outcome under `policies` (default both) and each of `books` (each
    outcome's model built once for all of them): per book, its results in outcome order.
    In this process when there are fewer than IN_PROCESS_OUTCOMES and no `scheduler` is
    given (or `workers` is 1); else on the Dask cluster at `scheduler`, or on a local one
    of `workers` processes (default: one per CPU this process may use). `progress(done,
    total)` after each chunk."""
    chunks = _chunks(out)
    options = replace(options, threads=1)  # one CPU per chunk: chunks run side by side
    local = scheduler is None and (workers == 1 or (workers is None
                                                    and len(out) < IN_PROCESS_OUTCOMES))
    if local:
        solved = ((k, solve_chunk(inputs, chunk, books, options, policies))
                  for k, chunk in enumerate(chunks))
    else:
        from .cluster import map_chunks

        solved = map_chunks(partial(solve_chunk, policies=policies), chunks,
                            (inputs, books, options), scheduler, workers)
    found: dict[int, list[list[Result]]] = {}
    done = 0
    for k, results in solved:  # chunks as they finish
        found[k] = results
        done += len(chunks[k])
        if progress:
            progress(done, len(out))
    return [[r for k in range(len(chunks)) for r in found[k][b]] for b in range(len(books))]


def _quantile(costs: np.ndarray, weights: np.ndarray, level: float) -> float:
    """VaR: the smallest c with P(cost <= c) >= level (costs sorted ascending)."""
    at = np.searchsorted(np.cumsum(weights), level - 1e-12, side="left")
    return float(costs[min(at, len(costs) - 1)])


def distribution(costs: np.ndarray, weights: np.ndarray) -> dict[str, float]:
    """Expected value, standard deviation (no small-sample correction), VaR and CVaR
    (Rockafellar-Uryasev: VaR + E[(cost - VaR)+] / (1 - level), which is the minimum over
    eta for a discrete distribution) of a probability-weighted cost distribution."""
    order = np.argsort(costs, kind="stable")
    costs, weights = np.asarray(costs, float)[order], np.asarray(weights, float)[order]
    weights = weights / weights.sum()
    mean = float(weights @ costs)
    found = {"expected_cost": mean,
             "std_cost": float(math.sqrt(max(weights @ (costs - mean) ** 2, 0.0)))}
    for level in LEVELS:
        found[f"var_{round(level * 100)}"] = _quantile(costs, weights, level)
    for level in CVAR_LEVELS:
        found[f"cvar_{round(level * 100)}"] = _cvar(costs, weights, level)
    return found


def _cvar(costs: np.ndarray, weights: np.ndarray, level: float) -> float:
    """CVaR at `level` of costs sorted ascending with weights adding up to 1."""
    var = _quantile(costs, weights, level)
    return float(var + weights @ np.maximum(costs - var, 0.0) / (1 - level))


def cvar(costs: np.ndarray, weights: np.ndarray, level: float) -> float:
    """CVaR at `level` of a probability-weighted cost distribution (as `distribution`)."""
    order = np.argsort(costs, kind="stable")
    weights = np.asarray(weights, float)[order]
    return _cvar(np.asarray(costs, float)[order], weights / weights.sum(), level)


def exceedance(policy: str, costs: np.ndarray, weights: np.ndarray) -> pd.DataFrame:
    """The exceedance curve as steps: at each distinct total cost (ascending), the
    probability that the cost exceeds what is just below it, then what exceeds it. At most
    CURVE_POINTS costs (evenly spaced in rank when there are more)."""
    by_cost = pd.Series(weights / weights.sum()).groupby(costs).sum()
    exceed = np.clip(1.0 - np.cumsum(by_cost.to_numpy()), 0.0, 1.0)
    keep = np.unique(np.linspace(0, len(by_cost) - 1,
                                 min(len(by_cost), CURVE_POINTS)).round().astype(int))
    level, after = by_cost.index.to_numpy()[keep], exceed[keep]
    before = np.concatenate([[1.0], after[:-1]])
    # A step at each cost: the chance drops there, and stays until the next one.
    return pd.DataFrame({"policy": policy, "total_cost": np.repeat(level, 2),
                         "p_exceed": np.column_stack([before, after]).ravel()})


@dataclass
class StressResult:
    book: Book
    outcomes: Outcomes
    results: list[Result]           # per distinct outcome, committed then replan
    samples: int | None             # sampled: N; enumerated: None
    seed: int

    @property
    def all_optimal(self) -> bool:
        return all(r.status == Status.OPTIMAL.value for r in self.results)

    def _by_policy(self, policy: str) -> list[Result]:
        return [r for r in self.results if r.policy == policy]

    def stress_table(self) -> pd.DataFrame:
        """One row per outcome (enumerated) or sample (sampled) and policy."""
        out = self.outcomes
        per = {(r.outcome, r.policy): r for r in self.results}
        if out.sampled:
            rows = [(f"s{k + 1}", int(i), 1.0 / len(out.draws)) for k, i in enumerate(out.draws)]
        else:
            rows = [(f"o{i + 1}", i, float(out.probability[i])) for i in range(len(out))]
        records = []
        for name, i, probability in rows:
            for policy in POLICIES:
                r = per[(i, policy)]
                records.append({"outcome": name, "events": out.label(i),
                                "probability": probability, "policy": policy,
                                "status": r.status, "total_cost": r.costs.get("total_cost"),
                                **{c: r.costs.get(c) for c in STRESS_COSTS},
                                "unmet_t": None if math.isnan(r.unmet_t) else r.unmet_t})
        return pd.DataFrame(records, columns=STRESS.names)

    def _solved(self, policy: str) -> tuple[list[Result], np.ndarray]:
        solved = [r for r in self._by_policy(policy) if r.costs]
        return solved, self.outcomes.probability[[r.outcome for r in solved]]

    def risk_table(self) -> pd.DataFrame:
        """Per policy: the cost distribution's statistics, expected unmet t, the probability
        of any unmet demand, and the probability of outcomes that could not be solved
        (the statistics are over the solved ones)."""
        rows = []
        for policy in POLICIES:
            solved, weight = self._solved(policy)
            row = {"policy": policy}
            if solved:
                costs = np.array([r.costs["total_cost"] for r in solved])
                unmet = np.array([r.unmet_t for r in solved])
                row.update(distribution(costs, weight))
                w = weight / weight.sum()
                row["expected_unmet_t"] = float(w @ unmet)
                row["p_unmet"] = float(w[unmet > SHORT_T].sum())
            unsolved = [r.outcome for r in self._by_policy(policy) if not r.costs]
            row["p_unsolved"] = float(self.outcomes.probability[unsolved].sum())
            rows.append(row)
        return pd.DataFrame(rows, columns=RISK.names)

    def shortfall_table(self) -> pd.DataFrame:
        """Per policy, customer and material with a shortfall in some outcome: its
        probability and the expected shortfall (t over the horizon)."""
        rows = []
        for policy in POLICIES:
            solved, weight = self._solved(policy)
            if not solved:
                continue
            w = weight / weight.sum()
            keys = dict.fromkeys(k for r in solved for k in r.shortfall)
            for customer, material in sorted(keys, key=lambda k: (str(k[0]), str(k[1]))):
                short = np.array([r.shortfall.get((customer, material), 0.0) for r in solved])
                rows.append({"policy": policy, "customer": customer, "material": material,
                             "p_shortfall": float(w[short > SHORT_T].sum()),
                             "expected_shortfall_t": float(w @ short)})
        return pd.DataFrame(rows, columns=RISK_SHORTFALLS.names)

    def distribution_table(self) -> pd.DataFrame:
        """Per policy, the exceedance curve of its solved outcomes (`exceedance`)."""
        parts = []
        for policy in POLICIES:
            solved, weight = self._solved(policy)
            if solved:
                parts.append(exceedance(policy, np.array([r.costs["total_cost"]
                                                          for r in solved]), weight))
        return pd.concat(parts, ignore_index=True) if parts else \
            pd.DataFrame(columns=DISTRIBUTION.names)

    def event_table(self) -> pd.DataFrame:
        """Per event and policy: expected cost and unmet t when it happens and when it does
        not, and the differences (its effect), largest effect on expected cost first."""
        rows = []
        for policy in POLICIES:
            solved, weight = self._solved(policy)
            if not solved:
                continue
            happened = self.outcomes.happened[[r.outcome for r in solved]]
            costs = np.array([r.costs["total_cost"] for r in solved])
            unmet = np.array([r.unmet_t for r in solved])
            for j, event in enumerate(self.outcomes.events):
                on, off = weight[happened[:, j]], weight[~happened[:, j]]
                row = {"event": event.name, "probability": event.probability,
                       "policy": policy}
                for name, values in (("cost", costs), ("unmet_t", unmet)):
                    # nan where the event always (or never) happens: no comparison
                    when = values[happened[:, j]] @ on / on.sum() if on.sum() else np.nan
                    not_ = values[~happened[:, j]] @ off / off.sum() if off.sum() else np.nan
                    row[f"{name}_if_happens"] = when
                    row[f"{name}_if_not"] = not_
                    row[f"{name}_effect"] = when - not_
                rows.append(row)
        table = pd.DataFrame(rows, columns=RISK_EVENTS.names)
        return table.sort_values(["policy", "cost_effect"], ascending=[True, False],
                                 key=lambda c: c.abs() if c.name == "cost_effect" else c,
                                 kind="stable", na_position="last").reset_index(drop=True)


def stress(inputs: Inputs, options: SolveOptions, plan: str = BASE, samples: int = 2000,
           seed: int = 0, scheduler: str | None = None, workers: int | None = None,
           progress: Callable[[int, int], None] | None = None) -> StressResult:
    """The stress test of the plan of scenario `plan` over the outcomes of the Risks sheet
    (enumerated when there are at most Settings max_outcomes, else `samples` draws seeded
    with `seed`). Raises InputError when the workbook has no events or some demand has no
    unmet_penalty, StressError when the plan is not optimal or `samples` out of range,
    cluster.ClusterError when the cluster cannot be started or reached."""
    if not 1 <= samples <= MAX_OUTCOMES:
        raise StressError(f"samples must be from 1 to {MAX_OUTCOMES:,}, not {samples:,}")
    problems = risk_problems(inputs, "stress")
    if problems:
        raise InputError(problems)
    out = outcomes(inputs.events, int(inputs.settings.max_outcomes), samples, seed)
    book = contract_book(inputs, options, plan)
    [results] = solve_outcomes(inputs, out, (book,), options, scheduler, workers, progress)
    return StressResult(book, out, results, samples if out.sampled else None, seed)


STRESS_ROWS = 1_000_000  # Stress rows in the workbook; more go to a CSV file beside it


def stress_sheets(inputs: Inputs, result: StressResult
                  ) -> tuple[dict[str, tuple[str, pd.DataFrame]], pd.DataFrame | None]:
    """The Stress sheet and the Risk sheet's tables (Risk, then Shortfalls and Events below
    it), with their notes; and the whole Stress table when it has more rows than a sheet
    holds (the sheet then shows the first STRESS_ROWS and says where the rest is)."""
    settings, out = inputs.settings, result.outcomes
    events = f"{len(out.events)} event{'s' if len(out.events) != 1 else ''}"
    what = (f"{len(out.draws):,} samples (seed {result.seed}) of the outcomes of {events}"
            if out.sampled else f"all {len(out):,} outcomes of {events}")
    table = result.stress_table()
    whole = table if len(table) > STRESS_ROWS else None
    capped = (f" The first {STRESS_ROWS:,} of {len(table):,} rows; all of them are in the "
              f"CSV file beside this workbook." if whole is not None else "")
    risk = result.risk_table()
    unsolved = risk["p_unsolved"].max()
    note = (f" Outcomes with probability {unsolved:.4g} could not be solved (status in "
            f"Stress); the statistics are over the others." if unsolved > 0 else "")
    return {
        STRESS.name: (STRESS.note_for(what=what[0].upper() + what[1:], plan=result.book.plan,
                                      book=f"{result.book.cost:,.0f}",
                                      currency=settings.currency,
                                      spot=f"{1 + settings.spot_premium:g}", capped=capped),
                      table.head(STRESS_ROWS)),
        RISK.name: (RISK.note_for(plan=result.book.plan, what=what,
                                  currency=settings.currency, unsolved=note), risk),
        RISK_SHORTFALLS.name: (RISK_SHORTFALLS.note_for(), result.shortfall_table()),
        RISK_EVENTS.name: (RISK_EVENTS.note_for(), result.event_table()),
        DISTRIBUTION.name: (DISTRIBUTION.note_for(currency=settings.currency),
                            result.distribution_table()),
    }, whole
