"""Kill tests: SIGKILL a training run at random moments; every resume continues exactly or
refuses, and no torn checkpoint is ever accepted.

The default run makes 10 kills (< 30 s); ``NETBUILDER_KILL_TRIALS=200`` makes 200. Run with
``-s`` to see the figures.
"""
import contextlib
import io
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import load_file
from train_helpers import chain

from netbuilder.cli import main
from netbuilder.train import TrainingConfig

TRIALS = int(os.environ.get("NETBUILDER_KILL_TRIALS", "10"))
EPOCHS = 12
VOLATILE = ("time_s", "samples_per_s")  # wall-clock figures differ from run to run
BEFORE_FIRST_CHECKPOINT = ("has no checkpoint.json", "has no config.json", "has no graph.json")

pytestmark = [pytest.mark.skipif(sys.platform == "win32", reason="fork and SIGKILL"),
              pytest.mark.usefixtures("one_thread")]


class Zygote:
    """The kill_worker process: forks training runs and reaps them."""

    def __init__(self):
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")])}
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name(
            "kill_worker.py"))], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env=env)

    def ask(self, **cmd) -> dict:
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def write_graph(folder: Path) -> Path:
    """A tiny model on tiny data, a checkpoint every epoch of 3 steps: writes dominate."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 4)).astype(np.float32)
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", (x[:, 0] * x[:, 1] > 0).astype(np.int64))
    g = chain("tiny", (4,), ("Linear", {"out_features": 16}), ("ReLU", {}),
              ("Dropout", {"p": 0.2}), ("Linear", {"out_features": 2}))
    g.training = TrainingConfig(
        dataset=str(folder / "x.npy"), dataset_options={"labels_path": str(folder / "y.npy")},
        epochs=EPOCHS, batch_size=32, val_split=0.25, lr=0.01, device="cpu",
        checkpoint_every=1, events={"metrics_hz": 0, "images_hz": 0, "activations": False,
                                    "histograms": False, "samples": False,
                                    "confusion": False}).to_dict()
    path = folder / "tiny.json"
    g.save(path)
    return path


def history(run: Path) -> list[dict]:
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in VOLATILE} for r in rows]


def mid_write(run: Path) -> bool:
    """The kill left a checkpoint folder that no record names (a set being written)."""
    try:
        named = json.loads((run / "checkpoint.json").read_text())["set"]
    except (OSError, ValueError, KeyError):
        named = None
    return any(p.is_dir() and p.name != named for p in run.iterdir())


def test_resume_after_a_kill_continues_exactly_or_refuses(tmp_path):
    graph = write_graph(tmp_path)
    zygote = Zygote()
    try:
        zygote.ask(warm=str(graph))
        ref = tmp_path / "reference"
        start = time.perf_counter()
        pid = zygote.ask(run=str(graph), out=str(ref))["pid"]
        assert zygote.ask(wait=pid)["status"] == 0
        duration = time.perf_counter() - start
        expected, weights = history(ref), load_file(ref / "weights.safetensors")
        assert [r["epoch"] for r in expected] == list(range(1, EPOCHS + 1))
        chance = random.Random(0)
        outcomes, refusals, writes = Counter(), Counter(), 0
        for trial in range(TRIALS):
            run = tmp_path / f"trial{trial}"
            pid = zygote.ask(run=str(graph), out=str(run))["pid"]
            time.sleep(chance.uniform(0, duration))  # the random moment of the kill
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            if zygote.ask(wait=pid)["status"] == 0:
                outcomes["finished before the kill"] += 1
            writes += run.exists() and mid_write(run)
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                status = main(["train", "--resume", str(run), "--quiet"]) if run.exists() else 1
            if status != 0:
                message = err.getvalue().strip() or "no run folder yet"
                known = [m for m in BEFORE_FIRST_CHECKPOINT if m in message]
                assert known or "torn" in message or message == "no run folder yet", message
                refusals[known[0] if known else message.split(":")[0]] += 1
                outcomes["refused"] += 1
                continue
            same = history(run) == expected and all(
                (load_file(run / "weights.safetensors")[k] == v).all() for k, v in weights.items())
            outcomes["continued exactly" if same else "TORN SET ACCEPTED"] += 1
            if TRIALS > 10:  # a long run shows its progress (and leaves figures if cut short)
                print(f"kill {trial + 1}: {dict(outcomes)}, {writes} mid-write", flush=True)
    finally:
        zygote.close()
    took = time.perf_counter() - start
    print(f"\nkill trials ({took:.0f} s in all): {TRIALS} kills over a {duration:.2f} s run of "
          f"{EPOCHS} checkpoints; {dict(outcomes)}; refusals {dict(refusals)}; kills during a "
          f"checkpoint write: {writes}")
    assert outcomes["TORN SET ACCEPTED"] == 0
    assert outcomes["continued exactly"] >= 1
