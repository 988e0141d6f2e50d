"""Plain-language headlines for the top of the plan's Summary sheet, one block per scenario.

Computed only from the plan's own tables (the Summary, Limits, Mix and Diagnosis frames
that `plan.plan_sheets` hands to the writer), so the headline can never disagree with the
sheets below it. Pure functions of DataFrames: no openpyxl here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from . import report


@dataclass
class Headline:
    scenario: str
    status: str
    lines: list[str] = field(default_factory=list)  # first line is the lead sentence


def _number(value: object) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def money(value: float, currency: str | None, decimals: int = 0) -> str:
    text = f"{value:,.{decimals}f}"
    return f"{text} {currency}" if currency else text


def tonnes(value: float) -> str:
    return f"{value:,.0f} t" if abs(value) >= 10 else f"{value:,.1f} t"


def percent(share: float) -> str:
    return f"{share * 100:.0f}%" if abs(share * 100 - round(share * 100)) < 0.05 \
        else f"{share * 100:.1f}%"


def _rows_of(frame: pd.DataFrame | None, scenario: str) -> pd.DataFrame:
    if frame is None or frame.empty or "scenario" not in frame.columns:
        return pd.DataFrame(columns=[] if frame is None else frame.columns)
    return frame[frame["scenario"].astype(str) == scenario]


def top_shares(mix: pd.DataFrame | None, scenario: str) -> pd.DataFrame:
    """Per (material, stage), over the whole horizon: the largest country and its share of
    the stage's tonnes. Columns material, stage, country, share, quantity_t; materials in
    first-seen order, stages supply, processing, delivery."""
    top = report.top_shares(_rows_of(mix, scenario))
    return top[["material", "stage", "country", "share", "quantity_t"]]


def costliest_binding_rule(limits: pd.DataFrame | None, scenario: str) -> tuple[dict, int] | None:
    """(the costliest rule's binding instance, number of binding instances), or None when
    no rule instance binds. Costliest by `cost_of_rule` (the whole rule, solved without
    it) where the Limits table has it, else by |shadow_price| (the marginal view); the
    instance shown is the rule's binding one with the largest |shadow_price|."""
    rows = _rows_of(limits, scenario)
    if rows.empty or not {"binds", "shadow_price"} <= set(rows.columns):
        return None
    binding = rows[rows["binds"].eq(True)]
    if binding.empty:
        return None
    price = pd.to_numeric(binding["shadow_price"], errors="coerce").abs().fillna(0.0)
    whole = pd.to_numeric(binding.get("cost_of_rule"), errors="coerce").fillna(0.0) \
        if "cost_of_rule" in binding else price * 0
    order = pd.DataFrame({"whole": whole, "price": price}).sort_values(
        ["whole", "price"], ascending=False, kind="stable").index
    return binding.loc[order[0]].to_dict(), len(binding)


def _scope(rule: dict) -> str:
    parts = [str(rule[k]) for k in ("material", "period", "customer", "member")
             if k in rule and rule[k] is not None and not (isinstance(rule[k], float)
                                                            and math.isnan(rule[k]))]
    return f" [{', '.join(parts)}]" if parts else ""


def _rule_sentence(found: tuple[dict, int] | None, currency: str | None) -> str:
    if found is None:
        return "No rule is at its bound: the rules cost nothing in this plan."
    rule, count = found
    more = f" ({count} rule instances bind in all; see Limits)" if count > 1 else ""
    price = _number(rule.get("shadow_price"))
    name = f"{rule.get('rule')}{_scope(rule)}"
    if not price:
        return f"Binding rule: {name}, at no cost at the margin{more}."
    point = _number(rule.get("value_of_1pt"))
    # The plan's cost is convex in a bound, so the shadow price bounds both directions:
    # loosening saves at most |price| per unit, tightening costs at least that.
    if rule.get("type") == "limit" and point:
        saving = (f"loosening its share bound by one percentage point would save at most "
                  f"about {money(point, currency)}")
    else:
        move = {"max": "raising", "min": "lowering"}.get(str(rule.get("sense")), "loosening")
        saving = (f"{move} its bound by 1 t would save at most "
                  f"{money(abs(price), currency, 2)}, and tightening it by 1 t would cost at "
                  f"least that")
    whole = _number(rule.get("cost_of_rule"))
    if whole:
        return (f"Costliest rule: {rule.get('rule')}: without it the plan would cost "
                f"{money(whole, currency)} less; at the margin, {saving}{more}.")
    return f"Costliest binding rule: {name}: {saving}{more}."


def _shares_sentence(top: pd.DataFrame) -> str:
    if top.empty:
        return "Largest single-country shares: no material moved."
    parts = []
    for material, rows in top.groupby("material", sort=False):
        stages = ", ".join(f"{r.stage} {r.country} {percent(float(r.share))}"
                           for r in rows.itertuples(index=False))
        parts.append(f"{material}: {stages}")
    return "Largest single-country shares (whole horizon): " + "; ".join(parts) + "."


def _shares_against_base(top: pd.DataFrame, base: pd.DataFrame) -> str:
    """For a scenario: only the (material, stage) pairs whose largest country or its share
    (by a percentage point or more) differ from base."""
    if top.empty:
        return "Largest single-country shares: no material moved."
    before = {(r.material, r.stage): (r.country, float(r.share))
              for r in base.itertuples(index=False)}
    changes = []
    for r in top.itertuples(index=False):
        old = before.get((r.material, r.stage))
        if old is None:
            changes.append(f"{r.material} {r.stage} {r.country} {percent(float(r.share))} "
                           f"(none in base)")
        elif old[0] != r.country or abs(old[1] - float(r.share)) >= 0.01 - 1e-9:
            changes.append(f"{r.material} {r.stage} {r.country} {percent(float(r.share))} "
                           f"(base: {old[0]} {percent(old[1])})")
    gone = set(before) - {(r.material, r.stage) for r in top.itertuples(index=False)}
    changes += [f"{m} {s} no longer moved" for m, s in sorted(gone, key=str)]
    if not changes:
        return "Largest single-country shares: as in base."
    return "Largest single-country shares: as in base, except " + "; ".join(changes) + "."


def headlines(summary: pd.DataFrame, limits: pd.DataFrame | None = None,
              mix: pd.DataFrame | None = None, diagnosis: pd.DataFrame | None = None,
              currency: str | None = None) -> list[Headline]:
    """One Headline per Summary row, in Summary order (base first). Without a Limits
    (Mix) table the binding-rule (share) sentence is left out. Other scenarios list only
    the largest shares that differ from base, so that the block stays short."""
    out = []
    base_cost = base_top = None
    if not summary.empty:
        base = summary[summary["scenario"].astype(str) == "base"]
        if len(base) and str(base.iloc[0]["status"]) == "optimal":
            base_cost = _number(base.iloc[0]["total_cost"])
            base_top = top_shares(mix, "base") if mix is not None else None
    for row in summary.to_dict("records"):
        name, status = str(row["scenario"]), str(row["status"])
        head = Headline(name, status)
        cost, unmet = _number(row.get("total_cost")), _number(row.get("unmet_t"))
        if status != "optimal":
            message = str(row.get("message") or status)
            lead = f"{name}: {status}. {message}".rstrip(".") + "."
            if len(_rows_of(diagnosis, name)):
                lead += " What would make it plannable is in the Diagnosis sheet."
            if cost is not None:
                lead += f" Total cost of the plan shown: {money(cost, currency)}."
            head.lines.append(lead)
            out.append(head)
            continue
        lead = f"{name}: optimal. Total cost {money(cost or 0.0, currency)}"
        if base_cost and name != "base" and cost is not None:
            change = (cost - base_cost) / base_cost
            lead += f" ({'+' if change >= 0 else ''}{change * 100:.1f}% against base)"
        if unmet:
            unmet_cost = _number(row.get("unmet_cost")) or 0.0
            lead += (f"; {tonnes(unmet)} of demand left unmet (penalty "
                     f"{money(unmet_cost, currency)}), see Unmet.")
        else:
            lead += "; all demand met."
        head.lines.append(lead)
        if limits is not None:
            head.lines.append(_rule_sentence(costliest_binding_rule(limits, name), currency))
        if mix is not None:
            top = top_shares(mix, name)
            head.lines.append(_shares_against_base(top, base_top) if base_top is not None
                              and name != "base" else _shares_sentence(top))
        out.append(head)
    return out
