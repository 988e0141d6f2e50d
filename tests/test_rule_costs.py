"""What each rule costs in total (Limits cost_of_rule): the plan's cost less its cost
without the rule, checked against hand-solved plans and against a scenario that drops the
rule; ranked first in the Summary headline and on the terminal."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from planner import api
from planner.cli import main

EXAMPLE = Path(__file__).resolve().parents[1] / "inputs" / "example.xlsx"

# 100 t of ore for a Japanese plant: CN ore lands at 10/t, AU ore at 15/t. Capping China at
# 60% of supply moves 40 t to Australia: 60 x 10 + 40 x 15 = 1,200 against 1,000 without
# the cap, so the cap costs 200 in total (5 per t at the margin). A 90% cap on Australia
# binds nothing: it costs 0.
TABLES = {
    "Suppliers": pd.DataFrame({"supplier": ["cn-mine", "au-mine"], "country": ["CN", "AU"],
                               "material": ["ore", "ore"], "capacity_t": [None, None],
                               "unit_cost": [8, 10]}),
    "Demand": pd.DataFrame({"customer": ["plant"], "country": ["JP"], "material": ["ore"],
                            "period": ["Q1"], "quantity_t": [100]}),
    "Freight": pd.DataFrame({"from_country": ["CN", "AU"], "to_country": ["JP", "JP"],
                             "cost_per_t": [2, 5]}),
    "Limits": pd.DataFrame({"rule": ["CN cap", "AU cap"], "stage": ["supply", "supply"],
                            "by": ["country", "country"], "member": ["CN", "AU"],
                            "max_share": [0.6, 0.9]}),
}


def _costs(plan) -> dict:
    limits = plan["Limits"]
    return dict(zip(limits["rule"], limits["cost_of_rule"]))


@pytest.mark.parametrize("which", ["binding", "all"])
def test_a_cap_costs_what_the_hand_solved_plans_differ_by(which):
    plan = api.plan(TABLES, rule_costs=which)
    assert plan["Summary"]["total_cost"].iloc[0] == pytest.approx(1200)
    costs = _costs(plan)
    assert costs["CN cap"] == pytest.approx(200) and costs["AU cap"] == 0


def test_none_leaves_the_column_blank():
    costs = _costs(api.plan(TABLES, rule_costs="none"))
    assert all(pd.isna(c) for c in costs.values())


def test_japans_target_costs_what_the_scenario_without_it_saves():
    plan = api.plan(api.read(EXAMPLE), ["base", "no-jp-target"])
    summary = plan["Summary"].set_index("scenario")["total_cost"]
    limits = plan["Limits"]
    base = limits[(limits["scenario"] == "base") & (limits["rule"] == "JP REE 50%")]
    assert base["cost_of_rule"].nunique() == 1  # one value for all the rule's instances
    assert base["cost_of_rule"].iloc[0] == pytest.approx(
        summary["base"] - summary["no-jp-target"], abs=1.0)


def test_the_headline_and_the_terminal_lead_with_the_costliest_rule(tmp_path):
    out = tmp_path / "plan.xlsx"
    result = CliRunner().invoke(main, ["run", str(EXAMPLE), "-o", str(out), "--jobs", "1",
                                       "--scenario", "base"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    first = lines[lines.index(next(ln for ln in lines if ln.startswith("rules in base"))) + 1]
    plan = api.plan(api.read(EXAMPLE), ["base"])
    costs = plan["Limits"].dropna(subset=["cost_of_rule"])
    top = costs.sort_values("cost_of_rule", ascending=False).iloc[0]
    assert first.startswith(f"  {top['rule']}: {top['cost_of_rule']:,.0f} USD in total")
    # at the margin, what loosening saves, as a positive amount whatever the rule's sense
    # (a max rule printed its negative dual under "costliest first")
    rows = plan["Limits"][(plan["Limits"]["rule"] == top["rule"]) & plan["Limits"]["binds"]]
    point = rows["shadow_price"].abs().max() * 0.01
    assert f"; {point:,.2f} USD per percentage point at the margin" in first
    import openpyxl

    sheet = openpyxl.load_workbook(out, read_only=True)["Summary"]
    text = " ".join(str(c) for row in sheet.iter_rows(values_only=True) for c in row if c)
    # the Summary's costliest rule, under its label, in millions as the Summary shows money
    assert "costliest rule: what it costs" in text
    assert f"{top['rule']}: {top['cost_of_rule'] / 1e6:,.1f} m USD" in text
    assert "floor AU-reserve" not in text  # the largest shadow price, not the costliest rule


def _two_mines(restrictions: list[dict]) -> dict[str, pd.DataFrame]:
    """10 t of ore for Japan: Australia sells at 1/t, Chile at 50/t (no freight)."""
    return {
        "Suppliers": pd.DataFrame({"supplier": ["au-mine", "cl-mine"], "country": ["AU", "CL"],
                                   "material": ["ore", "ore"], "capacity_t": [None, None],
                                   "unit_cost": [1, 50]}),
        "Demand": pd.DataFrame({"customer": ["plant"], "country": ["JP"], "material": ["ore"],
                                "period": ["Q1"], "quantity_t": [10]}),
        "Freight": pd.DataFrame({"from_country": ["AU", "CL"], "to_country": ["JP", "JP"],
                                 "cost_per_t": [0, 0]}),
        "Restrictions": pd.DataFrame(restrictions),
    }


BAN = {"rule": "ban AU", "type": "ban", "from": "AU", "to": "JP"}
QUOTA = {"rule": "quota AU", "type": "quota", "from": "AU", "to": "JP", "max_t": 0}


def test_two_rules_holding_back_the_same_tonnes_are_each_worth_nothing_at_the_margin():
    """Banned and held to a quota of 0 t, Australia's ore stays out: 10 t from Chile, 500.
    Alone, the ban costs 490 in total and 49 per t at the margin (a 1 t quota would save
    49). Together, lifting either leaves the other: each costs 0 in total and at the
    margin (the solver's duals put the 49 on one of them, at a degenerate optimum)."""
    alone = api.plan(_two_mines([BAN]))["Limits"].set_index("rule")
    assert alone.loc["ban AU", "shadow_price"] == pytest.approx(-49)
    assert alone.loc["ban AU", "cost_of_rule"] == pytest.approx(490)
    plan = api.plan(_two_mines([BAN, QUOTA]))
    assert plan["Summary"]["total_cost"].iloc[0] == pytest.approx(500)
    limits = plan["Limits"].set_index("rule")
    assert list(limits.loc[["ban AU", "quota AU"], "cost_of_rule"]) == [0, 0]
    assert list(limits.loc[["ban AU", "quota AU"], "shadow_price"]) == [0, 0]
    assert not limits.loc[["ban AU", "quota AU"], "binds"].any()  # no tonnes, no price
    # The marginal view, by finite difference: a 1 t quota beside the ban saves nothing.
    loosened = api.plan(_two_mines([BAN, {**QUOTA, "max_t": 1}]))
    assert loosened["Summary"]["total_cost"].iloc[0] == pytest.approx(500)


def test_a_lane_cap_and_a_stockpile_floor_have_their_total_cost_too():
    """China sells at 1/t, Australia at 5/t, 100 t a period for Japan; China's lane to the
    plant is capped at 40 t: 40 x 1 + 60 x 5 = 340 against 100 without the cap, so the cap
    costs 240 in total (4 per t at the margin) and is the costliest rule on the Summary
    (lane caps and floors had no total cost, so any rule with one outranked them). A
    Japanese stockpile holding 20 t at its floor of 20 t: without the floor its 20 t
    would replace Australian tonnes, so the floor costs 20 x 5 = 100."""
    tables = {
        "Suppliers": pd.DataFrame({"supplier": ["cn-mine", "au-mine"], "country": ["CN", "AU"],
                                   "material": ["ore", "ore"], "capacity_t": [None, None],
                                   "unit_cost": [1, 5]}),
        "Demand": pd.DataFrame({"customer": ["plant"], "country": ["JP"], "material": ["ore"],
                                "period": ["Q1"], "quantity_t": [100]}),
        "Freight": pd.DataFrame({"from_country": ["CN", "AU"], "to_country": ["JP", "JP"],
                                 "cost_per_t": [0, 0]}),
        "Lanes": pd.DataFrame({"from": ["cn-mine"], "to": ["plant"], "max_t": [40]}),
        "Stockpiles": pd.DataFrame({"stockpile": ["jp-reserve"], "country": ["JP"],
                                    "material": ["ore"], "initial_t": [20],
                                    "min_level_t": [20]}),
    }
    plan = api.plan(tables)
    assert plan["Summary"]["total_cost"].iloc[0] == pytest.approx(340)
    limits = plan["Limits"].set_index("rule")
    assert limits.loc["lane cn-mine -> plant", "cost_of_rule"] == pytest.approx(240)
    assert limits.loc["lane cn-mine -> plant", "shadow_price"] == pytest.approx(-4)
    assert limits.loc["floor jp-reserve", "cost_of_rule"] == pytest.approx(100)
    from planner.headlines import _rule_line, costliest_binding_rule
    assert _rule_line(costliest_binding_rule(plan["Limits"]), "USD") == \
        "lane cn-mine -> plant: 240 USD"
