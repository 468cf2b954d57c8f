"""The Ray path of ``netbuilder sweep``: two trials on a local Ray instance started by the
command (``--ray local``), each training the graph in a Ray worker."""
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from train_helpers import chain

from netbuilder.train.config import TrainingConfig

pytest.importorskip("ray.tune", reason="the Ray path needs ray[tune] (the test extras)")

QUIET = {"activations": False, "histograms": False, "samples": False, "confusion": False}
RAY_S = 900  # Ray's start on a busy 2-core machine takes half a minute, each trial a minute


def test_two_trials_run_on_a_local_ray_instance(tmp_path):
    g = chain("mlp", (64,), ("Linear", {"out_features": 16}), ("ReLU", {}),
              ("Linear", {"out_features": 10}))
    g.training = TrainingConfig(dataset="digits", dataset_options={"flatten": True,
                                                                    "limit": 200},
                                epochs=1, device="cpu", batch_size=64, checkpoint_every=0,
                                probe="none", events=QUIET).to_dict()
    graph_file = tmp_path / "mlp.json"
    g.save(graph_file)
    # Ray's sockets live in its temporary folder: a short path keeps them under the OS limit
    ray_tmp = tempfile.mkdtemp(prefix="nbray")
    env = {**os.environ, "RAY_TMPDIR": ray_tmp, "PYTHONPATH": os.pathsep.join(sys.path),
           "RAY_USAGE_STATS_ENABLED": "0"}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "netbuilder", "sweep", str(graph_file), "--param",
             "fc1.out_features=8,16", "--strategy", "grid", "--ray", "local", "--jobs", "1",
             "--quiet"],
            env=env, capture_output=True, text=True, timeout=RAY_S)
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "2 complete, 0 pruned, 0 failed of 2 trials" in out
    rows = [line.split() for line in out.splitlines() if line[:2] in ("0 ", "1 ")]
    assert [(r[0], r[1], r[2]) for r in rows] == [("0", "complete", "8"),
                                                  ("1", "complete", "16")]
    assert all(0.0 <= float(r[3]) <= 1.0 for r in rows)  # each trial's val_accuracy
    results = Path(graph_file.parent / "mlp.runs" / "sweeps" / "mlp" / "mlp")
    assert results.is_dir()  # Ray Tune's experiment folder inside the graph's run store
