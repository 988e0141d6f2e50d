"""Solved values into the plan's tables (SPEC §3): Summary, Flows, Unmet, Utilization.

Values are read only from an OPTIMAL solution; every number is cleaned of
solver dust (1e-12, -0.0) before it reaches a table.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .model import SourcingModel
from .network import CUSTOMER, SITE, STOCKPILE, SUPPLIER
from .solve import Solution

TOL = 1e-6  # tonnes or money below this are reported as 0

COST_COLUMNS = ["purchase_cost", "processing_cost", "freight_cost", "stockpile_cost",
                "unmet_cost"]
SUMMARY_COLUMNS = ["scenario", "status", "total_cost", *COST_COLUMNS, "unmet_t"]
FLOW_COLUMNS = ["scenario", "period", "material", "from", "from_kind", "from_country", "to",
                "to_kind", "to_country", "quantity_t", "freight_cost", "freight_per_t",
                "unit_cost", "purchase_cost"]
UNMET_COLUMNS = ["scenario", "customer", "country", "material", "period", "demand_t",
                 "delivered_t", "unmet_t", "unmet_penalty", "unmet_cost"]
UTILIZATION_COLUMNS = ["scenario", "period", "kind", "id", "material", "used_t", "capacity_t",
                       "utilization"]


def clean(values) -> np.ndarray:
    """Round to 6 decimals, zero what is below TOL, and drop negative zeros (PITFALLS #8)."""
    v = np.asarray(values, float)
    v = np.where(np.abs(v) < TOL, 0.0, np.round(v, 6))
    return v + 0.0


@dataclass
class ScenarioReport:
    name: str
    status: str
    message: str
    costs: dict[str, float] = field(default_factory=dict)   # SUMMARY_COLUMNS numbers
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def summary_row(self) -> dict:
        row = {"scenario": self.name, "status": self.status}
        row.update({c: self.costs.get(c) for c in SUMMARY_COLUMNS[2:]})
        return row


def _block(sm: SourcingModel, sol: Solution, name: str) -> np.ndarray:
    return sol.values[sm.lp.columns(name)]


def scenario_report(name: str, sm: SourcingModel, sol: Solution) -> ScenarioReport:
    if not sol.ok:
        return ScenarioReport(name, sol.status.value, sol.message)
    net = sm.network
    flows = net.flows
    qty = clean(_block(sm, sol, "flow"))
    z = _block(sm, sol, "activity")
    u = clean(_block(sm, sol, "unmet"))
    level = clean(_block(sm, sol, "level"))

    released = np.where(flows["from_kind"].to_numpy() == STOCKPILE, qty, 0.0)
    costs = {
        "purchase_cost": float(flows["unit_cost"].to_numpy() @ qty),
        "processing_cost": float(sm.activity["cost_per_t"].to_numpy(float) @ z),
        "freight_cost": float(flows["freight"].to_numpy() @ qty),
        "stockpile_cost": float(flows["release_cost"].to_numpy() @ released
                                + sm.levels["holding_cost"].to_numpy(float) @ level),
        "unmet_cost": float(sm.unmet["unmet_penalty"].to_numpy(float) @ u),
    }
    costs = {k: float(clean(v)) for k, v in costs.items()}
    costs["total_cost"] = float(clean(sum(costs.values())))
    costs["unmet_t"] = float(clean(u.sum()))

    used = flows.assign(scenario=name, quantity_t=qty)[qty > 0]
    flow_table = used.assign(
        freight_cost=clean(used["freight"] * used["quantity_t"]),
        freight_per_t=used["freight"],
        purchase_cost=clean(used["unit_cost"] * used["quantity_t"]),
    )[FLOW_COLUMNS].reset_index(drop=True)

    delivered = (flows.assign(q=qty)[flows["to_kind"] == CUSTOMER]
                 .groupby(["to", "material", "period"])["q"].sum())
    demand = net.demand.reset_index(drop=True)
    got = demand.set_index(["customer", "material", "period"]).index.map(delivered)
    demand = demand.assign(scenario=name, demand_t=demand["quantity_t"],
                           delivered_t=clean(pd.Series(got).fillna(0.0).to_numpy(float)))
    demand["unmet_t"] = clean(demand["demand_t"] - demand["delivered_t"])
    demand["unmet_cost"] = clean(demand["unmet_t"]
                                 * demand["unmet_penalty"].astype(float).fillna(0.0))
    unmet_table = demand[demand["unmet_t"] > 0][UNMET_COLUMNS].reset_index(drop=True)

    return ScenarioReport(name, sol.status.value, sol.message, costs, {
        "Flows": flow_table,
        "Unmet": unmet_table,
        "Utilization": _utilization(name, sm, qty, z, level),
    })


def _ratio(used: np.ndarray, cap: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(cap > 0, used / cap, np.nan)
    return np.where(np.isnan(share), np.nan, clean(share))


def _utilization(name: str, sm: SourcingModel, qty: np.ndarray, z: np.ndarray,
                 level: np.ndarray) -> pd.DataFrame:
    net = sm.network
    flows = net.flows.assign(q=qty)
    parts = []

    sold = flows[flows["from_kind"] == SUPPLIER].groupby(["from", "material", "period"])["q"].sum()
    offers = net.offers.assign(kind=SUPPLIER, id=net.offers["supplier"])
    offers["used_t"] = offers.set_index(["supplier", "material", "period"]).index.map(sold)
    parts.append(offers)

    act = sm.activity.assign(q=z)
    site_use = act.groupby(["site", "period"])["q"].sum().rename("used_t").reset_index()
    sites = net.sites[["site", "capacity_t"]].merge(site_use, on="site")
    parts.append(sites.assign(kind=SITE, id=sites["site"], material=None))
    procs = act.assign(kind="process", id=act["site"] + " / " + act["process"].astype(str),
                       material=act["input_material"], used_t=act["q"])
    parts.append(procs)

    lv = sm.levels.assign(kind=STOCKPILE, id=sm.levels["stockpile"], used_t=level)
    parts.append(lv)

    caps = net.lane_caps.merge(pd.DataFrame({"period": net.periods}), how="cross")
    if len(caps):
        on_lane = flows.merge(caps, on=["from", "to", "period"], suffixes=("", "_lane"))
        on_lane = on_lane[on_lane["material_lane"].isna()
                          | (on_lane["material_lane"] == on_lane["material"])]
        lane_use = on_lane.groupby(["lane", "period"])["q"].sum()
        caps["used_t"] = caps.set_index(["lane", "period"]).index.map(lane_use)
        parts.append(caps.assign(kind="lane", id=caps["from"] + " -> " + caps["to"],
                                 capacity_t=caps["max_t"]))

    table = pd.concat([p.reindex(columns=["period", "kind", "id", "material", "used_t",
                                          "capacity_t"]) for p in parts], ignore_index=True)
    table["used_t"] = clean(pd.to_numeric(table["used_t"]).fillna(0.0))
    cap = pd.to_numeric(table["capacity_t"], errors="coerce").to_numpy(float)
    table["capacity_t"] = cap
    table["utilization"] = _ratio(table["used_t"].to_numpy(float), cap)
    table.insert(0, "scenario", name)
    return table[UTILIZATION_COLUMNS]
