"""Checkpoints are committed as one set; resume verifies it, continues exactly, or refuses."""
import argparse
import hashlib
import json

import pytest
import torch
from safetensors.torch import load_file
from train_helpers import chain

import netbuilder.train.checkpoint as checkpoint
from netbuilder.cli import main
from netbuilder.train import TrainingConfig, TrainingFailed, train

QUIET = {"metrics_hz": 0, "images_hz": 0, "activations": False, "histograms": False,
         "samples": False, "confusion": False}

pytestmark = pytest.mark.usefixtures("one_thread")


def dropout_mlp():
    """Dropout and noise augmentation draw random numbers every step: exactness needs the
    generators restored, not only the weights."""
    return chain("mlp", (2,), ("Linear", {"out_features": 32}), ("ReLU", {}),
                 ("Dropout", {"p": 0.3}), ("Linear", {"out_features": 2}))


def config(epochs):
    return TrainingConfig(dataset="spirals", epochs=epochs, lr=3e-3, batch_size=64,
                          augmentation={"noise": 0.05}, events=QUIET, device="cpu")


def losses(rows):
    return [(r["epoch"], r["step"], r["train_loss"], r["val_loss"], r["val_accuracy"])
            for r in rows]


def record(run):
    return json.loads((run / "checkpoint.json").read_text())


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished 2-epoch run and an unbroken 4-epoch one to compare resumes with."""
    run = tmp_path_factory.mktemp("run")
    train(dropout_mlp(), config(2), out_dir=run)
    unbroken = train(dropout_mlp(), config(4))
    return run, unbroken


def copy_run(src, dst):
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_resume_continues_exactly_with_dropout_and_noise(finished, tmp_path):
    run, unbroken = finished
    run = copy_run(run, tmp_path / "run")
    resumed = train(dropout_mlp(), config(4), resume=run)
    assert losses(resumed.history) == losses(unbroken.history)  # bit for bit, every epoch
    for (k, a), b in zip(resumed.model.state_dict().items(), unbroken.model.state_dict().values()):
        assert torch.equal(a, b), k
    assert [p.name for p in run.iterdir() if p.is_dir()] == [record(run)["set"]]


def test_a_changed_file_in_the_set_is_refused_and_the_summary_stays(finished, tmp_path):
    run = copy_run(finished[0], tmp_path / "run")
    summary = (run / "summary.json").read_bytes()
    weights = run / record(run)["set"] / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(TrainingFailed) as err:
        train(dropout_mlp(), config(4), resume=run)
    assert str(err.value) == (
        f"The checkpoint is torn: {weights} does not match the SHA-256 that checkpoint.json "
        f"records for it (the file was changed or only partly written), so the run cannot be "
        f"resumed")
    assert (run / "summary.json").read_bytes() == summary
    assert [json.loads(x)["epoch"] for x in (run / "metrics.jsonl").read_text().splitlines()] \
        == [1, 2]


def test_a_missing_file_is_refused_from_the_command_line(finished, tmp_path, capsys):
    run = copy_run(finished[0], tmp_path / "run")
    summary = (run / "summary.json").read_bytes()
    missing = run / record(run)["set"] / "optimizer.pt"
    missing.unlink()
    status = main(["train", "--resume", str(run), "--epochs", "4", "--quiet"])
    err = capsys.readouterr().err
    assert status == 1
    assert err == (f"netbuilder: error: The checkpoint is torn: {missing} is missing, so the run "
                   f"cannot be resumed\n")
    assert (run / "summary.json").read_bytes() == summary


def test_a_record_naming_a_folder_outside_the_run_is_refused(finished, tmp_path):
    run = copy_run(finished[0], tmp_path / "run")
    state = record(run)
    state["set"] = "../elsewhere"
    (run / "checkpoint.json").write_text(json.dumps(state))
    with pytest.raises(TrainingFailed, match=r"checkpoint.json is damaged: it does not name a "
                                             r"checkpoint folder and its files' hashes"):
        train(dropout_mlp(), config(4), resume=run)


def test_a_record_without_hashes_is_refused(finished, tmp_path):
    run = copy_run(finished[0], tmp_path / "run")
    state = record(run)
    del state["set"], state["files"]
    (run / "checkpoint.json").write_text(json.dumps(state))
    with pytest.raises(TrainingFailed) as err:
        train(dropout_mlp(), config(4), resume=run)
    assert str(err.value) == (
        f"{run / 'checkpoint.json'} records no checkpoint folder and no file hashes (an older "
        f"netbuilder wrote it): its checkpoint cannot be verified, so the run cannot be resumed; "
        f"weights.safetensors still holds its weights")


def test_a_kill_before_the_record_keeps_the_previous_set(tmp_path, monkeypatch):
    """The new set is on disk but checkpoint.json was not replaced: epoch 1's set is in force,
    and a resume from it matches an unbroken run."""
    real = checkpoint.atomic_write
    writes = {"n": 0}

    def dies_on_the_second_record(path, text):
        if path.name == "checkpoint.json":
            writes["n"] += 1
            if writes["n"] == 2:
                raise KeyboardInterrupt  # stands for the kill: nothing after it runs
        real(path, text)

    monkeypatch.setattr(checkpoint, "atomic_write", dies_on_the_second_record)
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train(dropout_mlp(), config(3), out_dir=run)
    monkeypatch.setattr(checkpoint, "atomic_write", real)
    assert record(run)["epoch"] == 1
    assert len([p for p in run.iterdir() if p.is_dir()]) == 2  # epoch 2's set, never committed
    resumed = train(dropout_mlp(), config(3), resume=run)
    assert losses(resumed.history) == losses(train(dropout_mlp(), config(3)).history)
    assert [p.name for p in run.iterdir() if p.is_dir()] == [record(run)["set"]]
    weights = load_file(run / "weights.safetensors")
    for k, v in resumed.model.state_dict().items():
        assert torch.equal(weights[k], v), k


def test_a_cut_last_history_line_is_dropped_on_resume(finished, tmp_path):
    run = copy_run(finished[0], tmp_path / "run")
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"epoch": 3, "step": 4')  # an append a kill cut short
    resumed = train(dropout_mlp(), config(3), resume=run)
    assert [r["epoch"] for r in resumed.history] == [1, 2, 3]


def test_an_optimizer_state_holding_python_objects_is_refused_in_our_words(finished, tmp_path):
    run = copy_run(finished[0], tmp_path / "run")
    state = record(run)
    path = run / state["set"] / "optimizer.pt"
    torch.save([argparse.Namespace(lr=1)], path)  # not tensors: weights_only refuses it
    state["files"]["optimizer.pt"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (run / "checkpoint.json").write_text(json.dumps(state))
    with pytest.raises(TrainingFailed) as err:
        train(dropout_mlp(), config(4), resume=run)
    assert str(err.value) == (
        f"{path}: cannot read the optimizer state: it holds Python objects besides tensors, "
        f"which netbuilder does not load (loading them could run code): save a state dict of "
        f"tensors instead")


def test_a_truncated_optimizer_state_is_reported_as_damaged(tmp_path):
    path = tmp_path / "optimizer.pt"
    torch.save({"a": torch.ones(100)}, path)
    data = path.read_bytes()[:200]
    with pytest.raises(Exception) as err:
        checkpoint.read_tensor_file(data, path, "the optimizer state")
    assert str(err.value) == (f"{path}: cannot read the optimizer state: it is damaged or "
                              f"truncated (not a complete PyTorch file)")
    assert "weights_only" not in str(err.value)


def test_training_warns_when_the_model_cannot_fit_in_memory(monkeypatch):
    import netbuilder.train.memory as memory
    from netbuilder.train import events as ev

    monkeypatch.setattr(memory, "available_memory", lambda: 1000)
    got = []
    train(dropout_mlp(), config(1), emit=got.append)
    warnings = [e.message for e in got if isinstance(e, ev.Log) and e.level == "warning"]
    # 2*32+32 + 32*2+2 = 162 parameters: 162 * 4 bytes * (weights, gradients, 2 Adam states)
    assert warnings == ["the model's 162 parameters need about 2.5 KiB for weights, gradients "
                        "and adam state, but this machine has 1000 bytes of memory available: "
                        "training will run out of memory (use a smaller model)"]
