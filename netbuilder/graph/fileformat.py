"""The graph file: JSON with ``format_version`` and a chain of one-step migrations.

Reading is strict: every defect raises one ``FileFormatError`` pointing at the bad field.
Saving is atomic (temporary file, then rename). Nothing here ever unpickles.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

from ..errors import FileFormatError, NetbuilderError
from .model import Graph

FORMAT_VERSION = 1

# version -> function that turns a dict of that version into one of version + 1
MIGRATIONS: dict[int, Callable[[dict], dict]] = {}


def graph_to_dict(g: Graph) -> dict:
    """A JSON-ready dict (tuples become lists)."""
    nodes = []
    for n in g.nodes():
        d: dict[str, Any] = {"id": n.id, "type": n.type, "name": n.name,
                             "params": _jsonable(n.params), "pos": [n.pos[0], n.pos[1]]}
        if n.inner is not None:
            d["graph"] = _body(n.inner)
        nodes.append(d)
    edges = [{"src": e.src, "src_port": e.src_port, "dst": e.dst, "dst_port": e.dst_port}
             for e in g.edges()]
    out = {"format_version": FORMAT_VERSION, "name": g.name, "nodes": nodes, "edges": edges}
    if g.training:
        out["training"] = _jsonable(g.training)
    if g.meta:
        out["meta"] = _jsonable(g.meta)
    return out


def _body(g: Graph) -> dict:
    d = graph_to_dict(g)
    d.pop("format_version")
    return d


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v


def to_json(g: Graph) -> str:
    return json.dumps(graph_to_dict(g), indent=2) + "\n"


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
    while version < FORMAT_VERSION:
        data = MIGRATIONS[version](data)
        version += 1
    return _read_body(data, path, "")


def _read_body(data: dict, path: str | None, prefix: str) -> Graph:
    def fail(msg: str, where: str) -> FileFormatError:
        return FileFormatError(msg, path=path, field=prefix + where)

    name = data.get("name", "untitled")
    if not isinstance(name, str):
        raise fail("name must be text", "name")
    g = Graph(name)
    nodes = data.get("nodes")
    if not isinstance(nodes, list):
        raise fail("nodes must be a list", "nodes")
    for i, nd in enumerate(nodes):
        where = f"nodes[{i}]"
        if not isinstance(nd, dict):
            raise fail("each node must be an object", where)
        for key, kind in (("id", str), ("type", str), ("name", str)):
            if not isinstance(nd.get(key), kind):
                raise fail(f"node needs a text {key!r}", f"{where}.{key}")
        params = nd.get("params", {})
        if not isinstance(params, dict):
            raise fail("params must be an object", f"{where}.params")
        pos = nd.get("pos", [0, 0])
        if (not isinstance(pos, list) or len(pos) != 2 or
                not all(isinstance(p, (int, float)) and not isinstance(p, bool) for p in pos)):
            raise fail("pos must be [x, y]", f"{where}.pos")
        if nd["id"] in g:
            raise fail(f"duplicate node id {nd['id']!r}", f"{where}.id")
        inner = None
        if "graph" in nd:
            if not isinstance(nd["graph"], dict):
                raise fail("a block's graph must be an object", f"{where}.graph")
            inner = _read_body(nd["graph"], path, f"{prefix}{where}.graph.")
        try:
            g.add(nd["type"], nd["name"], pos, id=nd["id"], inner=inner, **params)
        except NetbuilderError as exc:
            sub = exc.field if exc.field in ("type", "name") else (
                f"params.{exc.field}" if exc.field else "params")
            raise fail(exc.message, f"{where}.{sub}") from None
    edges = data.get("edges", [])
    if not isinstance(edges, list):
        raise fail("edges must be a list", "edges")
    for i, ed in enumerate(edges):
        where = f"edges[{i}]"
        if not isinstance(ed, dict):
            raise fail("each edge must be an object", where)
        for key in ("src", "dst"):
            if ed.get(key) not in g:
                raise fail(f"edge refers to a node id {ed.get(key)!r} that does not exist",
                           f"{where}.{key}")
        try:
            g.connect(ed["src"], ed["dst"], ed.get("src_port"), ed.get("dst_port"))
        except NetbuilderError as exc:
            raise fail(exc.message, where) from None
    for key in ("training", "meta"):
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise fail(f"{key} must be an object", key)
        setattr(g, key, value)
    return g


def from_json(text: str, path: str | None = None) -> Graph:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FileFormatError(f"not valid JSON: {exc.msg} at line {exc.lineno}, column "
                              f"{exc.colno}", path=path) from None
    return graph_from_dict(data, path)


def load(path: str | os.PathLike) -> Graph:
    """Read a graph file; every defect raises one ``FileFormatError`` naming the field."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileFormatError("file not found", path=str(p)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"cannot read the file ({exc})", path=str(p)) from None
    return from_json(text, str(p))


def atomic_write(path: str | os.PathLike, text: str) -> None:
    """Write to a temporary file beside ``path``, then rename: a crash never leaves half a file."""
    p = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save(g: Graph, path: str | os.PathLike) -> None:
    atomic_write(path, to_json(g))
