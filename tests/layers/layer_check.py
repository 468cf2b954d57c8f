"""One check of a layer type against torch, shared by the catalog's family tests.

``check_layer`` draws a graph Input(s) → layer → Output per output port and asserts that
- shape analysis (meta tensors) gives the shapes and dtypes the built module gives on real data;
- ``build()`` and ``exec(to_python())`` compute the same values (one source);
- the layer computes what the hand-made torch module computes with the same weights;
- the spec's ``from_module`` reads the node's parameters back from that torch module;
- the MACs equal torch's FlopCounterMode count / 2 on the real batch (0 for ``no_macs`` layers).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from hypothesis import HealthCheck, Phase, settings
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import netbuilder as nb
from netbuilder.layers import get_spec
from netbuilder.layers.spec import _same

BATCH = 2
# No shrinking: a failure prints its drawn parameters and shapes, which is enough to reproduce.
EXAMPLES = settings(max_examples=6, deadline=None, derandomize=True,
                    phases=(Phase.explicit, Phase.generate),
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


@dataclass
class Drawn:
    """One drawn case: the node's parameters, the sample shapes of its inputs, the reference."""

    params: dict
    shapes: list
    ref: Callable[[], nn.Module] | None = None
    dtypes: list = field(default_factory=list)  # per input; float32 where missing
    high: int = 0  # int64 inputs are drawn in [0, high)
    random: bool = False  # random in eval too (FractionalMaxPool): values are not compared
    macs: int | None = None  # a hand formula, checked besides the counter
    counted: bool = True  # False where the counter misses CPU kernels (attention): formula only


def _batch(d: Drawn, seed: int) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    out = []
    for i, s in enumerate(d.shapes):
        if (d.dtypes[i] if i < len(d.dtypes) else "float32") == "int64":
            out.append(torch.randint(0, d.high, (BATCH, *s), generator=gen))
        else:
            out.append(torch.randn((BATCH, *s), generator=gen))
    return out


def _outputs(y) -> list[torch.Tensor]:
    return list(y) if isinstance(y, (tuple, list)) else [y]


def _exec_source(source: str) -> nn.Module:
    scope: dict = {}
    exec(compile(source, "<to_python>", "exec"), scope)
    return scope["Exported"]()


def check_layer(type_: str, d: Drawn) -> None:
    spec = get_spec(type_)
    g = nb.Graph("Shape")
    ports = [p.name for p in spec.inputs]
    ins = []
    for i, s in enumerate(d.shapes):
        dtype = d.dtypes[i] if i < len(d.dtypes) else "float32"
        ins.append(g.add("Input", f"x{i}", shape=s, dtype=dtype))
    nid = g.add(type_, "layer", **d.params)
    for src, port in zip(ins, ports, strict=False):
        g.connect(src, nid, dst_port=port)
    out_ports = [p.name for p in spec.outputs]
    if d.params.get("return_indices") is False or "return_indices" not in d.params:
        out_ports = [p for p in out_ports if p != "indices"]
    for k, port in enumerate(out_ports):
        g.connect(nid, g.add("Output", f"y{k}"), src_port=port)
    info = g.analyze().nodes[nid]
    assert info.error is None, (type_, d.params, d.shapes, info.error)

    torch.manual_seed(0)
    model = g.build().eval()
    xs = _batch(d, seed=1)
    with torch.no_grad():
        ys = _outputs(model(*xs))
    assert len(ys) == len(out_ports)
    for k, y in enumerate(ys):
        assert tuple(y.shape) == (BATCH, *info.out_shapes[k]), (type_, d.params, d.shapes)
        assert str(y.dtype) == f"torch.{info.out_dtypes[k]}"
    assert info.params == sum(p.numel() for p in model.parameters())

    # build() runs the very source to_python() exports.
    exported = _exec_source(g.to_python(class_name="Exported", main=False))
    exported.load_state_dict(model.state_dict(), strict=True)
    exported.eval()
    with torch.no_grad():
        again = _outputs(exported(*xs))
    if not d.random:
        for a, b in zip(ys, again):
            torch.testing.assert_close(a, b, rtol=0, atol=0, equal_nan=True)

    layer = getattr(model, "layer", None)
    if d.ref is not None:
        ref = d.ref()
        ref.load_state_dict(layer.state_dict(), strict=True)
        ref.eval()
        assert type(ref) is type(layer)
        if not d.random:
            with torch.no_grad():
                expected = _outputs(ref(*xs)) if type_ not in _CALLS else _CALLS[type_](ref, xs)
            for a, b in zip(ys, expected):
                torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5, equal_nan=True)
        assert spec.torch_class == f"torch.nn.{type(ref).__name__}"
        read = spec.from_module(ref)
        for key, value in read.items():
            given_ = d.params.get(key, spec.param(key).default)
            if key == "stride":  # "auto" is a stride equal to the window
                value, given_ = (read["kernel_size"] if v is None else v for v in (value, given_))
            assert _same(given_, value) or value == given_, (type_, key, value, d.params)

    # With gradients on, as in training: eval-mode fast paths (fused transformer kernels)
    # are calls the counter does not see.
    if d.counted:
        with FlopCounterMode(display=False) as counter:
            model(*xs)
        assert info.macs == counter.get_total_flops() // 2 // BATCH, (type_, d.params, info.macs)
    if spec.no_macs:
        assert info.macs == 0
    if d.macs is not None:
        assert info.macs == d.macs


def _lstm_cell(ref, xs):
    state = (xs[1], xs[2]) if len(xs) == 3 else None
    return list(ref(xs[0], state))


_CALLS = {"LSTMCell": _lstm_cell}
