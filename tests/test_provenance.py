"""Origin tracking by mass balance: Limits stages origin and touched, Restrictions origin
and via, Stockpiles origin, the Provenance sheet. Expected values are solved by hand in
each docstring."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from planner import api
from planner.cli import main
from wb import frames, make_workbook, table_rows

COUNTRIES = ("CN", "AU", "MY", "JP", "US", "KR")
FREIGHT = [{"from_country": a, "to_country": b, "cost_per_t": 0}
           for a in COUNTRIES for b in COUNTRIES]


def _separation(limits=(), restrictions=(), **extra):
    """Two mines of ore, CN at 10/t and AU at 20/t (200 t each), one Malaysian separator
    (ore -> oxide, yield 1, free), a Japanese buyer of 100 t and a US buyer of 50 t of
    oxide; freight free."""
    return {
        "Suppliers": [{"supplier": "CN-mine", "country": "CN", "material": "ore",
                       "capacity_t": 200, "unit_cost": 10},
                      {"supplier": "AU-mine", "country": "AU", "material": "ore",
                       "capacity_t": 200, "unit_cost": 20}],
        "Sites": [{"site": "MY-sep", "country": "MY", "capacity_t": None}],
        "Processes": [{"site": "MY-sep", "process": "sep", "input_material": "ore",
                       "output_material": "oxide", "yield": 1, "cost_per_t": 0}],
        "Demand": [{"customer": "JP-buyer", "country": "JP", "material": "oxide",
                    "period": "P1", "quantity_t": 100},
                   {"customer": "US-buyer", "country": "US", "material": "oxide",
                    "period": "P1", "quantity_t": 50}],
        "Freight": FREIGHT, "Limits": list(limits), "Restrictions": list(restrictions),
        **extra}


JP_CAP = {"rule": "jp-cn-origin", "stage": "origin", "by": "country", "member": "CN",
          "customer": "JP-buyer", "max_share": 0.4}
US_BAN = {"rule": "us-no-cn", "type": "ban", "to": "US", "origin": "CN"}


def _total(tables, scenario="base"):
    return next(r["total_cost"] for r in table_rows(tables["Summary"])
                if r["scenario"] == scenario)


def _origins(tables, customer, basis="origin", scenario="base"):
    return {r["member"]: (r["quantity_t"], r["share"]) for r in table_rows(tables["Provenance"])
            if r["customer"] == customer and r["basis"] == basis
            and r["scenario"] == scenario}


def _bought(tables):
    flows = table_rows(tables["Flows"])
    return {s: sum(r["quantity_t"] for r in flows if r["from"] == s)
            for s in {r["from"] for r in flows if r["from_kind"] == "supplier"}}


def test_an_origin_cap_and_an_origin_ban_through_a_third_country_refinery():
    """Japan may receive at most 40% Chinese-origin oxide, the US none, though all of it is
    separated in Malaysia: Japan gets 40 t of CN origin and 60 t of AU, the US 50 t of AU.
    Purchases CN 40, AU 110: 40 x 10 + 110 x 20 = 2,600."""
    tables = api.plan(frames(_separation([JP_CAP], [US_BAN])))
    assert _total(tables) == pytest.approx(2600)
    assert _bought(tables) == {"CN-mine": pytest.approx(40), "AU-mine": pytest.approx(110)}
    assert _origins(tables, "JP-buyer") == {"CN": (pytest.approx(40), pytest.approx(0.4)),
                                            "AU": (pytest.approx(60), pytest.approx(0.6))}
    assert _origins(tables, "US-buyer") == {"AU": (pytest.approx(50), pytest.approx(1.0))}
    limits = {r["rule"]: r for r in table_rows(tables["Limits"])}
    assert limits["jp-cn-origin"]["share"] == pytest.approx(0.4)
    assert limits["jp-cn-origin"]["binds"] and limits["us-no-cn"]["binds"]
    # Each rule's total cost, by hand: without the cap Japan takes 100 t of CN ore (2,600 -
    # 2,000 = 600 dearer with it); without the ban the US takes CN ore (500 dearer with it).
    assert limits["jp-cn-origin"]["cost_of_rule"] == pytest.approx(600)
    assert limits["us-no-cn"]["cost_of_rule"] == pytest.approx(500)
    mix = {(r["stage"], r["material"], r["country"]): r["share"]
           for r in table_rows(tables["Mix"])}
    assert mix[("origin", "oxide", "AU")] == pytest.approx(110 / 150)
    assert mix[("delivery", "oxide", "MY")] == pytest.approx(1.0)


def test_stage_rules_cannot_say_where_the_oxide_was_mined():
    """The same 40% cap on China written at the delivery stage counts the shipper (Malaysia)
    and binds nothing: Japan gets 100% Chinese-origin oxide for 1,500 in all. At the supply
    stage it caps China's share of all ore sold, whoever receives it: 60 of 150 t, for
    60 x 10 + 90 x 20 = 2,400, where the origin cap costs 40 x 10 + 50 x 10 + 60 x 20 =
    2,100 (the US may take Chinese ore)."""
    origin = api.plan(frames(_separation([JP_CAP])))
    assert _total(origin) == pytest.approx(2100)
    delivery = api.plan(frames(_separation([dict(JP_CAP, stage="delivery")])))
    assert _total(delivery) == pytest.approx(1500)
    share = table_rows(delivery["Limits"])[0]
    assert share["share"] == pytest.approx(0.0) and not share["binds"]  # MY ships it all
    supply = api.plan(frames(_separation([dict(JP_CAP, stage="supply", customer=None)])))
    assert _total(supply) == pytest.approx(2400)
    assert "Provenance" not in delivery and "Provenance" not in supply


def _via_case(limits=(), restrictions=()):
    """Australian ore (10/t) separated in China (free) or Malaysia (5/t): the oxide is all
    of Australian origin either way."""
    sheets = _separation(limits, restrictions)
    sheets["Suppliers"] = [{"supplier": "AU-mine", "country": "AU", "material": "ore",
                            "capacity_t": 500, "unit_cost": 10}]
    sheets["Sites"] = [{"site": "MY-sep", "country": "MY", "capacity_t": None},
                       {"site": "CN-sep", "country": "CN", "capacity_t": None}]
    sheets["Processes"] = [{"site": s, "process": "sep", "input_material": "ore",
                            "output_material": "oxide", "yield": 1, "cost_per_t": c}
                           for s, c in (("MY-sep", 5), ("CN-sep", 0))]
    return sheets


def test_touched_rules_follow_processing_in_china_of_australian_ore():
    """US FEOC-style: no oxide mined or processed in China may reach the US (via CN): the
    US's 50 t go through Malaysia (15/t). Japan: at most 30% of its oxide touched by China:
    30 t through China (10/t), 70 t through Malaysia (15/t). 750 + 300 + 1,050 = 2,100.
    An origin ban on China would bind nothing (the ore is Australian): 1,500."""
    touched = {"rule": "jp-cn-touched", "stage": "touched", "by": "country", "member": "CN",
               "customer": "JP-buyer", "max_share": 0.3}
    feoc = {"rule": "us-feoc", "type": "ban", "to": "US", "via": "CN"}
    tables = api.plan(frames(_via_case([touched], [feoc])))
    assert _total(tables) == pytest.approx(2100)
    assert _origins(tables, "JP-buyer", "touched") == {
        "CN": (pytest.approx(30), pytest.approx(0.3))}
    assert _origins(tables, "US-buyer", "touched") == {}
    assert _origins(tables, "JP-buyer", "origin") == {}  # no rule counts origins
    origin_only = api.plan(frames(_via_case([], [dict(US_BAN)])))
    assert _total(origin_only) == pytest.approx(1500)
    assert _origins(origin_only, "US-buyer") == {"AU": (pytest.approx(50), pytest.approx(1))}


def test_a_group_of_concern_via_rule():
    """`via` a group (FEOC = CN, RU) is the same as via CN here."""
    feoc = {"rule": "us-feoc", "type": "ban", "to": "US", "via": "FEOC"}
    sheets = _via_case([], [feoc])
    sheets["Groups"] = [{"group": "FEOC", "country": c} for c in ("CN", "RU")]
    tables = api.plan(frames(sheets))
    # Japan through China (1,000), the US through Malaysia (750)
    assert _total(tables) == pytest.approx(1750)


def test_co_products_share_the_origin_of_their_input():
    """One tonne of ore makes 0.5 t of oxide A and 0.3 t of oxide B. Japan wants 50 t of A,
    at most 25% of Chinese origin; Korea 30 t of B, no rule. Japan's AU-origin A >= 37.5 t
    needs 75 t of AU ore; 100 t of ore in all: 75 x 20 + 25 x 10 = 1,750. Korea's B has the
    ore's origins, 25% CN (7.5 t) and 75% AU (22.5 t)."""
    sheets = _separation([dict(JP_CAP, max_share=0.25)])
    sheets["Processes"] = [{"site": "MY-sep", "process": "sep", "input_material": "ore",
                            "output_material": m, "yield": y, "cost_per_t": 0}
                           for m, y in (("oxide A", 0.5), ("oxide B", 0.3))]
    sheets["Demand"] = [{"customer": "JP-buyer", "country": "JP", "material": "oxide A",
                         "period": "P1", "quantity_t": 50},
                        {"customer": "KR-buyer", "country": "KR", "material": "oxide B",
                         "period": "P1", "quantity_t": 30}]
    tables = api.plan(frames(sheets))
    assert _total(tables) == pytest.approx(1750)
    assert _origins(tables, "KR-buyer") == {"CN": (pytest.approx(7.5), pytest.approx(0.25)),
                                            "AU": (pytest.approx(22.5), pytest.approx(0.75))}


