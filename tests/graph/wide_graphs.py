"""Graph files with many wires into one node (shared by the load-time test and benchmark)."""
from __future__ import annotations

import json


def wide_graph_text(wires: int, distinct_sources: bool) -> str:
    """One Input; ``wires`` wires into one Add, all from the Input (x + x + ...) or each from
    its own ReLU."""
    nodes = [{"id": "n1", "type": "Input", "name": "x", "params": {"shape": [4]}},
             {"id": "n2", "type": "Add", "name": "total"}]
    edges = []
    for i in range(wires):
        src = "n1"
        if distinct_sources:
            src = f"n{i + 3}"
            nodes.append({"id": src, "type": "ReLU", "name": f"relu{i}"})
            edges.append({"src": "n1", "dst": src})
        edges.append({"src": src, "dst": "n2"})
    return json.dumps({"format_version": 1, "name": "wide", "nodes": nodes, "edges": edges})
