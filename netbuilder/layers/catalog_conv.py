"""Convolution, pooling, resampling, normalization and dropout."""
from __future__ import annotations

from . import import_rules as imp
from . import shapes
from . import subtitles as sub
from .define import P, RankRule, layer
from .spec import call


def _image_rule(dims: int) -> RankRule:
    want = "(N, C, L)" if dims == 1 else "(N, C, H, W)"
    rank = dims + 1

    def hint(r: int) -> str:
        if r < rank:
            return f"add an Unflatten or Reshape before it to make {want[4:]}"
        return "add a pooling or Flatten/Reshape layer before it"

    return RankRule((rank,), want, hint)


_CONV_DEFAULTS = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1, "bias": True,
                  "padding_mode": "zeros", "output_padding": 0}


def _conv(type_: str, dims: int, doc: str, aliases: tuple, transpose: bool = False):
    extra = (P("output_padding", "ints", 0, "Extra size added to one side of the output",
               min=0, max=64, length=dims),) if transpose else ()
    params = (
        P("out_channels", "int", 16, "Number of filters (output channels)", min=1, max=65536),
        P("kernel_size", "ints", 3, "Filter size", min=1, max=1024, length=dims),
        P("stride", "ints", 1, "Step between filter positions", min=1, max=1024, length=dims),
        P("padding", "ints", 0, "Zeros added to each side", min=0, max=1024, length=dims),
        *extra,
        P("dilation", "ints", 1, "Spacing between filter taps", min=1, max=1024, length=dims),
        P("groups", "int", 1, "Channel groups (in_channels for depthwise)", min=1, max=65536),
        P("bias", "bool", True, "Learn an additive bias"),
    )
    if not transpose:
        params += (P("padding_mode", "choice", "zeros", "How the border is padded",
                     choices=("zeros", "reflect", "replicate", "circular")),)
    names = [p.name for p in params if p.name not in ("out_channels", "kernel_size")]

    def init(c):
        kw = {"kernel_size": c.params["kernel_size"], **{k: c.params[k] for k in names}}
        return call(f"nn.{type_}", (c.shape[0], c.params["out_channels"]), kw, _CONV_DEFAULTS)

    layer(type_, "Convolution", doc, params, init=init, aliases=aliases, weight=True,
          short="deconv" if transpose else "conv", rank=_image_rule(dims),
          subtitle=sub.conv(dims), conv_dims=dims, probe="auto",
          # torch's transposed convolution is not a convolution's closed form: it runs on meta
          shape_rule=None if transpose else shapes.conv(dims),
          torch_class=f"torch.nn.{type_}", from_module=imp.conv(transpose))


_conv("Conv1d", 1, "1-D convolution over (channels, length) signals.",
      ("temporal convolution", "conv1d"))
_conv("Conv2d", 2, "2-D convolution: learned filters slide over (channels, height, width).",
      ("convolution", "conv", "cnn", "filter"))
_conv("ConvTranspose2d", 2, "Transposed 2-D convolution: learned upsampling (DCGAN, decoders).",
      ("deconvolution", "deconv", "transposed convolution", "upconv", "fractionally strided"),
      transpose=True)

_POOL_DEFAULTS = {"stride": None, "padding": 0, "ceil_mode": False}


_F = "torch.nn.functional."  # where the importer finds the functional forms


def _pool(type_: str, dims: int, doc: str, aliases: tuple, short: str, functions: tuple):
    params = (
        P("kernel_size", "ints", 2, "Window size", min=1, max=1024, length=dims),
        P("stride", "ints", None, "Step between windows (auto: the window size)", min=1,
          max=1024, length=dims, optional=True),
        P("padding", "ints", 0, "Padding on each side", min=0, max=512, length=dims),
        P("ceil_mode", "bool", False, "Round the output size up instead of down"),
    )

    def init(c):
        kw = {k: c.params[k] for k in ("stride", "padding", "ceil_mode")}
        return call(f"nn.{type_}", (c.params["kernel_size"],), kw, _POOL_DEFAULTS)

    layer(type_, "Pooling", doc, params, init=init, aliases=aliases, short=short,
          rank=_image_rule(dims), subtitle=sub.pool(dims), no_macs=True,
          shape_rule=shapes.pool(dims), torch_class=f"torch.nn.{type_}", from_module=imp.pool,
          functions=functions, from_call=imp.pool_call)


