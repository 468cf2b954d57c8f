"""The graph file: JSON with ``format_version`` and a chain of one-step migrations.

Reading is strict: every defect raises one ``FileFormatError`` pointing at the bad field.
Saving is atomic (``atomic.atomic_write``, which every writer of a user's file uses; imported
from here too). Nothing here ever unpickles.
"""
from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import CycleError, FileFormatError, NetbuilderError, WeightsError
from ..layers import get_spec
from . import strict_json
from .atomic import atomic_replace, atomic_write  # noqa: F401  (atomic_replace: re-exported)
from .blockdefs import (
    Argument,
    BlockDefinition,
    apply_arguments,
    arguments_of,
    check_binds,
    check_identifier,
    materialize,
    template_of,
)
from .diagnostics import label
from .model import Graph
from .weights import GraphWeights, check_weights_name, save_weights_beside

FORMAT_VERSION = 2


def _v1_to_v2(data: dict) -> dict:
    """Version 2 adds block definitions (a ``definitions`` table; block nodes that name one):
    a version 1 file has none, and reads as it is."""
    return {**data, "format_version": 2}


# version -> function that turns a dict of that version into one of version + 1
MIGRATIONS: dict[int, Callable[[dict], dict]] = {1: _v1_to_v2}


class _Tables:
    """While writing: the top graph's definitions and the table of those written so far."""

    def __init__(self, definitions: dict) -> None:
        self.definitions = definitions
        self.table: dict[str, dict] = {}
        self.bodies: dict[str, Any] = {}  # name -> the written graph without positions


def graph_to_dict(g: Graph, inline: bool = False) -> dict:
    """A JSON-ready dict (tuples become lists). Block nodes that use a definition refer to
    it by name with their argument values, and each definition is written once; ``inline``
    writes every block's own graph instead (an in-memory copy)."""
    tables = None if inline else _Tables(g.definitions)
    body = _graph_dict(g, tables)
    out: dict[str, Any] = {"format_version": FORMAT_VERSION, "name": body.pop("name")}
    if tables is not None and tables.table:
        out["definitions"] = tables.table
    out.update(body)
    return out


def _graph_dict(g: Graph, tables: _Tables | None) -> dict:
    nodes = []
    for n in g.nodes():
        d: dict[str, Any] = {"id": n.id, "type": n.type, "name": n.name,
                             "params": _jsonable(n.params), "pos": [n.pos[0], n.pos[1]]}
        if n.shares is not None:
            d["shares"] = n.shares
        if not n.trainable:
            d["trainable"] = False
        if n.inner is not None:
            ref = _reference(n, tables) if tables is not None and n.definition else None
            if ref is not None:
                d.update(ref)
            else:
                if tables is None and n.definition:  # (an in-memory copy keeps its use)
                    d["definition"] = n.definition
                d["graph"] = _graph_dict(n.inner, tables)
        nodes.append(d)
    edges = [{"src": e.src, "src_port": e.src_port, "dst": e.dst, "dst_port": e.dst_port}
             for e in g.edges()]
    out = {"name": g.name, "nodes": nodes, "edges": edges}
    if g.weights is not None and g.weights.name is not None and g.parent is None:
        out["weights"] = g.weights.name
    if g.training:
        out["training"] = _jsonable(g.training)
    if g.meta:
        out["meta"] = _jsonable(g.meta)
    return out


def _reference(n, tables: _Tables) -> dict | None:
    """``{"definition", "args"}`` for a use that matches its definition, writing the
    definition on first use; None when the use has left it (then it keeps its own graph)."""
    d = tables.definitions.get(n.definition)
    values = arguments_of(n, d) if d is not None else None
    if values is None:
        return None
    template = template_of(n, d)
    template.name = d.name
    body = _graph_dict(template, tables)
    plain = _without_positions(body)
    if d.name not in tables.table:
        tables.table[d.name] = {
            "arguments": {k: {"default": _jsonable(a.default),
                              "binds": [list(b) for b in a.binds]}
                          for k, a in d.arguments.items()},
            "graph": body}
        tables.bodies[d.name] = plain
    elif tables.bodies[d.name] != plain:
        return None
    return {"definition": d.name, "args": _jsonable(values)}


def _without_positions(v: Any) -> Any:
    """What must match between two uses: not where nodes sit, nor the shape a block's Input
    takes (it comes from outside)."""
    if isinstance(v, dict):
        if "type" in v and "params" in v and _is_input(v["type"]):
            v = {k: x for k, x in v.items() if k != "params"}
        return {k: _without_positions(x) for k, x in v.items() if k != "pos"}
    if isinstance(v, list):
        return [_without_positions(x) for x in v]
    return v


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v


