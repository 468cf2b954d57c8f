"""Automatic layout: layered, left to right (longest-path layers, barycentre ordering)."""
from __future__ import annotations

import networkx as nx

from .model import Graph

# Spaced for the canvas's drawn nodes (184 px wide, 60-100 px tall) with room between
# columns for the tensor-shape label on each wire.
LAYER_GAP = 300.0
ROW_GAP = 150.0
# Long chains (LeNet-5 has 14 layers) wrap into bands of this many columns, like lines of text,
# so that a framed graph stays readable in a window instead of shrinking to a thin strip.
WRAP_COLUMNS = 5
BAND_GAP = 110.0


def layered_positions(g: Graph, wrap: int | None = WRAP_COLUMNS
                      ) -> dict[str, tuple[float, float]]:
    """Positions for every node: x by depth from the inputs, y ordered to reduce crossings.

    With ``wrap``, depths beyond that many columns continue in a band below (``None``: one row).
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
    columns = wrap if wrap and len(layers) > wrap + 1 else max(len(layers), 1)
    bands = -(-len(layers) // columns)
    # Each band is as tall as its widest layer; bands stack downwards.
    band_top, y = [], 0.0
    for b in range(bands):
        widest = max(len(layers[d]) for d in layers if d // columns == b)
        band_top.append(y + (widest - 1) * ROW_GAP / 2)
        y += widest * ROW_GAP + BAND_GAP
    pos = {}
    for d, ids in layers.items():
        top = band_top[d // columns] - (len(ids) - 1) * ROW_GAP / 2
        for i, nid in enumerate(ids):
            pos[nid] = ((d % columns) * LAYER_GAP, top + i * ROW_GAP)
    return pos


def auto_layout(g: Graph) -> None:
    """Move every node to its layered position (emits ``node_moved`` for each)."""
    for nid, p in layered_positions(g).items():
        g.move(nid, p)
