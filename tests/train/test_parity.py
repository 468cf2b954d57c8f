"""What trains is what ships: the exported ``train.py``, run with the app's seed on the CPU,
reproduces the app's per-epoch training losses (within 1e-5 relative) for every task."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from train_helpers import EXAMPLES

import netbuilder as nb
from netbuilder.train.config import TrainingConfig
from netbuilder.train.export_project import export_project
from netbuilder.train.trainer import Trainer

# Tiny runs: a few dozen samples, two epochs (a DBN: one per RBM, then fine-tuning);
# the app's events stay on (short Gibbs chains for the RBMs' dreams).
CASES = {
    "classify": ("mlp_spirals", {"dataset_options": {"classes": 2, "n_samples": 96},
                                 "epochs": 2, "normalization": "standard",
                                 "schedule": "cosine", "warmup_steps": 3}),
    "regress": ("gru_forecaster", {"dataset_options": {"length": 20, "n_samples": 64},
                                   "epochs": 2}),
    "autoencode": ("autoencoder_dense", {"dataset_options": {"limit": 64}, "epochs": 2,
                                         "grad_clip": 1.0}),
    "denoising": ("autoencoder_denoising", {"dataset_options": {"size": 28, "limit": 64},
                                            "epochs": 2}),
    "vae": ("vae_conv", {"dataset_options": {"size": 28, "limit": 64}, "epochs": 2}),
    "gan": ("dcgan_digits", {"dataset_options": {"size": 28, "limit": 64}, "epochs": 2}),
    "rbm": ("rbm_digits", {"dataset_options": {"binarize": True, "flatten": True, "limit": 64},
                           "epochs": 2, "task_options": {"gibbs_steps": 5}}),
    # start weights (the graph's file, a fresh head) and a frozen body (inference mode)
    "finetune": ("finetune_digits", {"dataset_options": {"limit": 64}, "epochs": 2}),
    "dbn": ("dbn_digits", {"dataset_options": {"flatten": True, "limit": 64}, "epochs": 2,
                           "task_options": {"pretrain_epochs": 1, "pretrain_lr": 0.01,
                                            "gibbs_steps": 5}}),
    # PGD examples (random start included) mixed into the batches
    "adversarial": ("lenet5", {"dataset_options": {"size": 28, "limit": 64}, "epochs": 2,
                               "adversarial": {"method": "pgd", "eps": 0.1, "steps": 2,
                                               "fraction": 0.5}}),
    # flips, shifts, rotations and noise drawn from one generator in one order, then
    # per-batch normalisation
    "augment": ("lenet5", {"dataset_options": {"size": 28, "limit": 64}, "epochs": 2,
                           "normalization": "standard",
                           "augmentation": {"flip": True, "shift": 2, "rotate": 10.0,
                                            "noise": 0.05}}),
}
# What the script must say for the option it trains with.
SCRIPT_TEXT = {
    "adversarial": ["x = recipe.adversarial_batch(plain, x, y, LOSS, **ADVERSARIAL)",
                    '"method": "pgd"', '"steps": 2'],
    "augment": ["recipe.augment("],
}
DRIVER = Path(__file__).with_name("run_scripts.py")


def _graph(example: str, changes: dict) -> nb.Graph:
    graph = nb.load(EXAMPLES / f"{example}.json")
    graph.training = {**TrainingConfig.from_graph(graph).to_dict(), **changes, "device": "cpu"}
    return graph


class Scripts:
    """The exported projects, their train.py scripts running in one background process."""

    def __init__(self, root: Path, proc: subprocess.Popen):
        self.root, self.proc = root, proc
        self.results: dict | None = None

    def result(self, task: str) -> tuple[dict, list]:
        """``({"rc", "error"}, history.json rows)`` of the task's script, once all have run."""
        if self.results is None:
            self.proc.wait(timeout=170)
            output = (self.root / "scripts.log").read_text()
            assert self.proc.returncode == 0, output[-3000:]
            self.results = json.loads((self.root / "results.json").read_text())
        done = self.results[str(self.root / task)]
        history = self.root / task / "trained" / "history.json"
        return done, json.loads(history.read_text()) if history.exists() else []


@pytest.fixture(scope="module")
def scripts(tmp_path_factory):
    """Every case exported once; its script runs as soon as it is written, all in one fresh
    interpreter (imports paid once), while the tests train the same graphs in this process."""
    root = tmp_path_factory.mktemp("parity")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": ""}
    with open(root / "scripts.log", "w") as log:
        proc = subprocess.Popen([sys.executable, str(DRIVER), str(root / "results.json")],
                                cwd=root, env=env, text=True, stdin=subprocess.PIPE,
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        for task, (example, changes) in CASES.items():
            graph = _graph(example, changes)
            report = export_project(graph, root / task)
            assert "train.py" in report.files and "recipe.py" in report.files, report.warnings
            job = {"dir": str(root / task),
                   "argv": ["--device", "cpu", "--seed", str(graph.training["seed"])]}
            proc.stdin.write(json.dumps(job) + "\n")
            proc.stdin.flush()
        proc.stdin.close()
        yield Scripts(root, proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.timeout(180)
@pytest.mark.parametrize("task", list(CASES))
def test_exported_train_py_reproduces_the_apps_losses(task, scripts, one_thread):
    graph = _graph(*CASES[task])
    events = []  # events on: the app's hooks (pictures, probes) must not change the numbers
    result = Trainer(graph, graph.training, emit=events.append).run()
    app = [row["train_loss"] for row in result.history]
    done, history = scripts.result(task)
    assert done["rc"] == 0, done["error"][-3000:]
    script = [row["loss"] for row in history]
    assert len(script) == len(app) >= 2, (script, app)
    assert script == pytest.approx(app, rel=1e-5), (script, app)
    assert (scripts.root / task / "trained" / "best.safetensors").exists() or task == "rbm"
    text = (scripts.root / task / "train.py").read_text()
    assert all(part in text for part in SCRIPT_TEXT.get(task, ())), SCRIPT_TEXT[task]
