"""Autoencoder examples: the dense and the denoising autoencoder learn (validation MSE falls at
least 5× from the first epoch) and show reconstructions beside their inputs."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from netbuilder.train.events import Samples

pytestmark = pytest.mark.usefixtures("one_thread")


def test_dense_autoencoder_validation_mse_falls_fivefold(train_example):
    g, cfg, result, events = train_example("autoencoder_dense", 15)
    assert cfg.task == "autoencode" and g.meta["description"]
    losses = [h["val_loss"] for h in result.history]
    assert losses[0] / losses[-1] >= 5, losses
    assert losses[0] > 0.04  # the first epoch is far from done: a real fall, not noise
    grids = [e for e in events if isinstance(e, Samples)]
    assert grids and all(e.kind == "reconstructions" for e in grids)
    last = grids[-1]
    assert last.images.dtype == np.uint8 and last.images.shape == (16, 1, 8, 8)
    assert last.reconstructions.shape == last.images.shape
    # Late reconstructions resemble their inputs far better than the first ones did.
    err = [np.abs(e.images.astype(float) - e.reconstructions.astype(float)).mean()
           for e in (grids[0], last)]
    assert err[1] < err[0] * 0.7, err


def test_denoising_autoencoder_restores_masked_digits(train_example):
    _, cfg, result, _ = train_example("autoencoder_denoising", 12)
    assert cfg.task_options == {"denoise": "masking", "strength": 0.3}
    losses = [h["val_loss"] for h in result.history]
    assert losses[0] / losses[-1] >= 5, losses
    # Denoising: from inputs with 30% of the pixels masked, the output is closer to the clean
    # digit than the masked input is.
    from netbuilder.train.data import load_dataset

    x = torch.from_numpy(load_dataset("digits", size=28).x[:200])
    torch.manual_seed(1)
    masked = x * (torch.rand_like(x) >= 0.3)
    with torch.no_grad():
        restored = result.model.eval()(masked)
    assert float(((restored - x) ** 2).mean()) < 0.5 * float(((masked - x) ** 2).mean())
