"""Every problem of an input workbook's base data as (sheet, row, column, message), and
the typed `Inputs` the model is built from. Scenario changes are checked by
`scenarios.add_scenarios`; `plan.load` runs both, then the checks that need the network.
"""
from __future__ import annotations

import datetime as dt
import difflib

import numpy as np
import pandas as pd

from . import schema
from .cells import coerce, scenario_scope
from .errors import ERROR, WARNING, Problem
from .inputs import ROW, Inputs, Settings, Table
from .schema import CUSTOMER_STAGES, ORIGIN_STAGES
from .workbook import RawWorkbook


def period_sort_key(label: str):
    """Numbers numerically, dates by date, text alphabetically (docs/modelling.md)."""
    try:
        return (0, float(label), "")
    except ValueError:
        pass
    try:
        return (1, dt.date.fromisoformat(label[:10]).toordinal(), label)
    except ValueError:
        return (2, 0.0, label)


def _full_frame(raw: RawWorkbook, name: str) -> pd.DataFrame:
    sheet = schema.SHEETS[name]
    columns = [ROW] + [c.name for c in sheet.columns]
    table = raw.tables.get(name)
    frame = table.frame.copy() if table is not None else pd.DataFrame(columns=[ROW])
    for col in columns:
        if col not in frame.columns:
            frame[col] = None
    return frame[columns].astype(object).where(frame[columns].notna(), None)


def did_you_mean(value: str, known) -> str:
    """' (did you mean X?)' for the known id closest to `value` (ignoring case, spaces and
    punctuation), or ''."""
    keys = {schema.normalise(k): k for k in known if k is not None}
    hit = difflib.get_close_matches(schema.normalise(value), list(keys), n=1, cutoff=0.6)
    return f" (did you mean {keys[hit[0]]!r}?)" if hit else ""


def _listed(labels: list[str], most: int = 8) -> str:
    shown = ", ".join(labels[:most])
    return shown + (f", ... ({len(labels)} in all)" if len(labels) > most else "")


class _Checker:
    """Collects problems; each check method reads the frames and reports cells."""

    def __init__(self, raw: RawWorkbook, frames: dict[str, pd.DataFrame]):
        self.raw, self.frames, self.problems = raw, frames, []

    def table(self, name: str) -> Table:
        table = self.raw.tables.get(name)
        if table is None:  # report against the schema name when the sheet is absent
            sheet = schema.SHEETS[name]
            table = Table(sheet, sheet.name, pd.DataFrame(), {}, {})
        return table

    def add(self, name: str, message: str, row=None, column=None, value=None, severity=ERROR):
        self.problems.append(self.table(name).problem(message, row, column, value, severity))

    def unreadable(self, name: str, *columns: str) -> set[int]:
        """Rows of sheet `name` with an error already in one of `columns`: a value that
        could not be read is blank in the frames, and should not be reported twice."""
        table = self.table(name)
        headers = {table.headers.get(c, c) for c in columns}
        return {p.row for p in self.problems
                if p.severity == ERROR and p.sheet == table.title and p.column in headers}

    def duplicates(self, name: str, key: tuple[str, ...], what: str):
        frame = self.frames[name]
        first: dict[tuple, int] = {}
        for values in zip(frame[ROW], *(frame[k] for k in key)):
            row, ident = values[0], values[1:]
            if all(v is None for v in ident):
                continue
            if ident in first:
                self.add(name, f"the same {what} as row {first[ident]}; merge the two rows or "
                               f"delete one", row, key[0], ident[0])
            else:
                first[ident] = row

    def unknown(self, name: str, column: str, known: set, what: str):
        frame = self.frames[name]
        for row, value in zip(frame[ROW], frame[column]):
            if value is not None and value not in known:
                self.add(name, f"unknown {what} {value!r}{did_you_mean(value, known)}; "
                               f"define it first or fix the spelling", row, column, value)

    def one_country(self, name: str, id_col: str, what: str):
        frame = self.frames[name]
        seen: dict[str, tuple[str, int]] = {}
        for row, node, country in zip(frame[ROW], frame[id_col], frame["country"]):
            if node is None or country is None:
                continue
            if node in seen and seen[node][0] != country:
                self.add(name, f"{what} {node!r} has country {seen[node][0]!r} in row "
                               f"{seen[node][1]}; a node has one country", row, "country", country)
            seen.setdefault(node, (country, row))


