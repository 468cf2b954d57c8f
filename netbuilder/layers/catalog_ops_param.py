"""Learned tensors (Parameter), fixed ones (Constant) and random tensors shaped like an input."""
from __future__ import annotations

import math

from .define import P, layer
from .ops_common import args_text, shape_text, unary
from .spec import fmt

# --- Parameter: a learned tensor that is no layer's weight -----------------------------------

PARAMETER_INITS = ("zeros", "ones", "normal", "trunc_normal", "uniform")


def parameter_init(params: dict) -> str:
    """The ``nn.Parameter(...)`` expression: shape (1, *shape), so it broadcasts over the batch."""
    dims = args_text((1, *params["shape"]))
    kind, std = params["init"], params["std"]
    tensor = {
        "zeros": f"torch.zeros({dims})",
        "ones": f"torch.ones({dims})",
        "normal": f"nn.init.normal_(torch.empty({dims}), std={std!r})",
        "trunc_normal": f"nn.init.trunc_normal_(torch.empty({dims}), std={std!r})",
        "uniform": f"nn.init.uniform_(torch.empty({dims}), {params['low']!r}, "
                   f"{params['high']!r})",
    }[kind]
    if kind == "uniform" and params["low"] >= params["high"]:
        raise ValueError(f"uniform init needs low < high, got low = {params['low']!r} and "
                         f"high = {params['high']!r}")
    return f"nn.Parameter({tensor})"


layer("Parameter", "Parameters",
      "A learned tensor of shape (1, *shape): class tokens, position embeddings. Its leading 1 "
      "broadcasts over the batch; Expand it to the batch to concatenate.",
      (P("shape", "shape", (1, 64), "Shape without the leading batch-1, e.g. (1, 64) for a "
         "class token, (197, 64) for position embeddings"),
       P("init", "choice", "trunc_normal", "Initial values", choices=PARAMETER_INITS),
       P("std", "float", 0.02, "Standard deviation of 'normal' and 'trunc_normal'", min=0.0,
         max=100.0),
       P("low", "float", -0.1, "Lower bound of 'uniform'"),
       P("high", "float", 0.1, "Upper bound of 'uniform'")),
      inputs=(), init=lambda c: parameter_init(c.params),
      forward=lambda c: [f"{c.out} = self.{c.name}"],
      aliases=("learned tensor", "class token", "cls token", "position embedding",
               "nn.Parameter", "weights"),
      short="param", no_macs=True, subtitle=lambda p: f"{shape_text(p['shape'])}, {p['init']}")


def constant_init(params: dict) -> str:
    """The ``nn.Buffer(...)`` expression: a fixed (1, *shape) tensor that moves with the model."""
    dims = (1, *params["shape"])
    if params["fill"] == "arange":
        tensor = f"torch.arange({fmt(float(math.prod(dims)))}).reshape({args_text(dims)})"
    else:
        tensor = f"torch.full({fmt(dims)}, {params['value']!r})"
    return f"nn.Buffer({tensor}, persistent={params['persistent']!r})"


layer("Constant", "Parameters",
      "A fixed tensor of shape (1, *shape), registered as a buffer (it follows .to(device) and "
      "dtype changes, and is not trained): masks, offsets, position indices.",
      (P("shape", "shape", (1, 64), "Shape without the leading batch-1"),
       P("fill", "choice", "full", "Every entry 'value', or 0, 1, 2, ... in order (arange)",
         choices=("full", "arange")),
       P("value", "float", 0.0, "The value of every entry for 'full'"),
       P("persistent", "bool", False, "Save it in the state dict (torch's register_buffer)")),
      inputs=(), init=lambda c: constant_init(c.params),
      forward=lambda c: [f"{c.out} = self.{c.name}"],
      aliases=("buffer", "register_buffer", "fixed tensor", "position ids", "mask", "nn.Buffer"),
      short="const", no_macs=True, subtitle=lambda p: f"{shape_text(p['shape'])}, {p['fill']}")


# --- LayerScale: a learned per-channel gamma multiplied in forward ----------------------------

