"""Options (mixed-integer): solve time against the number of options, HiGHS against CBC.

Instances (`instance(n)`, deterministic: seed 7 + n): a capacitated facility-location
world over three periods with demand growing 15 % a period, in the spirit of
tests/test_options.py's `_facility_location`, written as plain sheet dicts:

* one ore mine (AU, 20/t, unlimited) and `n_offers = max(2, n // 10)` ore offers to sign
  (`supplier` options): cheaper (8-14/t), 150-400 t a period, half of them with a
  take-or-pay minimum (min_t 80 t a period), fixed cost 800-4,000;
* four products (ox0-ox3, ore -> oxide, yield 1) made by two existing plants (CN and KR,
  300 t a period each, 30-45/t) and by candidate plants with no capacity (one per `build`
  option, each making two or three of the products at 2-25/t);
* the other `n - n_offers` options are `site` options: ~85 % build a candidate plant
  (60-200 t a period, fixed cost 20-45 per tonne of capacity a period x 3 periods, a third
  of them from P2 on), ~15 % expand an already-buildable plant from P2 or P3 (a second
  option on the same site, 40-120 t, dearer per tonne);
* `max(4, n // 5)` customers in six countries, each wanting two of the products (random
  weights 0.5-1.5, scaled so that P1 demand is the existing plants' capacity plus 35 % of
  the candidate builds'; unmet demand 400/t), freight 2-20/t between the countries.

Per size and solver, `api.plan(frames, solver=..., time_limit=...)` in this process; the
mixed-integer solve is timed on its own (the planner's `SolveRun.solve` calls are
recorded: in a plan with options the first is the mixed-integer program, the second the
LP with the choices fixed). Also per size, for reference:

* `LP all open`: the same world with every option's capacity given (from P1, also for
  those from a later period) and no Options sheet (every plant built, every offer signed,
  no fixed costs), planned with each solver: Run info solve_s and the plan's wall time;
* `LP bound`: the mixed-integer program's LP relaxation (integrality dropped, same
  matrix), HiGHS alone; the integrality gap is (MIP optimum - bound) / MIP optimum.

The two solvers agree when their total costs differ by at most mip_gap (1e-4) of the
larger one (each optimal plan is within mip_gap of the optimum; a plan stopped by the time
limit is compared too, its status shown). Exit 1 if both are optimal and disagree beyond it.

    .venv/bin/python bench/options.py                       # 10, 50, 200 options, ~4-5 min
    .venv/bin/python bench/options.py --sizes 10,50 --time-limit 60 --json /tmp/o.json
"""
from __future__ import annotations

import argparse
import json
import random
import re
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

COUNTRIES = ("AU", "JP", "CN", "KR", "US", "DE")
PERIODS = ("P1", "P2", "P3")
PRODUCTS = 4
GROWTH = 1.15
LOAD = 0.35          # share of the candidate plants' capacity that P1 demand needs
DEFAULT_SIZES = "10,50,200"
MIP_GAP = 1e-4