def _settings(check: _Checker) -> Settings:
    settings = Settings()
    frame = check.frames["Settings"]
    for row, name, value in zip(frame[ROW], frame["setting"], frame["value"]):
        if name is None:
            continue
        typed, error = coerce(value, schema.SETTINGS[name])
        if name == "time_limit_s" and typed == 0:  # as --time-limit: no solve could finish
            error = "must be more than 0 seconds (leave it blank for no limit)"
        if error:
            check.add("Settings", f"{name}: {error}", row, "value", value)
        elif typed is not None:
            setattr(settings, name, typed)
    return settings


def _periods(check: _Checker) -> list[str]:
    listed = [p for p in check.frames["Periods"]["period"] if p is not None]
    if "Periods" in check.raw.tables and listed:
        known = set(listed)
        for name in ("Suppliers", "Demand"):
            check.unknown(name, "period", known, "period (not on the Periods sheet)")
        return list(dict.fromkeys(listed))
    periods = sorted({p for p in check.frames["Demand"]["period"] if p is not None},
                     key=period_sort_key)
    # Without a Periods sheet the periods are the Demand's: an offer in another would be
    # left out of every period without a word.
    check.unknown("Suppliers", "period", set(periods),
                  "period (no Demand row has it; add a Periods sheet to plan other periods)")
    return periods


def _check_nodes(check: _Checker):
    f = check.frames
    kinds = {
        "supplier": ("Suppliers", "supplier"), "site": ("Sites", "site"),
        "customer": ("Demand", "customer"), "stockpile": ("Stockpiles", "stockpile"),
    }
    owner: dict[str, str] = {}
    for kind, (name, col) in kinds.items():
        frame = f[name]
        for row, node in zip(frame[ROW], frame[col]):
            if node is None:
                continue
            other = owner.setdefault(node, kind)
            if other != kind:
                check.add(name, f"id {node!r} is already used by a {other}; node ids must be "
                                f"unique across suppliers, sites, customers and stockpiles",
                          row, col, node)
    check.one_country("Suppliers", "supplier", "supplier")
    check.one_country("Demand", "customer", "customer")
    return set(owner)


def _check_duplicates(check: _Checker):
    """Rows repeating the key their sheet declares in the schema."""
    for sheet in schema.SHEETS.values():
        if sheet.key:
            what = sheet.key[0] if len(sheet.key) == 1 else f"({', '.join(sheet.key)})"
            check.duplicates(sheet.name, sheet.key, what)


def _check_suppliers(check: _Checker):
    frame = check.frames["Suppliers"]
    for row, lo, hi in zip(frame[ROW], frame["min_t"], frame["capacity_t"]):
        if lo is not None and hi is not None and lo > hi:
            check.add("Suppliers", f"min_t {lo:g} is above capacity_t {hi:g}", row, "min_t", lo)


def _check_processes(check: _Checker):
    frame = check.frames["Processes"]
    check.unknown("Processes", "site", set(check.frames["Sites"]["site"]), "site (not on Sites)")
    for row, value in zip(frame[ROW], frame["yield"]):
        if value is not None and value <= 0:
            check.add("Processes", "yield must be above 0 (t of output per t of input)",
                      row, "yield", value)
    named = frame[frame["process"].notna()]
    for (site, process), rows in named.groupby(["site", "process"], sort=False):
        first = rows.iloc[0]
        for col in ("input_material", "cost_per_t", "capacity_t"):
            for _, other in rows.iloc[1:].iterrows():
                if other[col] != first[col]:
                    check.add("Processes", f"process {process!r} at {site!r} has {col} "
                                           f"{first[col]!r} in row {first[ROW]}; rows of one "
                                           f"process must agree", other[ROW], col, other[col])
    dup = named.duplicated(["site", "process", "output_material"])
    for _, r in named[dup].iterrows():
        check.add("Processes", f"process {r['process']!r} at {r['site']!r} lists output "
                               f"{r['output_material']!r} twice", r[ROW], "output_material",
                  r["output_material"])


