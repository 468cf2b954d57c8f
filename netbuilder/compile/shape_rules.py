"""Closed-form shapes and MAC counts for the most common layers, and the wiring plan.

Shape analysis runs each layer on ``meta`` tensors, but a meta run costs 0.1 to 1 ms (torch's
Python reference kernels) and ``FlopCounterMode`` as much again, while a 1,000-node graph must
analyse in well under a second. The rules here give exactly what the meta run gives (tests
compare both over many shapes). NOTE: a rule returns None whenever it is not sure (another
dtype, an unusual argument, a size torch would reject), and the layer then runs on meta
tensors as before, so torch still decides and words every error.
"""
from __future__ import annotations

import heapq
import math
from collections.abc import Callable

from ..graph import Graph

_FLOAT = "float32"

# Layers whose forward calls none of the operations FlopCounterMode counts (matrix products,
# convolutions, attention): their MACs are 0 without running the counter.
NO_MACS = frozenset({
    "Input", "Output", "Flatten", "Unflatten", "Reshape", "Identity", "Embedding",
    "MaxPool1d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d",
    "Upsample", "ZeroPad2d", "AddCoords", "BatchNorm1d", "BatchNorm2d", "LayerNorm",
    "GroupNorm", "Dropout", "Dropout2d", "ReLU", "LeakyReLU", "PReLU", "ELU", "GELU", "SiLU",
    "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Add", "Multiply", "Concat",
    "PositionalEncoding", "Reparameterize",
})

# Element-wise on float input (or normalizing over a dimension that the rank rule guarantees).
_SAME_SHAPE = frozenset({
    "ReLU", "LeakyReLU", "ELU", "GELU", "SiLU", "Sigmoid", "Tanh", "Dropout", "Dropout2d",
    "Identity", "BatchNorm1d", "BatchNorm2d", "LayerNorm",
})

Rule = Callable[[dict, list], "tuple[tuple, int] | None"]


def closed_form(type_: str, params: dict, shapes: list, dtypes: list
                ) -> tuple[list, list, int] | None:
    """``([out shape], [out dtype], macs)`` without running the layer, or None to run it."""
    if not shapes or any(s is None for s in shapes) or any(d != _FLOAT for d in dtypes):
        return None
    if type_ in _SAME_SHAPE:
        return [tuple(shapes[0])], [_FLOAT], 0
    rule = _RULES.get(type_)
    result = rule(params, shapes) if rule else None
    if result is None:
        return None
    shape, macs = result
    return [shape], [_FLOAT], macs


def _tuple(value, n: int) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


def _linear(p: dict, shapes: list):
    s = shapes[0]
    if len(s) not in (1, 2):
        return None
    return (*s[:-1], p["out_features"]), math.prod(s[:-1]) * s[-1] * p["out_features"]


