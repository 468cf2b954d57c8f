"""Automatic layout: a layered (Sugiyama) drawing, top to bottom by default, like Netron.

Ranks and a crossing-reduced order come from ``layering.py``; here each vertex gets its place
across the ranks by the priority method (Sugiyama's), with the network's longest path — the
main chain — pinned to one straight line, and each long (skip) wire kept straight beside
what it skips through its dummy vertices."""
from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from .layering import Layering, build_layering, count_crossings
from .model import Graph, Node

# Spaced for the canvas's drawn nodes (184 px wide, 60-100 px tall). LAYER_GAP is the pitch
# of ranks drawn left to right (also where a new block's inner inputs and outputs go).
NODE_WIDTH = 184.0
LAYER_GAP = 300.0
RANK_GAP = {"down": 70.0, "right": 116.0}  # room for a wire's shape label between ranks
NODE_GAP = 60.0  # between two nodes side by side
WIRE_GAP = 40.0  # between a node and a wire running past it
WIRES_GAP = 24.0  # between two wires running side by side
DIRECTIONS = ("down", "right")


@dataclass
class Layout:
    """Where everything goes: ``positions`` are the top-left corners of the nodes (the
    graph's own ``pos``), ``routes`` each edge's polyline (from the source's exit to the
    target's entry, through its dummy points), ``crossings`` the wire crossings counted
    between ranks."""
    direction: str
    positions: dict[str, tuple[float, float]] = field(default_factory=dict)
    sizes: dict[str, tuple[float, float]] = field(default_factory=dict)
    routes: list[tuple[object, list[tuple[float, float]]]] = field(default_factory=list)
    crossings: int = 0
    spine: list[str] = field(default_factory=list)


def estimate_size(g: Graph, node: Node) -> tuple[float, float]:
    """A node's drawn size without Qt: the canvas's header, three text lines and a row per
    extra port (the canvas passes the sizes it measured instead)."""
    rows = max(len(g.input_ports(node.id)), len(g.output_ports(node.id)), 1)
    return NODE_WIDTH, 88.0 + 18.0 * max(0, rows - 2)


