"""Small models: what each scenario costs beyond the solver's own run, and `planner run` on
the example end to end against importing the package plus HiGHS's time.

Per scenario (milliseconds, the mean over every scenario of the workbook, fastest of
`--repeat` passes): network (`build_network`), model (`build_model`; both sharing base's
where a scenario changes only rules, as `planner run` does), hand-over (the LP to
HiGHS), HiGHS run, read-back, rule costs (relaxing each binding rule on the same
instances, HiGHS runs included), report (`scenario_report`); "beyond the solver" is
everything but the HiGHS runs. End to end: a fresh `planner run` process (wall seconds),
a fresh process importing what `planner run` imports, and the seconds of every HiGHS run
that `planner run` makes (scenarios and rule costs, measured in the per-scenario pass).

    python bench/small.py --repeat 3
"""
from __future__ import annotations

import argparse
import compileall
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402

from planner import api  # noqa: E402
from planner.model import build_model  # noqa: E402
from planner.network import build_network  # noqa: E402
from planner.report import scenario_report  # noqa: E402
from planner.rule_costs import rule_costs  # noqa: E402
from planner.scenarios import scenario_inputs  # noqa: E402
from planner.solve import SolveOptions, SolveRun  # noqa: E402

PHASES = ["network", "model", "hand-over", "HiGHS run", "read-back", "rule costs", "report"]
PLANNER = str(Path(sys.executable).with_name("planner"))


def per_scenario(workbook: Path, repeat: int) -> tuple[dict[str, float], int, int]:
    """Mean milliseconds per scenario and phase (fastest pass), variables of base, and
    the number of scenarios."""
    inputs = api.load(workbook)
    best: dict[str, float] = {}
    variables = 0
    for _ in range(repeat):
        spent = dict.fromkeys(PHASES + ["rule costs: HiGHS"], 0.0)

        def timed(phase, step):
            start = time.perf_counter()
            result = step()
            spent[phase] += time.perf_counter() - start
            return result

        base = None  # as `planner run`: later scenarios share what they can of base's model
        for name in inputs.scenarios:
            data = scenario_inputs(inputs, name)
            network = timed("network", lambda: build_network(data, name,
                                                             base and base.network))
            sm = timed("model", lambda: build_model(network, base))
            base = base or sm
            variables = variables or sm.lp.n_cols
            run = SolveRun(sm.lp, SolveOptions(threads=1))
            timed("hand-over", run.hand_over)
            timed("HiGHS run", run.run)
            solution = timed("read-back", run.read_back)
            if not solution.ok:
                raise SystemExit(f"{workbook.name}: {name} is {solution.status.value}")
            before = run.seconds.get("run", 0.0)
            timed("rule costs", lambda: rule_costs(sm, solution, run, "binding"))
            spent["rule costs: HiGHS"] += run.seconds.get("run", 0.0) - before
            timed("report", lambda: scenario_report(name, sm, solution))
        n = len(inputs.scenarios)
        means = {k: v / n * 1000 for k, v in spent.items()}
        means["beyond the solver"] = sum(means[p] for p in PHASES) - means["HiGHS run"] \
            - means["rule costs: HiGHS"]
        if not best or means["beyond the solver"] < best["beyond the solver"]:
            best = means
    return best, variables, len(inputs.scenarios)


def library_share(workbook: Path, target: Path, repeat: int) -> tuple[float, float]:
    """(seconds of writing the example's plan, seconds of it spent inside XlsxWriter: its
    cell calls and its close), fastest of `repeat`: what no change to our writer can save."""
    import xlsxwriter
    from xlsxwriter.worksheet import Worksheet

    tables = api.plan(api.load(workbook))
    inside = [0.0]

    def timed(method):
        def call(*args, **kwargs):
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                inside[0] += time.perf_counter() - start
        return call

    patched = [(Worksheet, n) for n in ("write", "write_number", "write_string",
                                        "write_boolean", "write_blank", "merge_range")]
    patched.append((xlsxwriter.Workbook, "close"))
    saved = [getattr(owner, n) for owner, n in patched]
    best = (float("inf"), 0.0)
    try:
        for (owner, n), method in zip(patched, saved):
            setattr(owner, n, timed(method))
        for _ in range(repeat):
            inside[0] = 0.0
            start = time.perf_counter()
            api.write(tables, target)
            best = min(best, (time.perf_counter() - start, inside[0]))
    finally:
        for (owner, n), method in zip(patched, saved):
            setattr(owner, n, method)
    return best


