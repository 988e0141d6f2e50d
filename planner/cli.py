"""Command line: a thin layer over the library; library errors become messages and
exit statuses (README.md): 0 all optimal, 1 invalid input, 2 usage, 3 some scenario
not optimal, 4 the plan could not be written or an internal error."""
from __future__ import annotations

import math
import os
import re
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import click
import pandas as pd

from . import __version__, api
from .errors import WARNING, InputError, OutputError, Problem
from .output import check_output, write_plan
from .plan import options_for
from .rule_costs import RULE_COSTS
from .sheets import FRONTIER, INDEX, MONEY, PRICE, SHARE, TONNES
from .solve import SOLVERS
from .supervise import INTERRUPTED, supervised
from .terminal import end_line, progress_line

EXIT_OK, EXIT_INPUT, EXIT_USAGE, EXIT_NOT_OPTIMAL, EXIT_INTERNAL = 0, 1, 2, 3, 4
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def say(text: object = "", err: bool = False) -> None:
    """Print a line. Control characters from the workbook (an escape sequence in a name
    would clear the screen) are shown escaped; a reader that stopped reading (`| head`)
    changes nothing: the rest of the output is dropped, the work and exit status stand."""
    line = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))
    try:
        click.echo(line, err=err)
    except BrokenPipeError:
        stream = sys.stderr if err else sys.stdout
        try:  # later writes, and the flush at exit, go nowhere instead of failing
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass


def _say_err(text: str) -> None:
    say(text, err=True)


def _print_problems(problems: list[Problem]) -> None:
    errors = [p for p in problems if p.severity != WARNING]
    warnings = [p for p in problems if p.severity == WARNING]
    for title, group in (("Errors", errors), ("Warnings", warnings)):
        if group:
            say(f"{title} ({len(group)}):", err=True)
            for p in group:
                say(f"  {p}", err=True)
    if errors:
        say(f"{len(errors)} error(s), {len(warnings)} warning(s): fix the errors "
            f"and run again.", err=True)


def _print_rule_costs(result, top: int = 5) -> None:
    """The rules that cost something in each scenario, costliest first: what the whole rule
    costs (cost_of_rule: the plan solved without it) and, at the margin, the shadow price of
    its most expensive binding instance."""
    currency = result.inputs.settings.currency
    for report in result.reports:
        limits = report.tables.get("Limits")
        if limits is None or limits.empty:
            continue
        price = limits["shadow_price"].abs()
        whole = pd.to_numeric(limits.get("cost_of_rule", pd.Series(dtype=float)),
                              errors="coerce").reindex(limits.index)
        costly = limits[(limits["binds"].eq(True) & (price > 0)) | (whole > 0)]
        free = int((limits["binds"].eq(True) & (price == 0) & ~(whole > 0)).sum())
        if costly.empty:
            continue
        by_rule = costly.assign(_price=price, _whole=whole.fillna(-1.0)).sort_values(
            ["_whole", "_price"], ascending=False, kind="stable").drop_duplicates("rule")
        say(f"rules in {report.name}, costliest first (in total: what the plan saves "
            f"without the rule; at the margin: what loosening its bound saves, per t or per "
            f"percentage point of a share):")
        for row in by_rule.head(top).to_dict("records"):
            scope = ", ".join(str(row[k]) for k in ("material", "period", "customer", "member")
                              if pd.notna(row[k]))
            total = (f"{row['_whole']:,.0f} {currency} in total; " if row["_whole"] >= 0
                     else "")
            # a saving whatever the sense (a max rule's price is <= 0, a min rule's >= 0)
            margin = (f"{abs(row['shadow_price']) * 0.01:,.2f} {currency} per percentage "
                      f"point" if row["type"] == "limit"
                      else f"{abs(row['shadow_price']):,.2f} {currency}/t")
            say(f"  {row['rule']}: {total}{margin} at the margin [{scope}]")
        if len(by_rule) > top:
            say(f"  ... and {len(by_rule) - top} more in the Limits sheet")
        if free:
            say(f"  ({free} more rule instances at their bound at no cost)")


