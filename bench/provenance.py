"""Origin tracking's cost: build and solve time and LP size with origin rules against
without, on generated worlds with k = 2, 5 and 20 origin countries.

Instances: `bench/generate.py`'s world (seed 0, 12 periods, unlinked) at each size, with
every supplier's `country` rewritten to cycle over the first k countries of `ORIGINS`
(per material, so every material is mined or sold in min(k, its suppliers) countries;
a supplier's period-override rows keep its one country) and every stockpile's initial
stock given an `origin` from the same k countries, so that the origin layer has exactly k
states. The countries are real ones of the generator, so Freight, Groups and the
generator's Limits and Restrictions keep covering them (Allies at least 20 % of
spodumene needs AU, the first one). Each instance is solved twice:

* (a) as generated: no rule counts origins, so the LP has no origin layer;
* (b) plus one Limits row per customer-facing material (the six products): stage
  `origin`, by `country`, member = the first origin country, max_share 0.6, customer and
  period blank; this switches origin tracking on (planner/provenance.py).

Per run, in a fresh subprocess: build (network.build_network + model.build_model; the
origin layer's own part, provenance.add_tracking, and its state propagation `_reach`
are timed inside it, and `_reach`'s rounds counted), LP size, the planner's solve
(solve.SolveRun(lp, options).solve(): hand-over, HiGHS on the LP's independent blocks,
read-back), then HiGHS alone on the exported LP in another subprocess (bench/run.py's
worker: one passModel + run + getSolution, default options). Generating and checking the
tables (`planner.api.load`) is not timed. Exits 1 if a run is not optimal or the planner's
objective differs from HiGHS alone's.

    .venv/bin/python bench/provenance.py                          # 50k and 200k, k = 2, 5, 20
    .venv/bin/python bench/provenance.py --sizes 50k --origins 2,5 --json /tmp/p.json
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# Origin countries in the order they are used: mining countries of the generator first
# (AU, an ally, leads so that the Allies minimum on spodumene stays feasible at k = 2).
ORIGINS = ["AU", "CN", "CL", "CD", "ID", "CA", "US", "BR", "ZA", "PH", "AR", "MZ", "MG",
           "ZW", "TZ", "NO", "PE", "NA", "IN", "VN", "MX", "TH", "MY", "JP", "KR", "DE",
           "FR", "FI", "SE", "GB"]
PRODUCTS = ["LiOH", "NdPr oxide", "Dy/Tb oxide", "Co sulfate", "Ni sulfate",
            "spherical graphite"]
DEFAULT_SIZES = "50k,200k"
DEFAULT_ORIGINS = "2,5,20"


def tables(size: int, k: int, tracked: bool, share: float = 0.6, seed: int = 0) -> dict:
    """The generated world with k origin countries, as DataFrames; `tracked`: plus the
    origin Limits rows."""
    sys.path.insert(0, str(HERE))
    import pandas as pd
    from generate import world

    if not 1 <= k <= len(ORIGINS):
        raise ValueError(f"k must be 1..{len(ORIGINS)}")
    origins = ORIGINS[:k]
    sheets = world(size, seed=seed)
    seen: dict[str, int] = {}
    country: dict[str, str] = {}
    for row in sheets["Suppliers"]:
        sid = row["supplier"]
        if sid not in country:
            j = seen.get(row["material"], 0)
            seen[row["material"]] = j + 1
            country[sid] = origins[j % k]
        row["country"] = country[sid]
    for i, row in enumerate(sheets["Stockpiles"]):
        row["origin"] = origins[i % k]
    if tracked:
        for material in PRODUCTS:
            sheets["Limits"].append({
                "rule": f"{origins[0]} at most {share:.0%} of {material} by origin",
                "material": material, "stage": "origin", "by": "country",
                "member": origins[0], "max_share": share})
    return {name: pd.DataFrame(rows) for name, rows in sheets.items()}


# Worker (a fresh subprocess per run) -----------------------------------------------------
def worker(size: int, k: int, tracked: bool, lp_out: Path, share: float) -> dict:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(HERE))
    import numpy as np

    import planner.model as model_mod
    import planner.provenance as prov
    from planner import api
    from planner.network import build_network
    from planner.plan import options_for
    from planner.solve import Arrays, SolveRun
    from run import Phases

    inputs = api.load(tables(size, k, tracked, share))
    options = options_for(inputs, None, None, rule_costs="none")

    # Instrumentation of the origin layer (wrappers only; planner code unchanged).
    inner = {"tracking": 0.0, "reach": 0.0, "reach_rounds": 0, "places": 0}
    add_tracking, reach = model_mod.add_tracking, prov._reach
    real_csr = prov.csr_matrix

    class CountingCsr(real_csr):
        def __matmul__(self, other):
            inner["reach_rounds"] += 1
            return super().__matmul__(other)

    def timed_tracking(*args, **kwargs):
        start = time.perf_counter()
        try:
            return add_tracking(*args, **kwargs)
        finally:
            inner["tracking"] += time.perf_counter() - start

    def timed_reach(places, *args):
        start = time.perf_counter()
        prov.csr_matrix = CountingCsr
        try:
            return reach(places, *args)
        finally:
            prov.csr_matrix = real_csr
            inner["reach"] += time.perf_counter() - start
            inner["places"] = len(places)

    model_mod.add_tracking, prov._reach = timed_tracking, timed_reach

    ph = Phases()
    before = resource.getrusage(resource.RUSAGE_SELF)
    net = ph.run("build", build_network, inputs)
    sm = ph.run("build", model_mod.build_model, net)
    after = resource.getrusage(resource.RUSAGE_SELF)
    lp = sm.lp
    run = SolveRun(lp, options)
    sol = ph.run("solve", run.solve)
    arrays = Arrays.of(lp)  # not timed: the LP for HiGHS alone
    np.savez(lp_out, **{key: getattr(arrays, key) for key in (
        "cost", "lower", "upper", "row_lower", "row_upper", "start", "index", "value")})
    layer = sm.tracking.origin if sm.tracking is not None else None
    n_flows = lp.variables["flow"][1]
    split = {}
    if layer is not None:
        comps = np.bincount(layer.flow, minlength=n_flows)
        split = {"states": len(layer.states), "flow_components": int(len(layer.flow)),
                 "flows_split": int((comps > 1).sum()),
                 "states_per_split_flow": float(comps[comps > 1].mean())
                 if (comps > 1).any() else 0.0,
                 "columns_by_family": {name: n for name, (_, n) in lp.variables.items()
                                       if name.startswith("origin")},
                 "rows_by_family": {name: len(f.keys) for name, f in lp.families.items()
                                    if name.startswith("origin")}}
    return {"size": size, "k": k, "tracked": tracked, "columns": lp.n_cols,
            "rows": lp.n_rows, "nonzeros": int(len(arrays.value)), "flows": n_flows,
            "build": ph.rows["build"]["seconds"], "build_cpu": ph.rows["build"]["cpu_seconds"],
            # user and system CPU seconds of the build: system time is the kernel handing
            # out fresh memory (first touch of new arrays)
            "build_user": after.ru_utime - before.ru_utime,
            "build_system": after.ru_stime - before.ru_stime,
            "build_peak_mb": ph.rows["build"]["peak_mb"],
            "solve_peak_mb": ph.rows["solve"]["peak_mb"],
            "tracking": inner["tracking"], "reach": inner["reach"],
            "reach_rounds": inner["reach_rounds"], "places": inner["places"],
            "solve": ph.rows["solve"]["seconds"], "solve_cpu": ph.rows["solve"]["cpu_seconds"],
            "solver_seconds": dict(run.seconds), "blocks": len(run.parts),
            "iterations": sum(int(p.highs.getInfo().simplex_iteration_count)
                              for p in run.parts),
            "peak_mb": max(r["peak_mb"] for r in ph.rows.values()),
            "status": sol.status.value, "objective": sol.objective, **split}


# Driver ----------------------------------------------------------------------------------
def _subprocess(args: list[str], timeout: float) -> dict:
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args],
                         capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"worker {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(size: int, k: int, tracked: bool, workdir: Path, repeat: int, timeout: float,
            share: float) -> dict:
    sys.path.insert(0, str(HERE))
    import run as bench_run

    workdir.mkdir(parents=True, exist_ok=True)
    lp_file = workdir / f"provenance-{size}-k{k}-{'origin' if tracked else 'plain'}.npz"
    runs, alone = [], []
    for _ in range(repeat):
        runs.append(_subprocess(["--worker", str(size), str(k), str(int(tracked)),
                                 str(lp_file), str(share)], timeout))
        alone.append(bench_run._subprocess(["--worker", "highs", str(lp_file)], timeout))
    best = dict(runs[0])
    for key in ("build", "build_cpu", "build_user", "build_system", "tracking", "reach",
                "solve", "solve_cpu"):
        best[key] = min(r[key] for r in runs)
    best["highs"] = min(h["seconds"] for h in alone)
    best["highs_cpu"] = min(h["cpu_seconds"] for h in alone)
    best["highs_status"] = alone[0]["status"]
    best["highs_objective"] = alone[0]["objective"]
    best["highs_iterations"] = alone[0]["iterations"]
    best["highs_peak_mb"] = max(h["peak_mb"] for h in alone)
    best["objective_gap"] = (abs(best["objective"] - best["highs_objective"])
                             / max(1.0, abs(best["highs_objective"]))
                             if best["objective"] is not None else None)
    best["repeats"] = repeat
    best["loadavg_1min"] = os.getloadavg()[0]
    return best


def _x(b: float, a: float) -> str:
    return f"{b / a:.2f}x" if a else "-"


def table(pairs: list[tuple[dict, dict]]) -> str:
    head = ("| size | origins k | columns: without -> with | rows | nonzeros | build s "
            "(origin layer) | planner solve s | HiGHS alone s | simplex iterations "
            "(planner) | flows split | columns per split flow |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for a, b in pairs:
        def pair(key, fmt="{:,}"):
            return f"{fmt.format(a[key])} -> {fmt.format(b[key])} ({_x(b[key], a[key])})"
        lines.append(
            f"| {_label(a['size'])} | {a['k']} | {pair('columns')} | {pair('rows')} | "
            f"{pair('nonzeros')} | {a['build']:.2f} -> {b['build']:.2f} "
            f"({b['tracking']:.2f}) ({_x(b['build'], a['build'])}) | "
            f"{pair('solve', '{:.2f}')} | {pair('highs', '{:.2f}')} | "
            f"{a['iterations']:,} -> {b['iterations']:,} | "
            f"{b.get('flows_split', 0) / b['flows']:.0%} | "
            f"{b.get('states_per_split_flow', 0):.3g} of {b.get('states', 0)} |")
    return "\n".join(lines)


def _label(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default=DEFAULT_SIZES,
                    help=f"flow-variable counts of the generated worlds [{DEFAULT_SIZES}]")
    ap.add_argument("--origins", default=DEFAULT_ORIGINS,
                    help=f"numbers of origin countries [{DEFAULT_ORIGINS}]")
    ap.add_argument("--share", type=float, default=0.6,
                    help="max_share of the origin rules [0.6]")
    ap.add_argument("--repeat", type=int, default=1, help="runs each; fastest kept")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per run")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/planner-bench"),
                    help="where the exported LPs go")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    ap.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        size, k, tracked, lp_out, share = args.worker
        print(json.dumps(worker(int(size), int(k), tracked == "1", Path(lp_out),
                                float(share))))
        return 0

    sys.path.insert(0, str(HERE))
    from run import machine, parse_size

    info = machine()
    print(f"machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB; "
          f"Python {info['python']}, highspy {info['highspy']}; {info['date']}")
    results, pairs = [], []
    started = time.perf_counter()
    for size in (parse_size(s) for s in args.sizes.split(",") if s.strip()):
        for k in (int(s) for s in args.origins.split(",") if s.strip()):
            pair = []
            for tracked in (False, True):
                r = measure(size, k, tracked, args.workdir, args.repeat, args.timeout,
                            args.share)
                results.append(r)
                pair.append(r)
                print(f"{_label(size)} k={k} {'origin rules' if tracked else 'no origin rule'}: "
                      f"{r['columns']:,} columns, {r['rows']:,} rows, {r['nonzeros']:,} nnz; "
                      f"build {r['build']:.2f} s (origin layer {r['tracking']:.2f} s, "
                      f"_reach {r['reach']:.3f} s in {r['reach_rounds']} rounds over "
                      f"{r['places']} places; CPU {r['build_user']:.2f} user + "
                      f"{r['build_system']:.2f} system); solve {r['solve']:.2f} s "
                      f"({r['blocks']} blocks, {r['iterations']:,} iterations); HiGHS alone "
                      f"{r['highs']:.2f} s ({r['highs_iterations']:,} iterations); "
                      f"{r['status']}, objective {r['objective']:,.0f}; peak "
                      f"{r['peak_mb']:.0f} MB; load {r['loadavg_1min']:.1f}", flush=True)
                if args.json:
                    args.json.write_text(json.dumps({"machine": info, "results": results},
                                                    indent=1))
            pairs.append(tuple(pair))
    print()
    print(table(pairs))
    print(f"\n{time.perf_counter() - started:.0f} s in all")
    bad = [r for r in results if r["status"] != "optimal" or r["objective_gap"] is None
           or r["objective_gap"] > 1e-6]
    if bad:
        print("NOT OPTIMAL or objective differs from HiGHS alone: " + ", ".join(
            f"{_label(r['size'])} k={r['k']} tracked={r['tracked']}" for r in bad),
            file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
