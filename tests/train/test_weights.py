"""A graph's weights: a safetensors file beside the graph, named in it, checked, trained from."""
from __future__ import annotations

import os

import pytest
import torch
from safetensors.torch import load_file, save_file
from train_helpers import chain

import netbuilder as nb
from netbuilder.compile.weights import fit_weights, graph_weights, read_weights, to_safetensors
from netbuilder.errors import FileFormatError, WeightsError
from netbuilder.graph import from_json, to_json
from netbuilder.graph.weights import GraphWeights
from netbuilder.train.config import TrainingConfig
from netbuilder.train.trainer import TrainingFailed, train

pytestmark = pytest.mark.usefixtures("one_thread")


def _net() -> nb.Graph:
    return chain("w", (64,), ("Linear", {"name": "body", "out_features": 8}),
                 ("Linear", {"name": "head", "out_features": 10}))


def _state(seed: int = 3) -> dict:
    torch.manual_seed(seed)
    return {k: v.clone() for k, v in _net().build().state_dict().items()}


def test_weights_are_written_beside_the_graph_and_read_back(tmp_path):
    g = _net()
    state = _state()
    g.set_weights(GraphWeights(data=to_safetensors(state), origin="memory"))
    g.save(tmp_path / "model.json")
    assert '"weights": "model.safetensors"' in (tmp_path / "model.json").read_text()
    back = nb.load(tmp_path / "model.json")
    assert back.weights.path() == tmp_path / "model.safetensors"
    tensors = graph_weights(back)
    assert set(tensors) == set(state)
    assert all(torch.equal(tensors[k], state[k]) for k in state)
    # saved elsewhere, the weights come along (the graph names its own copy)
    (tmp_path / "other").mkdir()
    back.save(tmp_path / "other" / "copy.json")
    assert (tmp_path / "other" / "copy.safetensors").is_file()
    assert nb.load(tmp_path / "other" / "copy.json").weights.name == "copy.safetensors"


@pytest.mark.parametrize("name", ["../x.safetensors", "/etc/passwd", "sub/w.safetensors",
                                  "..", "w.txt", ".safetensors", "C:\\w.safetensors"])
def test_a_weights_name_that_leaves_the_folder_is_refused(tmp_path, name):
    text = to_json(_net())[:-2] + f',\n  "weights": {name!r}\n}}\n'.replace("'", '"')
    text = text.replace("\\", "\\\\") if "\\" in name else text
    (tmp_path / "g.json").write_text(text)
    with pytest.raises(FileFormatError, match=r"\(at weights\)"):
        nb.load(tmp_path / "g.json")


def test_a_symlink_out_of_the_folder_is_not_read(tmp_path):
    secret = tmp_path / "secret.safetensors"
    save_file(_state(), str(secret))
    (tmp_path / "g").mkdir()
    os.symlink(secret, tmp_path / "g" / "w.safetensors")
    text = to_json(_net())[:-2] + ',\n  "weights": "w.safetensors"\n}\n'
    (tmp_path / "g" / "g.json").write_text(text)
    g = nb.load(tmp_path / "g" / "g.json")
    with pytest.raises(WeightsError, match="leads out of the graph's folder"):
        graph_weights(g)


def test_missing_damaged_and_mismatched_files_name_the_file_and_tensor(tmp_path):
    text = to_json(_net())[:-2] + ',\n  "weights": "w.safetensors"\n}\n'
    (tmp_path / "g.json").write_text(text)
    g = nb.load(tmp_path / "g.json")
    cfg = TrainingConfig.from_graph(g).replace(dataset="digits", epochs=1, device="cpu")
    with pytest.raises(TrainingFailed, match=r"w\.safetensors: the graph's weights file is "
                                             r"missing"):
        train(g, cfg)
    (tmp_path / "w.safetensors").write_bytes(b"\x10\x00\x00\x00not safetensors")
    with pytest.raises(WeightsError, match=r"w\.safetensors: cannot read the weights: it is "
                                           r"not a complete safetensors file"):
        graph_weights(g)
    state = _state()
    state["head.weight"] = torch.zeros(3, 8)
    del state["body.bias"]
    state["extra"] = torch.zeros(1)
    save_file(state, str(tmp_path / "w.safetensors"))
    with pytest.raises(TrainingFailed) as info:
        train(g, cfg)
    msg = str(info.value)
    assert "w.safetensors does not fit the graph" in msg
    assert "missing 'body.bias'" in msg and "unexpected 'extra'" in msg
    assert "'head.weight' is (3, 8) in the file but (10, 8) in the graph" in msg