def _frontier_text(table: pd.DataFrame) -> str:
    """The frontier table for the terminal, by the kinds the Frontier sheet declares: caps
    and shares in %, money and tonnes with separators, the HHI whole."""
    def fmt(value, kind):
        if value is None or pd.isna(value):
            return "-"
        if kind == SHARE:
            return f"{100 * value:.2f}%"
        if kind in (MONEY, PRICE, TONNES):
            return f"{value:,.2f}"
        return f"{value:,.0f}" if kind == INDEX else str(value)

    def kind(name):
        column = FRONTIER.column(name)
        return column.kind if column is not None else None

    shown = pd.DataFrame({c: [fmt(v, kind(c)) for v in table[c]]
                          for c in table.columns if c != "scenario"})
    return shown.to_string(index=False)


def _output_path(input_path: Path, output: Path | None, what: str) -> Path:
    """-o, or outputs/<input stem>-<what>.xlsx; never the input itself, always .xlsx."""
    output = output or Path("outputs") / f"{input_path.stem}-{what}.xlsx"
    if input_path.exists() and output.exists() and output.resolve() == input_path.resolve():
        raise click.UsageError("the output path is the input workbook; choose another -o")
    if output.suffix.lower() != ".xlsx":
        raise click.UsageError(f"the {what} is an .xlsx workbook; -o {output} should end in "
                               f".xlsx")
    return output


class _Guard:
    """Turn library errors into messages and exit codes; tracebacks only with --debug."""

    def __init__(self, debug: bool):
        self.debug = debug

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if exc is None or isinstance(exc, (click.exceptions.Exit, click.ClickException,
                                           click.exceptions.Abort, SystemExit)):
            return False
        if INTERRUPTED.is_set():  # the work unwinding after a signal: nothing to report
            return True
        if isinstance(exc, InputError):
            _print_problems(exc.problems)
            code = EXIT_INPUT
        elif isinstance(exc, OutputError):
            say(f"error: {exc}", err=True)
            code = EXIT_INTERNAL
        else:
            say(f"internal error: {type(exc).__name__}: {exc}. Run again with --debug "
                f"and report the traceback.", err=True)
            code = EXIT_INTERNAL
        if self.debug:
            traceback.print_exception(kind, exc, tb, file=sys.stderr)
        sys.exit(code)


def _guarded(debug: bool, work: Callable[[], None]) -> None:
    """`work` under the error guard, on a thread that SIGINT and SIGTERM can stop at once
    (planner/supervise.py)."""
    def guarded():
        with _Guard(debug):
            work()

    supervised(guarded, _say_err)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="planner")
def main():
    """Plan least-cost, diversified critical-minerals sourcing from an Excel workbook.

    \b
    Example:
      planner run inputs/example.xlsx          # writes outputs/example-plan.xlsx
      planner validate inputs/example.xlsx
    """


def entry() -> None:
    """The `planner` command: `main`, then a hard exit once its output is flushed. By then
    the plan is written and closed, worker processes have ended and the run's temporary
    folder is gone; the interpreter's own exit would only free every object and module one
    by one (0.2-0.3 s after a plan, bench/RESULTS.md "Small models"), so it is skipped, as
    mypy does."""
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code
    if code is None:
        code = 0
    elif not isinstance(code, int):  # as Python's own exit shows sys.exit("message")
        say(code, err=True)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that stopped reading: nothing to flush to
            pass
    os._exit(code)


@main.command(short_help="Solve base and every scenario; write the plan workbook.")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Plan workbook to write [default: outputs/<input stem>-plan.xlsx].")
@click.option("--solver", type=click.Choice(SOLVERS), default=None,
              help="LP solver [default: Settings sheet, else highs].")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None,
              metavar="S", help="Stop each solve after S seconds: the scenario then reports "
                                "time_limit, with the best plan found where it has options "
                                "(and its gap), else without a plan.")
@click.option("--scenario", "scenarios", multiple=True, metavar="NAME",
              help="Solve only this scenario (repeatable) [default: base and every scenario "
                   "in the workbook].")
