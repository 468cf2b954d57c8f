"""The siamese task: pairs drawn from class labels, a contrastive loss, the two-Input graph's
checks, and the bundled siamese example training from the command line."""
import json

import pytest
import torch
from train_helpers import EXAMPLES

import netbuilder as nb
from netbuilder.cli import main
from netbuilder.train import TrainingConfig, TrainingError, get_task
from netbuilder.train.data import DatasetArrays
from netbuilder.train.losses import contrastive_loss

pytestmark = pytest.mark.usefixtures("one_thread")


def test_contrastive_loss_pulls_same_pairs_and_pushes_others_to_the_margin():
    d = torch.tensor([0.5, 0.5, 2.0])
    same = torch.tensor([1.0, 0.0, 0.0])
    # (0.5² + (1 - 0.5)² + 0) / 3 / 2
    assert contrastive_loss(d, same, margin=1.0).item() == pytest.approx(0.5 / 3 / 2)


def _task(graph=None):
    graph = graph or nb.load(EXAMPLES / "siamese.json")
    return get_task("siamese")(TrainingConfig(dataset="digits", task="siamese"), graph)


def test_pairs_are_half_of_one_class_from_the_labels():
    task = _task()
    y = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    x = torch.arange(8.0).reshape(8, 1)
    x1, x2, same = task.pairs({"x": x, "y": y})
    assert torch.equal(x1, x)
    partner = x2.reshape(-1).long()
    assert torch.equal(same, (y == y[partner]).float())
    assert same[::2].tolist() == [1.0, 1.0, 1.0, 1.0]  # even rows: a partner of their class
    assert (partner[::2] != torch.arange(0, 8, 2)).all()  # ... never themselves


def test_a_graph_with_one_input_or_unlabelled_data_is_refused():
    data = DatasetArrays("digits", __import__("numpy").zeros((4, 1, 8, 8), "float32"),
                         __import__("numpy").array([0, 1, 0, 1]), "image", None)
    one = nb.Graph("one")
    one.connect(one.add("Input", shape=(1, 8, 8)), one.add("Flatten"))
    with pytest.raises(TrainingError, match="feeds 2 Input nodes, but the graph has 1"):
        _task(one).check(data, [(64,)])
    with pytest.raises(TrainingError, match="the distance of each pair"):
        _task().check(data, [(3,)])
    unlabelled = DatasetArrays("noise", data.x, None, "image", None)
    with pytest.raises(TrainingError, match="needs labels|no class labels"):
        _task().check(unlabelled, [(1,)])


def test_the_siamese_example_trains_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "run"
    status = main(["train", str(EXAMPLES / "siamese.json"), "--epochs", "1", "--device", "cpu",
                   "--out", str(out), "--quiet"])
    assert status == 0, capsys.readouterr().err
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1]
    assert rows[0]["val_accuracy"] > 0.6  # chance is about 0.5 on balanced pairs
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "finished"
    graph = nb.load(EXAMPLES / "siamese.json")
    assert graph.analyze().total_params == 64 * 32 + 32 + 32 * 16 + 16  # the encoder, once