def test_a_stockpile_keeps_the_origin_of_its_initial_stock():
    """A Japanese stockpile starts with 50 t of oxide mined in China (origin CN) and may be
    refilled with Australian oxide (20/t). Japan needs 50 t in each of two periods, at most
    40% of Chinese origin per period: 20 t from the stock each period, 30 t Australian:
    60 x 20 = 1,200 (without the rule: the stock in P1, 50 t Australian in P2 = 1,000).
    Refilling the stock with Australian oxide cannot launder Chinese tonnes."""
    def sheets(limits):
        return {
            "Suppliers": [{"supplier": "AU-oxide", "country": "AU", "material": "oxide",
                           "capacity_t": 500, "unit_cost": 20}],
            "Stockpiles": [{"stockpile": "JP-reserve", "country": "JP", "material": "oxide",
                            "initial_t": 50, "intake": True, "origin": "CN"}],
            "Demand": [{"customer": "JP-buyer", "country": "JP", "material": "oxide",
                        "period": p, "quantity_t": 50} for p in ("P1", "P2")],
            "Freight": FREIGHT, "Limits": limits}
    free = api.plan(frames(sheets([])))
    assert _total(free) == pytest.approx(1000)
    tables = api.plan(frames(sheets([dict(JP_CAP, max_share=0.4)])))
    assert _total(tables) == pytest.approx(1200)
    provenance = table_rows(tables["Provenance"])
    for period in ("P1", "P2"):
        cn = sum(r["quantity_t"] for r in provenance if r["period"] == period
                 and r["member"] == "CN")
        assert cn == pytest.approx(20)


