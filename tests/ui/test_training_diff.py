"""Headless parts of the dashboard: run diffs, metric history, badges, run folders."""
from __future__ import annotations

import json

import numpy as np
import pytest
from training_helpers import tiny_digits_graph

from netbuilder.graph import graph_to_dict
from netbuilder.ui.training.badges import activity_stats, badge_nodes
from netbuilder.ui.training.diff import diff_config, diff_runs
from netbuilder.ui.training.history import RunHistory, Series
from netbuilder.ui.training.run_store import list_runs, new_run_dir, read_run, write_run_meta


def test_diff_names_added_removed_renamed_layers_and_changed_parameters():
    a = tiny_digits_graph()
    b = a.copy()
    b.set_param(b.find("conv1"), "out_channels", 16)
    b.rename(b.find("relu1"), "act1")
    b.remove(b.find("pool1"))
    d = b.add("Dropout", "drop", p=0.25)
    b.connect(b.find("act1"), d)
    b.connect(d, b.find("flatten"))
    diff = diff_runs(graph_to_dict(a), graph_to_dict(b), {"lr": 0.01, "epochs": 5},
                     {"lr": 0.1, "epochs": 5})
    assert diff.layers_added == ["Dropout 'drop'"]
    assert diff.layers_removed == ["MaxPool2d 'pool1'"]
    assert diff.layers_renamed == [("relu1", "act1")]
    assert ("Conv2d 'conv1'", "out_channels", 8, 16) in diff.params_changed
    assert "act1 → drop" in diff.wires_added and "drop → flatten" in diff.wires_added
    # a rename alone moves no wire: conv1 → act1 exists on both sides under B's name
    assert "conv1 → act1" not in diff.wires_added + diff.wires_removed
    assert "act1 → pool1" in diff.wires_removed
    assert diff.config_changed == [("lr", 0.01, 0.1)]
    lines = diff.lines()
    assert "+ layer Dropout 'drop' added" in lines
    assert "~ Conv2d 'conv1': out_channels 8 → 16" in lines
    assert "~ training lr: 0.01 → 0.1" in lines
    assert diff.counts().startswith("1 layer added, 1 layer removed")


def test_identical_runs_have_no_diff_and_json_lists_equal_tuples():
    g = tiny_digits_graph()
    a = graph_to_dict(g)
    b = json.loads(json.dumps(a))  # tuples became lists, as after a save and a load
    diff = diff_runs(a, b, {"augmentation": {}}, {"augmentation": {}})
    assert diff.is_empty and diff.counts() == "no changes" and diff.lines() == []


def test_config_diff_flattens_nested_settings():
    changes = diff_config({"early_stopping": None, "events": {"metrics_hz": 10}},
                          {"early_stopping": {"patience": 3}, "events": {"metrics_hz": 2}})
    assert ("early_stopping", None, None) not in changes
    assert ("early_stopping.patience", None, 3) in changes
    assert ("events.metrics_hz", 10, 2) in changes


def test_series_grows_and_keeps_every_point():
    s = Series(capacity=2)
    for i in range(1000):
        s.append(i, i / 100, float(i) ** 0.5)
    assert len(s) == 1000
    assert s.steps[-1] == 999 and s.y[4] == 2.0 and s.epochs[500] == 5.0


def test_history_splits_live_epoch_and_validation_points_and_finds_the_best():
    h = RunHistory(steps_per_epoch=10, higher_is_better={"accuracy": True, "loss": False})
    h.add("train", 5, 1, {"loss": 2.0, "accuracy": 0.2, "lr": 0.1})
    h.add("train", 10, 1, {"loss": 1.5}, epoch_end=True)
    h.add("val", 10, 1, {"loss": 1.4, "accuracy": 0.6}, epoch_end=True)
    h.add("val", 20, 2, {"loss": 1.1, "accuracy": 0.8}, epoch_end=True)
    h.add("val", 30, 3, {"loss": 1.2, "accuracy": 0.7}, epoch_end=True)
    assert h.get("train_loss").epochs.tolist() == [0.5]  # fractional epoch of a live point
    assert h.get("epoch_loss").y.tolist() == [1.5]
    assert h.best() == (2, 20.0, 0.8, "val_accuracy")
    assert h.metric_names() == ["loss", "accuracy", "lr"]


def test_history_reads_the_engines_per_epoch_records(tmp_path):
    path = tmp_path / "metrics.jsonl"
    rows = [{"epoch": 1, "step": 12, "train_loss": 1.9, "val_loss": 1.5, "val_accuracy": 0.5},
            {"epoch": 2, "step": 24, "train_loss": 1.2, "val_loss": 1.0, "val_accuracy": 0.75}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n{broken\n")
    h = RunHistory.from_jsonl(path)
    assert h.get("val_accuracy").y.tolist() == [0.5, 0.75]
    assert h.get("epoch_loss").steps.tolist() == [12, 24]
    assert h.best()[0] == 2


def test_activity_stats_reads_mean_and_dead_channels_from_tiles():
    tiles = np.zeros((4, 3, 3), dtype=np.uint8)
    tiles[0] = 255  # channel 0 fully on at the top level 2.0
    tiles[1, 0, 0] = 51  # channel 1 has one pixel at 0.4
    stats = activity_stats(tiles, (0.0, 2.0), "ReLU")
    assert stats["dead"] == pytest.approx(0.5)  # channels 2 and 3 are silent
    assert stats["mean"] == pytest.approx((9 * 2.0 + 0.4) / 36, rel=1e-3)
    strip = np.array([[[0, 128, 255, 0]]], dtype=np.uint8)
    assert activity_stats(strip, (0.0, 1.0), "ReLU")["dead"] == pytest.approx(0.5)
    signed = activity_stats(strip, (-1.0, 1.0), "Tanh")
    assert signed["dead"] is None and signed["mean"] == pytest.approx(
        np.mean(-1 + np.array([0, 128, 255, 0]) * 2 / 255))


def test_badges_go_on_layers_not_on_shape_nodes():
    g = tiny_digits_graph()
    names = [name for _id, name in badge_nodes(g)]
    assert names == ["conv1", "relu1", "pool1", "fc"]


def test_run_folders_are_listed_newest_first_with_their_status(tmp_path):
    root = tmp_path / "net.runs"
    a = new_run_dir(root, when=1_700_000_000)
    b = new_run_dir(root, when=1_700_000_000)  # same second: a suffix keeps both
    assert a.name.startswith("run-") and b.name == a.name + "-2"
    write_run_meta(a, name=a.name, started=1.0, status="running")
    write_run_meta(b, name=b.name, started=2.0, status="running")
    (a / "config.json").write_text(json.dumps({"dataset": "digits", "epochs": 4}))
    (a / "summary.json").write_text(json.dumps({
        "status": "finished", "epochs_done": 4, "best_epoch": 3, "monitor": "val_accuracy",
        "best_value": 0.9375, "samples_per_s": 1234.5}))
    runs = list_runs(root)
    assert [r.path for r in runs] == [b, a]
    assert runs[1].status == "finished" and runs[1].best_text() == "val accuracy 93.8%"
    assert runs[0].status == "interrupted"  # no summary and nobody trains it
    assert read_run(b, live=True).status == "running"
    assert read_run(tmp_path) is None
