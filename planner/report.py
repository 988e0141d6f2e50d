"""Solved values into the plan's tables (docs/model.md, plan workbook): Summary (with the
change against base), Sourcing, Flows, Comparison, Mix, Limits, Unmet, Utilization.

Values are read only from an OPTIMAL solution; every number is cleaned of
solver dust (1e-12, -0.0) before it reaches a table.

The tables are grouped, joined and sorted on integer codes of their columns (`_group_by`,
`_sums_at`, `_order`), not by a pandas group-by, merge or sort per step: on a small plan
each of those costs more than its data (issue 22). Only the flows that carry material are
grouped: on a large plan, a small part of them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .model import SourcingModel
from .network import CUSTOMER, SITE, STOCKPILE, SUPPLIER
from .rule_costs import RULE_FAMILIES, rule_names
from .rules import STAGE_FLOWS
from .sheets import (COMPARISON, FIGURES, FLOWS, LIMITS, MIX, MIX_STAGES, OPTIONS, PROVENANCE,
                     SOURCING, STAGES, SUMMARY, UNMET, UTILIZATION)
from .solve import Solution

TOL = 1e-6  # tonnes or money below this are reported as 0

# The tables' columns, as planner/sheets.py declares the plan's sheets.
SUMMARY_COLUMNS = SUMMARY.names
FIGURE_COLUMNS = [c.name for c in FIGURES]   # a scenario's costs and unmet t
FLOW_COLUMNS = FLOWS.names
UNMET_COLUMNS = UNMET.names
LIMIT_COLUMNS = LIMITS.names
MIX_COLUMNS = MIX.names
UTILIZATION_COLUMNS = UTILIZATION.names
COMPARISON_COLUMNS = COMPARISON.names


def rounded(values) -> np.ndarray:
    """Round to 6 decimals, zero what is below TOL, and drop negative zeros: both solvers
    return -0.0 and 1e-12 dust in values and duals, shown as "-0" and caught by "< 0"
    formats (`+ 0.0` turns -0.0 into 0.0)."""
    v = np.asarray(values, float)
    v = np.where(np.abs(v) < TOL, 0.0, np.round(v, 6))
    return v + 0.0


def change(value: float, base: float) -> float:
    """A figure against base's, as the Summary and the Comparison both give it."""
    return float(rounded(value - base))


@dataclass
class ScenarioReport:
    name: str
    status: str
    message: str
    costs: dict[str, float] = field(default_factory=dict)   # FIGURE_COLUMNS
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def summary_row(self) -> dict:
        row = {"scenario": self.name, "status": self.status}
        row.update({c: self.costs.get(c) for c in FIGURE_COLUMNS})
        return row


# Grouping, joining and sorting on integer codes -------------------------------------------
@dataclass
class _Groups:
    """Rows grouped by their values in some columns (`_group_by`)."""

    ids: np.ndarray    # each row's group (0, 1, ...), -1 for a row with a blank value
    rows: np.ndarray   # the first row of each group

    def __len__(self) -> int:
        return len(self.rows)

    def sum(self, values, by: np.ndarray | None = None, n: int = 1) -> np.ndarray:
        """Σ `values` per group; with `by` (each row's column, 0 to n-1), per group and
        column: a (groups x n) table. Added in row order; pandas' group-by adds otherwise
        (with Kahan's compensation, or by np.add.reduceat), so its sum may differ in the last
        bit."""
        counted = self.ids >= 0
        cell = self.ids if by is None else self.ids * n + by
        sums = np.bincount(cell[counted], np.asarray(values, float)[counted],
                           minlength=len(self) * n)
        return sums if by is None else sums.reshape(len(self), n)


def _group_by(*columns: np.ndarray, sort: bool = False) -> _Groups:
    """The rows grouped by their values in `columns` (arrays of one length), the groups
    numbered in order of first appearance or, with `sort`, in sorted order of the values
    (column by column), as pandas' group-by numbers them. A row with a blank value is in
    no group, as a group-by leaves it out."""
    n = len(columns[0])
    key, space, blank = np.zeros(n, np.int64), 1, np.zeros(n, bool)
    for column in columns:
        codes, uniques = pd.factorize(column, sort=sort)
        blank |= codes < 0
        if space * len(uniques) > 2 ** 62:  # the key renumbered 0, 1, ... (in order) first
            key = np.unique(key, return_inverse=True)[1].reshape(-1)
            space = int(key.max(initial=0)) + 1
        key, space = key * len(uniques) + codes, space * len(uniques)
    counted = np.flatnonzero(~blank)
    _, first, group = np.unique(key[counted], return_index=True, return_inverse=True)
    group = group.reshape(-1)
    if not sort:  # the groups renumbered in order of first appearance
        rank = np.empty(len(first), np.int64)
        rank[np.argsort(first)] = np.arange(len(first))
        group, first = rank[group], np.sort(first)
    ids = np.full(n, -1, np.int64)
    ids[counted] = group
    return _Groups(ids, counted[first])


