"""The fast model builder against a straightforward reference, and the benchmark's smoke run.

`reference_model` builds the model of docs/model.md (with the formulation it documents:
stage-volume columns for share rules, restriction and floor rows) directly from the
network tables, one PuLP constraint at a time with per-constraint expressions, and
names every column and row by what it means. The planner's LinearModel — its raw
term arrays, the column-wise matrix handed to HiGHS, and its PuLP mirror (`to_pulp`,
used for CBC) — must give exactly the same rows, columns, coefficients and bounds
once both are put in a canonical form keyed by meaning.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pulp
import pytest

from planner.lp import EQ, GE, LE
from planner.model import build_model
from planner.network import CUSTOMER, SITE, STOCKPILE, SUPPLIER, build_arcs, build_network
from planner.plan import load

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from generate import world, write_workbook  # noqa: E402

SENSE = {LE: pulp.LpConstraintLE, GE: pulp.LpConstraintGE, EQ: pulp.LpConstraintEQ}


def _v(x):
    """Cell value of a table: None for blank/NaN."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return x


# The reference ------------------------------------------------------------------------------
def reference_model(net) -> tuple[pulp.LpProblem, dict, dict]:
    """(problem, column key by variable name, row key by constraint name)."""
    prob = pulp.LpProblem("reference", pulp.LpMinimize)
    col_key, row_key, cost = {}, {}, []
    flows = [dict(zip(net.flows.columns, r)) for r in net.flows.itertuples(index=False)]
    periods = list(net.periods)

    def var(key, lb, ub, c):
        name = f"v{len(col_key)}"
        col_key[name] = key
        v = pulp.LpVariable(name, lb, ub)
        cost.append((v, c))
        return v

    def row(key, expr, sense, rhs):
        name = f"r{len(row_key)}"
        row_key[name] = key
        prob.addConstraint(pulp.LpConstraint(expr, SENSE[sense], name, rhs))

    f = [var(("flow", r["from"], r["to"], r["material"], r["period"]), 0, None,
             r["unit_cost"] + r["freight"] + r["release_cost"]) for r in flows]
    z = {}
    for p in net.processes.itertuples(index=False):
        for t in periods:
            z[p.process_id, t] = var(("activity", p.process_id, t), 0, _v(p.capacity_t),
                                     p.cost_per_t)
    u = {}
    for d in net.demand.itertuples(index=False):
        if _v(d.unmet_penalty) is not None:
            u[d.customer, d.material, d.period] = var(
                ("unmet", d.customer, d.material, d.period), 0, d.quantity_t, d.unmet_penalty)
    level = {}
    for s in net.stockpiles.itertuples(index=False):
        for t in periods:
            level[s.stockpile, t] = var(("level", s.stockpile, t), 0, _v(s.capacity_t),
                                        s.holding_cost)

    def flows_where(**cond):
        return [f[k] for k, r in enumerate(flows) if all(r[c] == v for c, v in cond.items())]

    # Supplier sales within [min_t, capacity_t].
    for o in net.offers.itertuples(index=False):
        sold = pulp.lpSum(flows_where(**{"from": o.supplier, "material": o.material,
                                         "period": o.period, "from_kind": SUPPLIER}))
        if _v(o.capacity_t) is not None:
            row(("supplier_max", o.supplier, o.material, o.period), sold, LE, o.capacity_t)
        if o.min_t > 0:
            row(("supplier_min", o.supplier, o.material, o.period), sold, GE, o.min_t)

    # Sites: input balance, output bound, capacity.
    procs = list(net.processes.itertuples(index=False))
    for site, material in dict.fromkeys((p.site, p.input_material) for p in procs):
        for t in periods:
            inflow = flows_where(to=site, material=material, period=t, to_kind=SITE)
            used = [z[p.process_id, t] for p in procs
                    if p.site == site and p.input_material == material]
            row(("site_input", site, material, t), pulp.lpSum(inflow) - pulp.lpSum(used), EQ, 0)
    outs = net.outputs.to_dict("records")
    for site, material in dict.fromkeys((o["site"], o["output_material"]) for o in outs):
        for t in periods:
            outflow = flows_where(**{"from": site, "material": material, "period": t,
                                     "from_kind": SITE})
            made = [o["yield"] * z[o["process_id"], t] for o in outs
                    if o["site"] == site and o["output_material"] == material]
            row(("site_output", site, material, t), pulp.lpSum(outflow) - pulp.lpSum(made),
                LE, 0)
    for s in net.sites.itertuples(index=False):
        if _v(s.capacity_t) is None:
            continue
        for t in periods:
            row(("site_capacity", s.site, t),
                pulp.lpSum(z[p.process_id, t] for p in procs if p.site == s.site), LE,
                s.capacity_t)

    # Demand: deliveries + unmet = quantity.
    for d in net.demand.itertuples(index=False):
        got = flows_where(to=d.customer, material=d.material, period=d.period,
                          to_kind=CUSTOMER)
        extra = [u[d.customer, d.material, d.period]] if (d.customer, d.material,
                                                          d.period) in u else []
        row(("demand", d.customer, d.material, d.period), pulp.lpSum(got + extra), EQ,
            d.quantity_t)

    # Stockpiles: balance, release cap, floor.
    for s in net.stockpiles.itertuples(index=False):
        for i, t in enumerate(periods):
            intake = flows_where(to=s.stockpile, period=t, to_kind=STOCKPILE)
            release = flows_where(**{"from": s.stockpile, "period": t,
                                     "from_kind": STOCKPILE})
            expr = level[s.stockpile, t] - pulp.lpSum(intake) + pulp.lpSum(release)
            if i > 0:
                expr = expr - level[s.stockpile, periods[i - 1]]
            row(("stockpile_balance", s.stockpile, t), expr, EQ,
                s.initial_t if i == 0 else 0.0)
            if _v(s.max_release_t) is not None:
                row(("stockpile_release", s.stockpile, t), pulp.lpSum(release), LE,
                    s.max_release_t)
            if s.min_level_t > 0:
                row(("stockpile_floor", s.stockpile, t), level[s.stockpile, t], GE,
                    s.min_level_t)

    # Lane caps, per period.
    for lane in net.lane_caps.itertuples(index=False):
        for t in periods:
            hit = [f[k] for k, r in enumerate(flows)
                   if r["from"] == lane[1] and r["to"] == lane.to and r["period"] == t
                   and (_v(lane.material) is None or r["material"] == lane.material)]
            row(("lane_cap", lane.lane, t), pulp.lpSum(hit), LE, lane.max_t)

    _reference_limits(net, flows, f, var, row)
    _reference_restrictions(net, flows, f, row)
    prob.setObjective(pulp.LpAffineExpression([(v, c) for v, c in cost if c != 0]))
    prob.addVariables([v for v, _ in cost])
    return prob, col_key, row_key


