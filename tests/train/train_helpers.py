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


def exported_losses(graph: nb.Graph, folder) -> list[float]:
    """Export ``graph`` to ``folder``, run its ``train.py`` there on the CPU with the graph's
    seed (a process of its own, one thread) and return its per-epoch training losses."""
    import json
    import os
    import subprocess
    import sys

    from netbuilder.train.export_project import export_project

    report = export_project(graph, folder)
    assert "train.py" in report.files and "recipe.py" in report.files, report.warnings
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": ""}
    done = subprocess.run([sys.executable, "train.py", "--device", "cpu", "--seed",
                           str(graph.training["seed"])], cwd=folder, capture_output=True,
                          text=True, timeout=110, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    history = json.loads((folder / "trained" / "history.json").read_text())
    return [row["loss"] for row in history]