@click.option("--jobs", type=click.IntRange(min=1), default=None, metavar="N",
              help="Scenarios solved in parallel [default: one after another while they "
                   "are quick, then one per CPU].")
@click.option("--best-effort", is_flag=True,
              help="When a scenario cannot meet every rule and demand, still write its "
                   "least-bad plan (fewest tonnes of violation, then least cost) and list what "
                   "it breaks in Diagnosis.")
@click.option("--relax-first", type=click.Choice(("demand", "rules")), default="demand",
              show_default=True,
              help="What a diagnosis gives up first: unmet demand (rules hold) or rules "
                   "(demand is met).")
@click.option("--rule-costs", type=click.Choice(RULE_COSTS), default="binding",
              show_default=True,
              help="Which rules' total cost (cost_of_rule: the plan solved again without the "
                   "rule) to find: those with a nonzero shadow price (the others cost exactly "
                   "nothing), every rule, or none (large models).")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
@click.option("--verbose", is_flag=True, help="Show the solver's log.")
@click.option("--debug", is_flag=True, help="Show tracebacks (for bug reports).")
def run(input_path: Path, output: Path | None, solver, time_limit, scenarios, jobs,
        best_effort, relax_first, rule_costs, quiet, verbose, debug):
    """Solve INPUT (base and every scenario) and write the plan workbook.

    \b
    Example:
      planner run inputs/example.xlsx -o outputs/plan.xlsx --scenario base \\
          --scenario cn-ree-embargo
    """
    output = _output_path(input_path, output, "plan")

    def work():
        check_output(output)  # before the work of solving, not only at the end
        inputs = api.load(input_path)
        if not quiet:
            _print_problems(inputs.warnings)
        known = {n.lower(): n for n in inputs.scenarios}
        unknown = [n for n in scenarios if n.lower() not in known]
        if unknown:
            raise click.UsageError(f"no scenario named {', '.join(map(repr, unknown))}; the "
                                   f"workbook has: {', '.join(inputs.scenarios)}")
        chosen = list(dict.fromkeys(known[n.lower()] for n in scenarios)) or None
        currency = inputs.settings.currency

        def progress(report, info):
            if not quiet:
                cost = report.costs.get("total_cost")
                say(f"{report.name:<16} {report.status:<11} "
                    + (f"total cost {cost:,.2f} {currency}" if cost is not None
                       else report.message)
                    + f"  ({info.get('seconds', 0):.2f} s)")

        tables = api.plan(inputs, chosen, solver=solver, time_limit=time_limit, jobs=jobs,
                          best_effort=best_effort, relax_first=relax_first,
                          rule_costs=rule_costs, verbose=verbose, progress=progress,
                          mip_progress=not quiet)
        api.write(tables, output)
        result = tables.result
        if not quiet:
            _print_rule_costs(result)
            say(f"plan written to {output}")
        if not result.all_optimal:
            for report in result.reports:
                if report.status != "optimal":
                    say(f"scenario {report.name}: {report.status}: {report.message}",
                        err=True)
                    diagnosis = report.tables.get("Diagnosis")
                    for line in ([] if diagnosis is None else diagnosis["explanation"]):
                        say(f"  - {line}", err=True)
            sys.exit(EXIT_NOT_OPTIMAL)

    _guarded(debug, work)


@main.command(short_help="Check a workbook and list every problem, without solving.")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("--debug", is_flag=True, help="Show tracebacks (for bug reports).")
def validate(input_path: Path, debug):
    """Check INPUT and list every problem, without solving.

    \b
    Example:
      planner validate inputs/example.xlsx
    """
    def work():
        inputs = api.load(input_path)
        _print_problems(inputs.warnings)
        say(f"{input_path}: no errors, {len(inputs.warnings)} warning(s).")

    _guarded(debug, work)


@main.command(short_help="Write an empty input workbook with instructions.")
@click.argument("output", type=click.Path(path_type=Path))
@click.option("--debug", is_flag=True, help="Show tracebacks (for bug reports).")
def template(output: Path, debug):
    """Write an empty input workbook with instructions and example rows on each sheet.

    \b
    Example:
      planner template inputs/my-case.xlsx
    """
    from .template import write_template

    if output.suffix.lower() != ".xlsx":
        raise click.UsageError(f"the template is an .xlsx workbook; {output} should end in .xlsx")
    def work():
        write_template(output)
        say(f"template written to {output}")

    _guarded(debug, work)


