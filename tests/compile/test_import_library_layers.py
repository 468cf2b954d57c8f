"""Layers of model libraries that the importer knows by their qualified class name (the
library itself need not be installed): each becomes its netbuilder layer, which behaves as the
original in training too, not only in evaluation."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
from torch import nn

from netbuilder.compile.importer import import_module

_CORPUS = Path(__file__).parent / "import_corpus"


def _corpus_file(name: str):
    spec = importlib.util.spec_from_file_location(f"corpus_{name}", _CORPUS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Residual(nn.Module):
    def __init__(self, drop: nn.Module):
        super().__init__()
        self.fc = nn.Linear(6, 6)
        self.stochastic_depth = drop

    def forward(self, x):
        return x + self.stochastic_depth(self.fc(x))


def test_torchvision_stochastic_depth_becomes_the_layer_and_drops_like_it():
    tv_ops = _corpus_file("tv_ops")
    model = Residual(tv_ops.StochasticDepth(0.5, "row")).eval()
    graph = import_module(model, input_shapes=[(6,)])
    node = graph.node(graph.find("stochastic_depth"))
    assert (node.type, node.params["p"], node.params["mode"]) == ("StochasticDepth", 0.5, "row")
    x = torch.randn(64, 6)
    for mode in ("row", "batch"):
        model.stochastic_depth.mode = mode
        graph.set_param(node.id, "mode", mode)
        built = graph.build()
        built.load_state_dict(model.state_dict())
        for m in (model, built):
            m.train()
        with torch.random.fork_rng():
            torch.manual_seed(5)
            want = model(x)
        with torch.random.fork_rng():
            torch.manual_seed(5)
            got = built(x)
        torch.testing.assert_close(got, want)
        dropped = (want == x).all(dim=1)  # a dropped branch leaves the input as it was
        assert 0 < int(dropped.sum()) < 64 if mode == "row" else int(dropped.sum()) in (0, 64)
