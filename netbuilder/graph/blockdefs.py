"""Block definitions: one inner graph used by many block nodes, with constructor arguments.

A definition lives on the top graph (``Graph.definitions``). A block node that uses one names
it (``Node.definition``) and holds its own copy of the inner graph with its argument values
applied: analysis, the canvas and training read ``node.inner`` as for any block.

NOTE: a use's argument values are read back from its inner graph (``arguments_of``), never
stored beside it, so the two cannot disagree. A use whose inner graph no longer matches its
definition (edited alone through the API) is saved with its own graph instead of a reference.
"""
from __future__ import annotations

import keyword
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import GraphError

if TYPE_CHECKING:
    from .model import Graph, Node

Bind = tuple[str, ...]  # inner node names down to the node, then the parameter name


@dataclass
class Argument:
    """A constructor argument: its default and the inner parameters it sets."""

    default: Any
    binds: tuple[Bind, ...] = ()


@dataclass
class BlockDefinition:
    """A named block definition (one ``nn.Module`` class in generated code)."""

    name: str
    arguments: dict[str, Argument] = field(default_factory=dict)
    # the graph with the defaults, kept for a definition no block uses yet (otherwise the
    # graph is read back from a use: an edit to all uses never leaves a stale copy here)
    template: Graph | None = field(default=None, repr=False, compare=False)

    def copy(self) -> BlockDefinition:
        return BlockDefinition(self.name, {k: Argument(a.default, a.binds)
                                           for k, a in self.arguments.items()},
                               self.template.copy() if self.template is not None else None)


def check_identifier(name: Any, what: str = "A block definition name") -> str:
    """``name`` when it is a Python identifier that is not a keyword (it reaches source)."""
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name) or \
            not name.isascii():
        raise GraphError(f"{what} must be a Python identifier (letters, digits, _), not "
                         f"{name!r}", field="definition")
    return name


def root_of(g: Graph) -> Graph:
    """The top graph (where the definitions live) of a graph or of a block's inner graph."""
    while g.parent is not None:
        g = g.parent[0]
    return g


def walk_blocks(g: Graph, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Node]]:
    """Every block node in ``g`` and below, inner ones first, with its path of block ids."""
    for n in g.nodes():
        if n.inner is not None:
            yield from walk_blocks(n.inner, (*path, n.id))
            yield (*path, n.id), n


def uses_of(g: Graph, name: str) -> list[tuple[tuple[str, ...], Node]]:
    """``(path of block ids, node)`` of each block node that uses the definition ``name``."""
    return [(p, n) for p, n in walk_blocks(root_of(g)) if n.definition == name]


def _locate(inner: Graph, bind: Bind) -> tuple[Graph, str, str]:
    """``(graph, node id, parameter)`` that ``bind`` names; GraphError when there is none."""
    g = inner
    *names, param = bind
    for i, name in enumerate(names):
        try:
            nid = g.find(name)
        except GraphError:
            raise GraphError(f"no node {'.'.join(names[:i + 1])!r} for the argument binding "
                             f"{'.'.join(bind)!r}", field="binds") from None
        if i < len(names) - 1:
            g = g.node(nid).inner
            if g is None:
                raise GraphError(f"{'.'.join(names[:i + 1])!r} is not a block (binding "
                                 f"{'.'.join(bind)!r})", field="binds")
    if not names or param not in {p.name for p in g.node(nid).spec.params}:
        raise GraphError(f"the argument binding {'.'.join(bind)!r} names no parameter",
                         field="binds")
    return g, nid, param


def check_binds(definition: BlockDefinition, template: Graph) -> None:
    for arg, a in definition.arguments.items():
        check_identifier(arg, "An argument name")
        for bind in a.binds:
            try:
                _locate(template, bind)
            except GraphError as exc:
                raise GraphError(f"argument {arg!r} of {definition.name!r}: {exc.message}",
                                 field=arg) from None


def apply_arguments(inner: Graph, definition: BlockDefinition, values: dict) -> None:
    """Set the parameters each argument binds to its value (the default when not given)."""
    for arg in values:
        if arg not in definition.arguments:
            known = ", ".join(definition.arguments) or "none"
            raise GraphError(f"the block definition {definition.name!r} has no argument "
                             f"{arg!r} (its arguments: {known})", field=arg)
    for arg, a in definition.arguments.items():
        value = values.get(arg, a.default)
        for bind in a.binds:
            g, nid, param = _locate(inner, bind)
            try:
                g.set_param(nid, param, value)
            except GraphError as exc:
                raise GraphError(f"argument {arg!r} of {definition.name!r}: {exc.message}",
                                 field=arg) from None


