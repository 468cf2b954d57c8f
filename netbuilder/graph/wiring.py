"""A graph's ports and wires: which ports a node has, connecting and disconnecting them.

A mixin of ``Graph`` (model.py), using its node table, networkx graph and port indexes.
"""
from __future__ import annotations

import networkx as nx

from ..errors import CycleError, GraphError, ParamError, PortError
from ..layers import Port
from .nodes import Edge, Node


class Wiring:
    """``Graph``'s ports and wires."""

    def in_edges(self, node_id: str) -> list[Edge]:
        """Incoming wires ordered by port, then by connection order."""
        ports = [p.name for p in self.input_ports(node_id)]
        edges = [self._edges[k] for _, _, k in self._g.in_edges(node_id, keys=True)]
        return sorted(edges, key=lambda e: (ports.index(e.dst_port) if e.dst_port in ports
                                            else len(ports), e.order))

    def out_edges(self, node_id: str) -> list[Edge]:
        edges = [self._edges[k] for _, _, k in self._g.out_edges(node_id, keys=True)]
        return sorted(edges, key=lambda e: e.order)

    def input_ports(self, node_id: str) -> list[Port]:
        n = self.node(node_id)
        if n.inner is not None:
            # A block's own ports come from its inner Inputs; its spec may add shared-weight
            # ports after them (a Discriminator's optional "real").
            return [Port(i.id, doc=i.name) for i in n.inner.nodes() if i.is_input] + \
                list(n.spec.inputs)
        return list(n.spec.inputs)

    def output_ports(self, node_id: str) -> list[Port]:
        n = self.node(node_id)
        if n.inner is not None:
            return [Port(o.id, doc=o.name) for o in n.inner.nodes() if o.is_output] + \
                list(n.spec.outputs)
        return list(n.spec.outputs_for(n.params))

    def connect(self, src: str, dst: str, src_port: str | None = None,
                dst_port: str | None = None, *, order: int | None = None) -> Edge:
        """Wire ``src`` to ``dst``; ports default to the first output and the next free input."""
        s, d = self.node(src), self.node(dst)
        outs = self.output_ports(src)
        if not outs:
            raise PortError(f"{s.label} has no outputs to connect from", node=src)
        src_port = src_port or outs[0].name
        if src_port not in [p.name for p in outs]:
            raise PortError(f"{s.label} has no output port {src_port!r}; ports: "
                            f"{', '.join(p.name for p in outs)}", node=src, field=src_port)
        dst_port = self._input_port(d, dst_port)
        # (a node with no outgoing wire reaches nothing: the usual case while a file loads)
        if src == dst or (self._g.succ[dst] and nx.has_path(self._g, dst, src)):
            path = [src] if src == dst else nx.shortest_path(self._g, dst, src)
            names = " → ".join(self._nodes[i].name for i in path)
            raise CycleError(f"Connecting {s.label} → {d.label} would create a cycle "
                             f"({names} → {d.name}): networks must be acyclic; use a recurrent "
                             f"layer (RNN, LSTM, GRU) for feedback", node=dst)
        # only a variadic port takes the same source twice (x + x); the smallest free number
        slots = self._parallel.setdefault((src, src_port, dst, dst_port), [set(), 0])
        used, parallel = slots
        edge = Edge(src, src_port, dst, dst_port, order if order is not None else
                    self._next_order, parallel)
        self._next_order = max(self._next_order, edge.order) + 1
        self._edges[edge.key] = edge
        used.add(parallel)
        while slots[1] in used:
            slots[1] += 1
        ports = self._wired.setdefault(dst, {})
        ports[dst_port] = ports.get(dst_port, 0) + 1
        self._g.add_edge(src, dst, key=edge.key)
        self._touch()
        self.edge_added.emit(edge)
        self.changed.emit()
        return edge

    def disconnect(self, edge: Edge | tuple) -> Edge:
        key = edge.key if isinstance(edge, Edge) else tuple(edge)
        if key not in self._edges:
            raise GraphError(f"No wire {key!r}")
        e = self._edges.pop(key)
        self._g.remove_edge(e.src, e.dst, key=e.key)
        base = (e.src, e.src_port, e.dst, e.dst_port)
        slots = self._parallel[base]
        slots[0].discard(e.parallel)
        slots[1] = min(slots[1], e.parallel)
        if not slots[0]:
            del self._parallel[base]
        ports = self._wired[e.dst]
        ports[e.dst_port] -= 1
        if not ports[e.dst_port]:
            del ports[e.dst_port]
        self._touch()
        self.edge_removed.emit(e)
        self.changed.emit()
        return e

    def free_input_ports(self, node_id: str) -> list[str]:
        taken = self._wired.get(node_id, {})
        return [p.name for p in self.input_ports(node_id) if p.variadic or p.name not in taken]

    def _input_port(self, d: Node, dst_port: str | None) -> str:
        ports = self.input_ports(d.id)
        if not ports:
            raise PortError(f"{d.label} takes no inputs", node=d.id)
        taken = self._wired.get(d.id, {})  # port -> wires on it (never 0)
        if dst_port is None:
            free = [p.name for p in ports if p.variadic or p.name not in taken]
            if not free:
                raise PortError(
                    f"{d.label} already has its input: disconnect it first, or merge both "
                    f"wires with an Add or Concat node", node=d.id)
            return free[0]
        port = next((p for p in ports if p.name == dst_port), None)
        if port is None:
            raise PortError(f"{d.label} has no input port {dst_port!r}; ports: "
                            f"{', '.join(p.name for p in ports)}", node=d.id, field=dst_port)
        if not port.variadic and dst_port in taken:
            raise PortError(f"Input port {dst_port!r} of {d.label} is already connected: "
                            f"disconnect it first, or merge with an Add or Concat node",
                            node=d.id, field=dst_port)
        return dst_port

    def _check_wired_ports(self, n: Node, params: dict, values: dict) -> None:
        """Refuse params that would take away an output port a wire leaves from: the user
        removes the wire first, so no edit drops a connection unseen."""
        if n.inner is not None:
            return
        kept = {p.name for p in n.spec.outputs_for(params)}
        for e in self.out_edges(n.id):
            if e.src_port not in kept:
                changed = ", ".join(f"{k} = {params[k]!r}" for k in values)
                raise ParamError(
                    f"{n.label}: {changed} removes output '{e.src_port}', which is wired to "
                    f"{self.node(e.dst).label}; disconnect that wire first",
                    node=n.id, field=next(iter(values)))
