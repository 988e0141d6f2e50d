"""Sheets and columns of the plan workbook: one declaration per sheet, as planner/schema.py
is for the input workbook.

For each sheet: its columns in order and the kind of value each holds (tonnes, money, a
share, ... or a unit that depends on the row), the note above its table, the order its rows
are shown in, and which cells are highlighted. The report builds its tables with these
columns, the pipeline fills in the notes, and the writer (planner/excel.py) formats, sorts
and highlights from these declarations alone. docs/plan-workbook.md shows the result.

The tables hold typed values (numbers, booleans, ids); how a value looks is the writer's
business: a FLAG is True/False in the tables and the words yes/no in the plan.
"""
from __future__ import annotations

from dataclasses import dataclass

from .schema import FLAG, ID, SHARE, TEXT

# The stages of a material's journey, in the order the plan shows them everywhere (Mix,
# Comparison, headlines, charts). The input's Limits `stage` takes the same words.
STAGES = ("supply", "processing", "delivery")
# The Mix sheet's stages: the flow stages, then `origin`, what customers receive counted by
# the country where it was mined (only when a rule counts origins, docs/model.md 4.9).
MIX_STAGES = (*STAGES, "origin")

# Kinds of plan value (ID, TEXT, SHARE and FLAG mean what they mean in the input schema).
TONNES = "tonnes"
MONEY = "money"        # in the Settings currency
PRICE = "price"        # money per t
INDEX = "index"        # the HHI, 0 to 10,000
COUNT = "count"
SECONDS = "seconds"
NUMBER = "number"      # a plain number whose unit is said beside it
KINDS = (ID, TEXT, FLAG, SHARE, TONNES, MONEY, PRICE, INDEX, COUNT, SECONDS, NUMBER)


@dataclass(frozen=True)
class PerRow:
    """The kind of a column whose unit depends on the row: looked up by the value in
    column `by`, else `otherwise`."""

    by: str
    kinds: tuple[tuple[str, str], ...]   # (value of `by`, kind)
    otherwise: str


@dataclass(frozen=True)
class Column:
    name: str
    kind: str | PerRow
    signed: bool = False              # a change: shown with its sign (+1.5, -0.3)


# Directions of a presentation sort key.
FIRST_SEEN = "as first seen"      # keeps the plan's order of scenarios and periods
ALPHABETICAL = "alphabetical"
LARGEST_FIRST = "largest first"


@dataclass(frozen=True)
class Order:
    column: str
    direction: str
    blank: float = 0.0               # LARGEST_FIRST: where a blank cell sorts, as a number


# Tests of a highlight (conditional format), on the column's cells.
AT_LEAST = "at least"             # values: (low,)
BETWEEN = "between"               # values: (low, high), both included
EQUALS = "equals"                 # values: (value,)
NONE_OF = "none of"               # values: the values that are not highlighted


@dataclass(frozen=True)
class Highlight:
    column: str
    test: str
    values: tuple
    look: str                         # "at capacity", "near capacity", "binding", "not optimal"
    whole_row: bool = False           # the table's row, not only the cell
    stop: bool = False                # no later highlight applies to a cell this one marks


@dataclass(frozen=True)
class Sheet:
    name: str
    note: str                         # str.format template: {currency} and the like
    columns: tuple[Column, ...]
    order: tuple[Order, ...] = ()     # presentation order; () keeps the report's order
    highlights: tuple[Highlight, ...] = ()
    # A cross table: after the declared columns, one column per scenario, of this kind
    # (named by the scenario); its header row is the first row with its first column.
    per_scenario: str | None = None
    millions: bool = False            # money shown in millions once an amount reaches one
    under: str | None = None          # written below the table of this sheet, not apart

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    def note_for(self, **values) -> str:
        return self.note.format(**values)


def _columns(*pairs: tuple[str, str | PerRow]) -> tuple[Column, ...]:
    return tuple(Column(name, kind) for name, kind in pairs)


COST_PARTS = ("purchase_cost", "processing_cost", "freight_cost", "stockpile_cost",
              "unmet_cost", "option_cost")   # total_cost is their sum
