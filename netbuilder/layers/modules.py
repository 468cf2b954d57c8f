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


class ShiftedWindowAttention(nn.Module):
    """Swin's window attention over (N, H, W, C) maps: self-attention inside each window of
    ``window_size`` tokens, the windows cyclically shifted by ``shift_size`` (tokens that the
    shift brought together from far apart are masked), with a learned bias per head for each
    relative position inside a window."""

    def __init__(self, dim, window_size, shift_size, num_heads, qkv_bias=True, proj_bias=True,
                 attention_dropout=0.0, dropout=0.0):
        super().__init__()
        self.window_size, self.shift_size = list(window_size), list(shift_size)
        self.num_heads = num_heads
        self.attention_dropout, self.dropout = attention_dropout, dropout
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim, bias=proj_bias)
        wh, ww = self.window_size
        self.relative_position_bias_table = nn.Parameter(
            nn.init.trunc_normal_(torch.zeros((2 * wh - 1) * (2 * ww - 1), num_heads), std=0.02))
        grid = torch.stack(torch.meshgrid(torch.arange(wh), torch.arange(ww), indexing="ij"))
        grid = grid.flatten(1)
        rel = (grid[:, :, None] - grid[:, None, :]).permute(1, 2, 0)  # (wh*ww, wh*ww, 2)
        index = (rel[..., 0] + wh - 1) * (2 * ww - 1) + rel[..., 1] + ww - 1
        self.register_buffer("relative_position_index", index.flatten())

    def position_bias(self):
        """(1, heads, window tokens, window tokens): each head's bias per relative position."""
        n = self.window_size[0] * self.window_size[1]
        bias = self.relative_position_bias_table[self.relative_position_index]
        return bias.view(n, n, -1).permute(2, 0, 1).contiguous().unsqueeze(0)

    def shift_mask(self, h, w, shift, device):
        """(windows, tokens, tokens): -100 between tokens from different regions of the
        shifted map, 0 within one."""
        (wh, ww), regions = self.window_size, torch.zeros(h, w, device=device)
        label = 0
        for rows in ((0, -wh), (-wh, -shift[0]), (-shift[0], None)):
            for cols in ((0, -ww), (-ww, -shift[1]), (-shift[1], None)):
                regions[rows[0]:rows[1], cols[0]:cols[1]] = label
                label += 1
        regions = regions.view(h // wh, wh, w // ww, ww).permute(0, 2, 1, 3).reshape(-1, wh * ww)
        differ = regions.unsqueeze(1) - regions.unsqueeze(2)
        return torch.zeros_like(differ).masked_fill(differ != 0, -100.0)

    def forward(self, x):
        n, h, w, c = x.shape
        wh, ww = self.window_size
        x = F.pad(x, (0, 0, 0, (ww - w % ww) % ww, 0, (wh - h % wh) % wh))
        ph, pw = x.shape[1], x.shape[2]
        shift = [0 if wh >= ph else self.shift_size[0], 0 if ww >= pw else self.shift_size[1]]
        if sum(shift) > 0:
            x = torch.roll(x, shifts=(-shift[0], -shift[1]), dims=(1, 2))
        windows = (ph // wh) * (pw // ww)
        x = x.view(n, ph // wh, wh, pw // ww, ww, c).permute(0, 1, 3, 2, 4, 5)
        x = x.reshape(n * windows, wh * ww, c)
        heads = self.num_heads
        qkv = self.qkv(x).reshape(x.shape[0], x.shape[1], 3, heads, c // heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        attn = (q * (c // heads) ** -0.5) @ k.transpose(-2, -1) + self.position_bias()
        if sum(shift) > 0:
            mask = self.shift_mask(ph, pw, shift, x.device).to(attn.dtype)
            attn = attn.view(n, windows, heads, wh * ww, wh * ww) + mask.unsqueeze(1)
            attn = attn.view(-1, heads, wh * ww, wh * ww)
        attn = F.dropout(attn.softmax(-1), self.attention_dropout, self.training)
        x = (attn @ v).transpose(1, 2).reshape(x.shape[0], wh * ww, c)
        x = F.dropout(self.proj(x), self.dropout, self.training)
        x = x.view(n, ph // wh, pw // ww, wh, ww, c).permute(0, 1, 3, 2, 4, 5)
        x = x.reshape(n, ph, pw, c)
        if sum(shift) > 0:
            x = torch.roll(x, shifts=(shift[0], shift[1]), dims=(1, 2))
        return x[:, :h, :w, :].contiguous()


class RelativePositionAttention(nn.Module):
    """MaxViT's attention over (N, groups, tokens, C): self-attention among the tokens of each
    group (a window or a grid of ``size`` × ``size`` tokens), with a learned bias per head for
    each relative position, heads of ``head_dim`` channels, scaled by C ** -0.5."""

    def __init__(self, dim, head_dim, size):
        super().__init__()
        self.head_dim, self.n_heads, self.size = head_dim, dim // head_dim, size
        self.to_qkv = nn.Linear(dim, dim * 3)
        self.merge = nn.Linear(dim, dim)
        self.scale_factor = dim ** -0.5
        self.relative_position_bias_table = nn.Parameter(
            nn.init.trunc_normal_(torch.empty((2 * size - 1) ** 2, self.n_heads), std=0.02))
        grid = torch.stack(torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij"))
        grid = grid.flatten(1)
        rel = (grid[:, :, None] - grid[:, None, :]).permute(1, 2, 0)  # (size², size², 2)
        self.register_buffer("relative_position_index",
                             (rel[..., 0] + size - 1) * (2 * size - 1) + rel[..., 1] + size - 1)

    def forward(self, x):
        n, g, p, d = x.shape
        q, k, v = (t.reshape(n, g, p, self.n_heads, self.head_dim).transpose(2, 3)
                   for t in self.to_qkv(x).chunk(3, dim=-1))
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        bias = bias.view(p, p, -1).permute(2, 0, 1).unsqueeze(0)
        attn = F.softmax(q @ (k * self.scale_factor).transpose(-2, -1) + bias, dim=-1)
        return self.merge((attn @ v).transpose(2, 3).reshape(n, g, p, d))


class FourierPositionEncoding(nn.Module):
    """A position encoding for (N, C, H, W) maps computed from their sizes only (EdgeNeXt's,
    after DETR's): each pixel's normalised row and column through ``hidden_dim`` sines and
    cosines, projected by a 1×1 convolution to ``dim`` channels. Returns (N, dim, H, W)."""

    def __init__(self, hidden_dim, dim, temperature=10000.0):
        super().__init__()
        self.token_projection = nn.Conv2d(hidden_dim * 2, dim, kernel_size=1)
        self.hidden_dim, self.temperature = hidden_dim, temperature

    def forward(self, like):
        n, h, w = like.shape[0], like.shape[-2], like.shape[-1]
        weight = self.token_projection.weight
        rows = torch.arange(1, h + 1, device=weight.device, dtype=torch.float32)
        cols = torch.arange(1, w + 1, device=weight.device, dtype=torch.float32)
        rows = (rows / (h + 1e-6) * 2 * math.pi).view(1, h, 1, 1).expand(n, h, w, 1)
        cols = (cols / (w + 1e-6) * 2 * math.pi).view(1, 1, w, 1).expand(n, h, w, 1)
        steps = torch.arange(self.hidden_dim, device=weight.device).div(2, rounding_mode="floor")
        freq = self.temperature ** (2 * steps.float() / self.hidden_dim)

        def waves(pos):
            pos = pos / freq
            return torch.stack((pos[..., 0::2].sin(), pos[..., 1::2].cos()), dim=4).flatten(3)
        pos = torch.cat((waves(rows), waves(cols)), dim=3).permute(0, 3, 1, 2)
        return self.token_projection(pos.to(weight.dtype))
