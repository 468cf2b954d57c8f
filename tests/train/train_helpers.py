"""Helpers for the training tests (``from train_helpers import ...``)."""
from __future__ import annotations

import time
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


def mlp_json() -> str:
    """A small MLP for 2-D points (spirals), as graph file text."""
    from netbuilder.graph import to_json

    g = nb.Graph("mlp")
    prev = g.add("Input", "x", shape=(2,))
    for name, type_, params in [("fc1", "Linear", {"out_features": 32}), ("relu", "ReLU", {}),
                                ("fc2", "Linear", {"out_features": 2})]:
        n = g.add(type_, name, **params)
        g.connect(prev, n)
        prev = n
    return to_json(g)


def config(**changes) -> dict:
    """A short spirals run's config dict, with ``changes``."""
    from netbuilder.train import TrainingConfig

    base = TrainingConfig(dataset="spirals", epochs=2, batch_size=16,
                          events={"metrics_hz": 50, "images_hz": 20})
    return base.replace(**changes).to_dict()


def wait_for(runner, predicate, timeout: float = 60.0) -> list:
    """Events up to and including the first one that satisfies ``predicate``."""
    deadline = time.monotonic() + timeout
    seen: list = []
    while time.monotonic() < deadline:
        for e in runner.wait(0.1):
            seen.append(e)
            if predicate(e):
                return seen
        if runner.finished:
            break
    raise AssertionError(f"no such event; got {[type(e).__name__ for e in seen]}")
