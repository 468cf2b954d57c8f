"""The graph model: the single source of truth that the canvas, training and export read.

Mutations validate first, then mutate, then emit a signal, so a refused edit changes nothing.
"""
from __future__ import annotations

import copy
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from ..errors import CycleError, GraphError, NameTakenError, ParamError, PortError
from ..layers import LayerSpec, Port, get_spec
from .blockdefs import BlockDefinition, check_identifier
from .diagnostics import label
from .sharing import check_share, sharers_of, sharing_group
from .signals import Signal
from .weights import GraphWeights


@dataclass
class Node:
    """A layer instance. ``pos`` is UI metadata that is saved; ``inner`` is a block's graph."""

    id: str
    type: str
    name: str
    params: dict
    pos: tuple[float, float] = (0.0, 0.0)
    inner: Graph | None = None
    version: int = 0  # bumped on every change that affects shapes (analysis cache key)
    shares: str | None = None  # id of the node whose module this one uses (weight sharing)
    definition: str | None = None  # the block definition this block node uses (blockdefs.py)
    trainable: bool = True  # False: frozen (its parameters, a block's all inside, stay fixed)

    @property
    def spec(self) -> LayerSpec:
        return get_spec(self.type)

    @property
    def label(self) -> str:
        return label(self.type, self.name)

    @property
    def is_input(self) -> bool:
        """Where the graph's data enters (an Input; inside a block, one of its ports)."""
        return self.spec.boundary == "input"

    @property
    def is_output(self) -> bool:
        """A value the graph returns (an Output; inside a block, one of its ports)."""
        return self.spec.boundary == "output"

    @property
    def is_drawn_source(self) -> bool:
        """A source other than an Input (Noise): drawn inside forward unless passed in."""
        return self.spec.source and not self.spec.boundary

    @property
    def is_boundary(self) -> bool:
        """An Input or an Output: structure, not a layer."""
        return bool(self.spec.boundary)


@dataclass(frozen=True)
class Edge:
    """A wire ``(src, src_port) → (dst, dst_port)``; ``order`` keeps variadic inputs in order.

    ``parallel`` numbers further wires between the same two ports (``x + x`` is two wires into
    one Add); the first has 0 and the four-part key, the others a fifth key part.
    """

    src: str
    src_port: str
    dst: str
    dst_port: str
    order: int = field(default=0, compare=False)
    parallel: int = 0

    @property
    def key(self) -> tuple:
        base = (self.src, self.src_port, self.dst, self.dst_port)
        return base + (self.parallel,) if self.parallel else base


