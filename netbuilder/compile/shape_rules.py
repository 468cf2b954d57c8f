"""Closed-form shapes and MAC counts (the rules live in the layers' specs), and the wiring plan.

Shape analysis runs each layer on ``meta`` tensors, but a meta run costs 0.1 to 1 ms (torch's
Python reference kernels) and ``FlopCounterMode`` as much again, while a 1,000-node graph must
analyse in well under a second. The rules here give exactly what the meta run gives (tests
compare both over many shapes). NOTE: a rule returns None whenever it is not sure (another
dtype, an unusual argument, a size torch would reject), and the layer then runs on meta
tensors as before, so torch still decides and words every error.
"""
from __future__ import annotations

import heapq

from ..graph import Graph
from ..layers import get_spec

_FLOAT = "float32"


def closed_form(type_: str, params: dict, shapes: list, dtypes: list
                ) -> tuple[list, list, int] | None:
    """``([out shape], [out dtype], macs)`` without running the layer, or None to run it.

    The layer's spec knows: ``same_shape`` layers keep their input's shape, a ``shape_rule``
    gives the shape and MACs in closed form (see ``layers.shapes``).
    """
    if not shapes or any(s is None for s in shapes) or any(d != _FLOAT for d in dtypes):
        return None
    spec = get_spec(type_)
    if spec.same_shape:
        return [tuple(shapes[0])], [_FLOAT], 0
    result = spec.shape_rule(params, shapes) if spec.shape_rule else None
    if result is None:
        return None
    shape, macs = result
    return [shape], [_FLOAT], macs


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