def test_an_origin_rule_scoped_to_a_scenario():
    """The cap applies only in scenario `tight`: base buys all Chinese ore (1,500), tight
    pays 2,100 as by hand above."""
    sheets = _separation([dict(JP_CAP, scenario="tight")])
    sheets["Scenarios"] = [{"scenario": "tight", "sheet": "Suppliers",
                            "where": "supplier=CN-mine", "column": "unit_cost",
                            "action": "set", "value": 10}]
    tables = api.plan(frames(sheets))
    assert _total(tables) == pytest.approx(1500)
    assert _total(tables, "tight") == pytest.approx(2100)
    assert _origins(tables, "JP-buyer", scenario="tight")["CN"][1] == pytest.approx(0.4)


def test_the_provenance_sheet_adds_up_and_every_origin_rule_holds_on_it():
    """Recomputed from the plan's sheets alone: each customer's origin tonnes add up to
    what the Flows deliver, and each origin rule's cap holds on the Provenance shares."""
    tables = api.plan(frames(_separation([JP_CAP], [US_BAN])))
    flows = table_rows(tables["Flows"])
    provenance = table_rows(tables["Provenance"])
    for customer in ("JP-buyer", "US-buyer"):
        delivered = sum(r["quantity_t"] for r in flows if r["to"] == customer)
        origins = sum(r["quantity_t"] for r in provenance
                      if r["customer"] == customer and r["basis"] == "origin")
        assert origins == pytest.approx(delivered)
    cn_jp = sum(r["quantity_t"] for r in provenance if r["customer"] == "JP-buyer"
                and r["member"] == "CN")
    jp = sum(r["quantity_t"] for r in flows if r["to"] == "JP-buyer")
    assert cn_jp <= 0.4 * jp + 1e-6
    assert not any(r["member"] == "CN" for r in provenance if r["customer"] == "US-buyer")


