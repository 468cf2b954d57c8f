"""Strict JSON reading for files from strangers.

``json.loads`` accepts what JSON does not allow or what cannot be written back: ``NaN`` and
``Infinity`` (and numbers like ``1e999`` that overflow to infinity), duplicate object keys (the
last one silently wins), lone UTF-16 surrogates (``"\\ud800"``), integers too long to convert
(a ``ValueError``), and nesting deep enough to raise ``RecursionError``. ``loads`` here refuses
each with a ``FileFormatError`` naming the file and the JSON path to the bad field
(``nodes[3].params.p``), so that anything it accepts can be saved again unchanged.
"""
from __future__ import annotations

import json
import re
import sys
from itertools import accumulate
from typing import Any

from ..errors import FileFormatError

MAX_DEPTH = 100  # objects and lists inside each other; a graph file needs a few per block
BOM = "\ufeff"

# A JSON string token (escapes included), and the tokens that give a value its place.
_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*"'
_STRINGS = re.compile(_STRING, re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_TOKENS = re.compile(_STRING + r"|[\[\]{}:,]", re.DOTALL)
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
# a surrogate escape in the text, or a surrogate character itself (text not read from UTF-8)
_SURROGATE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}|[\ud800-\udfff]")


class _Bad:
    """Put in place of a value the reader refuses; the walk reports it with its path."""

    def __init__(self, message: str) -> None:
        self.message = message


class _DuplicateKeys(dict):
    """An object that named ``key`` twice (the value kept is the first, unused anyway)."""

    key: str


def loads(text: str, path: str | None = None) -> Any:
    """Parse ``text`` (a leading byte-order mark allowed); refuse what JSON or a round trip
    cannot hold."""
    if text.startswith(BOM):
        text = text[1:]
    _check_depth(text, path)
    flagged = False

    def bad(message: str) -> _Bad:
        nonlocal flagged
        flagged = True
        return _Bad(message)

    def number(s: str) -> float | _Bad:
        value = float(s)
        if value in (float("inf"), float("-inf")):
            return bad(f"the number {_short(s)} is too large for a 64-bit float")
        return value

    limit = sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else 0

    def integer(s: str) -> int | _Bad:
        digits = len(s) - s.startswith("-")
        if limit and digits > limit:
            return bad(f"an integer of {digits} digits is longer than the {limit} allowed")
        return int(s)

    def obj(pairs: list[tuple[str, Any]]) -> dict:
        nonlocal flagged
        d = dict(pairs)
        if len(d) == len(pairs):
            return d
        seen: set[str] = set()
        dup = _DuplicateKeys(d)
        dup.key = next(k for k, _ in pairs if k in seen or seen.add(k))
        flagged = True
        return dup

    try:
        data = json.loads(text, parse_constant=lambda name: bad(f"{name} is not a JSON number"),
                          parse_float=number, parse_int=integer, object_pairs_hook=obj)
    except json.JSONDecodeError as exc:
        raise FileFormatError(f"not valid JSON: {exc.msg} at line {exc.lineno}, column "
                              f"{exc.colno}", path=path) from None
    if flagged or _SURROGATE.search(text):
        _walk(data, [], path)
    return data


def field_path(parts: list[str | int]) -> str | None:
    """``["nodes", 3, "params", "p"]`` → ``nodes[3].params.p`` (None for the whole file)."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier() and part.isascii():
            out += f".{part}" if out else part
        else:
            out += f"[{_quoted(part)}]"
    return out or None


def _quoted(s: str) -> str:
    return json.dumps(s)  # ASCII escapes: a lone surrogate stays printable


def _short(s: str) -> str:
    return s if len(s) <= 30 else s[:27] + "..."


def _walk(value: Any, parts: list, path: str | None) -> None:
    """Raise for the first refused value in document order, naming its path."""
    if isinstance(value, _Bad):
        raise FileFormatError(value.message, path=path, field=field_path(parts))
    if isinstance(value, str):
        _check_text(value, parts, path)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _walk(item, parts + [i], path)
    elif isinstance(value, dict):
        if isinstance(value, _DuplicateKeys):
            _check_text(value.key, parts, path)
            raise FileFormatError(f"the key {_quoted(value.key)} appears twice in one object",
                                  path=path, field=field_path(parts + [value.key]))
        for key, item in value.items():
            _check_text(key, parts + [key], path)
            _walk(item, parts + [key], path)


def _check_text(s: str, parts: list, path: str | None) -> None:
    if s.isascii():
        return
    try:
        s.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise FileFormatError(
            f"the text {_short(_quoted(s))} holds a lone surrogate "
            f"(U+{ord(s[exc.start]):04X}), which is not a character", path=path,
            field=field_path(parts)) from None


def _check_depth(text: str, path: str | None) -> None:
    # Count brackets outside strings, in C-speed passes: the parser itself recurses.
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    if not brackets or max(accumulate(map(_STEP.__getitem__, brackets))) <= MAX_DEPTH:
        return
    raise FileFormatError(f"objects and lists nest deeper than {MAX_DEPTH} levels",
                          path=path, field=field_path(_path_at_depth(text, MAX_DEPTH + 1)))


def _path_at_depth(text: str, depth: int) -> list[str | int]:
    """The path of the first object or list that opens at ``depth`` (only on the error path)."""
    stack: list[list] = []  # [kind, key or index, expecting a key]
    for m in _TOKENS.finditer(text):
        tok = m.group()
        top = stack[-1] if stack else None
        if tok in "[{":
            if len(stack) + 1 == depth:
                break
            stack.append([tok, 0 if tok == "[" else None, tok == "{"])
        elif tok in "]}":
            if stack:
                stack.pop()
        elif tok == ",":
            if top is not None:
                if top[0] == "[":
                    top[1] += 1
                else:
                    top[2] = True
        elif tok == ":":
            if top is not None:
                top[2] = False
        elif top is not None and top[0] == "{" and top[2]:
            try:
                top[1] = json.loads(tok)
            except ValueError:
                top[1] = tok[1:-1]
    return [entry[1] for entry in stack if entry[1] is not None]
