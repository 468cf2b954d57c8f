"""The first half of the layered (Sugiyama) layout: ranks, dummy nodes on long edges, and the
order of the nodes in each rank chosen to cross few wires. Plain data, no geometry."""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

import networkx as nx

SWEEPS = 12  # barycentre passes (down and up alternately); the best order seen is kept


@dataclass
class Layering:
    """Ranks of a DAG whose long edges are cut into chains of dummy vertices.

    ``ranks[r]`` lists the vertices of rank ``r`` in drawing order; a vertex is a node id or a
    dummy ``("~", edge index, step)``. ``chains[i]`` is edge ``i``'s vertices from source to
    target, dummies included."""
    ranks: list[list] = field(default_factory=list)
    rank_of: dict = field(default_factory=dict)
    down: dict = field(default_factory=dict)  # vertex -> its neighbours one rank lower
    up: dict = field(default_factory=dict)  # vertex -> its neighbours one rank higher
    chains: list[list] = field(default_factory=list)

    def is_dummy(self, v) -> bool:
        return isinstance(v, tuple)


def assign_ranks(dag: nx.DiGraph) -> dict:
    """Longest-path ranks from the sources, then every source pulled down to just above its
    first consumer (a constant or a second input then sits beside what uses it)."""
    rank: dict = {}
    order = list(nx.lexicographical_topological_sort(dag, key=_order_key(dag)))
    for v in order:
        preds = list(dag.predecessors(v))
        rank[v] = 1 + max(rank[p] for p in preds) if preds else 0
    for v in order:
        succ = list(dag.successors(v))
        if not list(dag.predecessors(v)) and succ:
            rank[v] = min(rank[s] for s in succ) - 1
    low = min(rank.values(), default=0)
    return {v: r - low for v, r in rank.items()}


def _order_key(dag: nx.DiGraph):
    index = {v: i for i, v in enumerate(dag.nodes)}
    return lambda v: index[v]


def build_layering(dag: nx.DiGraph, edges: list[tuple]) -> Layering:
    """Ranks, dummies and a crossing-reduced order for ``dag``; ``edges`` are its (src, dst)
    pairs in connection order (each gets a chain)."""
    lay = Layering()
    rank = assign_ranks(dag)
    lay.rank_of = dict(rank)
    n_ranks = 1 + max(rank.values(), default=-1)
    lay.ranks = [[] for _ in range(n_ranks)]
    for v in _initial_order(dag):
        lay.ranks[rank[v]].append(v)
    for v in rank:
        lay.down[v], lay.up[v] = [], []
    for i, (a, b) in enumerate(edges):
        chain = [a]
        for step, r in enumerate(range(rank[a] + 1, rank[b])):
            d = ("~", i, step)
            lay.rank_of[d] = r
            lay.down[d], lay.up[d] = [], []
            lay.ranks[r].append(d)
            chain.append(d)
        chain.append(b)
        for u, w in zip(chain, chain[1:]):
            lay.down[u].append(w)
            lay.up[w].append(u)
        lay.chains.append(chain)
    _place_dummies(lay)
    reduce_crossings(lay)
    return lay


def _initial_order(dag: nx.DiGraph) -> list:
    """Depth-first from the sources, children in connection order: a branch stays together."""
    seen, out = set(), []
    key = _order_key(dag)
    for root in sorted((v for v in dag if not dag.in_degree(v)), key=key):
        stack = [root]
        while stack:
            v = stack.pop()
            if v in seen:
                continue
            seen.add(v)
            out.append(v)
            stack.extend(reversed([s for s in dag.successors(v) if s not in seen]))
    return out


def _place_dummies(lay: Layering) -> None:
    """Dummies start right after the vertex they come down from, so a skip wire begins
    beside the path it skips."""
    for r in range(1, len(lay.ranks)):
        pos = {v: i for i, v in enumerate(lay.ranks[r - 1])}
        real = [v for v in lay.ranks[r] if not lay.is_dummy(v)]
        dummies = [v for v in lay.ranks[r] if lay.is_dummy(v)]
        merged = [(i, 0, v) for i, v in enumerate(real)]
        for d in dummies:
            src = pos[lay.up[d][0]]
            # just after the real vertices that hang from the same vertex (or earlier ones)
            after = sum(1 for v in real if min((pos[u] for u in lay.up[v]),
                                               default=len(pos)) <= src)
            merged.append((after - 0.5, 1, d))
        merged.sort(key=lambda t: (t[0], t[1]))
        lay.ranks[r] = [v for _, _, v in merged]


def crossings_between(upper: list, lower: list, down: dict) -> int:
    """Wire crossings between two adjacent ranks (``down``: each vertex's lower neighbours)."""
    pos = {v: i for i, v in enumerate(lower)}
    ends = [w for v in upper for w in sorted(pos[x] for x in down[v] if x in pos)]
    # count inversions: pairs (earlier wire, later wire) whose lower ends are out of order
    seen: list[int] = []
    total = 0
    for e in ends:
        total += len(seen) - bisect_right(seen, e)
        seen.insert(bisect_right(seen, e), e)
    return total


def count_crossings(lay: Layering) -> int:
    return sum(crossings_between(lay.ranks[r], lay.ranks[r + 1], lay.down)
               for r in range(len(lay.ranks) - 1))


def reduce_crossings(lay: Layering) -> None:
    """Barycentre sweeps, down then up, keeping the order with the fewest crossings (ties:
    the earlier one, so the result does not depend on chance)."""
    best = [list(r) for r in lay.ranks]
    best_count = count_crossings(lay)
    for sweep in range(SWEEPS):
        if best_count == 0:
            break
        going_down = sweep % 2 == 0
        rng = range(1, len(lay.ranks)) if going_down else range(len(lay.ranks) - 2, -1, -1)
        for r in rng:
            ref = lay.ranks[r - 1] if going_down else lay.ranks[r + 1]
            nbrs = lay.up if going_down else lay.down
            pos = {v: i for i, v in enumerate(ref)}
            current = lay.ranks[r]

            def bary(item, pos=pos, nbrs=nbrs):
                i, v = item
                ps = [pos[u] for u in nbrs[v] if u in pos]
                return (sum(ps) / len(ps) if ps else float(i), i)
            lay.ranks[r] = [v for _, v in sorted(enumerate(current), key=bary)]
        count = count_crossings(lay)
        if count < best_count:
            best, best_count = [list(r) for r in lay.ranks], count
    lay.ranks = best