_pool("MaxPool1d", 1, "Maximum over sliding windows of a 1-D signal.", ("max pool 1d",), "pool",
      (f"{_F}max_pool1d", "torch.max_pool1d"))
_pool("MaxPool2d", 2, "Maximum over sliding windows: downsamples feature maps.",
      ("max pool", "maxpool", "subsampling", "downsample"), "pool",
      (f"{_F}max_pool2d", "torch.max_pool2d"))
_pool("AvgPool2d", 2, "Average over sliding windows (LeNet's subsampling).",
      ("average pool", "mean pool", "avgpool"), "avgpool", (f"{_F}avg_pool2d",))


def _adaptive(type_: str, doc: str, aliases: tuple):
    layer(type_, "Pooling", doc,
          (P("output_size", "ints", 1, "Output height and width", min=1, max=4096, length=2),),
          init=lambda c: call(f"nn.{type_}", (c.params["output_size"],)), aliases=aliases,
          short="gap" if "Avg" in type_ else "gmp", rank=_image_rule(2),
          subtitle=lambda p: f"→{sub.window(p['output_size'], 2)}", no_macs=True,
          shape_rule=shapes.adaptive, torch_class=f"torch.nn.{type_}",
          from_module=imp.adaptive, from_call=imp.adaptive_call,
          functions=(f"{_F}adaptive_{'avg' if 'Avg' in type_ else 'max'}_pool2d",))


_adaptive("AdaptiveAvgPool2d", "Averages each map down to a fixed size (global average pooling).",
          ("global average pooling", "gap", "adaptive average pool"))
_adaptive("AdaptiveMaxPool2d", "Max over regions giving a fixed output size.",
          ("global max pooling", "adaptive max pool"))

layer("Upsample", "Resampling", "Scales feature maps up by a factor (nearest or bilinear).",
      (P("scale_factor", "float", 2.0, "Size multiplier", min=0.01, max=64.0),
       P("mode", "choice", "nearest", "Interpolation", choices=("nearest", "bilinear"))),
      init=lambda c: call("nn.Upsample", (), {
          "scale_factor": c.params["scale_factor"], "mode": c.params["mode"]}),
      aliases=("upsampling", "resize", "unpool", "interpolate"), short="up",
      rank=_image_rule(2), subtitle=lambda p: f"×{sub.num(p['scale_factor'])} {p['mode']}",
      no_macs=True, torch_class="torch.nn.Upsample", from_module=imp.upsample,
      functions=(f"{_F}interpolate",), from_call=imp.interpolate_call)

layer("ZeroPad2d", "Resampling", "Pads feature maps with zeros (left, right, top, bottom).",
      (P("padding", "ints", 1, "Padding: one int, or (left, right, top, bottom)", min=0,
         max=4096, length=4),),
      init=lambda c: call("nn.ZeroPad2d", (c.params["padding"],)),
      aliases=("pad", "zero padding"), short="pad", rank=_image_rule(2),
      subtitle=lambda p: f"pad {sub.stride(p['padding'])}", no_macs=True,
      torch_class="torch.nn.ZeroPad2d", from_module=lambda m: {"padding": imp.compact(m.padding)},
      functions=(f"{_F}pad",), from_call=imp.pad_call)

layer("AddCoords", "Convolution", "CoordConv: appends i and j coordinate channels in [-1, 1].",
      init=lambda c: "AddCoords()", helpers=("AddCoords",),
      aliases=("coordconv", "coordinates", "coord conv"), short="coords", rank=_image_rule(2),
      no_macs=True, probe="never", torch_class="netbuilder.layers.modules.AddCoords",
      from_module=lambda m: {})

# --- Normalization and dropout ---------------------------------------------------------------

_NORM = (P("eps", "float", 1e-5, "Added to the variance for stability", min=0.0, max=1.0),
         P("momentum", "float", 0.1, "Running statistics update rate", min=0.0, max=1.0),
         P("affine", "bool", True, "Learn a scale and shift"))
