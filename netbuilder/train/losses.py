"""Loss functions by name: ``make_loss("cross_entropy")`` → ``f(output, target) -> scalar``.

Losses compute in float32 even under autocast (log/exp of bf16 lose too much), and take the
target as the task prepares it: class indices for cross_entropy/nll, same-shaped floats for the
others.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from .tasks.base import TrainingError

LOSS_NAMES = ("cross_entropy", "nll", "mse", "l1", "smooth_l1", "bce", "bce_logits",
              "contrastive")


def _float(t):
    return t.float() if torch.is_tensor(t) and t.is_floating_point() else t


def _ce(out, y):
    return F.cross_entropy(_float(out), y)


def _nll(out, y):
    return F.nll_loss(_float(out), y)


def _nll_of_probs(out, y):
    # A graph ending in Softmax gives probabilities: NLL of their log is cross-entropy.
    return F.nll_loss(torch.log(_float(out).clamp_min(1e-12)), y)


def _mse(out, y):
    return F.mse_loss(_float(out), _float(y).reshape(out.shape))


def _l1(out, y):
    return F.l1_loss(_float(out), _float(y).reshape(out.shape))


def _smooth_l1(out, y):
    return F.smooth_l1_loss(_float(out), _float(y).reshape(out.shape))


def _bce(out, y):
    with torch.autocast(out.device.type, enabled=False):
        p = _float(out).clamp(1e-7, 1 - 1e-7)
        return F.binary_cross_entropy(p, _float(y).reshape(out.shape))


def _bce_logits(out, y):
    return F.binary_cross_entropy_with_logits(_float(out), _float(y).reshape(out.shape))


def contrastive_loss(distance, same, margin: float = 1.0):
    """Hadsell et al.'s contrastive loss: pull pairs of one class together (d²), push other
    pairs at least ``margin`` apart (max(0, margin - d)²). ``same`` is 1 for a same-class pair."""
    d = _float(distance).reshape(-1)
    s = _float(same).reshape(-1)
    return (s * d.pow(2) + (1 - s) * F.relu(margin - d).pow(2)).mean() / 2


_LOSSES: dict[str, Callable] = {
    "cross_entropy": _ce, "nll": _nll, "mse": _mse, "l1": _l1, "smooth_l1": _smooth_l1,
    "bce": _bce, "bce_logits": _bce_logits, "contrastive": contrastive_loss,
}

CLASS_LOSSES = ("cross_entropy", "nll")


def make_loss(name: str, *, probabilities: bool = False) -> Callable:
    """The loss called ``name``. ``probabilities``: the model outputs probabilities (it ends
    in Softmax), so ``nll`` takes their log first."""
    if name == "nll" and probabilities:
        return _nll_of_probs
    try:
        return _LOSSES[name]
    except KeyError:
        raise TrainingError(f"There is no loss {name!r}; the losses are: "
                            f"{', '.join(LOSS_NAMES)}", field="loss") from None
