"""The exported ``train.py`` augments as the app does: flips, shifts, rotations and noise drawn
from one generator in one order (recipe.augment), then per-batch normalisation, give LeNet-5 the
same per-epoch losses in both."""
from __future__ import annotations

import pytest
from train_helpers import EXAMPLES, exported_losses

import netbuilder as nb
from netbuilder.train.config import TrainingConfig
from netbuilder.train.trainer import Trainer


@pytest.mark.timeout(120)
def test_exported_train_py_reproduces_augmented_training(tmp_path):
    graph = nb.load(EXAMPLES / "lenet5.json")
    graph.training = {**TrainingConfig.from_graph(graph).to_dict(), "epochs": 2, "device": "cpu",
                      "dataset_options": {"size": 28, "limit": 64},
                      "normalization": "standard",
                      "augmentation": {"flip": True, "shift": 2, "rotate": 10.0,
                                       "noise": 0.05}}
    events = []  # the app's hooks stay on: they must not change the numbers
    app = [row["train_loss"] for row in Trainer(graph, graph.training,
                                                emit=events.append).run().history]
    script = exported_losses(graph, tmp_path)
    text = (tmp_path / "train.py").read_text()
    assert "recipe.augment(" in text
    assert len(script) == len(app) == 2, (script, app)
    assert script == pytest.approx(app, rel=1e-5), (script, app)