def layered_layout(g: Graph, sizes: dict[str, tuple[float, float]] | None = None,
                   direction: str = "down") -> Layout:
    """Lay ``g`` out in ranks going ``direction`` ("down" or "right"); ``sizes`` are the
    nodes' (width, height), estimated where missing."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, not {direction!r}")
    sizes = {n.id: tuple((sizes or {}).get(n.id) or estimate_size(g, n)) for n in g.nodes()}
    dag = nx.DiGraph()
    dag.add_nodes_from(n.id for n in g.nodes())
    edges = g.edges()
    dag.add_edges_from((e.src, e.dst) for e in edges)
    pairs = [(e.src, e.dst) for e in edges]
    lay = build_layering(dag, pairs)
    spine = nx.dag_longest_path(dag) if len(dag) else []
    down = direction == "down"
    # across: the width of a rank's slot (all slots alike, so a chain of nodes of different
    # heights keeps its ports in line); along: each rank as thick as its thickest node.
    across = max((s[0] if down else s[1] for s in sizes.values()), default=NODE_WIDTH)
    x = _coordinates(lay, set(spine), across)
    thick = [max((sizes[v][1] if down else sizes[v][0] for v in rank
                  if not lay.is_dummy(v)), default=0.0) for rank in lay.ranks]
    starts, at = [], 0.0
    for t in thick:
        starts.append(at)
        at += t + RANK_GAP[direction]
    left = min((x[v] for v in x), default=0.0) - across / 2

    def place(along: float, cross: float) -> tuple[float, float]:
        return (cross, along) if down else (along, cross)

    out = Layout(direction, crossings=count_crossings(lay), spine=list(spine), sizes=sizes)
    for v, r in lay.rank_of.items():
        if not lay.is_dummy(v):
            out.positions[v] = place(starts[r], x[v] - across / 2 - left)
    for e, chain in zip(edges, lay.chains):
        pts = [place(starts[lay.rank_of[e.src]] + thick[lay.rank_of[e.src]], x[e.src] - left)]
        for d in chain[1:-1]:
            r = lay.rank_of[d]
            pts += [place(starts[r], x[d] - left), place(starts[r] + thick[r], x[d] - left)]
        pts.append(place(starts[lay.rank_of[e.dst]], x[e.dst] - left))
        out.routes.append((e, pts))
    return out


def _sep(lay: Layering, a, b, across: float) -> float:
    """Least distance between the centres of two neighbours in a rank."""
    da, db = lay.is_dummy(a), lay.is_dummy(b)
    half = (0.0 if da else across / 2) + (0.0 if db else across / 2)
    gap = WIRES_GAP if da and db else WIRE_GAP if da or db else NODE_GAP
    return half + gap


def _coordinates(lay: Layering, spine: set, across: float) -> dict:
    """Centres across the ranks: packed, then moved toward their neighbours by the priority
    method; the spine holds x = 0, dummies outrank real nodes (long wires stay straight)."""
    x: dict = {}
    for rank in lay.ranks:
        at = 0.0
        for i, v in enumerate(rank):
            at += _sep(lay, rank[i - 1], v, across) if i else 0.0
            x[v] = at
        pinned = [v for v in rank if v in spine]
        shift = x[pinned[0]] if pinned else at / 2
        for v in rank:
            x[v] -= shift
    n = len(lay.ranks)
    for going_down in (True, False, True, False, True):
        rng = range(1, n) if going_down else range(n - 2, -1, -1)
        for r in rng:
            _place_rank(lay, lay.ranks[r], lay.up if going_down else lay.down, spine, x,
                        across)
    return x


def _place_rank(lay: Layering, rank: list, nbrs: dict, spine: set, x: dict,
                across: float) -> None:
    def priority(i: int) -> tuple:
        v = rank[i]
        level = 3 if v in spine else 2 if lay.is_dummy(v) else 1
        return (-level, -len(nbrs[v]), i)

    fixed: set[int] = set()
    for i in sorted(range(len(rank)), key=priority):
        v = rank[i]
        if v in spine:
            want = 0.0
        elif nbrs[v]:
            ns = sorted(x[u] for u in nbrs[v])
            want = (ns[(len(ns) - 1) // 2] + ns[len(ns) // 2]) / 2  # the median
        else:
            fixed.add(i)
            continue
        if want < x[v]:
            acc = 0.0
            for j in range(i - 1, -1, -1):
                acc += _sep(lay, rank[j], rank[j + 1], across)
                if j in fixed:
                    want = max(want, x[rank[j]] + acc)
                    break
            x[v] = min(x[v], want)
            for j in range(i - 1, -1, -1):
                x[rank[j]] = min(x[rank[j]], x[rank[j + 1]] - _sep(lay, rank[j], rank[j + 1],
                                                                     across))
        elif want > x[v]:
            acc = 0.0
            for j in range(i + 1, len(rank)):
                acc += _sep(lay, rank[j - 1], rank[j], across)
                if j in fixed:
                    want = min(want, x[rank[j]] - acc)
                    break
            x[v] = max(x[v], want)
            for j in range(i + 1, len(rank)):
                x[rank[j]] = max(x[rank[j]], x[rank[j - 1]] + _sep(lay, rank[j - 1], rank[j],
                                                                     across))
        fixed.add(i)


def layered_positions(g: Graph, sizes: dict[str, tuple[float, float]] | None = None,
                      direction: str = "down") -> dict[str, tuple[float, float]]:
    """Top-left corner of every node in the layered layout (see ``layered_layout``)."""
    return layered_layout(g, sizes, direction).positions


def auto_layout(g: Graph, direction: str = "down") -> None:
    """Move every node to its layered position (emits ``node_moved`` for each)."""
    for nid, p in layered_positions(g, direction=direction).items():
        g.move(nid, p)
