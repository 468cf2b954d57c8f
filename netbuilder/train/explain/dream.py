"""What does a unit look for? Activation maximisation from noise and deep dream on a picture:
gradient ascent on the input (steps of a fixed mean size), with random jitter and a periodic
blur keeping it natural."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..predictor import PredictError
from .model import capture


def _unit(out, channel: int | None) -> torch.Tensor:
    """The mean activation of ``channel`` (or of the whole output when None)."""
    if not torch.is_tensor(out):
        raise PredictError("This node's output is not a tensor: pick a layer node")
    if channel is None:
        return out.float().pow(2).mean() * 0.5  # deep dream: amplify whatever is there
    if out.ndim < 2 or not 0 <= channel < out.shape[1]:
        have = out.shape[1] if out.ndim >= 2 else 0
        raise PredictError(f"Channel {channel} does not exist: this node has {have} channels "
                           f"(0 to {have - 1})")
    return out[:, channel].float().mean()


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """A separable Gaussian blur of a (N, C, H, W) picture (3-tap to 5-tap kernel)."""
    radius = max(1, min(2, round(2 * sigma)))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-t ** 2 / (2 * sigma ** 2))
    k = k / k.sum()
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="replicate"),
                 k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(F.pad(x, (0, 0, radius, radius), mode="replicate"),
                    k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def _ascend(model: torch.nn.Module, layer: torch.nn.Module, start: torch.Tensor,
            channel: int | None, steps: int, lr: float, jitter: int, blur_every: int,
            blur_sigma: float, x_range: tuple[float, float] | None, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    image = start.detach().clone().requires_grad_(True)
    pictures = image.ndim == 4
    with capture([layer]) as seen:
        for step in range(steps):
            image.grad = None
            x = image
            if jitter and pictures:  # a shifted view each step: no pixel-grid artefacts
                dy, dx = (int(v) for v in torch.randint(-jitter, jitter + 1, (2,), generator=gen))
                x = torch.roll(image, shifts=(dy, dx), dims=(2, 3))
            model(x)
            _unit(seen[0], channel).backward()
            with torch.no_grad():
                # a step of mean size ``lr`` whatever the gradient's scale (as deep dream does)
                image += lr * image.grad / (image.grad.abs().mean() + 1e-12)
                if pictures and blur_every and (step + 1) % blur_every == 0:
                    image.copy_(_blur(image, blur_sigma))
                if x_range is not None:
                    image.clamp_(x_range[0], x_range[1])
    return image.detach()


def maximize_activation(model: torch.nn.Module, layer: torch.nn.Module, channel: int,
                        shape: tuple[int, ...], steps: int = 128, lr: float = 0.05,
                        jitter: int = 1, blur_every: int = 4, blur_sigma: float = 0.5,
                        x_range: tuple[float, float] | None = (0.0, 1.0), seed: int = 0
                        ) -> torch.Tensor:
    """The input (1, *shape), grown from faint noise, that most excites ``channel`` of
    ``layer`` (its mean activation), with jitter and blur regularisers."""
    lo, hi = x_range if x_range is not None else (0.0, 1.0)
    gen = torch.Generator().manual_seed(seed)
    start = lo + (hi - lo) * (0.5 + 0.1 * torch.randn((1, *shape), generator=gen))
    return _ascend(model, layer, start, channel, steps, lr, jitter, blur_every, blur_sigma,
                   x_range, seed)


def deep_dream(model: torch.nn.Module, layer: torch.nn.Module, image: torch.Tensor,
               channel: int | None = None, steps: int = 32, lr: float = 0.01, jitter: int = 1,
               blur_every: int = 8, blur_sigma: float = 0.5,
               x_range: tuple[float, float] | None = (0.0, 1.0), seed: int = 0
               ) -> torch.Tensor:
    """``image`` (1, *shape) changed to amplify what ``layer`` (or one ``channel``) sees in it."""
    return _ascend(model, layer, image, channel, steps, lr, jitter, blur_every, blur_sigma,
                   x_range, seed)
