"""Where delivered tonnes were mined (origin) and where they were mined or processed
(touched), by mass balance (chain-of-custody accounting, ISO 22095; docs/model.md, 4.9).

A *layer* follows one attribute of each tonne through the network: its origin country, or
whether it has touched a country (or group) M. Each tonne enters with a state (a supplier's
country; a stockpile's initial stock its `origin`), keeps it through sites and stockpiles,
and a site in M makes everything it ships "touched by M". A flow, process activity or
stockpile level is split into one column per state only where more than one state can
reach it (found by propagating states over the network first); elsewhere the column
itself is its only state's share. Per state, each site's input equals what its processes
use, its output is at most their yield, and each stockpile keeps a level. A model whose
rules count no origin builds none of this (`needed`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix

from .lp import EQ, LE, LinearModel
from .network import KINDS, SITE, STOCKPILE, SUPPLIER, Ids, Network, first_rows, match, table
from .schema import ORIGIN_STAGES

ORIGIN, TOUCHED = ORIGIN_STAGES
NOT_TOUCHED, YES = "no", "yes"


@dataclass
class Layer:
    """One attribute's split of the flows: component k is flow `flow[k]`'s tonnes in state
    `state[k]`, held by column `column[k]` (the flow's own column where it has one state)."""

    name: str                  # "origin", or "touched <member>"
    member: str | None         # touched: the country or group
    states: Ids                # origin: countries; touched: no, yes
    flow: np.ndarray
    state: np.ndarray
    column: np.ndarray

    def of(self, flows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(position in `flows`, state, column) of every component of those flows, by
        position. The components are in flow order, so each flow's are one range of them,
        found by bisection: the cost is that of the flows asked for, not of the layer."""
        lo = np.searchsorted(self.flow, flows, side="left")
        count = np.searchsorted(self.flow, flows, side="right") - lo
        k = np.repeat(np.arange(len(flows)), count)
        i = np.repeat(lo, count) + np.arange(len(k)) - np.repeat(np.cumsum(count) - count, count)
        return k, self.state[i], self.column[i]


@dataclass
class Tracking:
    origin: Layer | None
    touched: dict[str, Layer]   # by member (a country or group as the rules spell it)


def countries_of(spec: str, groups: pd.DataFrame) -> list[str]:
    """The countries of a country or group name."""
    found = list(groups.loc[groups["group"] == spec, "country"])
    return found or [spec]


def needed(net: Network) -> tuple[bool, list[str]]:
    """Whether some rule counts origins, and the members whose touched layer some rule
    counts (a touched Limits rule without a member: every country, or every group)."""
    limits, restrictions = net.limits, net.restrictions
    stage = limits["stage"].to_numpy(object)
    origin = bool((stage == ORIGIN).any()) or \
        bool(pd.notna(restrictions["origin"].to_numpy(object)).any())
    touched = [v for v in restrictions["via"].to_numpy(object) if pd.notna(v)]
    rules = stage == TOUCHED
    for member, by in zip(limits["member"].to_numpy(object)[rules],
                          limits["by"].to_numpy(object)[rules]):
        if member is not None:
            touched.append(member)
        elif by == "group":
            touched += list(net.groups["group"])
        else:
            touched += sorted(set(net.nodes["country"].dropna()))
    return origin, list(dict.fromkeys(touched))


class _Places:
    """Where a state can be: what a node ships (a supplier's offer, a site's output, a
    stockpile) and what a site takes in, per material; numbered 0, 1, ... Also which place
    each flow leaves and enters, each process takes from, each output row makes."""

    def __init__(self, net: Network):
        codes = net.codes
        self.m = m = len(codes.materials)
        f_from, f_to, f_mat = (codes.flow(c) for c in ("from", "to", "material"))
        to_kind = codes.flow("to_kind")
        self.to_site = to_kind == KINDS.index(SITE)
        self.into = np.flatnonzero(self.to_site | (to_kind == KINDS.index(STOCKPILE)))
        proc, out = net.processes, net.outputs
        self.p_site = codes.nodes.encode(proc["site"])
        o_proc, o_row = match(out["process_id"].to_numpy(), proc["process_id"].to_numpy())
        self.o_proc = o_row                              # each output row's process
        self.o_yield = out["yield"].to_numpy(float)[o_proc]
        o_mat = codes.materials.encode(out["output_material"].to_numpy()[o_proc])
        sp = net.stockpiles

        def key(node, material, role):
            return (np.asarray(node, np.int64) * m + material) * 2 + role

        parts = [key(f_from, f_mat, 0),
                 key(f_to[self.into], f_mat[self.into], self.to_site[self.into]),
                 key(self.p_site, codes.materials.encode(proc["input_material"]), 1),
                 key(self.p_site[self.o_proc], o_mat, 0),
                 key(codes.nodes.encode(sp["stockpile"]), codes.materials.encode(sp["material"]),
                     0)]
        self.keys, inverse = np.unique(np.concatenate(parts), return_inverse=True)
        (self.flow_from, self.flow_into, self.proc_in, self.out_place,
         self.stock) = np.split(inverse.reshape(-1), np.cumsum([len(p) for p in parts])[:-1])

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def node(self) -> np.ndarray:
        return self.keys // 2 // self.m

    @property
    def material(self) -> np.ndarray:
        return self.keys // 2 % self.m


def _edges(places: _Places, forced: np.ndarray, backwards: bool = False) -> csr_matrix:
    """Place x place, 1 where a state passes from the column's place to the row's: along
    flows (leaving place to receiving place) and processes (input place to output place,
    except into `forced` places); `backwards`: the other way round."""
    keep = ~forced[places.out_place]
    src = np.concatenate([places.flow_from[places.into], places.proc_in[places.o_proc][keep]])
    dst = np.concatenate([places.flow_into, places.out_place[keep]])
    rows, cols = (src, dst) if backwards else (dst, src)
    return csr_matrix((np.ones(len(src), np.int32), (rows, cols)), shape=(len(places),) * 2)


def _reach(places: _Places, start: np.ndarray, forced: np.ndarray) -> np.ndarray:
    """Which states can be at each place (places x states): the start states, then along
    `_edges`, until nothing changes. A `forced` place holds its start states only."""
    edges = _edges(places, forced)
    reach = start.copy()
    while True:
        grown = reach | ((edges @ reach.astype(np.int32)) > 0)
        grown[forced] = start[forced]
        if (grown == reach).all():
            return reach
        reach = grown


def _upstream(places: _Places, counted: np.ndarray, forced: np.ndarray) -> np.ndarray:
    """The places whose states can reach a `counted` place (they included): against the
    arcs and processes of `_reach`. Only there must the states be told apart."""
    back = _edges(places, forced, backwards=True)
    found = counted.copy()
    while True:
        grown = found | ((back @ found.astype(np.int32)) > 0)
        if (grown == found).all():
            return found
        found = grown


def counted_materials(net: Network, member: str | None) -> set | None:
    """The materials the rules of a layer count (origin: `member` None; touched: that
    member); None when some rule counts every material."""
    limits, restrictions = net.limits, net.restrictions
    stage, l_material = (limits[c].to_numpy(object) for c in ("stage", "material"))
    r_material = restrictions["material"].to_numpy(object)
    if member is None:
        materials = [*l_material[stage == ORIGIN],
                     *r_material[pd.notna(restrictions["origin"].to_numpy(object))]]
    else:
        l_member = limits["member"].to_numpy(object)
        mine = (stage == TOUCHED) & (pd.isna(l_member) | (l_member == member))
        materials = [*l_material[mine],
                     *r_material[restrictions["via"].to_numpy(object) == member]]
    return None if any(m is None or pd.isna(m) for m in materials) else set(materials)


def _split(lp: LinearModel, family: str, cols: np.ndarray, states: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Components of columns `cols`, whose possible states are the rows of `states`: the
    column itself where one state is possible, else a new column per state and a row
    `column - sum of its components = 0`. Returns (position in cols, state, column)."""
    count = states.sum(axis=1)
    owner, state = np.nonzero(states)
    column = cols[owner].copy()
    many = count[owner] > 1
    if many.any():
        new = lp.add_columns(family, int(many.sum()), 0.0, np.nan, 0.0)
        column[many] = new
        split = np.flatnonzero(count > 1)
        row_of = np.full(len(cols), -1)
        row_of[split] = np.arange(len(split))
        lp.add_rows(f"{family} split", table({"column": cols[split]}), EQ, 0.0,
                    np.concatenate([np.arange(len(split)), row_of[owner[many]]]),
                    np.concatenate([cols[split], new]),
                    np.concatenate([np.ones(len(split)), -np.ones(len(new))]))
    return owner, state, column


class _Builder:
    """The columns and rows of one layer."""

    def __init__(self, lp: LinearModel, net: Network, places: _Places, model: dict):
        self.lp, self.net, self.places, self.model = lp, net, places, model
        codes = net.codes
        self.n_periods = len(codes.periods)
        self.flow_period = codes.flow("period")
        activity = model["activity"]
        self.a_proc = match(activity["process_id"].to_numpy(),
                            net.processes["process_id"].to_numpy())[1]
        self.a_t = activity["t"].to_numpy()
        levels = model["levels"]
        self.l_stock = match(codes.nodes.encode(levels["stockpile"]),
                             codes.nodes.encode(net.stockpiles["stockpile"]))[1]
        self.l_t = levels["t"].to_numpy()

    def build(self, name: str, member: str | None, states: Ids, start: np.ndarray,
              forcing_place: np.ndarray, stock_state: np.ndarray) -> Layer:
        places, lp, model = self.places, self.lp, self.model
        forced = forcing_place & (places.keys % 2 == 0)
        reach = _reach(places, start, forced)
        # Only the places upstream of what the rules count need their states apart: a
        # rule on lithium leaves the rare-earth chains as they are.
        materials = counted_materials(self.net, member)
        counted = np.ones(len(places), bool) if materials is None else np.isin(
            places.material, self.net.codes.materials.encode(list(materials)))
        needed = _upstream(places, counted, forced)
        reach &= needed[:, None]
        multi = (reach.sum(axis=1) > 1) & ~forcing_place   # places with per-state rows
        f_col = model["f_col"]
        f_own, f_state, f_comp = _split(lp, f"{name} flow", f_col, reach[places.flow_from])
        # Activities at sites that keep the state, split by the states of their input.
        a_keep = np.flatnonzero(~forcing_place[places.proc_in[self.a_proc]]
                                & needed[places.proc_in[self.a_proc]])
        a_own, a_state, a_comp = _split(lp, f"{name} activity", model["z_col"][a_keep],
                                        reach[places.proc_in[self.a_proc[a_keep]]])
        a_own = a_keep[a_own]
        terms = []  # (place, period, state, column, coefficient) per family

        def add(place, period, state, column, coef):
            terms.append((place, period, state, column, np.broadcast_to(coef, len(place))))

        # Site input: what comes in of a state = what the processes use of it.
        into = places.flow_into
        pos = np.full(len(f_col), -1)
        pos[places.into] = np.arange(len(places.into))
        k = pos[f_own] >= 0
        add(into[pos[f_own[k]]], self.flow_period[f_own[k]], f_state[k], f_comp[k], 1.0)
        add(places.proc_in[self.a_proc[a_own]], self.a_t[a_own], a_state, a_comp, -1.0)
        self._rows(f"{name} site_input", EQ, terms, multi, states, stock=None)
        # Site output: what goes out of a state <= yield x what the processes use of it.
        terms.clear()
        from_site = self.net.codes.flow("from_kind")[f_own] == KINDS.index(SITE)
        add(places.flow_from[f_own[from_site]], self.flow_period[f_own[from_site]],
            f_state[from_site], f_comp[from_site], 1.0)
        o, c = match(places.o_proc, self.a_proc[a_own])
        add(places.out_place[o], self.a_t[a_own[c]], a_state[c], a_comp[c],
            -places.o_yield[o])
        self._rows(f"{name} site_output", LE, terms, multi, states, stock=None)
        # Stockpiles: a level per state; released of a state <= what that state put in.
        terms.clear()
        l_col = model["l_col"]
        stock_place = places.stock[self.l_stock]
        l_own, l_state, l_comp = _split(lp, f"{name} level", l_col,
                                        reach[stock_place] & multi[stock_place][:, None])
        add(stock_place[l_own], self.l_t[l_own], l_state, l_comp, 1.0)
        later = self.l_t[l_own] < self.n_periods - 1   # the next period's row takes it back
        add(stock_place[l_own[later]], self.l_t[l_own[later]] + 1, l_state[later],
            l_comp[later], -1.0)
        to_stock = (pos[f_own] >= 0) & ~places.to_site[f_own]
        add(into[pos[f_own[to_stock]]], self.flow_period[f_own[to_stock]], f_state[to_stock],
            f_comp[to_stock], -1.0)
        from_stock = self.net.codes.flow("from_kind")[f_own] == KINDS.index(STOCKPILE)
        add(places.flow_from[f_own[from_stock]], self.flow_period[f_own[from_stock]],
            f_state[from_stock], f_comp[from_stock], 1.0)
        initial = self.net.stockpiles["initial_t"].to_numpy(float)
        stock = (places.stock, stock_state, initial)
        self._rows(f"{name} stockpile", EQ, terms, multi, states, stock)
        return Layer(name, member, states, f_own, f_state, f_comp)

    def _rows(self, family: str, sense: str, terms: list, multi: np.ndarray, states: Ids,
              stock: tuple | None) -> None:
        """One row per (place, period, state) that the terms reach at a place in `multi`;
        stockpile rows get the initial stock of their state in the first period."""
        place, period, state, column, coef = (np.concatenate([t[i] for t in terms])
                                              for i in range(5))
        keep = multi[place]
        place, period, state, column, coef = (a[keep] for a in (place, period, state, column,
                                                                 coef))
        if not len(place):
            return
        s, p = len(states), self.n_periods
        key = (place * p + period) * s + state
        first, row = first_rows(key)
        rhs = np.zeros(len(first))
        if stock is not None:
            at, initial_state, initial = stock
            k = match(key[first], (at.astype(np.int64) * p + 0) * s + initial_state)
            rhs[k[0]] = initial[k[1]]
        places = self.places
        codes = self.net.codes
        keys = table({"node": codes.nodes.values[places.node[place[first]]],
                      "material": codes.materials.values[places.material[place[first]]],
                      "period": codes.periods.values[period[first]],
                      "state": states.values[state[first]]})
        self.lp.add_rows(family, keys, sense, rhs, row, column, coef)


def layers_key(net: Network) -> tuple:
    """What the layers `add_tracking` builds depend on besides the network's structure: the
    layers the rules need and the materials each counts. On one structure, equal keys make
    equal layers (`model.build_model` shares them)."""
    origin, touched = needed(net)

    def counted(member):
        found = counted_materials(net, member)
        return None if found is None else frozenset(found)

    return (origin, counted(None) if origin else None,
            tuple((member, counted(member)) for member in touched))


def add_tracking(lp: LinearModel, net: Network, model: dict) -> Tracking | None:
    """The layers the rules of `net` need, as columns and rows of `lp`; None when no rule
    counts origins. `model`: the model's f_col, z_col, l_col, activity and levels."""
    origin, touched = needed(net)
    if not origin and not touched:
        return None
    codes = net.codes
    places = _Places(net)
    supplier = codes.flow("from_kind") == KINDS.index(SUPPLIER)
    supplier_place = places.flow_from[supplier]
    supplier_country = codes.countries.values[codes.flow("from_country")[supplier]]
    sp = net.stockpiles
    stocked = sp["initial_t"].to_numpy(float) > 0
    stock_origin = np.where(pd.isna(sp["origin"]), sp["country"], sp["origin"]).astype(object)
    node_country = codes.countries.values[codes.country[places.node]]
    place_at_site = codes.kind[places.node] == KINDS.index(SITE)
    builder = _Builder(lp, net, places, model)

    def start(states: Ids, at_supplier: np.ndarray, in_stock: np.ndarray) -> np.ndarray:
        found = np.zeros((len(places), len(states)), bool)
        found[supplier_place, at_supplier] = True
        found[places.stock[stocked], in_stock[stocked]] = True
        return found

    found = Tracking(None, {})
    if origin:
        states = Ids(supplier_country, stock_origin)
        stock_state = states.encode(stock_origin)
        found.origin = builder.build(
            ORIGIN, None, states, start(states, states.encode(supplier_country), stock_state),
            np.zeros(len(places), bool), stock_state)
    for member in touched:
        inside = countries_of(member, net.groups)
        states = Ids(order=[NOT_TOUCHED, YES])
        stock_state = np.isin(stock_origin, inside).astype(np.int64)
        forcing = place_at_site & np.isin(node_country, inside)
        first = start(states, np.isin(supplier_country, inside).astype(np.int64), stock_state)
        first[forcing & (places.keys % 2 == 0), 1] = True
        found.touched[member] = builder.build(f"{TOUCHED} {member}", member, states, first,
                                              forcing, stock_state)
    return found