# A scenario's figures: its total cost, the parts, and the tonnes left unmet.
FIGURES = _columns(("total_cost", MONEY), *((c, MONEY) for c in COST_PARTS),
                   ("unmet_t", TONNES))
NOT_OPTIMAL = Highlight("status", NONE_OF, ("optimal", ""), "not optimal")

SUMMARY = Sheet(
    "Summary", "One row per scenario; change_vs_base is its total cost less base's. Money in "
               "{currency}, quantities in t.",
    _columns(("scenario", ID), ("status", ID), ("total_cost", MONEY))
    + (Column("change_vs_base", MONEY, signed=True),
       Column("change_vs_base_pct", SHARE, signed=True))
    + tuple(c for c in FIGURES if c.name != "total_cost"),
    highlights=(NOT_OPTIMAL,), millions=True)

# Tonnes by source: what the meeting asks first ("how many tonnes from which mine").
SOURCING = Sheet(
    "Sourcing", "Tonnes of each material sold by each supplier, shipped out of each site (its "
                "output) and released by each stockpile: over the whole horizon (period all), "
                "then per period. One column per scenario, biggest first; blank: the scenario "
                "has no plan.",
    _columns(("material", ID), ("kind", ID), ("id", ID), ("country", ID), ("period", ID)),
    per_scenario=TONNES)

FLOWS = Sheet(
    "Flows", "Tonnes shipped per period on each arc (flows above 1e-6 t). freight_cost and "
             "purchase_cost are totals in {currency}.",
    _columns(("scenario", ID), ("period", ID), ("material", ID), ("from", ID),
             ("from_kind", ID), ("from_country", ID), ("to", ID), ("to_kind", ID),
             ("to_country", ID), ("quantity_t", TONNES), ("freight_cost", MONEY),
             ("freight_per_t", PRICE), ("unit_cost", PRICE), ("purchase_cost", MONEY)),
    order=(Order("scenario", FIRST_SEEN), Order("period", FIRST_SEEN),
           Order("material", ALPHABETICAL), Order("quantity_t", LARGEST_FIRST)))
# Flows beyond one sheet's rows go on Flows 2, Flows 3, ...; their notes get these.
FLOWS_SPLIT_NOTE = ("Flows exceed one sheet's rows and are split over {parts} sheets: "
                    "{names}.")                    # added to the Summary note
FLOWS_PART_NOTE = "Part {part} of {parts}: rows {first:,} to {last:,} of {total:,}."

_BY_SECTION = PerRow("section", (("cost", MONEY), ("top share", SHARE)), TONNES)
COMPARISON = Sheet(
    "Comparison", "Each scenario against base: change in cost components and unmet t, each "
                  "material's top-country share per stage over the horizon, and the 20 flows "
                  "that changed most (t).",
    _columns(("scenario", ID), ("section", ID), ("item", TEXT), ("base_value", _BY_SECTION),
             ("value", _BY_SECTION), ("change", _BY_SECTION), ("detail", TEXT)))

MIX = Sheet(
    "Mix", "Share of each country per stage (supply = sold by suppliers and released by "
           "stockpiles; processing = shipped out of sites; delivery = received by customers, "
           "by shipping country; origin = received by customers, by the country where it was "
           "mined, when a rule counts origins) and the stage's HHI (0-10,000).",
    _columns(("scenario", ID), ("period", ID), ("material", ID), ("stage", ID),
             ("country", ID), ("quantity_t", TONNES), ("share", SHARE),
             ("stage_total_t", TONNES), ("hhi", INDEX)))