def _check_sites(check: _Checker):
    with_process = set(check.frames["Processes"]["site"])
    for row, site in zip(check.frames["Sites"][ROW], check.frames["Sites"]["site"]):
        if site is not None and site not in with_process:
            check.add("Sites", f"site {site!r} has no row on the Processes sheet; it can make "
                               f"nothing", row, "site", site, WARNING)


def _check_stockpiles(check: _Checker):
    frame = check.frames["Stockpiles"]
    for _, r in frame.iterrows():
        cap = r["capacity_t"]
        for col in ("initial_t", "min_level_t"):
            if cap is not None and r[col] is not None and r[col] > cap:
                check.add("Stockpiles", f"{col} {r[col]:g} is above capacity_t {cap:g}",
                          r[ROW], col, r[col])


def _check_lanes(check: _Checker, nodes: set[str]):
    check.unknown("Lanes", "from", nodes, "node")
    check.unknown("Lanes", "to", nodes, "node")
    for r in check.frames["Lanes"].to_dict("records"):
        if all(r[c] is None for c in ("cost_per_t", "max_t", "allowed")):
            check.add("Lanes", "the row gives no cost_per_t, max_t or allowed: it changes "
                               "nothing (unless a scenario sets one)", r[ROW], "cost_per_t",
                      None, WARNING)


_MATERIAL_CELLS = (("Suppliers", "material"), ("Demand", "material"),
                   ("Processes", "input_material"), ("Processes", "output_material"),
                   ("Stockpiles", "material"), ("Freight", "material"), ("Lanes", "material"),
                   ("Limits", "material"), ("Restrictions", "material"))


# Cells holding an id, by what the id names: (sheet, column, category, kind of id).
# Limits `member` and Restrictions `from`/`to` are sorted into categories row by row.
_ID_CELLS = (
    ("Suppliers", "supplier", "node", "supplier"), ("Sites", "site", "node", "site"),
    ("Processes", "site", "node", "site"), ("Demand", "customer", "node", "customer"),
    ("Stockpiles", "stockpile", "node", "stockpile"), ("Lanes", "from", "node", "node"),
    ("Lanes", "to", "node", "node"), ("Limits", "customer", "node", "customer"),
    *((name, "country", "country", "country")
      for name in ("Suppliers", "Demand", "Sites", "Stockpiles", "Groups")),
    ("Freight", "from_country", "country", "country"),
    ("Freight", "to_country", "country", "country"),
    ("Groups", "group", "group", "group"),
    *((name, column, "material", "material") for name, column in _MATERIAL_CELLS),
)
_PLURAL = {"supplier": "suppliers", "site": "sites", "customer": "customers",
           "stockpile": "stockpiles", "node": "nodes", "country": "countries",
           "group": "groups", "material": "materials"}


def _id_cells(check: _Checker):
    """(sheet, column, category, kind, frame of ROW and the id) for every cell holding an id."""
    f = check.frames
    for name, column, category, kind in _ID_CELLS:
        cells = f[name][[ROW, column]]
        if name == "Limits" and column == "customer":
            cells = cells[cells[column].ne("each")]
        yield name, column, category, kind, cells
    by = f["Limits"]["by"]
    for category in ("node", "country", "group"):
        yield "Limits", "member", category, category, f["Limits"].loc[by.eq(category),
                                                                     [ROW, "member"]]
    # Restrictions name a node, group or country: an id known as one is that; an unknown one
    # is compared with all three.
    known = {"node": set(), "country": set(), "group": set()}
    for name, column, category, kind in _ID_CELLS:
        if category in known:
            known[category].update(f[name][column].dropna())
    for column in ("from", "to"):
        cells = f["Restrictions"][[ROW, column]]
        unknown = ~cells[column].isin(set().union(*known.values()))
        for category, ids in known.items():
            yield ("Restrictions", column, category, category,
                   cells[cells[column].isin(ids) | unknown])