@main.command(short_help="Cost of diversification: sweep a max-share cap loose to tight.")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("--material", required=True, help="The material whose stage share is capped.")
@click.option("--stage", type=click.Choice(("supply", "processing", "delivery", "origin")),
              default="processing", show_default=True,
              help="Where the share is counted: sold by suppliers, shipped out of sites, "
                   "received by customers (by shipping country), or received by customers "
                   "by the country where it was mined (origin).")
@click.option("--by", type=click.Choice(("country", "group", "node")), default="country",
              show_default=True, help="What --member names.")
@click.option("--member", "members", multiple=True, metavar="ID",
              help="Cap this member (repeatable: their combined share) [default: each member "
                   "separately].")
@click.option("--period", default=None,
              help="A period label, or all for the horizon [default: each period].")
@click.option("--from", "start", type=click.FloatRange(0, 1), default=1.0, show_default=True,
              help="Loosest cap.")
@click.option("--to", "stop", type=click.FloatRange(0, 1), default=0.3, show_default=True,
              help="Tightest cap.")
@click.option("--steps", type=click.IntRange(min=2), default=15, show_default=True,
              help="Caps solved from --from to --to, evenly spaced (the tightest that holds is "
                   "then found by bisection).")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Workbook to write [default: outputs/<input stem>-frontier.xlsx].")
@click.option("--solver", type=click.Choice(SOLVERS), default=None,
              help="LP solver [default: Settings sheet, else highs].")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None,
              metavar="S", help="Stop each solve after S seconds.")
@click.option("--jobs", type=click.IntRange(min=1), default=None, metavar="N",
              help="Caps solved in parallel [default: one after another while quick, then "
                   "one per CPU].")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
@click.option("--debug", is_flag=True, help="Show tracebacks (for bug reports).")
def frontier(input_path: Path, material, stage, by, members, period, start, stop, steps,
             output, solver, time_limit, jobs, quiet, debug):
    """Cost of diversification: sweep a max-share cap from loose to tight.

    \b
    Example:
      planner frontier inputs/example.xlsx --material "NdPr oxide" --stage processing \\
          --by country --member CN --from 1.0 --to 0.3 --steps 15
    """
    from .frontier import FrontierError, Sweep, frontier as sweep_frontier, frontier_sheets
    from .frontier import unsolved, verdict as frontier_verdict

    output = _output_path(input_path, output, "frontier")

    def work():
        check_output(output)
        inputs = api.load(input_path)
        sweep = Sweep(material, stage, by, tuple(members), period, start, stop, steps)
        try:
            result = sweep_frontier(inputs, sweep, options_for(inputs, solver, time_limit),
                                    jobs)
        except FrontierError as exc:
            raise click.UsageError(str(exc)) from exc
        write_plan(output, frontier_sheets(inputs, result), inputs.settings.currency)
        if not quiet:
            say(_frontier_text(result.table))
            say(frontier_verdict(result))
            say(f"frontier written to {output}")
        statuses = result.table["status"]
        # A point neither proved optimal nor infeasible, or no plan at any cap (the loosest
        # too): not the answer a frontier is for.
        if unsolved(result.table).any() or (statuses == "infeasible").all():
            sys.exit(EXIT_NOT_OPTIMAL)

    _guarded(debug, work)


def _one_cluster(scheduler: str | None, workers: int | None) -> None:
    if scheduler is not None and workers is not None:
        raise click.UsageError("--workers sizes a local cluster; with --scheduler the "
                               "cluster's own workers solve the outcomes")


def _checked_inputs(input_path: Path, output: Path, quiet: bool):
    """The input of a risk run, loaded and checked, once the output is known to be
    writable; its warnings printed unless `quiet` (not the one about demand without a
    price on unmet tonnes, which the run refuses as an error)."""
    from .risk import unpriced_demand

    check_output(output)
    inputs = api.load(input_path)
    refused = unpriced_demand(inputs)
    if not quiet:
        _print_problems([w for w in inputs.warnings
                         if refused is None or w.message != refused.message])
    return inputs


