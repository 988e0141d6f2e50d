"""The stress test's speed: (1) 10,000 sampled outcomes x 2 policies of the shipped example
(its Risks sheet, sampling forced with max_outcomes = 1) against one plain `planner run
--scenario base` of it, side by side, fresh processes, fastest of `--repeat`; (2) outcomes
per second of the engine at 1 worker (this process), 2 and 4 local workers, and on a
cluster of two workers started as separate processes (`dask scheduler`, `dask worker`), on
the example with one extra event per supplier (an outage: capacity halved, probability
0.1) so that nearly every sample is a distinct outcome to solve.

    python bench/stress.py --repeat 3
"""
from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from generate import write_workbook  # noqa: E402

from planner import api  # noqa: E402

EXAMPLE = ROOT / "inputs" / "example.xlsx"
BIN = Path(sys.executable).parent


def _rows(frame) -> list[dict]:
    return [{k: (None if v != v else v) for k, v in row.items()}  # NaN -> blank
            for row in frame.to_dict("records")]


def example_variant(path: Path, outages: bool) -> Path:
    """The example with sampling forced (max_outcomes 1) and, with `outages`, an outage
    event per supplier."""
    tables = {name: _rows(frame) for name, frame in api.read(EXAMPLE).items()}
    tables["Settings"] = [r for r in tables["Settings"] if r["setting"] != "max_outcomes"] \
        + [{"setting": "max_outcomes", "value": 1}]
    if outages:
        suppliers = sorted({r["supplier"] for r in tables["Suppliers"]})
        tables["Scenarios"] += [{"scenario": f"{s} outage", "sheet": "Suppliers",
                                 "where": f"supplier={s}", "column": "capacity_t",
                                 "action": "multiply", "value": 0.5} for s in suppliers]
        tables["Risks"] += [{"event": f"{s} outage", "probability": 0.1} for s in suppliers]
    return write_workbook(path, tables)


def timed(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def outcomes_per_second(workbook: Path, samples: int, workers: int | None = None,
                        scheduler: str | None = None) -> tuple[float, int]:
    """(distinct outcomes solved per second, their number), both policies each; the
    contract book's plan is solved first and not counted."""
    inputs = api.load(workbook)
    marks = []
    api.stress(inputs, samples=samples, seed=0, workers=workers, scheduler=scheduler,
               progress=lambda done, total: marks.append((time.perf_counter(), done)))
    (t0, d0), (t1, d1) = marks[0], marks[-1]
    return (d1 - d0) / (t1 - t0), d1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--samples", type=int, default=600,
                    help="samples of the outage workbook per throughput measurement")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sampled = example_variant(folder / "sampled.xlsx", outages=False)
        plain = min(timed([str(BIN / "planner"), "run", str(EXAMPLE), "--scenario", "base",
                           "-o", str(folder / "plan.xlsx"), "--quiet"])
                    for _ in range(args.repeat))
        stress = min(timed([str(BIN / "planner"), "stress", str(sampled), "--samples",
                            "10000", "-o", str(folder / "stress.xlsx"), "--quiet"])
                     for _ in range(args.repeat))
        print(f"| `planner run --scenario base` | `planner stress`, 10,000 samples x 2 "
              f"policies | ratio |\n|---|---|---|\n| {plain:.2f} s | {stress:.2f} s | "
              f"{stress / plain:.1f}x |\n", flush=True)

        outages = example_variant(folder / "outages.xlsx", outages=True)
        print("| engine | distinct outcomes | outcomes / s (x 2 policies) |\n|---|---|---|",
              flush=True)
        for label, workers in (("this process (--workers 1)", 1),
                               ("local cluster, 2 workers", 2),
                               ("local cluster, 4 workers", 4)):
            rate, n = outcomes_per_second(outages, args.samples, workers=workers)
            print(f"| {label} | {n:,} | {rate:.1f} |", flush=True)
        port = free_port()
        address = f"tcp://127.0.0.1:{port}"
        procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1",
                                   "--port", str(port), "--no-dashboard"], cwd=tmp,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        try:
            time.sleep(3)
            procs.append(subprocess.Popen([str(BIN / "dask"), "worker", address,
                                           "--nworkers", "2", "--nthreads", "1",
                                           "--no-dashboard"], cwd=tmp,
                                          stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
            time.sleep(5)
            rate, n = outcomes_per_second(outages, args.samples, scheduler=address)
            print(f"| separate processes: `dask scheduler` + `dask worker --nworkers 2` | "
                  f"{n:,} | {rate:.1f} |", flush=True)
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=30)


if __name__ == "__main__":
    main()