def _check_id_spelling(check: _Checker):
    """Ids match exactly: two spellings of one id that differ only in case, spaces or
    punctuation (`Cathode Osaka`, `Cathode-Osaka`) name two different things, which is
    almost always a typo. One warning per spelling, at its first cell, against the most
    used spelling (the first seen on a tie). Linear: grouped by the normalised id."""
    # category -> normalised id -> spelling -> [cells, first (sheet, row, column), kinds]
    seen: dict[str, dict[str, dict[str, list]]] = {}
    for name, column, category, kind, cells in _id_cells(check):
        # Each spelling's number of cells and first row (factorize numbers them in order of
        # appearance; a blank is -1): a group-by's work at a fraction of its fixed cost.
        codes, spellings = pd.factorize(cells[column].to_numpy(object))
        counted = np.flatnonzero(codes >= 0)
        if not len(counted):
            continue
        _, first = np.unique(codes[counted], return_index=True)
        firsts = cells[ROW].to_numpy()[counted[first]]
        sizes = np.bincount(codes[counted], minlength=len(spellings))
        by_key = seen.setdefault(category, {})
        for spelling, first, size in zip(spellings, firsts, sizes):
            entry = by_key.setdefault(schema.normalise(spelling), {}).setdefault(
                spelling, [0, (name, int(first), column), set()])
            entry[0] += int(size)
            entry[2].add(kind)
    for by_key in seen.values():
        for spellings in by_key.values():
            if len(spellings) < 2:
                continue
            order = list(spellings)
            common = max(order, key=lambda s: (spellings[s][0], -order.index(s)))
            c_name, c_row, _ = spellings[common][1]
            for spelling in order:
                if spelling == common:
                    continue
                count, (name, row, column), kinds = spellings[spelling]
                kinds = kinds | spellings[common][2]
                what = _PLURAL[next(iter(kinds)) if len(kinds) == 1 else "node"]
                check.add(name, f"{spelling!r} ({check.table(name).title} row {row}) and "
                                f"{common!r} ({check.table(c_name).title} row {c_row}) differ "
                                f"only in case, spaces or punctuation; ids must match exactly, "
                                f"so these are two different {what}", row, column, spelling,
                          WARNING)


def _check_sources(check: _Checker):
    f = check.frames
    sources = (set(f["Suppliers"]["material"]) | set(f["Processes"]["output_material"])
               | set(f["Stockpiles"]["material"]))
    for row, material in zip(f["Demand"][ROW], f["Demand"]["material"]):
        if material is not None and material not in sources:
            check.add("Demand", f"no supplier, process or stockpile provides {material!r}; "
                                f"add a source or fix the spelling", row, "material", material)


