"""Synthetic sourcing workbooks of a chosen size, for the benchmark (bench/run.py).

The world is a scaled-up version of inputs/example.xlsx: five material chains
(lithium, rare earths with co-products, cobalt, nickel, graphite), mines and traders
in about thirty countries, converters and refineries, buyers with monthly demand,
strategic stockpiles that carry material between periods, freight between all
countries, lane overrides, caps and closures, and diversification limits and trade
restrictions in about the proportions a real sourcing team keeps them:

* suppliers : sites : customers ~ 6 : 2 : 5 per chain, every supplier capped, 10 % with a
  take-or-pay minimum, 10 % with a period price override;
* about 1 % of arcs with a lane cost override, 0.3 % closed, 0.3 % capped;
* 8 Limits rules (per-country supply caps, a FEOC processing cap, a horizon-wide cap, an
  allies-minimum per customer) and 9 Restrictions (exclusions, bans, quotas);
* demand is soft (Settings unmet_penalty), so every size is feasible.

The chains share no site, process or rule, so their LP splits into one independent block
per chain (planner/solve.py solves such blocks side by side). `--linked` makes a world
whose LP does not split, as real networks often do not (`link_chains`):

* shared complexes: every third first-stage plant of each chain is one multi-chain
  complex (`complex-0000`, ...) whose site capacity all five chains' processes share:
  about a third of the merged plants' capacities together, and 15 % cheaper to run, so
  the chains compete for it;
* nickel refineries recover cobalt: `Ni matte -> Ni sulfate+Co sulfate` (co-products of
  two chains);
* battery recycling: collectors sell black mass to recyclers that make LiOH, Ni sulfate
  and Co sulfate in one process (co-products of three chains);
* every strategic stockpile takes intake, so each product's stock links the periods.

The number of flow variables grows with the square of the scale `k`; `generate` picks
`k` so that the planner's flow count lands near the requested size (it is estimated
from the node counts; the benchmark reports the exact model size).

    python bench/generate.py 100000 -o /tmp/bench-100k.xlsx
    python bench/generate.py 350000 --linked -o /tmp/bench-350k-linked.xlsx
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

COUNTRIES = ["AU", "CN", "CL", "AR", "BR", "CA", "US", "ZA", "CD", "ID", "PH", "MY", "JP",
             "KR", "DE", "FR", "FI", "SE", "NO", "GB", "IN", "VN", "TH", "MX", "PE", "ZW",
             "NA", "MZ", "MG", "TZ"]
ALLIES = ["AU", "CA", "US", "JP", "KR", "DE", "FR", "FI", "SE", "NO", "GB"]
FEOC = ["CN"]
BUYERS = ["JP", "KR", "US", "DE", "FR", "FI", "SE", "GB", "CN", "IN", "VN", "TH", "MX", "CA"]

# chain: (raw material, mining countries with weights, stages, products)
# a stage: (input, {output: yield}, cost per t input, share of sites that run it)
CHAINS = {
    "Li": ("spodumene SC6", {"AU": 5, "CL": 2, "AR": 2, "CN": 2, "BR": 1, "CA": 1, "ZW": 1},
           [("spodumene SC6", {"LiOH": 0.15}, 900.0)], ["LiOH"], 780.0),
    "REE": ("REE concentrate", {"AU": 3, "CN": 5, "US": 1, "MG": 1, "ZA": 1, "VN": 1},
            [("REE concentrate", {"MREC": 0.9}, 1500.0),
             ("MREC", {"NdPr oxide": 0.24, "Dy/Tb oxide": 0.005}, 9000.0)],
            ["NdPr oxide", "Dy/Tb oxide"], 5000.0),
    "Co": ("Co hydroxide", {"CD": 6, "ID": 2, "AU": 1, "PH": 1, "MG": 1},
           [("Co hydroxide", {"Co sulfate": 0.35}, 2500.0)], ["Co sulfate"], 9000.0),
    "Ni": ("Ni matte", {"ID": 6, "PH": 2, "AU": 1, "CA": 1, "NO": 1},
           [("Ni matte", {"Ni sulfate": 0.7}, 1800.0)], ["Ni sulfate"], 11000.0),
    "C": ("graphite concentrate", {"CN": 5, "MZ": 2, "MG": 1, "BR": 1, "TZ": 1, "CA": 1},
          [("graphite concentrate", {"spherical graphite": 0.55}, 1200.0)],
          ["spherical graphite"], 600.0),
}
SITE_COUNTRIES = {"CN": 6, "JP": 2, "KR": 2, "MY": 1, "AU": 1, "US": 1, "FI": 1, "DE": 1,
                  "ID": 2, "IN": 1, "CA": 1, "NO": 1, "SE": 1}

# Linked worlds (link_chains).
COMPLEX_EVERY = 3        # every third first-stage plant index is a multi-chain complex
COMPLEX_CAPACITY = 0.35  # a complex's capacity against its merged plants' capacities summed
COMPLEX_COST = 0.85      # shared utilities: processing in a complex costs less, so it fills
NI_CO_YIELD = 0.05       # t Co sulfate recovered per t Ni matte refined
RECYCLING = ("black mass", {"LiOH": 0.12, "Ni sulfate": 0.40, "Co sulfate": 0.15}, 1_500.0)
COLLECTOR_COUNTRIES = {"CN": 4, "KR": 2, "DE": 2, "US": 2, "JP": 1, "FR": 1, "SE": 1, "GB": 1}
RECYCLER_COUNTRIES = {"CN": 3, "KR": 1, "DE": 1, "US": 1, "FI": 1, "NO": 1, "JP": 1}


def _pick(rng, weights: dict[str, float], n: int) -> list[str]:
    keys = list(weights)
    p = np.array([weights[k] for k in keys], float)
    return list(rng.choice(keys, size=n, p=p / p.sum()))


def _counts(k: float) -> dict[str, int]:
    return {"suppliers": max(2, round(6 * k)), "sites": max(2, round(2 * k)),
            "customers": max(2, round(5 * k)), "traders": max(1, round(0.5 * k)),
            "stockpiles": max(1, math.ceil(k / 8)), "collectors": max(2, round(2 * k)),
            "recyclers": max(1, round(0.5 * k))}


def estimate_flows(k: float, periods: int, linked: bool = False) -> int:
    """Flow variables of the world at scale k (before closed lanes and exclusions)."""
    c = _counts(k)
    per_period = 0
    for _, (_, _, stages, products, _) in CHAINS.items():
        n_sites = [c["sites"]] * len(stages)
        # raw -> first stage; stage -> next stage
        per_period += c["suppliers"] * n_sites[0]
        for a, b in zip(n_sites, n_sites[1:]):
            per_period += a * b
        for _ in products:
            takers = c["customers"] + c["stockpiles"]
            per_period += (n_sites[-1] + c["traders"]) * takers + c["stockpiles"] * c["customers"]
    if linked:  # merging plants into complexes adds no arc; new providers do
        takers = c["customers"] + c["stockpiles"]   # of one product
        per_period += c["sites"] * takers           # Ni refineries -> Co sulfate takers
        per_period += c["recyclers"] * (c["collectors"] + len(RECYCLING[1]) * takers)
    return per_period * periods


def scale_for(flows: int, periods: int, linked: bool = False) -> float:
    lo, hi = 0.1, 1000.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if estimate_flows(mid, periods, linked) < flows else (lo, mid)
    return (lo + hi) / 2


def world(flows: int, periods: int = 12, seed: int = 0,
          linked: bool = False) -> dict[str, list[dict]]:
    """The input workbook's sheets (docs/workbook.md) as lists of row dicts; `linked`: the
    chains share sites and processes (`link_chains`), so the LP is one block."""
    rng = np.random.default_rng(seed)
    k = scale_for(flows, periods, linked)
    c = _counts(k)
    labels = [f"2027-{m:02d}" if periods <= 12 else f"P{m:03d}" for m in range(1, periods + 1)]
    sheets: dict[str, list[dict]] = {name: [] for name in (
        "Settings", "Periods", "Suppliers", "Sites", "Processes", "Freight", "Lanes",
        "Stockpiles", "Demand", "Groups", "Limits", "Restrictions")}
    sheets["Settings"] = [{"setting": "currency", "value": "USD"},
                          {"setting": "unmet_penalty", "value": 1_000_000}]
    sheets["Periods"] = [{"period": p} for p in labels]
    sheets["Groups"] = ([{"group": "Allies", "country": x} for x in ALLIES]
                        + [{"group": "FEOC", "country": x} for x in FEOC])

    suppliers, sites_by_stage, customers, stockpiles = [], {}, [], []
    min_t_suppliers = set()
    for chain, (raw, mines, stages, products, raw_price) in CHAINS.items():
        # Mines: capacity per period, price around the raw price.
        for i, country in enumerate(_pick(rng, mines, c["suppliers"])):
            sid = f"{chain}-mine-{i:04d}"
            cap = float(rng.integers(2_000, 40_000))
            price = round(raw_price * rng.uniform(0.8, 1.25), 2)
            row = {"supplier": sid, "country": country, "material": raw, "capacity_t": cap,
                   "unit_cost": price}
            if i == 0 or rng.random() < 0.10:  # at least one take-or-pay per chain
                row["min_t"] = round(cap * rng.uniform(0.02, 0.10))
                min_t_suppliers.add(sid)
            sheets["Suppliers"].append(row)
            suppliers.append((sid, country, raw))
            if rng.random() < 0.10:  # a price override in one or two periods
                for p in rng.choice(labels, size=min(2, periods), replace=False):
                    sheets["Suppliers"].append({**row, "unit_cost": round(price * 1.1, 2),
                                                "period": str(p)})
        # Sites: each runs the chain's stages (one site list per stage).
        yield_to_raw = 1.0
        for s, (inp, outs, cost) in enumerate(stages):
            ids = []
            for i, country in enumerate(_pick(rng, SITE_COUNTRIES, c["sites"])):
                site = f"{chain}-s{s}-{i:04d}"
                cap = float(rng.integers(5_000, 60_000)) * yield_to_raw
                sheets["Sites"].append({"site": site, "country": country,
                                        "capacity_t": round(cap)})
                proc_cap = round(cap * 0.8) if rng.random() < 0.3 else None
                unit = round(cost * rng.uniform(0.8, 1.2), 2)  # one cost per process
                for out, y in outs.items():
                    sheets["Processes"].append({
                        "site": site, "process": f"{inp} -> {'+'.join(outs)}",
                        "input_material": inp, "output_material": out, "yield": y,
                        "cost_per_t": unit, "capacity_t": proc_cap})
                ids.append((site, country))
            sites_by_stage[(chain, s)] = ids
            yield_to_raw *= max(outs.values()) if len(outs) == 1 else 0.9
        # Traders sell products directly (mostly from China).
        for product in products:
            price = _product_price(product)
            for i, country in enumerate(_pick(rng, {"CN": 6, "JP": 1, "KR": 1, "DE": 1},
                                              c["traders"])):
                sid = f"{chain}-trader-{product[:4].strip()}-{i:03d}"
                sheets["Suppliers"].append({
                    "supplier": sid, "country": country, "material": product,
                    "capacity_t": round(_demand_size(product) * rng.uniform(2, 8)),
                    "unit_cost": round(price * rng.uniform(1.3, 1.8), 2)})
                suppliers.append((sid, country, product))
            # Buyers of each product, monthly demand.
            for i, country in enumerate(_pick(rng, {b: 1 for b in BUYERS}, c["customers"])):
                cid = f"{chain}-buyer-{product[:4].strip()}-{i:04d}"
                base = _demand_size(product) * rng.uniform(0.3, 1.5)
                for p in labels:
                    sheets["Demand"].append({
                        "customer": cid, "country": country, "material": product,
                        "period": p, "quantity_t": round(base * rng.uniform(0.8, 1.2), 2)})
                customers.append((cid, country, product))
            # Strategic stockpiles of each product.
            for i in range(c["stockpiles"]):
                pid = f"{chain}-reserve-{product[:4].strip()}-{i:02d}"
                country = str(rng.choice(ALLIES))
                level = _demand_size(product) * 20
                sheets["Stockpiles"].append({
                    "stockpile": pid, "country": country, "material": product,
                    "initial_t": round(level * 0.5), "capacity_t": round(level),
                    "min_level_t": round(level * 0.1), "max_release_t": round(level * 0.1),
                    "release_cost": round(price * 0.02, 2), "holding_cost": round(
                        price * 0.005, 2), "intake": "yes" if i % 2 == 0 else None})
                stockpiles.append((pid, country, product))

    # Freight between every pair of countries (distance-like), plus a few per-material rows.
    pos = {x: rng.uniform(0, 100, size=2) for x in COUNTRIES}
    for a in COUNTRIES:
        for b in COUNTRIES:
            if a != b:
                d = float(np.hypot(*(pos[a] - pos[b])))
                sheets["Freight"].append({"from_country": a, "to_country": b,
                                          "cost_per_t": round(20 + 2.5 * d, 2)})
    for a, b in [("AU", "CN"), ("CL", "CN"), ("CD", "CN"), ("ID", "CN")]:
        sheets["Freight"].append({"from_country": a, "to_country": b, "material": CHAINS[
            {"AU": "Li", "CL": "Li", "CD": "Co", "ID": "Ni"}[a]][0], "cost_per_t": 35.0})

    # Lanes: cost overrides, closures and caps on a small share of supplier -> site arcs.
    first_sites = {chain: sites_by_stage[(chain, 0)] for chain in CHAINS}
    raw_of = {raw: chain for chain, (raw, *_rest) in CHAINS.items()}
    lane_pairs = set()
    n_arcs = sum(len(first_sites[raw_of[m]]) for _, _, m in suppliers if m in raw_of)
    for kind, share in (("cost", 0.01), ("closed", 0.003), ("cap", 0.003)):
        for _ in range(max(1, round(share * n_arcs))):
            sid, _, m = suppliers[int(rng.integers(len(suppliers)))]
            if m not in raw_of:
                continue
            site, _ = first_sites[raw_of[m]][int(rng.integers(len(first_sites[raw_of[m]])))]
            if (sid, site) in lane_pairs:
                continue
            lane_pairs.add((sid, site))
            row = {"from": sid, "to": site}
            if kind == "cost":
                row["cost_per_t"] = round(float(rng.uniform(5, 60)), 2)
            elif kind == "closed":
                row["allowed"] = "no"
            else:
                row.update(material=m, max_t=round(float(rng.uniform(500, 5_000))))
            sheets["Lanes"].append(row)

    # Diversification limits.
    first = labels[0]
    sheets["Limits"] = [
        {"rule": "no country above 60% of any material supplied", "stage": "supply", "by": "country",
         "max_share": 0.6},
        {"rule": "FEOC at most 40% of processing", "stage": "processing", "by": "group",
         "member": "FEOC", "max_share": 0.4},
        {"rule": "allies supply at least 20% of spodumene", "material": "spodumene SC6",
         "stage": "supply", "by": "group", "member": "Allies", "min_share": 0.2},
        {"rule": "Congo at most 70% of cobalt over the year", "material": "Co hydroxide",
         "stage": "supply", "by": "country", "member": "CD", "period": "all",
         "max_share": 0.7},
        {"rule": "no refiner above 25% of NdPr deliveries", "material": "NdPr oxide",
         "stage": "delivery", "by": "node", "max_share": 0.25},
        {"rule": "allies at least 10% of each NdPr buyer", "material": "NdPr oxide",
         "stage": "delivery", "by": "group", "member": "Allies", "customer": "each",
         "min_share": 0.1},
        {"rule": "Indonesia at most 65% of Ni matte", "material": "Ni matte", "stage": "supply",
         "by": "country", "member": "ID", "max_share": 0.65},
        {"rule": "January: China at most 50% of LiOH delivered", "material": "LiOH",
         "stage": "delivery", "by": "country", "member": "CN", "period": first,
         "max_share": 0.5},
    ]
    excluded = [s for s, _, m in suppliers if s not in min_t_suppliers][:: max(1, len(
        suppliers) // 3)][:3]
    sheets["Restrictions"] = [
        *({"rule": f"sanctioned {s}", "type": "exclude", "from": s} for s in excluded),
        {"rule": "no NdPr from FEOC to US", "type": "ban", "material": "NdPr oxide",
         "from": "FEOC", "to": "US"},
        {"rule": "no graphite from CN to allies", "type": "ban", "material": "spherical graphite",
         "from": "CN", "to": "Allies"},
        {"rule": "Dy/Tb export licence CN", "type": "quota", "material": "Dy/Tb oxide",
         "from": "CN", "max_t": 200},
        {"rule": "Ni matte export quota ID -> CN", "type": "quota", "material": "Ni matte",
         "from": "ID", "to": "CN", "max_t": round(40_000 * k)},
        {"rule": "no MREC into Malaysia", "type": "exclude", "material": "MREC", "from": "MY"},
        {"rule": f"{labels[-1]}: cobalt quota CD -> CN", "type": "quota",
         "material": "Co hydroxide", "from": "CD", "to": "CN", "max_t": round(30_000 * k),
         "period": labels[-1]},
    ]
    if linked:  # last, so that the unlinked worlds keep their random draws
        link_chains(sheets, rng, c)
    return sheets


def link_chains(sheets: dict[str, list[dict]], rng, c: dict[str, int]) -> None:
    """Tie the material chains of `sheets` into one LP, in place (see the module text)."""
    # Nickel refineries recover cobalt: a second output of the nickel process.
    processes = []
    for row in sheets["Processes"]:
        processes.append(row)
        if row["site"].startswith("Ni-s0-"):
            row["process"] += "+Co sulfate"
            processes.append({**row, "output_material": "Co sulfate", "yield": NI_CO_YIELD})
    sheets["Processes"] = processes

    # Battery recycling: black mass in, three chains' products out of one process.
    material, outputs, cost = RECYCLING
    for i, country in enumerate(_pick(rng, COLLECTOR_COUNTRIES, c["collectors"])):
        sheets["Suppliers"].append({
            "supplier": f"recycling-collector-{i:04d}", "country": country,
            "material": material, "capacity_t": float(rng.integers(500, 5_000)),
            "unit_cost": round(3_000 * rng.uniform(0.8, 1.25), 2)})
    for i, country in enumerate(_pick(rng, RECYCLER_COUNTRIES, c["recyclers"])):
        site = f"recycler-{i:04d}"
        sheets["Sites"].append({"site": site, "country": country,
                                "capacity_t": float(rng.integers(2_000, 20_000))})
        unit = round(cost * rng.uniform(0.8, 1.2), 2)
        for out, y in outputs.items():
            sheets["Processes"].append({
                "site": site, "process": f"{material} -> {'+'.join(outputs)}",
                "input_material": material, "output_material": out, "yield": y,
                "cost_per_t": unit, "capacity_t": None})

    # Complexes: the i-th first-stage plant of every chain becomes one site, in the Li
    # plant's country, with one capacity that all its processes share and lower costs.
    complex_of = {f"{chain}-s0-{i:04d}": f"complex-{i:04d}"
                  for i in range(0, c["sites"], COMPLEX_EVERY) for chain in CHAINS}
    sites, merged = [], {}
    for row in sheets["Sites"]:
        name = complex_of.get(row["site"])
        if name is None:
            sites.append(row)
            continue
        if name not in merged:
            merged[name] = {**row, "site": name, "capacity_t": 0.0}
            sites.append(merged[name])
        merged[name]["capacity_t"] += row["capacity_t"] * COMPLEX_CAPACITY
    for row in merged.values():
        row["capacity_t"] = round(row["capacity_t"])
    sheets["Sites"] = sites
    for row in sheets["Lanes"]:
        for col in ("from", "to"):
            row[col] = complex_of.get(row[col], row[col])
    for row in sheets["Processes"]:
        if row["site"] in complex_of:
            row["site"] = complex_of[row["site"]]
            row["cost_per_t"] = round(row["cost_per_t"] * COMPLEX_COST, 2)

    for row in sheets["Stockpiles"]:
        row["intake"] = "yes"


def _product_price(product: str) -> float:
    return {"LiOH": 12_000, "NdPr oxide": 60_000, "Dy/Tb oxide": 370_000, "Co sulfate": 30_000,
            "Ni sulfate": 17_000, "spherical graphite": 3_000, "MREC": 20_000}[product]


def _demand_size(product: str) -> float:
    return {"LiOH": 800, "NdPr oxide": 60, "Dy/Tb oxide": 2, "Co sulfate": 300,
            "Ni sulfate": 900, "spherical graphite": 700}[product]


def write_workbook(path: Path, sheets: dict[str, list[dict]]) -> Path:
    """Write the sheets with openpyxl's write-only mode (header = keys in first-seen order)."""
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        header: list[str] = []
        for row in rows:
            for key in row:
                if key not in header:
                    header.append(key)
        ws.append(header)
        for row in rows:
            ws.append([row.get(col) for col in header])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def generate(flows: int, path: Path, periods: int = 12, seed: int = 0,
             linked: bool = False) -> Path:
    return write_workbook(path, world(flows, periods, seed, linked))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("flows", type=int, help="approximate number of flow variables")
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--periods", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--linked", action="store_true",
                    help="an LP that does not split into independent blocks: multi-chain "
                         "complexes sharing one site capacity, nickel refineries with a "
                         "cobalt co-product, battery recyclers making three chains' "
                         "products, intake on every stockpile")
    args = ap.parse_args()
    sheets = world(args.flows, args.periods, args.seed, args.linked)
    write_workbook(args.output, sheets)
    print(f"{args.output}: " + ", ".join(f"{k} {len(v)}" for k, v in sheets.items()))


if __name__ == "__main__":
    main()
