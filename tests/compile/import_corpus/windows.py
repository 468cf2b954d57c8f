"""Window attention written the torchvision way: a small Swin (shifted windows as a function
kept a leaf of torch.fx, patch merging with its pad, relative-position bias tables indexed by
an index buffer) and a small MaxViT block (window and grid partitions that keep the batch
first, attention with a relative-position bias)."""
from __future__ import annotations

import torch
import torch.fx
import torch.nn.functional as F
from torch import Tensor, nn


def _relative_index(h: int, w: int) -> Tensor:
    """(h*w, h*w): the bias table's row for each pair of tokens of an h × w window."""
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    pos = torch.stack([ys.flatten(), xs.flatten()])  # 2, h*w
    dy, dx = pos[0][:, None] - pos[0][None, :], pos[1][:, None] - pos[1][None, :]
    return (dy + h - 1) * (2 * w - 1) + (dx + w - 1)


def _patch_merging_pad(x: Tensor) -> Tensor:
    h, w = x.shape[-3], x.shape[-2]
    x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
    return torch.cat([x[..., 0::2, 0::2, :], x[..., 1::2, 0::2, :], x[..., 0::2, 1::2, :],
                      x[..., 1::2, 1::2, :]], -1)


torch.fx.wrap("_patch_merging_pad")


