"""Normalization layers and 3-D / transposed convolutions against torch."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from layer_check import EXAMPLES, Drawn, check_layer
from torch import nn

import netbuilder as nb

small = st.integers(1, 4)


def _map(data, dims: int, least: int = 1) -> tuple:
    return (data.draw(small), *data.draw(st.lists(st.integers(least, least + 3),
                                                  min_size=dims, max_size=dims)))


def _stats(cls, dims, affine):
    def draw(data):
        p = {"eps": data.draw(st.sampled_from([1e-5, 1e-3])),
             "momentum": data.draw(st.sampled_from([0.1, 0.3])),
             "affine": data.draw(st.booleans()),
             "track_running_stats": data.draw(st.booleans())}
        shape = _map(data, dims, 2)
        return Drawn(p, [shape], lambda: cls(shape[0], **p))
    return draw


def _trailing(cls, **extra):
    def draw(data):
        shape = data.draw(st.lists(small, min_size=1, max_size=3).map(tuple))
        k = data.draw(st.integers(1, len(shape)))
        p = {"dims": k, "eps": data.draw(st.sampled_from([1e-5, 1e-6])),
             "elementwise_affine": data.draw(st.booleans()), **{
                 key: data.draw(s) for key, s in extra.items()}}
        if not p["elementwise_affine"] and "bias" in p:
            p["bias"] = True  # without the affine part there is no bias to leave out
        kw = {key: v for key, v in p.items() if key != "dims"}
        return Drawn(p, [shape], lambda: cls(shape[-k:], **kw))
    return draw


def _lrn(cls, ranks):
    def draw(data):
        p = {"size": data.draw(st.integers(1, 4)), "alpha": 1e-3, "beta": 0.75,
             "k": data.draw(st.sampled_from([1.0, 2.0]))}
        shape = _map(data, data.draw(st.sampled_from(ranks)) - 1)
        return Drawn(p, [shape], lambda: cls(**p))
    return draw


def _conv(cls, dims, transpose):
    def draw(data):
        groups = data.draw(st.sampled_from([1, 2]))
        k = data.draw(st.integers(1, 3))
        stride = data.draw(st.integers(1, 2))
        dil = data.draw(st.integers(1, 2))
        p = {"out_channels": groups * data.draw(small), "kernel_size": k, "stride": stride,
             "padding": data.draw(st.integers(0, 1)), "dilation": dil, "groups": groups,
             "bias": data.draw(st.booleans())}
        if transpose:
            p["output_padding"] = data.draw(st.integers(0, min(stride, dil) - 1))
        else:
            p["padding_mode"] = data.draw(st.sampled_from(["zeros", "circular"]))
        shape = (groups * data.draw(small), *data.draw(st.lists(
            st.integers(dil * (k - 1) + 2, dil * (k - 1) + 4), min_size=dims, max_size=dims)))
        drawn = Drawn(p, [shape], lambda: cls(shape[0], **p))
        return drawn
    return draw


CASES = {
    "BatchNorm3d": _stats(nn.BatchNorm3d, 3, True),
    **{f"InstanceNorm{d}d": _stats(getattr(nn, f"InstanceNorm{d}d"), d, False)
       for d in (1, 2, 3)},
    "LayerNorm": _trailing(nn.LayerNorm, bias=st.booleans()),
    "RMSNorm": _trailing(nn.RMSNorm),
    "LocalResponseNorm": _lrn(nn.LocalResponseNorm, (2, 3, 4)),
    "CrossMapLRN2d": _lrn(nn.CrossMapLRN2d, (3,)),
    "Conv3d": _conv(nn.Conv3d, 3, False),
    "ConvTranspose1d": _conv(nn.ConvTranspose1d, 1, True),
    "ConvTranspose3d": _conv(nn.ConvTranspose3d, 3, True),
}


@pytest.mark.parametrize("type_", sorted(CASES))
@EXAMPLES
@given(data=st.data())
def test_norm_and_conv_match_torch(type_, data):
    check_layer(type_, CASES[type_](data))


@pytest.mark.parametrize("shape,kw", [
    ((2, 5, 6, 7), {"out_channels": 4, "kernel_size": 3}),
    ((4, 4, 5, 6), {"out_channels": 6, "kernel_size": (1, 3, 2), "stride": 2, "groups": 2}),
])
def test_conv3d_macs_closed_formula(shape, kw):
    out = [(n - k) // kw.get("stride", 1) + 1 for n, k in zip(
        shape[1:], kw["kernel_size"] if isinstance(kw["kernel_size"], tuple)
        else (kw["kernel_size"],) * 3)]
    k = kw["kernel_size"] if isinstance(kw["kernel_size"], tuple) else (kw["kernel_size"],) * 3
    macs = kw["out_channels"] * math.prod(out) * shape[0] // kw.get("groups", 1) * math.prod(k)
    check_layer("Conv3d", Drawn(kw, [shape], macs=macs))


def test_layernorm_over_the_last_three_dims_is_per_sample():
    check_layer("LayerNorm", Drawn({"dims": 3}, [(3, 4, 5)], lambda: nn.LayerNorm((3, 4, 5))))


@pytest.mark.parametrize("type_", ["LayerNorm", "RMSNorm"])
def test_more_dims_than_the_sample_has_is_explained(type_):
    g = nb.Graph()
    x = g.add("Input", shape=(3, 8, 8))
    n = g.add(type_, "norm", dims=4)
    g.connect(x, n)
    assert g.analyze().nodes[n].error == (
        f"{type_} 'norm' cannot run on (N, 3, 8, 8): it normalizes over the last 4 dimensions "
        f"but each sample has 3: set dims to 3 or less")
    with pytest.raises(nb.CompileError, match="set dims to 3 or less"):
        g.to_python()


@pytest.mark.parametrize("affine", [True, False])
def test_layernorm2d_normalizes_each_pixel_over_its_channels(affine):
    g = nb.Graph()
    x = g.add("Input", shape=(6, 4, 5))
    n = g.add("LayerNorm2d", "norm", eps=1e-6, elementwise_affine=affine)
    g.connect(x, n)
    info = g.analyze().nodes[n]
    assert info.error is None and info.shape == (6, 4, 5) and info.params == (12 if affine else 0)
    assert "self.norm = LayerNorm2d(6, eps=1e-06" in g.to_python()
    model = g.build().eval()
    assert sorted(model.state_dict()) == (["norm.bias", "norm.weight"] if affine else [])
    if affine:
        with torch.no_grad():
            model.norm.weight.uniform_(0.5, 1.5)
            model.norm.bias.uniform_(-0.5, 0.5)
    xs = torch.randn(3, 6, 4, 5)
    want = F.layer_norm(xs.permute(0, 2, 3, 1), (6,), model.norm.weight, model.norm.bias,
                        1e-6).permute(0, 3, 1, 2)
    torch.testing.assert_close(model(xs), want, rtol=0, atol=0)


def test_layernorm2d_wants_images():
    g = nb.Graph()
    x = g.add("Input", shape=(6, 4))
    n = g.add("LayerNorm2d", "norm")
    g.connect(x, n)
    assert g.analyze().nodes[n].error.startswith("LayerNorm2d 'norm' expects (N, C, H, W) but "
                                                 "receives (N, 6, 4)")