def _stage(r, stage):
    if stage == "supply":
        return r["from_kind"] in (SUPPLIER, STOCKPILE)
    if stage == "processing":
        return r["from_kind"] == SITE
    return r["to_kind"] == CUSTOMER


def _reference_limits(net, flows, f, var, row):
    groups = defaultdict(set)
    for g in net.groups.itertuples(index=False):
        groups[g.country].add(g.group)
    for rule in net.limits.itertuples(index=False):
        scope_of = {}
        for k, r in enumerate(flows):
            if not _stage(r, rule.stage):
                continue
            if rule.material is not None and r["material"] != rule.material:
                continue
            if rule.period not in (None, "all") and r["period"] != rule.period:
                continue
            if rule.customer not in (None, "each") and r["to"] != rule.customer:
                continue
            scope_of[k] = (rule.rule, r["material"],
                           r["period"] if rule.period is None else rule.period,
                           r["to"] if rule.customer == "each" else rule.customer)
        if not scope_of:
            continue
        volume = {}
        for scope in dict.fromkeys(scope_of.values()):
            volume[scope] = var(("stage_volume",) + scope, 0, None, 0.0)
            members = [f[k] for k, s in scope_of.items() if s == scope]
            row(("stage_volume",) + scope, volume[scope] - pulp.lpSum(members), EQ, 0)
        terms = defaultdict(list)   # (scope, member) -> flows
        for k, scope in scope_of.items():
            r = flows[k]
            names = ([r["from_country"]] if rule.by == "country" else [r["from"]]
                     if rule.by == "node" else sorted(groups.get(r["from_country"], ())))
            for m in names:
                if rule.member is None or m == rule.member:
                    terms[scope, m].append(f[k])
        if rule.member is not None:
            instances = [(scope, rule.member) for scope in volume]
        else:
            instances = list(terms)
        for scope, member in instances:
            key = scope + (member,)
            if _v(rule.max_share) is not None:
                row(("share_max",) + key, pulp.lpSum(terms[scope, member])
                    - rule.max_share * volume[scope], LE, 0)
            if _v(rule.min_share) is not None:
                row(("share_min",) + key, pulp.lpSum(terms[scope, member])
                    - rule.min_share * volume[scope], GE, 0)


