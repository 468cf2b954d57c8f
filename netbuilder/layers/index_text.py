"""Indexing text such as ``[:, 0]`` or ``[..., 1:3, None]``, parsed strictly (never evaluated).

The parsed items are written back through ``repr`` of ints, so nothing but integers, colons,
``None`` and ``...`` from a graph file reaches generated code.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

_INT = re.compile(r"^[+-]?\d{1,9}$")


def parse_index(text: str) -> tuple:
    """``"[:, 0]"`` -> ``(slice(None), 0)``; a ValueError says which item is wrong."""
    body = text.strip()
    if body.startswith("[") and body.endswith("]"):
        body = body[1:-1]
    if not body.strip():
        raise ValueError(f"index {text!r} is empty: write it as in Python, e.g. '[:, 0]'")
    items = tuple(_item(part.strip(), text) for part in body.split(","))
    if sum(i is Ellipsis for i in items) > 1:
        raise ValueError(f"index {text!r} has more than one '...'")
    return items


def _item(part: str, text: str):
    if part == "...":
        return Ellipsis
    if part == "None":
        return None
    if _INT.fullmatch(part):
        return int(part)
    pieces = part.split(":")
    if 2 <= len(pieces) <= 3 and all(p.strip() == "" or _INT.fullmatch(p.strip()) for p in pieces):
        bounds = [int(p) if p.strip() else None for p in pieces]
        if len(bounds) == 3 and bounds[2] is not None and bounds[2] <= 0:
            raise ValueError(f"index {text!r}: the step in {part!r} must be positive")
        return slice(*bounds)
    raise ValueError(f"index {text!r}: {part!r} is not an integer, a slice like 1:3, None or "
                     f"'...'")


def check_keeps_batch(items: tuple, sample_shape: Sequence[int], text: str) -> None:
    """The batch dimension must pass through whole: ``[:, ...]`` or ``[..., k]``."""
    rank = len(sample_shape) + 1
    consuming = [i for i in items if i is not None and i is not Ellipsis]
    if len(consuming) > rank:
        raise ValueError(f"index {text!r} indexes {len(consuming)} dimensions but the tensor "
                         f"has {rank} (with the batch)")
    first = items[0]
    if first is Ellipsis and len(consuming) < rank:
        return
    if first == slice(None):
        return
    raise ValueError(f"index {text!r} must keep the batch dimension whole: start it with ':' "
                     f"(as in '[:, 0]') or '...'")


def index_source(items: tuple) -> str:
    """The subscript as Python source, from ints only: ``[:, 0]``."""
    return "[" + ", ".join(_source(i) for i in items) + "]"


def _source(item) -> str:
    if item is Ellipsis:
        return "..."
    if item is None:
        return "None"
    if isinstance(item, slice):
        parts = ["" if v is None else repr(int(v)) for v in (item.start, item.stop, item.step)]
        return ":".join(parts if item.step is not None else parts[:2])
    return repr(int(item))


__all__ = ["check_keeps_batch", "index_source", "parse_index"]
