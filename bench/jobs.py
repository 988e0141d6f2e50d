"""Scenarios in parallel: `planner run` with --jobs 1, the default and --jobs 2, on the
shipped example (small scenarios) and a generated workbook with three scenarios that take
seconds each. Prints a Markdown table of the fastest of `--repeat` runs (wall seconds).

    python bench/jobs.py --repeat 3
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from generate import world, write_workbook  # noqa: E402

PLANNER = str(Path(sys.executable).with_name("planner"))
CHOICES = {"--jobs 1": ["--jobs", "1"], "default": [], "--jobs 2": ["--jobs", "2"]}


def generated(folder: Path, flows: int) -> Path:
    sheets = world(flows, seed=1)
    sheets["Scenarios"] = [
        {"scenario": "dear", "sheet": "Suppliers", "column": "unit_cost", "action": "multiply",
         "value": 1.1},
        {"scenario": "short", "sheet": "Demand", "column": "quantity_t", "action": "multiply",
         "value": 1.2}]
    return write_workbook(folder / f"scenarios-{flows // 1000}k.xlsx", sheets)


def timed(workbook: Path, args: list[str], out: Path) -> float:
    start = time.perf_counter()
    subprocess.run([PLANNER, "run", str(workbook), "-o", str(out), "--quiet", *args],
                   check=True)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--flows", type=int, default=150_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cases = {"example (9 scenarios)": ROOT / "inputs" / "example.xlsx",
                 f"generated {args.flows // 1000}k (3 scenarios)": generated(folder, args.flows)}
        print("| workbook | " + " | ".join(CHOICES) + " |")
        print("|---|" + "---|" * len(CHOICES))
        for name, workbook in cases.items():
            best = {c: min(timed(workbook, a, folder / "plan.xlsx") for _ in range(args.repeat))
                    for c, a in CHOICES.items()}
            print(f"| {name} | " + " | ".join(f"{best[c]:.1f} s" for c in CHOICES) + " |",
                  flush=True)


if __name__ == "__main__":
    main()
