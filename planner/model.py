"""The sourcing LP as arrays (`LinearModel`), built from a `Network`; no I/O.

Construction is linear in the model's size: each constraint family is described
as arrays of (row, column, coefficient) terms obtained from one join of the
flow table against the family's keys, and all rows are created in a single pass
over the terms sorted by row. Variables are named by index (`x12`), never by a
user id (an id may be any text); the family tables map indices back to ids.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .lp import EQ, GE, LE, LinearModel
from .network import CUSTOMER, SITE, STOCKPILE, SUPPLIER, Network
from .rules import Matcher, add_limits, add_restrictions


def _join(left: pd.DataFrame, right: pd.DataFrame, on: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Positions (i in left, j in right) of rows agreeing on `on`: one hash join."""
    a = left[on].reset_index(drop=True).assign(_i=np.arange(len(left)))
    b = right[on].reset_index(drop=True).assign(_j=np.arange(len(right)))
    m = a.merge(b, on=on)
    return m["_i"].to_numpy(np.int64), m["_j"].to_numpy(np.int64)


def _pairs(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions (i, j) with left[i] == right[j] for int64 keys: a hash lookup when the
    right keys are unique (the usual case), else one merge on the integer keys. Negative
    keys (a blank or unknown label) match nothing."""
    right = np.where(right >= 0, right, -1 - np.arange(len(right)))
    left = np.where(left >= 0, left, np.iinfo(np.int64).min)
    index = pd.Index(right)
    if index.is_unique:
        j = index.get_indexer(left)
        i = np.flatnonzero(j >= 0)
        return i, j[i]
    m = pd.DataFrame({"k": left, "_i": np.arange(len(left))}).merge(
        pd.DataFrame({"k": right, "_j": np.arange(len(right))}), on="k")
    return m["_i"].to_numpy(np.int64), m["_j"].to_numpy(np.int64)


class _Codes:
    """Integer codes of node ids, materials and periods, so that joins against the flow
    table (the largest table by far) compare int64 keys instead of text columns."""

    def __init__(self, net: Network):
        def vocab(*columns) -> pd.Index:
            parts = [pd.unique(np.asarray(c, dtype=object)) for c in columns]
            return pd.Index(pd.unique(np.concatenate(parts)) if parts else [])

        flows = net.flows
        self.node = vocab(net.nodes["node"], flows["from"], flows["to"], net.sites["site"],
                          net.processes["site"], net.lane_caps["from"], net.lane_caps["to"])
        self.material = vocab(flows["material"], net.offers["material"],
                              net.processes["input_material"], net.outputs["output_material"],
                              net.demand["material"], net.stockpiles["material"])
        self.period = vocab(net.periods, flows["period"], net.offers["period"],
                            net.demand["period"])
        self.f_from = self.code(self.node, flows["from"])
        self.f_to = self.code(self.node, flows["to"])
        self.f_material = self.code(self.material, flows["material"])
        self.f_period = self.code(self.period, flows["period"])

    @staticmethod
    def code(index: pd.Index, values) -> np.ndarray:
        return index.get_indexer(np.asarray(values, dtype=object)).astype(np.int64)

    def node_material_period(self, node, material, period) -> np.ndarray:
        """Key of (node, material, period) codes; -1 where a code is -1 (unknown)."""
        key = (node * len(self.material) + material) * len(self.period) + period
        return np.where((node >= 0) & (material >= 0) & (period >= 0), key, -1)

    def node_period(self, node, period) -> np.ndarray:
        """Key of (node, period) codes; -1 where a code is -1 (unknown)."""
        return np.where((node >= 0) & (period >= 0), node * len(self.period) + period, -1)

    def frame_node_material_period(self, frame: pd.DataFrame, node: str,
                                   material: str = "material",
                                   period: str = "period") -> np.ndarray:
        return self.node_material_period(self.code(self.node, frame[node]),
                        self.code(self.material, frame[material]),
                        self.code(self.period, frame[period]))

    def frame_node_period(self, frame: pd.DataFrame, node: str,
                          period: str = "period") -> np.ndarray:
        return self.node_period(self.code(self.node, frame[node]),
                                self.code(self.period, frame[period]))


def _nan(values) -> np.ndarray:
    return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(float)


@dataclass
class SourcingModel:
    """The LP plus the tables that give its columns a meaning."""

    lp: LinearModel
    network: Network
    activity: pd.DataFrame   # process_id, site, process, period, cost_per_t, capacity_t
    unmet: pd.DataFrame      # demand rows with a penalty: customer, material, period, ...
    levels: pd.DataFrame     # stockpile, period, ...


def build_model(net: Network) -> SourcingModel:
    """The LP of one scenario's network (docs/modelling.md): flow, process activity, unmet
    demand and stockpile level columns; balance, capacity, demand, stockpile and rule rows.
    The returned tables say what each column is, for the report."""
    lp = LinearModel()
    periods = pd.DataFrame({"period": net.periods, "t": np.arange(len(net.periods))})
    flows = net.flows
    f_col = lp.add_columns("flow", len(flows), 0.0, np.nan, flows["cost"].to_numpy(float))

    activity = net.processes.merge(periods, how="cross")
    z_col = lp.add_columns("activity", len(activity), 0.0, _nan(activity["capacity_t"]),
                           activity["cost_per_t"].to_numpy(float))

    demand = net.demand.reset_index(drop=True)
    soft = demand["unmet_penalty"].notna().to_numpy()
    unmet = demand[soft].reset_index(drop=True)
    u_col = lp.add_columns("unmet", len(unmet), 0.0, unmet["quantity_t"].to_numpy(float),
                           unmet["unmet_penalty"].to_numpy(float))

    levels = net.stockpiles.merge(periods, how="cross").sort_values(["stockpile", "t"])
    levels = levels.reset_index(drop=True)
    l_col = lp.add_columns("level", len(levels), 0.0,
                           _nan(levels["capacity_t"]), levels["holding_cost"].to_numpy(float))

    codes = _Codes(net)
    from_kind = flows["from_kind"].to_numpy(object)
    to_kind = flows["to_kind"].to_numpy(object)
    out_key = codes.node_material_period(codes.f_from, codes.f_material, codes.f_period)
    in_key = codes.node_material_period(codes.f_to, codes.f_material, codes.f_period)

    def flows_at(side: str, kind: str, keys: np.ndarray, by_period: bool = False):
        """(flow positions, rows): flows out of (side "from") or into (side "to") `kind`
        nodes whose (node, material, period) or (node, period) matches a row key."""
        node, node_kind, full = ((codes.f_from, from_kind, out_key) if side == "from"
                                 else (codes.f_to, to_kind, in_key))
        pos = np.flatnonzero(node_kind == kind)
        left = codes.node_period(node[pos], codes.f_period[pos]) if by_period else full[pos]
        i, r = _pairs(left, keys)
        return pos[i], r

    # Supplier sales within [min_t, capacity_t] per offer and period.
    offers = net.offers.rename(columns={"supplier": "node"})
    for family, mask, sense, bound in (
            ("supplier_max", offers["capacity_t"].notna(), LE, "capacity_t"),
            ("supplier_min", offers["min_t"] > 0, GE, "min_t")):
        keys = offers[mask.to_numpy()].reset_index(drop=True)
        f, r = flows_at("from", SUPPLIER, codes.frame_node_material_period(keys, "node"))
        lp.add_rows(family, keys.rename(columns={"node": "supplier"}), sense,
                    keys[bound].to_numpy(float), r, f_col[f], 1.0)

    # Site balances: inflow of each input = activity using it; outflow ≤ yield × activity.
    inputs_ = activity[["site", "input_material", "period"]].drop_duplicates()
    inputs_ = inputs_.reset_index(drop=True).rename(columns={"input_material": "material"})
    f, r = flows_at("to", SITE, codes.frame_node_material_period(inputs_, "site"))
    k, r2 = _join(activity.rename(columns={"input_material": "material"}), inputs_,
                  ["site", "material", "period"])
    lp.add_rows("site_input", inputs_, EQ, 0.0, np.concatenate([r, r2]),
                np.concatenate([f_col[f], z_col[k]]),
                np.concatenate([np.ones(len(r)), -np.ones(len(r2))]))

    made = activity.assign(_z=z_col).merge(
        net.outputs[["process_id", "output_material", "yield"]], on="process_id")
    made = made.rename(columns={"output_material": "material"})
    products = made[["site", "material", "period"]].drop_duplicates().reset_index(drop=True)
    f, r = flows_at("from", SITE, codes.frame_node_material_period(products, "site"))
    k, r2 = _join(made, products, ["site", "material", "period"])
    lp.add_rows("site_output", products, LE, 0.0, np.concatenate([r, r2]),
                np.concatenate([f_col[f], made["_z"].to_numpy()[k]]),
                np.concatenate([np.ones(len(r)), -made["yield"].to_numpy(float)[k]]))

    capped = net.sites[net.sites["capacity_t"].notna()][["site", "capacity_t"]]
    keys = capped.merge(periods[["period"]], how="cross")
    k, r = _join(activity, keys, ["site", "period"])
    lp.add_rows("site_capacity", keys, LE, keys["capacity_t"].to_numpy(float), r, z_col[k], 1.0)

    # Demand: deliveries + unmet = quantity.
    f, r = flows_at("to", CUSTOMER, codes.frame_node_material_period(demand, "customer"))
    ru = np.flatnonzero(soft)
    lp.add_rows("demand", demand, EQ, demand["quantity_t"].to_numpy(float),
                np.concatenate([r, ru]), np.concatenate([f_col[f], u_col]), 1.0)

    # Stockpile balance: level(t) - level(t-1) - intake + release = 0 (initial level at t=0).
    keys = levels[["stockpile", "period", "t", "initial_t", "max_release_t"]]
    rows_l = np.arange(len(keys))
    prev = np.flatnonzero(keys["t"].to_numpy() > 0)
    level_key = codes.frame_node_period(keys, "stockpile")
    f_in, r_in = flows_at("to", STOCKPILE, level_key, by_period=True)
    f_out, r_out = flows_at("from", STOCKPILE, level_key, by_period=True)
    rhs = np.where(keys["t"].to_numpy() == 0, keys["initial_t"].to_numpy(float), 0.0)
    lp.add_rows("stockpile_balance", keys, EQ, rhs,
                np.concatenate([rows_l, prev, r_in, r_out]),
                np.concatenate([l_col, l_col[prev - 1], f_col[f_in], f_col[f_out]]),
                np.concatenate([np.ones(len(rows_l)), -np.ones(len(prev)), -np.ones(len(r_in)),
                                np.ones(len(r_out))]))
    release = keys[keys["max_release_t"].notna()].reset_index(drop=True)
    f, r = flows_at("from", STOCKPILE, codes.frame_node_period(release, "stockpile"),
                    by_period=True)
    lp.add_rows("stockpile_release", release, LE, release["max_release_t"].to_numpy(float), r,
                f_col[f], 1.0)
    # The floor is a row, not a bound, so that its shadow price can be reported and it
    # can be relaxed when a scenario is diagnosed.
    floor = np.flatnonzero(levels["min_level_t"].to_numpy(float) > 0)
    lp.add_rows("stockpile_floor", levels.iloc[floor], GE,
                levels["min_level_t"].to_numpy(float)[floor], np.arange(len(floor)),
                l_col[floor], 1.0)

    # Lane caps: all matching flows of a lane together, per period.
    caps = net.lane_caps.merge(periods[["period"]], how="cross")
    cap_from, cap_to = codes.code(codes.node, caps["from"]), codes.code(codes.node, caps["to"])
    cap_node = np.where((cap_from >= 0) & (cap_to >= 0), len(codes.node) * cap_from + cap_to, -1)
    i, r = _pairs(codes.node_period(len(codes.node) * codes.f_from + codes.f_to, codes.f_period),
                  codes.node_period(cap_node, codes.code(codes.period, caps["period"])))
    cap_material = codes.code(codes.material, caps["material"])  # -1 where blank
    same = caps["material"].isna().to_numpy()[r] | (codes.f_material[i] == cap_material[r])
    lp.add_rows("lane_cap", caps, LE, caps["max_t"].to_numpy(float), r[same],
                f_col[i[same]], 1.0)

    add_limits(lp, flows, f_col, net.limits, net.groups)
    add_restrictions(lp, flows, f_col, net.restrictions, Matcher(
        set(net.nodes["node"]),
        {g: set(c) for g, c in net.groups.groupby("group")["country"]}))
    return SourcingModel(lp, net, activity, unmet, levels)