def test_training_starts_from_the_graph_weights(tmp_path):
    g = _net()
    state = _state(seed=11)
    g.set_weights(GraphWeights(data=to_safetensors(state)))
    g.save(tmp_path / "g.json")
    g = nb.load(tmp_path / "g.json")
    g.set_trainable(g.find("body"), False)
    cfg = TrainingConfig.from_graph(g).replace(dataset="digits", epochs=1, device="cpu")
    events: list = []
    result = train(g, cfg, emit=events.append, out_dir=tmp_path / "run")
    after = result.model.state_dict()
    assert torch.equal(after["body.weight"], state["body.weight"])  # loaded, then frozen
    assert not torch.equal(after["head.weight"], state["head.weight"])
    assert any("Starting from the graph's weights" in getattr(e, "message", "") for e in events)
    # the run's snapshot does not name a weights file that is not beside it
    assert '"weights"' not in (tmp_path / "run" / "graph.json").read_text()


def test_a_pt_file_of_tensors_is_read_weights_only(tmp_path):
    state = _state()
    torch.save({"epoch": 3, "state_dict": state}, tmp_path / "ckpt.pth")
    tensors = read_weights(tmp_path / "ckpt.pth")
    assert fit_weights(_net().build().state_dict(), tensors).ok
    torch.save({"model": torch.nn.Linear(2, 2)}, tmp_path / "obj.pt")
    with pytest.raises(WeightsError, match=r"obj\.pt: cannot read the weights: it holds Python "
                                           r"objects"):
        read_weights(tmp_path / "obj.pt")


def test_a_graph_read_from_text_cannot_find_its_weights():
    text = to_json(_net())[:-2] + ',\n  "weights": "w.safetensors"\n}\n'
    g = from_json(text)
    with pytest.raises(WeightsError, match="not read from a file"):
        graph_weights(g)


def test_a_new_layer_left_out_of_the_weights_keeps_its_initialisation(tmp_path):
    g = _net()
    body = {k: v for k, v in _state(seed=2).items() if k.startswith("body.")}
    g.set_weights(GraphWeights(data=to_safetensors(body)))
    g.set_trainable(g.find("body"), False)
    cfg = TrainingConfig.from_graph(g).replace(dataset="digits", epochs=1, device="cpu")
    events: list = []
    torch.manual_seed(0)
    result = train(g, cfg, emit=events.append)
    after = result.model.state_dict()
    assert torch.equal(after["body.weight"], body["body.weight"])
    logs = [getattr(e, "message", "") for e in events]
    assert any("not in the weights, so freshly initialised: 'head'" in m for m in logs), logs
    # a file with nothing of the graph is refused
    g.set_weights(GraphWeights(data=to_safetensors({"other.weight": torch.zeros(2)}),
                               origin="other.safetensors"))
    with pytest.raises(WeightsError, match=r"other\.safetensors does not fit the graph: "
                                           r"unexpected 'other\.weight'"):
        from netbuilder.compile.weights import load_graph_weights

        load_graph_weights(g, g.build())
    fit = fit_weights(g.build().state_dict(), {})
    assert not fit.ok and "holds none of the graph's tensors" in fit.message("w")


def test_the_worker_process_starts_from_the_weights_it_is_given(tmp_path):
    """What the editor does: the graph's JSON (naming its weights file) and the weights
    themselves go to a spawned worker; the run starts from them, its frozen body unchanged."""
    from netbuilder.train import Runner
    from netbuilder.train import events as ev

    g = _net()
    g.set_trainable(g.find("body"), False)
    state = _state(seed=9)
    g.set_weights(GraphWeights(data=to_safetensors(state)))
    g.save(tmp_path / "g.json")
    cfg = TrainingConfig.from_graph(g).replace(dataset="digits", epochs=1, device="cpu")
    runner = Runner(to_json(g), cfg, tmp_path / "run",
                    weights=nb.load(tmp_path / "g.json").weights.source())
    runner.start()
    seen = runner.wait(timeout=120)
    assert isinstance(seen[-1], ev.Finished), seen[-1]
    trained = load_file(str(tmp_path / "run" / "weights.safetensors"))
    assert torch.equal(trained["body.weight"], state["body.weight"])
    assert not torch.equal(trained["head.weight"], state["head.weight"])
