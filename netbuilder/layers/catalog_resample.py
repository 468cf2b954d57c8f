"""Resampling: interpolation in every mode, padding layers, pixel and channel shuffles,
sliding-window extraction (Unfold) and its inverse (Fold)."""
from __future__ import annotations

from . import import_rules as imp
from .define import P, RankRule, attrs, image_rule, layer
from .spec import call

_MODES = ("nearest", "bilinear", "linear", "bicubic", "trilinear", "area", "nearest-exact")
_INTERPOLATING = ("linear", "bilinear", "bicubic", "trilinear")
_ANY_MAP = RankRule((2, 3, 4), "(N, C, L), (N, C, H, W) or (N, C, D, H, W)")


def _upsample_init(c) -> str:
    p = c.params
    kw = {"size": p["size"]} if p["size"] is not None else {"scale_factor": p["scale_factor"]}
    kw["mode"] = p["mode"]
    if p["mode"] in _INTERPOLATING:
        kw["align_corners"] = p["align_corners"]
    return call("nn.Upsample", (), kw, {"mode": "nearest", "align_corners": False})


def _upsample_params(m) -> dict:
    scale = m.scale_factor
    scale = float(scale[0] if isinstance(scale, tuple) else scale) if scale else 2.0
    return {**attrs("size", "mode")(m), "scale_factor": scale,
            "align_corners": bool(m.align_corners)}


layer("Upsample", "Resampling",
      "Resizes maps by a factor or to a size: nearest, (bi/tri)linear, bicubic or area.",
      (P("scale_factor", "float", 2.0, "Size multiplier (used when size is auto)", min=0.01,
         max=64.0),
       P("mode", "choice", "nearest", "Interpolation: linear for (C, L), bilinear and bicubic "
                                      "for (C, H, W), trilinear for (C, D, H, W)",
         choices=_MODES),
       P("size", "ints", None, "Output size of each spatial dimension (auto: scale_factor)",
         min=1, max=65536, optional=True),
       P("align_corners", "bool", False, "Align the corner pixels (interpolating modes only)")),
      init=_upsample_init, aliases=("upsampling", "resize", "unpool", "interpolate", "zoom"),
      short="up", rank=_ANY_MAP, no_macs=True, torch_class="torch.nn.Upsample",
      subtitle=lambda p: f"{p['mode']} ×{p['scale_factor']:g}" if p["size"] is None
      else f"{p['mode']} → {p['size']}", from_module=_upsample_params,
      functions=("torch.nn.functional.interpolate",), from_call=imp.interpolate_call)

for _type, _doc in (("UpsamplingNearest2d", "Nearest-neighbour upsampling of (C, H, W) maps."),
                    ("UpsamplingBilinear2d", "Bilinear upsampling of (C, H, W) maps with "
                                             "aligned corners.")):
    layer(_type, "Resampling", _doc,
          (P("scale_factor", "float", 2.0, "Size multiplier", min=0.01, max=64.0),),
          init=lambda c, t=_type: call(f"nn.{t}", (), {"scale_factor": c.params["scale_factor"]}),
          aliases=("upsampling 2d",), short="up", rank=image_rule(2), no_macs=True,
          torch_class=f"torch.nn.{_type}",
          from_module=lambda m: {"scale_factor": float(m.scale_factor)})

# --- Padding ---------------------------------------------------------------------------------

_PAD_DOCS = {
    "Zero": ("Pads with zeros", ("zero padding", "pad")),
    "Constant": ("Pads with a constant value", ("constant padding", "pad")),
    "Reflection": ("Pads with the reflection of the border (no edge repeat)",
                   ("reflect padding", "mirror padding", "pad")),
    "Replication": ("Pads by repeating the edge values", ("replicate padding", "edge padding",
                                                         "pad")),
    "Circular": ("Pads by wrapping around (periodic maps)", ("circular padding", "wrap padding",
                                                             "periodic", "pad")),
}
_SIDES = {1: "(left, right)", 2: "(left, right, top, bottom)",
          3: "(left, right, top, bottom, front, back)"}


