"""Sheets and columns of the input workbook: the one definition that the reader, the
validator, the template and the docs all use (docs/workbook.md is generated from it).

No other module spells a column name of the input; they refer to the constants
in this module's tables through `SHEETS[...]`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

# Kinds of cell value. The reader turns each cell into the Python type named here.
ID = "id"          # text identifier: node ids, materials, countries (never a number, never NaN)
TEXT = "text"      # free text
NUMBER = "number"  # non-negative float
SIGNED = "signed"  # any float (scenario change values)
SHARE = "share"    # float in [0, 1]; "65%" typed as text is accepted
FLAG = "flag"      # yes/no
PERIOD = "period"  # period label (text; numbers and dates become labels)
CHOICE = "choice"  # one of Column.choices (case-insensitive)

# The largest magnitude a NUMBER or SIGNED cell may hold. HiGHS treats 1e20 as infinite
# (a demand of 1e20 t makes it refuse the model) and refuses matrix values above 1e15; a
# cost of 1e300 leaves the solver "Not Solved". Tonnes or prices above a million million
# are a units mistake, so such cells are refused where they are typed.
MAX_MAGNITUDE = 1e12
# The smallest yield accepted (t of output per t of input): HiGHS silently drops matrix
# entries below 1e-9, and scaling and presolve multiply coefficients together, so a yield
# within a few orders of that can vanish from the model without a word. No process makes
# a millionth of a tonne per tonne: a yield that small is a units mistake.
MIN_YIELD = 1e-6


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    description: str
    required: bool = True      # the column must be present in the sheet
    blank_ok: bool = False     # a cell may be left blank
    choices: tuple[str, ...] = ()
    example: object = None     # shown in the template
    least: float = 0.0         # nonzero values of smaller magnitude are refused


@dataclass(frozen=True)
class Sheet:
    name: str
    description: str
    columns: tuple[Column, ...]
    required: bool = False
    key: tuple[str, ...] = ()  # columns that must be unique together
    example: tuple[dict, ...] = field(default=())

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)


def normalise(label: object) -> str:
    """Key for header and sheet-name matching: case, blanks, punctuation and
    spaces/underscores are ignored (`Capacity (t)` = `capacity_t`, docs/workbook.md)."""
    return re.sub(r"[\W_]+", "", str(label)).lower()


# Limits stages that count what customers receive by where it was mined (origin) or mined
# or processed (touched), and the stages a Limits `customer` applies to.
ORIGIN_STAGES = ("origin", "touched")
CUSTOMER_STAGES = ("delivery", *ORIGIN_STAGES)


def _c(name, kind, description, **kw) -> Column:
    return Column(name, kind, description, **kw)


_OPT = dict(required=False, blank_ok=True)
_BLANK = dict(blank_ok=True)

SHEETS: dict[str, Sheet] = {s.name: s for s in (
    Sheet("Suppliers", "One row per (supplier, material) offer.", required=True,
          key=("supplier", "material", "period"), columns=(
        _c("supplier", ID, "Supplier node id (a mine, trader or producer)."),
        _c("country", ID, "Country of the supplier (ISO 3166 alpha-2 recommended)."),
        _c("material", ID, "Material sold."),
        _c("capacity_t", NUMBER, "Most it can sell per period, t; blank = unlimited.", **_BLANK),
        _c("unit_cost", NUMBER, "Price per t at the supplier, before freight."),
        _c("min_t", NUMBER, "Least it must sell per period (take-or-pay), t; blank = 0.", **_OPT),
        _c("period", PERIOD, "The row applies to this period only and overrides the row "
                             "with a blank period for the same offer.", **_OPT),
    )),
    Sheet("Demand", "One row per (customer, material, period).", required=True,
          key=("customer", "material", "period"), columns=(
        _c("customer", ID, "Customer node id (a plant or buyer)."),
        _c("country", ID, "Country of the customer."),
        _c("material", ID, "Material required."),
        _c("period", PERIOD, "Period label."),
        _c("quantity_t", NUMBER, "Demand, t."),
        _c("unmet_penalty", NUMBER, "Cost per t left undelivered; blank = the Settings default; "
                                    "no default = demand must be met in full.", **_OPT),
    )),
    Sheet("Sites", "Processing sites (refineries, separation plants, converters).",
          key=("site",), columns=(
        _c("site", ID, "Site node id."),
        _c("country", ID, "Country of the site."),
        _c("capacity_t", NUMBER, "Most input t it can process per period, all processes "
                                 "together; blank = unlimited.", **_BLANK),
    )),
    Sheet("Processes", "What each site can make: one row per (site, process, output).",
          columns=(
        _c("site", ID, "A site id from Sites."),
        _c("input_material", ID, "Material consumed."),
        _c("output_material", ID, "Material produced."),
        _c("yield", NUMBER, "t of output per t of input (> 0).", least=MIN_YIELD),
        _c("cost_per_t", NUMBER, "Processing cost per t of input."),
        _c("process", ID, "Rows sharing (site, process) are one process with co-products; "
                          "blank = the row is a process of its own.", **_OPT),
        _c("capacity_t", NUMBER, "Most input t for this process per period.", **_OPT),
    )),
    Sheet("Freight", "Default transport cost between countries.",
          key=("from_country", "to_country", "material"), columns=(
        _c("from_country", ID, "Shipping country."),
        _c("to_country", ID, "Receiving country."),
        _c("cost_per_t", NUMBER, "Freight per t."),
        _c("material", ID, "Only for this material; a row with a material beats one without.",
           **_OPT),
    )),
    Sheet("Lanes", "Overrides for a pair of nodes.", key=("from", "to", "material"), columns=(
        _c("from", ID, "Shipping node id."),
        _c("to", ID, "Receiving node id."),
        _c("material", ID, "Only for this material; blank = all.", **_OPT),
        _c("cost_per_t", NUMBER, "Freight per t; beats Freight. Blank = Freight applies.", **_OPT),
        _c("max_t", NUMBER, "Most t per period on this lane (all materials together when "
                            "material is blank).", **_OPT),
        _c("allowed", FLAG, "`no` closes the lane.", **_OPT),
    )),
    Sheet("Stockpiles", "Strategic reserves and inventories that carry material between periods.",
          key=("stockpile",), columns=(
        _c("stockpile", ID, "Stockpile node id."),
        _c("country", ID, "Country where it is held."),
        _c("material", ID, "The one material it holds."),
        _c("initial_t", NUMBER, "Level before the first period, t.", **_BLANK),
        _c("capacity_t", NUMBER, "Highest level, t; blank = unlimited.", **_OPT),
        _c("min_level_t", NUMBER, "Floor for the level at the end of every period, t; "
                                  "blank = 0.", **_OPT),
        _c("max_release_t", NUMBER, "Most t released per period; blank = unlimited.", **_OPT),
        _c("release_cost", NUMBER, "Cost per t released.", **_OPT),
        _c("holding_cost", NUMBER, "Cost per t held at the end of each period.", **_OPT),
        _c("intake", FLAG, "`yes` if it may buy from suppliers and sites to refill; "
                           "blank = no.", **_OPT),
        _c("origin", ID, "Country where the initial stock was mined (for origin rules); "
                         "blank = the stockpile's country.", **_OPT),
    )),
    Sheet("Periods", "The period labels in planning order.", key=("period",), columns=(
        _c("period", PERIOD, "Period label."),
    )),
    Sheet("Groups", "Named sets of countries, one row per member.", key=("group", "country"),
          columns=(
        _c("group", ID, "Group name (must not also be a country)."),
        _c("country", ID, "Member country."),
    )),
    Sheet("Limits", "Diversification rules: bounds on a member's share of a stage's volume.",
          key=("rule",), columns=(
        _c("rule", ID, "Name shown in reports (unique)."),
        _c("material", ID, "The material; blank = each material of that stage separately.",
           **_OPT),
        _c("stage", CHOICE, "`supply` (sold by suppliers and released by stockpiles), "
                            "`processing` (shipped out of sites), `delivery` (received by "
                            "customers, counted by the node that ships it), `origin` (received "
                            "by customers, counted by the country where it was mined) or "
                            "`touched` (received by customers, counted by each country or "
                            "group where it was mined or processed).",
           choices=("supply", "processing", "delivery", "origin", "touched")),
        _c("by", CHOICE, "`country`, `group` or `node` (not for origin and touched).",
           choices=("country", "group", "node")),
        _c("member", ID, "One country, group or node id; blank = each member separately.",
           **_OPT),
        _c("customer", ID, "Delivery, origin and touched stages only: blank = all customers "
                           "together, an id = that customer, `each` = every customer "
                           "separately.", **_OPT),
        _c("period", PERIOD, "Blank = each period separately; `all` = the whole horizon summed; "
                             "a label = that period only.", **_OPT),
        _c("min_share", SHARE, "Least share of the stage volume for the member (needs a member).",
           **_OPT),
        _c("max_share", SHARE, "Most share of the stage volume for the member.", **_OPT),
        _c("scenario", TEXT, "Scenarios (separated by ;) in which the rule applies; "
                             "blank = all; `except: a; b` = all but those.", **_OPT),
    )),
    Sheet("Restrictions", "Trade rules: exclusions, export bans and quotas.", key=("rule",),
          columns=(
        _c("rule", ID, "Name shown in reports (unique)."),
        _c("type", CHOICE, "`exclude`: suppliers, sites and stockpiles matching `from` may not "
                           "ship or receive the material; `ban`: no flow from `from` to `to` "
                           "across a border; `quota`: such flow is at most max_t per period.",
           choices=("exclude", "ban", "quota")),
        _c("material", ID, "Blank = all materials.", **_OPT),
        _c("from", ID, "A country, group or node id; blank = anything.", **_OPT),
        _c("to", ID, "A country, group or node id; blank = anything.", **_OPT),
        _c("max_t", NUMBER, "The quota per period, t (type quota only).", **_OPT),
        _c("period", PERIOD, "Blank = every period; a label = that period only.", **_OPT),
        _c("origin", ID, "A country or group: the rule counts only tonnes mined there, "
                         "wherever they were processed since, and every such tonne reaching "
                         "`to` (across a border or not); blank = all tonnes.", **_OPT),
        _c("via", ID, "A country or group: as origin, for tonnes mined or processed there "
                      "at any step; blank = all tonnes.", **_OPT),
        _c("scenario", TEXT, "As in Limits.", **_OPT),
    )),
    Sheet("Options", "Yes/no decisions with a fixed cost, solved as a mixed-integer program: "
                     "build or expand a site, sign a supplier's offer.", key=("option",),
          columns=(
        _c("option", ID, "Name shown in reports (unique)."),
        _c("kind", CHOICE, "`site`: add capacity to a site (a new site is a Sites row with "
                           "capacity 0 and its Processes rows); `supplier`: open an offer "
                           "(its Suppliers row sells only if the option is taken).",
           choices=("site", "supplier")),
        _c("node", ID, "The site or supplier id."),
        _c("material", ID, "`supplier` options: the offer's material.", **_OPT),
        _c("capacity_t", NUMBER, "t per period added (site) or made available (supplier; "
                                 "blank = the Suppliers row's capacity).", **_OPT),
        _c("fixed_cost", NUMBER, "Cost if taken, once for the horizon."),
        _c("first_period", PERIOD, "The capacity exists from this period on (build time); "
                                   "blank = all periods.", **_OPT),
        _c("scenario", TEXT, "As in Limits: the option exists only in those scenarios.",
           **_OPT),
    )),
    Sheet("Scenarios", "What-if changes to the base data, one row per change.", columns=(
        _c("scenario", ID, "Scenario name (not `base`, which is the unchanged data)."),
        _c("sheet", ID, "The sheet whose rows change: Suppliers, Sites, Processes, Freight, "
                        "Lanes, Demand, Stockpiles or Options."),
        _c("where", TEXT, "Conditions column=value joined by ; (all must hold; text matches "
                          "ignore case); blank = every row.", **_OPT),
        _c("column", ID, "The numeric column to change (blank for drop).", **_OPT),
        _c("action", CHOICE, "`set`, `multiply`, `add`, or `drop` (remove the matching rows).",
           choices=("set", "multiply", "add", "drop")),
        _c("value", SIGNED, "The number (blank for drop).", **_OPT),
    )),
    Sheet("Risks", "Disruption events with probabilities, for `planner stress` and `planner "
                   "hedge`: each event is a scenario (its Scenarios rows and the rules "
                   "scoped to it).",
          key=("event",), columns=(
        _c("event", ID, "A scenario name (from Scenarios, or a rule's scenario cell)."),
        _c("probability", SHARE, "Chance the event happens within the horizon, in (0, 1]; "
                                 "20% or 0.2."),
        _c("exclusive", ID, "Events sharing this label are alternatives: at most one of them "
                            "happens (their probabilities add up to at most 1). Blank = "
                            "independent of every other event.", **_OPT),
    )),
    Sheet("Settings", "Run settings: two columns, setting and value.", key=("setting",), columns=(
        _c("setting", CHOICE, "Setting name.",
           choices=("currency", "unmet_penalty", "solver", "time_limit_s", "max_outcomes",
                    "spot_premium", "limit_penalty", "mip_gap")),
        _c("value", TEXT, "Its value.", **_BLANK),
    )),
)}

# Settings values, checked by the validator with the same coercion as cells.
SETTINGS: dict[str, Column] = {c.name: c for c in (
    _c("currency", TEXT, "Currency label for money columns (default USD).", **_BLANK),
    _c("unmet_penalty", NUMBER, "Default cost per t undelivered; blank = demand is hard.",
       **_BLANK),
    _c("solver", CHOICE, "`highs` (default) or `cbc`.", choices=("highs", "cbc"), **_BLANK),
    _c("time_limit_s", NUMBER, "Time limit per solve, seconds.", **_BLANK),
    _c("max_outcomes", NUMBER, "`planner stress` and `hedge`: outcomes of the Risks sheet are all solved "
                               "when there are at most this many (default 1024), else "
                               "sampled.", **_BLANK),
    _c("spot_premium", NUMBER, "`planner stress` and `hedge`: tonnes bought outside the contract book "
                               "cost unit_cost x (1 + this); default 0.5.", **_BLANK),
    _c("mip_gap", SHARE, "With Options: a plan is optimal when proved within this relative "
                         "gap of the best possible (default 0.0001).", **_BLANK),
    _c("limit_penalty", NUMBER, "`planner stress` and `hedge`: cost per t by which a Limits rule may be "
                                "broken in an outcome; blank = Limits hold in every outcome.",
       **_BLANK),
)}

DEFAULT_CURRENCY = "USD"
# Sheets people keep beside the data (the template's instructions, the example's sources):
# read by nobody, so not worth a warning.
INFO_SHEETS = ("Instructions", "Sources", "Notes", "README")
SCENARIO_SHEETS = ("Suppliers", "Sites", "Processes", "Freight", "Lanes", "Demand", "Stockpiles",
                   "Options")
NUMERIC_KINDS = (NUMBER, SIGNED, SHARE)
