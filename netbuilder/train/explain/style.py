"""Neural style transfer (Gatys et al.): an image whose features at chosen nodes match a
content image and whose Gram matrices there match a style image's."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F

from ..predictor import PredictError
from .model import RunModel, capture


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
                   progress: Callable[[int, float, torch.Tensor], bool | None] | None = None
                   ) -> torch.Tensor:
    """Optimise a copy of ``content`` (1, *shape) with Adam for ``steps`` steps; the loss is
    ``content_weight``·Σ MSE(features, content's) + ``style_weight``·Σ MSE(Gram, style's).
    ``progress(step, loss, image)`` follows each step; when it returns True the optimisation
    ends there (a person pressed Stop)."""
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
            if progress is not None and progress(step, float(loss.detach()), image.detach()):
                break
    return image.detach()


def stylise(run: RunModel, nodes: Sequence[str], content: str | Path | torch.Tensor,
            style: str | Path | torch.Tensor, content_weight: float = 1.0,
            style_weight: float = 1000.0, steps: int = 200, lr: float = 0.05,
            progress: Callable[[int, float, torch.Tensor], bool | None] | None = None
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Style transfer with a run's trained model: ``nodes`` by name, the pictures as files (or
    inputs already shaped like the Input). Returns (content, style, result) inputs."""
    names = [n.strip() for n in nodes if n.strip()]
    if not names:
        raise PredictError("Style transfer needs at least one node whose features to match, "
                           "e.g. conv1,conv2")
    layers = [run.node(n) for n in names]
    content = content if isinstance(content, torch.Tensor) else run.picture(content)
    style = style if isinstance(style, torch.Tensor) else run.picture(style)
    out = style_transfer(run.net, layers, content, style, content_weight, style_weight,
                         steps=steps, lr=lr, x_range=run.x_range, progress=progress)
    return content, style, out