def _reference_restrictions(net, flows, f, row):
    nodes = set(net.nodes["node"])
    groups = defaultdict(set)
    for g in net.groups.itertuples(index=False):
        groups[g.group].add(g.country)

    def matches(spec, node, country):
        if spec is None:
            return True
        if spec in nodes:
            return node == spec
        if spec in groups:
            return country in groups[spec]
        return country == spec

    for rule in net.restrictions.itertuples(index=False):
        src, dst = rule[3], rule[4]  # from, to
        by_period = defaultdict(list)
        for k, r in enumerate(flows):
            if rule.material is not None and r["material"] != rule.material:
                continue
            if rule.period is not None and r["period"] != rule.period:
                continue
            if rule.type == "exclude":
                hit = matches(src, r["from"], r["from_country"]) or (
                    matches(src, r["to"], r["to_country"]) and r["to_kind"] != CUSTOMER)
            else:
                hit = (r["from_country"] != r["to_country"]
                       and matches(src, r["from"], r["from_country"])
                       and matches(dst, r["to"], r["to_country"]))
            if hit:
                by_period[r["period"]].append(f[k])
        for t, hit in by_period.items():
            row(("restriction", rule.rule, t), pulp.lpSum(hit), LE,
                rule.max_t if rule.type == "quota" else 0.0)


# Canonical forms ----------------------------------------------------------------------------
def _canonical_pulp(prob, col_key, row_key):
    cols = {col_key[v.name]: (v.lowBound or 0.0, v.upBound, 0.0) for v in prob.variables()}
    for v, c in prob.objective.items():
        lb, ub, _ = cols[col_key[v.name]]
        cols[col_key[v.name]] = (lb, ub, c)
    rows, terms = {}, {}
    for name, c in prob.constraints.items():
        rows[row_key[name]] = (c.sense, -c.constant)
        for v, a in c.items():
            if a != 0:
                terms[row_key[name], col_key[v.name]] = a
    return cols, rows, terms


