"""Module nodes: any nn.Module by import path or file, imported only once the file is trusted."""
from __future__ import annotations

import json
import runpy

import pytest
import torch

import netbuilder as nb
from netbuilder.cli import main as cli_main
from netbuilder.graph import trust

LAYERS = '''
import os
from pathlib import Path

import torch
from torch import nn

Path(os.environ["NB_MARKER"]).write_text("imported")


class Scale(nn.Module):
    def __init__(self, factor=2.0, width=4):
        super().__init__()
        self.factor = factor
        self.bias = nn.Parameter(torch.arange(width, dtype=torch.float32))

    def forward(self, x):
        return torch.cat([x * self.factor + self.bias, x], dim=1)
'''


@pytest.fixture
def world(tmp_path, monkeypatch):
    """A user's layers file that leaves a marker when imported, a fresh trust store, and a
    graph file naming the layer (its last known shape saved)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("NB_MARKER", str(tmp_path / "marker"))
    monkeypatch.setattr(trust, "_allowed", set())
    (tmp_path / "layers.py").write_text(LAYERS)
    g = nb.Graph("custom")
    x = g.add("Input", "x", shape=(4,))
    m = g.add("Module", "scale", target=f"{tmp_path / 'layers.py'}:Scale",
              arguments='{"factor": 3.0}', out_shape=(8,), n_params=4)
    g.connect(x, m)
    g.connect(m, g.add("Output", "out"))
    path = tmp_path / "custom.json"
    g.save(path)
    assert not (tmp_path / "marker").exists()
    return tmp_path, path


def test_an_untrusted_file_is_opened_checked_summarised_and_refused_without_running(
        world, capsys):
    folder, path = world
    graph = nb.load(path)
    assert graph.analyze().shape(graph.outputs()[0]) == (8,)  # the placeholder's saved shape
    assert cli_main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "OK with 1 warning (3 nodes, 4 parameters)" in out
    assert "warning: Module 'scale' is a placeholder with its saved shape: its code" in out
    assert cli_main(["summary", str(path)]) == 0
    assert "scale  Module  (N, 8)" in capsys.readouterr().out
    assert cli_main(["export", str(path), "--project", str(folder / "p"), "--no-weights"]) == 1
    err = capsys.readouterr().err
    assert "Module 'scale' names code that is not trusted" in err and "--trust" in err
    assert not (folder / "p" / "model.py").exists()
    assert not (folder / "marker").exists()
    assert not trust.store_path().exists()


def test_without_a_saved_shape_an_untrusted_module_is_an_error(world, capsys):
    folder, path = world
    data = json.loads(path.read_text())
    del data["nodes"][1]["params"]["out_shape"]
    path.write_text(json.dumps(data))
    assert cli_main(["check", str(path)]) == 1
    assert "its file saves no output shape" in capsys.readouterr().out
    assert not (folder / "marker").exists()


def test_trusted_it_builds_and_gives_the_modules_outputs(world, capsys):
    folder, path = world
    assert cli_main(["check", str(path), "--trust"]) == 0
    assert "warning" not in capsys.readouterr().out
    assert (folder / "marker").exists()
    stored = json.loads(trust.store_path().read_text())
    assert list(stored) == [str(path.resolve())]
    graph = nb.load(path)  # remembered: the same file, unchanged
    assert trust.grant(graph, path) == []
    x = torch.randn(2, 4)
    out = graph.build()(x)
    assert torch.equal(out, torch.cat([x * 3.0 + torch.arange(4.0), x], dim=1))
    assert graph.analyze().total_params == 4
    assert cli_main(["export", str(path), "--project", str(folder / "p"), "--no-weights",
                     "--trust"]) == 0
    source = (folder / "p" / "model.py").read_text()
    assert f'"{folder / "layers.py"}"' in source  # the path as a literal
    assert "self.scale = user_layers.Scale(factor=3.0)" in source
    runpy.run_path(str(folder / "p" / "model.py"), run_name="__main__")
    assert capsys.readouterr().out.strip().endswith("(2, 8)")


def test_a_changed_file_is_untrusted_again(world):
    folder, path = world
    trust.trust_file(path)
    assert trust.file_is_trusted(path)
    path.write_text(path.read_text().replace('"custom"', '"changed"'))
    assert not trust.file_is_trusted(path)
    assert trust.grant(nb.load(path), path) == [f"{folder / 'layers.py'}:Scale"]


@pytest.mark.parametrize("target,arguments,words", [
    ("torch.nn:Identity(); import os#", "{}", "is not a class name"),
    ("os; import sys:Path", "{}", "is not a dotted module path"),
    ("torch.nn:Linear", '{"in_features": 4, "x) or print(1) or (y": 1}', "not an argument name"),
    ("torch.nn:Linear", "[1, 2]", "must be a JSON object"),
    ("torch.nn:functional", "{}", "is not an nn.Module class"),
])
def test_targets_and_arguments_never_become_code(world, target, arguments, words, capsys):
    folder, path = world
    data = json.loads(path.read_text())
    data["nodes"][1]["params"].update(target=target, arguments=arguments)
    data["nodes"][1]["params"].pop("out_shape")
    path.write_text(json.dumps(data))
    assert cli_main(["check", str(path), "--trust"]) == 1
    assert words in capsys.readouterr().out
    assert not (folder / "marker").exists()


def test_a_torch_class_needs_no_trust():
    g = nb.Graph("t")
    x = g.add("Input", "x", shape=(4,))
    m = g.add("Module", "fc", target="torch.nn:Linear",
              arguments='{"in_features": 4, "out_features": 3}')
    g.connect(x, m)
    analysis = g.analyze()
    assert (analysis.shape(m), analysis.total_params) == ((3,), 15)
    assert "        self.fc = torch.nn.Linear(in_features=4, out_features=3)" in g.to_python()


def test_a_module_that_cannot_run_on_meta_is_measured_on_a_real_batch_of_one(world):
    folder, _ = world
    (folder / "data_dependent.py").write_text(
        "import torch\nfrom torch import nn\n\n\nclass Peak(nn.Module):\n"
        "    def forward(self, x):\n"
        "        k = int(x.abs().max().item()) + 2  # .item() has no value on meta\n"
        "        return x.repeat(1, k)\n")
    target = f"{folder / 'data_dependent.py'}:Peak"
    g = nb.Graph("peak")
    x = g.add("Input", "x", shape=(3,))
    m = g.add("Module", "peak", target=target)
    g.connect(x, m)
    assert "not trusted" in g.analyze().nodes[m].error
    trust.allow([target])
    assert g.analyze().shape(m) == (6,)  # zeros: k = 2
    assert g.node(m).params["out_shape"] == (6,)  # kept, for the file to show while untrusted