LIMITS = Sheet(
    "Limits", "Every rule instance (Limits, Restrictions, lane caps, stockpile floors). "
              "shadow_price = change in total cost ({currency}) per unit of the rule's bound: "
              "per t of max_t for quotas and lanes and of the level for floors; per 1.0 of the "
              "share for share rules (100 percentage points): <= 0 for max rules, >= 0 for "
              "min rules. value_of_1pt = cost saved if a share bound were loosened by one "
              "percentage point, |shadow_price| x 0.01 (first-order estimate): both are the "
              "marginal view; 0 where cost_of_rule is 0 (another rule holds back the same "
              "tonnes); blank for a rule a best-effort plan breaks (its level past its "
              "bound; Diagnosis lists it). "
              "cost_of_rule = what the whole rule (a Limits or Restrictions row, all its "
              "instances; a lane's cap or a stockpile's floor, every period) costs: the total cost less the total cost without it, solved again "
              "({currency}).",
    _columns(("scenario", ID), ("rule", ID), ("type", ID), ("stage", ID), ("by", ID),
             ("material", ID), ("period", ID), ("customer", ID), ("member", ID),
             ("volume_t", TONNES), ("stage_volume_t", TONNES), ("share", SHARE),
             ("level", PerRow("type", (("limit", SHARE),), TONNES)),
             ("bound", PerRow("type", (("limit", SHARE),), TONNES)), ("sense", ID),
             ("binds", FLAG), ("shadow_price", PRICE), ("value_of_1pt", MONEY),
             ("cost_of_rule", MONEY)),
    highlights=(Highlight("binds", EQUALS, (True,), "binding", whole_row=True),))

_BY_UNIT = PerRow("unit", (("t", TONNES), ("share", SHARE)), NUMBER)
DIAGNOSIS = Sheet(
    "Diagnosis", "Why a scenario has no optimal plan, and the smallest changes found that "
                 "would make it plannable (each in its own units).",
    _columns(("scenario", ID), ("status", ID), ("kind", ID), ("rule", ID), ("material", ID),
             ("period", ID), ("customer", ID), ("member", ID), ("current", _BY_UNIT),
             ("needed", _BY_UNIT), ("change", _BY_UNIT), ("unit", ID), ("explanation", TEXT)))

UNMET = Sheet(
    "Unmet", "Demand left undelivered, t, and its penalty cost.",
    _columns(("scenario", ID), ("customer", ID), ("country", ID), ("material", ID),
             ("period", ID), ("demand_t", TONNES), ("delivered_t", TONNES),
             ("unmet_t", TONNES), ("unmet_penalty", PRICE), ("unmet_cost", MONEY)),
    order=(Order("scenario", FIRST_SEEN), Order("unmet_t", LARGEST_FIRST)))

UTILIZATION = Sheet(
    "Utilization", "Used versus capacity per period: supplier sales, site and process input, "
                   "stockpile end level, lane flow. Blank capacity = unlimited; a process "
                   "without a capacity of its own is listed where it runs.",
    _columns(("scenario", ID), ("period", ID), ("kind", ID), ("id", ID), ("material", ID),
             ("used_t", TONNES), ("capacity_t", TONNES), ("utilization", SHARE)),
    # most loaded first; unlimited capacity (no utilization) after every loaded one
    order=(Order("scenario", FIRST_SEEN), Order("period", FIRST_SEEN),
           Order("utilization", LARGEST_FIRST, blank=-1.0), Order("used_t", LARGEST_FIRST)),
    highlights=(Highlight("utilization", AT_LEAST, (0.999,), "at capacity", stop=True),
                Highlight("utilization", BETWEEN, (0.9, 0.999), "near capacity")))

OPTIONS = Sheet(
    "Options", "Per scenario, each option of the Options sheet: taken or not (a "
               "mixed-integer choice, proved within Settings mip_gap), its fixed cost, the "
               "capacity it adds or opens per period from first_period on, and how much of "
               "its site's or offer's capacity the plan uses over the horizon "
               "(capacity_used, t). Money in "
               "{currency}. Shadow prices on the Limits sheet are those of the plan with these "
               "choices fixed.",
    _columns(("scenario", ID), ("option", ID), ("kind", ID), ("node", ID), ("material", ID),
             ("taken", FLAG), ("fixed_cost", MONEY), ("capacity_t", TONNES),
             ("first_period", ID), ("capacity_used", TONNES)),
    highlights=(Highlight("taken", EQUALS, (True,), "binding"),))

