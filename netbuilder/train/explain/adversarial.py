"""Adversarial examples: FGSM and PGD perturbations within an ε-ball (L∞), and how accuracy
falls as ε grows. The loss is cross-entropy on the model's outputs taken as logits; the
attacks themselves are the training recipe's (adversarial training makes the same ones)."""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from .. import recipe
from ..predictor import PredictError
from . import ATTACKS


def _cross_entropy(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(out.reshape(len(out), -1), y.long())


def _check_eps(eps: float) -> None:
    if not eps >= 0:
        raise PredictError(f"ε must be a number of at least 0, not {eps}")


def fgsm(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float,
         x_range: tuple[float, float] | None = None) -> torch.Tensor:
    """``x + ε·sign(∇ₓ loss)`` (then clamped into ``x_range`` when given)."""
    _check_eps(eps)
    return recipe.fgsm(model, x, y, eps, _cross_entropy, x_range)


def pgd(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, steps: int = 10,
        step_size: float | None = None, x_range: tuple[float, float] | None = None,
        random_start: bool = True, seed: int = 0) -> torch.Tensor:
    """Projected gradient descent (Madry et al.): ``steps`` signed-gradient steps of
    ``step_size`` (default 2.5·ε/steps), each projected back into the L∞ ball of radius ε
    around ``x`` (and into ``x_range``); the random start is drawn from ``seed``."""
    _check_eps(eps)
    gen = torch.Generator(device=x.device).manual_seed(seed)
    return recipe.pgd(model, x, y, eps, _cross_entropy, steps, step_size, x_range,
                      random_start, gen)


@torch.no_grad()
def predictions(model: torch.nn.Module, x: torch.Tensor, batch: int = 512) -> torch.Tensor:
    """The predicted class of each input."""
    return torch.cat([model(x[i:i + batch]).reshape(len(x[i:i + batch]), -1).argmax(1)
                      for i in range(0, len(x), batch)])


def accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 512
             ) -> float:
    """The fraction of inputs whose predicted class is their label."""
    return float((predictions(model, x, batch) == y.long()).float().mean())


def robustness_curve(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
                     eps_values: Sequence[float], method: str = "fgsm",
                     x_range: tuple[float, float] | None = None, batch: int = 512,
                     **options) -> list[tuple[float, float]]:
    """[(ε, accuracy on the perturbed inputs)] for each ε (ε = 0 is the clean accuracy)."""
    if method not in ATTACKS:
        raise PredictError(f"Unknown attack {method!r}; choose one of {', '.join(ATTACKS)}")
    attacks = {"fgsm": fgsm, "pgd": pgd}
    curve = []
    for eps in eps_values:
        adv = torch.cat([attacks[method](model, x[i:i + batch], y[i:i + batch], eps,
                                         x_range=x_range, **options)
                         for i in range(0, len(x), batch)])
        curve.append((float(eps), accuracy(model, adv, y, batch)))
    return curve
