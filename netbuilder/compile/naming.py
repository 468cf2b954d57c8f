"""Turning user-editable node names into safe, unique Python identifiers.

A graph file from a stranger must never inject code: every name that reaches generated source
passes through ``Namespace.create``, which keeps only identifier characters and avoids keywords,
builtins and the names the generated module itself uses (torch.fx's ``_Namespace`` is the model).
"""
from __future__ import annotations

import builtins
import json
import keyword
import math
import re
import unicodedata

from torch import nn

# NOTE: attributes are set on an nn.Module, so its own members are taken too: a node called
# "training" or "to" would otherwise replace the flag or shadow the method `self.to(x)` calls.
MODULE_MEMBERS = frozenset(dir(nn.Module)) | {"training"}

RESERVED = frozenset({
    "torch", "nn", "F", "math", "self", "model", "forward", "super", nn.Module.__name__,
    "x_batch",
    "l", "O", "I",  # legal, but linters flag them as easy to misread (E741)
}) | frozenset(dir(builtins)) | frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) \
    | MODULE_MEMBERS

_BAD = re.compile(r"[^0-9a-zA-Z_]+")


def sanitize(name: str) -> str:
    """An identifier from arbitrary text (``'x); import os'`` → ``x_import_os``)."""
    # "ünï" → "uni": accents go, the letters stay (identifiers here are plain ASCII)
    name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    s = _BAD.sub("_", name).strip("_")
    s = re.sub(r"__+", "_", s)
    if not s:
        s = "node"
    if s[0].isdigit():
        s = f"n{s}"
    return s


class Namespace:
    """Hands out unique identifiers; the same key always gets the same name."""

    def __init__(self, reserved: frozenset[str] = RESERVED) -> None:
        self._reserved = set(reserved)
        self._used: set[str] = set()
        self._by_key: dict[object, str] = {}

    def create(self, key: object, wanted: str) -> str:
        if key in self._by_key:
            return self._by_key[key]
        base = sanitize(wanted)
        if base in self._reserved:
            base = f"{base}_"
        name, i = base, 1
        while name in self._used or name in self._reserved:
            name = f"{base}_{i}"
            i += 1
        self._used.add(name)
        self._by_key[key] = name
        return name

    def reserve(self, name: str) -> None:
        self._used.add(name)


def class_name(text: str) -> str:
    """CamelCase class name from a graph or block name (``'lenet-5'`` → ``Lenet5``)."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    parts = [p for p in re.split(r"[^0-9a-zA-Z]+", text) if p]  # "inner_blk" → InnerBlk
    s = "".join(p[:1].upper() + p[1:] for p in parts) or "Model"
    if s[0].isdigit():
        s = f"Net{s}"
    if s in RESERVED:
        s = f"{s}Model"
    return s


def quoted(value, width: int | None = None) -> str:
    """File-derived ``value`` as text safe inside generated docstrings, comments and READMEs;
    a long string is cut (ending in ``...``) so that the text fits in ``width`` characters.

    NOTE: this is the one way text from a graph file reaches generated prose. ``repr`` escapes
    newlines, NUL, unicode line separators (U+2028, U+2029, U+0085), bidi controls and lone
    surrogates; its backslashes are doubled and ``"`` escaped, so that no run of quotes can end
    a docstring and the docstring's value is the ``repr`` itself (no escape comes alive).
    """
    text = _escaped(value)
    if width is None or not isinstance(value, str):
        return text
    cut = len(value)
    while len(text) > width and cut > 0:
        cut = min(cut - 1, cut * width // len(text))
        text = _escaped(value[:cut] + "...")
    return text


def _escaped(value) -> str:
    return repr(value).replace("\\", "\\\\").replace('"', '\\"')


def literal(value) -> str:
    """Python source of a JSON-like value (tuples as tuples, True/False/None, strings in double
    quotes as ruff writes them). The one way a value from a graph file becomes code."""
    if isinstance(value, str):
        return json.dumps(value)  # ASCII-only: every quote, backslash and separator escaped
    if isinstance(value, (list, tuple)):
        inner = ", ".join(literal(v) for v in value)
        return f"({inner},)" if isinstance(value, tuple) and len(value) == 1 else (
            f"({inner})" if isinstance(value, tuple) else f"[{inner}]")
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, float) and not math.isfinite(value):
        return f'float("{value}")'
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    raise TypeError(f"{type(value).__name__} is not a JSON value")
