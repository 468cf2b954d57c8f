"""Identical block structures become one block definition (run after an import).

Two blocks have the same structure when their inner graphs have the same nodes (type, name),
wires and nested structure; their parameter values may differ. Each such group of two or more
becomes one ``BlockDefinition`` with a constructor argument for every parameter whose value
differs between the uses (parameters that always differ together are one argument), so that
the generated code has one class per distinct block, like the library it came from.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

from .blockdefs import (
    Argument,
    BlockDefinition,
    check_identifier,
    free_definition_name,
    sequential_chain,
    walk_blocks,
)
from .model import Graph


def merge_identical_blocks(graph: Graph, class_names: dict[tuple, str] | None = None
                           ) -> list[str]:
    """Make a definition of each structure used by two or more blocks; returns their names.

    ``class_names`` maps a block node's path of ids to the class it was imported from (the
    definition's name: ``BasicBlock``). Blocks written as ``nn.Sequential`` (layers named
    0, 1, ...) stay as they are: the generated code reads better with the Sequential.
    """
    class_names = class_names or {}
    groups: dict[str, list[tuple[tuple, Any]]] = {}
    for path, node in walk_blocks(graph):
        if node.definition is not None or sequential_chain(node.inner) is not None:
            continue
        groups.setdefault(_structure(node.inner), []).append((path, node))
    made = []
    for uses in sorted(groups.values(), key=lambda u: -len(u)):  # most used: the plain name
        if len(uses) < 2:
            continue
        base = _identifier(class_names.get(uses[0][0]) or uses[0][1].name)
        name = free_definition_name(graph, base)
        graph.definitions[name] = BlockDefinition(name, _arguments([n for _, n in uses]))
        for _, node in uses:
            node.definition = name
        made.append(name)
    return made


def _identifier(text: str) -> str:
    """``BasicBlock`` stays; ``layer1.0`` becomes ``Layer10``; nothing usable: ``Block``."""
    parts = [p for p in re.split(r"[^0-9a-zA-Z]+", text) if p]
    name = "".join(p[:1].upper() + p[1:] for p in parts)
    try:
        return check_identifier(name)
    except Exception:  # noqa: BLE001  (a name from elsewhere that is no identifier)
        return "Block"


def _structure(g: Graph) -> str:
    """The inner graph without its parameter values (node ids do not matter either)."""
    nodes = []
    for n in g.nodes():
        nodes.append([n.type, n.name, sorted(n.params), g.node(n.shares).name if n.shares
                      else None, _structure(n.inner) if n.inner is not None else None])
    edges = [[g.node(e.src).name, _port(g, e.src, e.src_port), g.node(e.dst).name,
              _port(g, e.dst, e.dst_port)] for e in g.edges()]
    return json.dumps([nodes, edges])


def _port(g: Graph, nid: str, port: str) -> str:
    """A block's ports are its inner boundary nodes' ids: compare their names instead."""
    inner = g.node(nid).inner
    return inner.node(port).name if inner is not None and port in inner else port


def _values(g: Graph, path: tuple = ()) -> dict[tuple, Any]:
    """``{(node name, ..., parameter): value}`` of every layer inside, nested blocks too."""
    out: dict[tuple, Any] = {}
    for n in g.nodes():
        if n.is_boundary:
            continue  # (a block's Input takes the shape it is given)
        for k, v in n.params.items():
            out[(*path, n.name, k)] = v
        if n.inner is not None:
            out.update(_values(n.inner, (*path, n.name)))
    return out


def _arguments(nodes: list) -> dict[str, Argument]:
    values = [_values(n.inner) for n in nodes]
    vectors: dict[tuple, list[tuple]] = {}
    for bind in values[0]:
        vec = tuple(repr(v[bind]) for v in values)
        if len(set(vec)) > 1:
            vectors.setdefault(vec, []).append(bind)
    out: dict[str, Argument] = {}
    for vec, binds in vectors.items():
        name = binds[0][-1]
        if name in out or not name.isidentifier():
            name = _free(out, re.sub(r"\W+|^(?=\d)", "_", "_".join(binds[0])))
        common = Counter(vec).most_common(1)[0][0]
        default = values[vec.index(common)][binds[0]]
        out[name] = Argument(default, tuple(binds))
    return out


def _free(taken: dict, base: str) -> str:
    name, i = base, 2
    while name in taken:
        name, i = f"{base}{i}", i + 1
    return name