def test_without_origin_rules_the_lp_is_unchanged():
    """Origin columns present but blank (Restrictions origin and via, Stockpiles origin)
    build exactly the LP of the same workbook without them."""
    from planner.model import build_model
    from planner.network import build_network

    def lp_of(sheets):
        sm = build_model(build_network(api.load(frames(sheets))))
        start, index, value = sm.lp.matrix()
        return sm, [start, index, value] + [np.concatenate(a) for a in (sm.lp.lower, sm.lp.upper,
                                                                       sm.lp.cost, sm.lp._rhs)]

    plain = _separation([dict(JP_CAP, stage="delivery")],
                        [{"rule": "no-us", "type": "quota", "to": "US", "max_t": 30}])
    blank = _separation([dict(JP_CAP, stage="delivery")],
                        [{"rule": "no-us", "type": "quota", "to": "US", "max_t": 30,
                          "origin": None, "via": None}])
    (sm_a, a), (sm_b, b) = lp_of(plain), lp_of(blank)
    assert sm_a.tracking is None and sm_b.tracking is None
    assert list(sm_a.lp.families) == list(sm_b.lp.families)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("sheet, row, column, words", [
    ("Limits", {**JP_CAP, "by": "node", "member": "CN-mine"}, "by", "not node"),
    ("Restrictions", {**US_BAN, "origin": "XX"}, "origin", "unknown origin 'XX'"),
    ("Restrictions", {**US_BAN, "origin": "CN-mine"}, "origin", "is a node"),
    ("Restrictions", {**US_BAN, "via": "CN"}, "via", "origin or via, not both"),
    ("Restrictions", {"rule": "r", "type": "ban", "to": "US", "via": "Narnia"}, "via",
     "unknown via 'Narnia'"),
])
def test_origin_mistakes_are_named_at_their_cell(tmp_path, sheet, row, column, words):
    sheets = _separation()
    sheets[sheet] = [row]
    path = make_workbook(tmp_path / "in.xlsx", sheets)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 1, result.output
    line = next(ln for ln in result.output.splitlines() if words in ln)
    assert f"sheet {sheet}, row 2, column {column}" in line


def test_a_diagnosis_names_the_origin_rule_in_the_way():
    """Neither Chinese nor Australian oxide may reach the US: the US buyer's 50 t cannot be
    met, and the diagnosis names an origin ban (lift it or make it a 50 t quota)."""
    both = [dict(US_BAN), {"rule": "us-no-au", "type": "ban", "to": "US", "origin": "AU"}]
    tables = api.plan(frames(_separation([], both)))
    assert table_rows(tables["Summary"])[0]["status"] == "infeasible"
    found = [r for r in table_rows(tables["Diagnosis"]) if r["kind"] == "alternative"]
    assert found and found[0]["rule"] in ("us-no-cn", "us-no-au")
    assert found[0]["needed"] == pytest.approx(50)


def test_the_frontier_sweeps_an_origin_share(tmp_path):
    """China's share of all oxide customers receive, by origin, with the US unable to take
    Chinese oxide: at most 100 of 150 t (66.7%) even uncapped; at a 60% cap 90 t CN and 60
    t AU: 90 x 10 + 60 x 20 = 2,100."""
    path = make_workbook(tmp_path / "in.xlsx", _separation([], [US_BAN]))
    out = tmp_path / "frontier.xlsx"
    result = CliRunner().invoke(main, ["frontier", str(path), "--material", "oxide",
                                       "--stage", "origin", "--member", "CN", "--from", "1",
                                       "--to", "0.6", "--steps", "5", "-o", str(out)])
    assert result.exit_code == 0, result.output
    from wb import read_plan_sheet
    points = {round(r["cap"], 2): r for r in read_plan_sheet(out, "Frontier")
              if r["point"] == "sweep"}
    assert points[0.6]["total_cost"] == pytest.approx(2100)
    assert points[1.0]["member_share"] == pytest.approx(100 / 150)
