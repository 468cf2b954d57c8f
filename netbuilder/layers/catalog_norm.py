"""More normalization and dropout: 3-D batch norm, instance, layer and RMS norms over trailing
dimensions, response normalization, and the channel-wise and self-normalizing dropouts."""
from __future__ import annotations

from . import import_rules as imp
from .define import Code, P, RankRule, activation, attrs, image_rule, layer, refusal
from .ops_common import from_input, sample_dim
from .spec import call

_EPS = P("eps", "float", 1e-5, "Added to the variance for stability", min=0.0, max=1.0)
_STATS = {"eps": 1e-5, "momentum": 0.1, "affine": True, "track_running_stats": True}


def _stats_norm(type_: str, dims: int, doc: str, aliases: tuple, short: str,
                affine: bool = True, rank: RankRule | None = None, **knowledge) -> None:
    params = (_EPS,
              P("momentum", "float", 0.1, "Running statistics update rate", min=0.0, max=1.0),
              P("affine", "bool", affine, "Learn a scale and shift"),
              P("track_running_stats", "bool", affine, "Keep running statistics for eval"))
    defaults = {**_STATS, "affine": affine, "track_running_stats": affine}
    layer(type_, "Normalization", doc, params,
          init=lambda c: call(f"nn.{type_}", (c.shape[0],), {k: c.params[k] for k in defaults},
                              defaults),
          aliases=aliases, short=short, rank=rank or image_rule(dims), same_shape=True,
          no_macs=True, torch_class=f"torch.nn.{type_}",
          from_module=attrs(*defaults), **knowledge)


_stats_norm("BatchNorm3d", 3, "Batch normalization over the channels of volumes or video.",
            ("batch norm 3d", "batchnorm3d"), "bn",
            weight_functions=("torch.nn.functional.batch_norm",),
            from_weights=lambda b: {**imp.batchnorm_weights(b), "track_running_stats": True})
for _d in (1, 2, 3):
    _stats_norm(f"InstanceNorm{_d}d", _d, f"Normalizes each channel of each sample over its "
                f"{_d}-D extent (style transfer).", ("instance normalization",
                                                    f"instance norm {_d}d", "contrast norm"),
                "inorm", affine=False)


def _trailing(c) -> Code | int | tuple:
    """normalized_shape: the last ``dims`` sizes of the input."""
    k = c.params["dims"]
    if k > len(c.shape):
        return Code(refusal(f"it normalizes over the last {k} dimensions but each sample has "
                            f"{len(c.shape)}: set dims to {len(c.shape)} or less"))
    shape = tuple(c.shape[-k:])
    return shape[0] if len(shape) == 1 else shape


def _normalized_shape(m) -> dict:
    return {"dims": len(m.normalized_shape), **attrs("elementwise_affine")(m)}


_DIMS = P("dims", "int", 1, "How many trailing dimensions to normalize over (the last k: 1 for "
                            "features, 3 for (C, H, W))", min=1, max=8)

layer("LayerNorm", "Normalization",
      "Normalizes each sample over its last dims dimensions (transformers).",
      (_DIMS, _EPS, P("elementwise_affine", "bool", True, "Learn a scale and shift"),
       P("bias", "bool", True, "Learn the shift (with elementwise_affine)")),
      init=lambda c: call("nn.LayerNorm", (_trailing(c),), {
          k: c.params[k] for k in ("eps", "elementwise_affine", "bias")},
          {"eps": 1e-5, "elementwise_affine": True, "bias": True}),
      aliases=("layer normalization", "ln"), short="ln", same_shape=True, no_macs=True,
      torch_class="torch.nn.LayerNorm",
      from_module=lambda m: {**_normalized_shape(m), "eps": m.eps,
                             "bias": m.bias is not None or not m.elementwise_affine},
      weight_functions=("torch.nn.functional.layer_norm",), from_weights=imp.layernorm_weights)

layer("LayerNorm2d", "Normalization",
      "Normalizes each pixel of (N, C, H, W) images over its channels: a LayerNorm on the "
      "channels-last view (ConvNeXt's stem and downsampling).",
      (_EPS, P("elementwise_affine", "bool", True, "Learn a scale and shift"),
       P("bias", "bool", True, "Learn the shift (with elementwise_affine)")),
      init=lambda c: call("LayerNorm2d", (c.shape[0],), {
          k: c.params[k] for k in ("eps", "elementwise_affine", "bias")},
          {"eps": 1e-5, "elementwise_affine": True, "bias": True}),
      helpers=("LayerNorm2d",),
      aliases=("channels first layer norm", "layer norm 2d", "convnext norm"), short="ln",
      rank=image_rule(2), same_shape=True, no_macs=True,
      torch_class="netbuilder.layers.modules.LayerNorm2d",
      from_module=lambda m: {"eps": m.eps, "elementwise_affine": m.elementwise_affine,
                             "bias": m.bias is not None or not m.elementwise_affine},
      weight_functions=("torch.nn.functional.layer_norm",), permuted=(0, 2, 3, 1),
      from_weights=imp.channels_layernorm_weights)

layer("RMSNorm", "Normalization",
      "Scales each sample by the root mean square of its last dims dimensions (LLaMA).",
      (_DIMS, P("eps", "float", None, "Added for stability (auto: the dtype's epsilon)",
                min=0.0, max=1.0, optional=True),
       P("elementwise_affine", "bool", True, "Learn a scale")),
      init=lambda c: call("nn.RMSNorm", (_trailing(c),), {
          k: c.params[k] for k in ("eps", "elementwise_affine")},
          {"eps": None, "elementwise_affine": True}),
      aliases=("root mean square norm", "rms norm", "llama"), short="rms", same_shape=True,
      no_macs=True, torch_class="torch.nn.RMSNorm",
      from_module=lambda m: {**_normalized_shape(m), "eps": m.eps})

