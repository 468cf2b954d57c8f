"""Frozen nodes: kept in the file, counted apart, left unchanged by training."""
from __future__ import annotations

import pytest
import torch

import netbuilder as nb
from netbuilder.compile import frozen_layers
from netbuilder.errors import FileFormatError, ParamError
from netbuilder.graph import from_json
from netbuilder.train.config import TrainingConfig
from netbuilder.train.recipe import freeze
from netbuilder.train.trainer import train

pytestmark = pytest.mark.usefixtures("one_thread")


def _digits_net() -> tuple[nb.Graph, dict]:
    g = nb.Graph("frozen")
    ids = {"x": g.add("Input", "x", shape=(64,))}
    prev = ids["x"]
    for name, type_, params in (("body", "Linear", {"out_features": 16}),
                                ("bn", "BatchNorm1d", {}), ("act", "ReLU", {}),
                                ("head", "Linear", {"out_features": 10})):
        ids[name] = g.add(type_, name, **params)
        g.connect(prev, ids[name])
        prev = ids[name]
    return g, ids


def _config(**kw) -> TrainingConfig:
    return TrainingConfig.from_graph(nb.Graph()).replace(
        dataset="digits", task="classify", epochs=1, batch_size=64, device="cpu", **kw)


def test_counts_split_trainable_and_frozen():
    g, ids = _digits_net()
    assert g.analyze().total_trainable == g.analyze().total_params == 64 * 16 + 16 + 32 + 170
    g.set_trainable(ids["body"], False)
    g.set_trainable(ids["bn"], False)
    a = g.analyze()
    assert a.total_params == 1242
    assert a.total_trainable == 170
    assert a.nodes[ids["body"]].trainable == 0 and a.nodes[ids["body"]].params == 1040
    assert frozen_layers(g) == ["body", "bn"]
    with pytest.raises(ParamError, match="true or false"):
        g.set_trainable(ids["head"], "no")


def test_frozen_switch_survives_the_file(tmp_path):
    g, ids = _digits_net()
    g.set_trainable(ids["body"], False)
    g.save(tmp_path / "g.json")
    text = (tmp_path / "g.json").read_text()
    assert text.count('"trainable": false') == 1
    back = nb.load(tmp_path / "g.json")
    assert not back.node(ids["body"]).trainable and back.node(ids["head"]).trainable
    bad = text.replace('"trainable": false', '"trainable": "no"')
    with pytest.raises(FileFormatError, match=r"trainable must be true or false "
                                              r"\(at nodes\[1\]\.trainable\)"):
        from_json(bad)


def test_a_frozen_block_freezes_everything_inside():
    g = nb.Graph("blocky")
    x = g.add("Input", "x", shape=(8,))
    blk = g.add("Block", "backbone")
    inner = g.node(blk).inner
    lin = inner.add("Linear", "fc", out_features=4)
    i, o = inner.inputs()[0], inner.outputs()[0]
    inner.disconnect(inner.in_edges(o)[0])
    inner.connect(i, lin)
    inner.connect(lin, o)
    head = g.add("Linear", "head", out_features=2)
    g.connect(x, blk)
    g.connect(blk, head)
    assert g.analyze().total_trainable == 36 + 10
    g.set_trainable(blk, False)
    a = g.analyze()
    assert inner.is_frozen(lin) and not g.is_frozen(head)
    assert a.total_trainable == 10 and a.total_params == 46
    assert a.nodes[blk].inner.nodes[lin].trainable == 0
    assert frozen_layers(g) == ["backbone"]
    g.set_trainable(blk, True)
    inner.set_trainable(lin, False)
    assert frozen_layers(g) == ["backbone.fc"]
    assert g.analyze().total_trainable == 10


def test_training_leaves_frozen_weights_and_statistics_unchanged(tmp_path):
    g, ids = _digits_net()
    g.set_trainable(ids["body"], False)
    g.set_trainable(ids["bn"], False)
    torch.manual_seed(0)
    start = g.build().state_dict()
    from netbuilder.compile.weights import to_safetensors

    events: list = []
    result = train(g, _config(), weights=to_safetensors(start), emit=events.append)
    after = result.model.state_dict()
    for key in ("body.weight", "body.bias", "bn.weight", "bn.bias", "bn.running_mean",
                "bn.running_var"):
        assert torch.equal(after[key], start[key]), key  # frozen: weights and BN statistics
    assert not torch.equal(after["head.weight"], start["head.weight"])  # trained
    assert int(after["bn.num_batches_tracked"]) == 0  # inference mode: never updated
    logs = [e.message for e in events if type(e).__name__ == "Log"]
    assert any("1,072 of 1,242 parameters are frozen" in m for m in logs), logs


def test_freeze_keeps_frozen_modules_in_eval_mode():
    g, ids = _digits_net()
    g.set_trainable(ids["bn"], False)
    m = g.build()
    assert freeze(m, frozen_layers(g)) == 32
    m.train()
    assert not m.bn.training and m.head.training
    assert [n for n, p in m.named_parameters() if not p.requires_grad] == ["bn.weight",
                                                                           "bn.bias"]


def test_everything_frozen_is_refused_with_advice():
    g, ids = _digits_net()
    for name in ("body", "bn", "head"):
        g.set_trainable(ids[name], False)
    with pytest.raises(Exception, match="Nothing to train: every parameter is frozen"):
        train(g, _config())


def test_grouping_copying_and_pasting_keep_nodes_frozen():
    from netbuilder.graph import extract, group, paste

    g, ids = _digits_net()
    g.set_trainable(ids["body"], False)
    block = group(g, [ids["body"], ids["bn"]], "Block", "stem")
    inner = g.node(block).inner
    assert not inner.node(ids["body"]).trainable and inner.node(ids["bn"]).trainable
    assert frozen_layers(g) == ["stem.body"]
    h = nb.Graph("other")
    (new,) = [i for i in paste(h, extract(g, [ids["head"]]))]
    assert h.node(new).trainable
    g.set_trainable(ids["head"], False)
    (new,) = [i for i in paste(h, extract(g, [ids["head"]]))]
    assert not h.node(new).trainable


def test_everything_frozen_stops_the_exported_script_with_one_line(tmp_path, capsys):
    """The app and the exported train.py refuse an all-frozen graph with the same sentence;
    the script prints it on one line and exits 2 (a setting to change, not a bug)."""
    from run_scripts import run

    from netbuilder.train.export_project import export_project

    g, ids = _digits_net()
    for name in ("body", "bn", "head"):
        g.set_trainable(ids[name], False)
    g.training = _config(dataset_options={"limit": 32}).to_dict()
    events = []
    with pytest.raises(Exception, match="^Nothing to train: every parameter is frozen"):
        train(g, g.training, emit=events.append)
    assert events[-1].message.startswith("Nothing to train: every parameter is frozen")
    assert "train.py" in export_project(g, tmp_path).files
    capsys.readouterr()
    done = run(tmp_path, ["--device", "cpu"])
    assert done == {"rc": 2, "error": ""}
    err = capsys.readouterr().err
    assert err == "train.py: Nothing to train: every parameter is frozen\n"