def _cluster_options(command):
    """The options the risk commands share: where outcomes are solved, and how to report."""
    for option in reversed((
            click.option("--scheduler", default=None, metavar="ADDRESS",
                         help="A Dask scheduler (tcp://host:port) whose workers solve the "
                              "outcomes [default: a local cluster, or this process when "
                              "outcomes are few]."),
            click.option("--workers", type=click.IntRange(min=1), default=None, metavar="N",
                         help="Processes of the local cluster [default: one per CPU; 1 = "
                              "solve in this process]."),
            click.option("--solver", type=click.Choice(SOLVERS), default=None,
                         help="LP solver [default: Settings sheet, else highs]."),
            click.option("--quiet", is_flag=True, help="Print nothing but errors."),
            click.option("--debug", is_flag=True, help="Show tracebacks (for bug reports).")
    )):
        command = option(command)
    return command


@main.command(short_help="Stress-test a plan against the Risks sheet's disruption events.")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Workbook to write [default: outputs/<input stem>-stress.xlsx].")
@click.option("--plan", "plan_name", default="base", show_default=True, metavar="SCENARIO",
              help="The scenario whose plan's contract book (its supplier purchases) is "
                   "stressed.")
@click.option("--samples", type=click.IntRange(1, 1_000_000), default=2000, show_default=True,
              metavar="N", help="Outcomes drawn when there are more than Settings "
                                "max_outcomes (default 1024); fewer are all solved.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the draws: the same seed gives the same outcomes and numbers.")
@_cluster_options
def stress(input_path: Path, output: Path | None, plan_name, samples, seed, scheduler, workers,
           solver, quiet, debug):
    """Stress-test the plan of SCENARIO against the disruption events of the Risks sheet:
    every outcome (or a sample of them) solved with the plan's contract book fixed
    (committed) and re-planned knowing the outcome (replan).

    \b
    Example:
      planner stress inputs/example.xlsx --samples 5000 --seed 1
      planner stress inputs/example.xlsx --scheduler tcp://10.0.0.5:8786
    """
    from .cluster import ClusterError
    from .stress import StressError

    _one_cluster(scheduler, workers)
    output = _output_path(input_path, output, "stress")

    def work():
        inputs = _checked_inputs(input_path, output, quiet)
        meter = _Progress(quiet)
        try:
            tables = api.stress(inputs, plan_name, samples, seed, scheduler, workers,
                                solver=solver, progress=meter)
        except (StressError, ClusterError) as exc:
            raise click.UsageError(str(exc)) from exc
        meter.end()
        api.write(tables, output)
        if not quiet:
            say(_risk_text(tables, inputs.settings.currency))
            say(f"stress test written to {output}")
        if not tables.all_optimal:
            failed = tables["Stress"][tables["Stress"]["status"] != "optimal"]
            say(f"{failed['outcome'].nunique()} outcome(s) could not be solved under some "
                f"policy (status in the Stress sheet); the statistics are over the others",
                err=True)
            # Why, for the first outcomes that could not even be built (a line each).
            result = tables.result
            why = {result.outcomes.label(r.outcome): r.message for r in result.results
                   if r.status == "error"}
            for events, message in list(why.items())[:3]:
                say(f"  {events}: {message}", err=True)
            sys.exit(EXIT_NOT_OPTIMAL)

    _guarded(debug, work)


@main.command(short_help="Choose the contract book against the Risks sheet's disruption "
                         "events.")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Workbook to write [default: outputs/<input stem>-hedge.xlsx].")
@click.option("--samples", type=click.IntRange(1, 1_000_000), default=200, show_default=True,
              metavar="N", help="Outcomes drawn when there are more than Settings "
                                "max_outcomes (default 1024); fewer are all used.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the draws: the same seed gives the same outcomes and numbers.")
