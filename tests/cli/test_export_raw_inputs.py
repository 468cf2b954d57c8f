"""What ships works alone: every export of a trained run (model.py, ONNX, TorchScript, .pt2)
carries the run's preprocessing, so on raw digits it predicts what the app's Try-it predicts."""
from __future__ import annotations

import importlib.util
import json

import numpy as np
import onnxruntime as ort
import pytest
import torch
from safetensors.torch import load_file

import netbuilder as nb
from netbuilder.compile.preprocess import with_preprocessing
from netbuilder.train.batches import fit_to_input, preprocessing_record
from netbuilder.train.config import TrainingConfig
from netbuilder.train.data import Normalizer, load_dataset
from netbuilder.train.predictor import Predictor
from netbuilder.train.tasks.base import DataInfo
from netbuilder.train.trainer import train

DIGITS = [str(i) for i in range(10)]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small digits classifier trained with standard normalisation, saved as the CLI does
    (the graph file, its run in runs/ next to it), and the app's outputs on raw digits."""
    root = tmp_path_factory.mktemp("raw")
    g = nb.Graph(name="mlp")
    x = g.add("Input", shape=(1, 8, 8))
    f = g.add("Flatten")
    h = g.add("Linear", out_features=32)
    r = g.add("ReLU")
    o = g.add("Linear", out_features=10)
    for a, b in ((x, f), (f, h), (h, r), (r, o)):
        g.connect(a, b)
    g.connect(o, g.add("Output"))
    g.training = {"dataset": "digits", "normalization": "standard", "epochs": 2,
                  "probe": "none", "seed": 0}
    g.save(root / "mlp.json")
    run = root / "runs" / "mlp-1"
    train(g, out_dir=run)
    raw = load_dataset("digits").x[:300].astype(np.float32)
    app = Predictor(run).predict(raw)
    return root, run, raw, app


def _same_as_app(got: np.ndarray, app: np.ndarray) -> None:
    assert got.shape == app.shape == (300, 10)
    np.testing.assert_allclose(got, app, atol=1e-4)
    assert (got.argmax(1) == app.argmax(1)).all()


def test_the_run_records_its_preprocessing(trained):
    _, run, _, _ = trained
    record = json.loads((run / "preprocessing.json").read_text())
    assert record["raw_shape"] == [1, 8, 8] and record["input_shape"] == [1, 8, 8]
    assert record["normalization"]["mode"] == "standard"
    assert record["normalization"]["shape"] == [1, 1, 1]
    assert 0.2 < record["normalization"]["shift"][0] < 0.4
    assert record["class_names"] == DIGITS and record["resize"] is None


def test_onnx_on_raw_digits_predicts_what_the_app_predicts(trained, cli):
    root, _, raw, app = trained
    code, out, err = cli("export", root / "mlp.json", "--onnx", root / "m.onnx")
    assert code == 0, err
    assert "takes raw samples (N, 1, 8, 8): standard normalisation" in out
    session = ort.InferenceSession(str(root / "m.onnx"), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"input1": raw})
    _same_as_app(got, app)


def test_onnx_without_preprocessing_disagrees_on_raw_digits(trained, cli):
    root, _, raw, app = trained
    code, _, err = cli("export", root / "mlp.json", "--onnx", root / "bare.onnx",
                       "--no-preprocessing")
    assert code == 0, err
    session = ort.InferenceSession(str(root / "bare.onnx"), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"input1": raw})
    assert np.abs(got - app).max() > 0.1


def test_torchscript_and_pt2_on_raw_digits_predict_what_the_app_predicts(trained, cli):
    root, _, raw, app = trained
    code, out, err = cli("export", root / "mlp.json", "--torchscript", root / "m.pt",
                         "--pt2", root / "m.pt2")
    assert code == 0, err
    assert "wrote" in out and "m.pt2 (torch.export program" in out
    with torch.no_grad():
        scripted = torch.jit.load(str(root / "m.pt"))(torch.from_numpy(raw)).numpy()
        program = torch.export.load(str(root / "m.pt2")).module()
        exported = program(torch.from_numpy(raw)).numpy()
    _same_as_app(scripted, app)
    _same_as_app(exported, app)