_NORM_DEFAULTS = {"eps": 1e-5, "momentum": 0.1, "affine": True}


def _batchnorm(type_: str, rule: RankRule, doc: str, aliases: tuple):
    layer(type_, "Normalization", doc, _NORM,
          init=lambda c: call(f"nn.{type_}", (c.shape[0],),
                              {k: c.params[k] for k in _NORM_DEFAULTS}, _NORM_DEFAULTS),
          aliases=aliases, short="bn", rank=rule, same_shape=True, no_macs=True,
          torch_class=f"torch.nn.{type_}", from_module=imp.batchnorm)


_batchnorm("BatchNorm1d", RankRule((1, 2), "(N, features) or (N, C, L)",
                                   lambda r: "use BatchNorm2d for feature maps" if r == 3
                                   else "add a Flatten before it"),
           "Batch normalization over features (or channels of a 1-D signal).",
           ("batch norm", "batchnorm dense"))
_batchnorm("BatchNorm2d", _image_rule(2), "Batch normalization over the channels of feature maps.",
           ("batch norm", "batchnorm", "bn"))

layer("LayerNorm", "Normalization",
      "Normalizes each sample over its last dimension (transformers).",
      (P("eps", "float", 1e-5, "Added to the variance for stability", min=0.0, max=1.0),
       P("elementwise_affine", "bool", True, "Learn a scale and shift")),
      init=lambda c: call("nn.LayerNorm", (c.shape[-1],), {
          "eps": c.params["eps"], "elementwise_affine": c.params["elementwise_affine"]},
          {"eps": 1e-5, "elementwise_affine": True}),
      aliases=("layer normalization", "ln"), short="ln", same_shape=True, no_macs=True,
      torch_class="torch.nn.LayerNorm", from_module=imp.layernorm)

layer("GroupNorm", "Normalization", "Normalizes groups of channels per sample.",
      (P("num_groups", "int", 4, "Number of channel groups (must divide the channels)", min=1,
         max=65536),
       P("eps", "float", 1e-5, "Added to the variance for stability", min=0.0, max=1.0),
       P("affine", "bool", True, "Learn a scale and shift")),
      init=lambda c: call("nn.GroupNorm", (c.params["num_groups"], c.shape[0]), {
          "eps": c.params["eps"], "affine": c.params["affine"]}, {"eps": 1e-5, "affine": True}),
      aliases=("group normalization", "gn"), short="gn",
      rank=RankRule((1, 2, 3, 4), "(N, C, ...)"), subtitle=sub.param("num_groups", "{} groups"),
      no_macs=True, torch_class="torch.nn.GroupNorm", from_module=imp.groupnorm)

layer("Dropout", "Regularization", "Zeroes random units during training (scales the rest).",
      (P("p", "float", 0.5, "Probability of dropping a unit", min=0.0, max=1.0),),
      init=lambda c: call("nn.Dropout", (), {"p": c.params["p"]}, {"p": 0.5}),
      aliases=("drop out", "regularization"), short="drop", same_shape=True, no_macs=True,
      passes_values=True,
      subtitle=lambda p: f"p={sub.num(p['p'])}", torch_class="torch.nn.Dropout",
      from_module=imp.attributes("p"), functions=(f"{_F}dropout", "torch.dropout"),
      from_call=imp.unary("p"))

layer("Dropout2d", "Regularization", "Zeroes whole random channels during training.",
      (P("p", "float", 0.5, "Probability of dropping a channel", min=0.0, max=1.0),),
      init=lambda c: call("nn.Dropout2d", (), {"p": c.params["p"]}, {"p": 0.5}),
      aliases=("spatial dropout", "channel dropout"), short="drop", rank=_image_rule(2),
      same_shape=True, no_macs=True, subtitle=lambda p: f"p={sub.num(p['p'])}",
      passes_values=True, torch_class="torch.nn.Dropout2d", from_module=imp.attributes("p"),
      functions=(f"{_F}dropout2d",), from_call=imp.unary("p"))