def _lp_keys(sm):
    """Meaning of every column and row of the planner's LinearModel."""
    lp, net = sm.lp, sm.network
    tables = {
        "flow": lambda: [("flow", *k) for k in net.flows[["from", "to", "material",
                                                           "period"]].itertuples(index=False)],
        "activity": lambda: [("activity", *k) for k in
                             sm.activity[["process_id", "period"]].itertuples(index=False)],
        "unmet": lambda: [("unmet", *k) for k in
                          sm.unmet[["customer", "material", "period"]].itertuples(index=False)],
        "level": lambda: [("level", *k) for k in
                          sm.levels[["stockpile", "period"]].itertuples(index=False)],
        "stage_volume": lambda: [("stage_volume", *k) for k in lp.families["stage_volume"].keys[
            ["rule", "material", "period", "customer"]].itertuples(index=False)],
    }
    col_keys = [None] * lp.n_cols
    for block, (start, n) in lp.variables.items():
        keys = tables[block]()
        assert len(keys) == n, block
        col_keys[start:start + n] = keys
    row_cols = {
        "supplier_max": ["supplier", "material", "period"],
        "supplier_min": ["supplier", "material", "period"],
        "site_input": ["site", "material", "period"],
        "site_output": ["site", "material", "period"],
        "site_capacity": ["site", "period"],
        "demand": ["customer", "material", "period"],
        "stockpile_balance": ["stockpile", "period"],
        "stockpile_release": ["stockpile", "period"],
        "stockpile_floor": ["stockpile", "period"],
        "lane_cap": ["lane", "period"],
        "stage_volume": ["rule", "material", "period", "customer"],
        "share_max": ["rule", "material", "period", "customer", "member"],
        "share_min": ["rule", "material", "period", "customer", "member"],
        "restriction": ["rule", "period"],
    }
    row_keys = [None] * lp.n_rows
    for name, fam in lp.families.items():
        keys = [(name, *(_v(x) for x in k)) for k in fam.keys[row_cols[name]].itertuples(
            index=False)]
        row_keys[fam.start:fam.start + len(keys)] = keys
    assert None not in col_keys and None not in row_keys
    return col_keys, row_keys


def _canonical_lp(sm, terms_from: str):
    lp = sm.lp
    col_keys, row_keys = _lp_keys(sm)
    lower, upper, cost = (np.concatenate(a) for a in (lp.lower, lp.upper, lp.cost))
    cols = {k: (lo, None if np.isinf(up) else up, c)
            for k, lo, up, c in zip(col_keys, lower.tolist(), upper.tolist(), cost.tolist())}
    rhs = np.concatenate(lp._rhs)
    rows = {k: (SENSE[s], r) for k, s, r in zip(row_keys, lp._sense, rhs.tolist())}
    terms = defaultdict(float)
    if terms_from == "arrays":
        r, c, a = lp.terms()
        for i, j, x in zip(r.tolist(), c.tolist(), a.tolist()):
            terms[row_keys[i], col_keys[j]] += x
    elif terms_from == "matrix":  # what HiGHS receives
        start, index, value = lp.matrix()
        for j in range(lp.n_cols):
            for i, x in zip(index[start[j]:start[j + 1]].tolist(),
                            value[start[j]:start[j + 1]].tolist()):
                assert (row_keys[i], col_keys[j]) not in terms, "duplicate entry in the matrix"
                terms[row_keys[i], col_keys[j]] = x
        lo, up = lp.row_bounds()
        for k, s, r, a, b in zip(row_keys, lp._sense, rhs.tolist(), lo.tolist(), up.tolist()):
            assert (a, b) == {LE: (-np.inf, r), GE: (r, np.inf), EQ: (r, r)}[s]
    else:  # the PuLP mirror
        prob, variables, _ = lp.to_pulp()
        index = {v.name: j for j, v in enumerate(variables)}
        cols = {col_keys[index[v.name]]: (v.lowBound, v.upBound, prob.objective.get(v, 0.0))
                for v in variables}
        for i, (name, c) in enumerate(prob.constraints.items()):
            assert name == f"c{i}"
            assert rows[row_keys[i]] == (c.sense, -c.constant)
            for v, x in c.items():
                terms[row_keys[i], col_keys[index[v.name]]] = x
    return cols, rows, {k: x for k, x in terms.items() if x != 0}


def _close(a, b) -> bool:
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0)