# The phases of `planner run` inside one fresh process, through the library it calls.
PHASES_SCRIPT = """
import sys, time
start = time.perf_counter()
import planner.cli
from planner import api
marks = [time.perf_counter()]
inputs = api.load(sys.argv[1]); marks.append(time.perf_counter())
tables = api.plan(inputs); marks.append(time.perf_counter())
api.write(tables, sys.argv[2]); marks.append(time.perf_counter())
print(*(b - a for a, b in zip([start] + marks, marks)))
"""
INSIDE = ["import", "read and check", "solve and report", "write the plan"]


def end_to_end(workbook: Path, repeat: int, folder: Path
               ) -> tuple[float, float, dict[str, float]]:
    """(planner run wall s, import wall s, seconds per phase inside a fresh process), each
    the fastest of `repeat`, the three measured in turn."""
    runs, imports, inside = [], [], []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([PLANNER, "run", str(workbook), "-o", str(folder / "plan.xlsx"),
                        "--quiet"], check=True)
        runs.append(time.perf_counter() - start)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import planner.cli"], check=True)
        imports.append(time.perf_counter() - start)
        out = subprocess.run([sys.executable, "-c", PHASES_SCRIPT, str(workbook),
                              str(folder / "phases.xlsx")], check=True, capture_output=True,
                             text=True).stdout
        inside.append([float(x) for x in out.split()])
    return min(runs), min(imports), dict(zip(INSIDE, np.min(inside, axis=0)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    # As an installed package has it: where PYTHONDONTWRITEBYTECODE is set, a module edited
    # since its bytecode was written would be compiled again in every fresh process, adding
    # the same ~0.15 s to the run and to the import it is compared with.
    compileall.compile_dir(ROOT / "planner", quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cases = {"example": ROOT / "inputs" / "example.xlsx"}
        # (the generator's smallest feasible world is about 2k variables)
        for flows in (1_500, 10_000):
            cases[f"generated {flows / 1000:g}k flows"] = generate(flows,
                                                                   folder / f"g{flows}.xlsx")
        print("| workbook | scenarios | variables | " + " | ".join(PHASES)
              + " | **beyond the solver** |")
        print("|---|---|---|" + "---|" * (len(PHASES) + 1))
        highs = 0.0
        for name, workbook in cases.items():
            ms, variables, scenarios = per_scenario(workbook, args.repeat)
            if name == "example":  # every HiGHS run of `planner run`, rule costs included
                highs = (ms["HiGHS run"] + ms["rule costs: HiGHS"]) * scenarios / 1000
            print(f"| {name} | {scenarios} | {variables:,} | "
                  + " | ".join(f"{ms[p]:.1f}" for p in PHASES)
                  + f" | **{ms['beyond the solver']:.1f}** |", flush=True)
        run, imported, inside = end_to_end(cases["example"], args.repeat, folder)
        print(f"\n`planner run inputs/example.xlsx`: {run:.2f} s; importing the package "
              f"{imported:.2f} s + HiGHS {highs:.2f} s = {imported + highs:.2f} s; "
              f"ratio {run / (imported + highs):.2f}x")
        print("inside a fresh process (fastest of each): "
              + ", ".join(f"{k} {v:.2f} s" for k, v in inside.items()))
        write, library = library_share(cases["example"], folder / "plan.xlsx", args.repeat)
        # With every scenario's work but HiGHS and all of our writer code at zero, the run
        # would still import, read and check, run HiGHS and do XlsxWriter's part.
        floor = imported + highs + inside["read and check"] + library
        print(f"writing the plan {write:.2f} s, of which inside XlsxWriter {library:.2f} s; "
              f"floor (import + HiGHS + read and check + XlsxWriter) {floor:.2f} s = "
              f"{floor / (imported + highs):.2f}x")


if __name__ == "__main__":
    main()
