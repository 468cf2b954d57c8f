"""Neural style transfer (Gatys et al.): an image whose features at chosen nodes match a
content image and whose Gram matrices there match a style image's."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from ..predictor import PredictError
from .model import capture


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """(N, C, *spatial) → (N, C, C): ``F Fᵀ / (C · spatial size)`` with F the (C, positions)
    matrix of each sample."""
    if features.ndim < 3:
        raise PredictError(f"A Gram matrix needs features with channels and positions "
                           f"(N, C, ...), not {tuple(features.shape)}")
    n, c = features.shape[:2]
    f = features.reshape(n, c, -1)
    return f @ f.transpose(1, 2) / (c * f.shape[2])


def style_transfer(model: torch.nn.Module, layers: Sequence[torch.nn.Module],
                   content: torch.Tensor, style: torch.Tensor, content_weight: float = 1.0,
                   style_weight: float = 1000.0, steps: int = 200, lr: float = 0.05,
                   x_range: tuple[float, float] | None = (0.0, 1.0),
                   progress: Callable[[int, float], None] | None = None) -> torch.Tensor:
    """Optimise a copy of ``content`` (1, *shape) with Adam for ``steps`` steps; the loss is
    ``content_weight``·Σ MSE(features, content's) + ``style_weight``·Σ MSE(Gram, style's)."""
    if not layers:
        raise PredictError("Style transfer needs at least one node whose features to match")
    with torch.no_grad(), capture(layers) as seen:
        model(content.detach())
        want_content = [f.detach().clone() for f in seen]
        model(style.detach())
        want_style = [gram_matrix(f).detach() for f in seen]
    image = content.detach().clone().requires_grad_(True)
    opt = torch.optim.Adam([image], lr=lr)
    with capture(layers) as seen:
        for step in range(steps):
            opt.zero_grad()
            model(image)
            loss = content_weight * sum(F.mse_loss(f, w) for f, w in zip(seen, want_content)) \
                + style_weight * sum(F.mse_loss(gram_matrix(f), g)
                                     for f, g in zip(seen, want_style))
            loss.backward()
            opt.step()
            if x_range is not None:
                with torch.no_grad():
                    image.clamp_(x_range[0], x_range[1])
            if progress is not None:
                progress(step, float(loss.detach()))
    return image.detach()
