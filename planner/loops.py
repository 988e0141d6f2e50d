"""Process loops that make material from nothing: cycles of processes whose yields multiply
to more than 1 (ore -> metal at 2 t/t and metal -> ore at 2 t/t turn 1 t of ore into 4 t),
found on the routes the model can use, in the base data and in every scenario's.

The search is in two steps so that it costs next to nothing on models without such a loop:

1. the material graph alone: materials are vertices, every Processes row an edge from its
   input to its output weighted by log(yield); Bellman-Ford finds whether any cycle has a
   positive weight. Without one there is no gain loop anywhere, whatever the sites.
2. only then, and only for the rows on a cycle of that graph (input and output in one strongly
   connected component): the state graph of (site, material taken in), where a row at site s
   leads to every site that takes its output and that the output can reach: s itself (a loop
   at one site needs no transport) or over the arcs the model builds (`process_routes`).

Co-products: every output row of a process is an edge of its own above, so a loop that
gains only through several co-products of one process together (ore -> 0.6 t metal + 0.6 t
slag, each turned back into ore) is not seen edge by edge. When no loop is found that way
and some process has co-products, two small LPs look for one (`_coproduct_loop`): whether
the processes, with no supply at all, can put out more than they take in, first pooling
all sites by material, then between the sites as the network connects them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import ERROR, Problem
from .highs import quiet_highs
from .network import process_names, process_of, process_routes
from .inputs import BASE, ROW
from .scenarios import Change, apply_changes, scenario_inputs

GAIN_TOLERANCE = 1e-9  # a loop is reported when its yields multiply to more than 1 + this
# Least improvement Bellman-Ford counts, on the log scale: far below log(1 + GAIN_TOLERANCE)
# divided by any loop's length, far above the rounding of a sum of logs.
_EPS = 1e-13
MAX_LOOPS = 10  # loops reported per data set (base or one scenario)


def _pred_cycle(pred: np.ndarray, src: np.ndarray) -> list[int] | None:
    """Edges, in order along it, of a cycle of the predecessor edges `pred` (-1: none), or
    None. Each vertex has at most one predecessor, so one walk per vertex finds any cycle."""
    pred_, src_ = pred.tolist(), src.tolist()
    state = [0] * len(pred_)  # 0 not seen, 1 on the current walk, 2 done
    for start in range(len(pred_)):
        walk, v = [], start
        while v >= 0 and state[v] == 0:
            state[v] = 1
            walk.append(v)
            v = src_[pred_[v]] if pred_[v] >= 0 else -1
        if v >= 0 and state[v] == 1:
            cycle, y = [], v
            while True:
                cycle.append(pred_[y])
                y = src_[pred_[y]]
                if y == v:
                    return cycle[::-1]
        for u in walk:
            state[u] = 2
    return None


def _gain_cycle(n: int, src: np.ndarray, dst: np.ndarray, gain: np.ndarray) -> list[int] | None:
    """Positions, in order along the cycle, of the edges of one cycle whose `gain`s add up to
    more than 0 (beyond rounding); None if there is none.

    Bellman-Ford on -gain from a virtual source joined to every vertex, every edge relaxed in
    each round. A cycle of the predecessor edges always has a negative weight (each of its
    vertices last improved through it by more than _EPS), and one exists by round n if any
    cycle gains; it is looked for after rounds 1, 2, 4, 8, ..., so a loop is usually found
    in a few rounds, not n."""
    if not len(src):
        return None
    order = np.argsort(dst, kind="stable")
    src, dst, weight = src[order], dst[order], -gain[order]
    starts = np.flatnonzero(np.r_[True, dst[1:] != dst[:-1]])
    heads = dst[starts]
    sizes = np.diff(np.r_[starts, len(dst)])
    dist = np.zeros(n)
    pred = np.full(n, -1, dtype=np.int64)
    look = 1
    for done in range(1, n + 1):
        cand = dist[src] + weight
        best = np.minimum.reduceat(cand, starts)
        better = best < dist[heads] - _EPS
        if not better.any():
            return None
        hit = np.repeat(better, sizes) & (cand <= np.repeat(best, sizes))
        pred[dst[hit]] = np.flatnonzero(hit)
        dist[heads[better]] = best[better]
        if done == look or done == n:
            look *= 2
            cycle = _pred_cycle(pred, src)
            if cycle is not None:
                return [int(order[e]) for e in cycle]
    raise AssertionError("Bellman-Ford improved in round n without a predecessor cycle")


def _components(n: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Strongly connected component of each vertex (iterative Tarjan)."""
    order = np.argsort(src, kind="stable")
    targets = dst[order]
    start = np.searchsorted(src[order], np.arange(n + 1))
    index = np.full(n, -1)
    low = np.zeros(n, dtype=np.int64)
    comp = np.full(n, -1)
    on_stack = np.zeros(n, dtype=bool)
    stack: list[int] = []
    counter = count = 0
    for root in range(n):
        if index[root] >= 0:
            continue
        work = [(root, int(start[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        while work:
            v, i = work[-1]
            if i < start[v + 1]:
                work[-1] = (v, i + 1)
                w = int(targets[i])
                if index[w] < 0:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack[w] = True
                    work.append((w, int(start[w])))
                elif on_stack[w]:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                while True:
                    w = stack.pop()
                    on_stack[w] = False
                    comp[w] = count
                    if w == v:
                        break
                count += 1
    return comp


def _on_material_cycles(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows that lie on a material cycle, if some cycle of the material graph gains
    (step 1); else none."""
    codes, materials = pd.factorize(pd.concat([rows["input_material"],
                                               rows["output_material"]], ignore_index=True))
    src, dst = codes[:len(rows)], codes[len(rows):]
    gain = np.log(rows["yield"].to_numpy(float))
    if _gain_cycle(len(materials), src, dst, gain) is None:
        return rows.iloc[:0]
    comp = _components(len(materials), src, dst)
    return rows[comp[src] == comp[dst]]


@dataclass
class Loop:
    rows: list[dict]   # its Processes rows, in order along it
    text: str          # what it does, for the error
    named: dict        # the row the error points at: the likeliest typo


def _loops(inputs) -> list[Loop]:
    """Gain loops of the data in `inputs`: edge by edge, else through co-products."""
    frame = inputs["Processes"]
    # A site a scenario drops takes its processes with it, as in the network.
    frame = frame[frame["site"].isin(set(inputs["Sites"]["site"]))].reset_index(drop=True)
    found = [Loop(loop, _describe(loop), _named_row(loop))
             for loop in _edge_loops(inputs, frame)]
    if not found:
        loop = _coproduct_loop(inputs, frame)
        found += [loop] if loop is not None else []
    return found


def _edge_loops(inputs, frame: pd.DataFrame) -> list[list[dict]]:
    """Gain loops of single process rows, each as its Processes rows (dicts) in order."""
    rows = _on_material_cycles(frame).reset_index(drop=True)
    if rows.empty:
        return []
    # Step 2: vertices are (site, material it takes in); a row leads from its own vertex to
    # (t, output) for every site t that takes the output and that the output reaches.
    routes = process_routes(inputs, rows)
    here = rows[["site", "output_material"]].drop_duplicates().set_axis(["from", "material"],
                                                                      axis=1)
    routes = pd.concat([routes, here.assign(to=here["from"])], ignore_index=True)
    takers = rows[["site", "input_material"]].drop_duplicates().reset_index(drop=True)
    takers["_v"] = np.arange(len(takers))
    edges = (rows.assign(_r=np.arange(len(rows)))
             .merge(takers, on=["site", "input_material"])
             .merge(routes, left_on=["site", "output_material"], right_on=["from", "material"])
             .merge(takers.rename(columns={"site": "to", "input_material": "material",
                                           "_v": "_w"}), on=["to", "material"]))
    src = edges["_v"].to_numpy(np.int64)
    dst = edges["_w"].to_numpy(np.int64)
    row_of = edges["_r"].to_numpy(np.int64)
    gain = np.log(edges["yield"].to_numpy(float))
    keep = np.ones(len(edges), dtype=bool)
    found = []
    while len(found) < MAX_LOOPS:
        live = np.flatnonzero(keep)
        cycle = _gain_cycle(len(takers), src[live], dst[live], gain[live])
        if cycle is None:
            break
        loop = [rows.iloc[row_of[live[e]]].to_dict() for e in cycle]
        # The row with the highest yield is named (the likeliest typo); it leaves the graph so
        # that the next search finds another loop.
        worst = max(range(len(loop)), key=lambda i: (loop[i]["yield"], -loop[i][ROW]))
        keep &= row_of != row_of[live[cycle[worst]]]
        if math.prod(r["yield"] for r in loop) > 1 + GAIN_TOLERANCE:
            first = min(range(len(loop)), key=lambda i: loop[i][ROW])
            found.append(loop[first:] + loop[:first])
    return found


def _most_made(n_processes: int, rows_of: np.ndarray, yields: np.ndarray,
               out_at: np.ndarray, in_at: np.ndarray, places: int,
               edges: tuple[np.ndarray, np.ndarray] | None = None
               ) -> tuple[float, np.ndarray]:
    """(The most material made from nothing, each process's activity) when the processes
    run at a total of 1 t of input and nothing is bought: each output row puts yield x its
    process's activity into place `out_at`; each process takes its activity from place
    `in_at`. Without `edges`, a place is a material (all sites pooled) and what is made
    there is what is put out less what is taken. With `edges` (from output place, to input
    place), material moves only along them and an input place takes exactly what arrives;
    what is made is what output places put out and do not ship. A small LP, given to HiGHS
    directly (this layer is below the planner's own model and solver)."""
    import highspy

    n_edges = 0 if edges is None else len(edges[0])
    n = n_processes + n_edges
    column = n_processes + np.arange(n_edges)
    # Each place's balance (made there) as terms (place, column, coefficient); one more row
    # bounds the total activity.
    place = [out_at, in_at]
    col = [rows_of, np.arange(n_processes)]
    coef = [yields, -np.ones(n_processes)]
    if edges is not None:
        place += [edges[0], edges[1]]
        col += [column, column]
        coef += [-np.ones(n_edges), np.ones(n_edges)]
    place, col, coef = (np.concatenate(a) for a in (place, col, coef))
    place = np.r_[place, np.full(n_processes, places)]
    col, coef = np.r_[col, np.arange(n_processes)], np.r_[coef, np.ones(n_processes)]
    # One entry per (place, column): a process that puts out its own input (a recycle
    # stream) has two, which HiGHS refuses.
    cell, at = np.unique(col * (places + 1) + place, return_inverse=True)
    coef = np.bincount(at.reshape(-1), coef, minlength=len(cell))
    col, place = cell // (places + 1), cell % (places + 1)
    # What is made: the balance of every place that may keep material (all places pooled
    # by material; output places between sites); input places between sites balance at 0.
    keeps = np.ones(places, bool) if edges is None else np.isin(np.arange(places), out_at)
    cost = np.bincount(col, np.where(keeps[np.minimum(place, places - 1)] & (place < places),
                                     coef, 0.0), minlength=n)
    order = np.lexsort((place, col))
    start = np.searchsorted(col[order], np.arange(n + 1)).astype(np.int32)
    inf = highspy.kHighsInf
    row_upper = np.r_[np.where(keeps, inf, 0.0), 1.0]
    highs = quiet_highs()
    # Tolerances a tenth of LOOP_GAIN, so that a loop that returns exactly what it takes
    # shows no gain (400 random such loops, with yields from 1e-6 to 1e6, showed none).
    for option in ("primal_feasibility_tolerance", "dual_feasibility_tolerance"):
        highs.setOptionValue(option, 1e-10)
    passed = highs.passModel(n, places + 1, len(order), int(highspy.MatrixFormat.kColwise),
                             int(highspy.ObjSense.kMaximize), 0.0, cost, np.zeros(n),
                             np.full(n, inf), np.r_[np.zeros(places), -inf], row_upper, start,
                             place[order].astype(np.int32), coef[order], np.zeros(n, np.int32))
    highs.run()
    status = highs.getModelStatus()
    if passed == highspy.HighsStatus.kError or status != highspy.HighsModelStatus.kOptimal:
        # 0 is feasible and the total bounded: only a fault gets here, and it must not
        # pass for "no loop".
        raise RuntimeError(f"the co-product loop check's LP was not solved ({status})")
    return float(highs.getInfo().objective_function_value), \
        np.asarray(highs.getSolution().col_value)[:n_processes]


# t made from nothing per t of the loop's total input (for a loop of k processes, a gain per
# turn of about k times this): as strict as GAIN_TOLERANCE, ten times the LP's tolerances.
LOOP_GAIN = 1e-9


def _coproduct_loop(inputs, frame: pd.DataFrame) -> Loop | None:
    """Processes that, with nothing bought, put out more than they take in only through
    co-products together (see the module docstring); None when there are none."""
    process = process_of(frame)
    if len(frame) == 0 or len(np.unique(process)) == len(frame):
        return None  # no process has co-products: the edge by edge search saw everything
    n = int(process.max()) + 1
    first = np.unique(process, return_index=True)[1]
    yields = frame["yield"].to_numpy(float)
    material, _ = pd.factorize(pd.concat([frame["input_material"], frame["output_material"]],
                                         ignore_index=True))
    made, _ = _most_made(n, process, yields, material[len(frame):], material[first],
                         int(material.max()) + 1)
    if made <= LOOP_GAIN:
        return None
    # Between sites: places are (site, material, out or in), joined as the network can
    # ship a site's product to another site's process (or a site's to its own).
    routes = process_routes(inputs, frame)
    here = frame[["site", "output_material"]].drop_duplicates().set_axis(["from", "material"],
                                                                       axis=1)
    routes = pd.concat([routes, here.assign(to=here["from"])], ignore_index=True)
    out_key = pd.Series(list(zip(frame["site"], frame["output_material"])))
    in_key = pd.Series(list(zip(frame["site"].to_numpy()[first],
                                frame["input_material"].to_numpy()[first])))
    out_place, outs = pd.factorize(out_key)
    in_place, ins = pd.factorize(in_key)
    src = pd.Index(outs).get_indexer(list(zip(routes["from"], routes["material"])))
    dst = pd.Index(ins).get_indexer(list(zip(routes["to"], routes["material"])))
    keep = (src >= 0) & (dst >= 0)
    made, activity = _most_made(n, process, yields, out_place, len(outs) + in_place,
                                len(outs) + len(ins), (src[keep], len(outs) + dst[keep]))
    if made <= LOOP_GAIN:
        return None
    running = activity > 1e-9
    rows = frame[running[process]]
    steps = "; ".join(
        f"at {site} {name}: {rows_['input_material'].iloc[0]} -> "
        + " and ".join(f"{m} (yield {y:g}, row {r})" for m, y, r in
                       zip(rows_["output_material"], rows_["yield"], rows_[ROW]))
        for (site, name), rows_ in rows.assign(name=process_names(rows)).groupby(
            ["site", "name"], sort=False))
    # Named: the first row of the process whose yields add up to the most (the co-products
    # that together make more than their input).
    totals = np.bincount(process, yields, minlength=n)
    suspect = np.flatnonzero(running[process] & (process == np.argmax(
        np.where(running, totals, -np.inf))))[0]
    return Loop(rows.to_dict("records"),
                f"processes make material from nothing through their co-products: {steps}: "
                f"run together as the network allows, they give back more of what they take "
                f"in than they use, with nothing bought; check the yields",
                frame.iloc[suspect].to_dict())


def _describe(loop: list[dict]) -> str:
    steps = ", ".join(f"at {r['site']} {r['input_material']} -> {r['output_material']} "
                      f"(yield {r['yield']:g}, row {r[ROW]})" for r in loop)
    gain = math.prod(r["yield"] for r in loop)
    return (f"processes form a loop that makes material from nothing: {steps}: 1 t of "
            f"{loop[0]['input_material']} comes back as {gain:.12g} t; check the yields")


def _named_row(loop: list[dict]) -> dict:
    return max(loop, key=lambda r: (r["yield"], -r[ROW]))


def _key(loop: list[dict]) -> frozenset:
    return frozenset((r[ROW], r["site"], r["yield"]) for r in loop)


def _cause(inputs, scenario: str, rows: set[int]) -> Change | None:
    """The last change of `scenario` that alters the yield of one of the Processes `rows`."""
    tables = {"Processes": inputs["Processes"]}
    cause = None
    for change in inputs.changes:
        if change.scenario.lower() != scenario.lower() or change.sheet != "Processes":
            continue
        before = tables["Processes"]
        tables, _ = apply_changes(tables, [change], scenario)
        if change.column == "yield":
            old = dict(zip(before[ROW], before["yield"]))
            after = tables["Processes"]
            if any(old.get(r) != y for r, y in zip(after[ROW], after["yield"]) if r in rows):
                cause = change
    return cause


# The sheets whose changes can make (or break) a loop: yields, sites, and the routes between.
LOOP_SHEETS = ("Processes", "Sites", "Freight", "Lanes", "Stockpiles")


def outcome_loop(inputs, data, events: tuple[str, ...]) -> str | None:
    """What the first gain loop of a Risks outcome's data does (`data`: base with the
    changes of `events` applied together, `risk.outcome_inputs`), when some of those events
    change LOOP_SHEETS; None when there is none. Each event alone was checked as a scenario
    at load; events together can make a loop neither makes alone."""
    named = {e.lower() for e in events}
    if not any(c.sheet in LOOP_SHEETS for c in inputs.changes if c.scenario.lower() in named):
        return None
    found = _loops(data)
    return found[0].text if found else None


def gain_loops(inputs) -> list[Problem]:
    """An error for every loop found in the base data, and for every loop a scenario's
    data adds: at the Scenarios row of the change that set a yield of the loop, else at the
    Processes row (named: the loop's highest yield) with the scenario in the message."""
    processes = inputs.read_tables.get("Processes")
    if processes is None:
        return []
    problems = []
    seen = set()
    for loop in _loops(inputs):
        seen.add(_key(loop.rows))
        named = loop.named
        problems.append(processes.problem(loop.text, named[ROW], "yield", named["yield"],
                                          ERROR))
    changed = {c.scenario.lower() for c in inputs.changes}
    for name in inputs.scenarios:
        if name == BASE or name.lower() not in changed:
            continue
        for loop in _loops(scenario_inputs(inputs, name)):
            if _key(loop.rows) in seen:
                continue  # already reported for the base data
            cause = _cause(inputs, name, {r[ROW] for r in loop.rows})
            if cause is not None:
                problems.append(inputs.read_tables["Scenarios"].problem(
                    f"scenario {name!r}: {loop.text}", cause.row, "value", cause.value,
                    ERROR))
            else:
                named = loop.named
                problems.append(processes.problem(f"in scenario {name!r}, {loop.text}",
                                                  named[ROW], "yield", named["yield"], ERROR))
    return problems
