"""Activations (and the element-wise dropouts) against torch: shapes, values, code, MACs."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from layer_check import EXAMPLES, Drawn, check_layer
from torch import nn

shapes = st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple)
floats = st.floats(0.1, 3.0).map(lambda v: round(v, 3))


def _plain(cls):
    return lambda data: Drawn({}, [data.draw(shapes)], cls)


def _with(cls, **strategies):
    def draw(data):
        params = {k: data.draw(s) for k, s in strategies.items()}
        return Drawn(params, [data.draw(shapes)], lambda: cls(**params))
    return draw


def _hardtanh(data):
    lo = data.draw(st.floats(-3, 0).map(lambda v: round(v, 2)))
    hi = lo + data.draw(floats)
    return Drawn({"min_val": lo, "max_val": hi}, [data.draw(shapes)],
                 lambda: nn.Hardtanh(lo, hi))


def _dim_layer(cls):
    def draw(data):
        shape = data.draw(shapes)
        dim = data.draw(st.integers(-len(shape) - 1, len(shape)).filter(lambda d: d != 0))
        return Drawn({"dim": dim}, [shape], lambda: cls(dim=dim))
    return draw


def _glu(data):
    shape = list(data.draw(shapes))
    axis = data.draw(st.integers(0, len(shape) - 1))
    shape[axis] = 2 * shape[axis]
    dim = axis + 1 if data.draw(st.booleans()) else axis - len(shape)
    return Drawn({"dim": dim}, [tuple(shape)], lambda: nn.GLU(dim))


def _rrelu(data):
    lower = data.draw(st.floats(0, 0.3).map(lambda v: round(v, 3)))
    upper = lower + data.draw(st.floats(0, 0.5).map(lambda v: round(v, 3)))
    return Drawn({"lower": lower, "upper": upper}, [data.draw(shapes)],
                 lambda: nn.RReLU(lower, upper))


def _softmax2d(data):
    shape = data.draw(st.lists(st.integers(1, 5), min_size=3, max_size=3).map(tuple))
    return Drawn({}, [shape], nn.Softmax2d)


def _dropout(cls, rank=None):
    def draw(data):
        shape = data.draw(st.lists(st.integers(1, 4), min_size=rank or 1,
                                   max_size=rank or 3).map(tuple))
        p = data.draw(st.floats(0, 1).map(lambda v: round(v, 2)))
        return Drawn({"p": p}, [shape], lambda: cls(p))
    return draw


CASES = {
    "ReLU6": _plain(nn.ReLU6), "Hardswish": _plain(nn.Hardswish),
    "Hardsigmoid": _plain(nn.Hardsigmoid), "Hardtanh": _hardtanh, "Mish": _plain(nn.Mish),
    "SELU": _plain(nn.SELU), "CELU": _with(nn.CELU, alpha=floats),
    "Softplus": _with(nn.Softplus, beta=floats, threshold=st.floats(1, 30).map(round)),
    "Softsign": _plain(nn.Softsign), "Softmin": _dim_layer(nn.Softmin),
    "Softmax2d": _softmax2d, "LogSigmoid": _plain(nn.LogSigmoid), "GLU": _glu,
    "Threshold": _with(nn.Threshold, threshold=floats, value=floats),
    "Tanhshrink": _plain(nn.Tanhshrink), "Softshrink": _with(nn.Softshrink, lambd=floats),
    "Hardshrink": _with(nn.Hardshrink, lambd=floats), "RReLU": _rrelu,
    "Dropout1d": _dropout(nn.Dropout1d, 2), "Dropout3d": _dropout(nn.Dropout3d, 4),
    "AlphaDropout": _dropout(nn.AlphaDropout),
    "FeatureAlphaDropout": _dropout(nn.FeatureAlphaDropout, 3),
}


@pytest.mark.parametrize("type_", sorted(CASES))
@EXAMPLES
@given(data=st.data())
def test_activation_matches_torch(type_, data):
    check_layer(type_, CASES[type_](data))
