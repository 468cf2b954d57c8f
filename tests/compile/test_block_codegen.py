"""Generated code for block definitions and repeats: one class per definition with constructor
arguments, nn.Sequential for Sequential stages and repeats, and state-dict keys equal to an
imported model's own, in the built module and in the exported model.py run on its own."""
from __future__ import annotations

import pytest
import torch
from standalone import run_standalone

import netbuilder as nb
from netbuilder.compile.importer import import_module
from netbuilder.graph.fileformat import from_json, to_json

from ..graph.block_graphs import net, repeated
from . import block_models


def test_one_class_per_definition_called_with_its_arguments():
    g = net()
    src = g.to_python(main=False)
    assert src.count("class ") == 2  # BasicBlock and the network
    assert "class BasicBlock(nn.Module):" in src
    assert "def __init__(self, in_channels, planes, stride=1):" in src
    assert "self.conv1 = nn.Conv2d(in_channels, planes, kernel_size=3, stride=stride, " \
           "padding=1)" in src
    assert "self.layer1 = BasicBlock(3, 16)" in src
    assert "self.layer2 = BasicBlock(16, 32, stride=2)" in src
    m = g.build()
    assert m(torch.randn(2, 3, 16, 16)).shape == (2, 32, 8, 8)
    assert sum(p.numel() for p in m.parameters()) == g.analyze().total_params


def test_a_file_read_back_generates_the_same_source():
    g = net()
    assert from_json(to_json(g)).to_python() == g.to_python()


def test_repeat_is_a_sequential_of_instances():
    g = repeated(3, change=True)
    src = g.to_python(main=False)
    assert "self.stage = nn.Sequential(\n" in src
    assert src.count("class Stage(") == 1
    assert "            Stage(4),\n            Stage(8),\n            Stage(8),\n" in src
    m = g.build()
    keys = list(m.state_dict())
    assert keys[0] == "stage.0.conv1.weight" and keys[-1] == "stage.2.conv2.bias"
    assert m.stage[0].conv1.in_channels == 4 and m.stage[2].conv1.in_channels == 8
    assert m(torch.randn(2, 4, 8, 8)).shape == (2, 8, 8, 8)
    assert sum(p.numel() for p in m.parameters()) == g.analyze().total_params


def test_a_long_repeat_reads_as_a_generator():
    g = repeated(6)
    assert "nn.Sequential(Stage(), *(Stage() for _ in range(5)))" in g.to_python(main=False)
    assert len(g.build().stage) == 6


def test_repeat_that_changes_the_shape_twice_does_not_compile():
    g = repeated(2)
    inner = g.node(g.find("stage")).inner
    inner.set_param(inner.find("conv2"), "stride", 2)
    with pytest.raises(nb.errors.CompileError, match="Block 'stage' repeats ×2"):
        g.to_python()


def _import(model_cls, shape):
    torch.manual_seed(0)
    original = model_cls().eval()
    with torch.no_grad():  # weights that are not the fresh ones: a real checkpoint
        for p in original.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return original, import_module(original, input_shapes=[shape])


@pytest.mark.parametrize("model_cls, shape, classes", [
    (block_models.ResNet, (3, 32, 32), ["BasicBlock", "BasicBlock2", "ResNet"]),
    (block_models.VGG, (3, 8, 8), ["VGG"]),
])
def test_imported_state_dicts_load_by_their_own_keys(model_cls, shape, classes, tmp_path):
    original, g = _import(model_cls, shape)
    src = g.to_python()
    assert [line.split("(")[0][6:] for line in src.splitlines()
            if line.startswith("class ")] == classes
    built = g.build().eval()
    assert list(built.state_dict()) == list(original.state_dict())
    built.load_state_dict(original.state_dict(), strict=True)
    x = torch.randn(2, *shape)
    with torch.no_grad():
        want = original(x)
        torch.testing.assert_close(built(x), want)
    # the exported file, run on its own, takes the original's checkpoint too
    (tmp_path / "model.py").write_text(src)
    torch.save(original.state_dict(), tmp_path / "weights.pt")
    torch.save({"x": x, "want": want}, tmp_path / "io.pt")
    script = (f"import torch, model\nm = model.{classes[-1]}().eval()\n"
              "m.load_state_dict(torch.load('weights.pt', weights_only=True), strict=True)\n"
              "io = torch.load('io.pt', weights_only=True)\n"
              "with torch.no_grad():\n    out = m(io['x'])\n"
              "print(float((out - io['want']).abs().max()))\n")
    assert float(run_standalone(tmp_path, script)) < 1e-5


def test_resnet_reads_like_the_library():
    _, g = _import(block_models.ResNet, (3, 32, 32))
    src = g.to_python(main=False)
    assert "self.layer2 = nn.Sequential(\n            BasicBlock2(64, 128),\n" \
           "            BasicBlock(128),\n        )" in src
    assert "self.downsample = nn.Sequential(\n            nn.Conv2d(in_channels, " \
           "out_channels, kernel_size=1, stride=2, bias=False),\n" in src
    assert set(g.definitions) == {"BasicBlock", "BasicBlock2"}
    back = from_json(to_json(g))
    assert back.to_python() == g.to_python()
    assert list(back.build().state_dict()) == list(g.build().state_dict())


def test_onnx_export_of_definitions_and_repeats(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    from netbuilder.compile.onnx_export import export_onnx

    g = net()
    stage = g.add_block("BasicBlock", "stage", planes=32, repeat=2)
    g.connect(g.find("layer2"), stage)
    module = g.build().eval()
    export_onnx(g, tmp_path / "m.onnx", weights=module.state_dict())
    x = torch.randn(1, 3, 16, 16)
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    with torch.no_grad():
        torch.testing.assert_close(torch.from_numpy(got), module(x), atol=1e-5, rtol=1e-4)


def test_penalties_reach_every_repetition():
    from netbuilder.compile import penalised_layers

    g = repeated(2)
    inner = g.node(g.find("stage")).inner
    inner.set_param(inner.find("conv1"), "l2", 0.01)
    paths = [p for p, _, _ in penalised_layers(g)]
    assert paths == ["stage.0.conv1", "stage.1.conv1"]
    m = g.build()
    assert all(m.get_submodule(p).weight.shape == (4, 4, 3, 3) for p in paths)
