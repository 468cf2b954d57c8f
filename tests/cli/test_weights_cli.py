"""Weights and frozen layers on the command line: import --weights, summary, check, export."""
from __future__ import annotations

import json
import textwrap

import pytest
import torch
from safetensors.torch import load_file, save_file
from standalone import run_standalone

import netbuilder as nb
from netbuilder.compile.weights import to_safetensors
from netbuilder.graph.weights import GraphWeights

MODELS = textwrap.dedent('''
    import torch
    from torch import nn


    class Stages(nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(7)  # weights of its own (as a constructor that loads them)
            self.features = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 4))
            self.classifier = nn.Linear(4, 3)

        def forward(self, x):
            return self.classifier(self.features(x))
''')


@pytest.fixture
def models(tmp_path):
    path = tmp_path / "models.py"
    path.write_text(MODELS)
    return path


def _original():
    namespace: dict = {}
    exec(MODELS, namespace)  # noqa: S102 (the test's own model)
    return namespace["Stages"]()


@pytest.mark.usefixtures("import_here")
def test_import_keeps_the_modules_own_weights(cli, models, tmp_path):
    out = tmp_path / "stages.json"
    code, stdout, err = cli("import", f"{models}:Stages", "-o", out, "--input-shape", "6",
                            "--weights", "module")
    assert code == 0, err
    assert "(weights: stages.safetensors)" in stdout
    assert json.loads(out.read_text())["weights"] == "stages.safetensors"
    original = _original().state_dict()
    kept = load_file(str(tmp_path / "stages.safetensors"))
    g = nb.load(out)
    # the graph's keys (its attribute names: the original's, as the importer names them)
    assert set(kept) == set(g.build().state_dict())
    assert sorted(t.sum().item() for t in kept.values()) == \
        sorted(t.sum().item() for t in original.values())
    x = torch.randn(2, 6)
    m = g.build()
    from netbuilder.compile.weights import load_graph_weights

    assert load_graph_weights(g, m)
    assert torch.allclose(m(x), _original()(x), atol=1e-6)


@pytest.mark.usefixtures("import_here")
def test_import_takes_a_weights_file_by_the_original_keys(cli, models, tmp_path):
    torch.manual_seed(1)
    state = {k: torch.randn_like(v) for k, v in _original().state_dict().items()}
    torch.save(state, tmp_path / "trained.pth")
    out = tmp_path / "g.json"
    code, _, err = cli("import", f"{models}:Stages", "-o", out, "--input-shape", "6",
                       "--weights", tmp_path / "trained.pth")
    assert code == 0, err
    g = nb.load(out)
    m = g.build()
    from netbuilder.compile.weights import load_graph_weights

    assert load_graph_weights(g, m)
    reference = _original()
    reference.load_state_dict(state)
    x = torch.randn(3, 6)
    assert torch.allclose(m(x), reference(x), atol=1e-6)
    # a file for another model: refused, naming the keys; nothing written
    bad = dict(state)
    bad["classifier.weight"] = torch.zeros(7, 4)
    del bad["features.0.bias"]
    save_file(bad, str(tmp_path / "bad.safetensors"))
    code, _, err = cli("import", f"{models}:Stages", "-o", tmp_path / "h.json",
                       "--input-shape", "6", "--weights", tmp_path / "bad.safetensors")
    assert code == 1
    assert "bad.safetensors (for Stages) does not fit the graph" in err
    assert "missing 'features.0.bias'" in err
    assert "'classifier.weight' is (7, 4) in the file but (3, 4) in the graph" in err
    assert not (tmp_path / "h.json").exists()


def _frozen_graph(tmp_path):
    g = nb.Graph("tuned")
    x = g.add("Input", "x", shape=(64,))
    body = g.add("Linear", "body", out_features=16)
    act = g.add("ReLU", "act")
    head = g.add("Linear", "head", out_features=10)
    g.connect(x, body)
    g.connect(body, act)
    g.connect(act, head)
    g.set_trainable(body, False)
    torch.manual_seed(5)
    state = g.build().state_dict()
    g.set_weights(GraphWeights(data=to_safetensors(state)))
    g.training = {"dataset": "digits", "task": "classify", "epochs": 1, "device": "cpu"}
    g.save(tmp_path / "tuned.json")
    return tmp_path / "tuned.json", state


