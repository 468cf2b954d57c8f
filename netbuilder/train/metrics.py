"""Metric helpers (device tensors, no host sync) and conversions of tensors to uint8 pictures."""
from __future__ import annotations

import math

import numpy as np
import torch


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (logits.argmax(dim=-1) == y).float().mean()


def top_k_accuracy(logits: torch.Tensor, y: torch.Tensor, k: int) -> torch.Tensor:
    k = min(k, logits.shape[-1])
    top = logits.topk(k, dim=-1).indices
    return (top == y.unsqueeze(-1)).any(dim=-1).float().mean()


def confusion_update(matrix: torch.Tensor, logits: torch.Tensor, y: torch.Tensor) -> None:
    """Add a batch to a (K, K) int64 confusion matrix (rows: truth) on the device."""
    k = matrix.shape[0]
    pred = logits.argmax(dim=-1)
    matrix += torch.bincount(y * k + pred, minlength=k * k).reshape(k, k)


def per_class_accuracy(matrix: np.ndarray) -> np.ndarray:
    totals = matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(matrix) / np.maximum(totals, 1), np.nan)


def square_side(n: int) -> int | None:
    side = int(round(math.sqrt(n)))
    return side if side * side == n and side > 1 else None


def to_uint8_images(x: torch.Tensor, normalizer=None, image_shape: tuple | None = None
                    ) -> np.ndarray | None:
    """Inputs-like tensor → uint8 ``(N, C, H, W)`` in the data's original value range.

    Flattened images come back to ``image_shape`` (or a square when the length is one).
    Values are un-normalised, then mapped from [0, 1] (or their own range when outside it).
    """
    x = x.detach()
    if not x.is_floating_point():
        return None
    x = x.float()
    if normalizer is not None:
        try:
            x = normalizer.inverse(x)
        except Exception:  # a generated tensor of another shape: show it as it is
            pass
    if x.ndim == 2:
        n, f = x.shape
        if image_shape is not None and math.prod(image_shape) == f:
            x = x.reshape(n, *image_shape)
        elif (side := square_side(f)) is not None:
            x = x.reshape(n, 1, side, side)
        else:
            return None
    if x.ndim == 3 and x.shape[1] > 1 and x.shape[2] > 1 and image_shape is not None:
        x = x.unsqueeze(1)
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        return None
    lo, hi = x.amin(), x.amax()
    lo = torch.minimum(lo, torch.zeros_like(lo))
    hi = torch.maximum(hi, torch.ones_like(hi))
    x = (x - lo) / (hi - lo).clamp_min(1e-8)
    return (x.clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()


def activation_tile(a: torch.Tensor, levels: tuple[float, float], max_channels: int = 64
                    ) -> np.ndarray:
    """One sample's activation → uint8 (C, H, W) with fixed ``levels`` (low, high)."""
    a = a.detach().float()
    if a.ndim == 1:
        a = a.reshape(1, 1, -1)
    elif a.ndim == 2:
        a = a.unsqueeze(0)
    elif a.ndim > 3:
        a = a.reshape(a.shape[0], a.shape[1], -1)
    a = a[:max_channels]
    lo, hi = levels
    out = ((a - lo) / max(hi - lo, 1e-8)).clamp(0, 1) * 255
    return out.round().to(torch.uint8).cpu().numpy()


def activation_levels(a: torch.Tensor) -> tuple[float, float]:
    """Colour levels for a node from its first activations: 0..high for non-negative maps
    (after ReLU), symmetric −m..m otherwise; robust to a few hot pixels."""
    flat = a.detach().float().flatten()
    if flat.numel() > 100_000:
        flat = flat[:: flat.numel() // 100_000 + 1]
    lo = float(flat.min())
    hi = float(torch.quantile(flat.abs(), 0.99)) if flat.numel() else 1.0
    hi = max(hi, 1e-6)
    return (0.0, hi) if lo >= 0 else (-hi, hi)


def histogram(t: torch.Tensor, bins: int = 32) -> tuple[np.ndarray, np.ndarray]:
    t = t.detach().float().flatten()
    lo, hi = t.aminmax()
    lo_f, hi_f = float(lo), float(hi)
    if not (math.isfinite(lo_f) and math.isfinite(hi_f)):
        t = t[torch.isfinite(t)]
        lo_f, hi_f = (float(t.min()), float(t.max())) if t.numel() else (0.0, 1.0)
    if hi_f <= lo_f:
        hi_f = lo_f + 1e-6
    counts = torch.histc(t, bins=bins, min=lo_f, max=hi_f)
    edges = np.linspace(lo_f, hi_f, bins + 1, dtype=np.float32)
    return counts.cpu().numpy().astype(np.int64), edges