def _assert_same(ref, got, what):
    (rc, rr, rt), (gc, gr, gt) = ref, got
    assert set(rc) == set(gc), f"{what}: columns differ: {set(rc) ^ set(gc)}"
    for k in rc:
        assert _close(rc[k], gc[k]), (what, k, rc[k], gc[k])
    assert set(rr) == set(gr), f"{what}: rows differ: {sorted(set(rr) ^ set(gr), key=str)[:5]}"
    for k in rr:
        assert _close(rr[k], gr[k]), (what, k, rr[k], gr[k])
    missing, extra = set(rt) - set(gt), set(gt) - set(rt)
    assert not missing and not extra, (what, sorted(missing, key=str)[:5],
                                       sorted(extra, key=str)[:5])
    for k in rt:
        assert _close(rt[k], gt[k]), (what, k, rt[k], gt[k])


def _instance(tmp_path, flows, periods, seed):
    path = write_workbook(tmp_path / f"gen-{flows}-{periods}-{seed}.xlsx",
                          world(flows, periods, seed))
    return build_model(build_network(load(path)))


@pytest.mark.parametrize("flows,periods,seed", [(1500, 3, 1), (4000, 4, 2)])
def test_flow_candidates_are_the_arcs_in_the_periods_they_can_carry(tmp_path, flows, periods,
                                                                     seed):
    """Every arc of the network appears in exactly the periods where its supplier has an
    offer (at that offer's price) and its customer a demand, checked with plain sets.
    First every third Demand row is dropped and every other Suppliers row made an offer
    for the first period only, so that customers and suppliers skip periods."""
    path = write_workbook(tmp_path / "gen.xlsx", world(flows, periods, seed))
    inputs = load(path)
    inputs.tables["Demand"] = inputs["Demand"].iloc[::3].reset_index(drop=True)
    suppliers = inputs["Suppliers"].copy()
    suppliers.loc[suppliers.index[::2], "period"] = inputs.periods[0]
    inputs.tables["Suppliers"] = suppliers
    net = build_network(inputs)
    offer = {(o.supplier, o.material, o.period): o.unit_cost
             for o in net.offers.itertuples(index=False)}
    wanted = {(d.customer, d.material, d.period) for d in net.demand.itertuples(index=False)}
    arcs = {(r["from"], r["to"], r["material"]): (r["from_kind"], r["to_kind"])
            for r in build_arcs(inputs, net.nodes, net.offers, net.processes, net.outputs,
                                net.stockpiles).to_dict("records")}
    assert {kind for kinds in arcs.values() for kind in kinds} == \
        {SUPPLIER, SITE, CUSTOMER, STOCKPILE}
    expected = {}
    for (src, dst, material), (src_kind, dst_kind) in arcs.items():
        for period in net.periods:
            if src_kind == SUPPLIER and (src, material, period) not in offer:
                continue
            if dst_kind == CUSTOMER and (dst, material, period) not in wanted:
                continue
            expected[src, dst, material, period] = offer.get((src, material, period), 0.0)
    got = {(r["from"], r["to"], r["material"], r["period"]): r["unit_cost"]
           for r in net.flows.to_dict("records")}
    assert len(got) == len(net.flows)  # no flow twice
    assert got == expected
    rank = {p: i for i, p in enumerate(net.periods)}
    order = [(rank[r["period"]], r["material"], r["from"], r["to"])
             for r in net.flows.to_dict("records")]
    assert order == sorted(order)


@pytest.mark.parametrize("flows,periods,seed", [(1500, 3, 1), (4000, 4, 2), (3000, 2, 3)])
def test_fast_builder_equals_reference_construction(tmp_path, flows, periods, seed):
    sm = _instance(tmp_path, flows, periods, seed)
    families = set(sm.lp.families)
    # the generated instances exercise every kind of row
    assert {"supplier_max", "supplier_min", "site_input", "site_output", "site_capacity",
            "demand", "stockpile_balance", "stockpile_release", "stockpile_floor", "lane_cap",
            "stage_volume", "share_max", "share_min", "restriction"} <= families
    ref = _canonical_pulp(*reference_model(sm.network))
    assert len(ref[0]) == sm.lp.n_cols and len(ref[1]) == sm.lp.n_rows
    for source in ("arrays", "matrix", "pulp"):
        _assert_same(ref, _canonical_lp(sm, source), source)


