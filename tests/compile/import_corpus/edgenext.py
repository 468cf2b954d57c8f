"""A split-transpose block the way timm's EdgeNeXt writes it: a position encoding module
called with sizes only (``self.pos_embd((B, H, W))``), cross-covariance attention over
F.normalize'd queries and keys, a learned temperature per head."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class PositionalEncodingFourier(nn.Module):
    def __init__(self, hidden_dim: int = 8, dim: int = 16, temperature: float = 10000.0):
        super().__init__()
        self.token_projection = nn.Conv2d(hidden_dim * 2, dim, kernel_size=1)
        self.scale = 2 * math.pi
        self.temperature, self.hidden_dim, self.dim = temperature, hidden_dim, dim

    def forward(self, shape: tuple[int, int, int]):
        ones = torch.ones(shape, device=self.token_projection.weight.device)
        y = ones.cumsum(1)
        x = ones.cumsum(2)
        y = y / (y[:, -1:, :] + 1e-6) * self.scale
        x = x / (x[:, :, -1:] + 1e-6) * self.scale
        dim_t = torch.arange(self.hidden_dim, device=ones.device).float()
        dim_t = self.temperature ** (2 * (dim_t // 2) / self.hidden_dim)
        px, py = x[..., None] / dim_t, y[..., None] / dim_t
        px = torch.stack((px[..., 0::2].sin(), px[..., 1::2].cos()), dim=4).flatten(3)
        py = torch.stack((py[..., 0::2].sin(), py[..., 1::2].cos()), dim=4).flatten(3)
        return self.token_projection(torch.cat((py, px), dim=3).permute(0, 3, 1, 2))


class CrossCovarianceAttn(nn.Module):
    def __init__(self, dim: int, num_heads: int = 2):
        super().__init__()
        self.num_heads = num_heads
        self.temperature = nn.Parameter(torch.rand(num_heads, 1, 1) + 0.5)
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, -1).permute(2, 0, 3, 4, 1)
        q, k, v = qkv.unbind(0)
        attn = (F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1))
        attn = (attn * self.temperature).softmax(dim=-1)
        x = (attn @ v).permute(0, 3, 1, 2).reshape(B, N, C)
        return self.proj(x)


class SplitTransposeBlock(nn.Module):
    def __init__(self, dim: int = 16, classes: int = 5):
        super().__init__()
        self.stem = nn.Conv2d(3, dim, 4, 4)
        self.pos_embd = PositionalEncodingFourier(dim=dim)
        self.norm_xca = nn.LayerNorm(dim)
        self.xca = CrossCovarianceAttn(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.stem(x)
        B, C, H, W = x.shape
        x = x.reshape(B, C, H * W).permute(0, 2, 1)
        x = x + self.pos_embd((B, H, W)).reshape(B, -1, x.shape[1]).permute(0, 2, 1)
        x = x + self.xca(self.norm_xca(x))
        return self.head(x.mean(1))


# NOTE: the importer knows timm's class by its qualified name (timm is not a dependency).
PositionalEncodingFourier.__module__ = "timm.models.edgenext"
