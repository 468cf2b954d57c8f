"""``netbuilder predict`` and ``evaluate`` on generative and sequence runs: a GAN's samples as a
PNG grid and its D/G losses, a VAE's reconstructions and samples, an RBM's reconstructions and
dreams, a GRU's forecasts; bad input (a sample of the wrong size, a graph with no run, a run of
another graph) gets one line and status 2."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

import netbuilder as nb
from netbuilder.graph import to_json
from netbuilder.train.checkpoint import load_weights, save_weights, state_tensors
from netbuilder.train.config import TrainingConfig
from netbuilder.train.data import load_dataset

SMALL = {"vae": ("vae_conv", {"dataset_options": {"size": 28, "limit": 32}}),
         "rbm": ("rbm_digits", {"dataset_options": {"binarize": True, "flatten": True,
                                                    "limit": 32},
                                "task_options": {"gibbs_steps": 5}}),
         "sequence": ("gru_forecaster", {"dataset_options": {"length": 20, "n_samples": 64}}),
         "gan": ("dcgan_digits", {"dataset_options": {"size": 28, "limit": 32}})}


def _graph(examples_dir, task: str) -> nb.Graph:
    example, changes = SMALL[task]
    g = nb.load(examples_dir / f"{example}.json")
    g.training = {**TrainingConfig.from_graph(g).to_dict(), **changes, "epochs": 1,
                  "device": "cpu", "probe": "none"}
    return g


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A VAE and an RBM trained for one epoch on 32 digits, a GRU forecaster on 64 sine windows
    (a few seconds each), and a GAN run with
    its initial weights (training one takes far longer and predict needs only weights)."""
    from netbuilder.train.trainer import train

    from .conftest import EXAMPLES

    root = tmp_path_factory.mktemp("generative")
    out = {}
    for task in ("vae", "rbm", "sequence"):
        g = _graph(EXAMPLES, task)
        g.save(root / f"{task}.json")
        train(g, out_dir=root / "runs" / f"{task}-1")
        out[task] = root / "runs" / f"{task}-1"
    g = _graph(EXAMPLES, "gan")
    gan = root / "gan-run"
    gan.mkdir()
    (gan / "graph.json").write_text(to_json(g))
    (gan / "config.json").write_text(json.dumps(g.training))
    torch.manual_seed(0)
    save_weights(state_tensors(g.build()), gan / "weights.safetensors")
    out["gan"] = gan
    return root, out


def _model(run):
    model = nb.load(run / "graph.json").build()
    load_weights(model, run / "weights.safetensors")
    return model.eval()


def test_a_gan_writes_its_samples_as_a_png_grid_and_evaluates_d_and_g(runs, cli, tmp_path):
    run = runs[1]["gan"]
    code, out, err = cli("predict", run, "--samples", "6", "-o", tmp_path / "s.npy")
    assert code == 0, err
    samples = np.load(tmp_path / "s.npy")
    assert samples.shape == (6, 1, 28, 28) and samples.std(axis=0).max() > 0
    assert samples.min() >= -1 and samples.max() <= 1  # the generator ends in Tanh
    code, out, err = cli("predict", run, "--samples", "6", "-o", tmp_path / "s.png")
    assert code == 0 and "6 samples of shape (1, 28, 28)" in out, err
    with Image.open(tmp_path / "s.png") as im:
        assert im.width >= 3 * 28 and im.height >= 2 * 28
    # pictures get the discriminator's probability that they are real
    x = load_dataset("digits", size=28, limit=3).x
    np.save(tmp_path / "x.npy", np.concatenate([x, np.zeros_like(x[:1])]))
    code, out, err = cli("predict", run, tmp_path / "x.npy", "-o", tmp_path / "d.npy")
    assert code == 0 and "4 outputs of shape (1,)" in out, err
    real = np.load(tmp_path / "d.npy")
    assert real.shape == (4, 1) and real.min() >= 0 and real.max() <= 1 and real.std() > 0
    code, out, err = cli("evaluate", run, "--json")
    assert code == 0, err
    result = json.loads(out)
    # the split is stratified: one held-out digit of each of the ten classes
    assert result["split"] == "validation" and result["samples"] == 10
    metrics = result["metrics"]
    assert {"loss", "loss_d", "loss_g", "d_x", "d_g_z"} <= set(metrics)
    assert all(np.isfinite(v) for v in metrics.values())
    code, out, err = cli("evaluate", run)
    assert code == 0 and "D loss" in out and "G loss" in out and "D(G(z))" in out, err


