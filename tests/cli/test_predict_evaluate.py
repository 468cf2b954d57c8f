"""``netbuilder predict`` and ``evaluate`` on a tiny trained run: every input kind goes through the
run's preprocessing and gives what the model gives on preprocessed tensors; evaluate prints the
numbers the app's validation showed."""
from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

import netbuilder as nb
from netbuilder.graph import to_json
from netbuilder.train.checkpoint import load_weights, save_weights, state_tensors
from netbuilder.train.data import load_dataset

DIGITS = [str(i) for i in range(10)]


def mlp(name: str = "mlp", out: int = 10) -> nb.Graph:
    g = nb.Graph(name=name)
    x = g.add("Input", shape=(1, 8, 8))
    f = g.add("Flatten")
    h = g.add("Linear", out_features=24)
    r = g.add("ReLU")
    o = g.add("Linear", out_features=out)
    for a, b in ((x, f), (f, h), (h, r), (r, o)):
        g.connect(a, b)
    g.connect(o, g.add("Output"))
    return g


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A digits classifier trained for 1 epoch on 300 samples with standard normalisation,
    saved as the CLI saves it (the graph file, its run in runs/ beside it)."""
    from netbuilder.train.trainer import train

    root = tmp_path_factory.mktemp("predict")
    g = mlp()
    g.training = {"dataset": "digits", "dataset_options": {"limit": 300}, "epochs": 1,
                  "normalization": "standard", "probe": "none", "seed": 0, "device": "cpu"}
    g.save(root / "mlp.json")
    train(g, out_dir=root / "runs" / "mlp-1")
    return root, root / "runs" / "mlp-1"


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", limit=300)


def by_hand(run, raw: np.ndarray) -> np.ndarray:
    """Softmax of the model on raw digits normalised with the recorded statistics."""
    record = json.loads((run / "preprocessing.json").read_text())
    norm = record["normalization"]
    shift = np.asarray(norm["shift"], np.float32).reshape(norm["shape"])
    scale = np.asarray(norm["scale"], np.float32).reshape(norm["shape"])
    model = nb.load(run / "graph.json").build()
    load_weights(model, run / "weights.safetensors")
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy((raw - shift) / scale))
    return torch.softmax(logits, -1).numpy()


def test_every_input_kind_gives_what_the_model_gives_on_preprocessed_tensors(
        trained, digits, cli, tmp_path):
    root, run = trained
    raw = digits.x[:6]
    np.save(tmp_path / "rows.npy", raw.reshape(6, -1))
    np.savetxt(tmp_path / "rows.csv", raw[:3].reshape(3, -1), delimiter=",")
    pixels = np.round(raw[0, 0] * 255).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "digit.png")
    folder = tmp_path / "folder"
    folder.mkdir()
    for name in ("rows.csv", "digit.png"):
        shutil.copy(tmp_path / name, folder / name)
    cases = {"rows.npy": raw, "rows.csv": raw[:3], "digit.png": pixels[None, None] / 255.0,
             "folder": np.concatenate([pixels[None, None] / 255.0, raw[:3]])}  # by name
    for source, (what, expected_raw) in zip((tmp_path / "rows.npy", tmp_path / "rows.csv",
                                             tmp_path / "digit.png", folder), cases.items()):
        code, out, err = cli("predict", run, source, "-o", tmp_path / f"{what}.npy")
        assert code == 0, err
        got = np.load(tmp_path / f"{what}.npy")
        assert got.shape == (len(expected_raw), 10), what
        np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)
        np.testing.assert_allclose(got, by_hand(run, expected_raw.astype(np.float32)),
                                   atol=1e-5, err_msg=what)
    # the graph file stands for its newest run
    code, out, err = cli("predict", root / "mlp.json", tmp_path / "rows.npy", "-o",
                         tmp_path / "via_graph.npy")
    assert code == 0, err
    np.testing.assert_array_equal(np.load(tmp_path / "via_graph.npy"),
                                  np.load(tmp_path / "rows.npy.npy"))


def test_a_dark_on_light_picture_is_inverted_for_digits_trained_light_on_dark(
        trained, digits, cli, tmp_path):
    _, run = trained
    assert json.loads((run / "preprocessing.json").read_text())["background"] == "dark"
    pixels = np.round(digits.x[0, 0] * 255).astype(np.uint8)
    Image.fromarray(255 - pixels).save(tmp_path / "paper.png")  # dark ink on white paper
    code, out, err = cli("predict", run, tmp_path / "paper.png", "-o", tmp_path / "p.npy")
    assert code == 0, err
    assert err == (f"{tmp_path / 'paper.png'}: inverted (the run's pictures are light on "
                   f"dark; --no-invert keeps it)\n")
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"),
                               by_hand(run, pixels[None, None] / np.float32(255)), atol=1e-5)
    code, out, err = cli("predict", run, tmp_path / "paper.png", "--no-invert", "-o",
                         tmp_path / "q.npy")
    assert code == 0 and err == "", err
    np.testing.assert_allclose(np.load(tmp_path / "q.npy"),
                               by_hand(run, (255 - pixels[None, None]) / np.float32(255)),
                               atol=1e-5)


def test_predict_prints_top_classes_by_name_and_writes_csv(trained, digits, cli, tmp_path):
    _, run = trained
    np.save(tmp_path / "two.npy", digits.x[:2])
    expected = by_hand(run, digits.x[:2])
    code, out, err = cli("predict", run, tmp_path / "two.npy", "--top", "2")
    assert code == 0, err
    lines = [line for line in out.splitlines() if "two.npy[" in line]
    assert len(lines) == 2
    for line, p in zip(lines, expected):
        top = np.argsort(-p)[:2]
        cells = line.split()
        assert cells[1] == DIGITS[top[0]] and float(cells[2]) == pytest.approx(p[top[0]],
                                                                              abs=1e-4)
        assert cells[3] == DIGITS[top[1]]
    code, out, err = cli("predict", run, tmp_path / "two.npy", "-o", tmp_path / "p.csv")
    assert code == 0 and "probabilities of 10 classes for 2 inputs" in out
    rows = list(csv.reader((tmp_path / "p.csv").open()))
    assert rows[0] == ["input", "class", *DIGITS]
    assert rows[1][0].endswith("two.npy[0]") and rows[1][1] == DIGITS[expected[0].argmax()]
    np.testing.assert_allclose([float(v) for v in rows[1][2:]], expected[0], atol=1e-5)


def test_evaluate_prints_the_numbers_the_apps_validation_showed(trained, cli):
    _, run = trained
    last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    code, out, err = cli("evaluate", run, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["split"] == "validation" and result["samples"] == 60  # 20% of 300
    for key in ("loss", "accuracy", "top5"):
        assert result["metrics"][key] == pytest.approx(last[f"val_{key}"], abs=1e-6), key
    matrix = np.array(result["confusion"])
    assert result["classes"] == DIGITS and matrix.shape == (10, 10) and matrix.sum() == 60
    assert np.trace(matrix) / 60 == pytest.approx(last["val_accuracy"], abs=1e-6)
    code, out, err = cli("evaluate", run)
    assert code == 0, err
    assert "classify on 'digits' (validation part, 60 samples)" in out
    assert f"Accuracy        {last['val_accuracy']:.4f}" in out
    header = next(line for line in out.splitlines() if line.split() == DIGITS)
    assert header.strip() == "  ".join(DIGITS)


def test_evaluate_on_another_data_file_takes_all_its_samples(trained, digits, cli, tmp_path):
    _, run = trained
    x, y = digits.x[200:260], digits.y[200:260]
    np.savez(tmp_path / "more.npz", x=x, y=y)
    code, out, err = cli("evaluate", run, "--dataset", tmp_path / "more.npz", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["split"] == "all" and result["samples"] == 60
    probs = by_hand(run, x)
    assert result["metrics"]["accuracy"] == pytest.approx(float(np.mean(probs.argmax(1) == y)))
    loss = float(np.mean(-np.log(probs[np.arange(60), y])))
    assert result["metrics"]["loss"] == pytest.approx(loss, abs=1e-4)


def test_bad_inputs_say_what_is_wrong_in_one_line_with_status_2(trained, cli, tmp_path):
    root, run = trained
    (tmp_path / "broken.png").write_bytes(b"not a picture")
    np.save(tmp_path / "wide.npy", np.zeros((3, 5), np.float32))
    (tmp_path / "words.csv").write_text("a,b\nc,d\n")
    (tmp_path / "lonely.json").write_text(to_json(mlp("lonely")))
    g = nb.Graph(name="vec")
    g.connect(g.add("Input", shape=(5,)), g.add("Linear", out_features=2))
    vectors = fake_run(tmp_path / "vec", g, "regress", {
        "raw_shape": [5], "input_shape": [5], "resize": None, "flatten": False,
        "normalization": {"mode": "none"}, "class_names": None})
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "fine.png")
    cases = [
        (("predict", tmp_path / "no_run", tmp_path / "wide.npy"),
         f"{tmp_path / 'no_run'}: no such run folder or graph file"),
        (("predict", tmp_path / "lonely.json", tmp_path / "wide.npy"),
         "no trained run of this graph fits it"),
        (("predict", run, tmp_path / "broken.png"),
         f"{tmp_path / 'broken.png'}: cannot read it as a picture"),
        (("predict", run, tmp_path / "wide.npy"),
         f"{tmp_path / 'wide.npy'}: samples of shape (5,), but the run takes samples of "
         f"shape (1, 8, 8)"),
        (("predict", run, tmp_path / "words.csv"),
         f"{tmp_path / 'words.csv'}: cannot read it as numbers"),
        (("predict", run, tmp_path / "missing.png"), f"{tmp_path / 'missing.png'}: no such file"),
        (("predict", vectors, tmp_path / "fine.png"),
         f"{tmp_path / 'fine.png'}: Input 'input1' takes samples of shape (5,), not pictures"),
        (("predict", run, tmp_path / "wide.npy", "-o", tmp_path / "p.txt"),
         "write the results as .csv, .npy, .png"),
        (("predict", run, "--samples", "3"), "the classify task does not generate samples"),
        (("evaluate", tmp_path / "no_run"), "no such run folder or graph file"),
        (("evaluate", run, "--dataset", tmp_path / "wide.npy"), "wide.npy"),
    ]
    for argv, message in cases:
        code, out, err = cli(*argv)
        assert code == 2, (argv, err)
        assert message in err and err.count("\n") == 1 and "Traceback" not in err, (argv, err)


def fake_run(folder, graph: nb.Graph, task: str, record: dict | None = None):
    """A run folder with untrained weights (enough to predict; no training needed)."""
    folder.mkdir()
    training = {"dataset": "digits", "task": task, "seed": 0}
    (folder / "graph.json").write_text(to_json(graph))
    (folder / "config.json").write_text(json.dumps(training))
    torch.manual_seed(0)
    save_weights(state_tensors(graph.build()), folder / "weights.safetensors")
    if record is not None:
        (folder / "preprocessing.json").write_text(json.dumps(record))
    return folder


def test_an_autoencoder_writes_reconstructions_as_npy_and_png(cli, tmp_path, digits):
    record = {"raw_shape": [1, 8, 8], "input_shape": [1, 8, 8], "resize": None,
              "flatten": False, "normalization": {"mode": "none"}, "class_names": None}
    run = fake_run(tmp_path / "ae", mlp("ae", out=64), "autoencode", record)
    np.save(tmp_path / "x.npy", digits.x[:3])
    code, out, err = cli("predict", run, tmp_path / "x.npy", "-o", tmp_path / "r.npy")
    assert code == 0, err
    model = nb.load(run / "graph.json").build()
    load_weights(model, run / "weights.safetensors")
    with torch.no_grad():
        expected = model.eval()(torch.from_numpy(digits.x[:3])).numpy()
    np.testing.assert_allclose(np.load(tmp_path / "r.npy"), expected, atol=1e-6)
    code, out, err = cli("predict", run, tmp_path / "x.npy", "-o", tmp_path / "r.png")
    assert code == 0 and "3 outputs of shape (64,)" in out, err
    with Image.open(tmp_path / "r.png") as im:
        assert im.width > 3 * 64 and im.height >= 64  # three tiles side by side
    code, out, err = cli("predict", run, tmp_path / "x.npy")
    assert code == 0 and out.count("64 ") >= 3


def test_a_vae_generates_samples(cli, tmp_path, examples_dir):
    run = fake_run(tmp_path / "vae", nb.load(examples_dir / "vae_conv.json"), "vae")
    code, out, err = cli("predict", run, "--samples", "4", "-o", tmp_path / "s.npy")
    assert code == 0, err
    samples = np.load(tmp_path / "s.npy")
    assert samples.shape == (4, 1, 28, 28) and samples.std(axis=0).max() > 0
    code, _, err = cli("predict", run, "--samples", "4", "--seed", "0", "-o", tmp_path / "t.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "t.npy"), samples)  # seeded
    code, out, err = cli("predict", run, "--samples", "2", "-o", tmp_path / "s.png")
    assert code == 0 and (tmp_path / "s.png").stat().st_size > 0, err