PROVENANCE = Sheet(
    "Provenance", "What each customer received, by the country where it was mined (basis "
                  "origin) and the tonnes that were mined or processed in a country or group "
                  "a rule names (basis touched; a tonne counts once for each), by mass "
                  "balance through sites and stockpiles; share = of what the customer "
                  "received of that material in the period. Where several splits between "
                  "customers meet every rule at the same cost, this is the solver's one "
                  "of them.",
    _columns(("scenario", ID), ("period", ID), ("customer", ID), ("material", ID),
             ("basis", ID), ("member", ID), ("quantity_t", TONNES), ("share", SHARE)),
    order=(Order("scenario", FIRST_SEEN), Order("period", FIRST_SEEN),
           Order("customer", ALPHABETICAL), Order("material", ALPHABETICAL),
           Order("basis", ALPHABETICAL), Order("quantity_t", LARGEST_FIRST)))

RUN_INFO = Sheet(
    "Run info", "Input, versions, model size and seconds per scenario.",
    _columns(("scenario", ID), ("status", ID), ("message", TEXT), ("solver", ID),
             ("start", TEXT), ("time_limit_s", SECONDS), ("variables", COUNT), ("constraints", COUNT),
             ("nonzeros", COUNT), ("model_s", SECONDS), ("solve_s", SECONDS),
             ("report_s", SECONDS), ("seconds", SECONDS), ("input_file", TEXT),
             ("input_sha256", ID), ("planner_version", ID), ("pulp_version", ID),
             ("highspy_version", ID), ("python", ID), ("created_utc", ID)),
    highlights=(NOT_OPTIMAL,))

# The plan workbook's sheets, in the order of the workbook.
PLAN_SHEETS: dict[str, Sheet] = {s.name: s for s in (
    SUMMARY, SOURCING, OPTIONS, FLOWS, COMPARISON, MIX, PROVENANCE, LIMITS, DIAGNOSIS, UNMET,
    UTILIZATION, RUN_INFO)}
# A sheet with nothing to report (Comparison with base alone, Diagnosis when every scenario
# is optimal, Unmet when all demand is met) keeps its header, for the tools that read it,
# and goes to the end of the workbook with this before its note.
NOTHING_TO_REPORT = "Nothing to report: {why}."

# `planner frontier`: the sweep, then the Summary of its points.
FRONTIER = Sheet(
    "Frontier", "Max share of {who} in {material} at the {stage} stage, swept from {start} "
                "to {stop}. Money in {currency}; marginal_cost_per_pt = extra cost per "
                "percentage point of tightening. A cap holds when the plan under it is "
                "optimal and meets all demand: {verdict}.",
    _columns(("scenario", ID), ("point", ID), ("cap", SHARE), ("status", ID),
             ("total_cost", MONEY), ("cost_increase", MONEY), ("marginal_cost_per_pt", MONEY),
             ("unmet_t", TONNES), ("member_share", SHARE), ("hhi", INDEX), ("note", TEXT)))
FRONTIER_SUMMARY = Sheet(
    "Summary", "One row per sweep point (scenario = the cap).",
    _columns(("scenario", ID), ("status", ID)) + FIGURES, highlights=(NOT_OPTIMAL,))
FRONTIER_SHEETS: dict[str, Sheet] = {s.name: s for s in (FRONTIER, FRONTIER_SUMMARY)}


# `planner stress`: every outcome under both policies, then the statistics.
STRESS_COSTS = ("purchase_cost", "contract_cost", "spot_cost", "processing_cost",
                "freight_cost", "stockpile_cost", "unmet_cost", "limit_cost", "option_cost")
STRESS = Sheet(
    "Stress", "{what}, each under two policies: committed (the contract book of the {plan} "
              "plan, {book} {currency}, is paid whatever happens; what it cannot deliver is "
              "bought spot at unit_cost x {spot} or left unmet) and replan (the whole plan "
              "made again knowing the outcome). Money in {currency}; purchase_cost = "
              "contract_cost + spot_cost under committed.{capped}",
    _columns(("outcome", ID), ("events", TEXT), ("probability", SHARE), ("policy", ID),
             ("status", ID), ("total_cost", MONEY), *((c, MONEY) for c in STRESS_COSTS),
             ("unmet_t", TONNES)),
    highlights=(NOT_OPTIMAL,))
