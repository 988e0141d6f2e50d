"""The sourcing LP as arrays (`LinearModel`), built from a `Network`; no I/O.

Construction is linear in the model's size: each constraint family is described
as arrays of (row, column, coefficient) terms obtained from one join of the
flow table against the family's keys, on the integer codes of the network
(`network.Codes`), and all rows are created in a single pass over the terms
sorted by row. Variables are named by index (`x12`), never by a
user id (an id may be any text); the family tables map indices back to ids.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .lp import EQ, GE, LE, LinearModel
from .network import (CUSTOMER, KINDS, SITE, STOCKPILE, SUPPLIER, Network, first_rows, joint,
                      match, table)
from .provenance import Tracking, add_tracking, layers_key
from .rules import Matcher, add_limits, add_restrictions


def _each_period(frame: pd.DataFrame, periods: pd.Series, with_t: bool = True
                 ) -> pd.DataFrame:
    """Each row of `frame` once per period, in the horizon's order, with columns period and
    (`with_t`) t, its place: a cross merge with the periods, at half its cost."""
    rows = np.repeat(np.arange(len(frame)), len(periods))
    t = np.tile(np.arange(len(periods)), len(frame))
    out = frame.take(rows)
    out.index = pd.RangeIndex(len(rows))
    out["period"] = periods.array.take(t)
    if with_t:
        out["t"] = t
    return out


def _opened(offers: pd.DataFrame, options: pd.DataFrame) -> pd.Series:
    """Which offers a supplier option opens (they sell nothing unless it is taken)."""
    if not len(options):
        return pd.Series(False, index=offers.index, dtype=bool)
    mine = options[options["kind"] == "supplier"]
    pairs = set(zip(mine["node"], mine["material"]))
    return pd.Series([(s, m) in pairs for s, m in zip(offers["supplier"], offers["material"])],
                     index=offers.index, dtype=bool)


def _option_terms(keys: pd.DataFrame, options: pd.DataFrame, kind: str, periods: list[str],
                  amount_of: str | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row of `keys`, option, amount) for each option of `kind` and each of its rows from
    its first period on: the capacity it adds or opens (the option's capacity_t, else the
    row's), or with `amount_of` the row's column of that name (an opened offer's min_t)."""
    empty = np.zeros(0, np.int64)
    if not len(options) or not len(keys):
        return empty, empty, np.zeros(0)
    node = "site" if kind == "site" else "supplier"
    at = {p: i for i, p in enumerate(periods)}
    rows, opts, amounts = [], [], []
    key_node, key_period = keys[node].to_numpy(), keys["period"].map(at).to_numpy()
    key_material = keys["material"].to_numpy() if kind == "supplier" else None
    for o, option in enumerate(options.to_dict("records")):
        if option["kind"] != kind:
            continue
        first = at.get(option["first_period"], 0)
        hit = (key_node == option["node"]) & (key_period >= first)
        if kind == "supplier":
            hit &= key_material == option["material"]
        k = np.flatnonzero(hit)
        if amount_of is not None:
            amount = keys[amount_of].to_numpy(float)[k]
        elif option["capacity_t"] is not None and not pd.isna(option["capacity_t"]):
            amount = np.full(len(k), float(option["capacity_t"]))
        else:
            amount = keys["capacity_t"].to_numpy(float)[k]
        rows.append(k)
        opts.append(np.full(len(k), o))
        amounts.append(amount)
    if not rows:
        return empty, empty, np.zeros(0)
    return np.concatenate(rows), np.concatenate(opts), np.concatenate(amounts)


