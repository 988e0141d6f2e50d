"""Nodes, arcs and per-period flow candidates from the validated tables (docs/model.md, Sets).

Arcs are all (provider, taker) pairs of a material, priced by Lanes, else Freight, else 0
within one country; closed lanes are removed; each arc is then expanded to the periods in
which it can carry material (a supplier's offer exists, a customer demands).

Ids are numbered once per network (`Codes`), and every join, sort and lookup here and in the
model works on those integer codes with numpy (`joint`, `lookup`, `match`): a pandas merge or
group-by costs 0.1-2 ms however small its tables, numpy on int64 codes microseconds, and both
are linear in the model's size. The tables the rest of the planner reads are made from the
codes at the end.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from itertools import repeat

import numpy as np
import pandas as pd
from pandas.api.types import is_object_dtype

from .inputs import BASE, ROW, Inputs
from .scenarios import applies

SUPPLIER, SITE, CUSTOMER, STOCKPILE = "supplier", "site", "customer", "stockpile"
KINDS = (SUPPLIER, SITE, CUSTOMER, STOCKPILE)  # a node's kind code is its place here
# The kind names typed as pandas types a column of them (its text dtype), for `take`.
_KIND_NAMES = pd.Series(KINDS).array


@dataclass
class Network:
    periods: list[str]
    nodes: pd.DataFrame       # node, kind, country
    offers: pd.DataFrame      # supplier, material, period, capacity_t, unit_cost, min_t
    processes: pd.DataFrame   # process_id, site, process, input_material, cost_per_t, capacity_t
    outputs: pd.DataFrame     # process_id, site, output_material, yield
    sites: pd.DataFrame       # site, country, capacity_t
    demand: pd.DataFrame      # customer, country, material, period, quantity_t, unmet_penalty
    stockpiles: pd.DataFrame  # stockpile, country, material, initial_t, ... (blanks filled)
    flows: pd.DataFrame       # one row per flow variable, see build_flows
    lane_caps: pd.DataFrame   # lane (Lanes row), from, to, material, max_t
    limits: pd.DataFrame      # Limits rows that apply in this scenario
    restrictions: pd.DataFrame  # Restrictions rows that apply in this scenario
    groups: pd.DataFrame      # group, country
    codes: Codes              # the ids above as integer codes, the flows' included
    options: pd.DataFrame = field(default_factory=pd.DataFrame)  # Options rows that apply
    sources: tuple = ()       # what all but the rules were built from (`structure_sources`)


# The sheets whose rows a scenario may scope by name (their `scenario` column): the rules.
RULE_SHEETS = ("Limits", "Restrictions", "Options")


def structure_sources(inputs: Inputs) -> tuple:
    """The objects a network's structure (everything but its rules) is built from: every
    table but RULE_SHEETS', the settings and the periods. A scenario that changes only
    rules has the very objects of base (`scenario_inputs` shares what it does not change),
    so its network can share base's structure (`build_network`'s `like`)."""
    return (inputs.settings, inputs.periods,
            *(inputs.tables[name] for name in sorted(inputs.tables) if name not in RULE_SHEETS))


def same_sources(a: tuple, b: tuple) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b))


# Integer codes -------------------------------------------------------------------------------
class Ids:
    """Ids of one sort (nodes, materials, countries or periods) numbered 0, 1, ...: in sorted
    order, so that ordering codes orders the ids as pandas sorts them, unless `order` gives
    them (the periods, in the horizon's order). Code -1 stands for a blank or unknown id."""

    def __init__(self, *columns, order=None):
        if order is None:
            found = set().union(*(np.asarray(c, dtype=object) for c in columns))
            found.discard(None)
            order = [v for v in found if v == v]  # NaN is a blank too
            try:
                order.sort()
            except TypeError:  # ids of mixed types: pandas' own ordering
                order = list(pd.factorize(np.array(order, dtype=object), sort=True)[1])
        self._ids = np.array([*order, None], dtype=object)  # the last one: code -1's
        self.values = self._ids[:-1]
        self._code = dict(zip(self.values, range(len(self.values))))

    def __len__(self) -> int:
        return len(self.values)

    def encode(self, values) -> np.ndarray:
        """The code of each of `values` (-1 for a blank or an id not among these)."""
        values = np.asarray(values, dtype=object)
        return np.fromiter(map(self._code.get, values, repeat(-1)), np.int64, len(values))

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """The id of each code, as an object array (None for -1)."""
        return self._ids[codes]

    def ranks(self) -> np.ndarray:
        """Each code's place among these ids in sorted order (the code itself unless `order`
        was given)."""
        return Ids(self.values).encode(self.values)


def joint(*parts: tuple[np.ndarray, int]) -> np.ndarray:
    """One int64 key for several codes, given as (codes, how many codes there are) pairs:
    equal keys, equal codes. -1 where any code is -1 (a blank or unknown id), which `lookup`
    and `match` let match nothing."""
    key, known = np.zeros(len(parts[0][0]), np.int64), np.ones(len(parts[0][0]), bool)
    for codes, size in parts:
        key = key * size + codes
        known &= codes >= 0
    return np.where(known, key, -1)


def _sorted_keys(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positions of the keys of `table` that are not -1, in key order, equal keys in table
    order; those keys)."""
    rows = np.flatnonzero(table >= 0)
    order = rows[np.argsort(table[rows], kind="stable")]
    return order, table[order]


def lookup(keys: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Position in `table` of each of `keys` (its first, if a key repeats); -1 where none."""
    order, sorted_ = _sorted_keys(table)
    if not len(order):
        return np.full(len(keys), -1)
    at = np.minimum(np.searchsorted(sorted_, keys), len(order) - 1)
    return np.where(sorted_[at] == keys, order[at], -1)


def match(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions (i, j) with left[i] == right[j], by i then j (the rows of an inner merge, in
    its order); keys of -1 match nothing."""
    order, sorted_ = _sorted_keys(right)
    lo = np.searchsorted(sorted_, left)
    if len(order) and (np.diff(sorted_) > 0).all():  # unique keys (the usual case): one match
        i = np.flatnonzero(sorted_[np.minimum(lo, len(order) - 1)] == left)
        return i, order[lo[i]]
    n = np.searchsorted(sorted_, left, "right") - lo
    i = np.repeat(np.arange(len(left)), n)
    within = np.arange(len(i)) - np.repeat(np.cumsum(n) - n, n)
    return i, order[lo[i] + within]


def first_rows(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Position of each distinct key's first occurrence, in order of occurrence; the number,
    in that order, of each element's key): what drop_duplicates keeps, and where each row went."""
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    order = np.argsort(first)
    number = np.empty(len(order), np.int64)
    number[order] = np.arange(len(order))
    return first[order], number[inverse]


def table(columns: dict) -> pd.DataFrame:
    """A DataFrame of these arrays with their dtypes as they are: pandas would make an object
    array of text its `str` dtype (a None becoming NaN), unlike the input tables'. Built
    from arrays on one index: from Series, pandas would align them, at several times the
    cost."""
    index = pd.RangeIndex(len(next(iter(columns.values()))))
    return pd.DataFrame({name: pd.Series(values, index=index, dtype=object, copy=False)
                         if is_object_dtype(values.dtype) else values
                         for name, values in columns.items()}, index=index, copy=False)


@dataclass
class Codes:
    """The ids of one network as integer codes, each node's kind and country, and the flows'
    from, to, material and period as codes (`flow`), for the model to join and group on."""

    nodes: Ids
    materials: Ids
    countries: Ids
    periods: Ids  # in the horizon's order
    # By node code: the node's kind (its place in KINDS) and country code, and one last entry,
    # -1, which is what code -1 (no such node) finds.
    kind: np.ndarray
    country: np.ndarray
    flows: dict[str, np.ndarray] = field(default_factory=dict)  # by column, see `flow`

    def flow(self, column: str) -> np.ndarray:
        """A column of the flow table as codes: from, to, material, period, or from_kind,
        to_kind, from_country, to_country."""
        if column not in self.flows:
            side, what = column.split("_")
            self.flows[column] = getattr(self, what)[self.flows[side]]
        return self.flows[column]

    def ids(self, column: str) -> Ids:
        """The ids that the codes of a flow column number."""
        return {"from": self.nodes, "to": self.nodes, "material": self.materials,
                "period": self.periods, "from_country": self.countries,
                "to_country": self.countries}[column]


def _codes(inputs: Inputs, nodes: pd.DataFrame) -> Codes:
    """The codes of the ids of `inputs` whose nodes are `nodes` (see `_nodes`); no flows yet."""
    node_ids = nodes["node"].to_numpy(object)
    ids, countries = Ids(node_ids), Ids(nodes["country"])
    materials = Ids(inputs["Suppliers"]["material"], inputs["Processes"]["input_material"],
                    inputs["Processes"]["output_material"], inputs["Demand"]["material"],
                    inputs["Stockpiles"]["material"])
    at = ids.encode(node_ids)
    known = at >= 0
    kind, country = np.full(len(ids) + 1, -1), np.full(len(ids) + 1, -1)
    kind[at[known]] = Ids(order=KINDS).encode(nodes["kind"])[known]
    country[at[known]] = countries.encode(nodes["country"])[known]
    return Codes(ids, materials, countries, Ids(order=inputs.periods), kind, country)


# Tables of the network -----------------------------------------------------------------------
def _offers(inputs: Inputs, codes: Codes) -> pd.DataFrame:
    """One row per (supplier, material, period): a period row overrides the blank-period row.
    Rows in the order (supplier, material, period in the horizon)."""
    s = inputs["Suppliers"]
    periods = codes.periods
    named = s["period"].to_numpy(object)
    general = pd.isna(named)
    # Each period row, then each blank-period row once per period of the horizon.
    rows = np.concatenate([np.flatnonzero(~general),
                           np.repeat(np.flatnonzero(general), len(periods))])
    period = np.concatenate([named[~general], np.tile(periods.values, general.sum())])
    supplier = codes.nodes.encode(s["supplier"])[rows]
    material = codes.materials.encode(s["material"])[rows]
    named_ids = Ids(period)  # a period outside the horizon is kept (and sorted last)
    keep, _ = first_rows(joint((supplier, len(codes.nodes)), (material, len(codes.materials)),
                               (named_ids.encode(period), len(named_ids))))
    horizon = periods.encode(period[keep])
    keep = keep[np.lexsort((np.where(horizon >= 0, horizon, len(periods)), material[keep],
                            supplier[keep]))]
    columns = {c: s[c].to_numpy(object)[rows[keep]]
               for c in ("supplier", "country", "material", "capacity_t", "unit_cost", "min_t")}
    columns["min_t"] = np.where(pd.isna(columns["min_t"]), 0.0, columns["min_t"])
    columns["period"] = period[keep]
    return pd.DataFrame(columns, dtype=object)


def process_of(rows: pd.DataFrame) -> np.ndarray:
    """Each Processes row's process, numbered 0, 1, ... in order of appearance: rows sharing
    a site and a process name are one process with co-products; a row without a name is a
    process of its own (never one with a process a user named "row N")."""
    keys = [(site, name) if isinstance(name, str) else (None, row) for site, name, row in
            zip(rows["site"].to_numpy(object), rows["process"].to_numpy(object),
                rows[ROW].to_numpy(object))]
    return pd.factorize(pd.Series(keys, dtype=object))[0]


def process_names(rows: pd.DataFrame) -> np.ndarray:
    """Each Processes row's process as shown: its name, or "row N" for a row without one
    (a process of its own, `process_of`)."""
    return np.array([name if isinstance(name, str) else f"row {row}" for name, row in
                     zip(rows["process"].to_numpy(object), rows[ROW].to_numpy(object))],
                    dtype=object)


def _processes(inputs: Inputs, codes: Codes) -> tuple[pd.DataFrame, pd.DataFrame]:
    p = inputs["Processes"]
    site = codes.nodes.encode(p["site"])
    # A site a scenario drops takes its processes with it (validation guarantees that the
    # base data has no process at an unknown site).
    rows = np.flatnonzero(codes.kind[site] == KINDS.index(SITE))
    name, number = process_names(p)[rows], p[ROW].to_numpy(object)[rows]
    key = process_of(p)[rows]
    order = np.lexsort((Ids(number).encode(number), key, Ids(name).encode(name), site[rows]))
    rows, name, site, key = rows[order], name[order], site[rows[order]], key[order]
    new = np.ones(len(rows), bool)  # the first row of each process
    new[1:] = key[1:] != key[:-1]
    first = np.flatnonzero(new)

    def column(c: str, at: np.ndarray = first) -> np.ndarray:
        return p[c].to_numpy(object)[rows[at]]

    every = np.arange(len(rows))
    processes = table({"process_id": np.arange(len(first)), "site": column("site"),
                       "process": name[first], "input_material": column("input_material"),
                       "cost_per_t": column("cost_per_t"), "capacity_t": column("capacity_t")})
    outputs = table({"process_id": np.cumsum(new) - 1, "site": column("site", every),
                     "output_material": column("output_material", every),
                     "yield": column("yield", every)})
    return processes, outputs


def _nodes(inputs: Inputs) -> pd.DataFrame:
    sources = [("Suppliers", "supplier"), ("Sites", "site"), ("Demand", "customer"),
               ("Stockpiles", "stockpile")]
    node = np.concatenate([inputs[sheet][column].to_numpy(object) for sheet, column in sources])
    country = np.concatenate([inputs[sheet]["country"].to_numpy(object) for sheet, _ in sources])
    kind = np.repeat(np.arange(len(KINDS)), [len(inputs[sheet]) for sheet, _ in sources])
    first, _ = first_rows(Ids(node).encode(node))
    return table({"node": node[first], "country": country[first],
                  "kind": _KIND_NAMES.take(kind[first])})


def _stockpiles(inputs: Inputs) -> pd.DataFrame:
    stockpiles = inputs["Stockpiles"]
    columns = {c: stockpiles[c].to_numpy(copy=True) for c in stockpiles.columns}
    for c in ("initial_t", "min_level_t", "release_cost", "holding_cost"):
        columns[c] = np.nan_to_num(stockpiles[c].to_numpy(float), nan=0.0)
    columns["intake"] = stockpiles["intake"].eq(True).to_numpy()
    columns["origin"] = np.where(pd.isna(stockpiles["origin"]), stockpiles["country"],
                                 stockpiles["origin"]).astype(object)
    return table(columns)


# Arcs ----------------------------------------------------------------------------------------
@dataclass
class _Arcs:
    """Arcs as codes (from and to node, material), with their freight per t once priced."""

    source: np.ndarray
    target: np.ndarray
    material: np.ndarray
    freight: np.ndarray | None = None

    def take(self, at: np.ndarray) -> _Arcs:
        return _Arcs(self.source[at], self.target[at], self.material[at],
                     None if self.freight is None else self.freight[at])


def _candidates(inputs: Inputs, codes: Codes, offers: pd.DataFrame, processes: pd.DataFrame,
                outputs: pd.DataFrame, stockpiles: pd.DataFrame,
                to_customers_only: bool = False) -> _Arcs:
    """Every provider and taker of a material paired, in the order of the merge of the two:
    only nodes ship and receive, stockpiles refill from suppliers and sites only, and
    nothing ships to itself."""
    def pairs(frame: pd.DataFrame, node: str, material: str, once: bool = True):
        n, m = codes.nodes.encode(frame[node]), codes.materials.encode(frame[material])
        if once:  # each (node, material) once, at its first row
            first, _ = first_rows(joint((n, len(codes.nodes)), (m, len(codes.materials))))
            n, m = n[first], m[first]
        return n, m

    def joined(*parts):
        return tuple(np.concatenate(side) for side in zip(*parts))

    customers = pairs(inputs["Demand"], "customer", "material")
    reserves = pairs(stockpiles, "stockpile", "material", once=False)
    intake = stockpiles["intake"].to_numpy(bool)
    providers = joined(pairs(offers, "supplier", "material"),
                       pairs(outputs, "site", "output_material"), reserves)
    takers = customers if to_customers_only else joined(
        pairs(processes, "site", "input_material"), customers,
        (reserves[0][intake], reserves[1][intake]))
    i, j = match(providers[1], takers[1])
    arcs = _Arcs(providers[0][i], takers[0][j], providers[1][i])
    from_kind, to_kind = codes.kind[arcs.source], codes.kind[arcs.target]
    stockpile = KINDS.index(STOCKPILE)
    return arcs.take((from_kind >= 0) & (to_kind >= 0) & (arcs.source != arcs.target)
                     & ~((from_kind == stockpile) & (to_kind == stockpile)))


def _applying(frame: pd.DataFrame, codes: Codes, arcs: _Arcs, rows: np.ndarray,
              by_country: bool = False) -> np.ndarray:
    """For each arc, the row among `rows` (a mask) of Lanes (`frame`, from and to: the arc's
    nodes) or, `by_country`, of Freight (from_country and to_country: their countries) that
    applies to it: one for the arc's material if any, else one for every material; -1
    where there is none."""
    if by_country:
        ids, ends = codes.countries, ("from_country", "to_country")
        arc_ends = codes.country[arcs.source], codes.country[arcs.target]
    else:
        ids, ends, arc_ends = codes.nodes, ("from", "to"), (arcs.source, arcs.target)
    n, m = len(ids), len(codes.materials)
    row_ends = [(ids.encode(frame[end]), n) for end in ends]
    arc_ends = [(end, n) for end in arc_ends]
    named = frame["material"].to_numpy(object)
    blank = pd.isna(named)
    row = lookup(joint(*arc_ends, (arcs.material, m)),
                 np.where(rows & ~blank,
                          joint(*row_ends, (codes.materials.encode(named), m)), -1))
    general = lookup(joint(*arc_ends), np.where(rows & blank, joint(*row_ends), -1))
    return np.where(row >= 0, row, general)


def _at(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """values[rows], NaN where a row is -1 (none)."""
    return np.append(values, np.nan)[rows]


def _freight(inputs: Inputs, codes: Codes, arcs: _Arcs) -> np.ndarray:
    """Each arc's freight per t: a Lanes cost for the pair (for the material, else for all),
    else a Freight cost for the country pair (likewise), else 0 within one country; NaN
    where none is known."""
    lanes, freight = inputs["Lanes"], inputs["Freight"]
    lane_cost, country_cost = (f["cost_per_t"].to_numpy(float) for f in (lanes, freight))
    cost = _at(lane_cost, _applying(lanes, codes, arcs, ~np.isnan(lane_cost)))
    cost = np.where(np.isnan(cost), _at(country_cost, _applying(
        freight, codes, arcs, ~np.isnan(country_cost), by_country=True)), cost)
    from_country, to_country = codes.country[arcs.source], codes.country[arcs.target]
    domestic = (from_country == to_country) & (from_country >= 0)
    return np.where(np.isnan(cost) & domestic, 0.0, cost)


def _closed(inputs: Inputs, codes: Codes, arcs: _Arcs) -> np.ndarray:
    """Which arcs a Lanes row with allowed = no closes."""
    lanes = inputs["Lanes"]
    return _applying(lanes, codes, arcs, lanes["allowed"].eq(False).to_numpy()) >= 0


def _priced(inputs: Inputs, codes: Codes, arcs: _Arcs) -> _Arcs:
    """The open arcs among `arcs` whose freight is known, with it."""
    freight = _freight(inputs, codes, arcs)
    priced = _Arcs(arcs.source, arcs.target, arcs.material, freight)
    return priced.take(~np.isnan(freight) & ~_closed(inputs, codes, arcs))


def _id_columns(codes: Codes, source: np.ndarray, target: np.ndarray,
                material: np.ndarray) -> dict:
    """The columns from, material, to, from_kind, to_kind, from_country, to_country of arcs
    or flows, from their codes."""
    return {"from": codes.nodes.decode(source), "material": codes.materials.decode(material),
            "to": codes.nodes.decode(target),
            "from_kind": _KIND_NAMES.take(codes.kind[source]),
            "to_kind": _KIND_NAMES.take(codes.kind[target]),
            "from_country": codes.countries.decode(codes.country[source]),
            "to_country": codes.countries.decode(codes.country[target])}


def build_arcs(inputs: Inputs, nodes: pd.DataFrame, offers: pd.DataFrame,
               processes: pd.DataFrame, outputs: pd.DataFrame,
               stockpiles: pd.DataFrame, to_customers_only: bool = False,
               unpriced: bool = False) -> pd.DataFrame:
    """Open, priced arcs (from, to, material, kinds, countries, freight), for any period:
    every provider and taker of a material, less closed and unpriced lanes (with
    `unpriced`: every such pair, before pricing)."""
    codes = _codes(inputs, nodes)
    arcs = _candidates(inputs, codes, offers, processes, outputs, stockpiles, to_customers_only)
    if unpriced:
        return table(_id_columns(codes, arcs.source, arcs.target, arcs.material))
    arcs = _priced(inputs, codes, arcs)
    return table({**_id_columns(codes, arcs.source, arcs.target, arcs.material),
                  "freight": arcs.freight})


# Flows ---------------------------------------------------------------------------------------
def _period_table(arc_keys: np.ndarray, row_keys: np.ndarray, row_periods: np.ndarray,
                  periods: int, value: np.ndarray) -> np.ndarray:
    """arcs x periods: `value` of the row whose key is the arc's, in that period; NaN where
    there is none."""
    keys, number = np.unique(row_keys, return_inverse=True)
    by_key = np.full((len(keys) + 1, periods), np.nan)  # last row: no such key
    found = row_periods >= 0
    by_key[number[found], row_periods[found]] = value[found]
    return by_key[lookup(arc_keys, keys)]


def _flows(inputs: Inputs, codes: Codes, offers: pd.DataFrame, processes: pd.DataFrame,
           outputs: pd.DataFrame, stockpiles: pd.DataFrame, to_customers_only: bool = False
           ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """The priced arcs in the periods they can carry material: a supplier's only where it has
    an offer (at that offer's unit cost), a customer's only where it demands the material.
    Returns the codes of their from, to, material and period, their freight and unit cost,
    in the order (period, material, from, to). Works on an arcs x periods table, so each
    array of the flows is made once, by one `take`."""
    arcs = _priced(inputs, codes, _candidates(inputs, codes, offers, processes, outputs,
                                              stockpiles, to_customers_only))
    arcs = arcs.take(np.lexsort((arcs.target, arcs.source, arcs.material)))
    n, m, p = len(codes.nodes), len(codes.materials), len(codes.periods)
    demand = inputs["Demand"]

    def row_keys(frame: pd.DataFrame, node: str) -> np.ndarray:
        return joint((codes.nodes.encode(frame[node]), n),
                     (codes.materials.encode(frame["material"]), m))

    unit_cost = _period_table(joint((arcs.source, n), (arcs.material, m)),
                              row_keys(offers, "supplier"), codes.periods.encode(offers["period"]),
                              p, offers["unit_cost"].to_numpy(float))
    wanted = _period_table(joint((arcs.target, n), (arcs.material, m)),
                           row_keys(demand, "customer"), codes.periods.encode(demand["period"]),
                           p, np.ones(len(demand)))
    from_supplier = (codes.kind[arcs.source] == KINDS.index(SUPPLIER))[:, None]
    to_customer = (codes.kind[arcs.target] == KINDS.index(CUSTOMER))[:, None]
    carries = (~from_supplier | ~np.isnan(unit_cost)) & (~to_customer | ~np.isnan(wanted))
    period, arc = np.nonzero(carries.T)  # period-major: the order the model expects
    flow = {"from": arcs.source[arc], "to": arcs.target[arc], "material": arcs.material[arc],
            "period": period}
    return flow, arcs.freight[arc], np.nan_to_num(unit_cost[arc, period], nan=0.0)


def build_flows(inputs: Inputs, codes: Codes, offers: pd.DataFrame, processes: pd.DataFrame,
                outputs: pd.DataFrame, stockpiles: pd.DataFrame) -> pd.DataFrame:
    """Flow candidates: from, to, material, period, kinds, countries, freight, unit_cost,
    release_cost and cost (everything charged per t on that flow); their codes go to
    `codes.flows`."""
    codes.flows, freight, unit_cost = _flows(inputs, codes, offers, processes, outputs,
                                             stockpiles)
    release = np.zeros(len(codes.nodes) + 1)
    at = codes.nodes.encode(stockpiles["stockpile"])
    release[at[at >= 0]] = stockpiles["release_cost"].to_numpy(float)[at >= 0]
    release_cost = release[codes.flow("from")]
    return table({**_id_columns(codes, codes.flow("from"), codes.flow("to"),
                                codes.flow("material")),
                  "freight": freight, "period": codes.periods.decode(codes.flow("period")),
                  "unit_cost": unit_cost, "release_cost": release_cost,
                  "cost": unit_cost + freight + release_cost})


# The input tables hold objects (None for a blank); the tables below keep them as they are,
# made from arrays: pandas' own row selection costs several times as much on small tables.
def _lane_caps(inputs: Inputs) -> pd.DataFrame:
    lanes = inputs["Lanes"]
    capped = ~pd.isna(lanes["max_t"].to_numpy()) & ~lanes["allowed"].eq(False).to_numpy()
    columns = {"lane": ROW, "from": "from", "to": "to", "material": "material", "max_t": "max_t"}
    return pd.DataFrame({name: lanes[c].to_numpy()[capped] for name, c in columns.items()},
                        index=lanes.index[capped], dtype=object)


def _in_scenario(frame: pd.DataFrame, scenario: str) -> pd.DataFrame:
    keep = np.array([applies(cell, scenario) for cell in frame["scenario"]], dtype=bool)
    return pd.DataFrame({c: frame[c].to_numpy()[keep] for c in frame.columns
                         if c not in (ROW, "scenario")}, dtype=object)


def _base(inputs: Inputs) -> tuple[pd.DataFrame, Codes, pd.DataFrame, pd.DataFrame,
                                   pd.DataFrame, pd.DataFrame]:
    """Nodes, their codes, offers, processes, outputs and stockpiles of `inputs`."""
    nodes = _nodes(inputs)
    codes = _codes(inputs, nodes)
    return (nodes, codes, _offers(inputs, codes), *_processes(inputs, codes),
            _stockpiles(inputs))


def base_offers(inputs: Inputs) -> pd.DataFrame:
    """The offers of `inputs` (one row per supplier, material and period, as
    `Network.offers`), without building the rest of the network."""
    return _offers(inputs, _codes(inputs, _nodes(inputs)))


def base_options(inputs: Inputs) -> pd.DataFrame:
    """The Options rows that exist in base (as `Network.options` of base)."""
    return _in_scenario(inputs["Options"], BASE)


def demand_routes(inputs: Inputs) -> set[tuple[str, str, str]]:
    """(customer, material, period) that at least one arc reaches; only the arcs into
    customers are built, so this is cheap beside the whole network."""
    _, codes, offers, processes, outputs, stockpiles = _base(inputs)
    flow, _, _ = _flows(inputs, codes, offers, processes, outputs, stockpiles,
                        to_customers_only=True)
    first, _ = first_rows(joint((flow["to"], len(codes.nodes)),
                                (flow["material"], len(codes.materials)),
                                (flow["period"], len(codes.periods))))
    return set(zip(codes.nodes.decode(flow["to"][first]),
                   codes.materials.decode(flow["material"][first]),
                   codes.periods.decode(flow["period"][first])))


def stranded(inputs: Inputs) -> pd.DataFrame:
    """Providers (a supplier's offer, a site's output, a stockpile) of a material that has
    takers, with no open, priced arc to any of them: one row per (from, material) with
    from_kind, from_country, `takers` (to ids) and `missing`: the country pairs among
    their candidate arcs that neither Freight nor Lanes prices (empty when closed lanes
    are the cause)."""
    _, codes, offers, processes, outputs, stockpiles = _base(inputs)
    arcs = _candidates(inputs, codes, offers, processes, outputs, stockpiles)
    unpriced = np.isnan(_freight(inputs, codes, arcs))
    open_ = ~unpriced & ~_closed(inputs, codes, arcs)
    provider = joint((arcs.source, len(codes.nodes)), (arcs.material, len(codes.materials)))
    cut = np.flatnonzero(~np.isin(provider, provider[open_]))
    # The cut arcs of each provider, providers in the order they first appear.
    first, number = first_rows(provider[cut])
    cut = cut[np.argsort(number, kind="stable")]
    bounds = np.searchsorted(np.sort(number), np.arange(len(first) + 1))
    node, country = codes.nodes.decode, codes.countries.decode
    rows = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        arc = cut[a:b]
        gap = arc[unpriced[arc]]
        missing = sorted(set(zip(country(codes.country[arcs.source[gap]]),
                                 country(codes.country[arcs.target[gap]]))))
        source = arcs.source[arc[0]]
        rows.append((node(source), codes.materials.decode(arcs.material[arc[0]]),
                     KINDS[codes.kind[source]], country(codes.country[source]),
                     list(dict.fromkeys(node(arcs.target[arc]))), missing))
    return pd.DataFrame(rows, columns=["from", "material", "from_kind", "from_country",
                                       "takers", "missing"])


def stranded_sentence(row: dict) -> str:
    """What a `stranded` row (as a dict) means, for a buyer: "no Freight row (nor Lanes
    cost) CL -> AU: Atacama's spodumene SC6 cannot reach Kwinana"."""
    takers = list(row["takers"])
    reach = " or ".join(takers[:3]) if len(takers) <= 3 else \
        f"{', '.join(takers[:3])} or {len(takers) - 3} more"
    missing = row["missing"]
    if missing:
        pairs = ", ".join(f"{a} -> {b}" for a, b in missing[:4]) + \
            (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
        why = f"no Freight row (nor Lanes cost) {pairs}"
    else:
        why = "every lane is closed (Lanes allowed = no)"
    return f"{why}: {row['from']}'s {row['material']} cannot reach {reach}"


def process_routes(inputs: Inputs, rows: pd.DataFrame) -> pd.DataFrame:
    """(from, to, material): site `from`, making `material` by one of the Processes `rows`,
    can send it to site `to`, which takes it by one of `rows`, on the arcs the model builds:
    directly, or through a stockpile of that material with intake (a stockpile never ships
    to another). A site's own product never reaches itself this way (no arc ships a node
    to itself) unless a stockpile takes it in and gives it back."""
    no_customers = copy.copy(inputs)
    no_customers.tables = dict(inputs.tables, Demand=inputs["Demand"].iloc[:0])
    stockpiles = _stockpiles(inputs)
    stockpiles = stockpiles[stockpiles["material"].isin(set(rows["output_material"]))]
    no_offers = pd.DataFrame({"supplier": pd.Series(dtype=object),
                              "material": pd.Series(dtype=object)})
    arcs = build_arcs(no_customers, _nodes(inputs), no_offers,
                      rows[["site", "input_material"]], rows[["site", "output_material"]],
                      stockpiles)
    between = (arcs["from_kind"] == SITE) & (arcs["to_kind"] == SITE)
    into = arcs[(arcs["from_kind"] == SITE) & (arcs["to_kind"] == STOCKPILE)]
    out = arcs[(arcs["from_kind"] == STOCKPILE) & (arcs["to_kind"] == SITE)]
    via = into[["from", "to", "material"]].merge(
        out[["from", "to", "material"]].rename(columns={"from": "_stockpile", "to": "_to"}),
        left_on=["to", "material"], right_on=["_stockpile", "material"])
    via = via[["from", "_to", "material"]].rename(columns={"_to": "to"})
    return (pd.concat([arcs.loc[between, ["from", "to", "material"]], via], ignore_index=True)
            .drop_duplicates().reset_index(drop=True))


def build_network(inputs: Inputs, scenario: str = "base", like: Network | None = None
                  ) -> Network:
    """The network of one scenario: `inputs` holds its data (`scenarios.scenario_inputs`),
    `scenario` names it for the rules scoped to scenarios. Nodes, offers per period,
    processes and their outputs, stockpiles, demand, and the flow candidates (priced arcs
    expanded to the periods in which they can carry material). `like`: a network whose
    structure this one shares (the same tables, not copies) when built from the same
    objects (`structure_sources`), only its rules then selected."""
    sources = structure_sources(inputs)
    rules = {"limits": _in_scenario(inputs["Limits"], scenario),
             "restrictions": _in_scenario(inputs["Restrictions"], scenario),
             "options": _in_scenario(inputs["Options"], scenario)}
    if like is not None and same_sources(like.sources, sources):
        return replace(like, **rules)
    nodes, codes, offers, processes, outputs, stockpiles = _base(inputs)
    flows = build_flows(inputs, codes, offers, processes, outputs, stockpiles)
    demand = {c: inputs["Demand"][c].to_numpy() for c in inputs["Demand"].columns if c != ROW}
    penalty = demand["unmet_penalty"]
    demand["unmet_penalty"] = np.where(pd.isna(penalty), inputs.settings.unmet_penalty, penalty)
    demand = pd.DataFrame(demand, dtype=object)
    return Network(inputs.periods, nodes, offers, processes, outputs, inputs["Sites"].copy(),
                   demand, stockpiles, flows, _lane_caps(inputs), rules["limits"],
                   rules["restrictions"], inputs["Groups"][["group", "country"]].drop_duplicates(),
                   codes, rules["options"], sources)
