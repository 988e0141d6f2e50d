"""Plain-language lines for the plan's Summary sheet, at most three short ones per scenario
(result, costliest rule, largest shares against base), and which sheets have nothing to
report.

Computed only from the plan's own tables (the Summary, Limits, Mix, Diagnosis and Run info
frames that `plan.plan_sheets` hands to the writer), so a line can never disagree with the
sheets. Pure functions of DataFrames: no openpyxl here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import report


@dataclass
class Headline:
    scenario: str
    status: str
    result: str = ""                 # status, cost against base, unmet (or why no plan)
    rule: str | None = None          # the costliest rule (None: no Limits table)
    shares: str | None = None        # largest shares against base (None: base, or no Mix)

    @property
    def lines(self) -> list[str]:
        return [line for line in (self.result, self.rule, self.shares) if line]


def _number(value: object) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def figures(*values: float, least: int = 2, most: int = 6) -> list[str]:
    """The values with thousands separators and one common number of decimals: at least
    `least`, more (up to `most`, the precision of the plan) until values that differ print
    differently and no nonzero value prints as zero. A shortfall of 0.001 t on 1,000,000 t
    reads 999,999.999 of 1,000,000.000, never 1,000,000.00 of 1,000,000.00."""
    keys = [round(float(v), most) for v in values]
    for decimals in range(least, most + 1):
        texts = [f"{v:,.{decimals}f}" for v in values]
        if len(set(texts)) == len(set(keys)) and all(
                k == 0 or float(t.replace(",", "")) != 0 for k, t in zip(keys, texts)):
            return texts
    return texts


def money(value: float, currency: str | None, decimals: int = 0,
          millions: bool = False) -> str:
    """An amount as the Summary shows it: whole units, or millions ("2,745.4 m USD"); an
    amount that would show as 0.0 m in whole units, and never a real amount as 0 (more
    decimals where fewer would)."""
    if millions and not 0 < abs(value) < 0.05e6:
        [text] = figures(value / 1e6, least=1)
        text += " m"
    else:
        [text] = figures(value, least=decimals)
    return f"{text} {currency}" if currency else text


def change(value: float, currency: str | None, millions: bool = False) -> str:
    """A change with its sign; one that shows as zero gets "+"."""
    shown = money(abs(value), currency, millions=millions)
    negative = value < 0 and shown != money(0.0, currency, millions=millions)
    return ("-" if negative else "+") + shown


def tonnes(value: float) -> str:
    return f"{figures(value, least=0 if abs(value) >= 10 else 1)[0]} t"


def _rows_of(frame: pd.DataFrame | None, scenario: str) -> pd.DataFrame:
    if frame is None or frame.empty or "scenario" not in frame.columns:
        return pd.DataFrame(columns=[] if frame is None else frame.columns)
    return frame[frame["scenario"].astype(str) == scenario]


def _by_scenario(frame: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    """`frame`'s rows of each scenario (named as text), split in one pass."""
    if frame is None or frame.empty or "scenario" not in frame.columns:
        return {}
    codes, names = pd.factorize(frame["scenario"].astype(str))
    return {name: frame.take(np.flatnonzero(codes == i)) for i, name in enumerate(names)}


def top_shares(mix: pd.DataFrame | None, scenario: str) -> pd.DataFrame:
    """Per (material, stage), over the whole horizon: the largest country and its share of
    the stage's tonnes. Columns material, stage, country, share, quantity_t; materials in
    first-seen order, stages supply, processing, delivery."""
    top = report.top_shares(_rows_of(mix, scenario))
    return top[["material", "stage", "country", "share", "quantity_t"]]


def costliest_binding_rule(rows: pd.DataFrame | None) -> tuple[dict, int] | None:
    """(the costliest rule's binding instance, how many of its instances bind) among one
    scenario's Limits rows, or None when no rule instance binds. Costliest by
    `cost_of_rule` (the whole rule, solved without it) where the Limits table has it, else
    by |shadow_price| (the marginal view); the instance shown is the rule's binding one
    with the largest |shadow_price|."""
    if rows is None or rows.empty or not {"binds", "shadow_price"} <= set(rows.columns):
        return None
    binding = np.flatnonzero(rows["binds"].eq(True).to_numpy())
    if not len(binding):
        return None

    def number(column: str) -> np.ndarray:
        values = np.asarray(pd.to_numeric(rows[column].to_numpy()[binding], errors="coerce"),
                            float)
        return np.where(np.isnan(values), 0.0, values)

    price = np.abs(number("shadow_price"))
    whole = number("cost_of_rule") if "cost_of_rule" in rows else np.zeros(len(binding))
    first = np.lexsort((-price, -whole))[0]  # the largest whole, then price; ties: the first
    rule = rows.iloc[binding[first]].to_dict()
    return rule, int((rows["rule"].to_numpy()[binding] == rule["rule"]).sum())


