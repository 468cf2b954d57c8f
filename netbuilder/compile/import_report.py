"""The import report: what became a placeholder and why, and which modules needed a fallback
to be traced. Repeated placeholders are grouped ("ReLU6 ×35 in features.*"), each group with
the file and line of its first occurrence. No torch here.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class Placeholder:
    """One operation or submodule kept as a Function or Module node."""

    kind: str  # "Module" or "Function"
    what: str  # the class or function name: "ReLU6", "torch.fft.fft"
    path: str  # the module path it sits in ("features.3"; "" for the top level)
    why: str
    where: str = ""  # "file.py:12"
    code: str = ""


@dataclass
class Fallback:
    """A module torch.fx could not trace, and what was done instead."""

    path: str
    done: str  # "kept as a Module node ...", "imported through torch.export ..."
    why: str
    where: str = ""
    code: str = ""


def _pattern(paths: list[str]) -> str:
    """``features.*`` for the paths a group shares; the path itself when there is one."""
    unique = list(dict.fromkeys(paths))
    if len(unique) == 1:
        return unique[0] or "the top level"
    split = [p.split(".") if p else [] for p in unique]
    common = []
    for parts in zip(*split):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    return ".".join([*common, "*"])


def groups(placeholders: list[Placeholder]) -> list[dict]:
    """Placeholders grouped by kind, name and reason, in order of first appearance."""
    out: dict[tuple, dict] = {}
    for p in placeholders:
        key = (p.kind, p.what, p.why)
        g = out.get(key)
        if g is None:
            out[key] = {**asdict(p), "count": 1, "paths": [p.path]}
        else:
            g["count"] += 1
            g["paths"].append(p.path)
    for g in out.values():
        g["in"] = _pattern(g.pop("paths"))
        del g["path"]
    return list(out.values())


def _at(where: str, code: str) -> str:
    return (f" at {where}" if where else "") + (f": `{code}`" if code else "")


def lines(placeholders: list[Placeholder], fallbacks: list[Fallback]) -> list[str]:
    """The report, one line per group and per fallback ("  - ReLU6 ×35 in features.* ...")."""
    return meta_lines(as_meta(placeholders, fallbacks))


def meta_lines(meta: dict) -> list[str]:
    """The report lines from what a graph file keeps of it (``graph.meta["imported"]``)."""
    out = []
    for g in meta.get("placeholders") or []:
        times = f" ×{g['count']}" if g.get("count", 1) > 1 else ""
        out.append(f"  - {g['what']}{times} in {g['in']} → {g['kind']} node ({g['why']})"
                   f"{_at(g.get('where', ''), g.get('code', ''))}")
    for f in meta.get("fallbacks") or []:
        out.append(f"  - {f['path'] or 'the model'}: {f['done']}; {f['why']}")
    return out


def as_meta(placeholders: list[Placeholder], fallbacks: list[Fallback]) -> dict:
    """What the graph file keeps of the report (``graph.meta["imported"]``)."""
    out = {}
    if placeholders:
        out["placeholders"] = groups(placeholders)
    if fallbacks:
        out["fallbacks"] = [asdict(f) for f in fallbacks]
    return out


__all__ = ["Placeholder", "Fallback", "groups", "lines", "meta_lines", "as_meta"]
