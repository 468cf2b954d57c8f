"""Automatic layout: layered, left to right (longest-path layers, barycentre ordering)."""
from __future__ import annotations

import networkx as nx

from .model import Graph

# Spaced for the canvas's drawn nodes (184 px wide, 60-100 px tall) with room between
# columns for the tensor-shape label on each wire.
LAYER_GAP = 300.0
ROW_GAP = 150.0
# Long graphs wrap into bands below each other, like lines of text, so that a framed graph
# stays readable in a window instead of shrinking to a thin strip. A band is about
# WRAP_COLUMNS layers wide, stretched up to WRAP_MAX to end where a single wire crosses: a
# chain folds cleanly there, while a cut through a branch (a residual block and its skip
# wire) would send wires back and forth between bands.
WRAP_COLUMNS = 5
WRAP_MAX = 7
BAND_GAP = 110.0


def layered_positions(g: Graph, wrap: int | None = WRAP_COLUMNS
                      ) -> dict[str, tuple[float, float]]:
    """Positions for every node: x by depth from the inputs, y ordered to reduce crossings.

    With ``wrap``, a graph deeper than ``WRAP_MAX`` layers continues in bands below, each about
    ``wrap`` layers wide (``None``: one row).
    """
    dag = nx.DiGraph()
    dag.add_nodes_from(n.id for n in g.nodes())
    dag.add_edges_from((e.src, e.dst) for e in g.edges())
    depth: dict[str, int] = {}
    for nid in nx.topological_sort(dag):
        preds = list(dag.predecessors(nid))
        depth[nid] = 1 + max(depth[p] for p in preds) if preds else 0
    layers: dict[int, list[str]] = {}
    for nid, d in depth.items():
        layers.setdefault(d, []).append(nid)
    order: dict[str, float] = {}
    for d in sorted(layers):
        def bary(nid: str) -> float:
            preds = [order[p] for p in dag.predecessors(nid) if p in order]
            return sum(preds) / len(preds) if preds else float(len(order))
        layers[d].sort(key=bary)
        for i, nid in enumerate(layers[d]):
            order[nid] = float(i)
    starts = [0]
    if wrap and len(layers) > max(wrap, WRAP_MAX):
        spans = [(depth[u], depth[v]) for u, v in dag.edges()]
        starts = band_starts(len(layers), spans, wrap, max(wrap, WRAP_MAX))
    band_of = {d: sum(s <= d for s in starts) - 1 for d in layers}
    # Each band is as tall as its widest layer; bands stack downwards.
    band_top, y = [], 0.0
    for b in range(len(starts)):
        widest = max(len(layers[d]) for d in layers if band_of[d] == b)
        band_top.append(y + (widest - 1) * ROW_GAP / 2)
        y += widest * ROW_GAP + BAND_GAP
    pos = {}
    for d, ids in layers.items():
        b = band_of[d]
        top = band_top[b] - (len(ids) - 1) * ROW_GAP / 2
        for i, nid in enumerate(ids):
            pos[nid] = ((d - starts[b]) * LAYER_GAP, top + i * ROW_GAP)
    return pos


def band_starts(n_layers: int, spans: list[tuple[int, int]], target: int, most: int
                ) -> list[int]:
    """The first layer of each band: bands of about ``target`` (at most ``most``) layers that
    begin, where the graph allows, at a layer only one wire (``spans``: (from, to) layers)
    reaches from before it."""
    crossing = [0] * (n_layers + 1)
    for a, b in spans:
        for cut in range(a + 1, b + 1):
            crossing[cut] += 1
    starts = [0]
    while n_layers - starts[-1] > most:
        s = starts[-1]
        clean = [c for c in range(s + 2, s + most + 1) if crossing[c] == 1]
        # the clean cut nearest the usual width (the longer band on a tie); else cut anyway
        cut = min(clean, key=lambda c: (abs(c - s - target), -c)) if clean else s + target
        starts.append(cut)
    return starts


def auto_layout(g: Graph) -> None:
    """Move every node to its layered position (emits ``node_moved`` for each)."""
    for nid, p in layered_positions(g).items():
        g.move(nid, p)
