"""Diversification limits and trade restrictions as rows of the LP (docs/model.md, 4.6-4.8;
the Limits, Restrictions and Groups sheets in docs/workbook.md).

Share rules use one stage-volume column per scope (rule, material, period,
customer): V = Σ stage flows, then member − max_share·V ≤ 0 and
member − min_share·V ≥ 0. Each flow is then counted once per scope and once per
member, so `each`-member rules stay linear in size. Exclusions and bans are rows
`Σ matching flows ≤ 0` rather than deleted arcs, so that their shadow price says
what the rule costs; quotas are the same rows with max_t on the right.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .lp import EQ, GE, LE, LinearModel
from .network import CUSTOMER, SITE, STOCKPILE, SUPPLIER

ALL = "all"      # Limits period: the whole horizon
EACH = "each"    # Limits customer: every customer separately

# The flows counted at each stage, looked up by the stage's name; the order the plan shows
# stages in is sheets.STAGES.
STAGE_FLOWS = {
    "supply": lambda f: f["from_kind"].isin([SUPPLIER, STOCKPILE]),
    "processing": lambda f: f["from_kind"] == SITE,
    "delivery": lambda f: f["to_kind"] == CUSTOMER,
}


@dataclass
class Matcher:
    """Resolves a country / group / node id written in a rule to the flows it matches."""

    nodes: set[str]
    groups: dict[str, set[str]]

    def kind(self, spec: str) -> str:
        if spec in self.nodes:
            return "node"
        if spec in self.groups:
            return "group"
        return "country"

    def mask(self, spec: object, node: pd.Series, country: pd.Series) -> np.ndarray:
        if spec is None:
            return np.ones(len(node), bool)
        kind = self.kind(spec)
        if kind == "node":
            return (node == spec).to_numpy()
        if kind == "group":
            return country.isin(self.groups[spec]).to_numpy()
        return (country == spec).to_numpy()


def _groups(key: np.ndarray, space: int) -> tuple[np.ndarray, np.ndarray]:
    """Number the distinct values of `key` (ints in [0, space)) 0, 1, ... in ascending order:
    (each element's group, one element of each group). A dense table when the key space is
    small, else one sort."""
    if not len(key):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if space <= 4 * len(key) + 4096:
        present = np.zeros(space, bool)
        present[key] = True
        rank = np.cumsum(present) - 1
        inverse, n_groups = rank[key], int(rank[-1]) + 1
    else:
        uniques, inverse = np.unique(key, return_inverse=True)
        n_groups = len(uniques)
    some = np.empty(n_groups, np.int64)
    some[inverse] = np.arange(len(key))
    return inverse, some


class _FlowCodes:
    """Columns of the flow table as integer codes numbered in sorted value order (so that
    ordering codes orders the values as pandas sorts them), computed on first use."""

    def __init__(self, flows: pd.DataFrame):
        self.flows = flows
        self._done: dict[str, tuple[np.ndarray, pd.Index]] = {}

    def __call__(self, column: str) -> tuple[np.ndarray, pd.Index]:
        if column not in self._done:
            # Factorize unsorted (a hash pass), then renumber by the sorted uniques, blanks
            # last as pandas sorts them: much cheaper than factorize(sort=True) on 1M rows.
            codes, uniques = pd.factorize(self.flows[column].to_numpy(object))
            codes = codes.astype(np.int64)
            try:
                order = np.argsort(uniques, kind="stable")
            except TypeError:  # values of mixed types: pandas' own ordering
                order = np.argsort(pd.factorize(uniques, sort=True)[0], kind="stable")
            rank = np.empty(len(uniques) + 1, np.int64)
            rank[order] = np.arange(len(uniques))
            rank[-1] = len(uniques)  # code -1 (blank)
            uniques = uniques[order]
            if (codes < 0).any():
                uniques = np.append(uniques, np.nan)
            self._done[column] = rank[codes], pd.Index(uniques, dtype=object)
        return self._done[column]

    def where(self, column: str, value: object, rows: np.ndarray) -> np.ndarray:
        """The flows among `rows` whose `column` equals `value`."""
        codes, uniques = self(column)
        hit = uniques.get_indexer([value])[0]
        return rows[codes[rows] == hit] if hit >= 0 else rows[:0]


def _members(codes: _FlowCodes, sel: np.ndarray, by: str, groups: pd.DataFrame):
    """One entry per (flow, member) for `by`: the shipping node's country, group(s) or id,
    in flow order (a flow's groups in the order of the Groups table). Returns (position in
    `sel` of each entry, its member code, the member values by code as a Series); codes are
    numbered in sorted value order."""
    if by in ("country", "node"):
        column = "from_country" if by == "country" else "from"
        fc, uniques = codes(column)
        values = pd.Series(uniques, dtype=codes.flows[column].dtype)
        return np.arange(len(sel)), fc[sel], values
    fc, countries = codes("from_country")
    g_codes, g_names = pd.factorize(groups["group"].to_numpy(object), sort=True,
                                    use_na_sentinel=False)
    g_country = countries.get_indexer(groups["country"].to_numpy(object))
    known = np.flatnonzero(g_country >= 0)
    order = known[np.argsort(g_country[known], kind="stable")]   # Groups rows by country
    count = np.bincount(g_country[known], minlength=len(countries))
    start = np.cumsum(count) - count
    c = fc[sel]
    n = count[c]
    pos = np.repeat(np.arange(len(sel)), n)
    within = np.arange(len(pos)) - np.repeat(np.cumsum(n) - n, n)
    pair = order[start[c[pos]] + within]
    values = pd.Series(g_names, dtype=groups["group"].dtype)
    return pos, g_codes[pair].astype(np.int64), values


def add_limits(lp: LinearModel, flows: pd.DataFrame, f_col: np.ndarray, limits: pd.DataFrame,
               groups: pd.DataFrame) -> None:
    """Rows `stage_volume`, `share_max`, `share_min` for every Limits rule instance.

    Scopes and member instances are found by grouping integer codes of the flow columns
    (numbered in sorted value order, so the rows come out in the order a sorted group-by on
    the text would give), never by grouping or merging text columns of the 1M-row flow
    table."""
    scope_cols = ["rule", "material", "period", "customer"]
    if limits.empty:
        return
    codes = _FlowCodes(flows)
    stages: dict[str, np.ndarray] = {}
    scopes, scope_terms, scope_flows, instances, inst_terms, inst_flows = [], [], [], [], [], []
    n_scopes = n_inst = 0
    for rule in limits.itertuples(index=False):
        if rule.stage not in stages:
            stages[rule.stage] = np.flatnonzero(STAGE_FLOWS[rule.stage](flows).to_numpy(bool))
        sel = stages[rule.stage]
        if rule.material is not None:
            sel = codes.where("material", rule.material, sel)
        if rule.period not in (None, ALL):
            sel = codes.where("period", rule.period, sel)
        if rule.customer not in (None, EACH):
            sel = codes.where("to", rule.customer, sel)
        if not len(sel):
            continue  # no flow can enter this stage: the rule holds trivially
        # Scopes: (material, period, customer) of each selected flow, numbered in sorted order.
        key, uniques = codes("material")
        key, space = key[sel], len(uniques)
        for column, varies in (("period", rule.period is None), ("to", rule.customer == EACH)):
            if varies:
                c, uniques = codes(column)
                key, space = key * len(uniques) + c[sel], space * len(uniques)
        local, some = _groups(key, space)
        one = sel[some]  # a flow of each scope
        scope = pd.DataFrame({
            "rule": rule.rule, "material": flows["material"].to_numpy()[one],
            "period": flows["period"].to_numpy()[one] if rule.period is None else rule.period,
            "customer": flows["to"].to_numpy()[one] if rule.customer == EACH else rule.customer,
            "scope": np.arange(n_scopes, n_scopes + len(one))})[scope_cols + ["scope"]]
        scope = scope.assign(stage=rule.stage, by=rule.by)
        scopes.append(scope)
        scope_terms.append(local + n_scopes)
        scope_flows.append(sel)
        n_scopes += len(scope)

        pos, member, values = _members(codes, sel, rule.by, groups)
        if rule.member is not None:
            # A tuple of members (the frontier's --member X --member Y) caps their combined
            # share; a flow counts once even when its country is in two of the groups.
            chosen = rule.member if isinstance(rule.member, tuple) else (rule.member,)
            label = " + ".join(chosen)
            hits = pd.Index(values.to_numpy(object), dtype=object).get_indexer(list(chosen))
            pos = pos[np.isin(member, hits[hits >= 0])]
            pos = pos[np.concatenate(([True], pos[1:] != pos[:-1]))] if len(pos) else pos
            inst = scope.assign(member=label).reset_index(drop=True)  # every scope
            inst_of = local[pos]
        else:
            pair, some = _groups(local[pos] * len(values) + member, len(scope) * len(values))
            inst = scope.iloc[local[pos[some]]].reset_index(drop=True)
            inst["member"] = values.iloc[member[some]].reset_index(drop=True)
            inst_of = pair
        inst["instance"] = np.arange(n_inst, n_inst + len(inst))
        instances.append(inst.assign(min_share=rule.min_share, max_share=rule.max_share))
        inst_terms.append(inst_of + n_inst)
        inst_flows.append(sel[pos])
        n_inst += len(inst)
    if not scopes:
        return
    scopes = pd.concat(scopes, ignore_index=True)
    v_col = lp.add_columns("stage_volume", len(scopes), 0.0, np.nan, 0.0)
    term_scope, term_flow = np.concatenate(scope_terms), np.concatenate(scope_flows)
    lp.add_rows("stage_volume", scopes, EQ, 0.0,
                np.concatenate([np.arange(len(scopes)), term_scope]),
                np.concatenate([v_col, f_col[term_flow]]),
                np.concatenate([np.ones(len(scopes)), -np.ones(len(term_scope))]))
    instances = pd.concat(instances, ignore_index=True)
    instances["volume_col"] = v_col[instances["scope"].to_numpy()]
    term_inst, term_flow = np.concatenate(inst_terms), np.concatenate(inst_flows)
    for family, bound, sense in (("share_max", "max_share", LE), ("share_min", "min_share", GE)):
        keep = instances[bound].notna().to_numpy()
        rows = instances[keep].reset_index(drop=True).assign(bound=lambda d: d[bound],
                                                             sense=sense)
        local = np.full(len(instances), -1)
        local[keep] = np.arange(keep.sum())
        t = keep[term_inst]
        r = local[term_inst[t]]
        lp.add_rows(family, rows, sense, 0.0,
                    np.concatenate([r, np.arange(len(rows))]),
                    np.concatenate([f_col[term_flow[t]], rows["volume_col"].to_numpy()]),
                    np.concatenate([np.ones(len(r)), -rows["bound"].to_numpy(float)]))


class _Coded:
    """A text column as integer codes, for repeated == / isin tests against one value or a
    few values (one pass to encode, then integer comparisons)."""

    def __init__(self, values: pd.Series):
        self.codes, uniques = pd.factorize(values.to_numpy(object), use_na_sentinel=True)
        self.index = pd.Index(uniques)

    def eq(self, value: object) -> np.ndarray:
        hit = self.index.get_indexer([value])[0]
        return self.codes == hit if hit >= 0 else np.zeros(len(self.codes), bool)

    def isin(self, values) -> np.ndarray:
        hits = self.index.get_indexer(list(values))
        return np.isin(self.codes, hits[hits >= 0])


def _coded_mask(match: Matcher, spec: object, node: _Coded, country: _Coded) -> np.ndarray:
    """`Matcher.mask` on coded columns (same result, integer comparisons)."""
    if spec is None:
        return np.ones(len(node.codes), bool)
    kind = match.kind(spec)
    if kind == "node":
        return node.eq(spec)
    if kind == "group":
        return country.isin(match.groups[spec])
    return country.eq(spec)


def add_restrictions(lp: LinearModel, flows: pd.DataFrame, f_col: np.ndarray,
                     restrictions: pd.DataFrame, match: Matcher) -> None:
    """Rows `restriction`: Σ matching flows ≤ 0 (exclude, ban) or ≤ max_t (quota), per period."""
    keys, rows, cols = [], [], []
    n = 0
    if restrictions.empty:
        return
    border = (flows["from_country"] != flows["to_country"]).to_numpy()
    not_customer = (flows["to_kind"] != CUSTOMER).to_numpy()
    coded = {c: _Coded(flows[c]) for c in ("material", "period", "from", "to", "from_country",
                                          "to_country")}
    named = restrictions.rename(columns={"from": "from_", "to": "to_"})
    for rule in named.itertuples(index=False):
        hit = np.ones(len(flows), bool)
        if rule.material is not None:
            hit &= coded["material"].eq(rule.material)
        if rule.period is not None:
            hit &= coded["period"].eq(rule.period)
        if rule.type == "exclude":
            # Suppliers, sites and stockpiles matching `from` neither ship nor receive.
            ships = _coded_mask(match, rule.from_, coded["from"], coded["from_country"])
            gets = _coded_mask(match, rule.from_, coded["to"], coded["to_country"]) \
                & not_customer
            hit &= ships | gets
        else:
            hit &= border & _coded_mask(match, rule.from_, coded["from"], coded["from_country"]) \
                & _coded_mask(match, rule.to_, coded["to"], coded["to_country"])
        idx = np.flatnonzero(hit)
        if not len(idx):
            continue  # nothing can flow where the rule applies: it holds trivially
        periods = flows["period"].to_numpy()[idx]
        labels, local = np.unique(periods, return_inverse=True)
        bound = rule.max_t if rule.type == "quota" else 0.0
        keys.append(pd.DataFrame({"rule": rule.rule, "type": rule.type,
                                  "material": rule.material, "period": labels,
                                  "bound": bound, "sense": "max"}))
        rows.append(local + n)
        cols.append(f_col[idx])
        n += len(labels)
    if keys:
        keys = pd.concat(keys, ignore_index=True)
        lp.add_rows("restriction", keys, LE, keys["bound"].to_numpy(float),
                    np.concatenate(rows), np.concatenate(cols), 1.0)
