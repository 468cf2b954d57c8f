"""Pooling in 1, 2 and 3 dimensions: max, average, adaptive, power-average, fractional, unpool.

NOTE: a max pool with ``return_indices`` gives a second output, "indices", which a MaxUnpool
takes on its own "indices" input to put each maximum back where it came from.
"""
from __future__ import annotations

from . import import_rules as imp
from . import shapes
from . import subtitles as sub
from .define import P, Port, attrs, image_rule, layer
from .spec import call

_INDICES_OUT = (Port("out"), Port("indices", doc="set return_indices to get where each maximum "
                                                 "was (for a MaxUnpool)"))
_DIM_ALIAS = {1: "1d", 2: "", 3: "3d"}
_F = "torch.nn.functional."  # where the importer finds the functional forms


def _window(dims: int, stride_doc: str = "Step between windows (auto: the window size)"):
    return (P("kernel_size", "ints", 2, "Window size", min=1, max=1024, length=dims),
            P("stride", "ints", None, stride_doc, min=1, max=1024, length=dims, optional=True))


def _with_indices(c) -> list[str]:
    if c.params.get("return_indices"):
        return [f"{c.out}, {c.out_vars[1]} = self.{c.name}({c.x})"]
    return [f"{c.out} = self.{c.name}({c.x})"]


def _indices_count(p: dict) -> int:
    """A max pool shows its "indices" output only with return_indices."""
    return 2 if p.get("return_indices") else 1


def _auto_stride(*names: str):
    """``from_module`` of a windowed pool: a stride equal to the window is "auto"."""
    read = attrs("kernel_size", "stride", *names)

    def from_module(m) -> dict:
        p = read(m)
        if p["stride"] == p["kernel_size"]:
            p["stride"] = None
        return p
    return from_module


def _subtitle(p: dict) -> str:
    k = p.get("kernel_size", p.get("output_size"))
    return "×".join(map(str, k)) if isinstance(k, tuple) else str(k)


def _pool(kind: str, dims: int, doc: str, aliases: tuple, short: str) -> None:
    type_ = f"{kind}Pool{dims}d"
    params = _window(dims) + (
        P("padding", "ints", 0, "Padding on each side (at most half the window)", min=0,
          max=512, length=dims),)
    defaults = {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False,
                "return_indices": False, "count_include_pad": True, "divisor_override": None}
    if kind == "Max":
        params += (P("dilation", "ints", 1, "Spacing between window taps", min=1, max=1024,
                     length=dims),)
    params += (P("ceil_mode", "bool", False, "Round the output size up instead of down"),)
    if kind == "Max":
        params += (P("return_indices", "bool", False,
                     "Also output where each maximum was (for a MaxUnpool)"),)
    else:
        params += (P("count_include_pad", "bool", True, "Count padded zeros in the average"),)
        if dims > 1:
            params += (P("divisor_override", "int", None, "Divide by this instead of the "
                                                           "window size (auto: the window)",
                         min=1, max=1_000_000, optional=True),)
    names = [p.name for p in params if p.name != "kernel_size"]
    layer(type_, "Pooling", doc, params,
          init=lambda c: call(f"nn.{type_}", (c.params["kernel_size"],),
                              {k: c.params[k] for k in names}, defaults),
          forward=_with_indices, outputs=_INDICES_OUT if kind == "Max" else (Port("out"),),
          output_count=_indices_count,
          aliases=aliases, short=short, rank=image_rule(dims), no_macs=True,
          subtitle=sub.pool(dims), torch_class=f"torch.nn.{type_}",
          from_module=_auto_stride(*names[1:]), shape_rule=shapes.pool(dims),
          # torch has max_pool1d-3d and avg_pool1d at its top level too, not avg_pool2d/3d
          functions=(f"{_F}{kind.lower()}_pool{dims}d",) + (
              (f"torch.{kind.lower()}_pool{dims}d",) if kind == "Max" or dims == 1 else ()),
          from_call=imp.pool_call)


for _d in (1, 2, 3):
    _s = _DIM_ALIAS[_d]
    _pool("Max", _d, f"Maximum over sliding windows of {_d}-D maps: downsamples them.",
          ("max pool", "maxpool", "subsampling", "downsample") if _d == 2 else
          (f"max pool {_d}d", f"maxpool{_s}"), "pool")
    _pool("Avg", _d, f"Average over sliding windows of {_d}-D maps (LeNet's subsampling).",
          ("average pool", "mean pool", "avgpool") if _d == 2 else
          (f"average pool {_d}d", f"avgpool{_s}", f"mean pool {_d}d"), "avgpool")