_LRN = (P("size", "int", 5, "Neighbouring channels normalized over", min=1, max=4096),
        P("alpha", "float", 1e-4, "Multiplicative factor", min=0.0, max=1e6),
        P("beta", "float", 0.75, "Exponent", min=0.0, max=1e6),
        P("k", "float", 1.0, "Additive factor", min=0.0, max=1e6))
layer("LocalResponseNorm", "Normalization",
      "Normalizes each channel by its neighbours across channels (AlexNet).", _LRN,
      init=lambda c: call("nn.LocalResponseNorm", (c.params["size"],), {
          k: c.params[k] for k in ("alpha", "beta", "k")},
          {"alpha": 1e-4, "beta": 0.75, "k": 1.0}),
      aliases=("lrn", "local response normalization", "alexnet"), short="lrn",
      rank=RankRule((2, 3, 4), "(N, C, ...)"), same_shape=True, no_macs=True,
      torch_class="torch.nn.LocalResponseNorm", from_module=attrs("size", "alpha", "beta", "k"))
layer("CrossMapLRN2d", "Normalization",
      "Lua Torch's cross-channel response normalization of (C, H, W) maps.", _LRN,
      init=lambda c: call("nn.CrossMapLRN2d", (c.params["size"],), {
          k: c.params[k] for k in ("alpha", "beta", "k")},
          {"alpha": 1e-4, "beta": 0.75, "k": 1.0}),
      aliases=("cross map lrn", "lua lrn"), short="lrn", rank=image_rule(2), same_shape=True,
      no_macs=True, torch_class="torch.nn.CrossMapLRN2d",
      from_module=attrs("size", "alpha", "beta", "k"))

# --- Dropout ---------------------------------------------------------------------------------

for _type, _doc, _aliases, _rank in (
    ("Dropout1d", "Zeroes whole random channels of (C, L) signals during training.",
     ("channel dropout 1d", "spatial dropout 1d"), image_rule(1)),
    ("Dropout3d", "Zeroes whole random channels of volumes during training.",
     ("channel dropout 3d", "spatial dropout 3d"), image_rule(3)),
    ("AlphaDropout", "Dropout that keeps zero mean and unit variance (with SELU).",
     ("selu dropout", "self-normalizing dropout"), None),
    ("FeatureAlphaDropout", "Alpha dropout of whole channels (with SELU).",
     ("channel alpha dropout",), RankRule((2, 3, 4), "(N, C, ...)")),
):
    _kw = {"passes_values": True, "functions": (f"torch.nn.functional.{_type.lower()}",),
           "from_call": imp.unary("p")} if _type in ("Dropout1d", "Dropout3d") else {}
    activation(_type, _doc, (P("p", "float", 0.5, "Probability of dropping", min=0.0,
                               max=1.0),), _aliases, {"p": 0.5}, "drop",
               category="Regularization", rank=_rank, **_kw)

layer("StochasticDepth", "Regularization",
      "Stochastic depth (drop path): in training, drops a residual branch for whole samples "
      "(row) or the whole batch, scaling the rest; the identity in evaluation.",
      (P("p", "float", 0.1, "Probability of dropping the branch", min=0.0, max=1.0),
       P("mode", "choice", "row", "Drop per sample (row) or for the whole batch",
         choices=("row", "batch"))),
      init=lambda c: call("StochasticDepth", (c.params["p"],), {"mode": c.params["mode"]},
                          {"mode": "row"}),
      helpers=("StochasticDepth",), aliases=("drop path", "droppath", "stochastic depth"),
      short="drop", same_shape=True, no_macs=True, passes_values=True,
      subtitle=lambda p: f"p={p['p']:g} {p['mode']}",
      torch_class="netbuilder.layers.modules.StochasticDepth",
      import_classes=("torchvision.ops.stochastic_depth.StochasticDepth",),
      from_module=attrs("p", "mode"))

# --- Normalize: each vector scaled to unit p-norm (cosine attention, embeddings) ------------


def _normalize(c) -> list[str]:
    sample_dim(c.params["dim"], c.shape)
    args = {k: c.params[k] for k in ("p", "dim", "eps")}
    text = call("F.normalize", (Code(c.x),), args, {"p": 2.0, "dim": 1, "eps": 1e-12})
    return [f"{c.out} = {text}"]


layer("Normalize", "Normalization",
      "Scales each vector along one dimension to unit p-norm (F.normalize): cosine "
      "similarity, XCiT's and EdgeNeXt's cross-covariance attention, embeddings.",
      (P("p", "float", 2.0, "The p of the norm (2: Euclidean length)", min=0.0, max=1e6),
       P("dim", "int", 1, "Dimension along which vectors are normalized; never 0, the batch",
         min=-8, max=8),
       P("eps", "float", 1e-12, "Smallest norm divided by", min=0.0, max=1.0)),
      forward=_normalize, functional=True,
      aliases=("l2 normalize", "unit length", "cosine", "f.normalize"), short="normalize",
      same_shape=True, no_macs=True, subtitle=lambda p: f"L{p['p']:g} dim={p['dim']}",
      functions=("torch.nn.functional.normalize",),
      from_call=from_input("p", "dim", "eps"))
