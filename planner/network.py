"""Nodes, arcs and per-period flow candidates from the validated tables (docs/model.md, Sets).

Everything here is a vectorised pandas join: arcs are all (provider, taker) pairs
of a material, priced by Lanes, else Freight, else 0 within one country; closed
lanes are removed; each arc is then expanded to the periods in which it can
carry material (a supplier's offer exists, a customer demands).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .inputs import ROW, Inputs
from .scenarios import applies

SUPPLIER, SITE, CUSTOMER, STOCKPILE = "supplier", "site", "customer", "stockpile"


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


def _offers(inputs: Inputs) -> pd.DataFrame:
    """One row per (supplier, material, period): a period row overrides the blank-period row."""
    s = inputs["Suppliers"].drop(columns=[ROW])
    periods = pd.DataFrame({"period": inputs.periods})
    general = s[s["period"].isna()].drop(columns="period").merge(periods, how="cross")
    specific = s[s["period"].notna()]
    both = pd.concat([specific, general], ignore_index=True)
    both = both.drop_duplicates(["supplier", "material", "period"], keep="first")
    both["min_t"] = both["min_t"].fillna(0.0)
    order = {p: i for i, p in enumerate(inputs.periods)}
    both["_order"] = both["period"].map(order)
    return (both.sort_values(["supplier", "material", "_order"]).drop(columns="_order")
            .reset_index(drop=True))


def _processes(inputs: Inputs) -> tuple[pd.DataFrame, pd.DataFrame]:
    p = inputs["Processes"]
    # A site a scenario drops takes its processes with it (validation guarantees that the
    # base data has no process at an unknown site).
    p = p[p["site"].isin(set(inputs["Sites"]["site"]))].copy()
    # A blank process name makes the row a process of its own.
    p["process"] = p["process"].where(p["process"].notna(),
                                      "row " + p[ROW].astype(str))
    p = p.sort_values(["site", "process", ROW], kind="stable")
    processes = p.drop_duplicates(["site", "process"]).reset_index(drop=True)
    processes["process_id"] = np.arange(len(processes))
    outputs = p.merge(processes[["site", "process", "process_id"]], on=["site", "process"])
    return (processes[["process_id", "site", "process", "input_material", "cost_per_t",
                       "capacity_t"]],
            outputs[["process_id", "site", "output_material", "yield"]])


def _nodes(inputs: Inputs) -> pd.DataFrame:
    parts = [
        inputs["Suppliers"][["supplier", "country"]].set_axis(["node", "country"], axis=1)
        .assign(kind=SUPPLIER),
        inputs["Sites"][["site", "country"]].set_axis(["node", "country"], axis=1)
        .assign(kind=SITE),
        inputs["Demand"][["customer", "country"]].set_axis(["node", "country"], axis=1)
        .assign(kind=CUSTOMER),
        inputs["Stockpiles"][["stockpile", "country"]].set_axis(["node", "country"], axis=1)
        .assign(kind=STOCKPILE),
    ]
    return pd.concat(parts, ignore_index=True).drop_duplicates("node").reset_index(drop=True)


def _pick(frame: pd.DataFrame, table: pd.DataFrame, keys: list[str], value: str,
          name: str) -> pd.DataFrame:
    """Left-join `table[value]` onto `frame` by `keys` as column `name`."""
    right = table[keys + [value]].rename(columns={value: name})
    return frame.merge(right, on=keys, how="left")


def _priced(arcs: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
    """`arcs` with their freight per t: a Lanes cost for the pair (for the material, else
    for all), else a Freight cost for the country pair (likewise), else 0 within one
    country; NaN where none is known."""
    lanes = inputs["Lanes"]
    freight = inputs["Freight"]
    priced = lanes[lanes["cost_per_t"].notna()]
    arcs = _pick(arcs, priced[priced["material"].notna()], ["from", "to", "material"],
                 "cost_per_t", "_lane_m")
    arcs = _pick(arcs, priced[priced["material"].isna()], ["from", "to"], "cost_per_t",
                 "_lane")
    by_country = freight.rename(columns={"from_country": "from_country_",
                                         "to_country": "to_country_"})
    arcs = arcs.rename(columns={"from_country": "from_country_", "to_country": "to_country_"})
    arcs = _pick(arcs, by_country[by_country["material"].notna()],
                 ["from_country_", "to_country_", "material"], "cost_per_t", "_freight_m")
    arcs = _pick(arcs, by_country[by_country["material"].isna()],
                 ["from_country_", "to_country_"], "cost_per_t", "_freight")
    arcs = arcs.rename(columns={"from_country_": "from_country", "to_country_": "to_country"})
    domestic = pd.Series(np.where(arcs["from_country"] == arcs["to_country"], 0.0, np.nan),
                         index=arcs.index)
    cost = (arcs["_lane_m"].astype(float).fillna(arcs["_lane"].astype(float))
            .fillna(arcs["_freight_m"].astype(float)).fillna(arcs["_freight"].astype(float))
            .fillna(domestic))
    return arcs.assign(freight=cost).drop(columns=["_lane_m", "_lane", "_freight_m",
                                                   "_freight"])


def _closed(arcs: pd.DataFrame, inputs: Inputs) -> np.ndarray:
    """Which `arcs` a Lanes row with allowed = no closes."""
    lanes = inputs["Lanes"]
    closed = lanes[lanes["allowed"].eq(False)]
    shut = arcs.merge(closed[closed["material"].notna()][["from", "to", "material"]]
                      .drop_duplicates(), on=["from", "to", "material"], how="left",
                      indicator=True)["_merge"].eq("both").to_numpy().copy()
    shut |= arcs.merge(closed[closed["material"].isna()][["from", "to"]].drop_duplicates(),
                       on=["from", "to"], how="left",
                       indicator=True)["_merge"].eq("both").to_numpy()
    return shut


def _price_arcs(arcs: pd.DataFrame, inputs: Inputs) -> pd.DataFrame:
    """The open arcs among `arcs` whose freight is known, with it."""
    arcs = _priced(arcs, inputs)
    arcs = arcs[arcs["freight"].notna()].reset_index(drop=True)
    return arcs[~_closed(arcs, inputs)].reset_index(drop=True)


def build_flows(inputs: Inputs, nodes: pd.DataFrame, offers: pd.DataFrame,
                processes: pd.DataFrame, outputs: pd.DataFrame,
                stockpiles: pd.DataFrame, to_customers_only: bool = False) -> pd.DataFrame:
    """Flow candidates: from, to, material, period, kinds, countries, freight, unit_cost,
    release_cost and cost (everything charged per t on that flow)."""
    arcs = build_arcs(inputs, nodes, offers, processes, outputs, stockpiles, to_customers_only)
    flows = _in_periods(arcs, offers, inputs["Demand"], inputs.periods)
    release = stockpiles.set_index("stockpile")["release_cost"]
    flows["release_cost"] = flows["from"].map(release).astype(float).fillna(0.0)
    flows["freight"] = flows["freight"].astype(float)
    flows["cost"] = flows["unit_cost"] + flows["freight"] + flows["release_cost"]
    return flows


def build_arcs(inputs: Inputs, nodes: pd.DataFrame, offers: pd.DataFrame,
               processes: pd.DataFrame, outputs: pd.DataFrame,
               stockpiles: pd.DataFrame, to_customers_only: bool = False,
               unpriced: bool = False) -> pd.DataFrame:
    """Open, priced arcs (from, to, material, kinds, countries, freight), for any period:
    every provider and taker of a material, less closed and unpriced lanes (with
    `unpriced`: every such pair, before pricing)."""
    demand = inputs["Demand"]
    providers = pd.concat([
        offers[["supplier", "material"]].drop_duplicates().set_axis(["from", "material"], axis=1),
        outputs[["site", "output_material"]].drop_duplicates().set_axis(["from", "material"],
                                                                         axis=1),
        stockpiles[["stockpile", "material"]].set_axis(["from", "material"], axis=1),
    ], ignore_index=True)
    intake = stockpiles[stockpiles["intake"]]
    customers = demand[["customer", "material"]].drop_duplicates().set_axis(["to", "material"],
                                                                           axis=1)
    takers = customers if to_customers_only else pd.concat([
        processes[["site", "input_material"]].drop_duplicates().set_axis(["to", "material"],
                                                                         axis=1),
        customers,
        intake[["stockpile", "material"]].set_axis(["to", "material"], axis=1),
    ], ignore_index=True)
    kind = nodes.set_index("node")["kind"]
    country = nodes.set_index("node")["country"]
    arcs = providers.merge(takers, on="material")
    arcs["from_kind"] = arcs["from"].map(kind)
    arcs["to_kind"] = arcs["to"].map(kind)
    # Only nodes ship and receive; stockpiles refill from suppliers and sites only;
    # nothing ships to itself.
    arcs = arcs[arcs["from_kind"].notna() & arcs["to_kind"].notna()
                & (arcs["from"] != arcs["to"])
                & ~((arcs["from_kind"] == STOCKPILE) & (arcs["to_kind"] == STOCKPILE))]
    arcs["from_country"] = arcs["from"].map(country)
    arcs["to_country"] = arcs["to"].map(country)
    return arcs if unpriced else _price_arcs(arcs, inputs)


def _period_table(arcs: pd.DataFrame, arc_keys: list[str], frame: pd.DataFrame,
                  keys: list[str], periods: list[str], value: np.ndarray) -> np.ndarray:
    """arcs x periods: `value` of the `frame` row whose `keys` equal the arc's `arc_keys`
    in that period; NaN where there is none."""
    codes, uniques = pd.MultiIndex.from_frame(frame[keys]).factorize()
    by_key = np.full((len(uniques) + 1, len(periods)), np.nan)  # last row: no such key
    period = pd.Index(periods).get_indexer(frame["period"])
    found = period >= 0
    by_key[codes[found], period[found]] = value[found]
    return by_key[uniques.get_indexer(pd.MultiIndex.from_frame(arcs[arc_keys]))]


def _in_periods(arcs: pd.DataFrame, offers: pd.DataFrame, demand: pd.DataFrame,
                periods: list[str]) -> pd.DataFrame:
    """Each arc in the periods it can carry material: a supplier's only where it has an
    offer (at that offer's unit cost), a customer's only where it demands the material.
    Rows in the order (period, material, from, to). Works on an arcs x periods table,
    so the flow table (one row per flow variable) is made once, by one `take`."""
    arcs = arcs.sort_values(["material", "from", "to"], kind="stable").reset_index(drop=True)
    unit_cost = _period_table(arcs, ["from", "material"], offers, ["supplier", "material"],
                              periods, offers["unit_cost"].to_numpy(float))
    wanted = _period_table(arcs, ["to", "material"], demand, ["customer", "material"],
                           periods, np.ones(len(demand)))
    from_supplier = (arcs["from_kind"] == SUPPLIER).to_numpy()[:, None]
    to_customer = (arcs["to_kind"] == CUSTOMER).to_numpy()[:, None]
    carries = (~from_supplier | ~np.isnan(unit_cost)) & (~to_customer | ~np.isnan(wanted))
    period, arc = np.nonzero(carries.T)  # period-major: the order the model expects
    flows = arcs.take(arc).reset_index(drop=True)
    flows["period"] = pd.Series(np.array(periods, dtype=object)[period], dtype=object)
    flows["unit_cost"] = np.nan_to_num(unit_cost[arc, period], nan=0.0)
    return flows


def _lane_caps(inputs: Inputs) -> pd.DataFrame:
    lanes = inputs["Lanes"]
    caps = lanes[lanes["max_t"].notna() & ~lanes["allowed"].eq(False)]
    return caps[[ROW, "from", "to", "material", "max_t"]].rename(columns={ROW: "lane"})


def _in_scenario(frame: pd.DataFrame, scenario: str) -> pd.DataFrame:
    keep = np.array([applies(cell, scenario) for cell in frame["scenario"]], dtype=bool)
    return frame.loc[keep].drop(columns=[ROW, "scenario"]).reset_index(drop=True)


def _stockpiles(inputs: Inputs) -> pd.DataFrame:
    stockpiles = inputs["Stockpiles"].copy()
    for col in ("initial_t", "min_level_t", "release_cost", "holding_cost"):
        stockpiles[col] = stockpiles[col].astype(float).fillna(0.0)
    stockpiles["intake"] = stockpiles["intake"].eq(True)
    return stockpiles


def demand_routes(inputs: Inputs) -> set[tuple[str, str, str]]:
    """(customer, material, period) that at least one arc reaches; only the arcs into
    customers are built, so this is cheap beside the whole network."""
    processes, outputs = _processes(inputs)
    flows = build_flows(inputs, _nodes(inputs), _offers(inputs), processes, outputs,
                        _stockpiles(inputs), to_customers_only=True)
    return set(zip(flows["to"], flows["material"], flows["period"]))


def stranded(inputs: Inputs) -> pd.DataFrame:
    """Providers (a supplier's offer, a site's output, a stockpile) of a material that has
    takers, with no open, priced arc to any of them: one row per (from, material) with
    from_kind, from_country, `takers` (to ids) and `missing`: the country pairs among
    their candidate arcs that neither Freight nor Lanes prices (empty when closed lanes
    are the cause)."""
    processes, outputs = _processes(inputs)
    candidates = build_arcs(inputs, _nodes(inputs), _offers(inputs), processes, outputs,
                            _stockpiles(inputs), unpriced=True)
    columns = ["from", "material", "from_kind", "from_country", "takers", "missing"]
    if candidates.empty:
        return pd.DataFrame(columns=columns)
    candidates = _priced(candidates.reset_index(drop=True), inputs)
    open_ = candidates["freight"].notna().to_numpy() & ~_closed(candidates, inputs)
    provider = pd.MultiIndex.from_frame(candidates[["from", "material"]])
    served = provider[open_].unique()
    cut = candidates[~provider.isin(served)]
    rows = []
    for (node, material), arcs in cut.groupby(["from", "material"], sort=False):
        unpriced = arcs[arcs["freight"].isna()]
        missing = sorted(set(zip(unpriced["from_country"], unpriced["to_country"])))
        rows.append((node, material, arcs["from_kind"].iloc[0], arcs["from_country"].iloc[0],
                     list(dict.fromkeys(arcs["to"])), missing))
    return pd.DataFrame(rows, columns=columns)


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


def build_network(inputs: Inputs, scenario: str = "base") -> Network:
    """The network of one scenario: `inputs` holds its data (`scenarios.scenario_inputs`),
    `scenario` names it for the rules scoped to scenarios. Nodes, offers per period,
    processes and their outputs, stockpiles, demand, and the flow candidates (priced arcs
    expanded to the periods in which they can carry material)."""
    offers = _offers(inputs)
    processes, outputs = _processes(inputs)
    stockpiles = _stockpiles(inputs)
    nodes = _nodes(inputs)
    flows = build_flows(inputs, nodes, offers, processes, outputs, stockpiles)
    demand = inputs["Demand"].copy()
    default = inputs.settings.unmet_penalty
    demand["unmet_penalty"] = demand["unmet_penalty"].where(demand["unmet_penalty"].notna(),
                                                            default)
    return Network(inputs.periods, nodes, offers, processes, outputs, inputs["Sites"].copy(),
                   demand.drop(columns=[ROW]), stockpiles, flows, _lane_caps(inputs),
                   _in_scenario(inputs["Limits"], scenario),
                   _in_scenario(inputs["Restrictions"], scenario),
                   inputs["Groups"][["group", "country"]].drop_duplicates())
