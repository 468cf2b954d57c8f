"""Graph operations built from the primitive mutations: group into a block, ungroup,
copy a selection out as data and paste it back (the clipboard uses the same JSON)."""
from __future__ import annotations

import copy
from collections.abc import Iterable

from ..errors import GraphError
from ..layers import all_specs, get_spec
from .blockdefs import root_of
from .fileformat import _read_body, graph_to_dict
from .layout import LAYER_GAP
from .model import Graph


def extract(g: Graph, ids: Iterable[str]) -> dict:
    """The selected nodes and the wires among them, as graph-file JSON (for the clipboard)."""
    ids = set(ids)
    full = graph_to_dict(g, inline=True)  # blocks carry their graphs (no definitions table)
    nodes = [n for n in full["nodes"] if n["id"] in ids]
    for n in nodes:
        if n.get("shares") not in ids:  # a link to a node left behind is not copied
            n.pop("shares", None)
    return {
        "format_version": full["format_version"],
        "name": g.name,
        "nodes": nodes,
        "edges": [e for e in full["edges"] if e["src"] in ids and e["dst"] in ids],
    }


def paste(g: Graph, data: dict, offset: tuple[float, float] = (40.0, 40.0)) -> list[str]:
    """Insert clipboard JSON into ``g`` with fresh ids and unique names; returns the new ids."""
    part = _read_body(copy.deepcopy({k: v for k, v in data.items() if k != "format_version"}),
                      None, "")
    mapping: dict[str, str] = {}
    for n in part.nodes():
        name = n.name if not any(m.name == n.name for m in g.nodes()) else _next_name(g, n.name)
        inner = n.inner.copy() if n.inner is not None else None
        known = n.definition if n.definition in root_of(g).definitions else None
        mapping[n.id] = g.add(n.type, name, (n.pos[0] + offset[0], n.pos[1] + offset[1]),
                              inner=inner, definition=known, **n.params)
    for e in part.edges():
        g.connect(mapping[e.src], mapping[e.dst], e.src_port, e.dst_port)
    _relink(g, part.nodes(), mapping)
    return [mapping[n.id] for n in part.nodes()]


def _relink(g: Graph, nodes, mapping: dict[str, str]) -> None:
    """Shared modules among moved or copied nodes stay shared (both ends must come along);
    frozen nodes stay frozen."""
    for n in nodes:
        if not n.trainable and n.id in mapping:
            g.node(mapping[n.id]).trainable = False
        if n.shares in mapping and n.id in mapping:
            g.share(mapping[n.id], mapping[n.shares])


def _next_name(g: Graph, name: str) -> str:
    stem = name.rstrip("0123456789") or name
    return g.unique_name(stem)


