"""Convolutions (1-3 dims, transposed), CoordConv, batch and group normalization, dropout."""
from __future__ import annotations

from . import import_rules as imp
from . import shapes
from . import subtitles as sub
from .define import P, RankRule, attrs, image_rule, layer
from .spec import call

_F = "torch.nn.functional."  # where the importer finds the functional forms

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
          short="deconv" if transpose else "conv", rank=image_rule(dims),
          subtitle=sub.conv(dims), conv_dims=dims, probe="auto",
          # torch's transposed convolution is not a convolution's closed form: it runs on meta
          shape_rule=None if transpose else shapes.conv(dims),
          torch_class=f"torch.nn.{type_}", from_module=imp.conv(transpose),
          weight_functions=() if transpose else (f"{_F}conv{dims}d",),
          from_weights=None if transpose else imp.conv_weights(dims))


_conv("Conv1d", 1, "1-D convolution over (channels, length) signals.",
      ("temporal convolution", "conv1d"))
_conv("Conv2d", 2, "2-D convolution: learned filters slide over (channels, height, width).",
      ("convolution", "conv", "cnn", "filter"))
_conv("Conv3d", 3, "3-D convolution over (channels, depth, height, width): video, volumes.",
      ("volumetric convolution", "video convolution", "conv3d", "3d convolution"))
_conv("ConvTranspose1d", 1, "Transposed 1-D convolution: learned upsampling of signals.",
      ("deconv1d", "transposed conv 1d", "upconv1d"), transpose=True)
_conv("ConvTranspose3d", 3, "Transposed 3-D convolution: learned upsampling of volumes.",
      ("deconv3d", "transposed conv 3d", "upconv3d"), transpose=True)
_conv("ConvTranspose2d", 2, "Transposed 2-D convolution: learned upsampling (DCGAN, decoders).",
      ("deconvolution", "deconv", "transposed convolution", "upconv", "fractionally strided"),
      transpose=True)

layer("AddCoords", "Convolution", "CoordConv: appends i and j coordinate channels in [-1, 1].",
      init=lambda c: "AddCoords()", helpers=("AddCoords",),
      aliases=("coordconv", "coordinates", "coord conv"), short="coords", rank=image_rule(2),
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
          torch_class=f"torch.nn.{type_}", from_module=imp.batchnorm,
          weight_functions=(f"{_F}batch_norm",), from_weights=imp.batchnorm_weights)


_batchnorm("BatchNorm1d", RankRule((1, 2), "(N, features) or (N, C, L)",
                                   lambda r: "use BatchNorm2d for feature maps" if r == 3
                                   else "add a Flatten before it"),
           "Batch normalization over features (or channels of a 1-D signal).",
           ("batch norm", "batchnorm dense"))
_batchnorm("BatchNorm2d", image_rule(2), "Batch normalization over the channels of feature maps.",
           ("batch norm", "batchnorm", "bn"))

layer("GroupNorm", "Normalization", "Normalizes groups of channels per sample.",
      (P("num_groups", "int", 4, "Number of channel groups (must divide the channels)", min=1,
         max=65536),
       P("eps", "float", 1e-5, "Added to the variance for stability", min=0.0, max=1.0),
       P("affine", "bool", True, "Learn a scale and shift")),
      init=lambda c: call("nn.GroupNorm", (c.params["num_groups"], c.shape[0]), {
          "eps": c.params["eps"], "affine": c.params["affine"]}, {"eps": 1e-5, "affine": True}),
      aliases=("group normalization", "gn"), short="gn",
      rank=RankRule((1, 2, 3, 4), "(N, C, ...)"), subtitle=sub.param("num_groups", "{} groups"),
      no_macs=True, torch_class="torch.nn.GroupNorm", from_module=imp.groupnorm,
      weight_functions=(f"{_F}group_norm",), from_weights=imp.groupnorm_weights)

layer("Dropout", "Regularization", "Zeroes random units during training (scales the rest).",
      (P("p", "float", 0.5, "Probability of dropping a unit", min=0.0, max=1.0),),
      init=lambda c: call("nn.Dropout", (), {"p": c.params["p"]}, {"p": 0.5}),
      aliases=("drop out", "regularization"), short="drop", same_shape=True, no_macs=True,
      passes_values=True,
      subtitle=lambda p: f"p={sub.num(p['p'])}", torch_class="torch.nn.Dropout",
      from_module=attrs("p"), functions=(f"{_F}dropout", "torch.dropout"),
      from_call=imp.unary("p"))

# NOTE: torch takes (N, C) too (with a deprecation warning), treating it as one unbatched
# (C, L) map: whole samples are dropped. Models do this (the PyTorch examples' mnist_rnn), and
# the layer, being nn.Dropout2d, does the same, so such a model imports as it is.
_DROPOUT2D = RankRule((3, 1), "(N, C, H, W)", image_rule(2).hint)

layer("Dropout2d", "Regularization", "Zeroes whole random channels during training.",
      (P("p", "float", 0.5, "Probability of dropping a channel", min=0.0, max=1.0),),
      init=lambda c: call("nn.Dropout2d", (), {"p": c.params["p"]}, {"p": 0.5}),
      aliases=("spatial dropout", "channel dropout"), short="drop", rank=_DROPOUT2D,
      same_shape=True, no_macs=True, subtitle=lambda p: f"p={sub.num(p['p'])}",
      passes_values=True, torch_class="torch.nn.Dropout2d", from_module=attrs("p"),
      functions=(f"{_F}dropout2d",), from_call=imp.unary("p"))
