"""What changed between two runs: their graphs (layers, wires, parameters) and their configs.

Pure functions over the JSON forms that every run keeps (the graph file dict and the
``TrainingConfig`` dict), so the Runs panel and tests use the same code without Qt.

NOTE: nodes are matched by id first (ids are stable while a document is edited, so a rename is
a rename and not a removal plus an addition), then leftovers by name (two files drawn apart).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

_MISSING = object()


@dataclass
class RunDiff:
    """The differences from run A to run B; ``lines()`` words them for people."""

    layers_added: list[str] = field(default_factory=list)  # "Conv2d 'conv3'"
    layers_removed: list[str] = field(default_factory=list)
    layers_renamed: list[tuple[str, str]] = field(default_factory=list)  # (old, new)
    layers_retyped: list[tuple[str, str, str]] = field(default_factory=list)  # (name, old, new)
    params_changed: list[tuple[str, str, Any, Any]] = field(default_factory=list)
    wires_added: list[str] = field(default_factory=list)  # "conv1 → pool1"
    wires_removed: list[str] = field(default_factory=list)
    config_changed: list[tuple[str, Any, Any]] = field(default_factory=list)  # (key, old, new)

    @property
    def is_empty(self) -> bool:
        return not any((self.layers_added, self.layers_removed, self.layers_renamed,
                        self.layers_retyped, self.params_changed, self.wires_added,
                        self.wires_removed, self.config_changed))

    def lines(self) -> list[str]:
        """One sentence per change, layers first, then wires, then training settings."""
        out = [f"+ layer {x} added" for x in self.layers_added]
        out += [f"- layer {x} removed" for x in self.layers_removed]
        out += [f"~ layer '{a}' renamed to '{b}'" for a, b in self.layers_renamed]
        out += [f"~ layer '{n}' changed type: {a} → {b}" for n, a, b in self.layers_retyped]
        out += [f"~ {layer}: {key} {_fmt(a)} → {_fmt(b)}"
                for layer, key, a, b in self.params_changed]
        out += [f"+ wire {x}" for x in self.wires_added]
        out += [f"- wire {x}" for x in self.wires_removed]
        out += [f"~ training {key}: {_fmt(a)} → {_fmt(b)}" for key, a, b in self.config_changed]
        return out

    def counts(self) -> str:
        """A short summary such as ``"1 layer added, 2 parameters changed"``."""
        parts = []
        for n, what in ((len(self.layers_added), "layer added"),
                        (len(self.layers_removed), "layer removed"),
                        (len(self.layers_renamed) + len(self.layers_retyped), "layer changed"),
                        (len(self.params_changed), "parameter changed"),
                        (len(self.wires_added) + len(self.wires_removed), "wire changed"),
                        (len(self.config_changed), "setting changed")):
            if n:
                noun, verb = what.split(" ")
                parts.append(f"{n} {noun}{'s' if n > 1 else ''} {verb}")
        return ", ".join(parts) if parts else "no changes"


def diff_runs(graph_a: dict, graph_b: dict, config_a: dict | None = None,
              config_b: dict | None = None) -> RunDiff:
    """The changes from (graph_a, config_a) to (graph_b, config_b) (graph file dicts)."""
    d = RunDiff()
    _diff_graph(graph_a or {}, graph_b or {}, "", d)
    d.config_changed = diff_config(config_a or {}, config_b or {})
    return d


def diff_config(a: dict, b: dict) -> list[tuple[str, Any, Any]]:
    """Changed settings as (dotted key, old, new); a missing side reads as None."""
    fa, fb = _flatten(a), _flatten(b)
    out = []
    for key in sorted(set(fa) | set(fb)):
        va, vb = fa.get(key, None), fb.get(key, None)  # missing reads as None (off)
        if not _same(va, vb):
            out.append((key, va, vb))
    return out


def _diff_graph(a: dict, b: dict, prefix: str, d: RunDiff) -> None:
    nodes_a = {n["id"]: n for n in a.get("nodes", []) if isinstance(n, dict) and "id" in n}
    nodes_b = {n["id"]: n for n in b.get("nodes", []) if isinstance(n, dict) and "id" in n}
    pairs = [(i, i) for i in nodes_a if i in nodes_b]
    # Leftovers with the same name were probably drawn apart (different ids, same layer).
    only_a = {nodes_a[i]["name"]: i for i in nodes_a if i not in nodes_b}
    only_b = {nodes_b[i]["name"]: i for i in nodes_b if i not in nodes_a}
    for name in [n for n in only_a if n in only_b]:
        pairs.append((only_a.pop(name), only_b.pop(name)))
    for i in only_a.values():
        d.layers_removed.append(_label(nodes_a[i], prefix))
    for i in only_b.values():
        d.layers_added.append(_label(nodes_b[i], prefix))
    for ia, ib in pairs:
        na, nb = nodes_a[ia], nodes_b[ib]
        if na["name"] != nb["name"]:
            d.layers_renamed.append((prefix + na["name"], prefix + nb["name"]))
        if na.get("type") != nb.get("type"):
            d.layers_retyped.append((prefix + nb["name"], na.get("type"), nb.get("type")))
            continue
        pa, pb = na.get("params", {}), nb.get("params", {})
        for key in sorted(set(pa) | set(pb), key=lambda k: (list(pb) + list(pa)).index(k)):
            va, vb = pa.get(key, _MISSING), pb.get(key, _MISSING)
            if not _same(va, vb):
                d.params_changed.append((_label(nb, prefix), key,
                                         None if va is _MISSING else va,
                                         None if vb is _MISSING else vb))
        if isinstance(na.get("graph"), dict) or isinstance(nb.get("graph"), dict):
            _diff_graph(na.get("graph") or {}, nb.get("graph") or {},
                        f"{prefix}{nb['name']}/", d)
    # Wires compare by the names of their ends (in B's naming), so a rename alone moves none.
    rename = {ia: nodes_b[ib]["name"] for ia, ib in pairs}

    def wires(g: dict, names: dict) -> set[str]:
        out = set()
        for e in g.get("edges", []):
            if not isinstance(e, dict):
                continue
            src, dst = names.get(e.get("src"), e.get("src")), names.get(e.get("dst"), e.get("dst"))
            out.add(f"{prefix}{src}{_port(e.get('src_port'), 'out')} → "
                    f"{prefix}{dst}{_port(e.get('dst_port'), 'in')}")
        return out

    names_a = {i: rename.get(i, n["name"]) for i, n in nodes_a.items()}
    names_b = {i: n["name"] for i, n in nodes_b.items()}
    wa, wb = wires(a, names_a), wires(b, names_b)
    d.wires_added += sorted(wb - wa)
    d.wires_removed += sorted(wa - wb)


def _port(port: Any, default: str) -> str:
    return "" if port in (None, default) else f".{port}"


def _label(node: dict, prefix: str) -> str:
    return f"{node.get('type', '?')} '{prefix}{node.get('name', '?')}'"


def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(d, dict):
        for k, v in d.items():
            key = f"{prefix}{k}"
            if isinstance(v, dict) and v:
                out.update(_flatten(v, key + "."))
            else:
                out[key] = v
    return out


def _same(a: Any, b: Any) -> bool:
    # JSON turns tuples into lists; a value saved and reloaded must not read as a change.
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (list, tuple)):
        return "(" + ", ".join(_fmt(x) for x in v) + ")"
    return repr(v) if isinstance(v, str) else str(v)
