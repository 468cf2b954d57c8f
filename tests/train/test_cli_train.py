"""``netbuilder train``: the run folder, the progress bar, resume, errors, and torchrun (DDP)."""
import json
import os
import re
import subprocess
import sys

import pytest
from train_helpers import EXAMPLES

import netbuilder as nb
from netbuilder.cli import main
from netbuilder.train import TrainingConfig


def write_mlp(path, **training):
    g = nb.Graph("mlp spirals")
    prev = g.add("Input", "x", shape=(2,))
    for type_, params in [("Linear", {"out_features": 32}), ("ReLU", {}),
                          ("Linear", {"out_features": 2})]:
        n = g.add(type_, **params)
        g.connect(prev, n)
        prev = n
    settings = {"dataset": "spirals", "epochs": 2, "lr": 3e-3, **training}
    g.training = TrainingConfig(**settings).to_dict()
    g.save(path)
    return path


pytestmark = pytest.mark.usefixtures("one_thread")


def test_train_writes_the_run_folder_and_a_progress_bar(tmp_path, capsys):
    graph = write_mlp(tmp_path / "mlp.json")
    out = tmp_path / "run"
    status = main(["train", str(graph), "--epochs", "3", "--batch-size", "32", "--lr", "0.005",
                   "--device", "cpu", "--out", str(out)])
    captured = capsys.readouterr()
    assert status == 0
    assert "training classify on spirals (800 train / 200 validation samples)" in captured.err
    # Not a terminal: the permanent lines only, no live bar redrawn with \r.
    assert "\r" not in captured.err and "epoch 3/3" in captured.err
    assert "val_accuracy" in captured.err
    assert captured.out.startswith("finished: 3 epochs") and str(out) in captured.out
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3] and rows[-1]["step"] == 3 * 25
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["samples_per_s"] > 0
    assert summary["best_epoch"] in (1, 2, 3)
    config = json.loads((out / "config.json").read_text())
    assert (config["epochs"], config["batch_size"], config["lr"]) == (3, 32, 0.005)
    assert (out / "weights.safetensors").stat().st_size > 0
    assert nb.load(out / "graph.json").name == "mlp spirals"

    # --resume continues the same history up to the new epoch count.
    status = main(["train", "--resume", str(out), "--epochs", "5", "--quiet"])
    captured = capsys.readouterr()
    assert status == 0 and captured.err == ""
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4, 5] and rows[-1]["step"] == 5 * 25


def test_default_run_folder_is_in_the_graphs_run_store(tmp_path, capsys):
    from netbuilder.train.run_store import graph_store, list_runs

    graph = write_mlp(tmp_path / "mlp.json", epochs=1)
    assert main(["train", str(graph), "--quiet"]) == 0
    runs = list((tmp_path / "mlp.runs").iterdir())
    assert len(runs) == 1 and re.fullmatch(r"run-\d{8}-\d{6}", runs[0].name)
    assert (runs[0] / "summary.json").exists()
    meta = json.loads((runs[0] / "run.json").read_text())
    assert (meta["program"], meta["status"], meta["graph"]) == ("cli", "finished", "mlp spirals")
    assert meta["graph_path"] == str(graph.resolve())
    # the same store the editor lists
    [info] = list_runs(graph_store(graph))
    assert (info.path, info.status, info.epochs_done) == (runs[0], "finished", 1)


