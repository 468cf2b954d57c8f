"""Every bundled example: passes `netbuilder check`, builds, runs, and exports code that runs
standalone. The files are what scripts/make_examples.py writes."""
from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
import torch

import netbuilder as nb
from netbuilder.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = Path(str(resources.files("netbuilder") / "resources" / "examples"))
NAMES = ["mlp_spirals", "lenet5", "resnet_small", "inception_block", "lstm_classifier",
         "gru_forecaster", "birnn_classifier", "transformer_tiny", "autoencoder",
         "finetune_digits"]


def _script():
    spec = importlib.util.spec_from_file_location("make_examples", ROOT / "scripts" /
                                                  "make_examples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_example_is_there():
    assert {p.stem for p in EXAMPLES.glob("*.json")} >= set(NAMES)


def test_files_are_what_the_script_writes():
    written = _script().render_all()
    for name in NAMES:
        assert (EXAMPLES / f"{name}.json").read_text(encoding="utf-8") == written[f"{name}.json"], (
            f"{name}.json is out of date: run python scripts/make_examples.py")


# Runs each exported file as __main__, the way `python model.py` does, in one interpreter so
# that torch is imported once rather than once per example.
_DRIVER = """
import contextlib, io, json, runpy, sys, traceback
results = {}
for path in sys.argv[1:]:
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            runpy.run_path(path, run_name="__main__")
        results[path] = {"ok": True, "stdout": out.getvalue()}
    except BaseException:
        results[path] = {"ok": False, "stdout": out.getvalue(), "error": traceback.format_exc()}
results["netbuilder loaded"] = sorted(m for m in sys.modules if m.startswith("netbuilder"))
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def standalone_runs(tmp_path_factory) -> dict:
    """Each example's exported source run as a script in a fresh interpreter."""
    folder = tmp_path_factory.mktemp("exported")
    scripts = []
    for name in NAMES:
        script = folder / f"{name}.py"
        script.write_text(nb.load(EXAMPLES / f"{name}.json").to_python())
        scripts.append(str(script))
    # -I: isolated, so the scripts cannot lean on the working directory or PYTHONPATH.
    done = subprocess.run([sys.executable, "-I", "-c", _DRIVER, *scripts], check=False,
                          capture_output=True, text=True, timeout=600, cwd=folder)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout.splitlines()[-1])
    assert results.pop("netbuilder loaded") == []  # nothing of netbuilder was needed
    return {Path(path).stem: result for path, result in results.items()}