def _pad(kind: str, dims: int) -> None:
    type_ = f"{kind}Pad{dims}d"
    doc, aliases = _PAD_DOCS[kind]
    params = (P("padding", "ints", 1, f"One int, or {_SIDES[dims]}", min=0, max=4096,
                length=2 * dims),)
    if kind == "Constant":
        params += (P("value", "float", 0.0, "The fill value", min=-1e9, max=1e9),)
    names = [p.name for p in params]
    layer(type_, "Resampling", f"{doc} around {dims}-D maps.", params,
          init=lambda c: call(f"nn.{type_}", tuple(c.params[k] for k in names)),
          aliases=aliases, short="pad", rank=image_rule(dims), no_macs=True,
          torch_class=f"torch.nn.{type_}", from_module=attrs(*names),
          subtitle=lambda p: f"{p['padding']}",
          # F.pad with zeros on the four sides of an image is a ZeroPad2d
          **({"functions": ("torch.nn.functional.pad",), "from_call": imp.pad_call}
             if (kind, dims) == ("Zero", 2) else {}))


for _kind in _PAD_DOCS:
    for _d in (1, 2, 3):
        _pad(_kind, _d)

# --- Shuffles and windows --------------------------------------------------------------------

layer("PixelShuffle", "Resampling",
      "Rearranges (C·r², H, W) into (C, H·r, W·r): sub-pixel upsampling (ESPCN).",
      (P("upscale_factor", "int", 2, "The factor r", min=1, max=64),),
      init=lambda c: call("nn.PixelShuffle", (c.params["upscale_factor"],)),
      aliases=("sub-pixel convolution", "depth to space", "espcn"), short="shuffle",
      rank=image_rule(2), no_macs=True, torch_class="torch.nn.PixelShuffle",
      from_module=attrs("upscale_factor"))
layer("PixelUnshuffle", "Resampling",
      "Rearranges (C, H·r, W·r) into (C·r², H, W): the inverse of PixelShuffle.",
      (P("downscale_factor", "int", 2, "The factor r", min=1, max=64),),
      init=lambda c: call("nn.PixelUnshuffle", (c.params["downscale_factor"],)),
      aliases=("space to depth",), short="unshuffle", rank=image_rule(2), no_macs=True,
      torch_class="torch.nn.PixelUnshuffle", from_module=attrs("downscale_factor"))
layer("ChannelShuffle", "Resampling",
      "Interleaves the channels of groups (ShuffleNet), so grouped convolutions mix.",
      (P("groups", "int", 2, "Channel groups (must divide the channels)", min=1, max=65536),),
      init=lambda c: call("nn.ChannelShuffle", (c.params["groups"],)),
      aliases=("shufflenet", "channel shuffle"), short="cshuffle",
      rank=RankRule((2, 3, 4), "(N, C, ...)"), same_shape=True, no_macs=True,
      torch_class="torch.nn.ChannelShuffle", from_module=attrs("groups"))

_WINDOW = (P("kernel_size", "ints", 2, "Window size", min=1, max=1024, length=2),
           P("dilation", "ints", 1, "Spacing between window taps", min=1, max=1024, length=2),
           P("padding", "ints", 0, "Zeros added to each side", min=0, max=1024, length=2),
           P("stride", "ints", 1, "Step between windows", min=1, max=1024, length=2))
_WINDOW_DEFAULTS = {"dilation": 1, "padding": 0, "stride": 1}

layer("Unfold", "Resampling",
      "Extracts sliding windows of (C, H, W) maps as columns (C·k·k, windows): im2col.",
      _WINDOW,
      init=lambda c: call("nn.Unfold", (c.params["kernel_size"],), {
          k: c.params[k] for k in _WINDOW_DEFAULTS}, _WINDOW_DEFAULTS),
      aliases=("im2col", "patches", "sliding windows"), short="unfold", rank=image_rule(2),
      no_macs=True, torch_class="torch.nn.Unfold",
      from_module=attrs("kernel_size", *_WINDOW_DEFAULTS))
layer("Fold", "Resampling",
      "Sums columns (C·k·k, windows) back into (C, H, W) maps: col2im, Unfold's inverse.",
      (P("output_size", "ints", 4, "Height and width of the maps", min=1, max=65536,
         length=2),) + _WINDOW,
      init=lambda c: call("nn.Fold", (c.params["output_size"], c.params["kernel_size"]), {
          k: c.params[k] for k in _WINDOW_DEFAULTS}, _WINDOW_DEFAULTS),
      aliases=("col2im", "patches to image"), short="fold",
      rank=RankRule((2,), "(N, C·k·k, windows)"), no_macs=True, torch_class="torch.nn.Fold",
      from_module=attrs("output_size", "kernel_size", *_WINDOW_DEFAULTS))
