"""Opening a graph that names Python code asks first; nothing is imported until trusted."""
from __future__ import annotations

import json

import pytest
from window_helpers import answer_dialog

import netbuilder as nb
from netbuilder.graph import trust

LAYERS = '''
import os
from pathlib import Path

from torch import nn

Path(os.environ["NB_MARKER"]).write_text("imported")


class Twice(nn.Module):
    def forward(self, x):
        return x.repeat(1, 2)
'''


@pytest.fixture
def graph_file(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("NB_MARKER", str(tmp_path / "marker"))
    monkeypatch.setattr(trust, "_allowed", set())
    (tmp_path / "layers.py").write_text(LAYERS)
    g = nb.Graph("custom")
    x = g.add("Input", "x", shape=(4,))
    m = g.add("Module", "twice", target=f"{tmp_path / 'layers.py'}:Twice", out_shape=(8,))
    g.connect(x, m)
    path = tmp_path / "custom.json"
    g.save(path)
    return path


def test_kept_as_placeholders_nothing_is_imported(make_window, graph_file):
    w = make_window()
    seen = answer_dialog("trust_prompt", button_name="distrust_button")
    assert w.files.open_file(graph_file)
    assert seen.get("shown")
    assert f"{graph_file.parent / 'layers.py'}:Twice" in seen["informative"]
    graph = w.document.graph
    assert graph.analyze().shape(graph.find("twice")) == (8,)  # the saved shape stands in
    assert not (graph_file.parent / "marker").exists()
    assert not trust.store_path().exists()


def test_trusted_it_is_imported_and_remembered(make_window, graph_file):
    w = make_window()
    seen = answer_dialog("trust_prompt", button_name="trust_button")
    assert w.files.open_file(graph_file)
    assert seen.get("shown")
    graph = w.document.graph
    assert graph.analyze().shape(graph.find("twice")) == (8,)
    assert (graph_file.parent / "marker").exists()
    assert list(json.loads(trust.store_path().read_text())) == [str(graph_file.resolve())]
