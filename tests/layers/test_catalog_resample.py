"""Resampling layers against torch: every Upsample mode, padding, shuffles, Fold and Unfold."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from layer_check import EXAMPLES, Drawn, check_layer
from torch import nn

import netbuilder as nb

small = st.integers(1, 4)
_MODE_DIMS = {"nearest": (1, 2, 3), "nearest-exact": (1, 2, 3), "area": (1, 2, 3),
              "linear": (1,), "bilinear": (2,), "bicubic": (2,), "trilinear": (3,)}


def _map(data, dims: int, least: int = 1) -> tuple:
    return (data.draw(small), *data.draw(st.lists(st.integers(least, least + 3),
                                                  min_size=dims, max_size=dims)))


def _upsample(data):
    mode = data.draw(st.sampled_from(sorted(_MODE_DIMS)))
    dims = data.draw(st.sampled_from(_MODE_DIMS[mode]))
    p = {"mode": mode, "scale_factor": 2.0, "size": None, "align_corners": False}
    if data.draw(st.booleans()):
        p["size"] = data.draw(st.integers(1, 6))
        kw = {"size": p["size"]}
    else:
        p["scale_factor"] = data.draw(st.sampled_from([0.5, 1.5, 2.0, 3.0]))
        kw = {"scale_factor": p["scale_factor"]}
    if mode in ("linear", "bilinear", "bicubic", "trilinear"):
        p["align_corners"] = data.draw(st.booleans())
        kw["align_corners"] = p["align_corners"]
    return Drawn(p, [_map(data, dims, 2)], lambda: nn.Upsample(mode=mode, **kw))


def _upsampling2d(cls):
    def draw(data):
        factor = data.draw(st.sampled_from([1.0, 2.0, 3.0]))
        return Drawn({"scale_factor": factor}, [_map(data, 2)],
                     lambda: cls(scale_factor=factor))
    return draw


def _pad(kind, dims):
    cls = getattr(nn, f"{kind}Pad{dims}d")

    def draw(data):
        shape = _map(data, dims, 3)
        most = 2 if kind in ("Reflection", "Circular") else 4
        if data.draw(st.booleans()):
            pad = data.draw(st.integers(0, most))
        else:
            pad = tuple(data.draw(st.lists(st.integers(0, most), min_size=2 * dims,
                                           max_size=2 * dims)))
        p = {"padding": pad}
        if kind == "Constant":
            p["value"] = data.draw(st.sampled_from([0.0, -1.5, 2.0]))
        return Drawn(p, [shape], lambda: cls(*p.values()))
    return draw


def _shuffle(data):
    r = data.draw(st.integers(1, 3))
    shape = (data.draw(small) * r * r, *data.draw(st.lists(small, min_size=2, max_size=2)))
    return Drawn({"upscale_factor": r}, [shape], lambda: nn.PixelShuffle(r))


def _unshuffle(data):
    r = data.draw(st.integers(1, 3))
    shape = (data.draw(small), data.draw(small) * r, data.draw(small) * r)
    return Drawn({"downscale_factor": r}, [shape], lambda: nn.PixelUnshuffle(r))


def _channel_shuffle(data):
    groups = data.draw(st.integers(1, 3))
    shape = (groups * data.draw(small), *data.draw(st.lists(small, min_size=1, max_size=3)))
    return Drawn({"groups": groups}, [shape], lambda: nn.ChannelShuffle(groups))


def _window(data):
    return {"kernel_size": data.draw(st.integers(1, 3)), "dilation": data.draw(st.integers(1, 2)),
            "padding": data.draw(st.integers(0, 1)), "stride": data.draw(st.integers(1, 2))}


def _blocks(p, size):
    span = p["dilation"] * (p["kernel_size"] - 1) + 1
    return (size + 2 * p["padding"] - span) // p["stride"] + 1


def _unfold(data):
    p = _window(data)
    shape = _map(data, 2, p["dilation"] * (p["kernel_size"] - 1) + 1)
    return Drawn(p, [shape], lambda: nn.Unfold(**p))


def _fold(data):
    p = _window(data)
    size = data.draw(st.integers(p["dilation"] * (p["kernel_size"] - 1) + 1, 6))
    n = _blocks(p, size) ** 2
    p["output_size"] = size
    shape = (data.draw(small) * p["kernel_size"] ** 2, n)
    return Drawn(p, [shape], lambda: nn.Fold(**p))


CASES = {
    "Upsample": _upsample,
    "UpsamplingNearest2d": _upsampling2d(nn.UpsamplingNearest2d),
    "UpsamplingBilinear2d": _upsampling2d(nn.UpsamplingBilinear2d),
    **{f"{k}Pad{d}d": _pad(k, d) for k in ("Zero", "Constant", "Reflection", "Replication",
                                           "Circular") for d in (1, 2, 3)},
    "PixelShuffle": _shuffle, "PixelUnshuffle": _unshuffle, "ChannelShuffle": _channel_shuffle,
    "Unfold": _unfold, "Fold": _fold,
}


@pytest.mark.parametrize("type_", sorted(CASES))
@EXAMPLES
@given(data=st.data())
def test_resampling_matches_torch(type_, data):
    check_layer(type_, CASES[type_](data))


def test_a_mode_that_does_not_fit_the_rank_is_explained():
    g = nb.Graph()
    x = g.add("Input", shape=(3, 8))
    up = g.add("Upsample", "up", mode="bilinear")
    g.connect(x, up)
    error = g.analyze().nodes[up].error
    assert error.startswith("Upsample 'up' cannot run on (N, 3, 8): ")
