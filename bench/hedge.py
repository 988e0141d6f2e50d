"""The hedge's extensive form (planner/hedge.py) at 16 to 1024 outcomes and beyond: time to
build it, to solve it through the planner, and HiGHS alone on the same LP; peak memory;
columns, rows and nonzeros.

The instances are the shipped example with independent supplier outages added, so that
the enumerated outcomes are exact powers of two: of the example's Risks the exclusive
alternative `cn-ree-embargo` is left out (it made the outcomes 3 x 2 x 2 = 12), which
keeps `cn-oct25-return`, `my-licence` and `pilbara-port`, independent of each other (8
outcomes); then per extra factor of 2 one supplier of the example (in its Suppliers order,
Pilgangoora left out: `pilbara-port` is its event) gets an outage: a Scenarios row
`<supplier>-out` setting its capacity_t to 0 and a Risks row with probability 0.05 to 0.2
(spread evenly over the outages). 16 outcomes: 1 outage, 64: 3, 256: 5, 1024: 7, 4096: 9,
8192: 10, 16384: 11. Settings max_outcomes is 1,000,000, so every outcome is enumerated.

Per size and risk weight, in fresh subprocesses:

* the planner (`--worker`): the inputs from the tables (`api.load`, not timed), the
  outcomes (`risk.outcomes`), then phases timed by bench/run.py's `Phases` (wall and CPU
  seconds, peak RSS per phase by resetting the kernel's high-water mark): build
  (`hedge.extensive_form`), hand-over, solve and read-back (`solve.SolveRun`'s steps:
  `SolveRun(lp, options).solve()` is exactly these three). The LP is then exported
  (`solve.Arrays`, as bench/run.py does; not timed).
* HiGHS alone: bench/run.py's worker on the exported LP (passModel + run + getSolution,
  default options; its peak is the whole subprocess's ru_maxrss).

The planner's solve must be optimal and its objective equal HiGHS alone's (exit 1
otherwise; with --time-limit a run that reaches the limit is reported, not failed).

    python bench/hedge.py        # 16, 64, 256, 1024 outcomes at λ = 0, 256 and 1024 also
                                 # at λ = 1 (CVaR at 0.95): ~5.5 minutes on 2 cores
    python bench/hedge.py --sizes 4096,8192 --weighted-sizes '' --no-highs --beyond-max
    python bench/hedge.py --sizes 4096 --weights 1 --weighted-sizes '' --no-highs \
        --time-limit 1800 --json /tmp/hedge-cvar.json

--beyond-max lifts `planner.hedge.MAX_SIZE` inside the workers (the file is not changed),
to measure past the guard; --no-highs skips HiGHS alone (at 4096 outcomes and λ = 0 it
takes several times the planner's split solve).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from run import Phases, _subprocess as run_worker, machine  # noqa: E402

EXAMPLE = ROOT / "inputs" / "example.xlsx"
DEFAULT_SIZES = "16,64,256,1024"
LEVEL = 0.95
BASE_OUTCOMES = 8   # the example's events kept: cn-oct25-return, my-licence, pilbara-port
LEFT_OUT = "cn-ree-embargo"
PHASES = ["build", "hand-over", "solve", "read-back"]


MAX_OUTAGES = 16    # 8 x 2^16 = 524,288 outcomes, within risk.MAX_OUTCOMES (1,000,000)


def outages(n_outcomes: int) -> int:
    """How many outage events make `n_outcomes` outcomes (ValueError if none does)."""
    k = (n_outcomes // BASE_OUTCOMES).bit_length() - 1
    if n_outcomes < BASE_OUTCOMES or BASE_OUTCOMES << k != n_outcomes or k > MAX_OUTAGES:
        raise ValueError(f"outcomes must be {BASE_OUTCOMES} x a power of two up to "
                         f"{BASE_OUTCOMES << MAX_OUTAGES:,}, not {n_outcomes:,}")
    return k


def variant(n_outcomes: int) -> dict:
    """The example's sheets (DataFrames) with outages added for `n_outcomes` outcomes."""
    import pandas as pd

    from planner import api

    k = outages(n_outcomes)
    tables = api.read(EXAMPLE)
    suppliers = [s for s in dict.fromkeys(tables["Suppliers"]["supplier"])
                 if s != "Pilgangoora"]
    out = suppliers[:k]
    tables["Scenarios"] = pd.concat([tables["Scenarios"], pd.DataFrame(
        [{"scenario": f"{s}-out", "sheet": "Suppliers", "where": f"supplier={s}",
          "column": "capacity_t", "action": "set", "value": 0.0} for s in out])],
        ignore_index=True)
    risks = tables["Risks"]
    tables["Risks"] = pd.concat([risks[risks["event"] != LEFT_OUT], pd.DataFrame(
        [{"event": f"{s}-out", "probability": round(0.05 + 0.15 * i / max(1, k - 1), 4),
          "exclusive": None} for i, s in enumerate(out)])], ignore_index=True)
    settings = tables["Settings"]
    tables["Settings"] = pd.concat([settings[settings["setting"] != "max_outcomes"],
                                    pd.DataFrame([{"setting": "max_outcomes",
                                                   "value": 1_000_000}])],
                                   ignore_index=True)
    return tables


