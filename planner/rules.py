"""Diversification limits and trade restrictions as rows of the LP (SPEC §1 Limits,
Restrictions, Groups; §2 last bullet).

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


def _members(sel: pd.DataFrame, by: str, groups: pd.DataFrame) -> pd.DataFrame:
    """One row per (flow, member) for `by`: the shipping node's country, group(s) or id."""
    if by == "country":
        return sel.assign(member=sel["from_country"])
    if by == "node":
        return sel.assign(member=sel["from"])
    return sel.merge(groups.rename(columns={"country": "from_country", "group": "member"}),
                     on="from_country")


def add_limits(lp: LinearModel, flows: pd.DataFrame, f_col: np.ndarray, limits: pd.DataFrame,
               groups: pd.DataFrame) -> None:
    """Rows `stage_volume`, `share_max`, `share_min` for every Limits rule instance."""
    scope_cols = ["rule", "material", "period", "customer"]
    if limits.empty:
        return
    # Only the columns the rules read: filtering copies every column of the frame.
    flows = flows[["from", "to", "material", "period", "from_country", "from_kind",
                   "to_kind"]].assign(flow=np.arange(len(flows)))
    stages = {name: flows[test(flows)] for name, test in STAGE_FLOWS.items()}
    scopes, scope_terms, instances, member_terms = [], [], [], []
    n_scopes = n_inst = 0
    for rule in limits.itertuples(index=False):
        sel = stages[rule.stage]
        if rule.material is not None:
            sel = sel[sel["material"] == rule.material]
        if rule.period not in (None, ALL):
            sel = sel[sel["period"] == rule.period]
        if rule.customer not in (None, EACH):
            sel = sel[sel["to"] == rule.customer]
        if sel.empty:
            continue  # no flow can enter this stage: the rule holds trivially
        keyed = pd.DataFrame({
            "rule": rule.rule, "material": sel["material"].to_numpy(),
            "period": sel["period"].to_numpy() if rule.period is None else rule.period,
            "customer": sel["to"].to_numpy() if rule.customer == EACH else rule.customer,
            "flow": sel["flow"].to_numpy()})
        keyed["scope"] = keyed.groupby(scope_cols[1:], sort=True, dropna=False).ngroup() + n_scopes
        scope = keyed.drop_duplicates("scope").sort_values("scope")[scope_cols + ["scope"]]
        scope = scope.assign(stage=rule.stage, by=rule.by)
        n_scopes += len(scope)
        scopes.append(scope)
        scope_terms.append(keyed[["scope", "flow"]])

        members = _members(sel.assign(scope=keyed["scope"].to_numpy()), rule.by, groups)
        if rule.member is not None:
            # A tuple of members (the frontier's --member X --member Y) caps their combined
            # share; a flow counts once even when its country is in two of the groups.
            chosen = rule.member if isinstance(rule.member, tuple) else (rule.member,)
            label = " + ".join(chosen)
            members = members[members["member"].isin(chosen)].assign(member=label)
            members = members.drop_duplicates(["scope", "flow"])
            inst = scope.assign(member=label)  # every scope, even without member flows
        else:
            inst = scope.merge(members[["scope", "member"]].drop_duplicates(), on="scope")
        inst = inst.sort_values(["scope", "member"]).reset_index(drop=True)
        inst["instance"] = np.arange(n_inst, n_inst + len(inst))
        n_inst += len(inst)
        instances.append(inst.assign(min_share=rule.min_share, max_share=rule.max_share))
        member_terms.append(members.merge(inst[["scope", "member", "instance"]],
                                          on=["scope", "member"])[["instance", "flow"]])
    if not scopes:
        return
    scopes = pd.concat(scopes, ignore_index=True)
    v_col = lp.add_columns("stage_volume", len(scopes), 0.0, np.nan, 0.0)
    terms = pd.concat(scope_terms, ignore_index=True)
    lp.add_rows("stage_volume", scopes, EQ, 0.0,
                np.concatenate([np.arange(len(scopes)), terms["scope"].to_numpy()]),
                np.concatenate([v_col, f_col[terms["flow"].to_numpy()]]),
                np.concatenate([np.ones(len(scopes)), -np.ones(len(terms))]))
    instances = pd.concat(instances, ignore_index=True)
    instances["volume_col"] = v_col[instances["scope"].to_numpy()]
    terms = pd.concat(member_terms, ignore_index=True)
    for family, bound, sense in (("share_max", "max_share", LE), ("share_min", "min_share", GE)):
        keep = instances[bound].notna().to_numpy()
        rows = instances[keep].reset_index(drop=True).assign(bound=lambda d: d[bound],
                                                             sense=sense)
        local = np.full(len(instances), -1)
        local[keep] = np.arange(keep.sum())
        t = terms[keep[terms["instance"].to_numpy()]]
        r = local[t["instance"].to_numpy()]
        lp.add_rows(family, rows, sense, 0.0,
                    np.concatenate([r, np.arange(len(rows))]),
                    np.concatenate([f_col[t["flow"].to_numpy()], rows["volume_col"].to_numpy()]),
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