def test_model_py_carries_preprocessing_buffers_and_class_names(trained, cli):
    root, run, raw, app = trained
    code, _, err = cli("export", root / "mlp.json", "-o", root / "model.py")
    assert code == 0, err
    spec = importlib.util.spec_from_file_location("exported_mlp", root / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.CLASS_NAMES == DIGITS
    model = module.Mlp()
    model.load_state_dict(load_file(str(run / "weights.safetensors")))
    pipeline = module.Pipeline(model).eval()
    assert {"preprocess.mean", "preprocess.std"} <= set(pipeline.state_dict())
    with torch.no_grad():
        _same_as_app(pipeline(torch.from_numpy(raw)).numpy(), app)
        by_hand = model.eval()(module.preprocess(torch.from_numpy(raw))).numpy()
    _same_as_app(by_hand, app)


def test_a_damaged_preprocessing_record_is_one_clear_error(trained, cli, tmp_path):
    root, run, _, _ = trained
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    record = json.loads((copy / "preprocessing.json").read_text())
    record["normalization"]["scale"] = ["x"]
    (copy / "preprocessing.json").write_text(json.dumps(record))
    code, _, err = cli("export", root / "mlp.json", "--onnx", tmp_path / "m.onnx",
                       "--weights", copy)
    assert code == 1
    assert "preprocessing.json: 'normalization.scale' must be a list of 1 finite numbers" in err
    assert "Traceback" not in err and not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("shape", [(1, 12, 12), (64,)], ids=["resize", "flatten"])
def test_preprocess_does_what_training_did_to_the_data(shape):
    """Resizing (bilinear, as the data layer does) and flattening, then normalising: the
    shipped Preprocess turns raw samples into exactly the tensors training fed the model."""
    g = nb.Graph(name="p")
    g.add("Input", shape=shape)
    ds = load_dataset("digits")
    fitted, _ = fit_to_input(ds, g, lambda _m: None)
    norm = Normalizer.fit(fitted.x, "standard")
    info = DataInfo(name="digits", kind=fitted.kind, input_shape=fitted.input_shape,
                    classes=ds.classes, normalizer=norm, source_shape=ds.input_shape)
    record = preprocessing_record(info, TrainingConfig())
    assert record["resize"] == ([12, 12] if len(shape) == 3 else None)
    assert record["flatten"] is (len(shape) == 1)
    pipeline = with_preprocessing(torch.nn.Identity(), record)
    with torch.no_grad():
        got = pipeline(torch.from_numpy(ds.x[:50])).numpy()
    np.testing.assert_allclose(got, norm.apply(fitted.x[:50]), atol=1e-5)


def test_pipeline_passes_a_generators_noise_through():
    import inspect

    from netbuilder.compile.preprocess import check_preprocessing, preprocess_source
    from netbuilder.errors import CompileError

    class TwoInputs(torch.nn.Module):
        def forward(self, image, z):
            return image.flatten(1).sum(1) + z.sum(1)

    record = check_preprocessing({
        "raw_shape": [1, 2, 2], "input_shape": [1, 2, 2],
        "normalization": {"mode": "standard", "shape": [1, 1, 1], "shift": [0.5],
                          "scale": [2.0]}})
    pipeline = with_preprocessing(TwoInputs(), record, ("z",))
    assert list(inspect.signature(pipeline.forward).parameters) == ["x", "z"]
    out = pipeline(torch.ones(3, 1, 2, 2), torch.ones(3, 4))
    assert out.tolist() == [4 * (1 - 0.5) / 2.0 + 4] * 3
    with pytest.raises(CompileError, match="not Python identifiers"):
        preprocess_source(record, ("z); import os #",))
