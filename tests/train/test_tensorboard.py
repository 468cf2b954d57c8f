"""TensorBoard event files: a one-epoch run writes train and validation scalars on one chart,
weight histograms, sample images, hyperparameters and the model graph, read back with
tensorboard's own EventAccumulator."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from train_helpers import EXAMPLES  # noqa: E402

import netbuilder as nb  # noqa: E402
from netbuilder.cli import main  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


def _read(folder):
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0,
                                                       "images": 0, "tensors": 0})
    return acc.Reload()


def test_a_one_epoch_cli_run_writes_tensorboard_events(tmp_path, capsys):
    g = nb.load(EXAMPLES / "lenet5.json")
    g.training = {**(g.training or {}), "dataset": "digits", "dataset_options": {"size": 28},
                  "epochs": 1, "probe": "none", "events": {"images_hz": 100.0}}
    graph = tmp_path / "lenet.json"
    g.save(graph)
    out = tmp_path / "run"
    assert main(["train", str(graph), "-q", "--out", str(out)]) == 0, capsys.readouterr().err
    tb = out / "tensorboard"
    assert list(tb.glob("events.out.tfevents.*"))
    main_run = _read(tb)
    tags = main_run.Tags()
    assert "train/loss" in tags["scalars"]  # per step
    steps = [e.step for e in main_run.Scalars("train/loss")]
    assert steps == sorted(steps) and steps[-1] > 0
    assert any(t.startswith("weights/") for t in tags["histograms"])
    assert any(t.startswith("samples/") for t in tags["images"])
    assert main_run.Graph() is not None  # the traced model
    # Train and validation of the same metric share one chart: one folder per curve.
    summary = json.loads((out / "summary.json").read_text())
    for split in ("train", "val"):
        (point,) = _read(tb / f"loss_{split}").Scalars("loss")
        assert point.step == summary["steps"]
        assert point.value == pytest.approx(summary["final"][f"{split}_loss"], rel=1e-5)
    hparams = _read(tb / "hparams").Tags()["scalars"]
    assert {"hparam/val_loss", "hparam/val_accuracy"} <= set(hparams)