def _sums_at(values: np.ndarray, by: list[np.ndarray], at: list[np.ndarray]) -> np.ndarray:
    """Σ `values` over the rows of one table that share a key (its columns `by`), read at
    the keys of another table (its columns `at`, in the same order), 0 at a key no row
    has: a group-by sum and a left join in one pass."""
    groups = _group_by(*(np.concatenate([mine, theirs]) for mine, theirs in zip(by, at)))
    sums = groups.sum(np.concatenate([values, np.zeros(len(at[0]))]))
    return np.append(sums, 0.0)[groups.ids[len(values):]]  # a blank key (-1): the 0 appended


def _order(*keys, descending: tuple[int, ...] = (), blanks_first: bool = False) -> np.ndarray:
    """The rows' order by the columns `keys` (those at the positions in `descending` largest
    first), ties in row order: as DataFrame.sort_values orders rows by several columns,
    each column ranked by its sorted distinct values, blanks last (or first)."""
    ranks = []
    for i, values in enumerate(keys):
        values = np.asarray(values)
        if values.dtype.kind in "if" and not np.isnan(values).any():
            ranks.append(-values if i in descending else values)  # numbers rank as they are
            continue
        codes, uniques = pd.factorize(values, sort=True)
        blank = codes < 0
        if i in descending:
            codes = np.where(blank, codes, len(uniques) - 1 - codes)
        ranks.append(codes if blanks_first else np.where(blank, len(uniques), codes))
    return np.lexsort(ranks[::-1])


def _positions(values: np.ndarray, order, absent: int) -> np.ndarray:
    """Each value's position in `order` (`absent` where it is not there, or blank), looked
    up once per distinct value."""
    codes, uniques = pd.factorize(values)
    at = {v: i for i, v in enumerate(order)}
    return np.array([at.get(v, absent) for v in uniques] + [absent], np.int64)[codes]


def _columns(frame: pd.DataFrame, names: tuple[str, ...], rows=slice(None)) -> list[np.ndarray]:
    """`frame`'s columns `names` as arrays, at `rows`."""
    return [frame[c].to_numpy()[rows] for c in names]


def _concatenated(parts: list[tuple[int, dict]], columns: list[str]
                  ) -> tuple[dict[str, np.ndarray], set[str]]:
    """Tables one under the other, each given as (its number of rows, column -> a Series, an
    array or one value for all its rows; a column a table lacks is blank): their columns as
    arrays, and the text columns that pd.concat of their frames would make object rather
    than pandas' str: those where some table's is neither of str dtype nor one str (an
    object array or Series, or blank)."""
    table, mixed = {}, set()
    for column in columns:
        given = [(n, part.get(column)) for n, part in parts]
        table[column] = np.concatenate([
            np.full(n, np.nan) if v is None else np.asarray(v) if np.ndim(v)
            else np.full(n, v, dtype=object) for n, v in given])
        if table[column].dtype == object and not all(
                isinstance(v, str) or isinstance(getattr(v, "dtype", None), pd.StringDtype)
                for _, v in given):
            mixed.add(column)
    return table, mixed


def _text(values) -> pd.Series:
    """Ids and names kept as the input tables hold them (object): pandas would make an
    array of strings its str dtype."""
    return pd.Series(values, dtype=object)


# One scenario's tables ---------------------------------------------------------------------
def _block(sm: SourcingModel, sol: Solution, name: str) -> np.ndarray:
    return sol.values[sm.lp.columns(name)]


def cost_parts(sm: SourcingModel, qty: np.ndarray, z: np.ndarray, u: np.ndarray,
               level: np.ndarray, taken: np.ndarray | None = None) -> dict[str, float]:
    """The cost parts (COST_PARTS) of flows `qty`, process activity `z`, unmet t `u`,
    stockpile levels `level` and options `taken` (docs/model.md, Objective)."""
    flows = sm.network.flows
    released = np.where(flows["from_kind"].to_numpy() == STOCKPILE, qty, 0.0)
    return {
        "purchase_cost": float(flows["unit_cost"].to_numpy() @ qty),
        "processing_cost": float(sm.activity["cost_per_t"].to_numpy(float) @ z),
        "freight_cost": float(flows["freight"].to_numpy() @ qty),
        "stockpile_cost": float(flows["release_cost"].to_numpy() @ released
                                + sm.levels["holding_cost"].to_numpy(float) @ level),
        "unmet_cost": float(sm.unmet["unmet_penalty"].to_numpy(float) @ u),
        "option_cost": 0.0 if taken is None or not len(taken) else
        float(sm.network.options["fixed_cost"].to_numpy(float) @ taken),
    }