@dataclass
class OfferBounds:
    """What each row of `offers` may sell per period, as the model bounds it: [min_t,
    capacity_t] (blank capacity: inf); an offer that supplier options open sells nothing
    but what its options taken allow, from each one's first period: within
    [sum of min_t, sum of capacity] over them (the model's supplier_min/max terms)."""

    least: np.ndarray      # without options (0 where options open the offer)
    most: np.ndarray
    offer: np.ndarray      # per term: the offer's row, the option's row in `options`,
    option: np.ndarray     # and what taking it adds to the offer's most and least
    adds_most: np.ndarray
    adds_least: np.ndarray

    @classmethod
    def of(cls, offers: pd.DataFrame, options: pd.DataFrame, periods: list[str]
           ) -> "OfferBounds":
        least = offers["min_t"].to_numpy(float).copy()
        most = offers["capacity_t"].to_numpy(float).copy()
        most[np.isnan(most)] = np.inf
        opened = _opened(offers, options).to_numpy()
        least[opened], most[opened] = 0.0, 0.0
        k, o, amount = _option_terms(offers, options, "supplier", periods)
        return cls(least, most, k, o, amount, offers["min_t"].to_numpy(float)[k])

    def given(self, taken: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(least, most) per offer with the options `taken` (a flag per option)."""
        on = taken[self.option].astype(bool)
        n = len(self.least)
        return (self.least + np.bincount(self.offer[on], self.adds_least[on], n),
                self.most + np.bincount(self.offer[on], self.adds_most[on], n))


@dataclass
class SourcingModel:
    """The LP plus the tables that give its columns a meaning."""

    lp: LinearModel
    network: Network
    activity: pd.DataFrame   # process_id, site, process, period, cost_per_t, capacity_t
    unmet: pd.DataFrame      # demand rows with a penalty: customer, material, period, ...
    levels: pd.DataFrame     # stockpile, period, ...
    tracking: Tracking | None = None   # origin and touched layers, when rules count them
    structure: "Structure | None" = None  # what it was built on, for `build_model`'s `like`


@dataclass
class Structure:
    """The LP of a network before origin tracking and rules: its columns and every row but
    the rules', never grown (a model copies it first); `columns` holds what the layers of
    `add_tracking` refer to (f_col, z_col, l_col, activity, levels)."""

    lp: LinearModel
    columns: dict
    unmet: pd.DataFrame
    network: Network
    # By `provenance.layers_key`: the LP with those layers added (never grown) and them.
    tracked: dict = field(default_factory=dict)


def build_model(net: Network, like: SourcingModel | None = None) -> SourcingModel:
    """The LP of one scenario's network (docs/modelling.md): flow, process activity, unmet
    demand and stockpile level columns; balance, capacity, demand, stockpile and rule rows.
    The returned tables say what each column is, for the report. `like`: a model whose rows
    before the rules this one shares when its network shares `like`'s structure
    (`build_network`'s `like`) and the same options apply: only the rules, and origin
    tracking unless `like`'s rules needed the same layers, are then built."""
    shared = like is not None and like.structure is not None
    if shared:
        known = like.structure.network
        shared = known.codes is net.codes and known.options.equals(net.options)
    structure = like.structure if shared else _structure(net)
    columns = structure.columns
    # Origin tracking, shared too where the rules need the same layers.
    key = layers_key(net)
    if key not in structure.tracked:
        lp = structure.lp.copy()
        tracking = add_tracking(lp, net, columns)
        structure.tracked[key] = (lp.copy(), tracking)
    tracked, tracking = structure.tracked[key]
    lp = tracked.copy()
    add_limits(lp, net.codes, columns["f_col"], net.limits, net.groups, tracking)
    groups: dict[str, set[str]] = {}
    for group, country in zip(net.groups["group"], net.groups["country"]):
        groups.setdefault(group, set()).add(country)
    add_restrictions(lp, net.codes, columns["f_col"], net.restrictions,
                     Matcher(set(net.nodes["node"]), groups), tracking)
    return SourcingModel(lp, net, columns["activity"], structure.unmet, columns["levels"],
                         tracking, structure)


def _structure(net: Network) -> Structure:
    """The columns and the rows before tracking and rules of `net`'s LP."""
    lp = LinearModel()
    codes = net.codes
    n, m, p = len(codes.nodes), len(codes.materials), len(codes.periods)
    periods = pd.Series(net.periods)  # typed as pandas types a column of the labels
    flows = net.flows
    f_col = lp.add_columns("flow", len(flows), 0.0, np.nan, flows["cost"].to_numpy(float))

    activity = _each_period(net.processes, periods)
    z_col = lp.add_columns("activity", len(activity), 0.0, activity["capacity_t"].to_numpy(float),
                           activity["cost_per_t"].to_numpy(float))

    demand = net.demand
    soft = demand["unmet_penalty"].notna().to_numpy()
    unmet = demand[soft].reset_index(drop=True)
    u_col = lp.add_columns("unmet", len(unmet), 0.0, unmet["quantity_t"].to_numpy(float),
                           unmet["unmet_penalty"].to_numpy(float))

    # Each stockpile's periods in order, stockpiles in id order.
    by_id = np.argsort(codes.nodes.encode(net.stockpiles["stockpile"]), kind="stable")
    levels = _each_period(net.stockpiles.iloc[by_id], periods)
    l_col = lp.add_columns("level", len(levels), 0.0, levels["capacity_t"].to_numpy(float),
                           levels["holding_cost"].to_numpy(float))

    f_from, f_to, f_material, f_period = (codes.flow(c) for c in ("from", "to", "material",
                                                                  "period"))
    from_kind, to_kind = codes.flow("from_kind"), codes.flow("to_kind")

    def key(frame: pd.DataFrame, node: str, material: str | None = "material") -> np.ndarray:
        """Each row's (node, material, period) or, without `material`, (node, period)."""
        return joint((codes.nodes.encode(frame[node]), n),
                     *([(codes.materials.encode(frame[material]), m)] if material else []),
                     (codes.periods.encode(frame["period"]), p))

    def flows_at(side: str, kind: str, keys: np.ndarray, by_period: bool = False):
        """(flow positions, rows): flows out of (side "from") or into (side "to") `kind`
        nodes whose (node, material, period) or (node, period) matches a row key."""
        node, node_kind = (f_from, from_kind) if side == "from" else (f_to, to_kind)
        pos = np.flatnonzero(node_kind == KINDS.index(kind))
        parts = [(node[pos], n)] + ([] if by_period else [(f_material[pos], m)])
        i, r = match(joint(*parts, (f_period[pos], p)), keys)
        return pos[i], r

    # Options: a yes/no column each, at its fixed cost (a mixed-integer program).
    options = net.options
    y_col = np.zeros(0, np.int64)  # no options: no column, the LP of a workbook without them
    if len(options):
        y_col = lp.add_columns("option", len(options), 0.0, 1.0,
                               options["fixed_cost"].to_numpy(float))
        lp.integer.add("option")

    # Supplier sales within [min_t, capacity_t] per offer and period; an offer an option
    # opens sells within [min_t, capacity] x the option's column, from its first period
    # (OfferBounds: the same bounds the risk commands give contract books).
    offers = net.offers
    bounds = OfferBounds.of(offers, options, net.periods)
    for family, at, sense, rhs, adds in (
            ("supplier_max", np.flatnonzero(np.isfinite(bounds.most)), LE, bounds.most,
             bounds.adds_most),
            ("supplier_min", np.flatnonzero(offers["min_t"].to_numpy(float) > 0), GE,
             bounds.least, bounds.adds_least)):
        keys = offers.iloc[at].reset_index(drop=True)
        f, r = flows_at("from", SUPPLIER, key(keys, "supplier"))
        row_of = np.full(len(offers), -1)
        row_of[at] = np.arange(len(at))
        t = np.flatnonzero(row_of[bounds.offer] >= 0)  # the terms of this family's rows
        lp.add_rows(family, keys, sense, rhs[at], np.concatenate([r, row_of[bounds.offer[t]]]),
                    np.concatenate([f_col[f], y_col[bounds.option[t]]]),
                    np.concatenate([np.ones(len(r)), -adds[t]]))

    # Site balances: inflow of each input = activity using it; outflow ≤ yield × activity.
    a_site = codes.nodes.encode(activity["site"])
    a_period = activity["t"].to_numpy()

    def by_site(at: np.ndarray, material: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
        """The distinct (site, material, period) of the activity rows `at`, each using or
        making its `material`, in order of appearance; and which of them each row has."""
        first, number = first_rows(joint((a_site[at], n), (codes.materials.encode(material), m),
                                         (a_period[at], p)))
        return table({"site": activity["site"].to_numpy()[at[first]], "material": material[first],
                      "period": activity["period"].array[at[first]]}), number

    inputs_, row = by_site(np.arange(len(activity)), activity["input_material"].to_numpy())
    f, r = flows_at("to", SITE, key(inputs_, "site"))
    lp.add_rows("site_input", inputs_, EQ, 0.0, np.concatenate([r, row]),
                np.concatenate([f_col[f], z_col]),
                np.concatenate([np.ones(len(r)), -np.ones(len(row))]))

    outputs = net.outputs
    k, o = match(activity["process_id"].to_numpy(), outputs["process_id"].to_numpy())
    products, row = by_site(k, outputs["output_material"].to_numpy()[o])
    f, r = flows_at("from", SITE, key(products, "site"))
    lp.add_rows("site_output", products, LE, 0.0, np.concatenate([r, row]),
                np.concatenate([f_col[f], z_col[k]]),
                np.concatenate([np.ones(len(r)), -outputs["yield"].to_numpy(float)[o]]))

    capped = net.sites.loc[net.sites["capacity_t"].notna(), ["site", "capacity_t"]]
    keys = _each_period(capped, periods, with_t=False)
    k, r = match(joint((a_site, n), (a_period, p)), key(keys, "site", None))
    rows, o, amount = _option_terms(keys, options, "site", net.periods)
    lp.add_rows("site_capacity", keys, LE, keys["capacity_t"].to_numpy(float),
                np.concatenate([r, rows]), np.concatenate([z_col[k], y_col[o]]),
                np.concatenate([np.ones(len(r)), -amount]))

    # Demand: deliveries + unmet = quantity.
    f, r = flows_at("to", CUSTOMER, key(demand, "customer"))
    ru = np.flatnonzero(soft)
    lp.add_rows("demand", demand, EQ, demand["quantity_t"].to_numpy(float),
                np.concatenate([r, ru]), np.concatenate([f_col[f], u_col]), 1.0)

    # Stockpile balance: level(t) - level(t-1) - intake + release = 0 (initial level at t=0).
    keys = levels[["stockpile", "period", "t", "initial_t", "max_release_t"]]
    rows_l = np.arange(len(keys))
    t = keys["t"].to_numpy()
    prev = np.flatnonzero(t > 0)
    level_key = key(keys, "stockpile", None)
    f_in, r_in = flows_at("to", STOCKPILE, level_key, by_period=True)
    f_out, r_out = flows_at("from", STOCKPILE, level_key, by_period=True)
    rhs = np.where(t == 0, keys["initial_t"].to_numpy(float), 0.0)
    lp.add_rows("stockpile_balance", keys, EQ, rhs,
                np.concatenate([rows_l, prev, r_in, r_out]),
                np.concatenate([l_col, l_col[prev - 1], f_col[f_in], f_col[f_out]]),
                np.concatenate([np.ones(len(rows_l)), -np.ones(len(prev)), -np.ones(len(r_in)),
                                np.ones(len(r_out))]))
    releasing = keys["max_release_t"].notna().to_numpy()
    release = keys[releasing].reset_index(drop=True)
    f, r = flows_at("from", STOCKPILE, level_key[releasing], by_period=True)
    lp.add_rows("stockpile_release", release, LE, release["max_release_t"].to_numpy(float), r,
                f_col[f], 1.0)
    # The floor is a row, not a bound, so that its shadow price can be reported and it
    # can be relaxed when a scenario is diagnosed.
    floor = np.flatnonzero(levels["min_level_t"].to_numpy(float) > 0)
    lp.add_rows("stockpile_floor", levels.iloc[floor], GE,
                levels["min_level_t"].to_numpy(float)[floor], np.arange(len(floor)),
                l_col[floor], 1.0)

    # Lane caps: all matching flows of a lane together, per period.
    caps = _each_period(net.lane_caps, periods, with_t=False)
    ends = ((codes.nodes.encode(caps["from"]), n), (codes.nodes.encode(caps["to"]), n))
    i, r = match(joint((f_from, n), (f_to, n), (f_period, p)),
                 joint(*ends, (codes.periods.encode(caps["period"]), p)))
    cap_material = codes.materials.encode(caps["material"])  # -1 where blank
    same = caps["material"].isna().to_numpy()[r] | (f_material[i] == cap_material[r])
    lp.add_rows("lane_cap", caps, LE, caps["max_t"].to_numpy(float), r[same],
                f_col[i[same]], 1.0)

    return Structure(lp, dict(f_col=f_col, z_col=z_col, l_col=l_col, activity=activity,
                              levels=levels), unmet, net)