# Worker (a subprocess per size and weight) ------------------------------------------------
def worker(n_outcomes: int, weight: float, lp_out: Path | None,
           time_limit: float | None, beyond_max: bool = False) -> dict:
    import numpy as np

    import planner.hedge

    from planner import api
    from planner.hedge import MAX_SIZE, _open_book, extensive_form
    from planner.network import base_offers
    from planner.plan import options_for
    from planner.risk import outcomes
    from planner.solve import Arrays, SolveRun
    from planner.stress import outcome_model

    inputs = api.load(variant(n_outcomes))
    settings = inputs.settings
    out = outcomes(inputs.events, int(settings.max_outcomes), 200, 0)
    if len(out) != n_outcomes or out.sampled:
        raise RuntimeError(f"{len(out)} outcomes (sampled: {out.sampled}), not {n_outcomes}")
    # hedge.py's size estimate, compared with MAX_SIZE: outcome 0's block x outcomes
    block = outcome_model(inputs, out.names(0), _open_book(base_offers(inputs)),
                          settings.limit_penalty, settings.spot_premium).committed
    estimate = (len(block.terms()[0]) + block.n_cols) * len(out)
    options = options_for(inputs, None, time_limit, rule_costs="none")
    if beyond_max:  # measure past the guard (extensive_form reads it when called)
        planner.hedge.MAX_SIZE = 2**62

    ph = Phases()
    lp = ph.run("build", extensive_form, inputs, out, weight, LEVEL)[0]
    run = SolveRun(lp, options)
    ph.run("hand-over", run.hand_over)
    ph.run("solve", run.run)
    sol = ph.run("read-back", run.read_back)
    terms = len(lp.terms()[0])
    nnz = sum(int(part.highs.getNumNz()) for part in run.parts)
    iterations = sum(int(part.highs.getInfo().simplex_iteration_count) for part in run.parts)
    result = {"outcomes": len(out), "events": [e.name for e in inputs.events],
              "weight": weight, "columns": lp.n_cols, "rows": lp.n_rows, "nonzeros": nnz,
              "terms": terms, "estimate": estimate, "max_size": MAX_SIZE,
              "blocks": len(run.parts), "iterations": iterations,
              "status": sol.status.value, "objective": sol.objective,
              "phases": ph.rows, "peak_exact": ph.exact,
              "peak_mb": max(r["peak_mb"] for r in ph.rows.values())}
    del run, sol
    if lp_out is None:
        return result
    arrays = Arrays.of(lp)  # not timed: the same LP for HiGHS alone
    np.savez(lp_out, **{k: getattr(arrays, k) for k in (
        "cost", "lower", "upper", "row_lower", "row_upper", "start", "index", "value")})
    return result


