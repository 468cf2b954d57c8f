"""Pooling in 1, 2 and 3 dimensions against torch, and a max pool's indices into a MaxUnpool."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from layer_check import EXAMPLES, Drawn, check_layer
from torch import nn

import netbuilder as nb


def _map(data, dims: int, least: int = 1) -> tuple:
    c = data.draw(st.integers(1, 3))
    return (c, *data.draw(st.lists(st.integers(least, least + 5), min_size=dims,
                                   max_size=dims)))


def _window(data, dims):
    k = data.draw(st.integers(1, 3))
    stride = data.draw(st.sampled_from([None, 1, 2]))
    return k, stride


def _pool(kind, dims):
    cls = getattr(nn, f"{kind}Pool{dims}d")

    def draw(data):
        k, stride = _window(data, dims)
        p = {"kernel_size": k, "stride": stride, "padding": data.draw(st.integers(0, k // 2)),
             "ceil_mode": data.draw(st.booleans())}
        if kind == "Max":
            p["dilation"] = data.draw(st.integers(1, 2))
            p["return_indices"] = data.draw(st.booleans())
        else:
            p["count_include_pad"] = data.draw(st.booleans())
            if dims > 1:
                p["divisor_override"] = data.draw(st.sampled_from([None, 3]))
        span = (p.get("dilation", 1)) * (k - 1) + 1
        return Drawn(p, [_map(data, dims, span)], lambda: cls(**p))
    return draw


def _adaptive(kind, dims):
    cls = getattr(nn, f"Adaptive{kind}Pool{dims}d")

    def draw(data):
        size = data.draw(st.integers(1, 3))
        p = {"output_size": size}
        if kind == "Max":
            p["return_indices"] = data.draw(st.booleans())
        return Drawn(p, [_map(data, dims)], lambda: cls(**p))
    return draw


def _lp(dims):
    cls = getattr(nn, f"LPPool{dims}d")

    def draw(data):
        k, stride = _window(data, dims)
        p = {"norm_type": data.draw(st.sampled_from([1.0, 2.0, 3.0])), "kernel_size": k,
             "stride": stride, "ceil_mode": False}
        return Drawn(p, [_map(data, dims, k)], lambda: cls(**p))
    return draw


def _fractional(dims):
    cls = getattr(nn, f"FractionalMaxPool{dims}d")

    def draw(data):
        k = data.draw(st.integers(1, 2))
        shape = _map(data, dims, k + 2)
        if data.draw(st.booleans()):
            p = {"kernel_size": k, "output_size": data.draw(st.integers(1, 3)),
                 "output_ratio": 0.5}
            kw = {"output_size": p["output_size"]}
        else:
            p = {"kernel_size": k, "output_size": None, "output_ratio": 0.5}
            kw = {"output_ratio": 0.5}
        p["return_indices"] = data.draw(st.booleans())
        return Drawn(p, [shape], lambda: cls(k, return_indices=p["return_indices"], **kw),
                     random=True)
    return draw


CASES = {}
for _d in (1, 2, 3):
    CASES[f"MaxPool{_d}d"] = _pool("Max", _d)
    CASES[f"AvgPool{_d}d"] = _pool("Avg", _d)
    CASES[f"AdaptiveAvgPool{_d}d"] = _adaptive("Avg", _d)
    CASES[f"AdaptiveMaxPool{_d}d"] = _adaptive("Max", _d)
    CASES[f"LPPool{_d}d"] = _lp(_d)
for _d in (2, 3):
    CASES[f"FractionalMaxPool{_d}d"] = _fractional(_d)


@pytest.mark.parametrize("type_", sorted(CASES))
@EXAMPLES
@given(data=st.data())
def test_pooling_matches_torch(type_, data):
    check_layer(type_, CASES[type_](data))


def _unpool_graph(dims: int, shape: tuple, k: int, stride, sized: bool = False):
    g = nb.Graph("unpool")
    x = g.add("Input", shape=shape)
    pool = g.add(f"MaxPool{dims}d", "pool", kernel_size=k, stride=stride, return_indices=True)
    unpool = g.add(f"MaxUnpool{dims}d", "unpool", kernel_size=k, stride=stride)
    g.connect(x, pool)
    g.connect(pool, unpool, "out", "in")
    g.connect(pool, unpool, "indices", "indices")
    if sized:
        g.connect(x, unpool, dst_port="size_of")
    return g, unpool


@pytest.mark.parametrize("dims", [1, 2, 3])
@EXAMPLES
@given(data=st.data())
def test_max_unpool_puts_the_maxima_back(dims, data):
    k = data.draw(st.integers(1, 3))
    stride = data.draw(st.sampled_from([None, 1, 2]))
    shape = _map(data, dims, k)
    step = stride or k
    # Where the pool leaves a border, the unpool needs the size it came from.
    sized = any((n - k) % step for n in shape[1:]) or data.draw(st.booleans())
    g, unpool = _unpool_graph(dims, shape, k, stride, sized)
    info = g.analyze().nodes[unpool]
    assert info.error is None, info.error
    model = g.build().eval()
    x = torch.randn(2, *shape)
    pool = getattr(nn, f"MaxPool{dims}d")(k, stride, return_indices=True)
    ref = getattr(nn, f"MaxUnpool{dims}d")(k, stride)
    with torch.no_grad():
        y = model(x)
        expected = ref(*pool(x), output_size=x.shape[2:] if sized else None)
    assert tuple(y.shape) == (2, *info.shape)
    assert torch.equal(y, expected)
    spec = nb.layers.get_spec(f"MaxUnpool{dims}d")
    auto = None if stride in (None, k) else stride  # a stride equal to the window is "auto"
    assert spec.from_module(ref) == {"kernel_size": k, "stride": auto, "padding": 0}
    assert info.macs == 0
    exported = {}
    exec(g.to_python(class_name="Exported", main=False), exported)
    with torch.no_grad():
        assert torch.equal(exported["Exported"]().eval()(x), y)


def test_turning_off_return_indices_while_indices_are_wired_is_refused():
    g, unpool = _unpool_graph(2, (2, 6, 6), 2, None)
    pool = g.find("pool")
    with pytest.raises(nb.errors.ParamError, match="return_indices = False removes output "
                                                   "'indices', which is wired to MaxUnpool2d "
                                                   "'unpool'; disconnect that wire first"):
        g.set_param(pool, "return_indices", False)
    assert g.node(pool).params["return_indices"] is True
    assert g.analyze().nodes[unpool].error is None
