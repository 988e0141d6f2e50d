"""The sourcing LP (SPEC §2) in PuLP, built from a `Network`; no I/O.

Construction is linear in the model's size: each constraint family is described
as arrays of (row, column, coefficient) terms obtained from one join of the
flow table against the family's keys, and all rows are created in a single pass
over the terms sorted by row. Variables are named by index (`f_12`), never by a
user id (PITFALLS #12); the family tables map indices back to ids.
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

    out_of = flows.rename(columns={"from": "node"})
    into = flows.rename(columns={"to": "node"})

    # Supplier sales within [min_t, capacity_t] per offer and period.
    sales = out_of[out_of["from_kind"] == SUPPLIER]
    offers = net.offers.rename(columns={"supplier": "node"})
    for family, mask, sense, bound in (
            ("supplier_max", offers["capacity_t"].notna(), LE, "capacity_t"),
            ("supplier_min", offers["min_t"] > 0, GE, "min_t")):
        keys = offers[mask.to_numpy()].reset_index(drop=True)
        i, r = _join(sales, keys, ["node", "material", "period"])
        lp.add_rows(family, keys.rename(columns={"node": "supplier"}), sense,
                    keys[bound].to_numpy(float), r, f_col[sales.index[i]], 1.0)

    # Site balances: inflow of each input = activity using it; outflow ≤ yield × activity.
    inputs_ = activity[["site", "input_material", "period"]].drop_duplicates()
    inputs_ = inputs_.reset_index(drop=True).rename(columns={"input_material": "material"})
    fin = into[into["to_kind"] == SITE]
    i, r = _join(fin, inputs_.rename(columns={"site": "node"}), ["node", "material", "period"])
    k, r2 = _join(activity.rename(columns={"input_material": "material"}), inputs_,
                  ["site", "material", "period"])
    lp.add_rows("site_input", inputs_, EQ, 0.0, np.concatenate([r, r2]),
                np.concatenate([f_col[fin.index[i]], z_col[k]]),
                np.concatenate([np.ones(len(r)), -np.ones(len(r2))]))

    made = activity.assign(_z=z_col).merge(
        net.outputs[["process_id", "output_material", "yield"]], on="process_id")
    made = made.rename(columns={"output_material": "material"})
    products = made[["site", "material", "period"]].drop_duplicates().reset_index(drop=True)
    fout = out_of[out_of["from_kind"] == SITE]
    i, r = _join(fout, products.rename(columns={"site": "node"}), ["node", "material", "period"])
    k, r2 = _join(made, products, ["site", "material", "period"])
    lp.add_rows("site_output", products, LE, 0.0, np.concatenate([r, r2]),
                np.concatenate([f_col[fout.index[i]], made["_z"].to_numpy()[k]]),
                np.concatenate([np.ones(len(r)), -made["yield"].to_numpy(float)[k]]))

    capped = net.sites[net.sites["capacity_t"].notna()][["site", "capacity_t"]]
    keys = capped.merge(periods[["period"]], how="cross")
    k, r = _join(activity, keys, ["site", "period"])
    lp.add_rows("site_capacity", keys, LE, keys["capacity_t"].to_numpy(float), r, z_col[k], 1.0)

    # Demand: deliveries + unmet = quantity.
    fcust = into[into["to_kind"] == CUSTOMER]
    i, r = _join(fcust, demand.rename(columns={"customer": "node"}),
                 ["node", "material", "period"])
    ru = np.flatnonzero(soft)
    lp.add_rows("demand", demand, EQ, demand["quantity_t"].to_numpy(float),
                np.concatenate([r, ru]), np.concatenate([f_col[fcust.index[i]], u_col]), 1.0)

    # Stockpile balance: level(t) - level(t-1) - intake + release = 0 (initial level at t=0).
    keys = levels[["stockpile", "period", "t", "initial_t", "max_release_t"]]
    rows_l = np.arange(len(keys))
    prev = np.flatnonzero(keys["t"].to_numpy() > 0)
    fin = into[into["to_kind"] == STOCKPILE]
    i_in, r_in = _join(fin, keys.rename(columns={"stockpile": "node"}), ["node", "period"])
    fst = out_of[out_of["from_kind"] == STOCKPILE]
    i_out, r_out = _join(fst, keys.rename(columns={"stockpile": "node"}), ["node", "period"])
    rhs = np.where(keys["t"].to_numpy() == 0, keys["initial_t"].to_numpy(float), 0.0)
    lp.add_rows("stockpile_balance", keys, EQ, rhs,
                np.concatenate([rows_l, prev, r_in, r_out]),
                np.concatenate([l_col, l_col[prev - 1], f_col[fin.index[i_in]],
                                f_col[fst.index[i_out]]]),
                np.concatenate([np.ones(len(rows_l)), -np.ones(len(prev)), -np.ones(len(r_in)),
                                np.ones(len(r_out))]))
    release = keys[keys["max_release_t"].notna()].reset_index(drop=True)
    i, r = _join(fst, release.rename(columns={"stockpile": "node"}), ["node", "period"])
    lp.add_rows("stockpile_release", release, LE, release["max_release_t"].to_numpy(float), r,
                f_col[fst.index[i]], 1.0)
    # The floor is a row, not a bound, so that its shadow price can be reported and it
    # can be relaxed when a scenario is diagnosed.
    floor = np.flatnonzero(levels["min_level_t"].to_numpy(float) > 0)
    lp.add_rows("stockpile_floor", levels.iloc[floor], GE,
                levels["min_level_t"].to_numpy(float)[floor], np.arange(len(floor)),
                l_col[floor], 1.0)

    # Lane caps: all matching flows of a lane together, per period.
    caps = net.lane_caps.merge(periods[["period"]], how="cross")
    i, r = _join(flows, caps, ["from", "to", "period"])
    same = caps["material"].isna().to_numpy()[r] | (
        flows["material"].to_numpy(object)[i] == caps["material"].to_numpy(object)[r])
    lp.add_rows("lane_cap", caps, LE, caps["max_t"].to_numpy(float), r[same],
                f_col[i[same]], 1.0)

    add_limits(lp, flows, f_col, net.limits, net.groups)
    add_restrictions(lp, flows, f_col, net.restrictions, Matcher(
        set(net.nodes["node"]),
        {g: set(c) for g, c in net.groups.groupby("group")["country"]}))
    return SourcingModel(lp, net, activity, unmet, levels)

