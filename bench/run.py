"""Benchmark: the planner, phase by phase, against HiGHS alone on the same LP.

For every size (approximate number of flow variables) it generates a synthetic
workbook (bench/generate.py, cached in --workdir; with --linked one whose LP does not
split into independent blocks), then runs, each in a fresh subprocess:

* the planner, calling the library functions one phase at a time: read
  (workbook.read_workbook), validate (validate.validate + the unreachable-demand
  check, i.e. the rest of validate.load), build (network.build_network +
  model.build_model), hand-over (solve.SolveRun.hand_over: the model to HiGHS),
  solve (SolveRun.run: HiGHS), read-back (SolveRun.read_back: values, duals, status
  and the feasibility check), report (report.scenario_report + plan.plan_sheets) and
  write plan (output.write_plan). `solve.solve` is exactly hand_over + run +
  read_back;
* HiGHS alone: the model's matrix, exported by the planner run (LinearModel.matrix,
  row and column bounds, costs) to an .npz file, passed to highspy in one call and
  solved with the same (default) options; timed from passModel to getSolution.

Time is wall-clock (perf_counter); CPU seconds of the process are recorded too.
Memory is the peak resident set size of each phase: before a phase the kernel's
high-water mark is reset (`echo 5 > /proc/self/clear_refs`), after it VmHWM is read
from /proc/self/status, so each phase's number is the process's true peak during that
phase (everything still held from earlier phases included). Where that reset is not
available, ru_maxrss (peak so far) is reported instead and flagged. The HiGHS-alone
peak is the whole subprocess's peak (ru_maxrss: interpreter, numpy, highspy, the
arrays and HiGHS).

    .venv/bin/python bench/run.py                      # 10k ... 1M, table on stdout
    .venv/bin/python bench/run.py --sizes 10k,100k --repeat 3 --json bench/results.json
    .venv/bin/python bench/run.py --linked             # 350k, 500k, 1M, one block each
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_SIZES = "10k,50k,100k,200k,500k,1M"
LINKED_SIZES = "350k,500k,1M"   # the sizes issue 22 asks about
PHASES = ["read", "validate", "build", "hand-over", "solve", "read-back", "report",
          "write plan"]
MODEL_PATH = ["build", "hand-over", "solve", "read-back"]


def parse_size(text: str) -> int:
    text = text.strip().lower()
    mult = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * mult)


def label(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k"


def instance(size: int, linked: bool) -> str:
    return label(size) + ("-linked" if linked else "")


# Memory ---------------------------------------------------------------------------------
def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark of this process (Linux ≥ 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _peak_mb() -> float:
    kb = _status_kb("VmHWM")
    if kb is None:
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024


class Phases:
    """Times (wall and CPU) and peak memory of consecutive phases of one process."""

    def __init__(self):
        self.rows: dict[str, dict] = {}
        self.exact = True

    def run(self, name: str, fn, *args):
        self.exact &= _reset_peak()
        rss0 = (_status_kb("VmRSS") or 0) / 1024
        cpu, wall = time.process_time(), time.perf_counter()
        result = fn(*args)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        row = self.rows.setdefault(name, {"seconds": 0.0, "cpu_seconds": 0.0, "peak_mb": 0.0,
                                          "start_mb": rss0})
        row["seconds"] += wall
        row["cpu_seconds"] += cpu
        row["peak_mb"] = max(row["peak_mb"], _peak_mb())
        return result


# Workers (run in subprocesses) ----------------------------------------------------------
def worker_planner(workbook: Path, lp_out: Path, plan_out: Path) -> dict:
    sys.path.insert(0, str(ROOT))
    import numpy as np

    from planner.model import build_model
    from planner.network import build_network
    from planner.plan import Plan, checked, plan_sheets
    from planner.report import scenario_report
    from planner.solve import Arrays, SolveRun
    from planner.output import write_plan
    from planner.workbook import read_workbook

    ph = Phases()
    raw, problems = ph.run("read", read_workbook, workbook)

    inputs = ph.run("validate", checked, raw, problems)  # the rest of plan.load
    net = ph.run("build", build_network, inputs)
    sm = ph.run("build", build_model, net)
    lp = sm.lp
    run = SolveRun(lp)
    ph.run("hand-over", run.hand_over)
    ph.run("solve", run.run)
    sol = ph.run("read-back", run.read_back)
    nnz = sum(int(part.highs.getNumNz()) for part in run.parts)
    blocks = len(run.parts)
    # with one block, the same count as HiGHS alone's: the same LP solved the same way
    iterations = sum(int(part.highs.getInfo().simplex_iteration_count) for part in run.parts)

    def report():
        rep = scenario_report("base", sm, sol)
        info = {"scenario": "base", "status": rep.status, "message": rep.message,
                "solver": "highs", "variables": lp.n_cols, "constraints": lp.n_rows,
                "nonzeros": nnz}
        return rep, plan_sheets(Plan(inputs, [rep], [info]))

    rep, sheets = ph.run("report", report)
    ph.run("write plan", write_plan, plan_out, sheets, inputs.settings.currency)
    flows_written = len(sheets["Flows"][1]) if "Flows" in sheets else None

    # Not timed: the model's matrix for HiGHS alone, and its connected components (every
    # one apart, however small; the solve packs small ones into `blocks`).
    arrays = Arrays.of(lp)
    np.savez(lp_out, **{k: getattr(arrays, k) for k in (
        "cost", "lower", "upper", "row_lower", "row_upper", "start", "index", "value")})
    components = [len(cols) for cols, _ in arrays.blocks(min_columns=1)]
    return {"phases": ph.rows, "peak_exact": ph.exact, "variables": lp.n_cols,
            "constraints": lp.n_rows, "nonzeros": nnz, "blocks": blocks,
            "components": len(components), "iterations": iterations,
            "largest_component_share": max(components) / max(1, lp.n_cols),
            "status": sol.status.value,
            "objective": sol.objective, "flows_written": flows_written,
            "solver_seconds": sol.seconds,
            "peak_mb": max(r["peak_mb"] for r in ph.rows.values())}


def worker_highs(lp_file: Path) -> dict:
    import numpy as np
    import highspy

    data = np.load(lp_file)
    arrays = {k: data[k] for k in data.files}
    n, m = len(arrays["cost"]), len(arrays["row_lower"])
    inf = highspy.kHighsInf
    for k in ("lower", "upper", "row_lower", "row_upper"):
        arrays[k] = np.clip(arrays[k], -inf, inf)
    _reset_peak()
    cpu, wall = time.process_time(), time.perf_counter()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.passModel(n, m, len(arrays["value"]), int(highspy.MatrixFormat.kColwise),
                int(highspy.ObjSense.kMinimize), 0.0, arrays["cost"], arrays["lower"],
                arrays["upper"], arrays["row_lower"], arrays["row_upper"], arrays["start"],
                arrays["index"], arrays["value"], np.zeros(n, np.int32))
    h.run()
    solution = h.getSolution()
    x, y = np.asarray(solution.col_value), np.asarray(solution.row_dual)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    status = h.getModelStatus()
    return {"seconds": wall, "cpu_seconds": cpu, "status": h.modelStatusToString(status),
            "objective": float(h.getInfo().objective_function_value),
            "iterations": int(h.getInfo().simplex_iteration_count),
            "solve_peak_mb": _peak_mb(), "values": len(x) + len(y),
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


# Driver ---------------------------------------------------------------------------------
def _subprocess(args: list[str], timeout: float) -> dict:
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args],
                         capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"worker {args[:2]} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(size: int, workdir: Path, repeat: int, timeout: float, seed: int,
            linked: bool = False) -> dict:
    sys.path.insert(0, str(HERE))
    from generate import generate

    workdir.mkdir(parents=True, exist_ok=True)
    stem = f"bench-{instance(size, linked)}-s{seed}"
    book = workdir / f"{stem}.xlsx"
    if not book.exists():
        generate(size, book, seed=seed, linked=linked)
    lp_file = workdir / f"{stem}.npz"
    plan = workdir / f"{stem}-plan.xlsx"
    planner_runs, highs_runs = [], []
    for _ in range(repeat):
        planner_runs.append(_subprocess(["--worker", "planner", str(book), str(lp_file),
                                         str(plan)], timeout))
        highs_runs.append(_subprocess(["--worker", "highs", str(lp_file)], timeout))
    return combine(size, planner_runs, highs_runs, os.getloadavg()[0], linked)


def combine(size: int, planner_runs: list[dict], highs_runs: list[dict], load: float,
            linked: bool = False) -> dict:
    """Per phase the fastest time over the repeats and the largest peak."""
    first = planner_runs[0]
    phases = {}
    for name in PHASES:
        rows = [r["phases"][name] for r in planner_runs if name in r["phases"]]
        phases[name] = {"seconds": min(r["seconds"] for r in rows),
                        "cpu_seconds": min(r["cpu_seconds"] for r in rows),
                        "peak_mb": max(r["peak_mb"] for r in rows)}
    total = sum(p["seconds"] for p in phases.values())
    model_path = sum(phases[p]["seconds"] for p in MODEL_PATH)
    highs = {"seconds": min(h["seconds"] for h in highs_runs),
             "cpu_seconds": min(h["cpu_seconds"] for h in highs_runs),
             "peak_mb": max(h["peak_mb"] for h in highs_runs),
             "status": highs_runs[0]["status"], "objective": highs_runs[0]["objective"],
             "iterations": highs_runs[0]["iterations"]}
    peak = max(p["peak_mb"] for p in phases.values())
    return {
        "size": size, "linked": linked, "variables": first["variables"],
        "constraints": first["constraints"], "nonzeros": first["nonzeros"],
        "blocks": first.get("blocks"), "components": first.get("components"),
        "largest_component_share": first.get("largest_component_share"),
        "iterations": first.get("iterations"),
        "status": first["status"],
        "objective": first["objective"], "flows_written": first["flows_written"],
        "phases": phases, "total_seconds": total, "model_path_seconds": model_path,
        "highs": highs, "ratio_total": total / highs["seconds"],
        "ratio_model_path": model_path / highs["seconds"],
        # what the planner adds around the solver's run, against the solver's time
        "ratio_overhead": (total - phases["solve"]["seconds"]) / highs["seconds"],
        "peak_mb": peak,
        "memory_ratio": peak / highs["peak_mb"], "peak_exact": first["peak_exact"],
        "repeats": len(planner_runs), "loadavg_1min": load,
        "objective_gap": abs(first["objective"] - highs["objective"])
        / max(1.0, abs(highs["objective"])) if first["objective"] is not None else None,
    }


def print_size(r: dict) -> None:
    print(f"\n== {instance(r['size'], r['linked'])}: {r['variables']:,} variables, "
          f"{r['constraints']:,} constraints, {r['nonzeros']:,} nonzeros, {r['blocks']} "
          f"block(s) solved ({r['components']} connected components, the largest "
          f"{r['largest_component_share']:.2%} of the columns); status {r['status']}, "
          f"objective {r['objective']:,.2f} (HiGHS alone {r['highs']['objective']:,.2f}), "
          f"{r['iterations']:,} simplex iterations (HiGHS alone {r['highs']['iterations']:,}); "
          f"best of {r['repeats']}, load {r['loadavg_1min']:.1f}")
    print(f"   {'phase':<12}{'seconds':>9}{'cpu s':>9}{'peak MB':>9}")
    for name in PHASES:
        p = r["phases"][name]
        print(f"   {name:<12}{p['seconds']:>9.2f}{p['cpu_seconds']:>9.2f}{p['peak_mb']:>9.0f}")
    print(f"   {'total':<12}{r['total_seconds']:>9.2f}{'':>9}{r['peak_mb']:>9.0f}")
    h = r["highs"]
    print(f"   {'HiGHS alone':<12}{h['seconds']:>9.2f}{h['cpu_seconds']:>9.2f}{h['peak_mb']:>9.0f}")
    print(f"   end-to-end / HiGHS alone: {r['ratio_total']:.2f}x time; model path (build + "
          f"hand-over + solve + read-back) {r['ratio_model_path']:.2f}x; everything but the "
          f"solver's run {r['ratio_overhead']:.2f}x; peak memory "
          f"{r['memory_ratio']:.2f}x" + ("" if r["peak_exact"] else " (ru_maxrss, not per phase)"))


def print_summary(results: list[dict]) -> None:
    head = (f"{'size':>11} {'vars':>9} {'rows':>7} {'nnz':>9} " + " ".join(
        f"{p[:9]:>9}" for p in PHASES) + f" {'total':>7} {'HiGHS':>7} {'e2e x':>6} "
        f"{'model x':>7} {'peak MB':>7} {'HiGHS MB':>8} {'mem x':>5}")
    print("\n" + head)
    for r in results:
        print(f"{instance(r['size'], r['linked']):>11} {r['variables']:>9,} "
              f"{r['constraints']:>7,} {r['nonzeros']:>9,} "
              + " ".join(f"{r['phases'][p]['seconds']:>9.2f}" for p in PHASES)
              + f" {r['total_seconds']:>7.2f} {r['highs']['seconds']:>7.2f} "
              f"{r['ratio_total']:>6.2f} {r['ratio_model_path']:>7.2f} {r['peak_mb']:>7.0f} "
              f"{r['highs']['peak_mb']:>8.0f} {r['memory_ratio']:>5.2f}")


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")),
                       cpu)
    except OSError:
        pass
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem = float("nan")
    versions = {}
    for mod in ("pulp", "highspy", "numpy", "pandas", "openpyxl", "lxml"):
        try:
            from importlib import metadata
            versions[mod] = metadata.version(mod if mod != "pulp" else "PuLP")
        except Exception:  # noqa: BLE001 - informational only
            versions[mod] = "?"
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem, 1),
            "python": platform.python_version(), "platform": platform.platform(),
            "date": time.strftime("%Y-%m-%d %H:%M %Z"), **versions}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Benchmark the planner against HiGHS alone.")
    ap.add_argument("--sizes", default=None,
                    help=f"comma-separated flow-variable counts [{DEFAULT_SIZES}; with "
                         f"--linked {LINKED_SIZES}]")
    ap.add_argument("--linked", action="store_true",
                    help="instances whose LP is one connected block (generate.py --linked): "
                         "the planner's solve is then HiGHS on the whole LP")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/planner-bench"),
                    help="where generated workbooks, plans and LP files go")
    ap.add_argument("--repeat", type=int, default=1, help="runs per size; fastest kept")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per run")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    ap.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        kind, *rest = args.worker
        result = (worker_planner(Path(rest[0]), Path(rest[1]), Path(rest[2]))
                  if kind == "planner" else worker_highs(Path(rest[0])))
        print(json.dumps(result))
        return 0

    info = machine()
    print(f"machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB; "
          f"Python {info['python']}, PuLP {info['pulp']}, highspy {info['highspy']}; "
          f"{info['date']}")
    results = []
    sizes = args.sizes or (LINKED_SIZES if args.linked else DEFAULT_SIZES)
    for size in (parse_size(s) for s in sizes.split(",") if s.strip()):
        r = measure(size, args.workdir, args.repeat, args.timeout, args.seed, args.linked)
        results.append(r)
        print_size(r)
        sys.stdout.flush()
        if args.json:  # after every size, so a long run leaves partial results
            args.json.write_text(json.dumps({"machine": info, "results": results}, indent=1))
    print_summary(results)
    bad = [r for r in results if r["status"] != "optimal" or r["objective_gap"] is None
           or r["objective_gap"] > 1e-6]
    if bad:
        print(f"\nNOT OPTIMAL or objective differs from HiGHS alone: "
              f"{', '.join(instance(r['size'], r['linked']) for r in bad)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