RISK = Sheet(
    "Risk", "The cost of the {plan} plan over {what}, per policy (probability-weighted): "
            "VaR = the cost not exceeded with that probability, CVaR = the mean cost of the "
            "worst outcomes beyond it; p_unmet = probability of any unmet demand. Money in "
            "{currency}.{unsolved}",
    _columns(("policy", ID), ("expected_cost", MONEY), ("std_cost", MONEY), ("var_50", MONEY),
             ("var_90", MONEY), ("var_95", MONEY), ("var_99", MONEY), ("cvar_90", MONEY),
             ("cvar_95", MONEY), ("cvar_99", MONEY), ("expected_unmet_t", TONNES),
             ("p_unmet", SHARE), ("p_unsolved", SHARE)))
RISK_SHORTFALLS = Sheet(
    "Shortfalls", "Per customer and material: the probability that some demand is left "
                  "unmet over the horizon, and the expected t unmet.",
    _columns(("policy", ID), ("customer", ID), ("material", ID), ("p_shortfall", SHARE),
             ("expected_shortfall_t", TONNES)), under="Risk")
RISK_EVENTS = Sheet(
    "Events", "Per event: expected cost and unmet t when it happens and when it does not; "
              "effect = the difference. Largest effect on cost first.",
    _columns(("event", ID), ("probability", SHARE), ("policy", ID), ("cost_if_happens", MONEY),
             ("cost_if_not", MONEY))
    + (Column("cost_effect", MONEY, signed=True),)
    + _columns(("unmet_t_if_happens", TONNES), ("unmet_t_if_not", TONNES))
    + (Column("unmet_t_effect", TONNES, signed=True),), under="Risk")
DISTRIBUTION = Sheet(
    "Distribution", "The cost distribution of each policy (or plan), for the chart beside "
                    "the Risk (or Hedge) table: "
                    "p_exceed = the probability that the total cost exceeds total_cost, "
                    "two rows per cost (just below it, and at it). Money in {currency}.",
    _columns(("policy", ID), ("total_cost", MONEY), ("p_exceed", SHARE)))
STRESS_SHEETS: dict[str, Sheet] = {s.name: s for s in (STRESS, RISK, RISK_SHORTFALLS,
                                                        RISK_EVENTS, DISTRIBUTION)}


# `planner hedge`: the hedged contract book, then the comparison of the three plans.
CONTRACTS = Sheet(
    "Contracts", "The hedged contract book (hedged_t: chosen for the least {aim} over {what}; "
                 "{hedged} {currency}) against the base plan's purchases (base_t; {base} "
                 "{currency}), t per supplier offer and period; unit_cost in {currency}/t.",
    _columns(("supplier", ID), ("country", ID), ("material", ID), ("period", ID),
             ("hedged_t", TONNES), ("base_t", TONNES))
    + (Column("change_t", TONNES, signed=True),) + _columns(("unit_cost", PRICE)))
CONTRACT_SUPPLIERS = Sheet(
    "By supplier", "Per supplier, both books over the horizon: tonnes and contract cost "
                   "({currency}), largest hedged cost first.",
    _columns(("supplier", ID), ("country", ID), ("hedged_t", TONNES), ("base_t", TONNES),
             ("hedged_cost", MONEY), ("base_cost", MONEY)), under="Contracts", millions=True)
CONTRACT_COUNTRIES = Sheet(
    "By country", "Per supplier country, both books' contract cost ({currency}) and its "
                  "share of the book.",
    _columns(("country", ID), ("hedged_cost", MONEY), ("base_cost", MONEY),
             ("hedged_share", SHARE), ("base_share", SHARE)), under="Contracts", millions=True)
CONTRACT_SHARES = Sheet(
    "Country shares", "Per material, the supplier countries' tonnes and shares of each book "
                      "over the horizon.",
    _columns(("material", ID), ("country", ID), ("hedged_t", TONNES), ("base_t", TONNES),
             ("hedged_share", SHARE), ("base_share", SHARE)), under="Contracts")
CONTRACT_CONCENTRATION = Sheet(
    "Concentration", "Per material, the HHI of each book's supplier countries (shares in %, "
                     "squared and summed: 10,000 = one country).",
    _columns(("material", ID), ("hedged_hhi", INDEX), ("base_hhi", INDEX)), under="Contracts")
