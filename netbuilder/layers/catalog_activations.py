"""The rest of torch.nn's activations: bounded, smooth, shrinking, gated and randomized ones."""
from __future__ import annotations

from . import import_rules as imp
from .define import P, RankRule, activation

_F = "torch.nn.functional."  # where the importer finds the functional forms


def _functional(name: str, *params: str, **knowledge) -> dict:
    """The importer's knowledge of ``F.<name>(input, *params)``."""
    return {"functions": (f"{_F}{name}", *knowledge.pop("also", ())),
            "from_call": imp.unary(*params), **knowledge}


_LAMBDA = P("lambd", "float", 0.5, "Values within ±lambd become 0", min=0.0, max=1e6)

activation("ReLU6", "ReLU capped at 6: min(max(0, x), 6) (MobileNet).",
           aliases=("relu6", "clipped relu", "mobilenet"),
           **_functional("relu6", output_range="nonnegative"))
activation("Hardswish", "Piecewise-linear swish x·ReLU6(x+3)/6 (MobileNetV3).",
           aliases=("hard swish", "h-swish", "mobilenetv3"),
           **_functional("hardswish"))
activation("Hardsigmoid", "Piecewise-linear sigmoid ReLU6(x+3)/6 (cheap gates, SE blocks).",
           aliases=("hard sigmoid", "h-sigmoid"),
           **_functional("hardsigmoid", output_range="unit_interval"))
activation("Hardtanh", "Clamps to [min_val, max_val]: a cheap tanh.",
           (P("min_val", "float", -1.0, "Lower bound", min=-1e6, max=1e6),
            P("max_val", "float", 1.0, "Upper bound", min=-1e6, max=1e6)),
           aliases=("hard tanh", "clamp", "clip"), defaults={"min_val": -1.0, "max_val": 1.0},
           **_functional("hardtanh", "min_val", "max_val"))
activation("Mish", "Smooth self-gated activation x·tanh(softplus(x)) (YOLOv4).",
           aliases=("mish",),
           **_functional("mish"))
activation("SELU", "Scaled ELU: self-normalizing networks (pair with AlphaDropout).",
           aliases=("scaled elu", "self-normalizing"),
           **_functional("selu", also=("torch.selu",)))
activation("CELU", "Continuously differentiable ELU: max(0,x) + min(0, α(exp(x/α)−1)).",
           (P("alpha", "float", 1.0, "Saturation value for negative inputs", min=1e-6,
              max=1e6),), defaults={"alpha": 1.0}, aliases=("continuous elu",),
           **_functional("celu", "alpha", also=("torch.celu",)))
activation("Softplus", "Smooth ReLU log(1 + exp(βx))/β, for positive outputs (variances).",
           (P("beta", "float", 1.0, "Sharpness β", min=1e-6, max=1e6),
            P("threshold", "float", 20.0, "Above threshold/β the output is x itself", min=0.0,
              max=1e6)), defaults={"beta": 1.0, "threshold": 20.0},
           aliases=("smooth relu", "positive"),
           **_functional("softplus", "beta", "threshold", output_range="nonnegative"))
activation("Softsign", "x / (1 + |x|): a tanh with polynomial tails.", aliases=("soft sign",),
           **_functional("softsign", output_range="signed_unit"))
activation("Softmin", "Softmax of −x: probabilities favouring the smallest values.",
           (P("dim", "int", -1, "Dimension that sums to one", min=-8, max=8),), defaults={},
           same_shape=False, aliases=("soft min",),
           output_range="probabilities", functions=(f"{_F}softmin",),
           from_call=imp.softmax_call)
activation("Softmax2d", "Softmax over the channels at every pixel (segmentation maps).",
           defaults={}, same_shape=False, aliases=("spatial softmax", "channel softmax"),
           rank=RankRule((3,), "(N, C, H, W)"), output_range="probabilities")
activation("LogSigmoid", "log(σ(x)): stable log-probabilities of a binary output.",
           aliases=("log sigmoid",),
           **_functional("logsigmoid"))
activation("GLU", "Gated linear unit: splits dim in halves a, b and returns a·σ(b).",
           (P("dim", "int", -1, "Dimension halved (its size must be even)", min=-8, max=8),),
           defaults={"dim": -1}, same_shape=False, aliases=("gated linear unit", "gate"),
           **_functional("glu", "dim"))
activation("Threshold", "Replaces values not above threshold by value.",
           (P("threshold", "float", 0.0, "Values ≤ this are replaced", min=-1e6, max=1e6),
            P("value", "float", 0.0, "What they are replaced by", min=-1e6, max=1e6)),
           defaults={}, aliases=("step", "cut off"),
           **_functional("threshold", "threshold", "value"))
activation("Tanhshrink", "x − tanh(x): shrinks small values towards 0.", aliases=("tanh shrink",),
           **_functional("tanhshrink"))
activation("Softshrink", "Soft thresholding: moves values towards 0 by lambd (sparse codes).",
           (_LAMBDA,), defaults={"lambd": 0.5}, aliases=("soft threshold", "shrinkage"),
           **_functional("softshrink", "lambd"))
activation("Hardshrink", "Hard thresholding: zeroes values within ±lambd.",
           (_LAMBDA,), defaults={"lambd": 0.5}, aliases=("hard threshold",),
           **_functional("hardshrink", "lambd"))
activation("RReLU", "Randomized leaky ReLU: a random negative slope while training, the mean "
           "in eval.",
           (P("lower", "float", 1 / 8, "Lowest negative slope", min=0.0, max=1.0),
            P("upper", "float", 1 / 3, "Highest negative slope", min=0.0, max=1.0)),
           defaults={"lower": 1 / 8, "upper": 1 / 3}, aliases=("randomized relu",))
