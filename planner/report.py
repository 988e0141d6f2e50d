"""Solved values into the plan's tables (docs/model.md, plan workbook): Summary (with the
change against base), Sourcing, Flows, Comparison, Mix, Limits, Unmet, Utilization.

Values are read only from an OPTIMAL solution; every number is cleaned of
solver dust (1e-12, -0.0) before it reaches a table.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .model import SourcingModel
from .network import CUSTOMER, SITE, STOCKPILE, SUPPLIER
from .rules import STAGE_FLOWS
from .sheets import (COMPARISON, FIGURES, FLOWS, LIMITS, MIX, SOURCING, STAGES, SUMMARY,
                     UNMET, UTILIZATION)
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


def _block(sm: SourcingModel, sol: Solution, name: str) -> np.ndarray:
    return sol.values[sm.lp.columns(name)]


def scenario_report(name: str, sm: SourcingModel, sol: Solution) -> ScenarioReport:
    if not sol.ok:
        return ScenarioReport(name, sol.status.value, sol.message)
    net = sm.network
    flows = net.flows
    qty = rounded(_block(sm, sol, "flow"))
    z = _block(sm, sol, "activity")
    u = rounded(_block(sm, sol, "unmet"))
    level = rounded(_block(sm, sol, "level"))

    released = np.where(flows["from_kind"].to_numpy() == STOCKPILE, qty, 0.0)
    costs = {
        "purchase_cost": float(flows["unit_cost"].to_numpy() @ qty),
        "processing_cost": float(sm.activity["cost_per_t"].to_numpy(float) @ z),
        "freight_cost": float(flows["freight"].to_numpy() @ qty),
        "stockpile_cost": float(flows["release_cost"].to_numpy() @ released
                                + sm.levels["holding_cost"].to_numpy(float) @ level),
        "unmet_cost": float(sm.unmet["unmet_penalty"].to_numpy(float) @ u),
    }
    costs = {k: float(rounded(v)) for k, v in costs.items()}
    costs["total_cost"] = float(rounded(sum(costs.values())))
    costs["unmet_t"] = float(rounded(u.sum()))

    used = flows.assign(scenario=name, quantity_t=qty)[qty > 0]
    flow_table = used.assign(
        freight_cost=rounded(used["freight"] * used["quantity_t"]),
        freight_per_t=used["freight"],
        purchase_cost=rounded(used["unit_cost"] * used["quantity_t"]),
    )[FLOW_COLUMNS].reset_index(drop=True)

    delivered = (flows.assign(q=qty)[flows["to_kind"] == CUSTOMER]
                 .groupby(["to", "material", "period"])["q"].sum())
    demand = net.demand.reset_index(drop=True)
    got = demand.set_index(["customer", "material", "period"]).index.map(delivered)
    demand = demand.assign(scenario=name, demand_t=demand["quantity_t"],
                           delivered_t=rounded(pd.Series(got).fillna(0.0).to_numpy(float)))
    demand["unmet_t"] = rounded(demand["demand_t"] - demand["delivered_t"])
    demand["unmet_cost"] = rounded(demand["unmet_t"]
                                 * demand["unmet_penalty"].astype(float).fillna(0.0))
    unmet_table = demand[demand["unmet_t"] > 0][UNMET_COLUMNS].reset_index(drop=True)

    return ScenarioReport(name, sol.status.value, sol.message, costs, {
        "Flows": flow_table,
        "Unmet": unmet_table,
        "Utilization": _utilization(name, sm, qty, z, level),
        "Limits": _limits(name, sm, sol),
        "Mix": _mix(name, flows.assign(quantity_t=qty)),
    })


def _ratio(used: np.ndarray, cap: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(cap > 0, used / cap, np.nan)
    return np.where(np.isnan(share), np.nan, rounded(share))


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
    table["used_t"] = rounded(pd.to_numeric(table["used_t"]).fillna(0.0))
    cap = pd.to_numeric(table["capacity_t"], errors="coerce").to_numpy(float)
    table["capacity_t"] = cap
    table["utilization"] = _ratio(table["used_t"].to_numpy(float), cap)
    table.insert(0, "scenario", name)
    return table[UTILIZATION_COLUMNS]


def _limits(name: str, sm: SourcingModel, sol: Solution) -> pd.DataFrame:
    """Every rule instance: level, bound, whether it binds, shadow price (d cost / d rhs)."""
    lp = sm.lp
    activity, _ = lp.row_activity(sol.values)
    parts = []
    for family in ("share_max", "share_min", "restriction", "lane_cap", "stockpile_floor"):
        if family not in lp.families:
            continue
        rows = lp.rows_of(family)
        keys = lp.families[family].keys
        dual = rounded(sol.duals[rows])
        level = activity[rows]
        if family.startswith("share"):
            stage = sol.values[keys["volume_col"].to_numpy()]
            bound = keys["bound"].to_numpy(float)
            volume = level + bound * stage
            table = keys.assign(type="limit", sense=family[6:], stage_volume_t=rounded(stage),
                                volume_t=rounded(volume), share=_ratio(volume, stage),
                                value_of_1pt=rounded(np.abs(dual) * stage * 0.01))
            at_bound, busy = np.abs(level) <= 1e-6 * np.maximum(1.0, stage), stage > TOL
        else:
            if family == "lane_cap":
                keys = keys.assign(rule="lane " + keys["from"] + " -> " + keys["to"],
                                   type="lane", bound=keys["max_t"], sense="max")
            elif family == "stockpile_floor":
                keys = keys.assign(rule="floor " + keys["stockpile"], type="floor",
                                   member=keys["stockpile"], bound=keys["min_level_t"],
                                   sense="min")
            bound = keys["bound"].to_numpy(float)
            table = keys.assign(volume_t=rounded(level))
            at_bound = np.abs(level - bound) <= 1e-6 * np.maximum(1.0, bound)
            busy = level > TOL
        # A rule binds when it is at its bound and either carries volume or costs money.
        table = table.assign(scenario=name, shadow_price=dual,
                             binds=at_bound & (busy | (dual != 0)))
        parts.append(table.reindex(columns=LIMIT_COLUMNS))
    if not parts:
        return pd.DataFrame(columns=LIMIT_COLUMNS)
    table = pd.concat(parts, ignore_index=True)
    order = {p: i for i, p in enumerate(sm.network.periods)}
    table["_p"] = table["period"].map(order).fillna(-1)
    table["_cost"] = -table["shadow_price"].abs()
    return (table.sort_values(["_cost", "rule", "_p", "material", "customer", "member"],
                              kind="stable", na_position="first")
            .drop(columns=["_p", "_cost"]).reset_index(drop=True))


def _mix(name: str, flows: pd.DataFrame) -> pd.DataFrame:
    """Each country's tonnes and share per (period, material, stage), and the stage's HHI."""
    moved = flows[flows["quantity_t"] > 0]
    parts = [moved[STAGE_FLOWS[stage](moved)].assign(stage=stage) for stage in STAGES]
    staged = pd.concat(parts, ignore_index=True)
    if staged.empty:
        return pd.DataFrame(columns=MIX_COLUMNS)
    keys = ["period", "material", "stage"]
    mix = (staged.groupby(keys + ["from_country"], sort=False)["quantity_t"].sum()
           .rename("quantity_t").reset_index().rename(columns={"from_country": "country"}))
    mix["stage_total_t"] = mix.groupby(keys)["quantity_t"].transform("sum")
    share = mix["quantity_t"] / mix["stage_total_t"]
    mix["hhi"] = rounded((share * 100) ** 2).astype(float)
    mix["hhi"] = rounded(mix.groupby(keys)["hhi"].transform("sum"))
    mix["share"] = rounded(share)
    mix["quantity_t"] = rounded(mix["quantity_t"])
    mix["stage_total_t"] = rounded(mix["stage_total_t"])
    order = {p: i for i, p in enumerate(flows["period"].drop_duplicates())}
    stage_order = {s: i for i, s in enumerate(STAGES)}
    mix = mix.assign(scenario=name, _p=mix["period"].map(order), _s=mix["stage"].map(stage_order))
    mix = mix.sort_values(["_p", "material", "_s", "quantity_t", "country"],
                          ascending=[True, True, True, False, True])
    return mix[MIX_COLUMNS].reset_index(drop=True)


def horizon_shares(mix: pd.DataFrame | None) -> pd.DataFrame:
    """Each country's share of a material's tonnes at a stage over the whole horizon, from
    one scenario's Mix rows: columns material, stage, country, quantity_t, share; materials
    in first-seen order, stages in the plan's order (STAGES), then the largest share first
    (a tie goes to the first country in alphabetical order)."""
    columns = ["material", "stage", "country", "quantity_t", "share"]
    if mix is None or mix.empty or not {"material", "stage", "country", "quantity_t"} <= set(mix):
        return pd.DataFrame(columns=columns)
    quantity = pd.to_numeric(mix["quantity_t"], errors="coerce").fillna(0.0)
    total = quantity.groupby([mix["material"], mix["stage"], mix["country"]],
                             sort=False).sum()
    stage_total = total.groupby(level=["material", "stage"], sort=False).transform("sum")
    share = (total / stage_total.where(stage_total > 0)).fillna(0.0)
    table = pd.DataFrame({"quantity_t": total, "share": share}).reset_index()
    materials = {m: i for i, m in enumerate(dict.fromkeys(mix["material"]))}
    stages = {s: i for i, s in enumerate(STAGES)}
    table = table.assign(_m=table["material"].map(materials),
                         _s=table["stage"].map(stages).fillna(len(stages)))
    table = table.sort_values(["_m", "_s", "share", "country"],
                              ascending=[True, True, False, True], kind="stable")
    return table[columns].reset_index(drop=True)


def top_shares(mix: pd.DataFrame | None) -> pd.DataFrame:
    """Per (material, stage), over the whole horizon: the largest country and its share
    (`horizon_shares`' first row for the pair)."""
    return horizon_shares(mix).drop_duplicates(["material", "stage"]).reset_index(drop=True)


def _top_by_pair(mix: pd.DataFrame | None) -> dict[tuple, tuple[str, float]]:
    """(material, stage) -> (largest country, its share), from `top_shares`."""
    top = top_shares(mix)
    return {(m, s): (c, float(v)) for m, s, c, v in
            zip(top["material"], top["stage"], top["country"], top["share"])}


def comparison(reports: list[ScenarioReport]) -> pd.DataFrame:
    """Each scenario against base: costs, unmet t, top-country shares, most-changed flows."""
    base = next((r for r in reports if r.name == "base"), None)
    if base is None or base.status != "optimal":
        return pd.DataFrame(columns=COMPARISON_COLUMNS)
    rows = []
    base_top = _top_by_pair(base.tables.get("Mix"))
    base_flows = base.tables["Flows"].groupby(["period", "material", "from", "to"])[
        "quantity_t"].sum()
    for r in reports:
        if r is base:
            continue
        if r.status != "optimal":
            rows.append({"scenario": r.name, "section": "status", "item": "status",
                         "detail": f"{r.status}: {r.message}"})
            continue
        for metric in FIGURE_COLUMNS:
            b, v = base.costs[metric], r.costs[metric]
            rows.append({"scenario": r.name, "section": "cost" if metric != "unmet_t"
                         else "unmet", "item": metric, "base_value": b, "value": v,
                         "change": change(v, b)})
        top = _top_by_pair(r.tables.get("Mix"))
        for key in sorted(set(base_top) | set(top), key=str):
            (bc, bs), (vc, vs) = base_top.get(key, ("-", 0.0)), top.get(key, ("-", 0.0))
            rows.append({"scenario": r.name, "section": "top share",
                         "item": f"{key[0]} / {key[1]}", "base_value": float(rounded(bs)),
                         "value": float(rounded(vs)), "change": float(rounded(vs - bs)),
                         "detail": f"{bc} -> {vc}"})
        flows = r.tables["Flows"].groupby(["period", "material", "from", "to"])[
            "quantity_t"].sum()
        both = pd.concat([base_flows.rename("b"), flows.rename("v")], axis=1).fillna(0.0)
        both["change"] = rounded(both["v"] - both["b"])
        both = both[both["change"] != 0]
        both = both.assign(size=both["change"].abs()).sort_values(
            ["size"], ascending=False, kind="stable").head(20)
        for (period, material, src, dst), b, v, moved in zip(
                both.index, both["b"], both["v"], both["change"]):
            rows.append({"scenario": r.name, "section": "flow",
                         "item": f"{period} {material}: {src} -> {dst}",
                         "base_value": float(rounded(b)), "value": float(rounded(v)),
                         "change": float(moved)})
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


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
    keys = ["material", "kind", "id", "country", "period"]
    parts = []
    for r, name in zip(reports, names):
        flows = r.tables.get("Flows")
        if flows is None:
            continue
        out = flows[flows["from_kind"].isin(SOURCE_KINDS)].rename(
            columns={"from_kind": "kind", "from": "id", "from_country": "country"})
        per_period = out.groupby(keys, sort=False)["quantity_t"].sum()
        horizon = out.assign(period=ALL_PERIODS).groupby(keys, sort=False)["quantity_t"].sum()
        parts.append(pd.concat([horizon, per_period]).rename(name))
    if not parts:
        return pd.DataFrame(columns=fixed + names)
    table = pd.concat(parts, axis=1).reset_index()
    planned = [name for r, name in zip(reports, names) if r.tables.get("Flows") is not None]
    for name in names:
        table[name] = rounded(table[name].fillna(0.0)) if name in planned else None
    first = table[names[0]].astype(float).fillna(0.0)
    order = {p: i for i, p in enumerate([ALL_PERIODS, *periods])}
    table = table.assign(_p=table["period"].map(order).fillna(len(order)),
                         _m=table["material"].astype(str).str.casefold(),
                         _first=-first, _any=-table[planned].max(axis=1))
    table = table.sort_values(["_p", "_m", "material", "_first", "_any", "id"], kind="stable")
    return table[fixed + names].reset_index(drop=True)


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
