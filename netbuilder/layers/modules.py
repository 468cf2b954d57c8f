"""Modules that torch.nn lacks. Their source is copied into generated code, so each class must
stand alone: it may use only ``torch``, ``nn``, ``F`` and ``math``.

NOTE: codegen reads this file's text (it never imports it for export), so keep every helper a
top-level class whose source is self-contained.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn


class Reshape(nn.Module):
    """Reshape each sample (the batch dimension is kept)."""

    def __init__(self, shape):
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of (N, C, H, W) images, at each pixel (ConvNeXt's)."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class AddCoords(nn.Module):
    """CoordConv: append two channels holding each pixel's row and column in [-1, 1]."""

    def forward(self, x):
        n, _, h, w = x.shape
        rows = torch.linspace(-1.0, 1.0, h, device=x.device, dtype=x.dtype)
        cols = torch.linspace(-1.0, 1.0, w, device=x.device, dtype=x.dtype)
        ii = rows.view(1, 1, h, 1).expand(n, 1, h, w)
        jj = cols.view(1, 1, 1, w).expand(n, 1, h, w)
        return torch.cat([x, ii, jj], dim=1)


class PositionalEncoding(nn.Module):
    """Add position information to (N, T, D) sequences: fixed sinusoids or a learned table."""

    def __init__(self, d_model, max_len=512, kind="sinusoidal"):
        super().__init__()
        self.kind = kind
        if kind == "learned":
            self.table = nn.Parameter(torch.zeros(max_len, d_model))
            nn.init.normal_(self.table, std=0.02)
        else:
            position = torch.arange(max_len).unsqueeze(1)
            div = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
            table = torch.zeros(max_len, d_model)
            table[:, 0::2] = torch.sin(position * div)
            table[:, 1::2] = torch.cos(position * div)[:, : d_model // 2]
            # Not persistent: it is recomputed, so state dicts stay free of constants.
            self.register_buffer("table", table, persistent=False)

    def forward(self, x):
        return x + self.table[: x.shape[1]]


class RBM(nn.Module):
    """Bernoulli restricted Boltzmann machine.

    ``forward`` is the mean-field hidden activation p(h=1|v), so RBMs stack into a deep belief
    network and fine-tune like a layer. ``gibbs_step`` and ``sample`` run the Markov chain.
    """

    def __init__(self, n_visible, n_hidden, k=1):
        super().__init__()
        self.k = k
        self.weight = nn.Parameter(torch.randn(n_hidden, n_visible) * 0.01)
        self.visible_bias = nn.Parameter(torch.zeros(n_visible))
        self.hidden_bias = nn.Parameter(torch.zeros(n_hidden))

    def hidden_probs(self, v):
        return torch.sigmoid(F.linear(v, self.weight, self.hidden_bias))

    def visible_probs(self, h):
        return torch.sigmoid(F.linear(h, self.weight.t(), self.visible_bias))

    def forward(self, v):
        return self.hidden_probs(v)

    def gibbs_step(self, v):
        """One v -> h -> v' step; returns the visible probabilities and a binary sample."""
        h = torch.bernoulli(self.hidden_probs(v))
        pv = self.visible_probs(h)
        return pv, torch.bernoulli(pv)

    def free_energy(self, v):
        """F(v) = -b·v - sum(softplus(W v + c)); lower means more probable."""
        hidden = F.linear(v, self.weight, self.hidden_bias)
        return -(v @ self.visible_bias) - F.softplus(hidden).sum(1)

    @torch.no_grad()
    def sample(self, n, steps=200, v=None):
        """Run Gibbs chains from noise (or from ``v``) and return visible probabilities."""
        if v is None:
            v = torch.bernoulli(torch.full((n, self.weight.shape[1]), 0.5,
                                           device=self.weight.device))
        pv = v
        for _ in range(steps):
            pv, v = self.gibbs_step(v)
        return pv


class StochasticDepth(nn.Module):
    """Stochastic depth (drop path): in training, zero a residual branch for whole samples
    ("row") or the whole batch ("batch") with probability p, scaling the rest by 1 / (1 - p)."""

    def __init__(self, p, mode="row"):
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        size = [x.shape[0]] + [1] * (x.dim() - 1) if self.mode == "row" else [1] * x.dim()
        noise = torch.empty(size, dtype=x.dtype, device=x.device).bernoulli_(survival)
        if survival > 0.0:
            noise = noise / survival
        return x * noise


class Reparameterize(nn.Module):
    """VAE sampling z = mu + sigma * eps; keeps the batch-mean KL(q(z|x) || N(0, I)) in ``kl``."""

    def __init__(self):
        super().__init__()
        self.kl = None

    def forward(self, mu, logvar):
        self.kl = -0.5 * torch.mean(torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1))
        if not self.training:
            return mu
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