def _scope(rule: dict) -> str:
    parts = [str(rule[k]) for k in ("material", "period", "customer", "member")
             if k in rule and rule[k] is not None and not (isinstance(rule[k], float)
                                                            and math.isnan(rule[k]))]
    return f" [{', '.join(parts)}]" if parts else ""


def _rule_line(found: tuple[dict, int] | None, currency: str | None,
               millions: bool = False) -> str:
    """The costliest rule and what it costs: by `cost_of_rule` (the whole rule, solved
    without it) where known, else at the margin."""
    if found is None:
        return "no rule binds: the rules cost nothing"
    rule, count = found
    more = f" ({count} instances bind)" if count > 1 else ""
    whole = _number(rule.get("cost_of_rule"))
    if whole:
        return f"{rule.get('rule')}: {money(whole, currency, millions=millions)}{more}"
    name = f"{rule.get('rule')}{_scope(rule)}"
    price = _number(rule.get("shadow_price"))
    point = _number(rule.get("value_of_1pt"))
    if not price:
        return f"{name}: binds at no cost{more}"
    if rule.get("type") == "limit" and point:
        return f"{name}: {money(point, currency)} per percentage point at the margin{more}"
    return f"{name}: {money(abs(price), currency, 2)} per t at the margin{more}"


def percents(*shares: float) -> list[str]:
    """Shares as whole percentages, with a decimal or two where whole ones would say
    something false: two different shares alike (85.5% and 86.5% as 86%), a share short of
    all as 100% or one above none as 0%."""
    values = [round(100 * s, 6) for s in shares]
    for decimals in range(3):
        texts = [f"{v:.{decimals}f}" for v in values]
        alike = len(set(texts)) < len(set(values))
        false = any(0 < v < 100 and float(t) in (0.0, 100.0) for v, t in zip(values, texts))
        if not alike and not false:
            break
    return [t + "%" for t in texts]


def _shares_against_base(top: dict[tuple, tuple[str, float]],
                         before: dict[tuple, tuple[str, float]],
                         base_shares: dict[tuple, float]) -> str:
    """For a scenario: the (material, stage) pair whose largest country or its share (by a
    percentage point or more) moved most from base, and how many others moved; `top` and
    `before` as `report.top_by_pair` gives them, the scenario's and base's; `base_shares`
    as `report.shares_by_country` gives base's. A new largest country moved by what its
    own share rose (a near tie tipping over moved little)."""
    if not top:
        return "no material moved"
    changes = []
    for (material, stage), (country, share) in top.items():
        old = before.get((material, stage))
        if old is None:
            [now] = percents(share)
            changes.append((share, f"{material} {stage} new: {country} {now}"))
        elif old[0] != country or abs(old[1] - share) >= 0.01 - 1e-9:
            size = abs(share - (old[1] if old[0] == country else
                                base_shares.get((material, stage, country), 0.0)))
            was, now = percents(old[1], share)
            changes.append((size, f"{material} {stage} {old[0]} {was} \u2192 {country} {now}"))
    gone = set(before) - set(top)
    changes += [(1.0, f"{m} {st} no longer moved") for m, st in sorted(gone, key=str)]
    if not changes:
        return "as in base"
    changes.sort(key=lambda c: -c[0])
    more = f", +{len(changes) - 1} more" if len(changes) > 1 else ""
    return changes[0][1] + more


def _messages(summary: pd.DataFrame, run_info: pd.DataFrame | None) -> dict[str, str]:
    """Each scenario's message in words: the Summary's own column where a table has one,
    else Run info's."""
    for frame in (summary, run_info):
        if frame is not None and {"scenario", "message"} <= set(frame.columns):
            return {str(k): str(v) for k, v in zip(frame["scenario"], frame["message"])
                    if v is not None and not (isinstance(v, float) and math.isnan(v))}
    return {}