def scenario_report(name: str, sm: SourcingModel, sol: Solution,
                    rule_cost: dict[str, float | None] | None = None) -> ScenarioReport:
    """The tables of one solved scenario. `rule_cost`: what each Limits or Restrictions rule
    costs in total (`rule_costs.rule_costs`), for the Limits sheet's cost_of_rule."""
    if not sol.ok:
        return ScenarioReport(name, sol.status.value, sol.message)
    net = sm.network
    flows = net.flows
    qty = rounded(_block(sm, sol, "flow"))
    z = _block(sm, sol, "activity")
    u = rounded(_block(sm, sol, "unmet"))
    level = rounded(_block(sm, sol, "level"))

    # The flows that carry material (flows are >= 0): the only ones a table shows or sums.
    carrying = np.flatnonzero(qty > 0)
    moved = flows.take(carrying).reset_index(drop=True)
    q = qty[carrying]

    taken = np.round(_block(sm, sol, "option")) if "option" in sm.lp.variables \
        else np.zeros(0)
    costs = {k: float(rounded(v)) for k, v in cost_parts(sm, qty, z, u, level, taken).items()}
    costs["total_cost"] = float(rounded(sum(costs.values())))
    # What the deliveries leave of the demand: the unmet columns' tonnes, and in a
    # best-effort plan also the hard demand it gives up (which has no unmet column).
    unmet = _unmet(name, net.demand.reset_index(drop=True), moved, q)
    costs["unmet_t"] = float(rounded(unmet["unmet_t"].to_numpy(float).sum()))

    freight, unit_cost = _columns(moved, ("freight", "unit_cost"))
    flow_table = moved.assign(scenario=name, quantity_t=q, freight_cost=rounded(freight * q),
                              freight_per_t=freight,
                              purchase_cost=rounded(unit_cost * q))[FLOW_COLUMNS]

    return ScenarioReport(name, sol.status.value, sol.message, costs, {
        "Flows": flow_table,
        "Unmet": unmet,
        "Utilization": _utilization(name, sm, moved, q, z, level),
        "Limits": _limits(name, sm, sol, rule_cost),
        "Mix": _mix(name, moved, q, net.periods, _origins(sm, sol)),
        **({"Provenance": _provenance(name, sm, sol)} if sm.tracking else {}),
        **({"Options": _options(name, sm, taken, moved, q, z)} if len(taken) else {}),
    })


def _options(name: str, sm: SourcingModel, taken: np.ndarray, moved: pd.DataFrame,
             q: np.ndarray, z: np.ndarray) -> pd.DataFrame:
    """Each option: taken or not, and the t its site processed or its offer sold over the
    horizon."""
    options = sm.network.options
    site_used = pd.Series(z).groupby(sm.activity["site"].to_numpy()).sum()
    sold = moved["from_kind"].to_numpy() == SUPPLIER
    offer_used = pd.Series(q[sold]).groupby([moved["from"].to_numpy()[sold],
                                             moved["material"].to_numpy()[sold]]).sum()
    used = [site_used.get(node, 0.0) if kind == "site" else offer_used.get((node, m), 0.0)
            for kind, node, m in zip(options["kind"], options["node"], options["material"])]
    return pd.DataFrame({"scenario": name, "option": _text(options["option"]),
                         "kind": _text(options["kind"]), "node": _text(options["node"]),
                         "material": _text(options["material"]), "taken": taken > 0.5,
                         "fixed_cost": options["fixed_cost"].to_numpy(float),
                         "capacity_t": pd.to_numeric(options["capacity_t"]).to_numpy(float),
                         "first_period": _text(options["first_period"]),
                         "capacity_used": rounded(np.asarray(used, float))},
                        columns=OPTIONS.names)


def _delivered(sm: SourcingModel, sol: Solution, layer) -> tuple[np.ndarray, ...]:
    """(period, customer, material, state, tonnes) of the components of `layer` that reach
    customers and carry material."""
    flows = sm.network.flows
    delivered = flows["to_kind"].to_numpy()[layer.flow] == CUSTOMER
    t = rounded(sol.values[layer.column[delivered]])
    keep = t > 0
    at = layer.flow[delivered][keep]
    return (*_columns(flows, ("period", "to", "material"), at),
            layer.state[delivered][keep], t[keep])


def _origins(sm: SourcingModel, sol: Solution) -> tuple[np.ndarray, ...] | None:
    """(period, material, origin country, tonnes) received by customers, when tracked."""
    if sm.tracking is None or sm.tracking.origin is None:
        return None
    layer = sm.tracking.origin
    period, _, material, state, t = _delivered(sm, sol, layer)
    return period, material, layer.states.values[state], t