def _check_rules(check: _Checker, nodes: set[str], periods: list[str]):
    f = check.frames
    countries = set()
    for name in ("Suppliers", "Demand", "Sites", "Stockpiles"):
        countries |= {c for c in f[name]["country"] if c is not None}
    groups = set(f["Groups"]["group"]) - {None}
    for row, group, member in zip(f["Groups"][ROW], f["Groups"]["group"],
                                  f["Groups"]["country"]):
        if group in countries:
            check.add("Groups", f"group {group!r} is also a country of a node; rename the group",
                      row, "group", group)
        if member in groups:
            check.add("Groups", f"{member!r} is a group; a group's members are countries (list "
                                f"its countries instead)", row, "country", member)
    customers = set(f["Demand"]["customer"]) - {None}
    origins = ({c for c in f["Suppliers"]["country"]} | {c for c in f["Sites"]["country"]}
               | {c for c in f["Stockpiles"]["country"]}
               | {c for c in f["Stockpiles"]["origin"]}) - {None}
    known_periods = set(periods)
    for name in ("Limits", "Restrictions"):
        for row, period in zip(f[name][ROW], f[name]["period"]):
            if period is not None and period not in known_periods and not (
                    name == "Limits" and period.lower() == "all"):
                check.add(name, f"unknown period {period!r}{did_you_mean(period, periods)}; "
                          f"use a period label ({_listed(periods)})"
                          + (", all," if name == "Limits" else "") + " or leave it blank",
                          row, "period", period)
    unreadable_share = check.unreadable("Limits", "min_share", "max_share")
    for r in f["Limits"].to_dict("records"):
        row = r[ROW]
        if r["min_share"] is None and r["max_share"] is None and row not in unreadable_share:
            check.add("Limits", "give min_share, max_share or both", row, "max_share")
        if r["min_share"] is not None and r["max_share"] is not None \
                and r["min_share"] > r["max_share"]:
            check.add("Limits", f"min_share {r['min_share']:g} is above max_share "
                                f"{r['max_share']:g}", row, "min_share", r["min_share"])
        if r["min_share"] is not None and r["member"] is None:
            check.add("Limits", "min_share needs a member (a floor for each member separately "
                                "cannot hold for all)", row, "member")
        if r["customer"] is not None and r["stage"] not in (None, *CUSTOMER_STAGES):
            check.add("Limits", "customer applies to the delivery, origin and touched stages "
                                "only; clear it or set one of those stages", row, "customer",
                      r["customer"])
        elif r["customer"] not in (None, "each") and r["customer"] not in customers:
            check.add("Limits", f"unknown customer {r['customer']!r}"
                                f"{did_you_mean(r['customer'], customers)}; use a Demand "
                                f"customer, each, or leave it blank", row, "customer",
                      r["customer"])
        member, by = r["member"], r["by"]
        if r["stage"] in ORIGIN_STAGES and by == "node":
            check.add("Limits", f"stage {r['stage']} counts tonnes by the country where they "
                                f"were mined{' or processed' if r['stage'] == 'touched' else ''}"
                                f": use by country or group, not node", row, "by", by)
        elif member is not None and by == "group" and member not in groups:
            check.add("Limits", f"unknown group {member!r}{did_you_mean(member, groups)}; "
                                f"define it on the Groups sheet", row, "member", member)
        elif member is not None and by == "node" and member not in nodes:
            check.add("Limits", f"unknown node {member!r}{did_you_mean(member, nodes)}",
                      row, "member", member)
        elif member is not None and by == "country" and member not in countries:
            check.add("Limits", f"no node is in country {member!r}; the rule matches nothing",
                      row, "member", member, WARNING)
    materials = (set(f["Suppliers"]["material"]) | set(f["Processes"]["input_material"])
                 | set(f["Processes"]["output_material"]) | set(f["Stockpiles"]["material"])
                 | set(f["Demand"]["material"])) - {None}
    for name in ("Limits", "Restrictions"):
        for row, material in zip(f[name][ROW], f[name]["material"]):
            if material is not None and material not in materials:
                check.add(name, f"no sheet mentions material {material!r}; the rule matches "
                                f"nothing (check the spelling)", row, "material", material,
                          WARNING)
    bad_max_t = check.unreadable("Restrictions", "max_t")  # already an error at the cell
    for r in f["Restrictions"].to_dict("records"):
        row = r[ROW]
        if r["type"] == "quota" and r["max_t"] is None and row not in bad_max_t:
            check.add("Restrictions", "a quota needs max_t (t per period)", row, "max_t")
        if r["type"] == "exclude" and r["from"] is None:
            check.add("Restrictions", "exclude needs from: the supplier, site, stockpile, "
                                      "country or group to exclude", row, "from")
        # Cells the rule's type does not read: said, since the user meant something by them.
        if r["type"] in ("ban", "exclude") and r["max_t"] is not None:
            check.add("Restrictions", f"max_t is read only for a quota: a {r['type']} stops "
                                      f"every tonne (type quota caps them at max_t)", row,
                      "max_t", r["max_t"], WARNING)
        if r["type"] == "exclude" and r["to"] is not None:
            check.add("Restrictions", "exclude does not read to: it keeps from out of the "
                                      "material on every route (type ban stops one route)",
                      row, "to", r["to"], WARNING)
        if r["type"] == "exclude" and r["from"] in customers:
            check.add("Restrictions", f"{r['from']!r} is a customer: exclude keeps suppliers, "
                                      f"sites and stockpiles out; the rule matches nothing",
                      row, "from", r["from"], WARNING)
        for col in ("from", "to"):
            spec = r[col]
            if spec is not None and spec not in nodes | groups | countries:
                check.add("Restrictions", f"{spec!r} is no node, group or country of a node; "
                                          f"the rule matches nothing", row, col, spec, WARNING)
        if r["origin"] is not None and r["via"] is not None:
            check.add("Restrictions", "give origin or via, not both (write two rules)", row,
                      "via", r["via"])
        for col, what in (("origin", "mined"), ("via", "mined or processed")):
            spec = r[col]
            if spec is None or spec in groups or spec in origins:
                continue
            hint = (f"; {spec!r} is a node: name its country" if spec in nodes else
                    did_you_mean(spec, origins | groups))
            check.add("Restrictions", f"unknown {col} {spec!r}{hint}: give a country where "
                                      f"material is {what} (a supplier's, site's or "
                                      f"stockpile's) or a group of the Groups sheet", row, col,
                      spec)


