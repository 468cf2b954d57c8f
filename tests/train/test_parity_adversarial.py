"""The exported ``train.py`` trains adversarially as the app does: PGD examples (random start
included) mixed into LeNet-5's batches give the same per-epoch losses in both."""
from __future__ import annotations

import pytest
from train_helpers import EXAMPLES, exported_losses

import netbuilder as nb
from netbuilder.train.config import TrainingConfig
from netbuilder.train.trainer import Trainer


@pytest.mark.timeout(120)
def test_exported_train_py_reproduces_adversarial_training(tmp_path):
    graph = nb.load(EXAMPLES / "lenet5.json")
    graph.training = {**TrainingConfig.from_graph(graph).to_dict(), "epochs": 2, "device": "cpu",
                      "dataset_options": {"size": 28, "limit": 64},
                      "adversarial": {"method": "pgd", "eps": 0.1, "steps": 2,
                                      "fraction": 0.5}}
    events = []  # the app's hooks stay on: they must not change the numbers
    app = [row["train_loss"] for row in Trainer(graph, graph.training,
                                                emit=events.append).run().history]
    script = exported_losses(graph, tmp_path)
    text = (tmp_path / "train.py").read_text()
    assert "x = recipe.adversarial_batch(plain, x, y, LOSS, **ADVERSARIAL)" in text
    assert '"method": "pgd"' in text and '"steps": 2' in text
    assert len(script) == len(app) == 2, (script, app)
    assert script == pytest.approx(app, rel=1e-5), (script, app)
