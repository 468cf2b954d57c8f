"""Helpers tasks share: naming the layer that produces the output, describing shapes."""
from __future__ import annotations

from ...graph import fmt_shape


def output_layer(graph) -> tuple[str, str]:
    """(type, name) of the layer whose result the graph returns (through an Output node)."""
    outs = graph.outputs()
    if not outs:
        return ("", "output")
    node = graph.node(outs[0])
    if node.is_output:
        edges = graph.in_edges(node.id)
        if edges:
            src = graph.node(edges[0].src)
            return src.type, src.name
    return node.type, node.name


def shape_text(shape) -> str:
    return fmt_shape(tuple(shape))