def arguments_of(node: Node, definition: BlockDefinition) -> dict | None:
    """The argument values of a use, read from its inner graph; None when a bound parameter
    is missing or two parameters bound to one argument differ (the use left its definition)."""
    out = {}
    for arg, a in definition.arguments.items():
        values = []
        for bind in a.binds:
            try:
                g, nid, param = _locate(node.inner, bind)
            except GraphError:
                return None
            values.append(g.node(nid).params[param])
        if any(v != values[0] or type(v) is not type(values[0]) for v in values):
            return None
        out[arg] = values[0] if values else a.default
    return out


def template_of(node: Node, definition: BlockDefinition) -> Graph:
    """A copy of a use's inner graph with every argument at its default."""
    t = node.inner.copy()
    apply_arguments(t, definition, {})
    return t


def materialize(template: Graph, definition: BlockDefinition, values: dict) -> Graph:
    """The inner graph of a use: the template with the use's argument values applied."""
    g = template.copy()
    apply_arguments(g, definition, values)
    return g


def fork_definition(g: Graph, node_id: str) -> str:
    """Give one use its own definition (a copy, "BasicBlock2"): edits to it leave the
    others alone. Returns the new definition's name."""
    root = root_of(g)
    node = g.node(node_id)
    old = root.definitions[node.definition]
    name = free_definition_name(root, old.name)
    new = old.copy()
    new.name = name
    root.definitions[name] = new
    node.definition = name
    node.version += 1
    g._touch()
    g.changed.emit()
    return name


def free_definition_name(root: Graph, base: str) -> str:
    taken = set(root.definitions) | {n.definition for _, n in walk_blocks(root)}
    if base not in taken:
        return base
    i = 2
    while f"{base}{i}" in taken:
        i += 1
    return f"{base}{i}"


def define(g: Graph, name: str, inner: Graph, arguments: dict | None = None) -> BlockDefinition:
    """Register a definition on ``g``'s top graph; ``arguments`` maps an argument name to
    ``(default, ["conv1.out_channels", ...])``. ``inner`` is its graph (with any values: the
    defaults are applied)."""
    root = root_of(g)
    check_identifier(name)
    if name in root.definitions:
        raise GraphError(f"A block definition called {name!r} already exists", field="definition")
    d = BlockDefinition(name, {k: Argument(default, tuple(tuple(b.split(".")) for b in binds))
                               for k, (default, binds) in (arguments or {}).items()})
    check_binds(d, inner)
    template = inner.copy()
    apply_arguments(template, d, {})
    d.template = template
    root.definitions[name] = d
    return d


def template_for(g: Graph, name: str) -> Graph:
    """The definition's graph with its defaults: from a use when there is one."""
    root = root_of(g)
    d = root.definitions.get(name)
    if d is None:
        raise GraphError(f"No block definition called {name!r}", field="definition")
    for _, n in walk_blocks(root):
        if n.definition == name and arguments_of(n, d) is not None:
            return template_of(n, d)
    if d.template is not None:
        return d.template
    raise GraphError(f"The block definition {name!r} has no graph (no block uses it)",
                     field="definition")


def add_use(g: Graph, definition: str, name: str | None = None, type: str = "Block",
            pos=None, **values: Any) -> str:
    """Add a block node to ``g`` that uses ``definition`` with these argument values (and
    block parameters: ``repeat``)."""
    d = root_of(g).definitions.get(definition)
    if d is None:
        raise GraphError(f"No block definition called {definition!r}", field="definition")
    from ..layers import get_spec

    params = {k: values.pop(k) for k in list(values)
              if k in {p.name for p in get_spec(type).params}}  # (repeat)
    inner = materialize(template_for(g, definition), d, values)
    return g.add(type, name, pos, inner=inner, definition=definition, **params)


def sequential_chain(g: Graph) -> list[str] | None:
    """The node ids of a block that is an ``nn.Sequential``: one Input, layers named
    ``0``, ``1``, ... wired one after the other, one Output; else None. Generated code writes
    such a block as ``nn.Sequential(...)``, so its state-dict keys are ``features.0.weight``."""
    ins = [n.id for n in g.nodes() if n.is_input]
    outs = [n.id for n in g.nodes() if n.is_output]
    rest = [n for n in g.nodes() if not n.is_boundary]
    if len(ins) != 1 or len(outs) != 1 or not rest or \
            sorted(n.name for n in rest) != sorted(str(i) for i in range(len(rest))):
        return None
    order = [g.find(str(i)) for i in range(len(rest))]
    for prev, nid, nxt in zip([ins[0], *order], order, [*order[1:], outs[0]]):
        node = g.node(nid)
        ins_, outs_ = g.in_edges(nid), g.out_edges(nid)
        if node.shares is not None or node.spec.source or len(ins_) != 1 or \
                len(outs_) != 1 or ins_[0].src != prev or outs_[0].dst != nxt or \
                outs_[0].src_port != g.output_ports(nid)[0].name or \
                len(g.input_ports(nid)) != 1:
            return None
    if len(g.out_edges(ins[0])) != 1:
        return None
    return order