def _conv(dims: int) -> Rule:
    def rule(p: dict, shapes: list):
        s = shapes[0]
        groups = p["groups"]
        if (len(s) != dims + 1 or p.get("padding_mode", "zeros") != "zeros"
                or s[0] % groups or p["out_channels"] % groups):
            return None
        kernel, stride = _tuple(p["kernel_size"], dims), _tuple(p["stride"], dims)
        pad, dil = _tuple(p["padding"], dims), _tuple(p["dilation"], dims)
        out = []
        for size, k, st, pd, d in zip(s[1:], kernel, stride, pad, dil):
            span = d * (k - 1) + 1
            if size + 2 * pd < span:
                return None  # torch explains: the input is smaller than the kernel
            out.append((size + 2 * pd - span) // st + 1)
        macs = p["out_channels"] * math.prod(out) * (s[0] // groups) * math.prod(kernel)
        return (p["out_channels"], *out), macs
    return rule


def _flatten(p: dict, shapes: list):
    full = (1, *shapes[0])
    n = len(full)
    start, end = p["start_dim"], p["end_dim"]
    start, end = (start + n if start < 0 else start), (end + n if end < 0 else end)
    if not (0 <= start <= end < n):
        return None
    out = (*full[:start], math.prod(full[start:end + 1]), *full[end + 1:])
    return out[1:], 0


def _elementwise(p: dict, shapes: list):
    first = shapes[0]
    if any(tuple(s) != tuple(first) for s in shapes[1:]):
        return None
    return tuple(first), 0


def _concat(p: dict, shapes: list):
    first = shapes[0]
    rank = len(first) + 1
    d = p["dim"] + rank if p["dim"] < 0 else p["dim"]
    if d < 1 or d >= rank:
        return None
    axis = d - 1
    for s in shapes[1:]:
        if len(s) != len(first) or any(a != b for i, (a, b) in enumerate(zip(first, s))
                                        if i != axis):
            return None
    out = list(first)
    out[axis] = sum(s[axis] for s in shapes)
    return tuple(out), 0


def _pool(dims: int) -> Rule:
    def rule(p: dict, shapes: list):
        s = shapes[0]
        if (len(s) != dims + 1 or p["ceil_mode"] or p.get("return_indices")
                or p.get("dilation", 1) != 1):
            return None
        kernel = _tuple(p["kernel_size"], dims)
        stride = kernel if p["stride"] is None else _tuple(p["stride"], dims)
        pad = _tuple(p["padding"], dims)
        out = []
        for size, k, st, pd in zip(s[1:], kernel, stride, pad):
            if 2 * pd > k or size + 2 * pd < k:
                return None  # torch explains: too much padding, or a window larger than the map
            out.append((size + 2 * pd - k) // st + 1)
        return (s[0], *out), 0
    return rule


def _adaptive(p: dict, shapes: list):
    s = shapes[0]
    if len(s) != 3 or p.get("return_indices"):
        return None
    return (s[0], *_tuple(p["output_size"], 2)), 0


_RULES: dict[str, Rule] = {
    "Linear": _linear, "Conv1d": _conv(1), "Conv2d": _conv(2), "Flatten": _flatten,
    "Add": _elementwise, "Multiply": _elementwise, "Concat": _concat,
    "MaxPool1d": _pool(1), "MaxPool2d": _pool(2), "AvgPool2d": _pool(2),
    "AdaptiveAvgPool2d": _adaptive, "AdaptiveMaxPool2d": _adaptive,
}


def wiring(graph: Graph) -> tuple[list[str], dict[str, list[tuple[str, str, int]]]]:
    """The topological order and each node's incoming wires, in one pass over the edges.

    The order is the same as ``graph.topo_order()`` (smallest ``(len(id), id)`` first); the wires
    of a node are ``(dst_port, src, src output index)`` in port, then connection order, as
    ``graph.in_edges`` gives them. Cached on the graph: a parameter edit changes the graph's
    version but not its wiring, so the cache is keyed by the wiring's own fingerprint.
    """
    cached = graph._analysis_cache.get(_WIRING_KEY)
    if cached is not None and cached[0] == graph.version:
        return cached[2]
    nodes = graph.nodes()
    edges = graph.edges()  # in connection order
    fingerprint = (tuple((n.id, n.type, n.version if n.inner is not None else 0) for n in nodes),
                   tuple((e.key, e.order) for e in edges))
    if cached is not None and cached[1] == fingerprint:
        result = cached[2]
    else:
        result = _build_wiring(graph, nodes, edges)
    graph._analysis_cache[_WIRING_KEY] = (graph.version, fingerprint, result)
    return result


_WIRING_KEY = ("wiring",)  # not a node id (those are text), so it never collides
_PORTS: dict[tuple[str, str], dict[str, int]] = {}  # (layer type, "in"|"out") -> port index


def _port_index(graph: Graph, node, direction: str) -> dict[str, int]:
    if node.inner is not None:  # a block's ports come from its inner graph
        ports = graph.input_ports(node.id) if direction == "in" else graph.output_ports(node.id)
        return {p.name: i for i, p in enumerate(ports)}
    index = _PORTS.get((node.type, direction))
    if index is None:
        ports = node.spec.inputs if direction == "in" else node.spec.outputs
        index = _PORTS[(node.type, direction)] = {p.name: i for i, p in enumerate(ports)}
    return index


def _build_wiring(graph: Graph, nodes: list, edges: list):
    by_id = {n.id: n for n in nodes}
    incoming: dict[str, list] = {nid: [] for nid in by_id}
    children: dict[str, list[str]] = {nid: [] for nid in by_id}
    for e in edges:
        incoming[e.dst].append(e)
        children[e.src].append(e.dst)
    wires: dict[str, list[tuple[str, str, int]]] = {}
    for nid, into in incoming.items():
        if len(into) > 1:
            rank = _port_index(graph, by_id[nid], "in")
            into.sort(key=lambda e: rank.get(e.dst_port, len(rank)))  # stable: keeps order
        wires[nid] = [(e.dst_port, e.src, _port_index(graph, by_id[e.src], "out").get(
            e.src_port, 0)) for e in into]
    return _lexicographic_topo(list(by_id), incoming, children), wires


def _lexicographic_topo(ids, incoming, children) -> list[str]:
    """Kahn's algorithm taking the smallest ``(len(id), id)`` first, like networkx's
    ``lexicographical_topological_sort`` with the key ``Graph.topo_order`` uses."""
    indegree = {nid: len(incoming[nid]) for nid in ids}
    heap = [(len(nid), nid) for nid in ids if indegree[nid] == 0]
    heapq.heapify(heap)
    order = []
    while heap:
        _, nid = heapq.heappop(heap)
        order.append(nid)
        for child in children[nid]:
            indegree[child] -= 1
            if indegree[child] == 0:
                heapq.heappush(heap, (len(child), child))
    return order