def test_errors_are_one_line_and_exit_1(tmp_path, capsys):
    graph = write_mlp(tmp_path / "mlp.json")
    status = main(["train", str(graph), "--dataset", "digits", "--quiet",
                   "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("netbuilder: error: The dataset 'digits' gives samples of shape "
                          "(1, 8, 8) but Input 'x' expects (2,)")
    assert len(err.strip().splitlines()) == 1
    assert main(["train", str(tmp_path / "nope.json")]) == 1
    assert "file not found" in capsys.readouterr().err
    assert main(["train", str(graph), "--epochs", "0"]) == 2


def test_a_csv_with_its_label_column_given_on_the_command_line(tmp_path, capsys, monkeypatch):
    import numpy as np

    rng = np.random.default_rng(0)
    points = rng.normal(size=(200, 2))
    kind = np.where(points[:, 0] * points[:, 1] > 0, "same", "other")  # quadrants: not linear
    lines = ["x1,species,x2"] + [f"{a:.4f},{k},{b:.4f}" for (a, b), k in zip(points, kind)]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "points.csv").write_text("\n".join(lines))
    graph = write_mlp(tmp_path / "mlp.json", epochs=1)
    monkeypatch.chdir(tmp_path / "data")
    out = tmp_path / "run"
    status = main(["train", str(graph), "--dataset", "points.csv", "--dataset-option",
                   "label_column=species", "--dataset-option", "limit=150", "--quiet",
                   "--device", "cpu", "--out", str(out)])
    assert status == 0, capsys.readouterr().err
    config = json.loads((out / "config.json").read_text())
    assert config["dataset"] == str(tmp_path / "data" / "points.csv")  # whole: resumable
    assert config["dataset_options"] == {"label_column": "species", "limit": 150}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "finished"
    monkeypatch.chdir(tmp_path)  # the run resumes from another folder
    assert main(["train", "--resume", str(out), "--epochs", "2", "--quiet"]) == 0
    assert main(["train", str(graph), "--dataset-option", "oops"]) == 2
    assert "expected KEY=VALUE, not 'oops'" in capsys.readouterr().err
    # a built-in name stays a name, even beside a folder of that name
    (tmp_path / "spirals").mkdir()
    out2 = tmp_path / "run2"
    assert main(["train", str(graph), "--dataset", "spirals", "--quiet", "--out", str(out2)]) == 0
    assert json.loads((out2 / "config.json").read_text())["dataset"] == "spirals"


def test_torchrun_two_processes_write_one_set_of_outputs(tmp_path):
    graph = write_mlp(tmp_path / "mlp.json", batch_size=32)
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "netbuilder", "train", str(graph), "--device", "cpu", "--out", str(out)],
        capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("finished: 2 epochs") == 1  # only rank 0 prints
    assert proc.stderr.count("training classify on spirals") == 1
    names = sorted(p.name for p in out.iterdir() if p.is_file())
    assert names == ["best.safetensors", "checkpoint.json", "config.json", "graph.json",
                     "metrics.jsonl", "preprocessing.json", "run.json", "summary.json",
                     "weights.safetensors"]  # rank 0's files only
    record = json.loads((out / "checkpoint.json").read_text())
    sets = [p.name for p in out.iterdir() if p.is_dir() and p.name != "tensorboard"]
    assert sets == [record["set"]]  # one set, rank 0's
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    # Each of the 2 ranks takes half of the 800 training samples: 400 / 32 → 13 steps.
    assert [(r["epoch"], r["step"]) for r in rows] == [(1, 13), (2, 26)]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["epochs_done"] == 2
    assert not list(tmp_path.glob("runs"))


def test_download_flag_allows_the_download_of_the_official_sets(tmp_path, capsys, monkeypatch):
    import gzip
    import struct

    import numpy as np

    from netbuilder.train.data import downloads

    graph = write_mlp(tmp_path / "mlp.json", epochs=1)
    assert main(["train", str(graph), "--download", "--quiet"]) == 1
    assert "--download applies to the downloadable datasets (mnist, fashion_mnist, cifar10), " \
           "not 'spirals'" in capsys.readouterr().err

    # Offline and without --download: the message says where the files go and how to allow it.
    monkeypatch.setenv("NETBUILDER_DATA", str(tmp_path / "data"))
    fetched = []

    def fetch(url, dest, progress=None):  # stands in for the network: small files in IDX format
        fetched.append(url)
        rng = np.random.default_rng(0)
        a = (rng.integers(0, 256, (40, 28, 28)) if "images" in url
             else rng.integers(0, 10, 40)).astype(np.uint8)
        head = bytes([0, 0, 8, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape)
        dest.write_bytes(gzip.compress(head + a.tobytes()))

    monkeypatch.setattr(downloads, "fetch_url", fetch)
    monkeypatch.setattr(downloads, "verify_file", lambda remote, path, name: None)
    lenet = tmp_path / "lenet.json"
    lenet.write_text((EXAMPLES / "lenet5.json").read_text())
    assert main(["train", str(lenet), "--dataset", "mnist", "--epochs", "1", "--quiet",
                 "--out", str(tmp_path / "r1")]) == 1
    err = capsys.readouterr().err
    assert str(tmp_path / "data" / "mnist") in err and "--download" in err and not fetched
    assert main(["train", str(lenet), "--dataset", "mnist", "--download", "--epochs", "1",
                 "--quiet", "--out", str(tmp_path / "r2")]) == 0
    assert len(fetched) == 2
    assert (tmp_path / "data" / "mnist" / "train-images-idx3-ubyte.gz").exists()
    config = json.loads((tmp_path / "r2" / "config.json").read_text())
    assert config["dataset"] == "mnist" and config["dataset_options"] == {"download": True}