def to_json(g: Graph) -> str:
    """The file text: indented JSON where short lists (shapes, positions) and wires sit on one
    line each, so a diff of two versions shows one line per changed value or wire."""
    return _dump(graph_to_dict(g), 0) + "\n"


_WIDTH = 100  # the longest line a one-line list or object may make


def _dump(value: Any, indent: int) -> str:
    flat = _one_line(value)
    if flat is not None and indent + len(flat) <= _WIDTH:
        return flat
    pad, inner = " " * indent, " " * (indent + 2)
    if isinstance(value, dict) and value:
        items = [f"{inner}{_scalar(str(k))}: {_dump(v, indent + 2)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list) and value:
        items = [f"{inner}{_dump(v, indent + 2)}" for v in value]
        return "[\n" + ",\n".join(items) + f"\n{pad}]"
    return _scalar(value)


def _one_line(value: Any) -> str | None:
    """A list of scalars, or a small object of scalars (a wire), on one line; else None."""
    if isinstance(value, list) and all(not isinstance(v, (list, dict)) for v in value):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    if isinstance(value, dict) and len(value) <= 4 and all(
            not isinstance(v, (list, dict)) for v in value.values()):
        return "{" + ", ".join(f"{_scalar(str(k))}: {_scalar(v)}" for k, v in value.items()) + "}"
    return None


def _scalar(value: Any) -> str:
    # NOTE: allow_nan=False: NaN and Infinity are not JSON; writing them would make a file
    # that strict readers (and this one) refuse. Parameters never hold them (validation).
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _is_input(type_: str) -> bool:
    try:
        return get_spec(type_).boundary == "input"
    except NetbuilderError:
        return False


_TOP_KEYS = ("format_version", "name", "definitions", "nodes", "edges", "weights", "training",
             "meta")
_BODY_KEYS = ("name", "nodes", "edges", "training", "meta")
_NODE_KEYS = ("id", "type", "name", "params", "pos", "shares", "trainable", "graph",
              "definition", "args")
_DEFINITION_KEYS = ("arguments", "graph")
_ARGUMENT_KEYS = ("default", "binds")
_EDGE_KEYS = ("src", "src_port", "dst", "dst_port")


def graph_from_dict(data: Any, path: str | None = None) -> Graph:
    """Build a graph from a file's dict, migrating old versions; strict about every field."""
    if not isinstance(data, dict):
        raise FileFormatError("a graph file must hold a JSON object", path=path)
    version = data.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise FileFormatError("missing or non-integer format_version", path=path,
                              field="format_version")
    if version > FORMAT_VERSION or version < 1:
        raise FileFormatError(
            f"format_version {version} is not supported (this netbuilder reads 1 to "
            f"{FORMAT_VERSION}); a newer netbuilder may have written it", path=path,
            field="format_version")
    while version < FORMAT_VERSION:  # one step at a time: v1 → v2 → ... → current
        step = MIGRATIONS.get(version)
        if step is None:
            raise FileFormatError(f"no migration from format_version {version} to "
                                  f"{version + 1}", path=path, field="format_version")
        try:
            data = step(data)
        except NetbuilderError:
            raise
        except Exception as exc:  # noqa: BLE001  (a file a migration cannot read is a bad file)
            raise FileFormatError(f"cannot migrate format_version {version} to {version + 1} "
                                  f"({type(exc).__name__}: {exc})", path=path,
                                  field="format_version") from None
        if not isinstance(data, dict):
            raise FileFormatError(f"the migration from format_version {version} returned no "
                                  f"object", path=path, field="format_version")
        version += 1
    g = _read_body(data, path, "", _TOP_KEYS)
    if "weights" in data:
        try:
            name = check_weights_name(data["weights"])
        except WeightsError as exc:
            raise FileFormatError(exc.message, path=path, field="weights") from None
        g.weights = GraphWeights(name, Path(path).parent if path else None)
    return g



def _read_body(data: dict, path: str | None, prefix: str,
               allowed: tuple[str, ...] = _BODY_KEYS, defs: dict | None = None) -> Graph:
    def fail(msg: str, where: str) -> FileFormatError:
        return FileFormatError(msg, path=path, field=prefix + where)

    if not isinstance(data, dict):
        raise fail("a graph must be an object", "")
    _no_unknown_keys(data, allowed, fail, "")
    name = data.get("name", "untitled")
    if not isinstance(name, str):
        raise fail("name must be text", "name")
    if "definitions" in allowed:
        defs = _read_definitions(data.get("definitions", {}), path, fail)
    defs = defs if defs is not None else {}
    g = Graph(name)
    if "definitions" in allowed:
        g.definitions = defs
    nodes = data.get("nodes")
    if not isinstance(nodes, list):
        raise fail("nodes must be a list", "nodes")
    for i, nd in enumerate(nodes):
        _read_node(g, nd, f"nodes[{i}]", path, prefix, fail, defs)
    for i, nd in enumerate(nodes):  # once every node exists: a link may name a later node
        if "shares" in nd:
            _read_shares(g, nd, f"nodes[{i}].shares", fail)
    edges = data.get("edges", [])
    if not isinstance(edges, list):
        raise fail("edges must be a list", "edges")
    for i, ed in enumerate(edges):
        _read_edge(g, ed, f"edges[{i}]", fail)
    for key in ("training", "meta"):
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise fail(f"{key} must be an object", key)
        setattr(g, key, value)
    return g


def _no_unknown_keys(d: dict, allowed: tuple[str, ...], fail, where: str) -> None:
    for key in d:
        if key not in allowed:
            raise fail(f"unknown field {key!r} (expected {', '.join(allowed)})",
                       f"{where}.{key}" if where else str(key))


def _read_definitions(raw: Any, path, fail) -> dict:
    """The ``definitions`` table, in file order (a definition may use those before it)."""
    if not isinstance(raw, dict):
        raise fail("definitions must be an object (name: definition)", "definitions")
    defs: dict[str, BlockDefinition] = {}
    for name, dd in raw.items():
        where = f"definitions.{name}"
        try:
            check_identifier(name)
        except NetbuilderError as exc:
            raise fail(exc.message, where) from None
        if not isinstance(dd, dict):
            raise fail("a block definition must be an object", where)
        _no_unknown_keys(dd, _DEFINITION_KEYS, fail, where)
        args = dd.get("arguments", {})
        if not isinstance(args, dict):
            raise fail("arguments must be an object (name: argument)", f"{where}.arguments")
        d = BlockDefinition(name)
        for arg, ad in args.items():
            d.arguments[arg] = _read_argument(arg, ad, f"{where}.arguments.{arg}", fail)
        if not isinstance(dd.get("graph"), dict):
            raise fail("a block definition needs its graph (an object)", f"{where}.graph")
        template = _read_body(dd["graph"], path, f"{where}.graph.", defs=defs)
        try:
            check_binds(d, template)
            apply_arguments(template, d, {})
        except NetbuilderError as exc:
            arg = exc.field if exc.field in d.arguments else None
            raise fail(exc.message, f"{where}.arguments.{arg}" if arg else
                       f"{where}.arguments") from None
        d.template = template
        defs[name] = d
    return defs


def _read_argument(arg: Any, ad: Any, where: str, fail) -> Argument:
    try:
        check_identifier(arg, "An argument name")
    except NetbuilderError as exc:
        raise fail(exc.message, where) from None
    if not isinstance(ad, dict):
        raise fail("an argument must be an object with its default and binds", where)
    _no_unknown_keys(ad, _ARGUMENT_KEYS, fail, where)
    if "default" not in ad:
        raise fail("an argument needs a default", f"{where}.default")
    binds = ad.get("binds", [])
    if not isinstance(binds, list) or not all(
            isinstance(b, list) and len(b) >= 2 and all(isinstance(p, str) and p for p in b)
            for b in binds):
        raise fail("binds must be a list of [node name, ..., parameter] lists", f"{where}.binds")
    return Argument(ad["default"], tuple(tuple(b) for b in binds))


def _read_use(nd: dict, where: str, fail, defs: dict) -> Graph:
    """The inner graph of a block node that refers to a definition."""
    d = defs.get(nd["definition"])
    if d is None:
        raise fail(f"no block definition {nd['definition']!r} in the file's definitions",
                   f"{where}.definition")
    args = nd.get("args", {})
    if not isinstance(args, dict):
        raise fail("args must be an object (argument: value)", f"{where}.args")
    try:
        return materialize(d.template, d, args)
    except NetbuilderError as exc:
        raise fail(exc.message, f"{where}.args.{exc.field}" if exc.field in args else
                   f"{where}.args") from None


def _read_node(g: Graph, nd: Any, where: str, path, prefix: str, fail, defs: dict) -> None:
    if not isinstance(nd, dict):
        raise fail("each node must be an object", where)
    _no_unknown_keys(nd, _NODE_KEYS, fail, where)
    for key in ("id", "type", "name"):
        if not isinstance(nd.get(key), str) or not nd[key]:
            raise fail(f"node needs a non-empty text {key!r}", f"{where}.{key}")
    params = nd.get("params", {})
    if not isinstance(params, dict):
        raise fail("params must be an object", f"{where}.params")
    pos = nd.get("pos", [0, 0])
    if not isinstance(pos, list) or len(pos) != 2 or not all(_finite(p) for p in pos):
        raise fail("pos must be [x, y] with two finite numbers", f"{where}.pos")
    if nd["id"] in g:
        raise fail(f"duplicate node id {nd['id']!r}", f"{where}.id")
    inner, definition = None, nd.get("definition")
    if "graph" in nd or definition is not None:
        try:
            is_block = get_spec(nd["type"]).is_block
        except NetbuilderError as exc:
            raise fail(exc.message, f"{where}.type") from None
        if not is_block:
            raise fail(f"a {nd['type']} node holds no graph (only blocks do)",
                       f"{where}.graph" if "graph" in nd else f"{where}.definition")
    if definition is not None:
        try:
            check_identifier(definition)
        except NetbuilderError as exc:
            raise fail(exc.message, f"{where}.definition") from None
    if "args" in nd and (definition is None or "graph" in nd):
        raise fail("args belong to a block node that refers to a definition", f"{where}.args")
    if "graph" in nd:
        if not isinstance(nd["graph"], dict):
            raise fail("a block's graph must be an object", f"{where}.graph")
        inner = _read_body(nd["graph"], path, f"{prefix}{where}.graph.", defs=defs)
    elif definition is not None:
        inner = _read_use(nd, where, fail, defs)
    for key in params:  # (these would collide with add()'s own arguments)
        if key in _ADD_ARGUMENTS:
            raise fail(f"{label(nd['type'], nd['name'])} has no parameter {key!r}",
                       f"{where}.params.{key}")
    trainable = nd.get("trainable", True)
    if not isinstance(trainable, bool):
        raise fail("trainable must be true or false", f"{where}.trainable")
    try:
        g.add(nd["type"], nd["name"], pos, id=nd["id"], inner=inner, definition=definition,
              **params)
    except NetbuilderError as exc:
        sub = exc.field if exc.field in ("type", "name") else (
            f"params.{exc.field}" if exc.field else "params")
        raise fail(exc.message, f"{where}.{sub}") from None
    g.node(nd["id"]).trainable = trainable


def _read_shares(g: Graph, nd: dict, where: str, fail) -> None:
    target = nd["shares"]
    if not isinstance(target, str) or not target:
        raise fail("shares must be the id of another node (text)", where)
    try:
        g.share(nd["id"], target)
    except NetbuilderError as exc:
        raise fail(exc.message, where) from None
_ADD_ARGUMENTS = ("type", "name", "pos", "id", "inner", "definition")


def _finite(v: Any) -> bool:
    """A JSON number a float can hold (a huge integer is not one: float() would overflow)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    try:
        return math.isfinite(v)
    except OverflowError:
        return False


def _read_edge(g: Graph, ed: Any, where: str, fail) -> None:
    if not isinstance(ed, dict):
        raise fail("each edge must be an object", where)
    _no_unknown_keys(ed, _EDGE_KEYS, fail, where)
    for key in ("src", "dst"):
        if not isinstance(ed.get(key), str) or ed[key] not in g:
            raise fail(f"edge refers to a node id {ed.get(key)!r} that does not exist",
                       f"{where}.{key}")
    for key in ("src_port", "dst_port"):
        if key in ed and not isinstance(ed[key], str):
            raise fail(f"{key} must be text", f"{where}.{key}")
    src, dst = ed["src"], ed["dst"]
    if "src_port" in ed and ed["src_port"] not in [p.name for p in g.output_ports(src)]:
        raise fail(f"{g.node(src).label} has no output port {ed['src_port']!r}",
                   f"{where}.src_port")
    try:
        g.connect(src, dst, ed.get("src_port"), ed.get("dst_port"))
    except CycleError as exc:
        raise fail(exc.message, where) from None
    except NetbuilderError as exc:  # the input port: unknown, or already taken
        raise fail(exc.message, f"{where}.dst_port") from None


def from_json(text: str, path: str | None = None) -> Graph:
    """A graph from a file's text, read strictly (see ``strict_json``)."""
    return graph_from_dict(strict_json.loads(text, path), path)


def load(path: str | os.PathLike) -> Graph:
    """Read a graph file; every defect raises one ``FileFormatError`` naming the field."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise FileFormatError("file not found", path=str(p)) from None
    except OSError as exc:
        raise FileFormatError(f"cannot read the file ({exc.strerror or exc})",
                              path=str(p)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileFormatError(f"cannot read the file: it is not UTF-8 text (byte "
                              f"0x{raw[exc.start]:02X} at offset {exc.start})",
                              path=str(p)) from None
    return from_json(text, str(p))


def save(g: Graph, path: str | os.PathLike) -> None:
    """Write ``g`` to ``path`` atomically (see ``atomic``); its weights, when it has any,
    go beside it first (``<stem>.safetensors``), so the file never names a missing one."""
    if g.weights is not None:
        g.weights = save_weights_beside(g.weights, path)
    atomic_write(path, to_json(g))