def test_a_vae_reconstructs_inputs_samples_and_evaluates_its_terms(runs, cli, tmp_path):
    run = runs[1]["vae"]
    x = load_dataset("digits", size=28, limit=3).x
    np.save(tmp_path / "x.npy", x)
    code, out, err = cli("predict", run, tmp_path / "x.npy", "-o", tmp_path / "r.npy")
    assert code == 0, err
    with torch.no_grad():
        out_model = _model(run)(torch.from_numpy(x))
    expected = (out_model[0] if isinstance(out_model, (tuple, list)) else out_model).numpy()
    got = np.load(tmp_path / "r.npy")
    assert got.shape == (3, 1, 28, 28)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    code, out, err = cli("predict", run, "--samples", "4", "-o", tmp_path / "s.png")
    assert code == 0 and "4 samples of shape (1, 28, 28)" in out, err
    last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    code, out, err = cli("evaluate", run, "--json")
    assert code == 0, err
    metrics = json.loads(out)["metrics"]
    # z is drawn afresh: the terms agree with the app's validation, not to the last digit
    assert metrics["recon"] == pytest.approx(last["val_recon"], rel=0.02)
    assert metrics["kl"] >= 0 and metrics["elbo"] == pytest.approx(-metrics["loss"])


def test_an_rbm_reconstructs_inputs_dreams_and_evaluates(runs, cli, tmp_path):
    run = runs[1]["rbm"]
    x = load_dataset("digits", limit=3, binarize=True, flatten=True).x
    np.save(tmp_path / "x.npy", x)
    code, out, err = cli("predict", run, tmp_path / "x.npy", "-o", tmp_path / "r.npy")
    assert code == 0, err
    rbm = next(m for m in _model(run).modules() if hasattr(m, "gibbs_step"))
    with torch.no_grad():
        expected = rbm.visible_probs(rbm.hidden_probs(torch.from_numpy(x))).numpy()
    np.testing.assert_allclose(np.load(tmp_path / "r.npy"), expected, atol=1e-6)
    code, out, err = cli("predict", run, "--samples", "5", "-o", tmp_path / "d.npy")
    assert code == 0, err
    dreams = np.load(tmp_path / "d.npy")
    assert dreams.shape == (5, 64) and dreams.min() >= 0 and dreams.max() <= 1
    code, out, err = cli("predict", run, "--samples", "5", "-o", tmp_path / "d.png")
    with Image.open(tmp_path / "d.png") as im:
        assert code == 0 and im.width >= 5 * 8, err  # 8×8 pictures side by side
    last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    code, out, err = cli("evaluate", run, "--json")
    assert code == 0, err
    assert json.loads(out)["metrics"]["recon_error"] == pytest.approx(
        last["val_recon_error"], abs=1e-6)


def test_a_sequence_model_forecasts_rows_of_a_file_and_evaluates(runs, cli, tmp_path):
    run = runs[1]["sequence"]
    x = load_dataset("sine", length=20, n_samples=4).x
    assert x.shape == (4, 20, 1)
    np.save(tmp_path / "windows.npy", x)
    code, out, err = cli("predict", run, tmp_path / "windows.npy", "-o", tmp_path / "f.csv")
    assert code == 0 and "4 outputs of shape (1,)" in out, err
    with torch.no_grad():
        expected = _model(run)(torch.from_numpy(x)).numpy().reshape(-1)
    rows = (tmp_path / "f.csv").read_text().splitlines()
    assert rows[0] == "input,v0" and len(rows) == 5
    np.testing.assert_allclose([float(r.split(",")[1]) for r in rows[1:]], expected, atol=1e-5)
    last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    code, out, err = cli("evaluate", run, "--json")
    assert code == 0, err
    assert json.loads(out)["metrics"]["mae"] == pytest.approx(last["val_mae"], abs=1e-5)
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "picture.png")
    code, out, err = cli("predict", run, tmp_path / "picture.png")
    assert code == 2 and "takes samples of shape (20, 1), not pictures" in err, err


def test_bad_input_to_generative_runs_is_one_line_with_status_2(runs, cli, tmp_path):
    root, by_task = runs
    np.save(tmp_path / "small.npy", np.zeros((2, 1, 8, 8), np.float32))
    np.save(tmp_path / "big.npy", np.zeros((2, 1, 28, 28), np.float32))
    (tmp_path / "alone.json").write_text(to_json(nb.load(root / "vae.json")))
    other = tmp_path / "other"
    (other / "runs").mkdir(parents=True)
    shutil.copy(root / "vae.json", other / "gan.json")  # a VAE's runs beside ...
    shutil.copytree(by_task["rbm"], other / "runs" / "rbm-1")  # ... an RBM's run
    cases = [
        (("predict", by_task["gan"], tmp_path / "small.npy"),
         "samples of shape (1, 8, 8), but the run takes samples of shape (1, 28, 28)"),
        (("predict", by_task["vae"], tmp_path / "small.npy"),
         "samples of shape (1, 8, 8), but the run takes samples of shape (1, 28, 28)"),
        (("predict", by_task["rbm"], tmp_path / "big.npy"),
         "samples of shape (1, 28, 28), but the run takes samples of shape (64,)"),
        (("predict", tmp_path / "alone.json", "--samples", "2"),
         "no trained run of this graph fits it"),
        (("evaluate", other / "gan.json"), "no trained run of this graph fits it"),
        (("evaluate", by_task["rbm"], "--dataset", tmp_path / "big.npy"), "big.npy"),
    ]
    for argv, message in cases:
        code, out, err = cli(*argv)
        assert code == 2, (argv, err)
        assert message in err and err.count("\n") == 1 and "Traceback" not in err, (argv, err)