def _worker(n_outcomes: int, weight: float, lp_out: Path | None, timeout: float,
            time_limit: float | None, beyond_max: bool) -> dict:
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker",
                           str(n_outcomes), repr(weight), str(lp_out or "-"),
                           repr(time_limit or 0.0), str(int(beyond_max))],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"worker {n_outcomes} outcomes, weight {weight} failed "
                           f"(exit {done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(n_outcomes: int, weight: float, workdir: Path, timeout: float,
            highs: bool = True, time_limit: float | None = None,
            beyond_max: bool = False) -> dict:
    lp_file = workdir / f"hedge-{n_outcomes}-w{weight:g}.npz" if highs else None
    try:
        r = _worker(n_outcomes, weight, lp_file, timeout, time_limit, beyond_max)
        r["highs"] = run_worker(["--worker", "highs", str(lp_file)], timeout) \
            if highs else None
    finally:
        if lp_file is not None:
            lp_file.unlink(missing_ok=True)
    p = r["phases"]
    r["planner_solve_seconds"] = sum(p[k]["seconds"] for k in ("hand-over", "solve",
                                                                "read-back"))
    r["total_seconds"] = r["planner_solve_seconds"] + p["build"]["seconds"]
    h = r["highs"]
    if h is not None:
        r["ratio_solve"] = r["planner_solve_seconds"] / h["seconds"]
        r["ratio_total"] = r["total_seconds"] / h["seconds"]
        r["memory_ratio"] = r["peak_mb"] / h["peak_mb"]
    r["size"] = r["nonzeros"] + r["columns"]
    r["mb_per_m_nonzeros"] = r["peak_mb"] / (r["nonzeros"] / 1e6)
    # what the extensive form adds to the process (inputs and imports held before it)
    r["added_mb"] = r["peak_mb"] - r["phases"]["build"]["start_mb"]
    r["added_mb_per_m_size"] = r["added_mb"] / (r["size"] / 1e6)
    r["objective_gap"] = abs(r["objective"] - h["objective"]) / max(1.0, abs(h["objective"])) \
        if r["objective"] is not None and h is not None else None
    r["loadavg_1min"] = os.getloadavg()[0]
    return r


def _num(value, fmt: str, dash: str = "—") -> str:
    return dash if value is None else format(value, fmt)


