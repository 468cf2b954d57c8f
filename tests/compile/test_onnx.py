"""ONNX and TorchScript export: every example exports with a dynamic batch axis and
onnxruntime reproduces PyTorch within 1e-5 at two batch sizes; TorchScript files load back and
give the same outputs; weights come from safetensors or .pt files."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from safetensors.torch import save_file

import netbuilder as nb
from netbuilder.compile.onnx_export import (
    ExportReport,
    export_onnx,
    export_torchscript,
    load_weights,
    model_arguments,
)
from netbuilder.errors import CompileError

EXAMPLES = sorted((Path(nb.__file__).parent / "resources" / "examples").glob("*.json"))


def _outputs(module, args):
    with torch.no_grad():
        out = module(*args)
    return [out] if isinstance(out, torch.Tensor) else list(out)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_exports_to_onnx_with_a_dynamic_batch(path, tmp_path):
    graph = nb.load(path)
    module = graph.build().eval()
    report = export_onnx(graph, tmp_path / "model.onnx", weights=module.state_dict())
    assert report.max_difference is not None and report.max_difference <= 1e-5
    model = onnx.load(str(tmp_path / "model.onnx"))
    onnx.checker.check_model(model)
    assert model.opset_import[0].version >= 17
    for value in [*model.graph.input, *model.graph.output]:
        assert value.type.tensor_type.shape.dim[0].dim_param == "batch", value.name
    # An independent check at two batch sizes the exporter did not use.
    session = ort.InferenceSession(str(tmp_path / "model.onnx"),
                                   providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == report.inputs
    for batch in (3, 7):
        names, args = model_arguments(graph, batch=batch, seed=10 + batch)
        want = _outputs(module, args)
        got = session.run(None, {n: a.numpy() for n, a in zip(names, args)})
        assert len(got) == len(want)
        for w, g in zip(want, got):
            assert g.shape == tuple(w.shape) and g.shape[0] == batch
            np.testing.assert_allclose(g, w.numpy(), atol=1e-5, rtol=1e-5)


def test_the_current_exporter_writes_it_and_a_failure_falls_back_with_a_warning(
        tmp_path, monkeypatch):
    graph = nb.load(next(p for p in EXAMPLES if p.stem == "mlp_spirals"))
    assert export_onnx(graph, tmp_path / "a.onnx").method == "dynamo"
    real = torch.onnx.export

    def no_dynamo(*args, dynamo=True, **kwargs):
        if dynamo:
            raise RuntimeError("cannot capture this graph")
        return real(*args, dynamo=False, **kwargs)

    monkeypatch.setattr(torch.onnx, "export", no_dynamo)
    with pytest.warns(UserWarning, match=r"'mlp_spirals': the ONNX exporter \(torch.export\) "
                                         r"failed \(cannot capture this graph\); falling back"):
        report = export_onnx(graph, tmp_path / "b.onnx")
    assert report.method == "legacy" and report.max_difference <= 1e-5
    session = ort.InferenceSession(str(tmp_path / "b.onnx"), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape[0] == "batch"


def test_noise_becomes_an_explicit_onnx_input(tmp_path):
    graph = nb.load(next(p for p in EXAMPLES if p.stem == "dcgan_digits"))
    report = export_onnx(graph, tmp_path / "gan.onnx")
    assert report.inputs == ["image", "z"]
    assert len(report.outputs) == 3


def test_trained_weights_are_exported(tmp_path):
    graph = nb.load(next(p for p in EXAMPLES if p.stem == "lenet5"))
    torch.manual_seed(3)
    trained = graph.build()
    for p in trained.parameters():
        p.data.normal_()
    state = {k: v.contiguous() for k, v in trained.state_dict().items()}
    save_file(state, str(tmp_path / "weights.safetensors"))
    torch.save(state, tmp_path / "weights.pt")
    names, args = model_arguments(graph, batch=4)
    want = _outputs(trained.eval(), args)[0].numpy()
    for weights in ("weights.safetensors", "weights.pt"):
        export_onnx(graph, tmp_path / "m.onnx", tmp_path / weights)
        session = ort.InferenceSession(str(tmp_path / "m.onnx"),
                                       providers=["CPUExecutionProvider"])
        got = session.run(None, {names[0]: args[0].numpy()})[0]
        np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-5)


def test_weights_that_do_not_fit_are_refused(tmp_path):
    graph = nb.load(next(p for p in EXAMPLES if p.stem == "lenet5"))
    save_file({"conv1.weight": torch.zeros(2, 2)}, str(tmp_path / "w.safetensors"))
    with pytest.raises(CompileError, match="do not fit the graph"):
        export_onnx(graph, tmp_path / "m.onnx", tmp_path / "w.safetensors")
    with pytest.raises(CompileError, match="weights file not found"):
        load_weights(graph.build(), tmp_path / "missing.safetensors")
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("name,method", [("lenet5", "script"), ("vae_conv", "trace"),
                                         ("dcgan_digits", "trace"), ("lstm_classifier", None)])
def test_torchscript_export_loads_back_with_the_same_outputs(name, method, tmp_path):
    graph = nb.load(next(p for p in EXAMPLES if p.stem == name))
    module = graph.build().eval()
    report = export_torchscript(graph, tmp_path / "model.pt", module.state_dict())
    assert isinstance(report, ExportReport) and report.max_difference <= 1e-5
    if method is not None:
        assert report.method == method
    loaded = torch.jit.load(str(tmp_path / "model.pt"))
    _, args = model_arguments(graph, batch=6, seed=2)
    torch.manual_seed(0)
    want = _outputs(module, args)
    torch.manual_seed(0)
    got = _outputs(loaded, args)
    for w, g in zip(want, got):
        torch.testing.assert_close(g, w, atol=1e-5, rtol=1e-5)
