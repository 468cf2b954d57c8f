"""Helpers for the command-line tests: run ``netbuilder`` in-process and capture its output."""
from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

import netbuilder as nb
from netbuilder.cli import main

EXAMPLES = Path(str(resources.files("netbuilder") / "resources" / "examples"))


@pytest.fixture
def cli(capsys):
    """``cli("check", path)`` → ``(exit status, stdout, stderr)``."""
    def run(*argv):
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err
    return run


@pytest.fixture
def examples_dir() -> Path:
    return EXAMPLES


@pytest.fixture
def lenet_file() -> Path:
    return EXAMPLES / "lenet5.json"


@pytest.fixture
def save(tmp_path):
    """``save(graph, name="graph.json")`` → the path it was written to, in ``tmp_path``."""
    def write(graph: nb.Graph, name: str = "graph.json") -> Path:
        path = tmp_path / name
        graph.save(path)
        return path
    return write


@pytest.fixture
def write_json(tmp_path):
    """``write_json(data_or_text, name)`` → a file holding that JSON (or that raw text)."""
    def write(data, name: str = "graph.json") -> Path:
        path = tmp_path / name
        path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
        return path
    return write


@pytest.fixture
def broken_graph() -> nb.Graph:
    return missing_flatten_graph()


def missing_flatten_graph() -> nb.Graph:
    """A conv feeding a Linear without a Flatten: the classic error."""
    g = nb.Graph("broken")
    x = g.add("Input", "image", shape=(1, 12, 12))
    c = g.add("Conv2d", "conv", out_channels=4, kernel_size=3)
    fc = g.add("Linear", "fc1", out_features=10)
    g.connect(x, c)
    g.connect(c, fc)
    return g