def table(results: list[dict]) -> str:
    head = ("| outcomes | λ | columns | rows | nonzeros | nonzeros + columns (hedge.py's "
            "estimate) | blocks | build s | planner solve s | HiGHS alone s | "
            "**solve ÷ HiGHS** | build + solve ÷ HiGHS | peak MB | HiGHS MB | memory ÷ HiGHS | "
            "peak MB per M nonzeros | added MB per M nonzeros + columns |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        h = r["highs"] or {}
        status = "" if r["status"] == "optimal" else f" ({r['status']})"
        lines.append(
            f"| {r['outcomes']:,} | {r['weight']:g} | {r['columns']:,} | {r['rows']:,} | "
            f"{r['nonzeros']:,} | {r['size']:,} ({r['estimate']:,}) | {r['blocks']} | "
            f"{r['phases']['build']['seconds']:.1f} | "
            f"{r['planner_solve_seconds']:.1f}{status} | {_num(h.get('seconds'), '.1f')} | "
            f"**{_num(r.get('ratio_solve'), '.2f')}x** | {_num(r.get('ratio_total'), '.2f')}x | "
            f"{r['peak_mb']:.0f} | {_num(h.get('peak_mb'), '.0f')} | "
            f"{_num(r.get('memory_ratio'), '.2f')}x | "
            f"{r['mb_per_m_nonzeros']:.0f} | {r['added_mb_per_m_size']:.0f} |")
    return "\n".join(lines)


def print_run(r: dict) -> None:
    p, h = r["phases"], r["highs"]
    alone = (f" (HiGHS alone {h['objective']:,.2f})", f" (HiGHS alone {h['iterations']:,})") \
        if h else ("", "")
    objective = _num(r["objective"], ",.2f")
    print(f"\n== {r['outcomes']:,} outcomes, λ = {r['weight']:g}: {r['columns']:,} columns, "
          f"{r['rows']:,} rows, {r['nonzeros']:,} nonzeros ({r['terms']:,} terms; hedge.py's "
          f"size estimate {r['estimate']:,} against MAX_SIZE {r['max_size']:,}); "
          f"{r['blocks']} block(s); {r['status']}, objective {objective}{alone[0]}; "
          f"{r['iterations']:,} simplex iterations{alone[1]}; load {r['loadavg_1min']:.1f}")
    print(f"   {'phase':<12}{'seconds':>9}{'cpu s':>9}{'peak MB':>9}{'start MB':>9}")
    for name in PHASES:
        q = p[name]
        print(f"   {name:<12}{q['seconds']:>9.2f}{q['cpu_seconds']:>9.2f}{q['peak_mb']:>9.0f}"
              f"{q['start_mb']:>9.0f}")
    if h:
        print(f"   {'HiGHS alone':<12}{h['seconds']:>9.2f}{h['cpu_seconds']:>9.2f}"
              f"{h['peak_mb']:>9.0f}   (during its solve: {h['solve_peak_mb']:.0f} MB)")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default=DEFAULT_SIZES,
                    help=f"outcomes, comma-separated: 8 x a power of two [{DEFAULT_SIZES}]")
    ap.add_argument("--weights", default="0",
                    help="risk weights to run at every size [0]")
    ap.add_argument("--weighted-sizes", default="256,1024",
                    help="sizes also run at risk weight 1 (CVaR at 0.95) [256,1024]; "
                         "'' for none")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per subprocess")
    ap.add_argument("--workdir", type=Path, default=None,
                    help="where the exported LPs go (deleted after use) [a temporary folder]")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    ap.add_argument("--no-highs", action="store_true",
                    help="skip HiGHS alone (for the largest sizes: its one-piece solve takes "
                         "far longer than the planner's when the LP splits)")
    ap.add_argument("--time-limit", type=float, default=None,
                    help="the planner's solve time limit in seconds (a run that reaches it is "
                         "reported, with its memory, and does not fail the benchmark)")
    ap.add_argument("--beyond-max", action="store_true",
                    help="lift planner.hedge.MAX_SIZE in the workers, to measure larger "
                         "extensive forms than `planner hedge` accepts")
    ap.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        n, weight, lp_out, limit, beyond = args.worker
        print(json.dumps(worker(int(n), float(weight), None if lp_out == "-" else Path(lp_out),
                                float(limit) or None, beyond == "1")))
        return 0

    info = machine()
    print(f"machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB; "
          f"Python {info['python']}, highspy {info['highspy']}; {info['date']}")
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    for n in sizes:
        try:
            outages(n)
        except ValueError as exc:
            ap.error(str(exc))
    weights = [float(w) for w in args.weights.split(",") if w.strip()]
    weighted = {int(s) for s in args.weighted_sizes.split(",") if s.strip()}
    runs = [(n, w) for n in sizes for w in weights] + \
        [(n, 1.0) for n in sizes if n in weighted and 1.0 not in weights]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for n, weight in runs:
            r = measure(n, weight, workdir, args.timeout, not args.no_highs, args.time_limit,
                        args.beyond_max)
            results.append(r)
            print_run(r)
            if args.json:  # after every run, so a long run leaves partial results
                args.json.write_text(json.dumps({"machine": info, "results": results},
                                                indent=1))
    print("\n" + table(results))
    def failed(r: dict) -> bool:
        if r["status"] != "optimal":
            return not (args.time_limit and r["status"] == "time_limit")
        return r["highs"] is not None and not r["objective_gap"] <= 1e-6

    bad = [r for r in results if failed(r)]
    if bad:
        print("\nNOT OPTIMAL or objective differs from HiGHS alone: " + ", ".join(
            f"{r['outcomes']} (λ = {r['weight']:g})" for r in bad), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