def test_summary_and_check_report_weights_and_frozen_counts(cli, tmp_path):
    path, _ = _frozen_graph(tmp_path)
    code, out, err = cli("summary", path)
    assert code == 0, err
    assert "1,040 (frozen)" in out
    assert "Trainable params: 170" in out and "Non-trainable params: 1,040" in out
    assert "tuned.safetensors (4 tensors, 1,210 values; they fit the graph)" in out
    code, out, _ = cli("check", path)
    assert code == 0
    assert "1,210 parameters: trainable 170 / frozen 1,040; weights" in out
    code, out, _ = cli("check", "--json", path)
    report = json.loads(out)
    assert (report["trainable"], report["frozen"]) == (170, 1040)
    assert report["weights"]["tensors"] == 4 and report["weights"]["ok"]
    # weights that no longer fit the graph: an error naming the file and the tensor
    g = nb.load(path)
    g.set_param(g.find("head"), "out_features", 5)
    g.save(tmp_path / "changed.json")  # same folder: it names the same weights file
    assert json.loads((tmp_path / "changed.json").read_text())["weights"] == "tuned.safetensors"
    code, out, _ = cli("check", tmp_path / "changed.json")
    assert code == 1
    assert "tuned.safetensors does not fit the graph: shapes differ: 'head.weight' is " \
           "(10, 16) in the file but (5, 16) in the graph" in out


def test_export_project_carries_the_weights_and_freezes_in_train_py(cli, tmp_path):
    path, state = _frozen_graph(tmp_path)
    code, out, err = cli("export", path, "--project", tmp_path / "proj")
    assert code == 0, err
    assert "the graph's weights" in out
    proj = tmp_path / "proj"
    exported = load_file(str(proj / "weights.safetensors"))
    assert all(torch.equal(exported[k], state[k]) for k in state)
    script = (proj / "train.py").read_text()
    assert 'FROZEN = ("body",)' in script
    assert '"--weights", default="weights.safetensors", help="initial weights"' in script
    assert "recipe.freeze(model, FROZEN)" in script
    run_standalone(proj, "import runpy, sys\n"
                         "sys.argv = ['train.py', '--epochs', '1', '--limit', '200', '--device', "
                         "'cpu']\nrunpy.run_path('train.py', run_name='__main__')")
    trained = load_file(str(proj / "trained" / "weights.safetensors"))
    assert torch.equal(trained["body.weight"], state["body.weight"])  # frozen
    assert not torch.equal(trained["head.weight"], state["head.weight"])  # trained


def test_onnx_export_of_the_transfer_example_carries_its_pretrained_body(cli, tmp_path,
                                                                        examples_dir):
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper

    from netbuilder.compile.weights import load_graph_weights

    code, out, err = cli("export", examples_dir / "finetune_digits.json", "--onnx",
                         tmp_path / "m.onnx")
    assert code == 0, err
    # The head is new (freshly initialised at export): take it from the file, then the
    # pretrained body must give the file's outputs.
    stored = [numpy_helper.to_array(t)
              for t in onnx.load(str(tmp_path / "m.onnx")).graph.initializer]
    (head_w,) = [a for a in stored if a.shape == (10, 32)]
    (head_b,) = [a for a in stored if a.shape == (10,)]
    g = nb.load(examples_dir / "finetune_digits.json")
    model = g.build().eval()
    assert load_graph_weights(g, model).fresh_layers == ["head"]
    with torch.no_grad():
        model.head.weight.copy_(torch.from_numpy(head_w.copy()))
        model.head.bias.copy_(torch.from_numpy(head_b.copy()))
        x = torch.rand(4, 1, 8, 8)
        want = model(x).numpy()
    session = ort.InferenceSession(str(tmp_path / "m.onnx"),
                                   providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    np.testing.assert_allclose(got, want, atol=1e-5)
