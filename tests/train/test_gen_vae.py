"""The VAE task on the vae_conv example: the ELBO improves, prior samples have the data's shape
and range, reconstructions and samples stream as grids, and the exported model (its Decoder a
class of its own) runs standalone with the trained weights."""
from __future__ import annotations

import math
import textwrap

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from standalone import run_standalone

from netbuilder.graph.templates import make_autoencoder, make_vae
from netbuilder.train.config import TrainingConfig
from netbuilder.train.data import load_dataset
from netbuilder.train.events import Samples
from netbuilder.train.tasks import TrainingError, get_task
from netbuilder.train.trainer import TrainingFailed, train

EPOCHS = 6


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def run(train_example):
    return train_example("vae_conv", EPOCHS)


def test_elbo_improves_and_the_loss_is_recon_plus_kl(run):
    _, cfg, result, _ = run
    assert cfg.task == "vae" and cfg.task_options["beta"] == 1.0
    elbo = [h["val_elbo"] for h in result.history]
    assert elbo[-1] > elbo[0] + 15, elbo  # nats per digit
    assert max(elbo[-2:]) == pytest.approx(max(elbo), abs=5)
    for h in result.history:
        assert h["val_loss"] == pytest.approx(h["val_recon"] + h["val_kl"], rel=1e-4)
        assert h["val_elbo"] == pytest.approx(-h["val_loss"], rel=1e-4)
        assert h["val_kl"] >= 0
    assert result.history[-1]["val_kl"] > 1  # the code carries information: no collapse


def test_prior_samples_have_the_datas_shape_and_range(run):
    g, cfg, result, _ = run
    task = get_task("vae")(cfg, g)
    samples = task.generate(result.model.eval(), 32, seed=4)
    assert samples.shape == (32, 1, 28, 28)
    assert float(samples.min()) >= 0 and float(samples.max()) <= 1
    data = load_dataset("digits", size=28).x
    # Digits are dark with bright strokes: the samples' mean brightness is the data's.
    assert abs(float(samples.mean()) - float(data.mean())) < 0.1
    assert float(samples.std(dim=0).mean()) > 0.02  # 32 different pictures, not one
    again = task.generate(result.model.eval(), 32, seed=4)
    assert torch.equal(samples, again)


def test_grids_show_reconstructions_and_samples(run):
    _, _, _, events = run
    grids = [e for e in events if isinstance(e, Samples)]
    kinds = {e.kind for e in grids}
    assert kinds == {"reconstructions", "generated"}
    recon = next(e for e in reversed(grids) if e.kind == "reconstructions")
    assert recon.images.shape == recon.reconstructions.shape == (16, 1, 28, 28)
    generated = next(e for e in grids if e.kind == "generated")
    assert generated.images.dtype == np.uint8 and generated.images.shape == (64, 1, 28, 28)


def test_exported_vae_runs_standalone_with_trained_weights(run, tmp_path):
    g, _, result, _ = run
    (tmp_path / "vae.py").write_text(g.to_python())
    z = torch.randn(5, 16)
    x = torch.rand(5, 1, 28, 28)
    save_file({"z": z, "x": x}, str(tmp_path / "inputs.safetensors"))
    script = textwrap.dedent(f"""
        import torch
        from safetensors.torch import load_file, save_file
        from vae import Decoder, Reparameterize, VaeConv
        state = load_file({result.summary["weights"]!r})
        model = VaeConv()
        model.load_state_dict(state)
        decoder = Decoder()
        decoder.load_state_dict({{k[8:]: v for k, v in state.items() if k.startswith("decoder.")}})
        inputs = load_file("inputs.safetensors")
        model.eval(); decoder.eval()
        with torch.no_grad():
            recon = model(inputs["x"])
            save_file({{"recon": recon, "kl": model.z.kl.reshape(1),
                        "decoded": decoder(inputs["z"])}}, "out.safetensors")
        print("ok")
    """)
    assert run_standalone(tmp_path, script) == "ok\n"
    out = load_file(str(tmp_path / "out.safetensors"))
    model = result.model.eval()
    with torch.no_grad():
        torch.testing.assert_close(out["recon"], model(x))
        torch.testing.assert_close(out["kl"], model.z.kl.reshape(1))
        torch.testing.assert_close(out["decoded"], model.decoder(z))


def test_vae_problems_are_explained():
    base = TrainingConfig(task="vae", dataset="digits", dataset_options={"size": 8},
                          device="cpu", epochs=1)
    with pytest.raises(TrainingFailed, match="needs a Reparameterize node"):
        train(make_autoencoder("dense", (1, 8, 8), 4, (16,)), base)
    g = make_vae("dense", (1, 8, 8), 4, 16)
    with pytest.raises(TrainingFailed, match="standard normalization"):
        train(g, base.replace(normalization="standard"))
    with pytest.raises(TrainingError, match="beta .* must be a number from 0 to 1000"):
        get_task("vae")(base.replace(task_options={"beta": -1}), g)


def test_beta_weighs_the_kl_term():
    g = make_vae("dense", (1, 8, 8), 4, 16)
    base = TrainingConfig(task="vae", dataset="digits", device="cpu", epochs=3, lr=3e-3)
    kl = {}
    for beta in (0.1, 4.0):
        torch.manual_seed(0)
        result = train(g, base.replace(task_options={"beta": beta}))
        h = result.history[-1]
        assert h["val_loss"] == pytest.approx(h["val_recon"] + beta * h["val_kl"], rel=1e-4)
        kl[beta] = h["val_kl"]
    assert kl[4.0] < kl[0.1] and math.isfinite(kl[0.1])
