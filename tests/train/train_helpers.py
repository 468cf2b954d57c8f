"""Helpers for the training tests (``from train_helpers import ...``)."""
from __future__ import annotations

from importlib import resources

import netbuilder as nb

EXAMPLES = resources.files("netbuilder") / "resources" / "examples"


def chain(name: str, shape: tuple, *layers: tuple[str, dict]) -> nb.Graph:
    """A straight line: an Input ``x`` of ``shape`` followed by ``(type, params)`` layers."""
    g = nb.Graph(name)
    prev = g.add("Input", "x", shape=shape)
    for type_, params in layers:
        n = g.add(type_, **params)
        g.connect(prev, n)
        prev = n
    return g