def _adaptive(kind: str, dims: int) -> None:
    type_ = f"Adaptive{kind}Pool{dims}d"
    params = (P("output_size", "ints", 1, "Output size of each spatial dimension", min=1,
                max=4096, length=dims),)
    if kind == "Max":
        params += (P("return_indices", "bool", False, "Also output where each maximum was"),)
    what = "Averages" if kind == "Avg" else "Takes the maximum of"
    doc = f"{what} each {dims}-D map over regions giving a fixed output size"
    doc += " (global average pooling)." if kind == "Avg" and dims == 2 else "."
    aliases = {("Avg", 2): ("global average pooling", "gap", "adaptive average pool"),
               ("Max", 2): ("global max pooling", "adaptive max pool")}.get(
        (kind, dims), (f"adaptive {kind.lower()} pool {dims}d",
                       f"global {'average' if kind == 'Avg' else 'max'} pooling {dims}d"))
    names = [p.name for p in params]
    layer(type_, "Pooling", doc, params,
          init=lambda c: call(f"nn.{type_}", (c.params["output_size"],),
                              {"return_indices": c.params.get("return_indices", False)},
                              {"return_indices": False}),
          forward=_with_indices, outputs=_INDICES_OUT if kind == "Max" else (Port("out"),),
          output_count=_indices_count,
          aliases=aliases, short="gap" if kind == "Avg" else "gmp", rank=image_rule(dims),
          no_macs=True, subtitle=_subtitle, torch_class=f"torch.nn.{type_}",
          from_module=attrs(*names), shape_rule=shapes.adaptive if dims == 2 else None,
          functions=(f"{_F}adaptive_{kind.lower()}_pool{dims}d",), from_call=imp.adaptive_call)


for _d in (1, 2, 3):
    _adaptive("Avg", _d)
    _adaptive("Max", _d)


def _lp(dims: int) -> None:
    type_ = f"LPPool{dims}d"
    params = (P("norm_type", "float", 2.0, "The power p (1: sum pooling, large: max)", min=0.01,
                max=1e6),) + _window(dims) + (
        P("ceil_mode", "bool", False, "Round the output size up instead of down"),)
    layer(type_, "Pooling", f"Power-average pooling over {dims}-D windows: (Σ xᵖ)^(1/p).", params,
          init=lambda c: call(f"nn.{type_}", (c.params["norm_type"], c.params["kernel_size"]),
                              {"stride": c.params["stride"], "ceil_mode": c.params["ceil_mode"]},
                              {"stride": None, "ceil_mode": False}),
          aliases=(f"power average pool {dims}d", "lp pool", "l2 pool"), short="lppool",
          rank=image_rule(dims), subtitle=_subtitle, torch_class=f"torch.nn.{type_}",
          from_module=_auto_stride("norm_type", "ceil_mode"))


for _d in (1, 2, 3):
    _lp(_d)


def _fractional(dims: int) -> None:
    type_ = f"FractionalMaxPool{dims}d"
    params = (
        P("kernel_size", "ints", 2, "Window size", min=1, max=1024, length=dims),
        P("output_size", "ints", None, "Output size (auto: from output_ratio)", min=1,
          max=65536, length=dims, optional=True),
        P("output_ratio", "float", 0.5, "Output size as a fraction of the input (used when "
                                        "output_size is auto)", min=0.01, max=0.99),
        P("return_indices", "bool", False, "Also output where each maximum was"),
    )

    def init(c):
        size = c.params["output_size"]
        kw = {"output_size": size} if size is not None else {"output_ratio": c.params[
            "output_ratio"]}
        kw["return_indices"] = c.params["return_indices"]
        return call(f"nn.{type_}", (c.params["kernel_size"],), kw, {"return_indices": False})

    layer(type_, "Pooling", f"Max pooling over {dims}-D regions of random, fractional sizes "
                            "(regularizes while it downsamples).", params, init=init,
          forward=_with_indices, outputs=_INDICES_OUT, output_count=_indices_count,
          aliases=("fractional max pool", "stochastic pooling"), short="fpool",
          rank=image_rule(dims), no_macs=True, subtitle=_subtitle,
          torch_class=f"torch.nn.{type_}",
          from_module=_fractional_params)


def _fractional_params(m) -> dict:
    ratio = m.output_ratio
    ratio = 0.5 if ratio is None else float(ratio[0] if isinstance(ratio, tuple) else ratio)
    return {**attrs("kernel_size", "output_size", "return_indices")(m), "output_ratio": ratio}


for _d in (2, 3):
    _fractional(_d)


def _unpool(dims: int) -> None:
    type_ = f"MaxUnpool{dims}d"
    params = _window(dims, "Stride of the max pool it inverts (auto: the window size)") + (
        P("padding", "ints", 0, "Padding of the max pool it inverts", min=0, max=512,
          length=dims),)
    layer(type_, "Pooling", f"Inverse of a {dims}-D max pool: puts each maximum back where the "
                            "pool's indices say, zeros elsewhere (SegNet decoders).", params,
          init=lambda c: call(f"nn.{type_}", (c.params["kernel_size"],), {
              "stride": c.params["stride"], "padding": c.params["padding"]},
              {"stride": None, "padding": 0}),
          forward=lambda c: [f"{c.out} = self.{c.name}({c.in_vars[0]}, {c.in_vars[1]}" + (
              f", output_size={c.in_vars[2]}.shape[-{dims}:])" if len(c.in_vars) > 2 else ")")],
          inputs=(Port("in", doc="The pooled maps"),
                  Port("indices", integer=True, doc="The max pool's indices output"),
                  Port("size_of", optional=True, doc="The max pool's input: unpool to its size "
                                                     "(needed where the pool left a border)")),
          aliases=("unpool", "max unpool", "unpooling", "segnet"), short="unpool",
          rank=image_rule(dims), no_macs=True, subtitle=_subtitle,
          torch_class=f"torch.nn.{type_}", from_module=_auto_stride("padding"))


for _d in (1, 2, 3):
    _unpool(_d)
