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

import keyword
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd

from .lp import EQ, GE, LE, LinearModel
from .network import CUSTOMER, KINDS, SITE, STOCKPILE, SUPPLIER, Codes, Ids, match, table
from .provenance import ORIGIN, TOUCHED, Tracking

ALL = "all"      # Limits period: the whole horizon
EACH = "each"    # Limits customer: every customer separately

# The flows counted at each stage, looked up by the stage's name; the order the plan shows
# stages in is sheets.STAGES.
STAGE_FLOWS = {
    "supply": lambda f: f["from_kind"].isin([SUPPLIER, STOCKPILE]),
    "processing": lambda f: f["from_kind"] == SITE,
    "delivery": lambda f: f["to_kind"] == CUSTOMER,
    # what customers receive, counted by where it was mined (or mined or processed)
    "origin": lambda f: f["to_kind"] == CUSTOMER,
    "touched": lambda f: f["to_kind"] == CUSTOMER,
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

    def mask(self, spec: object, codes: Codes, side: str) -> np.ndarray:
        """The flows whose `side` ("from" or "to") node is `spec`, or lies in its country or
        group."""
        node = codes.flow(side)
        if spec is None:
            return np.ones(len(node), bool)
        kind = self.kind(spec)
        if kind == "node":
            return _is(node, codes.nodes, spec)
        country = codes.flow(f"{side}_country")
        if kind == "group":
            return np.isin(country, codes.countries.encode(list(self.groups[spec])))
        return _is(country, codes.countries, spec)


def _is(column: np.ndarray, ids: Ids, value: object) -> np.ndarray:
    """Which codes of `column` are the id `value`."""
    code = ids.encode([value])[0]
    return column == code if code >= 0 else np.zeros(len(column), bool)


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


# Every (from kind, to kind) pair, to find the flows of a stage by their kind codes.
_KIND_PAIRS = pd.DataFrame({"from_kind": np.repeat(KINDS, len(KINDS)),
                            "to_kind": np.tile(KINDS, len(KINDS))})


def _stage(codes: Codes, stage: str) -> np.ndarray:
    """Positions of the flows counted at `stage` (`STAGE_FLOWS`)."""
    counted = STAGE_FLOWS[stage](_KIND_PAIRS).to_numpy(bool)
    return np.flatnonzero(counted[codes.flow("from_kind") * len(KINDS) + codes.flow("to_kind")])


def _members(codes: Codes, sel: np.ndarray, by: str, groups: pd.DataFrame
             ) -> tuple[np.ndarray, np.ndarray, Ids]:
    """One entry per (flow, member) for `by`: the shipping node's country, group(s) or id,
    in flow order (a flow's groups in the order of the Groups table). Returns (position in
    `sel` of each entry, its member code, the members' `Ids`, numbered in sorted order)."""
    if by in ("country", "node"):
        column = "from_country" if by == "country" else "from"
        return np.arange(len(sel)), codes.flow(column)[sel], codes.ids(column)
    names = Ids(groups["group"])
    g_name, g_country = names.encode(groups["group"]), codes.countries.encode(groups["country"])
    known = np.flatnonzero((g_name >= 0) & (g_country >= 0))
    order = known[np.argsort(g_country[known], kind="stable")]   # Groups rows by country
    count = np.bincount(g_country[known], minlength=len(codes.countries))
    start = np.cumsum(count) - count
    c = codes.flow("from_country")[sel]
    n = count[c]
    pos = np.repeat(np.arange(len(sel)), n)
    within = np.arange(len(pos)) - np.repeat(np.cumsum(n) - n, n)
    pair = order[start[c[pos]] + within]
    return pos, g_name[pair], names


def _member_terms(codes: Codes, f_col: np.ndarray, sel: np.ndarray, rule, groups: pd.DataFrame,
                  tracking: Tracking | None) -> tuple[np.ndarray, np.ndarray, Ids, np.ndarray]:
    """`_members`, and the column of each entry: the flow's own at the supply, processing and
    delivery stages; at the origin stage the flow's tonnes of each origin, at the touched
    stage its tonnes that touched each member (by country: each country's layer, by group:
    each group's), from the provenance layers."""
    if rule.stage == ORIGIN:
        layer = tracking.origin
        pos, state, cols = layer.of(sel)
        if rule.by == "country":
            return pos, state, layer.states, cols
        names = Ids(groups["group"])
        g_country = layer.states.encode(groups["country"])
        g, k = match(state, g_country)   # each component once per group of its country
        return pos[g], names.encode(groups["group"].to_numpy())[k], names, cols[g]
    if rule.stage == TOUCHED:
        chosen = rule.member if isinstance(rule.member, tuple) else \
            (rule.member,) if rule.member is not None else None
        if chosen is None:
            pool = set(groups["group"]) if rule.by == "group" else \
                set(codes.countries.values)
            chosen = tuple(m for m in tracking.touched if m in pool)
        names = Ids(chosen)
        parts = []
        for member in chosen:
            pos, state, cols = tracking.touched[member].of(sel)
            yes = state == 1
            parts.append((pos[yes], np.full(yes.sum(), names.encode([member])[0]), cols[yes]))
        pos, member, cols = (np.concatenate([p[i] for p in parts]) if parts
                             else np.zeros(0, np.int64) for i in range(3))
        order = np.argsort(pos, kind="stable")
        return pos[order], member[order], names, cols[order]
    pos, member, members = _members(codes, sel, rule.by, groups)
    return pos, member, members, f_col[sel[pos]]


def _rules(frame: pd.DataFrame) -> list[SimpleNamespace]:
    """The rows of a rules table, each with an attribute per column (`from_` for `from`): what
    itertuples gives, without the namedtuple class it makes on every call (which costs more
    than a few rules' rows)."""
    names = [f"{c}_" if keyword.iskeyword(c) else c for c in frame.columns]
    return [SimpleNamespace(**dict(zip(names, row))) for row in frame.to_numpy(object)]


_TEXT = pd.Series(["text"]).dtype  # the dtype pandas gives a column of text


def _column(parts: list[tuple[object, int]]) -> np.ndarray | pd.api.extensions.ExtensionArray:
    """A column of a family's key table made of each rule's part (an array or Series of its
    n rows, or one value for all of them), typed as pandas types the concatenation of one
    table per rule: object if some rule's part is (a blank, or an object Series); text if
    every part is (a str, or an array of ids); else numbers, as numpy infers them."""
    values = np.concatenate([np.asarray(v, dtype=object) if np.ndim(v)
                             else np.full(n, v, dtype=object) for v, n in parts])
    if any(v is None or isinstance(v, pd.Series) for v, _ in parts):
        return values
    if all(isinstance(v, (str, np.ndarray)) for v, _ in parts):
        return pd.array(values, dtype=_TEXT)
    return np.array(values.tolist())


def add_limits(lp: LinearModel, codes: Codes, f_col: np.ndarray, limits: pd.DataFrame,
               groups: pd.DataFrame, tracking: Tracking | None = None) -> None:
    """Rows `stage_volume`, `share_max`, `share_min` for every Limits rule instance.

    Scopes and member instances are found by grouping the integer codes of the flows (ids
    numbered in sorted order, so the rows come out in the order a sorted group-by on the
    text would give), never by grouping or merging text columns of the 1M-row flow table.
    The key tables are made once, from every rule's columns."""
    if limits.empty:
        return
    material, period, to = codes.flow("material"), codes.flow("period"), codes.flow("to")
    period_rank = codes.periods.ranks()
    stages: dict[str, np.ndarray] = {}
    scope_cols = ["rule", "material", "period", "customer", "stage", "by"]
    scopes = {c: [] for c in scope_cols}
    instances = {c: [] for c in scope_cols + ["member", "min_share", "max_share"]}
    scope_terms, scope_flows, inst_scopes, inst_terms, inst_cols = [], [], [], [], []
    n_scopes = n_inst = 0
    for rule in _rules(limits):
        if rule.stage not in stages:
            stages[rule.stage] = _stage(codes, rule.stage)
        sel = stages[rule.stage]
        if rule.material is not None:
            sel = sel[_is(material[sel], codes.materials, rule.material)]
        if rule.period not in (None, ALL):
            sel = sel[_is(period[sel], codes.periods, rule.period)]
        if rule.customer not in (None, EACH):
            sel = sel[_is(to[sel], codes.nodes, rule.customer)]
        if not len(sel):
            continue  # no flow can enter this stage: the rule holds trivially
        # Scopes: (material, period, customer) of each selected flow, numbered in sorted order.
        key, space = material[sel], len(codes.materials)
        if rule.period is None:
            key, space = key * len(codes.periods) + period_rank[period[sel]], \
                space * len(codes.periods)
        if rule.customer == EACH:
            key, space = key * len(codes.nodes) + to[sel], space * len(codes.nodes)
        local, some = _groups(key, space)
        one = sel[some]  # a flow of each scope
        scope = {
            "rule": rule.rule, "material": codes.materials.decode(material[one]),
            "period": codes.periods.decode(period[one]) if rule.period is None else rule.period,
            "customer": codes.nodes.decode(to[one]) if rule.customer == EACH else rule.customer,
            "stage": rule.stage, "by": rule.by}
        for c, v in scope.items():
            scopes[c].append((v, len(one)))
        scope_terms.append(local + n_scopes)
        scope_flows.append(sel)

        pos, member, members, cols = _member_terms(codes, f_col, sel, rule, groups, tracking)
        if rule.member is not None:
            # A tuple of members (the frontier's --member X --member Y) caps their combined
            # share; a tonne counts once even when its country is in two of the groups.
            chosen = rule.member if isinstance(rule.member, tuple) else (rule.member,)
            hits = members.encode(list(chosen))
            hit = np.isin(member, hits[hits >= 0])
            pos, cols = pos[hit], cols[hit]
            once = np.concatenate(([True], cols[1:] != cols[:-1])) if len(cols) else hit[:0]
            pos, cols = pos[once], cols[once]
            of_scope, label = np.arange(len(one)), " + ".join(chosen)  # every scope
            inst_of = local[pos]
        else:
            if len(members) == 0:
                continue  # no member can have a share: nothing to bound
            inst_of, some = _groups(local[pos] * len(members) + member, len(one) * len(members))
            of_scope = local[pos[some]]
            label = pd.Series(members.decode(member[some]), dtype=object)
        for c in scope_cols:
            v = scope[c]
            instances[c].append((v[of_scope] if isinstance(v, np.ndarray) else v, len(of_scope)))
        for c, v in (("member", label), ("min_share", rule.min_share),
                     ("max_share", rule.max_share)):
            instances[c].append((v, len(of_scope)))
        inst_scopes.append(of_scope + n_scopes)
        inst_terms.append(inst_of + n_inst)
        inst_cols.append(cols)
        n_scopes += len(one)
        n_inst += len(of_scope)
    if not n_scopes:
        return
    scopes = table({**{c: _column(scopes[c]) for c in scope_cols[:4]},
                     "scope": np.arange(n_scopes),
                     **{c: _column(scopes[c]) for c in scope_cols[4:]}})
    v_col = lp.add_columns("stage_volume", len(scopes), 0.0, np.nan, 0.0)
    term_scope, term_flow = np.concatenate(scope_terms), np.concatenate(scope_flows)
    lp.add_rows("stage_volume", scopes, EQ, 0.0,
                np.concatenate([np.arange(len(scopes)), term_scope]),
                np.concatenate([v_col, f_col[term_flow]]),
                np.concatenate([np.ones(len(scopes)), -np.ones(len(term_scope))]))
    inst_scope = np.concatenate(inst_scopes)
    instances = {**{c: _column(instances[c]) for c in scope_cols[:4]}, "scope": inst_scope,
                 **{c: _column(instances[c]) for c in scope_cols[4:] + ["member"]},
                 "instance": np.arange(n_inst),
                 **{c: _column(instances[c]) for c in ("min_share", "max_share")},
                 "volume_col": v_col[inst_scope]}
    term_inst, term_col = np.concatenate(inst_terms), np.concatenate(inst_cols)
    for family, bound, sense in (("share_max", "max_share", LE), ("share_min", "min_share", GE)):
        keep = ~pd.isna(instances[bound])
        rows = table({**{c: v[keep] for c, v in instances.items()},
                      "bound": instances[bound][keep], "sense": _column([(sense, keep.sum())])})
        local = np.full(n_inst, -1)
        local[keep] = np.arange(keep.sum())
        t = keep[term_inst]
        r = local[term_inst[t]]
        lp.add_rows(family, rows, sense, 0.0,
                    np.concatenate([r, np.arange(len(rows))]),
                    np.concatenate([term_col[t], rows["volume_col"].to_numpy()]),
                    np.concatenate([np.ones(len(r)), -rows["bound"].to_numpy(float)]))


def _restricted(layers: Tracking | None, rule, flows: np.ndarray, groups: dict[str, set[str]]
                ) -> tuple[np.ndarray, np.ndarray | None]:
    """The flows of `flows` a rule with an origin or via counts, and their columns: each
    flow's tonnes mined in the origin, or mined or processed in the via member (None: the
    flows' own columns)."""
    if rule.origin is not None:
        layer = layers.origin
        inside = groups.get(rule.origin, {rule.origin})
        pos, state, cols = layer.of(flows)
        keep = np.isin(state, layer.states.encode(list(inside)))
    elif rule.via is not None:
        pos, state, cols = layers.touched[rule.via].of(flows)
        keep = state == 1
    else:
        return flows, None
    return flows[pos[keep]], cols[keep]


def add_restrictions(lp: LinearModel, codes: Codes, f_col: np.ndarray,
                     restrictions: pd.DataFrame, match: Matcher,
                     tracking: Tracking | None = None) -> None:
    """Rows `restriction`: Σ matching flows ≤ 0 (exclude, ban) or ≤ max_t (quota), per period;
    with an origin (or via), Σ of their tonnes mined (or mined or processed) there."""
    if restrictions.empty:
        return
    columns = ["rule", "type", "material", "period", "bound", "sense"]
    keys = {c: [] for c in columns}
    rows, cols = [], []
    n = 0
    material, period = codes.flow("material"), codes.flow("period")
    border = codes.flow("from_country") != codes.flow("to_country")
    not_customer = codes.flow("to_kind") != KINDS.index(CUSTOMER)
    period_rank = codes.periods.ranks()
    by_rank = codes.periods.values[np.argsort(period_rank)]
    for rule in _rules(restrictions):
        hit = np.ones(len(material), bool)
        if rule.material is not None:
            hit &= _is(material, codes.materials, rule.material)
        if rule.period is not None:
            hit &= _is(period, codes.periods, rule.period)
        if rule.type == "exclude":
            # Suppliers, sites and stockpiles matching `from` neither ship nor receive.
            ships = match.mask(rule.from_, codes, "from")
            gets = match.mask(rule.from_, codes, "to") & not_customer
            hit &= ships | gets
        else:
            # A rule that follows the material (origin, via) counts every tonne reaching
            # `to`: one of that origin may have crossed the border as another material.
            follows = rule.origin is not None or rule.via is not None
            hit &= (True if follows else border) & match.mask(rule.from_, codes, "from") \
                & match.mask(rule.to, codes, "to")
        idx, cols_of = _restricted(tracking, rule, np.flatnonzero(hit), match.groups)
        if not len(idx):
            continue  # nothing can flow where the rule applies: it holds trivially
        # One row per period of the matching flows, periods in sorted order.
        ranks, local = np.unique(period_rank[period[idx]], return_inverse=True)
        bound = rule.max_t if rule.type == "quota" else 0.0
        for c, v in zip(columns, (rule.rule, rule.type, rule.material, by_rank[ranks], bound,
                                  "max")):
            keys[c].append((v, len(ranks)))
        rows.append(local + n)
        cols.append(f_col[idx] if cols_of is None else cols_of)
        n += len(ranks)
    if n:
        keys = table({c: _column(keys[c]) for c in columns})
        lp.add_rows("restriction", keys, LE, keys["bound"].to_numpy(float),
                    np.concatenate(rows), np.concatenate(cols), 1.0)