@pytest.mark.parametrize("name", NAMES)
def test_example_checks_builds_runs_and_exports(name, capsys, standalone_runs):
    path = EXAMPLES / f"{name}.json"
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{path}: OK (") and "warning" not in out

    g = nb.load(path)
    meta = g.meta
    assert isinstance(meta["description"], str) and "\n" not in meta["description"]
    assert 30 < len(meta["description"]) < 240
    assert set(meta["dataset_hint"]) == {"dataset", "options", "task"}

    (input_id,) = g.inputs()
    shape = g.node(input_id).params["shape"]
    analysis = g.analyze()
    (output_id,) = g.outputs()
    torch.manual_seed(0)
    model = g.build()
    model.eval()
    with torch.no_grad():
        y = model(torch.rand(3, *shape))
    assert tuple(y.shape) == (3, *analysis.shape(output_id))
    assert torch.isfinite(y).all()
    assert sum(p.numel() for p in model.parameters()) == analysis.total_params

    source = g.to_python()
    imports = [n for n in ast.walk(ast.parse(source)) if isinstance(n, (ast.Import,
                                                                        ast.ImportFrom))]
    assert {(a.name if isinstance(n, ast.Import) else n.module).split(".")[0]
            for n in imports for a in n.names} <= {"torch", "math"}
    run = standalone_runs[name]
    assert run["ok"], run.get("error")
    assert run["stdout"].strip() == str((2, *analysis.shape(output_id)))


def test_lenet5_is_the_classic():
    g = nb.load(EXAMPLES / "lenet5.json")
    layers = [(g.node(n).type, g.node(n).params) for n in g.topo_order()]
    types_ = [t for t, _ in layers]
    assert types_ == ["Input", "Conv2d", "Tanh", "AvgPool2d", "Conv2d", "Tanh", "AvgPool2d",
                      "Flatten", "Linear", "Tanh", "Linear", "Tanh", "Linear", "Output"]
    assert layers[0][1]["shape"] == (1, 28, 28)
    c1, c3 = layers[1][1], layers[4][1]
    assert (c1["out_channels"], c1["kernel_size"], c1["padding"]) == (6, 5, 2)
    assert (c3["out_channels"], c3["kernel_size"], c3["padding"]) == (16, 5, 0)
    assert [p["out_features"] for t, p in layers if t == "Linear"] == [120, 84, 10]
    assert g.analyze().total_params == 61706


def test_resnet_has_skips_and_a_projection_shortcut():
    g = nb.load(EXAMPLES / "resnet_small.json")
    adds = [n.id for n in g.nodes() if n.type == "Add"]
    assert len(adds) >= 2
    feeding = [g.node(e.src) for a in adds for e in g.in_edges(a)]
    # One shortcut is a 1×1 projection (through its BatchNorm), the others are identities.
    projections = [n for n in g.nodes() if n.type == "Conv2d" and n.params["kernel_size"] == 1]
    assert len(projections) == 1
    assert any(g.in_edges(f.id)[0].src == projections[0].id for f in feeding
               if f.type == "BatchNorm2d")
    assert any(f.type == "ReLU" for f in feeding)  # an identity shortcut
    assert {n.type for n in g.nodes()} >= {"AdaptiveAvgPool2d", "Linear"}


def test_inception_joins_four_branches():
    g = nb.load(EXAMPLES / "inception_block.json")
    (cat,) = [n.id for n in g.nodes() if n.type == "Concat"]
    assert len(g.in_edges(cat)) == 4
    kernels = {n.params["kernel_size"] for n in g.nodes() if n.type == "Conv2d"}
    assert {1, 3, 5} <= kernels and any(n.type == "MaxPool2d" for n in g.nodes())
    assert g.analyze().shape(cat) == (36, 8, 8)


def test_transformer_tiny_layout():
    g = nb.load(EXAMPLES / "transformer_tiny.json")
    types_ = [g.node(n).type for n in g.topo_order()]
    assert types_.count("TransformerEncoderLayer") == 2 and "PositionalEncoding" in types_
    a = g.analyze()
    assert a.shape(g.find("embed")) == (8, 32) and a.shape(g.find("flatten")) == (32,)


def test_sequence_examples_read_digit_rows_and_sine_windows():
    for name in ("lstm_classifier", "birnn_classifier", "transformer_tiny"):
        g = nb.load(EXAMPLES / f"{name}.json")
        assert g.node(g.inputs()[0]).params["shape"] == (8, 8)
        assert g.meta["dataset_hint"]["dataset"] == "digits_rows"
    gru = nb.load(EXAMPLES / "gru_forecaster.json")
    assert gru.node(gru.inputs()[0]).params["shape"] == (20, 1)
    assert gru.analyze().shape(gru.outputs()[0]) == (1,)
    assert any(n.type == "GRU" for n in gru.nodes())
    birnn = nb.load(EXAMPLES / "birnn_classifier.json")
    assert any(n.type == "RNN" and n.params["bidirectional"] for n in birnn.nodes())


def test_autoencoder_uses_encoder_and_decoder_blocks():
    g = nb.load(EXAMPLES / "autoencoder.json")
    blocks = {n.type: n for n in g.nodes() if n.inner is not None}
    assert set(blocks) == {"Encoder", "Decoder"}
    a = g.analyze()
    assert a.shape(blocks["Encoder"].id) == (8,) and a.shape(g.outputs()[0]) == (64,)
    assert json.loads((EXAMPLES / "autoencoder.json").read_text())["meta"]["dataset_hint"] == {
        "dataset": "digits", "options": {"flatten": True}, "task": "autoencode"}


def test_positions_are_laid_out_on_the_grid():
    for name in NAMES:
        g = nb.load(EXAMPLES / f"{name}.json")
        positions = [n.pos for n in g.nodes()]
        assert len(set(positions)) == len(positions), name  # no two nodes on top of each other
        assert all(x % 20 == 0 and y % 20 == 0 for x, y in positions), name


def _bars_folder(folder: Path) -> Path:
    """A small image folder of two classes: horizontal and vertical bars (16×16 PNGs)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for label in ("horizontal", "vertical"):
        (folder / label).mkdir(parents=True)
        for i in range(40):
            img = rng.integers(0, 40, (16, 16)).astype(np.uint8)
            at = rng.integers(2, 14)
            if label == "horizontal":
                img[at - 1:at + 2, :] = 255
            else:
                img[:, at - 1:at + 2] = 255
            Image.fromarray(img, mode="L").save(folder / label / f"{i:03d}.png")
    return folder


def test_finetune_example_trains_a_new_head_on_an_image_folder(tmp_path):
    from safetensors.torch import load_file

    from netbuilder.train.config import TrainingConfig
    from netbuilder.train.trainer import train

    shipped = EXAMPLES / "finetune_digits.safetensors"
    assert shipped.stat().st_size < 300_000  # shipped small
    pretrained = load_file(str(shipped))
    assert {k.split(".")[0] for k in pretrained} == {"backbone"}
    g = nb.load(EXAMPLES / "finetune_digits.json")
    backbone, head = g.find("backbone"), g.find("head")
    assert not g.node(backbone).trainable and g.node(head).trainable
    g.set_param(head, "out_features", 2)  # the folder's classes: the head is new anyway
    folder = _bars_folder(tmp_path / "bars")
    config = TrainingConfig.from_graph(g).replace(
        dataset=str(folder), dataset_options={"size": 8, "grayscale": True}, epochs=4,
        device="cpu", batch_size=16, lr=0.05)
    torch.manual_seed(0)
    events: list = []
    result = train(g, config, emit=events.append)
    after = result.model.state_dict()
    for key, value in pretrained.items():  # the frozen body: weights and BN statistics
        assert torch.equal(after[key], value), key
    assert after["head.weight"].shape == (2, 32)
    assert result.history[-1]["val_accuracy"] >= 0.8, result.history
    logs = [getattr(e, "message", "") for e in events]
    assert any("freshly initialised: 'head'" in m for m in logs), logs


def test_the_shipped_body_fits_the_example_as_the_script_draws_it():
    """scripts/make_pretrained.py trains the body of make_examples' graph: same keys and
    shapes as the shipped file (which the script rewrites)."""
    from safetensors.torch import load_file

    shipped = load_file(str(EXAMPLES / "finetune_digits.safetensors"))
    body = _script().finetune_digits(weights=False).build().state_dict()
    assert {k: tuple(v.shape) for k, v in body.items() if k.startswith("backbone.")} == \
        {k: tuple(v.shape) for k, v in shipped.items()}