def _gamma_shape(c) -> tuple[int, ...]:
    """The gamma's shape: (C,), or (C, 1, ...) broadcasting over the spatial dims (keepdim)."""
    if not c.shape:
        raise ValueError("it scales channels but its input has none: give it (N, C, ...)")
    if c.params["channels"] == "last":
        return (c.shape[-1],)
    return (c.shape[0], *[1] * (len(c.shape) - 1)) if c.params["keepdim"] else (c.shape[0],)


def _layer_scale_forward(c) -> list[str]:
    gamma = f"self.{c.name}"
    if c.params["channels"] == "first" and not c.params["keepdim"] and len(c.shape) > 1:
        gamma += f".view({args_text((-1, *[1] * (len(c.shape) - 1)))})"  # over H, W
    return [f"{c.out} = {c.x} * {gamma}"]


layer("LayerScale", "Parameters",
      "Multiplies each channel by a learned gamma (CaiT's layer scale, ConvNeXt's gamma): "
      "x * gamma, the gamma held as the node's own tensor so its state-dict key is the "
      "node's name.",
      (P("init_value", "float", 1e-5, "Initial value of every gamma (small: the residual "
         "branch starts almost off)"),
       P("channels", "choice", "last", "Which dimension the gammas scale: the last "
         "(tokens, channels-last images) or the first after the batch (N, C, H, W)",
         choices=("last", "first")),
       P("keepdim", "bool", False, "With channels 'first': hold the gamma as (C, 1, 1) "
         "(torchvision's ConvNeXt) rather than (C,) viewed in forward (timm's)")),
      init=lambda c: f"nn.Parameter(torch.full({fmt(_gamma_shape(c))}, "
                     f"{c.params['init_value']!r}))",
      forward=_layer_scale_forward,
      aliases=("layer scale", "gamma", "channel scale", "scale per channel", "ls"),
      short="gamma", same_shape=True, no_macs=True,
      subtitle=lambda p: f"×γ {p['channels']}, {p['init_value']:g}")

# --- Random tensors ---------------------------------------------------------------------------

_LIKE = "Random"
layer("RandnLike", _LIKE, "Standard normal noise N(0, 1) shaped like the input "
      "(torch.randn_like), in training and evaluation alike.",
      forward=unary(lambda x: f"torch.randn_like({x})"),
      aliases=("gaussian noise", "normal noise", "randn", "epsilon", "sample normal"),
      short="randn", same_shape=True, no_macs=True,
      functions=("randn_like", "torch.randn_like"), from_call=lambda b: ({}, [b["input"]]))
layer("RandLike", _LIKE, "Uniform noise in [0, 1) shaped like the input (torch.rand_like).",
      forward=unary(lambda x: f"torch.rand_like({x})"),
      aliases=("uniform noise", "rand", "random uniform"), short="rand", same_shape=True,
      no_macs=True, functions=("rand_like", "torch.rand_like"),
      from_call=lambda b: ({}, [b["input"]]))
layer("Bernoulli", _LIKE, "Draws 0 or 1 with the input's values as probabilities "
      "(torch.bernoulli): binary units, stochastic masks.",
      forward=unary(lambda x: f"torch.bernoulli({x})"),
      aliases=("binary sample", "coin flip", "stochastic binary"), short="bernoulli",
      same_shape=True, no_macs=True, functions=("bernoulli", "torch.bernoulli"),
      from_call=lambda b: ({}, [b["input"]]))
layer("GaussianNoise", _LIKE, "Adds N(0, std²) noise, in evaluation too (unlike Dropout): "
      "x + std * torch.randn_like(x).",
      (P("std", "float", 0.1, "Standard deviation of the noise", min=0.0, max=1e6),),
      forward=lambda c: [f"{c.out} = {c.x} + {c.params['std']!r} * torch.randn_like({c.x})"],
      aliases=("add noise", "noise injection", "jitter", "denoising corruption"),
      short="noise", same_shape=True, no_macs=True,
      subtitle=lambda p: f"std={p['std']}")

__all__ = ["PARAMETER_INITS", "constant_init", "parameter_init"]