def _provenance(name: str, sm: SourcingModel, sol: Solution) -> pd.DataFrame:
    """Per period, customer and material: the tonnes received of each origin, and those that
    touched each member a rule names, with their share of what the customer received."""
    tracking = sm.tracking
    parts = []
    for basis, layer in ([("origin", tracking.origin)] if tracking.origin else []) + \
            [("touched", layer) for layer in tracking.touched.values()]:
        period, customer, material, state, t = _delivered(sm, sol, layer)
        if basis == "touched":
            yes = state == 1
            period, customer, material, t = period[yes], customer[yes], material[yes], t[yes]
            member = np.full(len(t), layer.member, dtype=object)
        else:
            member = layer.states.values[state]
        groups = _group_by(period, customer, material, member)
        parts.append((np.full(len(groups), basis, dtype=object),
                      *(c[groups.rows] for c in (period, customer, material, member)),
                      groups.sum(t)))
    flows = sm.network.flows
    q = rounded(_block(sm, sol, "flow"))
    to_customer = (flows["to_kind"].to_numpy() == CUSTOMER) & (q > 0)
    keys = _columns(flows, ("period", "to", "material"), to_customer)
    rows = {c: np.concatenate([p[i] for p in parts]) if parts else np.zeros(0, object)
            for i, c in enumerate(("basis", "period", "customer", "material", "member",
                                   "quantity_t"))}
    total = _sums_at(q[to_customer], keys, [rows["period"], rows["customer"],
                                            rows["material"]])
    rows["quantity_t"] = rounded(rows["quantity_t"].astype(float))
    rows["share"] = _ratio(rows["quantity_t"], total)
    order = _order(_positions(rows["period"], sm.network.periods, -1), rows["customer"],
                   rows["material"], rows["basis"], rows["quantity_t"], descending=(4,))
    return pd.DataFrame({"scenario": name, **{c: v[order] if c in ("quantity_t", "share")
                                              else _text(v[order]) for c, v in rows.items()}},
                        columns=PROVENANCE.names)


def _unmet(name: str, demand: pd.DataFrame, moved: pd.DataFrame, q: np.ndarray) -> pd.DataFrame:
    """The demand rows that the plan does not meet in full."""
    delivery = moved["to_kind"].to_numpy() == CUSTOMER
    delivered = rounded(_sums_at(q[delivery],
                                 _columns(moved, ("to", "material", "period"), delivery),
                                 _columns(demand, ("customer", "material", "period"))))
    unmet = rounded(demand["quantity_t"].to_numpy(float) - delivered)
    penalty = demand["unmet_penalty"].to_numpy(float)
    unmet_cost = rounded(unmet * np.where(np.isnan(penalty), 0.0, penalty))
    short = np.flatnonzero(unmet > 0)
    ids = ("customer", "country", "material", "period")
    table = {c: _text(v) for c, v in zip(ids, _columns(demand, ids, short))}
    table["demand_t"], table["unmet_penalty"] = _columns(demand, ("quantity_t", "unmet_penalty"),
                                                         short)
    table.update(scenario=name, delivered_t=delivered[short], unmet_t=unmet[short],
                 unmet_cost=unmet_cost[short])
    return pd.DataFrame(table, columns=UNMET_COLUMNS)