def _region_mask(ph: int, pw: int, win: list, shift: list) -> Tensor:
    img = torch.zeros(ph, pw)
    label = 0
    for hs in (slice(0, -win[0]), slice(-win[0], -shift[0]), slice(-shift[0], None)):
        for ws in (slice(0, -win[1]), slice(-win[1], -shift[1]), slice(-shift[1], None)):
            img[hs, ws] = label
            label += 1
    img = img.view(ph // win[0], win[0], pw // win[1], win[1]).transpose(1, 2)
    img = img.reshape(-1, win[0] * win[1])
    diff = img[:, None, :] - img[:, :, None]
    return torch.where(diff == 0, 0.0, -100.0)


def shifted_window_attention(x: Tensor, qkv_weight: Tensor, proj_weight: Tensor, bias: Tensor,
                             win: list, heads: int, shift: list, qkv_bias: Tensor | None = None,
                             proj_bias: Tensor | None = None) -> Tensor:
    b, h, w, c = x.shape
    x = F.pad(x, (0, 0, 0, (win[1] - w % win[1]) % win[1], 0, (win[0] - h % win[0]) % win[0]))
    ph, pw = x.shape[1], x.shape[2]
    shift = [s if k < p else 0 for s, k, p in zip(shift, win, (ph, pw))]
    if any(shift):
        x = x.roll((-shift[0], -shift[1]), (1, 2))
    nh, nw = ph // win[0], pw // win[1]
    x = x.reshape(b, nh, win[0], nw, win[1], c).transpose(2, 3).reshape(-1, win[0] * win[1], c)
    t = x.shape[1]
    q, k, v = F.linear(x, qkv_weight, qkv_bias).view(-1, t, 3, heads, c // heads).unbind(2)
    q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
    logits = torch.matmul(q / (c // heads) ** 0.5, k.transpose(2, 3)) + bias
    if any(shift):
        logits = logits.view(b, nh * nw, heads, t, t) + _region_mask(ph, pw, win, shift)[:, None]
        logits = logits.view(-1, heads, t, t)
    x = torch.matmul(logits.softmax(-1), v).transpose(1, 2).reshape(-1, t, c)
    x = F.linear(x, proj_weight, proj_bias)
    x = x.view(b, nh, nw, win[0], win[1], c).transpose(2, 3).reshape(b, ph, pw, c)
    if any(shift):
        x = x.roll((shift[0], shift[1]), (1, 2))
    return x[:, :h, :w].contiguous()


torch.fx.wrap("shifted_window_attention")


class ShiftedWindowAttention(nn.Module):
    def __init__(self, dim: int, window_size: list, shift_size: list, num_heads: int,
                 qkv_bias: bool = True, proj_bias: bool = True, attention_dropout: float = 0.0,
                 dropout: float = 0.0):
        super().__init__()
        self.window_size, self.shift_size, self.num_heads = window_size, shift_size, num_heads
        self.attention_dropout, self.dropout = attention_dropout, dropout
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim, bias=proj_bias)
        wh, ww = window_size
        self.relative_position_bias_table = nn.Parameter(
            torch.randn((2 * wh - 1) * (2 * ww - 1), num_heads) * 0.5)
        self.register_buffer("relative_position_index", _relative_index(wh, ww).flatten())

    def forward(self, x: Tensor) -> Tensor:
        n = self.window_size[0] * self.window_size[1]
        bias = self.relative_position_bias_table[self.relative_position_index]
        bias = bias.view(n, n, -1).permute(2, 0, 1).unsqueeze(0)
        return shifted_window_attention(x, self.qkv.weight, self.proj.weight, bias,
                                        self.window_size, self.num_heads, self.shift_size,
                                        self.qkv.bias, self.proj.bias)


class SwinBlock(nn.Module):
    def __init__(self, dim: int, heads: int, win: list, shift: list):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = ShiftedWindowAttention(dim, win, shift, heads, proj_bias=shift[0] == 0)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchMerging(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.reduction(self.norm(_patch_merging_pad(x)))


class Swin(nn.Module):
    """Patches of 4 (8 × 8 tokens of 32 × 32 images), windows of 3 (padded to 9) shifted by 1,
    a merge to 4 × 4 (no shift: one window covers it), a head."""

    def __init__(self, classes: int = 5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Sequential(nn.Conv2d(3, 16, 4, 4), Permute([0, 2, 3, 1]), nn.LayerNorm(16)),
            nn.Sequential(SwinBlock(16, 2, [3, 3], [0, 0]), SwinBlock(16, 2, [3, 3], [1, 1])),
            PatchMerging(16),
            nn.Sequential(SwinBlock(32, 4, [4, 4], [0, 0]), SwinBlock(32, 4, [4, 4], [2, 2])))
        self.norm = nn.LayerNorm(32)
        self.permute = Permute([0, 3, 1, 2])
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.head = nn.Linear(32, classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.permute(self.norm(self.features(x)))
        return self.head(self.flatten(self.avgpool(x)))


class Permute(nn.Module):
    def __init__(self, dims: list):
        super().__init__()
        self.dims = dims

    def forward(self, x: Tensor) -> Tensor:
        return torch.permute(x, self.dims)


# --- MaxViT --------------------------------------------------------------------------------

class RelativePositionalMultiHeadAttention(nn.Module):
    def __init__(self, feat_dim: int, head_dim: int, max_seq_len: int):
        super().__init__()
        self.n_heads, self.head_dim = feat_dim // head_dim, head_dim
        self.size = int(max_seq_len ** 0.5)
        self.max_seq_len = max_seq_len
        self.to_qkv = nn.Linear(feat_dim, 3 * feat_dim)
        self.scale_factor = feat_dim ** -0.5
        self.merge = nn.Linear(feat_dim, feat_dim)
        self.relative_position_bias_table = nn.Parameter(
            torch.randn((2 * self.size - 1) ** 2, self.n_heads) * 0.5)
        self.register_buffer("relative_position_index", _relative_index(self.size, self.size))

    def forward(self, x: Tensor) -> Tensor:
        b, g, p, d = x.shape
        q, k, v = torch.chunk(self.to_qkv(x), 3, dim=-1)
        q, k, v = (t.reshape(b, g, p, self.n_heads, self.head_dim).permute(0, 1, 3, 2, 4)
                   for t in (q, k, v))
        logits = torch.einsum("bghid,bghjd->bghij", q, k * self.scale_factor)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        logits = logits + bias.view(p, p, -1).permute(2, 0, 1).unsqueeze(0)
        out = torch.einsum("bghij,bghjd->bghid", logits.softmax(-1), v)
        return self.merge(out.permute(0, 1, 3, 2, 4).reshape(b, g, p, d))


class WindowPartition(nn.Module):
    def forward(self, x: Tensor, p: int) -> Tensor:
        b, c, h, w = x.shape
        x = x.reshape(b, c, h // p, p, w // p, p).permute(0, 2, 4, 3, 5, 1)
        return x.reshape(b, (h // p) * (w // p), p * p, c)


class WindowDepartition(nn.Module):
    def forward(self, x: Tensor, p: int, h_partitions: int, w_partitions: int) -> Tensor:
        b, g, pp, c = x.shape
        x = x.reshape(b, h_partitions, w_partitions, p, p, c).permute(0, 5, 1, 3, 2, 4)
        return x.reshape(b, c, h_partitions * p, w_partitions * p)


class PartitionAttention(nn.Module):
    """Attention within p × p windows ("window") or across a p × p grid ("grid")."""

    def __init__(self, dim: int, kind: str, p: int, size: int):
        super().__init__()
        self.p, self.n = p, size // p
        self.kind = kind
        self.partition_op, self.departition_op = WindowPartition(), WindowDepartition()
        self.g = self.n if kind == "window" else p  # partition size as the op sees it
        self.norm = nn.LayerNorm(dim)
        self.attn = RelativePositionalMultiHeadAttention(dim, 8, p * p)
        self.mlp = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, 2 * dim), nn.GELU(),
                                 nn.Linear(2 * dim, dim))

    def forward(self, x: Tensor) -> Tensor:
        gh, gw = (self.n, self.n) if self.kind == "window" else (self.p, self.p)
        part = self.p if self.kind == "window" else self.n
        x = self.partition_op(x, part)
        if self.kind == "grid":
            x = torch.swapaxes(x, -2, -3)
        x = x + self.attn(self.norm(x))
        x = x + self.mlp(x)
        if self.kind == "grid":
            x = torch.swapaxes(x, -2, -3)
        return self.departition_op(x, part, gh, gw)


class MaxViTBlock(nn.Module):
    def __init__(self, dim: int = 16, p: int = 2, size: int = 8, classes: int = 5):
        super().__init__()
        self.stem = nn.Conv2d(3, dim, 4, 4)
        self.window_attention = PartitionAttention(dim, "window", p, size)
        self.grid_attention = PartitionAttention(dim, "grid", p, size)
        self.head = nn.Linear(dim, classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.grid_attention(self.window_attention(self.stem(x)))
        return self.head(x.mean((2, 3)))


# NOTE: the importer knows torchvision's classes and functions by their qualified names
# (torchvision is not a dependency): these copies carry them.
ShiftedWindowAttention.__module__ = _patch_merging_pad.__module__ = \
    "torchvision.models.swin_transformer"
RelativePositionalMultiHeadAttention.__module__ = "torchvision.models.maxvit"