CONTRACT_OPTIONS = Sheet(
    "Options taken", "The options (Options sheet) each book takes before the outcome is "
                     "known, decided with the contracts (first stage); their fixed cost "
                     "({currency}) is paid whatever happens.",
    _columns(("option", ID), ("kind", ID), ("node", ID), ("fixed_cost", MONEY),
             ("hedged", FLAG), ("base", FLAG)), under="Contracts")
HEDGE = Sheet(
    "Hedge", "Three plans compared over {what}: EEV = the base plan's book under risk, "
             "RP = the hedged book, WS = perfect information (each outcome's own best book, "
             "chosen knowing it happens). Contracted tonnes are paid at the base unit_cost "
             "whatever happens; what they cannot deliver is bought spot at unit_cost x "
             "{spot} or left unmet. VSS = EEV - RP (what hedging is worth), EVPI = RP - WS "
             "(what knowing the future would be worth), both in expected_cost. cvar_alpha = "
             "CVaR at {level}; normal_year_cost = the cost when no event happens. Money in "
             "{currency}.{unsolved}",
    _columns(("plan", ID), ("expected_cost", MONEY), ("std_cost", MONEY), ("var_95", MONEY),
             ("cvar_95", MONEY), ("expected_unmet_t", TONNES), ("p_unmet", SHARE),
             ("cvar_level", SHARE), ("cvar_alpha", MONEY), ("normal_year_cost", MONEY)), millions=True)
HEDGE_EVALUATION = Sheet(
    "Evaluation", "Both books on {fresh} fresh samples (not those the hedge was chosen on): "
                  "expected cost with its 95% confidence interval (mean +- 1.96 standard "
                  "errors); VSS paired on the same samples. A large gap to in_sample_cost "
                  "says the hedge needs more --samples.",
    _columns(("plan", ID), ("samples", COUNT), ("expected_cost", MONEY), ("ci_low", MONEY),
             ("ci_high", MONEY), ("in_sample_cost", MONEY)), under="Hedge", millions=True)
RISK_WEIGHTS = Sheet(
    "Risk weights", "The hedge at each --risk-weight: the price of safety, expected cost "
                    "against CVaR at {level} (cvar_alpha) of the hedged book; objective = "
                    "expected cost + weight x CVaR in the stochastic LP.",
    _columns(("risk_weight", NUMBER), ("contract_cost", MONEY), ("expected_cost", MONEY),
             ("cvar_alpha", MONEY), ("std_cost", MONEY), ("expected_unmet_t", TONNES),
             ("objective", MONEY)), under="Hedge", millions=True)
HEDGE_OUTCOMES = Sheet(
    "Outcomes", "Per outcome of {what}: its probability and the total cost and unmet t of "
                "each plan (EEV, RP, WS as on the Hedge sheet). Money in {currency}.",
    _columns(("outcome", ID), ("events", TEXT), ("probability", SHARE), ("eev_cost", MONEY),
             ("eev_unmet_t", TONNES), ("rp_cost", MONEY), ("rp_unmet_t", TONNES),
             ("ws_cost", MONEY), ("ws_unmet_t", TONNES)), millions=True)
HEDGE_SHEETS: dict[str, Sheet] = {s.name: s for s in (
    CONTRACTS, CONTRACT_SUPPLIERS, CONTRACT_COUNTRIES, CONTRACT_SHARES, CONTRACT_CONCENTRATION,
    CONTRACT_OPTIONS, HEDGE, HEDGE_EVALUATION,
    RISK_WEIGHTS, HEDGE_OUTCOMES)}


def declared(title: str) -> Sheet | None:
    """The declaration of a plan or frontier sheet by its title (both Summaries show the same
    kinds); `Flows 2`, `Flows 3`, ... are the Flows continued. None for other sheets."""
    if title == FRONTIER.name:
        return FRONTIER
    if title in STRESS_SHEETS:
        return STRESS_SHEETS[title]
    if title in HEDGE_SHEETS:
        return HEDGE_SHEETS[title]
    if title in PLAN_SHEETS:
        return PLAN_SHEETS[title]
    base, _, part = title.rpartition(" ")
    return FLOWS if base == FLOWS.name and part.isdigit() else None
