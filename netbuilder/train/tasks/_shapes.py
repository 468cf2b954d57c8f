"""Helpers tasks share: naming the layer that produces the output, describing shapes, and the
output checks several tasks make alike."""
from __future__ import annotations

import math

import numpy as np

from ...graph import fmt_shape
from .base import TrainingError


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


def one_output(task: str, output_shapes: list, what: str = "") -> tuple:
    """The shape of the graph's only output (``()`` where unknown); a TrainingError where it
    returns none or several. ``what`` says what the output is, e.g. " (the reconstruction)"."""
    if len(output_shapes) != 1:
        raise TrainingError(f"The {task} task needs one output{what}, but the graph returns "
                            f"{len(output_shapes)}: keep one Output node", field="task")
    return tuple(output_shapes[0] or ())


def check_size(graph, shape: tuple, wanted: tuple, need: str, fix: str) -> None:
    """A TrainingError unless the output ``shape`` holds as many values per sample as
    ``wanted``: "<layer> gives <shape> but <need> <wanted>: <fix> <count> value(s) per
    sample"."""
    count = math.prod(wanted)
    if math.prod(shape) != count:
        kind, name = output_layer(graph)
        raise TrainingError(f"{kind} '{name}' gives {shape_text(shape)} but {need} "
                            f"{shape_text(wanted)}: {fix} {count} value(s) per sample",
                            field="task")


def check_float_inputs(data, need: str, field: str = "task") -> None:
    """A TrainingError where the dataset holds token ids (integers) but ``need``s values."""
    if not np.issubdtype(data.x.dtype, np.floating):
        raise TrainingError(f"{need}, but this dataset holds token ids", field=field)