@click.option("--risk-weight", "risk_weights", multiple=True, metavar="λ",
              help="Weight of CVaR in the objective (0: risk neutral). Give several to "
                   "sweep, repeated or comma-separated: --risk-weight 0,0.5,1,2; the "
                   "Contracts and Hedge sheets are for the first.  [default: 0]")
@click.option("--cvar-level", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=0.95, show_default=True, metavar="α",
              help="CVaR level: the mean cost of the worst 1 - α of outcomes.")
@click.option("--evaluate", type=click.IntRange(2, 1_000_000), default=2000,
              show_default=True, metavar="M",
              help="Fresh samples both books are evaluated on when outcomes are sampled.")
@_cluster_options
def hedge(input_path: Path, output: Path | None, samples, seed, risk_weights, cvar_level,
          evaluate, scheduler, workers, solver, quiet, debug):
    """Choose how much to contract with each supplier against the disruption events of
    the Risks sheet (a two-stage stochastic LP), and compare the hedged book with the base
    plan's (EEV) and with perfect information (WS).

    \b
    Example:
      planner hedge inputs/example.xlsx
      planner hedge inputs/example.xlsx --risk-weight 0,0.5,1,2
    """
    from .cluster import ClusterError
    from .hedge import HedgeError

    _one_cluster(scheduler, workers)
    weights = _risk_weights(risk_weights)
    output = _output_path(input_path, output, "hedge")

    def work():
        inputs = _checked_inputs(input_path, output, quiet)
        meter = _Progress(quiet)
        try:
            tables = api.hedge(inputs, samples, seed, weights, cvar_level, evaluate,
                               scheduler, workers, solver=solver,
                               progress=lambda phase, done, total: meter(done, total, phase))
        except (HedgeError, ClusterError) as exc:
            raise click.UsageError(str(exc)) from exc
        meter.end()
        api.write(tables, output)
        if not quiet:
            say(_hedge_text(tables, inputs.settings.currency))
            say(f"hedge written to {output}")
        if not tables.all_optimal:
            say("some outcome could not be solved for some plan (costs blank in the Outcomes "
                "sheet); the statistics are over the others", err=True)
            sys.exit(EXIT_NOT_OPTIMAL)

    _guarded(debug, work)


def _risk_weights(given: tuple[str, ...]) -> tuple[float, ...]:
    """--risk-weight values, repeated or comma-separated, in the order given."""
    weights = []
    for text in given:
        for part in text.split(","):
            try:
                value = float(part)
            except ValueError:
                raise click.BadParameter(f"{part.strip()!r} is not a number",
                                         param_hint="--risk-weight") from None
            if not 0 <= value < math.inf:
                raise click.BadParameter(f"{value:g}: a risk weight is 0 or more",
                                         param_hint="--risk-weight")
            weights.append(value)
    return tuple(weights) or (0.0,)


def _hedge_text(tables, currency: str) -> str:
    """The Hedge table, the one-sentence verdict, the options each book takes, the
    fresh-sample intervals and the sweep."""
    rows = {r["plan"]: r for r in tables["Hedge"].to_dict("records")}
    lines = [f"{'plan':<6} {'expected':>16} {'std':>14} {'VaR 95':>16} {'CVaR 95':>16} "
             f"{'unmet t':>10}   ({currency})"]
    for name in ("EEV", "RP", "WS"):
        r = rows[name]
        lines.append(f"{name:<6} {r['expected_cost']:>16,.0f} {r['std_cost']:>14,.0f} "
                     f"{r['var_95']:>16,.0f} {r['cvar_95']:>16,.0f} "
                     f"{r['expected_unmet_t']:>10,.1f}")
    for name in ("VSS", "EVPI"):
        lines.append(f"{name:<6} {rows[name]['expected_cost']:>16,.0f}")
    lines.append(hedge_verdict(rows, currency))
    if "Options taken" in tables:
        options = tables["Options taken"]
        for book, column in (("the hedged book", "hedged"), ("the base plan", "base")):
            taken = options.loc[options[column].eq(True), "option"]
            lines.append(f"options {book} takes: {', '.join(taken) if len(taken) else 'none'}")
    if "Evaluation" in tables:
        for r in tables["Evaluation"].to_dict("records"):
            lines.append(f"on {r['samples']:,} fresh samples, {r['plan']}: "
                         f"{r['expected_cost']:,.0f} (95% CI {r['ci_low']:,.0f} to "
                         f"{r['ci_high']:,.0f}; in sample {r['in_sample_cost']:,.0f})")
    if "Risk weights" in tables:
        lines.append(f"{'weight':>8} {'expected':>16} {'CVaR':>16}")
        for r in tables["Risk weights"].to_dict("records"):
            lines.append(f"{r['risk_weight']:>8g} {r['expected_cost']:>16,.0f} "
                         f"{r['cvar_alpha']:>16,.0f}")
    return "\n".join(lines)


