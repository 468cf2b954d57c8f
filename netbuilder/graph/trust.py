"""Trust: a graph file that names Python code runs none of it until a person trusts the file.

A Module node names a class by import path (``package.module:Class``) or in a file
(``path/to/layers.py:Class``). Opening, checking, summarising or exporting a graph never
imports it unless its target is *allowed* in this process: the person passed ``--trust`` (or
said yes in the editor), and the file (its path and content hash) is remembered in the trust
store, ``$XDG_CONFIG_HOME/netbuilder/trusted.json``. Until then such a node is a placeholder
with the output shape saved in the file. No torch here.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

_allowed: set[str] = set()  # targets this process may import


def code_targets(graph) -> list[str]:
    """The module targets a graph names, its blocks' included, in order, without repeats."""
    out: list[str] = []
    for node in graph.nodes():
        target = node.spec.code_target(node.params) if node.spec.code_target else None
        if target is not None and target not in out:
            out.append(target)
        if node.inner is not None:
            out += [t for t in code_targets(node.inner) if t not in out]
    return out


def allow(targets) -> None:
    """Let this process import ``targets`` (the person trusted them)."""
    _allowed.update(targets)


def allowed() -> list[str]:
    """The targets trusted in this process (a spawned training worker is given them)."""
    return sorted(_allowed)


def is_allowed(target: str) -> bool:
    """Whether ``target`` may be imported: trusted, or a class of torch itself."""
    module = target.rpartition(":")[0]
    return target in _allowed or module == "torch" or (
        module.startswith("torch.") and not module.endswith(".py"))


def untrusted_warnings(graph) -> list:
    """A warning for each Module node shown as a placeholder (its code not trusted)."""
    from .diagnostics import Diagnostic

    out = []
    for node in graph.nodes():
        target = node.spec.code_target(node.params) if node.spec.code_target else None
        if target is not None and not is_allowed(target):
            out.append(Diagnostic("warning", node.id, f"{node.label} is a placeholder with its "
                                  f"saved shape: its code ({target!r}) is not trusted (check "
                                  f"it with --trust to import it)"))
    return out


def store_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "netbuilder" / "trusted.json"


def _key(path) -> tuple[str, str]:
    p = Path(path).resolve()
    return str(p), hashlib.sha256(p.read_bytes()).hexdigest()


def _read_store() -> dict:
    try:
        data = json.loads(store_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def file_is_trusted(path) -> bool:
    """Whether the file at ``path``, as it is now, was trusted before."""
    name, digest = _key(path)
    return _read_store().get(name) == digest


def trust_file(path) -> None:
    """Remember the file at ``path`` (its path and content hash) as trusted."""
    from .fileformat import atomic_write

    name, digest = _key(path)
    store = _read_store()
    store[name] = digest
    target = store_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target, json.dumps(store, indent=2, sort_keys=True) + "\n")


def grant(graph, path, trust: bool = False) -> list[str]:
    """Allow the targets of ``graph`` read from ``path`` when the person trusts it now
    (``trust``; remembered) or did before; returns the targets still untrusted."""
    targets = code_targets(graph)
    if not targets:
        return []
    if trust:
        trust_file(path)
    if trust or file_is_trusted(path):
        allow(targets)
    return [t for t in targets if not is_allowed(t)]


__all__ = ["code_targets", "allow", "allowed", "is_allowed", "file_is_trusted",
           "trust_file", "grant", "store_path", "untrusted_warnings"]