def headlines(summary: pd.DataFrame, limits: pd.DataFrame | None = None,
              mix: pd.DataFrame | None = None, diagnosis: pd.DataFrame | None = None,
              currency: str | None = None, run_info: pd.DataFrame | None = None,
              millions: bool = False, options: pd.DataFrame | None = None
              ) -> list[Headline]:
    """One Headline per Summary row, in Summary order (base first): the result (the cost
    against base from the Summary's own change columns), the costliest rule (without a
    Limits table: none) and, for scenarios other than base, the largest shares that
    moved from base (without a Mix table: none). Money in millions with `millions`."""
    out = []
    mixes, limit_rows, diagnosed, chosen = (_by_scenario(f)
                                            for f in (mix, limits, diagnosis, options))
    base_top, base_shares = None, {}
    if not summary.empty:
        base = summary[summary["scenario"].astype(str) == "base"]
        if len(base) and str(base.iloc[0]["status"]) == "optimal" and mix is not None:
            base_top = report.top_by_pair(mixes.get("base"))
            base_shares = report.shares_by_country(mixes.get("base"))
    messages = _messages(summary, run_info)
    for row in summary.to_dict("records"):
        name, status = str(row["scenario"]), str(row["status"])
        head = Headline(name, status)
        cost, unmet = _number(row.get("total_cost")), _number(row.get("unmet_t"))
        if status != "optimal":
            message = messages.get(name) or status
            head.result = f"{status}: {message}".rstrip(".")
            if name in diagnosed:
                head.result += "; see Diagnosis"
            if cost is not None:
                shown = money(cost, currency, millions=millions)
                head.result += f"; cost of the plan shown {shown}"
            out.append(head)
            continue
        delta = _number(row.get("change_vs_base"))
        if name != "base" and delta is not None:
            head.result = f"optimal, {change(delta, currency, millions)}"
            share = _number(row.get("change_vs_base_pct"))
            if share is not None:
                pct = figures(share * 100, least=1)[0].replace(",", "")
                head.result += f" ({'+' if share >= 0 else ''}{pct}%)"
        else:
            head.result = f"optimal, {money(cost or 0.0, currency, millions=millions)}"
        if unmet:
            unmet_cost = _number(row.get("unmet_cost")) or 0.0
            head.result += (f"; {tonnes(unmet)} unmet (penalty "
                            f"{money(unmet_cost, currency, millions=millions)})")
        else:
            head.result += "; all demand met"
        if name in chosen:  # what the mixed-integer plan builds or signs
            taken = chosen[name]
            taken = [str(o) for o, t in zip(taken["option"], taken["taken"])
                     if t is not None and t == True]  # noqa: E712 (numpy booleans too)
            head.result += f"; takes {', '.join(taken)}" if taken else "; takes no option"
        if limits is not None:
            head.rule = _rule_line(costliest_binding_rule(limit_rows.get(name)), currency,
                                   millions)
        if mix is not None and base_top is not None and name != "base":
            head.shares = _shares_against_base(report.top_by_pair(mixes.get(name)), base_top,
                                               base_shares)
        out.append(head)
    return out


def nothing_to_report(tables: dict[str, pd.DataFrame]) -> dict[str, str]:
    """The sheets among Comparison, Diagnosis and Unmet whose table is empty because there
    is nothing to report, each with why, in words."""
    summary = tables.get("Summary")
    if summary is None or summary.empty or not {"scenario", "status"} <= set(summary):
        return {}
    names = summary["scenario"].astype(str)
    optimal = summary["status"].astype(str) == "optimal"
    out = {}
    comparison = tables.get("Comparison")
    if comparison is not None and comparison.empty:
        if not (names == "base").any():
            out["Comparison"] = "base was not planned, so there is nothing to compare against"
        elif not optimal[names == "base"].all():
            out["Comparison"] = "base has no optimal plan to compare against"
        elif len(names) == 1:
            out["Comparison"] = "only base was planned, so there is no scenario to compare"
    diagnosis = tables.get("Diagnosis")
    if diagnosis is not None and diagnosis.empty and optimal.all():
        out["Diagnosis"] = "every scenario has an optimal plan"
    unmet = tables.get("Unmet")
    if unmet is not None and unmet.empty:
        out["Unmet"] = ("every plan meets all demand" if optimal.any()
                        else "no scenario has a plan")
    return out