def test_fast_builder_equals_reference_on_the_example():
    """The example without its rules that follow the material (origin, via): the reference
    construction knows the LP of sections 2 to 4.8, not the provenance layers (which
    tests/test_provenance.py checks by hand)."""
    inputs = load(ROOT / "inputs" / "example.xlsx")
    limits, restrictions = inputs.tables["Limits"], inputs.tables["Restrictions"]
    inputs.tables = {**inputs.tables,
                     "Limits": limits[limits["stage"] != "origin"].reset_index(drop=True),
                     "Restrictions": restrictions[restrictions["origin"].isna()
                                                  & restrictions["via"].isna()]
                     .reset_index(drop=True)}
    sm = build_model(build_network(inputs))
    ref = _canonical_pulp(*reference_model(sm.network))
    for source in ("arrays", "matrix", "pulp"):
        _assert_same(ref, _canonical_lp(sm, source), source)


def test_highs_and_cbc_agree_on_a_generated_instance(tmp_path):
    from planner.solve import SolveOptions, solve

    sm = _instance(tmp_path, 1500, 3, 1)
    highs, cbc = solve(sm.lp, SolveOptions("highs")), solve(sm.lp, SolveOptions("cbc"))
    assert highs.ok and cbc.ok
    assert highs.objective == pytest.approx(cbc.objective, rel=1e-6)
    assert set(highs.seconds) >= {"build", "handover", "run", "readback", "solve"}


def test_the_pulp_mirror_is_the_same_lp(tmp_path):
    """`to_pulp` (CBC's way in) solved by PuLP's own HiGHS interface, through PuLP's own
    objects, has the optimum of the array hand-over."""
    from planner.solve import SolveOptions, solve

    sm = _instance(tmp_path, 1500, 3, 1)
    prob, columns, _ = sm.lp.to_pulp()
    prob.solve(pulp.HiGHS(msg=False))
    assert prob.sol_status == pulp.LpSolutionOptimal
    fast = solve(sm.lp, SolveOptions("highs"))
    assert pulp.value(prob.objective) == pytest.approx(fast.objective, rel=1e-9)
    cost = np.concatenate(sm.lp.cost)
    mirrored = np.array([v.varValue for v in columns])
    assert float(cost @ mirrored) == pytest.approx(fast.objective, rel=1e-9)


def _benchmark(tmp_path, *args) -> tuple[str, dict]:
    """bench/run.py at its smallest size: its output and its one result."""
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--sizes", "10k",
                          "--workdir", str(tmp_path), "--json", str(tmp_path / "r.json"), *args],
                         capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout, json.loads((tmp_path / "r.json").read_text())["results"][0]


def test_benchmark_runs_at_its_smallest_size(tmp_path):
    stdout, result = _benchmark(tmp_path)
    for phase in ("read", "validate", "build", "hand-over", "solve", "read-back",
                  "write plan", "HiGHS alone"):
        assert phase in stdout
    assert result["status"] == "optimal"
    assert result["objective_gap"] < 1e-6   # the planner and HiGHS alone solved the same LP
    assert result["variables"] > 5_000 and result["nonzeros"] > result["variables"]
    assert all(p["peak_mb"] > 0 for p in result["phases"].values())


def test_linked_benchmark_instance_is_one_block_with_highs_alones_optimum(tmp_path):
    """Issue 22: `--linked` instances (chains sharing complexes, co-products across
    chains, intake stockpiles) do not split: every column is in one connected component,
    so the planner solves the whole LP, to HiGHS-alone's optimum on the exported LP."""
    _, result = _benchmark(tmp_path, "--linked")
    assert result["linked"] and result["variables"] > 5_000
    assert result["components"] == 1 and result["blocks"] == 1
    assert result["largest_component_share"] == 1.0
    assert result["status"] == "optimal" and result["highs"]["status"] == "Optimal"
    assert result["objective"] == pytest.approx(result["highs"]["objective"], rel=1e-7)
