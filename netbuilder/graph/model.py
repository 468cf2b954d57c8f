"""The graph model: the single source of truth that the canvas, training and export read.

Mutations validate first, then mutate, then emit a signal, so a refused edit changes nothing.
``Graph`` holds the nodes, their names and the facade to the compiler; its ports and wires
are in ``wiring.py``, its sharing, freezing and weights in ``freezing.py``, ``Node`` and
``Edge`` in ``nodes.py`` (all importable from here, as before).
"""
from __future__ import annotations

import copy
import math
from collections.abc import Iterable
from typing import Any

import networkx as nx

from ..errors import GraphError, NameTakenError, ParamError
from ..layers import LayerSpec, get_spec
from .blockdefs import BlockDefinition, check_identifier
from .diagnostics import label
from .freezing import Freezing
from .nodes import Edge, Node
from .sharing import sharers_of, sharing_group
from .signals import Signal
from .weights import GraphWeights
from .wiring import Wiring


class Graph(Wiring, Freezing):
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
        own = {p.name for p in n.spec.params if p.per_call}
        for m, _ in edits:
            self._check_wired_ports(m, new, values)
        for m, _ in edits:
            m.params = {**new, **{k: m.params.get(k) for k in own if m is not n}}
            m.version += 1
        self._touch()
        for m, changed in edits:
            for k, v in changed.items():
                self.param_changed.emit(m.id, k, v)
        self.changed.emit()

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

    def check(self, needs=()):
        """Diagnostics (severity, node id, message); never raises for a bad graph. ``needs``:
        what a training requires of the drawing ("gan", "reconstruction", "latent"), whose
        gaps are then errors; ``netbuilder.train.tasks.graph_check`` passes the graph's task's."""
        return _compiler().check(self, needs)

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


__all__ = ["Edge", "Graph", "Node"]