def _ratio(used: np.ndarray, cap: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(cap > 0, used / cap, np.nan)
    return np.where(np.isnan(share), np.nan, rounded(share))


def _utilization(name: str, sm: SourcingModel, moved: pd.DataFrame, q: np.ndarray,
                 z: np.ndarray, level: np.ndarray) -> pd.DataFrame:
    """Each capacity and what the plan uses of it: the suppliers' offers, the sites, the
    processes (those without a capacity where they run), the stockpiles and the capped
    lanes, in that order."""
    net = sm.network
    parts = []  # (kind, period, id, material, used t, capacity t) of each capacity

    offers = net.offers
    sold = moved["from_kind"].to_numpy() == SUPPLIER
    parts.append((SUPPLIER, *_columns(offers, ("period", "supplier", "material")),
                  _sums_at(q[sold], _columns(moved, ("from", "material", "period"), sold),
                           _columns(offers, ("supplier", "material", "period"))),
                  offers["capacity_t"].to_numpy()))

    act = sm.activity
    site, period, process, material = _columns(act, ("site", "period", "process",
                                                     "input_material"))
    by_site = _group_by(site, period, sort=True)
    listed = pd.Index(net.sites["site"]).get_indexer(site[by_site.rows])
    # The sites in the Sites table's order, each one's periods in sorted order.
    shown = np.flatnonzero(listed >= 0)
    shown = shown[np.argsort(listed[shown], kind="stable")]
    rows = by_site.rows[shown]
    parts.append((SITE, period[rows], site[rows], np.full(len(rows), None),
                  by_site.sum(z)[shown], net.sites["capacity_t"].to_numpy()[listed[shown]]))
    # A process without a capacity of its own has nothing to show where it does not run.
    capacity = act["capacity_t"].to_numpy(float)
    ran = np.flatnonzero(~np.isnan(capacity) | (rounded(z) > 0))
    parts.append(("process", period[ran], (site + " / " + process.astype(str))[ran],
                  material[ran], z[ran], capacity[ran]))

    parts.append((STOCKPILE, *_columns(sm.levels, ("period", "stockpile", "material")), level,
                  sm.levels["capacity_t"].to_numpy()))

    caps = net.lane_caps
    if len(caps):
        # Each lane cap in each period; a cap without a material counts every material.
        lane = np.repeat(np.arange(len(caps)), len(net.periods))
        period = np.tile(np.array(net.periods, dtype=object), len(caps))
        src, dst, material, max_t = _columns(caps, ("from", "to", "material", "max_t"), lane)
        on_lane = _columns(moved, ("from", "to", "period"))
        every = _sums_at(q, on_lane, [src, dst, period])
        one = _sums_at(q, on_lane + _columns(moved, ("material",)), [src, dst, period, material])
        parts.append(("lane", period, src + " -> " + dst, material,
                      np.where(pd.isna(material), every, one), max_t))

    kind = np.repeat(np.array([p[0] for p in parts], dtype=object), [len(p[1]) for p in parts])
    period, ids, material, cap = (np.concatenate([np.asarray(p[i], dtype=object)
                                                  for p in parts]) for i in (1, 2, 3, 5))
    used = rounded(np.concatenate([p[4] for p in parts]))
    cap = np.asarray(pd.to_numeric(cap, errors="coerce"), float)
    return pd.DataFrame({"scenario": name, "period": _text(period), "kind": kind,
                         "id": _text(ids), "material": _text(material), "used_t": used,
                         "capacity_t": cap, "utilization": _ratio(used, cap)},
                        columns=UTILIZATION_COLUMNS)


def _limits(name: str, sm: SourcingModel, sol: Solution,
            rule_cost: dict[str, float | None] | None) -> pd.DataFrame:
    """Every rule instance: level, bound, whether it binds, shadow price (d cost / d bound:
    per t of a tonne bound, per 1.0 of a share bound), what its whole rule costs (from
    `rule_cost`, where given); the costliest at the margin first."""
    lp = sm.lp
    activity, _ = lp.row_activity(sol.values)
    parts = []  # per family: (rows, Limits column -> its values, or one value for all rows)
    for family in RULE_FAMILIES:  # every rule instance the Limits sheet lists
        if family not in lp.families:
            continue
        rows = lp.rows_of(family)
        keys = lp.families[family].keys
        dual = sol.duals[rows]
        names = rule_names(family, keys)
        whole = None
        if rule_cost:
            whole = np.array([np.nan if (c := rule_cost.get(r)) is None else c
                              for r in names], float)
            # A rule whose removal saves nothing saves nothing loosened a little either,
            # though its dual may not be 0: where two rules hold back the same tonnes, the
            # optimum is degenerate and the solver may put the price on either.
            dual = np.where(whole == 0, 0.0, dual)
        level = activity[rows]
        if family.startswith("share"):
            stage_t = sol.values[keys["volume_col"].to_numpy()]
            bound = keys["bound"].to_numpy(float)
            volume = level + bound * stage_t
            # The bound multiplies the stage volume V in the row Mvol - bound x V <= 0 (or
            # >= 0): moving it by d moves the row's right-hand side by V x d at the optimum.
            price = rounded(dual * stage_t)
            share = _ratio(volume, stage_t)
            own = dict(type="limit", sense=family[6:], stage_volume_t=rounded(stage_t),
                       volume_t=rounded(volume), share=share, level=share,
                       shadow_price=price, value_of_1pt=rounded(np.abs(price) * 0.01))
            tol = 1e-6 * np.maximum(1.0, stage_t)
            at_bound, busy = np.abs(level) <= tol, stage_t > TOL
            past = level > tol if family == "share_max" else level < -tol
        else:
            own = {}
            if family == "lane_cap":
                own = dict(rule=names, type="lane", bound=keys["max_t"].to_numpy(float),
                           sense="max")
            elif family == "stockpile_floor":
                stockpile, floor = _columns(keys, ("stockpile", "min_level_t"))
                own = dict(rule=names, type="floor", member=stockpile, bound=floor,
                           sense="min")
            bound = np.asarray(own["bound"] if "bound" in own else keys["bound"], float)
            own["volume_t"] = own["level"] = rounded(level)
            tol = 1e-6 * np.maximum(1.0, bound)
            at_bound, busy = np.abs(level - bound) <= tol, level > TOL
            past = bound - level > tol if family == "stockpile_floor" else level - bound > tol
        # A rule binds when it is at its bound and either carries volume or costs money.
        dual = rounded(dual)
        own.setdefault("shadow_price", dual)
        own.update(scenario=name, binds=at_bound & (busy | (dual != 0)))
        if past.any():  # broken by a best-effort plan: its dual is the relaxation's price
            own["shadow_price"] = np.where(past, np.nan, own["shadow_price"])
            if "value_of_1pt" in own:
                own["value_of_1pt"] = np.where(past, np.nan, own["value_of_1pt"])
        if whole is not None:
            own["cost_of_rule"] = rounded(whole)
        parts.append((len(rows), {c: keys[c] for c in LIMIT_COLUMNS if c in keys} | own))
    if not parts:
        return pd.DataFrame(columns=LIMIT_COLUMNS)
    table, mixed = _concatenated(parts, LIMIT_COLUMNS)
    # Periods in the plan's order; a rule over the whole horizon ("all") first.
    order = _order(-np.abs(table["shadow_price"]), table["rule"],
                   _positions(table["period"], sm.network.periods, -1),
                   *(table[c] for c in ("material", "customer", "member")), blanks_first=True)
    return pd.DataFrame({c: _text(v[order]) if c in mixed else v[order]
                         for c, v in table.items()})


def _mix(name: str, moved: pd.DataFrame, q: np.ndarray, periods: list[str],
         origins: tuple[np.ndarray, ...] | None = None) -> pd.DataFrame:
    """Each country's tonnes and share per (period, material, stage), and the stage's HHI;
    in the plan's order of periods, then by material, stage, and the most tonnes first.
    `origins`: (period, material, country, tonnes) received by customers by origin, the
    `origin` stage."""
    at_stage = [np.flatnonzero(STAGE_FLOWS[stage](moved).to_numpy(bool)) for stage in STAGES]
    rows = np.concatenate(at_stage)
    if not len(rows):
        return pd.DataFrame(columns=MIX_COLUMNS)
    stage = np.repeat(np.arange(len(STAGES)), [len(r) for r in at_stage])
    period, material, country = _columns(moved, ("period", "material", "from_country"), rows)
    q = q[rows]
    if origins is not None:
        o_period, o_material, o_country, o_t = origins
        period, material, country = (np.concatenate([a, np.asarray(b, dtype=a.dtype)]) for a, b
                                     in ((period, o_period), (material, o_material),
                                         (country, o_country)))
        stage = np.concatenate([stage, np.full(len(o_t), MIX_STAGES.index("origin"))])
        q = np.concatenate([q, o_t])
    by_country = _group_by(period, material, stage, country)
    tonnes = by_country.sum(q)
    period, material, stage, country = (c[by_country.rows]
                                        for c in (period, material, stage, country))
    by_stage = _group_by(period, material, stage)
    stage_total = by_stage.sum(tonnes)[by_stage.ids]
    share = tonnes / stage_total
    hhi = rounded(by_stage.sum(rounded((share * 100) ** 2))[by_stage.ids])
    tonnes = rounded(tonnes)
    order = _order(_positions(period, periods, len(periods)), material, stage, tonnes, country,
                   descending=(3,))
    return pd.DataFrame({"scenario": name, "period": period[order],
                         "material": material[order],
                         "stage": np.array(MIX_STAGES, dtype=object)[stage[order]],
                         "country": country[order], "quantity_t": tonnes[order],
                         "share": rounded(share)[order],
                         "stage_total_t": rounded(stage_total)[order], "hhi": hhi[order]},
                        columns=MIX_COLUMNS)


# Across scenarios -------------------------------------------------------------------------
SHARE_COLUMNS = ["material", "stage", "country", "quantity_t", "share"]


def horizon_shares(mix: pd.DataFrame | None) -> pd.DataFrame:
    """Each country's share of a material's tonnes at a stage over the whole horizon, from
    one scenario's Mix rows: columns material, stage, country, quantity_t, share; materials
    in first-seen order, stages in the plan's order (STAGES), then the largest share first
    (a tie goes to the first country in alphabetical order)."""
    shares = _horizon_shares(mix)
    return pd.DataFrame(columns=SHARE_COLUMNS) if shares is None else pd.DataFrame(shares)


def top_shares(mix: pd.DataFrame | None) -> pd.DataFrame:
    """Per (material, stage), over the whole horizon: the largest country and its share
    (`horizon_shares`' first row for the pair)."""
    top = _top_shares(mix)
    return pd.DataFrame(columns=SHARE_COLUMNS) if top is None else pd.DataFrame(top)


def _horizon_shares(mix: pd.DataFrame | None) -> dict[str, np.ndarray] | None:
    """`horizon_shares`' columns as arrays; None without Mix rows."""
    if mix is None or mix.empty or not {"material", "stage", "country", "quantity_t"} <= set(mix):
        return None
    material, stage, country = _columns(mix, ("material", "stage", "country"))
    quantity = np.asarray(pd.to_numeric(mix["quantity_t"], errors="coerce"), float)
    by_country = _group_by(material, stage, country)
    total = by_country.sum(np.where(np.isnan(quantity), 0.0, quantity))
    first_seen = pd.factorize(material)[0][by_country.rows]
    material, stage, country = (c[by_country.rows] for c in (material, stage, country))
    by_stage = _group_by(material, stage)
    stage_total = by_stage.sum(total)[by_stage.ids]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(stage_total > 0, total / stage_total, 0.0)
    order = _order(first_seen, _positions(stage, MIX_STAGES, len(MIX_STAGES)), share, country,
                   descending=(2,))
    return dict(zip(SHARE_COLUMNS, (material[order], stage[order], country[order],
                                    total[order], share[order])))


def _top_shares(mix: pd.DataFrame | None) -> dict[str, np.ndarray] | None:
    """`top_shares`' columns as arrays; None without Mix rows."""
    shares = _horizon_shares(mix)
    if shares is None:
        return None
    first = _group_by(shares["material"], shares["stage"]).rows
    return {c: v[first] for c, v in shares.items()}


def top_by_pair(mix: pd.DataFrame | None) -> dict[tuple, tuple[str, float]]:
    """(material, stage) -> (largest country, its share), in `top_shares`' order."""
    top = _top_shares(mix)
    return {} if top is None else {
        (m, s): (c, v) for m, s, c, v in
        zip(top["material"], top["stage"], top["country"], top["share"].tolist())}


def shares_by_country(mix: pd.DataFrame | None) -> dict[tuple, float]:
    """(material, stage, country) -> its share over the whole horizon."""
    shares = _horizon_shares(mix)
    return {} if shares is None else {
        (m, s, c): v for m, s, c, v in zip(shares["material"], shares["stage"],
                                           shares["country"], shares["share"].tolist())}


MOST_CHANGED_FLOWS = 20  # per scenario, in the Comparison


def comparison(reports: list[ScenarioReport]) -> pd.DataFrame:
    """Each scenario against base: costs, unmet t, top-country shares, most-changed flows."""
    base = next((r for r in reports if r.name == "base"), None)
    if base is None or base.status != "optimal":
        return pd.DataFrame(columns=COMPARISON_COLUMNS)
    planned = [base] + [r for r in reports if r is not base and r.status == "optimal"]
    tonnes, keys, in_base = _flow_tonnes([r.tables["Flows"] for r in planned])
    columns = iter(range(1, len(planned)))  # each optimal scenario's column of `tonnes`
    rows = []
    base_top = top_by_pair(base.tables.get("Mix"))
    for r in reports:
        if r is base:
            continue
        if r.status != "optimal":
            rows.append({"scenario": r.name, "section": "status", "item": "status",
                         "detail": f"{r.status}: {r.message}"})
            continue
        base_costs, costs = (np.array([c[m] for m in FIGURE_COLUMNS])
                             for c in (base.costs, r.costs))
        for metric, b, v, delta in zip(FIGURE_COLUMNS, base_costs.tolist(), costs.tolist(),
                                       rounded(costs - base_costs).tolist()):
            rows.append({"scenario": r.name, "section": "cost" if metric != "unmet_t"
                         else "unmet", "item": metric, "base_value": b, "value": v,
                         "change": delta})
        top = top_by_pair(r.tables.get("Mix"))
        pairs = sorted(set(base_top) | set(top), key=str)
        before, after = ([tops.get(p, ("-", 0.0)) for p in pairs] for tops in (base_top, top))
        base_shares, shares = (np.array([s for _, s in tops], float) for tops in (before, after))
        for (material, stage), (bc, _), (vc, _), b, v, delta in zip(
                pairs, before, after, rounded(base_shares).tolist(), rounded(shares).tolist(),
                rounded(shares - base_shares).tolist()):
            rows.append({"scenario": r.name, "section": "top share",
                         "item": f"{material} / {stage}", "base_value": b, "value": v,
                         "change": delta, "detail": f"{bc} -> {vc}"})
        base_t, scenario_t = tonnes[:, 0], tonnes[:, next(columns)]
        delta = rounded(scenario_t - base_t)
        # Base's flows, then the scenario's others (as pandas aligns the two), the largest
        # change first.
        changed = np.flatnonzero(delta != 0)
        changed = changed[np.lexsort((changed, ~in_base[changed]))]
        changed = changed[np.argsort(-np.abs(delta[changed]), kind="stable")]
        shown = changed[:MOST_CHANGED_FLOWS]
        for period, material, src, dst, b, v, d in zip(
                *(k[shown] for k in keys), rounded(base_t[shown]).tolist(),
                rounded(scenario_t[shown]).tolist(), delta[shown].tolist()):
            rows.append({"scenario": r.name, "section": "flow",
                         "item": f"{period} {material}: {src} -> {dst}",
                         "base_value": b, "value": v, "change": d})
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def _flow_tonnes(tables: list[pd.DataFrame]) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """Tonnes per (period, material, from, to) of each Flows table: (a table of the keys in
    sorted order x the Flows tables, the key columns, whether the first table has the key)."""
    names = ("period", "material", "from", "to")
    keys = [np.concatenate([t[c].to_numpy() for t in tables]) for c in names]
    owner = np.repeat(np.arange(len(tables)), [len(t) for t in tables])
    flows = _group_by(*keys, sort=True)
    quantity = np.concatenate([t["quantity_t"].to_numpy(float) for t in tables])
    tonnes = flows.sum(quantity, owner, len(tables))
    in_first = flows.sum(owner == 0) > 0
    return tonnes, [k[flows.rows] for k in keys], in_first


def summary(reports: list[ScenarioReport]) -> pd.DataFrame:
    """One row per scenario: status, costs, unmet t, and the total cost against base's
    (blank without an optimal base or without a total): the money and the fraction of
    base's total."""
    table = pd.DataFrame([r.summary_row() for r in reports], columns=SUMMARY_COLUMNS)
    base = next((r for r in reports if r.name == "base"), None)
    base_cost = base.costs.get("total_cost") if base is not None \
        and base.status == "optimal" else None
    changes, shares = [], []
    for r in reports:
        cost = r.costs.get("total_cost")
        if cost is None or base_cost is None:
            changes.append(None)
            shares.append(None)
            continue
        changes.append(change(cost, base_cost))
        shares.append(float(rounded(changes[-1] / base_cost)) if base_cost else None)
    table["change_vs_base"] = pd.Series(changes, dtype=float)
    table["change_vs_base_pct"] = pd.Series(shares, dtype=float)
    return table


SOURCE_KINDS = (SUPPLIER, SITE, STOCKPILE)  # where a material's tonnes come from
ALL_PERIODS = "all"                          # the whole horizon, as Limits names it


def sourcing(reports: list[ScenarioReport], periods: list[str]) -> pd.DataFrame:
    """Tonnes by source, from the scenarios' Flows: per material, what each supplier sold,
    each site shipped out (its output) and each stockpile released, over the whole
    horizon (period `all`) and then per period (in `periods` order); one column per
    scenario (0 where a planned scenario used the source not at all, blank where the
    scenario has no plan). Rows: the horizon first, then each period; materials
    alphabetical; the most tonnes first (in the first scenario, then in any)."""
    fixed = SOURCING.names
    names = _scenario_columns([r.name for r in reports], fixed)
    planned = [i for i, r in enumerate(reports) if r.tables.get("Flows") is not None]
    if not planned:
        return pd.DataFrame(columns=fixed + names)
    # Each planned scenario's flows out of a source twice: over the horizon, per period.
    keys = ("material", "from_kind", "from", "from_country", "period")
    columns, quantity, owner = [[] for _ in keys], [], []
    for i in planned:
        flows = reports[i].tables["Flows"]
        out = np.flatnonzero(np.isin(flows["from_kind"].to_numpy(), SOURCE_KINDS))
        per_period = _columns(flows, keys, out)
        horizon = per_period[:-1] + [np.full(len(out), ALL_PERIODS, dtype=object)]
        for column, whole, part in zip(columns, horizon, per_period):
            column += [whole, part]
        quantity += [flows["quantity_t"].to_numpy(float)[out]] * 2
        owner.append(np.full(2 * len(out), i))
    columns = [np.concatenate(c) for c in columns]
    # Sources numbered as they first appear: pandas' order of the scenarios' rows aligned.
    sources = _group_by(*columns)
    tonnes = rounded(sources.sum(np.concatenate(quantity), np.concatenate(owner),
                                 len(reports)))
    material, kind, node, country, period = (c[sources.rows] for c in columns)
    codes, uniques = pd.factorize(material)
    folded = np.array([str(m).casefold() for m in uniques], dtype=object)[codes]
    order = _order(_positions(period, [ALL_PERIODS, *periods], len(periods) + 1), folded,
                   material, -tonnes[:, 0], -tonnes[:, planned].max(axis=1), node)
    table = {"material": material[order], "kind": kind[order], "id": node[order],
             "country": country[order], "period": period[order]}
    for i, name in enumerate(names):
        table[name] = tonnes[order, i] if i in planned else None
    return pd.DataFrame(table)


def _scenario_columns(scenarios: list[str], fixed: list[str]) -> list[str]:
    """Column names for the scenarios of a cross table: their own names, unless one is
    already a column's (then with " (scenario)")."""
    taken = {c.casefold() for c in fixed}
    out = []
    for name in map(str, scenarios):
        column = name if name.casefold() not in taken else f"{name} (scenario)"
        taken.add(column.casefold())
        out.append(column)
    return out