def group(g: Graph, ids: Iterable[str], type_: str = "Block", name: str | None = None,
          block_id: str | None = None) -> str:
    """Move the selected nodes into a new block node; wires that cross become its ports."""
    ids = [i for i in ids]
    sel = set(ids)
    if not sel:
        raise GraphError("Select at least one node to group")
    # Everything that could refuse is checked before the first change.
    if not get_spec(type_).is_block:
        blocks = ", ".join(s.type for s in all_specs() if s.is_block)
        raise GraphError(f"{type_} is not a block type: use one of {blocks}", field="type")
    owner = next((n for n in g.nodes() if name is not None and n.name == name), None)
    if owner is not None and owner.id not in sel:
        g._check_name(name, None)
    if block_id is not None and block_id in g and block_id not in sel:
        raise GraphError(f"A node with id {block_id!r} already exists", node=block_id)
    for i in sel:
        if g.node(i).is_boundary:
            raise GraphError(f"{g.node(i).label} cannot go inside a block: a block's inputs and "
                             f"outputs come from the wires that cross its border", node=i)
    inner = Graph(name or "block")
    crossing_in = [e for e in g.edges() if e.dst in sel and e.src not in sel]
    crossing_out = [e for e in g.edges() if e.src in sel and e.dst not in sel]
    internal = [e for e in g.edges() if e.src in sel and e.dst in sel]
    xs = [g.node(i).pos[0] for i in ids]
    ys = [g.node(i).pos[1] for i in ids]
    for i in ids:
        n = g.node(i)
        inner.add(n.type, n.name, n.pos, id=n.id, definition=n.definition,
                  inner=n.inner.copy() if n.inner is not None else None, **n.params)
    _relink(inner, [g.node(i) for i in ids], {i: i for i in ids})
    # One inner Input per distinct outside source, one inner Output per distinct inside source.
    in_ports: dict[tuple, str] = {}
    for e in crossing_in:
        key = (e.src, e.src_port)
        if key not in in_ports:
            in_ports[key] = inner.add("Input", inner.unique_name("x"),
                                      (min(xs) - LAYER_GAP, g.node(e.dst).pos[1]))
    # NOTE: wires keep their connection order (``order``), so a Concat inside or outside the
    # block still receives its inputs in the order it had.
    for e in sorted(internal + crossing_in, key=lambda e: e.order):
        src, port = (e.src, e.src_port) if e.src in sel else (in_ports[(e.src, e.src_port)], None)
        inner.connect(src, e.dst, port, e.dst_port, order=e.order)
    out_ports: dict[tuple, str] = {}
    # Values that leave the block, and the selection's own results (sinks): what the graph
    # returned before, the block returns now.
    leaving = [(e.src, e.src_port) for e in crossing_out]
    leaving += [(i, g.output_ports(i)[0].name) for i in ids
                if not g.out_edges(i) and g.output_ports(i)]
    for key in leaving:
        if key not in out_ports:
            out_ports[key] = inner.add("Output", inner.unique_name("y"),
                                       (max(xs) + LAYER_GAP, g.node(key[0]).pos[1]))
            inner.connect(key[0], out_ports[key], key[1])
    for i in ids:
        g.remove(i)
    centre = (sum(xs) / len(xs), sum(ys) / len(ys))
    bid = g.add(type_, name, centre, id=block_id, inner=inner)
    for (src, sp), port in in_ports.items():
        g.connect(src, bid, sp, port)
    for e in crossing_out:
        g.connect(bid, e.dst, out_ports[(e.src, e.src_port)], e.dst_port, order=e.order)
    return bid


def ungroup(g: Graph, block_id: str) -> list[str]:
    """Replace a block by its inner nodes, rewiring across the border; returns the new ids.

    An inner node keeps its id and name where the outer graph has them free (so ungrouping
    what ``group`` made restores the very ids commands refer to); otherwise it gets fresh ones.
    Wires keep their order, so a Concat after the block still sees its inputs in order.
    """
    b = g.node(block_id)
    if b.inner is None:
        raise GraphError(f"{b.label} is not a block", node=block_id)
    inner = b.inner
    outside_in = {e.dst_port: (e.src, e.src_port) for e in g.in_edges(block_id)}
    outside_out = g.out_edges(block_id)
    mapping: dict[str, str] = {}
    for n in inner.nodes():
        if n.is_boundary:
            continue
        name = n.name if not any(m.name == n.name for m in g.nodes()) else _next_name(g, n.name)
        new_id = n.id if n.id not in g else None
        mapping[n.id] = g.add(n.type, name, n.pos, id=new_id, definition=n.definition,
                              inner=n.inner.copy() if n.inner is not None else None, **n.params)
    # Where each inner Output gets its value from, once the block is gone.
    out_source: dict[str, tuple[str, str] | None] = {}
    for e in inner.edges():
        d = inner.node(e.dst)
        if d.is_output:
            out_source[d.id] = _resolve(e, mapping, outside_in)
    g.remove(block_id)
    _relink(g, inner.nodes(), mapping)
    for e in inner.edges():
        if inner.node(e.dst).is_output:
            continue
        src = _resolve(e, mapping, outside_in)
        if src is not None:
            g.connect(src[0], mapping[e.dst], src[1], e.dst_port)
    for e in outside_out:
        src = out_source.get(e.src_port)
        if src is not None:
            g.connect(src[0], e.dst, src[1], e.dst_port, order=e.order)
    return list(mapping.values())


def _resolve(e, mapping, outside_in):
    """The outer (node, port) that feeds an inner wire's source."""
    if e.src in mapping:
        return (mapping[e.src], e.src_port)
    return outside_in.get(e.src)
