"""The exported ``train.py`` trains adversarially as the app does: PGD examples (random start
included) mixed into LeNet-5's batches give the same per-epoch losses in both."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from train_helpers import EXAMPLES

import netbuilder as nb
from netbuilder.train.config import TrainingConfig
from netbuilder.train.export_project import export_project
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
    report = export_project(graph, tmp_path)
    script_text = (tmp_path / "train.py").read_text()
    assert "recipe.adversarial_batch(plain, x, y, LOSS, **ADVERSARIAL)" in script_text
    assert '"method": "pgd"' in script_text, report.warnings
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": ""}
    done = subprocess.run([sys.executable, "train.py", "--device", "cpu", "--seed",
                           str(graph.training["seed"])], cwd=tmp_path, capture_output=True,
                          text=True, timeout=110, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    history = json.loads((tmp_path / "trained" / "history.json").read_text())
    script = [row["loss"] for row in history]
    assert len(script) == len(app) == 2, (script, app)
    assert script == pytest.approx(app, rel=1e-5), (script, app)
