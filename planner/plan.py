"""Plan a workbook end to end: validated inputs -> network -> model -> solve -> report.

A pure function of its inputs (`plan`), plus `plan_sheets` giving the tables of
the plan workbook; reading and writing files is left to the caller.
"""
from __future__ import annotations

import datetime as dt
import platform
import time
from dataclasses import dataclass
from importlib import metadata

import pandas as pd
import pulp

from . import __version__
from .model import build_model
from .network import build_network
from .report import (FLOW_COLUMNS, LIMIT_COLUMNS, MIX_COLUMNS, SUMMARY_COLUMNS, UNMET_COLUMNS,
                     UTILIZATION_COLUMNS, ScenarioReport, scenario_report)
from .solve import solve
from .validate import Inputs

BASE = "base"


@dataclass
class Plan:
    inputs: Inputs
    reports: list[ScenarioReport]
    run_info: list[dict]

    @property
    def all_optimal(self) -> bool:
        return all(r.status == "optimal" for r in self.reports)


def solve_scenario(name: str, inputs: Inputs, solver: str, time_limit: float | None,
                   verbose: bool = False) -> tuple[ScenarioReport, dict]:
    start = time.perf_counter()
    sm = build_model(build_network(inputs))
    network_s = time.perf_counter() - start
    solution = solve(sm.lp, solver, time_limit, verbose)
    start = time.perf_counter()
    report = scenario_report(name, sm, solution)
    info = {
        "scenario": name, "status": report.status, "message": report.message,
        "solver": solver, "time_limit_s": time_limit,
        "variables": sm.lp.n_cols, "constraints": sm.lp.n_rows,
        "nonzeros": int(sum(len(c) for c in sm.lp._cols)),
        "model_s": round(network_s + solution.seconds.get("build", 0.0), 3),
        "solve_s": round(solution.seconds.get("solve", 0.0), 3),
        "report_s": round(time.perf_counter() - start, 3),
    }
    return report, info


def plan(inputs: Inputs, solver: str | None = None, time_limit: float | None = None,
         verbose: bool = False) -> Plan:
    """Solve the base scenario. `solver`/`time_limit` default to the Settings sheet."""
    solver = solver or inputs.settings.solver or "highs"
    if time_limit is None:
        time_limit = inputs.settings.time_limit_s
    report, info = solve_scenario(BASE, inputs, solver, time_limit, verbose)
    return Plan(inputs, [report], [info])


def plan_sheets(result: Plan) -> dict[str, tuple[str, pd.DataFrame]]:
    """The plan workbook's sheets as (note, table), in order."""
    currency = result.inputs.settings.currency
    reports = result.reports

    def stacked(sheet: str, columns: list[str]) -> pd.DataFrame:
        parts = [r.tables[sheet] for r in reports if sheet in r.tables]
        parts = [p for p in parts if len(p)]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)

    summary = pd.DataFrame([r.summary_row() for r in reports], columns=SUMMARY_COLUMNS)
    summary["message"] = [r.message for r in reports]
    info = pd.DataFrame(result.run_info)
    info["input_file"] = result.inputs.path.name
    info["input_sha256"] = result.inputs.sha256
    info["planner_version"] = __version__
    info["pulp_version"] = pulp.__version__
    info["highspy_version"] = metadata.version("highspy")
    info["python"] = platform.python_version()
    info["created_utc"] = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    return {
        "Summary": (f"One row per scenario. Money in {currency}, quantities in t.", summary),
        "Flows": ("Tonnes shipped per period on each arc (flows above 1e-6 t). "
                  f"freight_cost and purchase_cost are totals in {currency}.",
                  stacked("Flows", FLOW_COLUMNS)),
        "Mix": ("Share of each country per stage (supply = sold by suppliers and released by "
                "stockpiles; processing = shipped out of sites; delivery = received by "
                "customers, by shipping country) and the stage's HHI (0-10,000).",
                stacked("Mix", MIX_COLUMNS)),
        "Limits": ("Every rule instance (Limits, Restrictions, lane caps). shadow_price = change "
                   f"in total cost ({currency}) per t added to the rule's right-hand side "
                   "(member tonnes for share rules, max_t for quotas and lanes): <= 0 for max "
                   "rules, >= 0 for min rules. value_of_1pt = cost saved if a share bound were "
                   "loosened by one percentage point, |shadow_price| x stage volume x 0.01 "
                   "(first-order estimate).", stacked("Limits", LIMIT_COLUMNS)),
        "Unmet": ("Demand left undelivered, t, and its penalty cost.",
                  stacked("Unmet", UNMET_COLUMNS)),
        "Utilization": ("Used versus capacity per period: supplier sales, site and process "
                        "input, stockpile end level, lane flow. Blank capacity = unlimited.",
                        stacked("Utilization", UTILIZATION_COLUMNS)),
        "Run info": ("Input, versions, model size and seconds per scenario.", info),
    }
