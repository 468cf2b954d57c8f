"""The graph model, its file format, layout and graph operations. No Qt; no torch at import."""
from .block_merge import merge_identical_blocks
from .blockdefs import Argument, BlockDefinition
from .diagnostics import Diagnostic, fmt_shape
from .fileformat import (
    FORMAT_VERSION,
    from_json,
    graph_from_dict,
    graph_to_dict,
    load,
    save,
    to_json,
)
from .layout import auto_layout, layered_positions
from .model import Edge, Graph, Node
from .ops import extract, group, paste, ungroup
from .signals import Signal

__all__ = [
    "FORMAT_VERSION",
    "Argument",
    "BlockDefinition",
    "Diagnostic",
    "Edge",
    "Graph",
    "Node",
    "Signal",
    "auto_layout",
    "extract",
    "fmt_shape",
    "from_json",
    "graph_from_dict",
    "graph_to_dict",
    "group",
    "layered_positions",
    "load",
    "merge_identical_blocks",
    "paste",
    "save",
    "to_json",
    "ungroup",
]