def hedge_verdict(rows: dict[str, dict], currency: str) -> str:
    """"hedging costs X more in a normal year and saves Y on average (Z at the 95th
    percentile)", turned round where a figure goes the other way."""
    eev, rp = rows["EEV"], rows["RP"]
    normal = rp["normal_year_cost"] - eev["normal_year_cost"]
    saved, tail = rows["VSS"]["expected_cost"], eev["var_95"] - rp["var_95"]
    return (f"hedging costs {abs(normal):,.0f} {currency} {'more' if normal >= 0 else 'less'} "
            f"in a normal year and "
            + (f"saves {saved:,.0f} on average" if saved >= 0
               else f"costs {-saved:,.0f} more on average")
            + (f" ({tail:,.0f} at the 95th percentile)" if tail >= 0
               else f" (but costs {-tail:,.0f} more at the 95th percentile)"))


class _Progress:
    """Work done / total, rate and time left, on one line of the terminal (stderr),
    at most once a second once the run has taken SHOW_AFTER_S; nothing with --quiet."""

    SHOW_AFTER_S = 2.0

    def __init__(self, quiet: bool):
        self.quiet, self.start, self.last = quiet, time.perf_counter(), 0.0
        self.what, self.phase_start, self.seen = "outcomes", self.start, self.start

    def __call__(self, done: int, total: int, what: str = "outcomes") -> None:
        now = time.perf_counter()
        if what != self.what:  # a new phase: its own rate, from the end of the last one
            self.what, self.phase_start, self.last = what, self.seen, 0.0
        self.seen = now
        if self.quiet or now - self.start < self.SHOW_AFTER_S or \
                (now - self.last < 1.0 and done < total):
            return
        self.last = now
        spent = now - self.phase_start
        rate = done / spent if spent > 0 else 0.0
        left = (total - done) / rate if rate > 0 else 0.0
        line = (f"{what} {done:,}/{total:,}  {rate:,.1f}/s  {left:,.0f} s left" if total > 1
                else f"{what}{' ...' if done < total else ', done'}")
        progress_line(f"{line:<70}")

    def end(self) -> None:
        end_line()


def _risk_text(tables, currency: str) -> str:
    """The Risk table's headline figures per policy, and the three events that matter most
    (by their effect on the committed plan's expected cost)."""
    risk = tables["Risk"]
    lines = [f"{'policy':<10} {'expected':>16} {'VaR 95':>16} {'CVaR 95':>16} {'P(unmet)':>9}"]
    for row in risk.to_dict("records"):
        lines.append(f"{row['policy']:<10} {row['expected_cost']:>16,.0f} "
                     f"{row['var_95']:>16,.0f} {row['cvar_95']:>16,.0f} "
                     f"{100 * row['p_unmet']:>8.1f}%")
    lines[0] += f"   ({currency})"
    events = tables["Events"]
    top = events[events["policy"] == "committed"].head(3)
    if len(top):
        lines.append("events that matter most (committed plan, expected cost when it "
                     "happens less when it does not):")
        for row in top.to_dict("records"):
            unmet = row["unmet_t_effect"]
            lines.append(f"  {row['event']} (p = {row['probability']:.3g}): "
                         + (f"{row['cost_effect']:+,.0f} {currency}" if pd.notna(
                             row["cost_effect"]) else "always happens")
                         + (f", {unmet:+,.1f} t unmet" if pd.notna(unmet) and unmet else ""))
    return "\n".join(lines)
