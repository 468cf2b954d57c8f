"""What trains is what ships: the exported ``train.py``, run with the app's seed on the CPU,
reproduces the app's per-epoch training losses (within 1e-5 relative) for every task."""
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

# Tiny runs: a few dozen samples, two or three epochs (a DBN: one per RBM, then fine-tuning);
# the app's events stay on (short Gibbs chains for the RBMs' dreams).
CASES = {
    "classify": ("mlp_spirals", {"dataset_options": {"classes": 2, "n_samples": 160},
                                 "epochs": 3, "normalization": "standard",
                                 "schedule": "cosine", "warmup_steps": 3}),
    "regress": ("gru_forecaster", {"dataset_options": {"length": 20, "n_samples": 64},
                                   "epochs": 2}),
    "autoencode": ("autoencoder_dense", {"dataset_options": {"limit": 96}, "epochs": 2,
                                         "grad_clip": 1.0}),
    "denoising": ("autoencoder_denoising", {"dataset_options": {"size": 28, "limit": 64},
                                            "epochs": 2}),
    "vae": ("vae_conv", {"dataset_options": {"size": 28, "limit": 64}, "epochs": 2}),
    "gan": ("dcgan_digits", {"dataset_options": {"size": 28, "limit": 64}, "epochs": 2}),
    "rbm": ("rbm_digits", {"dataset_options": {"binarize": True, "flatten": True, "limit": 96},
                           "epochs": 2, "task_options": {"gibbs_steps": 5}}),
    # start weights (the graph's file, a fresh head) and a frozen body (inference mode)
    "finetune": ("finetune_digits", {"dataset_options": {"limit": 96}, "epochs": 2}),
    "dbn": ("dbn_digits", {"dataset_options": {"flatten": True, "limit": 96}, "epochs": 2,
                           "task_options": {"pretrain_epochs": 1, "pretrain_lr": 0.01,
                                            "gibbs_steps": 5}}),
}


def _graph(example: str, changes: dict) -> nb.Graph:
    graph = nb.load(EXAMPLES / f"{example}.json")
    graph.training = {**TrainingConfig.from_graph(graph).to_dict(), **changes, "device": "cpu"}
    return graph


@pytest.mark.timeout(120)
@pytest.mark.parametrize("task", list(CASES))
def test_exported_train_py_reproduces_the_apps_losses(task, tmp_path):
    example, changes = CASES[task]
    graph = _graph(example, changes)
    events = []  # events on: the app's hooks (pictures, probes) must not change the numbers
    result = Trainer(graph, graph.training, emit=events.append).run()
    app = [row["train_loss"] for row in result.history]
    report = export_project(graph, tmp_path)
    assert "train.py" in report.files and "recipe.py" in report.files, report.warnings
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": ""}
    done = subprocess.run([sys.executable, "train.py", "--device", "cpu", "--seed",
                           str(graph.training["seed"])], cwd=tmp_path, capture_output=True,
                          text=True, timeout=110, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    history = json.loads((tmp_path / "trained" / "history.json").read_text())
    script = [row["loss"] for row in history]
    assert len(script) == len(app) >= 2, (script, app)
    assert script == pytest.approx(app, rel=1e-5), (script, app)
    assert (tmp_path / "trained" / "best.safetensors").exists() or task == "rbm"