def instance(n: int, seed: int | None = None) -> dict:
    """The generated world with `n` options (see the module docstring), as sheet dicts."""
    rng = random.Random(7 + n if seed is None else seed)
    n_offers = max(2, n // 10)
    n_sites = n - n_offers
    n_expand = n_sites * 15 // 100
    n_build = n_sites - n_expand
    n_customers = max(4, n // 5)
    products = [f"ox{k}" for k in range(PRODUCTS)]

    suppliers = [{"supplier": "M0", "country": "AU", "material": "ore",
                  "capacity_t": 1_000_000, "unit_cost": 20}]
    options = []
    for k in range(n_offers):
        name = f"offer{k}"
        suppliers.append({"supplier": name, "country": rng.choice(COUNTRIES),
                          "material": "ore", "capacity_t": rng.choice([150, 250, 400]),
                          "unit_cost": rng.randint(8, 14),
                          "min_t": 80 if k % 2 else None})
        options.append({"option": f"sign {name}", "kind": "supplier", "node": name,
                        "material": "ore", "fixed_cost": rng.randint(800, 4000)})

    sites = [{"site": "CN-old", "country": "CN", "capacity_t": 300},
             {"site": "KR-old", "country": "KR", "capacity_t": 300}]
    processes = [{"site": s["site"], "process": f"p{k}", "input_material": "ore",
                  "output_material": p, "yield": 1, "cost_per_t": rng.randint(30, 45)}
                 for s in sites for k, p in enumerate(products)]
    built = []
    for i in range(n_build):
        site = f"S{i}"
        sites.append({"site": site, "country": rng.choice(COUNTRIES), "capacity_t": 0})
        makes = rng.sample(range(PRODUCTS), rng.choice([2, 2, 3]))
        processes += [{"site": site, "process": f"p{k}", "input_material": "ore",
                       "output_material": products[k], "yield": 1,
                       "cost_per_t": rng.randint(2, 25)} for k in sorted(makes)]
        capacity = rng.choice([60, 90, 120, 200])
        options.append({"option": f"build {site}", "kind": "site", "node": site,
                        "capacity_t": capacity,
                        "fixed_cost": capacity * rng.randint(20, 45) * len(PERIODS),
                        "first_period": "P2" if rng.random() < 1 / 3 else None})
        built.append(site)
    for j in range(n_expand):
        site = built[rng.randrange(len(built))]
        capacity = rng.choice([40, 80, 120])
        options.append({"option": f"expand {site} #{j}", "kind": "site", "node": site,
                        "capacity_t": capacity,
                        "fixed_cost": capacity * rng.randint(30, 55) * len(PERIODS),
                        "first_period": rng.choice(["P2", "P3"])})

    # P1 demand: the existing plants' capacity plus LOAD of the candidate builds'.
    total = sum(s["capacity_t"] for s in sites) + LOAD * sum(
        o["capacity_t"] for o in options if o["option"].startswith("build"))
    lines = [(c, k, rng.uniform(0.5, 1.5)) for c in range(n_customers)
             for k in rng.sample(range(PRODUCTS), 2)]
    scale = total / sum(w for *_, w in lines)
    country = {c: rng.choice(COUNTRIES) for c in range(n_customers)}
    demand = [{"customer": f"K{c}", "country": country[c], "material": products[k],
               "period": p, "quantity_t": round(w * scale * GROWTH ** t),
               "unmet_penalty": 400} for c, k, w in lines for t, p in enumerate(PERIODS)]
    return {
        "Suppliers": suppliers, "Sites": sites, "Processes": processes, "Demand": demand,
        "Freight": [{"from_country": a, "to_country": b,
                     "cost_per_t": 0 if a == b else rng.randint(2, 20)}
                    for a in COUNTRIES for b in COUNTRIES],
        "Settings": [{"setting": "mip_gap", "value": MIP_GAP}],
        "Options": options,
    }


def all_open(sheets: dict) -> dict:
    """The same world with every option's capacity given and no Options sheet: the LP with
    every plant built (and expanded) and every offer signed, without fixed costs."""
    out = {k: [dict(r) for r in v] for k, v in sheets.items() if k != "Options"}
    sites = {r["site"]: r for r in out["Sites"]}
    for o in sheets["Options"]:
        if o["kind"] == "site":  # a capacity from a later period counts in every period
            sites[o["node"]]["capacity_t"] += o["capacity_t"]
    return out


def frames(sheets: dict) -> dict:
    """Sheet dicts as the DataFrames `api.plan` takes (one column per key, first-seen
    order; a missing key a blank cell), as tests/wb.py's `frames`."""
    import pandas as pd

    out = {}
    for name, rows in sheets.items():
        header = list(dict.fromkeys(k for r in rows for k in r))
        out[name] = pd.DataFrame([[r.get(c) for c in header] for r in rows], columns=header)
    return out


# The planner's solves, recorded: (mixed-integer?, wall s, status, message, objective).
SOLVES: list[dict] = []


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (CBC runs in one)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _record_solves() -> None:
    """Make planner.plan's SolveRun record each `solve` (a subclass; the planner unchanged)."""
    import planner.plan
    from planner.solve import SolveRun

    if getattr(planner.plan.SolveRun, "recorded", False):
        return

    class Recorded(SolveRun):
        recorded = True

        def solve(self):
            start, cpu = time.perf_counter(), _cpu()
            solution = super().solve()
            SOLVES.append({"integer": bool(self.lp.integer),
                           "seconds": time.perf_counter() - start, "cpu_s": _cpu() - cpu,
                           "status": solution.status.value, "message": solution.message,
                           "objective": solution.objective})
            return solution

    planner.plan.SolveRun = Recorded


def _rows(table) -> list[dict]:
    return table.to_dict("records")


def run_plan(sheets: dict, solver: str, time_limit: float | None) -> dict:
    """One `api.plan` of `sheets`: its Summary, Options and Run info, the mixed-integer
    solve's own wall time, the plan's."""
    from planner import api

    _record_solves()
    SOLVES.clear()
    start = time.perf_counter()
    tables = api.plan(frames(sheets), solver=solver, time_limit=time_limit)
    wall = time.perf_counter() - start
    summary = _rows(tables["Summary"])[0]
    info = _rows(tables["Run info"])[0]
    options = _rows(tables["Options"]) if "Options" in tables else []
    mip = next((s for s in SOLVES if s["integer"]), None)
    gap = None
    if mip is not None and (m := re.search(r"plan ([\d.]+)% at most", info["message"])):
        gap = float(m.group(1)) / 100
    return {
        "solver": solver, "status": summary["status"], "message": info["message"],
        "total_cost": summary["total_cost"], "option_cost": summary.get("option_cost"),
        "unmet_t": summary.get("unmet_t"),
        "taken": sum(bool(r["taken"]) and r["taken"] != "no" for r in options),
        "mip_s": None if mip is None else round(mip["seconds"], 3),
        "mip_cpu_s": None if mip is None else round(mip["cpu_s"], 3),
        "mip_objective": None if mip is None else mip["objective"],
        "reported_gap": gap,
        "plan_s": round(wall, 3), "runinfo_solve_s": info["solve_s"],
        "variables": info["variables"], "constraints": info["constraints"],
    }


def lp_bound(sheets: dict) -> dict:
    """The mixed-integer program's LP relaxation (integrality dropped), HiGHS alone: its
    objective and the time of `run`; the model's size."""
    import dataclasses

    import highspy

    from planner import api
    from planner.model import build_model
    from planner.network import build_network
    from planner.solve import Arrays, SolveOptions, _highs

    lp = build_model(build_network(api.load(frames(sheets)))).lp
    arrays = Arrays.of(lp)
    highs = _highs(dataclasses.replace(arrays, integrality=None), SolveOptions())
    start = time.perf_counter()
    highs.run()
    seconds = time.perf_counter() - start
    assert highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return {"columns": lp.n_cols, "rows": lp.n_rows,
            "integer": int((arrays.integrality != 0).sum()),
            "bound": highs.getInfo().objective_function_value, "bound_s": round(seconds, 3)}


def agreement(a: dict, b: dict) -> tuple[str, float | None]:
    """Whether two runs' total costs agree within MIP_GAP (relative to the larger)."""
    ca, cb = a["total_cost"], b["total_cost"]
    if ca is None or cb is None or (isinstance(ca, float) and ca != ca) or \
            (isinstance(cb, float) and cb != cb):
        return "n/a", None
    diff = abs(ca - cb) / max(abs(ca), abs(cb), 1e-9)
    if diff <= MIP_GAP:
        return "yes", diff
    both = a["status"] == b["status"] == "optimal"
    return ("NO" if both else "no (time limit)"), diff


def measure(n: int, solvers: list[str], time_limit: float | None, log=print) -> dict:
    sheets = instance(n)
    kinds = [o["kind"] for o in sheets["Options"]]
    result = {"options": n, "site_options": kinds.count("site"),
              "supplier_options": kinds.count("supplier"),
              "customers": len({d["customer"] for d in sheets["Demand"]}),
              "periods": len(PERIODS), **lp_bound(sheets), "runs": {}, "lp_open": {}}
    for solver in solvers:
        run = run_plan(sheets, solver, time_limit)
        result["runs"][solver] = run
        log(f"  {n} options, {solver}: {run['status']} {run['total_cost']} in "
            f"{run['mip_s']} s, CPU {run['mip_cpu_s']} s (plan {run['plan_s']} s), "
            f"{run['taken']} taken")
    for solver in solvers:
        run = run_plan(all_open(sheets), solver, time_limit)
        result["lp_open"][solver] = run
        log(f"  {n} options, LP all open, {solver}: {run['status']} in {run['plan_s']} s "
            f"(solve {run['runinfo_solve_s']} s)")
    if len(solvers) == 2:
        result["agree"], result["difference"] = agreement(*result["runs"].values())
    return result


def _num(x, fmt="{:,.0f}") -> str:
    return "–" if x is None else fmt.format(x)


def _lp_open(run: dict | None) -> str:
    if run is None:
        return "–"
    text = f"{run['runinfo_solve_s']:.2f} ({run['plan_s']:.2f})"
    return text if run["status"] == "optimal" else f"{text} {run['status']}"


def table(results: list[dict]) -> str:
    head = ("| options (site + supplier) | columns (binary) / rows | LP bound (integrality gap) "
            "| solver | status | total cost | options taken | MIP solve s (CPU s) | plan s "
            "| LP all open: solve s (plan s) | solvers agree |")
    lines = [head, "|" + "|".join(["---"] * (head.count("|") - 1)) + "|"]
    for r in results:
        for i, (solver, run) in enumerate(r["runs"].items()):
            best = min((x["total_cost"] for x in r["runs"].values()
                        if x["total_cost"] is not None), default=None)
            ig = None if not best else (best - r["bound"]) / best
            status = run["status"]
            if run["reported_gap"] is not None:
                status += f" (gap ≤ {run['reported_gap']:.2%})"
            agree = "–" if "agree" not in r else (
                f"{r['agree']} (diff {r['difference']:.1e})" if r["difference"] is not None
                else r["agree"])
            first = i == 0
            lines.append("| " + " | ".join([
                f"{r['options']} ({r['site_options']} + {r['supplier_options']})" if first
                else "",
                f"{r['columns']:,} ({r['integer']}) / {r['rows']:,}" if first else "",
                f"{r['bound']:,.0f} ({ig:.1%})" if first and ig is not None else "",
                solver, status, _num(run["total_cost"]), str(run["taken"]),
                _num(run["mip_s"], "{:.2f}") + ("" if run["mip_cpu_s"] is None
                                                 else f" ({run['mip_cpu_s']:.2f})"),
                _num(run["plan_s"], "{:.2f}"),
                _lp_open(r["lp_open"].get(solver)),
                agree if first else ""]) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=DEFAULT_SIZES, help="numbers of options, e.g. 10,50")
    ap.add_argument("--solvers", default="highs,cbc")
    ap.add_argument("--time-limit", type=float, default=120.0,
                    help="seconds per solve (default 120)")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args(argv)
    from run import machine

    sizes = [int(s) for s in args.sizes.split(",")]
    solvers = args.solvers.split(",")
    print(f"options bench: sizes {sizes}, solvers {solvers}, time limit {args.time_limit} s",
          flush=True)
    results = [measure(n, solvers, args.time_limit,
                       log=lambda s: print(s, flush=True)) for n in sizes]
    print()
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "time_limit": args.time_limit,
                                         "mip_gap": MIP_GAP, "results": results}, indent=1,
                                        default=str))
    return 1 if any(r.get("agree") == "NO" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
