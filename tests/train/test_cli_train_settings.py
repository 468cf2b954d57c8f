"""``netbuilder train --set KEY=VALUE``, ``--device``, ``-q``/``-v`` and the live bar."""
from __future__ import annotations

import io
import json
import sys

import pytest
from test_cli_train import write_mlp

from netbuilder.cli import main
from netbuilder.train.events import Log, Metrics, Progress, RunStarted
from netbuilder.train.sinks import ProgressBar

pytestmark = pytest.mark.usefixtures("one_thread")


def test_set_changes_any_setting_including_nested_ones(tmp_path, capsys):
    graph = write_mlp(tmp_path / "mlp.json", epochs=1)
    out = tmp_path / "run"
    status = main(["train", str(graph), "-q", "--out", str(out), "--set", "optimizer=sgd",
                   "--set", "lr=0.05", "--set", "early_stopping.patience=3",
                   "--set", "grad_clip=1.5", "--set", "schedule=cosine"])
    assert status == 0, capsys.readouterr().err
    config = json.loads((out / "config.json").read_text())
    assert (config["optimizer"], config["lr"], config["grad_clip"]) == ("sgd", 0.05, 1.5)
    assert config["schedule"] == "cosine" and config["early_stopping"]["patience"] == 3


@pytest.mark.parametrize(("setting", "message"), [
    ("lrate=0.1", "--set lrate: unknown training setting 'lrate'; the settings are: "
                  "adversarial, augmentation, batch_size,"),
    ("lr=-1", "--set lr: lr must be a number above 0, not -1"),
    ("val_split=1.5", "--set val_split: val_split must be below 1"),
    ("optimizer=adamx", "--set optimizer: optimizer must be one of sgd, rmsprop, adagrad"),
    ("early_stopping.wait=2", "unknown setting 'wait' in early_stopping; the settings are: "
                              "metric, min_delta, mode, patience, target"),
    ("epochs.max=2", "--set epochs.max: 'epochs' is not a group of settings"),
    ("lr", "expected KEY=VALUE, not 'lr'"),
])
def test_a_bad_setting_is_one_line_naming_it(tmp_path, capsys, setting, message):
    graph = write_mlp(tmp_path / "mlp.json", epochs=1)
    status = main(["train", str(graph), "-q", "--out", str(tmp_path / "r"), "--set", setting])
    err = capsys.readouterr().err
    assert status in (1, 2) and message in err.strip().splitlines()[-1], err
    assert "Traceback" not in err
    assert not (tmp_path / "r" / "weights.safetensors").exists()


@pytest.mark.parametrize(("device", "message"), [
    ("cuda:1", "cuda"), ("cuda:x", "device must be auto, cpu, cuda (or cuda:N) or mps, not "
                                   "'cuda:x'"), ("tpu", "not 'tpu'")])
def test_a_device_that_is_not_here_is_a_clear_error(tmp_path, capsys, device, message):
    import torch

    graph = write_mlp(tmp_path / "mlp.json", epochs=1)
    if device == "cuda:1" and torch.cuda.device_count() > 1:
        pytest.skip("this machine has a second GPU")
    status = main(["train", str(graph), "-q", "--out", str(tmp_path / "r"), "--device", device])
    err = capsys.readouterr().err
    assert status == 1 and message in err and len(err.strip().splitlines()) == 1, err
    if device == "cuda:1":
        assert ("no CUDA GPU is available" in err or "cuda:1 does not exist" in err)
    assert not (tmp_path / "r").exists()


def test_quiet_keeps_warnings_and_verbose_adds_settings_and_messages():
    events = [RunStarted(config={"optimizer": "adam", "lr": 0.001}, num_params=10,
                         device="cpu", steps_per_epoch=2, total_steps=2, epochs=1,
                         dataset={"name": "spirals", "n_train": 8, "n_val": 2}),
              Log("Resized the images"), Log("the loss is large", "warning"),
              Metrics(2, 1, "train", {"loss": 0.5}, epoch_end=True),
              Metrics(2, 1, "val", {"loss": 0.25}, epoch_end=True)]
    texts = {}
    for verbosity in (0, 1, 2):
        stream = io.StringIO()
        sink = ProgressBar(stream, verbosity=verbosity)
        for e in events:
            sink(e)
        texts[verbosity] = stream.getvalue()
    assert texts[0] == "warning: the loss is large\n"
    assert "training classify on spirals" in texts[1] and "epoch 1/1  train_loss 0.5  " \
        "val_loss 0.25" in texts[1] and "warning: the loss is large" in texts[1]
    assert "Resized" not in texts[1] and "settings: optimizer adam, lr 0.001" not in texts[1]
    assert "Resized the images" in texts[2] and "settings: optimizer adam, lr 0.001" in texts[2]


def test_the_live_bar_is_tqdm_on_a_terminal(tmp_path, capsys, monkeypatch):
    stream = io.StringIO()
    sink = ProgressBar(stream, bar=True)
    sink(RunStarted(config={}, num_params=10, device="cpu", steps_per_epoch=4, total_steps=4,
                    epochs=1, dataset={"name": "spirals", "n_train": 8, "n_val": 2}))
    sink(Metrics(1, 1, "train", {"loss": 0.75}))
    sink(Progress(1, 2, 4, 100.0, 3.0, 0.001, epochs=1, step_in_epoch=2, steps_per_epoch=4))
    text = stream.getvalue()
    assert "epoch 1/1:  50%" in text and "2/4" in text and "loss 0.75" in text
    # The command turns the bar on only when stdout is a terminal.
    graph = write_mlp(tmp_path / "mlp.json", epochs=1)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(["train", str(graph), "--out", str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err
    assert "step/s]" in err or "s/step]" in err or "%|" in err