def _check_options(check: _Checker, periods: list[str]):
    """Options name a site with a capacity, or a supplier's offer with a capacity."""
    f = check.frames
    sites = dict(zip(f["Sites"]["site"], f["Sites"]["capacity_t"]))
    offers: dict[tuple, list] = {}
    for supplier, material, capacity in zip(f["Suppliers"]["supplier"],
                                            f["Suppliers"]["material"],
                                            f["Suppliers"]["capacity_t"]):
        offers.setdefault((supplier, material), []).append(capacity)
    suppliers = {s for s, _ in offers}
    for r in f["Options"].to_dict("records"):
        row, node, kind = r[ROW], r["node"], r["kind"]
        if node is None or kind is None:
            continue  # a blank required cell is reported by the reader
        if kind == "site":
            if node not in sites:
                check.add("Options", f"no site {node!r}{did_you_mean(node, set(sites))}: a "
                                     f"site option adds capacity to a Sites row (a new site: "
                                     f"capacity 0)", row, "node", node)
            elif sites[node] is None:
                check.add("Options", f"site {node!r} has no capacity limit, so capacity added "
                                     f"to it changes nothing: give it capacity_t on the Sites "
                                     f"sheet (0 for a site to build)", row, "node", node)
            elif r["capacity_t"] is None:
                check.add("Options", "a site option needs capacity_t: the t per period it adds",
                          row, "capacity_t")
        elif node not in suppliers:
            check.add("Options", f"no supplier {node!r}{did_you_mean(node, suppliers)}",
                      row, "node", node)
        elif r["material"] is None or (node, r["material"]) not in offers:
            sold = sorted(m for s, m in offers if s == node)
            what = (f"give material: a supplier option opens one of {node}'s offers"
                    if r["material"] is None else
                    f"supplier {node!r} has no offer of {r['material']!r} on the Suppliers "
                    f"sheet; a supplier option opens one of its offers")
            check.add("Options", f"{what} ({_listed(sold)})", row, "material", r["material"])
        elif r["capacity_t"] is None and any(c is None for c in offers[(node, r["material"])]):
            check.add("Options", "give capacity_t: the offer it opens has no capacity on the "
                                 "Suppliers sheet", row, "capacity_t")
        period = r["first_period"]
        if period is not None and period not in periods:
            check.add("Options", f"unknown period {period!r}{did_you_mean(period, periods)}",
                      row, "first_period", period)


def _check_scopes(check: _Checker):
    """A rule's or option's scenario cell "except:" naming no scenario: as if blank."""
    for name in ("Limits", "Restrictions", "Options"):
        for row, cell in zip(check.frames[name][ROW], check.frames[name]["scenario"]):
            names, excluding = scenario_scope(cell)
            if excluding and not names:
                check.add(name, "except: names no scenario, so this applies in every scenario "
                                "(as a blank cell): name the scenarios to leave out", row,
                          "scenario", cell, WARNING)


def validate(raw: RawWorkbook, problems: list[Problem]) -> Inputs:
    """The base data of `raw` as `Inputs`; every problem found is added to `problems`
    (nothing is raised: the caller decides once every check has run)."""
    frames = {name: _full_frame(raw, name) for name in schema.SHEETS}
    check = _Checker(raw, frames)
    check.problems = problems
    settings = _settings(check)
    periods = _periods(check)
    nodes = _check_nodes(check)
    _check_duplicates(check)
    _check_suppliers(check)
    _check_processes(check)
    _check_sites(check)
    _check_stockpiles(check)
    _check_lanes(check, nodes)
    _check_scopes(check)
    _check_sources(check)
    _check_id_spelling(check)
    _check_rules(check, nodes, periods)
    _check_options(check, periods)
    if not periods and not any(p.severity == ERROR for p in problems):
        check.add("Demand", "no periods: add Demand rows (or a Periods sheet)")
    return Inputs(raw.path, raw.sha256, frames, periods, settings, read_tables=raw.tables)