class Graph:
    """A DAG of layers (a networkx MultiDiGraph underneath: ``x + x`` is two wires)."""

    def __init__(self, name: str = "untitled") -> None:
        self.name = name
        self.training: dict = {}  # the TrainingConfig as JSON (the train package owns its schema)
        self.meta: dict = {}
        # block definitions by name; only the top graph holds them (see blockdefs.py)
        self.definitions: dict[str, BlockDefinition] = {}
        self.weights: GraphWeights | None = None  # the weights file beside the graph file
        self.parent: tuple[Graph, str] | None = None  # set for a block's inner graph
        self.version = 0
        self._g = nx.MultiDiGraph()
        self._nodes: dict[str, Node] = {}
        self._edges: dict[tuple, Edge] = {}
        # NOTE: indexes kept beside the networkx graph so that adding a node or a wire costs
        # the same whatever the graph's size (a file with 5,000 wires into one Add loads in
        # linear time): name -> id; node -> input port -> wires on it; (src, src_port, dst,
        # dst_port) -> [parallel numbers in use, the smallest free one].
        self._names: dict[str, str] = {}
        self._wired: dict[str, dict[str, int]] = {}
        self._parallel: dict[tuple, list] = {}
        self._name_hints: dict[str, int] = {}  # base -> no free f"{base}{i}" below this i
        self._next_id = 1
        self._next_order = 1
        self._analysis_cache: dict = {}
        self.node_added = Signal()  # (node_id)
        self.node_removed = Signal()  # (node_id)
        self.edge_added = Signal()  # (Edge)
        self.edge_removed = Signal()  # (Edge)
        self.param_changed = Signal()  # (node_id, param_name, value)
        self.node_renamed = Signal()  # (node_id, name)
        self.node_moved = Signal()  # (node_id, pos)
        self.sharing_changed = Signal()  # (node_id, old shared id, new shared id)
        self.trainable_changed = Signal()  # (node_id, trainable)
        self.weights_changed = Signal()  # () the graph's weights were set or removed
        self.changed = Signal()  # () after any mutation that can change shapes

    # --- queries --------------------------------------------------------------------------

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._nodes

    def __len__(self) -> int:
        return len(self._nodes)

    def node(self, node_id: str) -> Node:
        try:
            return self._nodes[node_id]
        except KeyError:
            raise GraphError(f"No node with id {node_id!r} in graph '{self.name}'",
                             node=node_id) from None

    def nodes(self) -> list[Node]:
        return list(self._nodes.values())

    def edges(self) -> list[Edge]:
        return sorted(self._edges.values(), key=lambda e: e.order)

    def find(self, name: str) -> str:
        """The id of the node called ``name``."""
        if name in self._names:
            return self._names[name]
        raise GraphError(f"No node named {name!r} in graph '{self.name}'")

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
        return list(n.spec.outputs)

    def topo_order(self) -> list[str]:
        return list(nx.lexicographical_topological_sort(self._g, key=self._sort_key))

    def _sort_key(self, node_id: str) -> tuple:
        return (len(node_id), node_id)

    def inputs(self) -> list[str]:
        return [n.id for n in self._nodes.values() if n.is_input]

    def outputs(self) -> list[str]:
        """Output nodes, or the sinks when there are none (what ``build`` returns)."""
        outs = [n.id for n in self._nodes.values() if n.is_output]
        if outs:
            return outs
        return [n.id for n in self._nodes.values()
                if self._g.out_degree(n.id) == 0 and not n.is_input]

    def ancestors(self, node_id: str) -> set[str]:
        return nx.ancestors(self._g, node_id)

    def descendants(self, node_id: str) -> set[str]:
        return nx.descendants(self._g, node_id)

    # --- node mutations -------------------------------------------------------------------

    def add(self, type: str, name: str | None = None, pos: Iterable[float] | None = None,
            *, id: str | None = None, inner: Graph | None = None,
            definition: str | None = None, **params: Any) -> str:
        """Add a layer and return its id. Parameters not given take their defaults.

        A block node that uses a block definition names it (``definition``) and gets its
        inner graph from ``blockdefs.materialize``."""
        spec = get_spec(type)
        if definition is not None:
            check_identifier(definition)
            if inner is None:
                raise GraphError(f"A block node using the definition {definition!r} needs its "
                                 f"inner graph", node=id, field="definition")
        node_id = id or self._new_id()
        if node_id in self._nodes:
            raise GraphError(f"A node with id {node_id!r} already exists", node=node_id)
        if name is not None:
            self._check_name(name, None)
        else:
            name = self.unique_name(spec.short)
        values = self._validated(spec, name, spec.defaults(), params)
        if spec.is_block and inner is None:
            inner = _default_block_graph(name)
        node = Node(node_id, type, name, values, _pos(pos), inner, definition=definition)
        if inner is not None:
            inner.parent = (self, node_id)
        self._nodes[node_id] = node
        self._names[name] = node_id
        self._g.add_node(node_id)
        self._bump_id(node_id)
        self._touch()
        self.node_added.emit(node_id)
        self.changed.emit()
        return node_id

    def remove(self, node_id: str) -> None:
        """Remove a node and its wires (each wire removal is announced first).

        Inside a block, an Input or Output node is one of the block's ports: the outer wires
        on that port go too (announced by the outer graph), so no wire is left dangling.
        """
        n = self.node(node_id)
        if self.parent is not None and n.is_boundary:
            outer, block = self.parent
            if block in outer:
                for e in outer.in_edges(block) + outer.out_edges(block):
                    if node_id in ((e.dst_port if e.dst == block else None),
                                   (e.src_port if e.src == block else None)):
                        outer.disconnect(e)
        for sharer in sharers_of(self, node_id):  # they keep its settings, own modules again
            self.share(sharer, None)
        for e in self.in_edges(node_id) + self.out_edges(node_id):
            self.disconnect(e)
        self._g.remove_node(node_id)
        del self._nodes[node_id]
        self._release_name(n.name)
        self._wired.pop(node_id, None)
        self._analysis_cache.pop(node_id, None)
        self._touch()
        self.node_removed.emit(node_id)
        self.changed.emit()

    def set_param(self, node_id: str, key: str, value: Any) -> None:
        self.set_params(node_id, {key: value})

    def set_params(self, node_id: str, values: dict) -> None:
        """Change parameters; all are validated before any is applied. Nodes sharing one
        module change together (one module has one configuration)."""
        n = self.node(node_id)
        new = self._validated(n.spec, n.name, n.params, values, node_id)
        edits = []
        for member in sharing_group(self, node_id):
            m = self.node(member)
            changed = {k: v for k, v in new.items() if m.params.get(k) != v or
                       type(m.params.get(k)) is not type(v)}
            if changed:
                edits.append((m, changed))
        if not edits:
            return
        for m, _ in edits:
            m.params = dict(new)
            m.version += 1
        self._touch()
        for m, changed in edits:
            for k, v in changed.items():
                self.param_changed.emit(m.id, k, v)
        self.changed.emit()

    def share(self, node_id: str, target: str | None) -> None:
        """Make ``node_id`` use the module of ``target`` (weight sharing; it takes the target's
        parameters), or a module of its own again (None)."""
        n = self.node(node_id)
        old = n.shares
        if target == old:
            return
        if target is not None:
            check_share(self, node_id, target)
            # NOTE: settings first, while the node is still alone: undoing the link then
            # restores its own settings without reaching the owner through the link.
            self._align(node_id, target)
        n.shares = target
        n.version += 1
        self._touch()
        self.sharing_changed.emit(node_id, old, target)
        self.changed.emit()

    def set_trainable(self, node_id: str, trainable: bool) -> None:
        """Freeze (False) or unfreeze a node; a block's switch covers everything inside it.
        Nodes sharing one module switch together (one module, one set of parameters)."""
        if not isinstance(trainable, bool):
            raise ParamError(f"trainable is true or false, not {trainable!r}", node=node_id,
                             field="trainable")
        self.node(node_id)
        members = [m for m in sharing_group(self, node_id)
                   if self.node(m).trainable != trainable]
        if not members:
            return
        for m in members:
            self.node(m).trainable = trainable
            self.node(m).version += 1
        self._touch()
        for m in members:
            self.trainable_changed.emit(m, trainable)
        self.changed.emit()

    def is_frozen(self, node_id: str) -> bool:
        """Whether the node's parameters stay fixed in training: its own switch, or that of
        a block it lies in."""
        if not self.node(node_id).trainable:
            return True
        if self.parent is not None:
            outer, block = self.parent
            return block in outer and outer.is_frozen(block)
        return False

    def set_weights(self, weights: GraphWeights | None) -> None:
        """Give the graph its weights (``GraphWeights``), or take them away (None)."""
        self.weights = weights
        self.weights_changed.emit()

    def _align(self, node_id: str, target: str) -> None:
        n, t = self.node(node_id), self.node(target)
        changed = {k: v for k, v in t.params.items() if n.params.get(k) != v}
        if changed:
            n.params = dict(t.params)
            n.version += 1
            self._touch()
            for k, v in changed.items():
                self.param_changed.emit(node_id, k, v)

    def rename(self, node_id: str, name: str) -> None:
        n = self.node(node_id)
        if name == n.name:
            return
        self._check_name(name, node_id)
        self._release_name(n.name)
        n.name = name
        self._names[name] = node_id
        n.version += 1
        self._touch()
        self.node_renamed.emit(node_id, name)
        self.changed.emit()

    def move(self, node_id: str, pos: Iterable[float]) -> None:
        n = self.node(node_id)
        n.pos = _pos(pos)
        self.node_moved.emit(node_id, n.pos)

    def reorder(self, ids: Iterable[str]) -> None:
        """Put the listed nodes first, in that order (undo returns a removed node to its place,
        so the file and the model's input order come out exactly as before)."""
        ids = [i for i in ids if i in self._nodes]
        rest = [i for i in self._nodes if i not in set(ids)]
        self._nodes = {i: self._nodes[i] for i in ids + rest}

    def unique_name(self, base: str) -> str:
        """``base`` followed by the smallest number that makes a free name."""
        i = self._name_hints.get(base, 1)
        while f"{base}{i}" in self._names:
            i += 1
        self._name_hints[base] = i
        return f"{base}{i}"

    def _release_name(self, name: str) -> None:
        del self._names[name]
        self._name_hints.clear()  # a freed name may be below a hint (rare: removal, rename)

    # --- wires ----------------------------------------------------------------------------

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

    # --- helpers --------------------------------------------------------------------------

    def _validated(self, spec: LayerSpec, name: str, base: dict, values: dict,
                   node_id: str | None = None) -> dict:
        out = dict(base)
        where = label(spec.type, name)
        valid = {p.name for p in spec.params}
        for k, v in values.items():
            if k not in valid:
                listing = ", ".join(sorted(valid)) or "none"
                raise ParamError(f"{where} has no parameter {k!r}; its parameters: {listing}",
                                 node=node_id, field=k)
            try:
                out[k] = spec.param(k).validate(v, where)
            except ParamError as exc:
                exc.node = node_id  # an existing node's edit: the error carries its id
                raise
        return out

    def _check_name(self, name: str, node_id: str | None) -> None:
        if not isinstance(name, str):
            raise NameTakenError(f"A node name is text, not {name!r}", node=node_id,
                                 field="name")
        if not name.strip():
            raise NameTakenError("A node name cannot be empty", node=node_id, field="name")
        owner = self._names.get(name)
        if owner is not None and owner != node_id:
            raise NameTakenError(f"The name {name!r} is taken by {self._nodes[owner].label}: "
                                 f"names must be unique (try {self.unique_name(name)!r})",
                                 node=node_id, field="name")

    def _new_id(self) -> str:
        while f"n{self._next_id}" in self._nodes:
            self._next_id += 1
        return f"n{self._next_id}"

    def _bump_id(self, node_id: str) -> None:
        # (ASCII digits only, and few: int() refuses "²" and 5,000-digit strings)
        digits = node_id[1:]
        if node_id.startswith("n") and digits.isascii() and digits.isdigit() and \
                len(digits) < 19:
            self._next_id = max(self._next_id, int(node_id[1:]) + 1)

    def _touch(self) -> None:
        """Record a change; a block's inner change also counts as a change of the block node."""
        self.version += 1
        if self.parent is not None:
            outer, node_id = self.parent
            if node_id in outer._nodes:
                outer._nodes[node_id].version += 1
                outer._touch()
                outer.changed.emit()

    def copy(self) -> Graph:
        """An independent deep copy (without signal subscribers)."""
        from .fileformat import graph_from_dict, graph_to_dict

        new = graph_from_dict(copy.deepcopy(graph_to_dict(self, inline=True)))
        new.definitions = {k: d.copy() for k, d in self.definitions.items()}
        new.weights = self.weights  # (the link is never mutated, only replaced: shared safely)
        return new

    # --- the public facade (shape analysis, codegen and files live in their own modules) ---

    def check(self):
        """Diagnostics (severity, node id, message); never raises for a bad graph."""
        return _compiler().check(self)

    def _repr_svg_(self) -> str:
        """The diagram, so that a notebook shows the network inline (see drawing.py)."""
        from .drawing import render_svg, wire_shapes

        return render_svg(self, shapes=wire_shapes(self))

    def analyze(self, batch_size: int = 1):
        """Per-node output shapes, parameters and MACs; per-wire shapes; totals."""
        return _compiler().analyze(self, batch_size=batch_size)

    def build(self, class_name: str | None = None):
        """A ``torch.nn.Module`` made by executing ``to_python()``'s source."""
        return _compiler().build(self, class_name=class_name)

    def to_python(self, class_name: str | None = None, main: bool = True) -> str:
        """Standalone PyTorch source of the model."""
        return _compiler().to_python(self, class_name=class_name, main=main)

    def define_block(self, name: str, inner: Graph, **arguments) -> None:
        """A block definition used by ``add_block``; each argument is ``(default, binds)``
        (``planes=(64, ["conv1.out_channels", "conv2.out_channels"])``)."""
        from .blockdefs import define

        define(self, name, inner, arguments)

    def add_block(self, definition: str, name: str | None = None, type: str = "Block",
                  pos=None, **values: Any) -> str:
        """A block node using ``definition`` with these argument values; returns its id."""
        from .blockdefs import add_use

        return add_use(self, definition, name, type, pos, **values)

    def save(self, path) -> None:
        from .fileformat import save

        save(self, path)

    def regularizers(self) -> list[tuple[str, float, float]]:
        """``(node name, l1, l2)`` for weight layers with a penalty (read by training)."""
        out = []
        for n in self._nodes.values():
            if n.spec.weight_layer and (n.params.get("l1") or n.params.get("l2")):
                out.append((n.name, n.params["l1"], n.params["l2"]))
        return out


def _compiler():
    # NOTE: the facade methods above are conveniences for users' scripts. The graph package
    # itself never imports torch; this lazy import happens only when a user asks for shapes or
    # a module, so `import netbuilder.graph` stays light.
    import importlib

    return importlib.import_module("netbuilder.compile")


def _pos(pos: Iterable[float] | None) -> tuple[float, float]:
    if pos is None:
        return (0.0, 0.0)
    try:
        x, y = (float(v) for v in pos)
    except (TypeError, ValueError):
        raise GraphError(f"A position is two numbers (x, y), not {pos!r}", field="pos") from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise GraphError(f"A position must be finite, not {pos!r}", field="pos")
    return (x, y)


def _default_block_graph(name: str) -> Graph:
    """A new block starts as Input → Output, valid as it is."""
    inner = Graph(name)
    a = inner.add("Input", "x", (0, 0))
    b = inner.add("Output", "y", (240, 0))
    inner.connect(a, b)
    return inner
