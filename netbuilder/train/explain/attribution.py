"""Why did the network say that? Saliency, integrated gradients, SmoothGrad, Grad-CAM and
occlusion of one input, with Captum as the engine, as a map of the input's spatial size."""
from __future__ import annotations

import numpy as np
import torch

from ..predictor import PredictError
from . import METHODS


def explain(model: torch.nn.Module, x: torch.Tensor, method: str, target: int | None = None,
            layer: torch.nn.Module | None = None, window: int = 4, steps: int = 32,
            samples: int = 16, noise: float = 0.15) -> np.ndarray:
    """The attribution map of one input ``x`` (1, *shape) for class ``target`` (default: the
    predicted one): (H, W) for pictures, (features,) for vectors.

    saliency: max |∂y/∂x| over channels. integrated_gradients: Σ over channels of
    (x − 0)·∫∂y/∂x along the straight path from a black input (``steps`` points). smoothgrad:
    saliency averaged over ``samples`` noisy copies (noise σ = ``noise`` × the input's range).
    gradcam: ReLU(Σ_k α_k A_k) of ``layer``'s (N, C, h, w) output, upsampled bilinearly.
    occlusion: the drop of the class score when a ``window``-sized black square covers each
    place (stride window/2), summed over channels.
    """
    if method not in METHODS:
        raise PredictError(f"Unknown explanation method {method!r}; choose one of "
                           f"{', '.join(METHODS)}")
    if x.ndim < 2 or x.shape[0] != 1:
        raise PredictError(f"explain takes one input shaped (1, ...), not {tuple(x.shape)}")
    x = x.detach().float().requires_grad_(True)  # Captum warns when it must set this
    if target is None:
        with torch.no_grad():
            target = int(model(x).reshape(1, -1).argmax(1))
    if method == "gradcam":
        return _gradcam(model, x, target, layer)
    from captum.attr import IntegratedGradients, NoiseTunnel, Occlusion, Saliency

    if method == "saliency":
        attr = Saliency(model).attribute(x, target=target, abs=True)
        return _reduce(attr, "max")
    if method == "smoothgrad":
        span = float(x.detach().max() - x.detach().min()) or 1.0
        attr = NoiseTunnel(Saliency(model)).attribute(
            x, nt_type="smoothgrad", nt_samples=samples, stdevs=noise * span, target=target,
            abs=True)
        return _reduce(attr, "max")
    if method == "integrated_gradients":
        attr = IntegratedGradients(model).attribute(x, baselines=torch.zeros_like(x),
                                                    target=target, n_steps=steps)
        return _reduce(attr, "sum")
    if window < 1:
        raise PredictError(f"The occlusion window must be at least 1, not {window}")
    spatial = x.shape[2:] if x.ndim > 2 else x.shape[1:]
    size = tuple(min(window, int(s)) for s in spatial)
    stride = tuple(max(1, w // 2) for w in size)
    if x.ndim > 2:  # a window covers all channels at once
        size, stride = (int(x.shape[1]), *size), (int(x.shape[1]), *stride)
    attr = Occlusion(model).attribute(x, sliding_window_shapes=size, strides=stride,
                                      target=target, baselines=0.0, perturbations_per_eval=64)
    return _reduce(attr, "sum")


def _reduce(attr: torch.Tensor, how: str) -> np.ndarray:
    """(1, C, H, W) → (H, W) by max or sum over channels; a vector input stays a vector."""
    a = attr.detach()[0]
    if a.ndim >= 3:
        a = a.amax(0) if how == "max" else a.sum(0)
    return a.float().cpu().numpy()


def _gradcam(model: torch.nn.Module, x: torch.Tensor, target: int,
             layer: torch.nn.Module | None) -> np.ndarray:
    from captum.attr import LayerAttribution, LayerGradCam

    from .model import capture

    if layer is None:
        raise PredictError("Grad-CAM needs the convolutional node to look at: name one")
    if x.ndim != 4:
        raise PredictError(f"Grad-CAM explains pictures (1, C, H, W), not inputs shaped "
                           f"{tuple(x.shape)}")
    with capture([layer]) as seen, torch.no_grad():
        model(x)
    out = seen[0]
    if not torch.is_tensor(out) or out.ndim != 4:
        got = tuple(out.shape) if torch.is_tensor(out) else type(out).__name__
        raise PredictError(f"Grad-CAM needs a node with a spatial output (N, C, H, W); this "
                           f"node gives {got}: pick a convolutional node")
    cam = LayerGradCam(model, layer).attribute(x, target=target, relu_attributions=True)
    cam = LayerAttribution.interpolate(cam.detach(), tuple(x.shape[2:]), "bilinear")
    return cam[0, 0].float().cpu().numpy()
