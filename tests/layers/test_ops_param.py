"""Parameter nodes (learned tensors) and random tensors; every operation type has a test;
each operation's importer mapping gives parameters the graph accepts."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from op_harness import OP_CATEGORIES, assert_same, assert_shapes_match, run_op

import netbuilder as nb


def _param_graph(**params):
    g = nb.Graph()
    x = g.add("Input", "x", shape=(4, 8))
    p = g.add("Parameter", "pos", **params)
    add = g.add("Add", "tokens")
    g.connect(x, add)
    g.connect(p, add)
    return g, p, add


def _scaled(**params):
    """x * gamma: the learned tensor scales the Input."""
    g = nb.Graph()
    x = g.add("Input", "x", shape=params.get("shape", (1, 64)))
    p = g.add("Parameter", "gamma", **params)
    m = g.add("Mul", "scaled")
    g.connect(x, m)
    g.connect(p, m, dst_port="b")
    return g, p


@settings(max_examples=5, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple),
       init=st.sampled_from(["zeros", "ones", "normal", "trunc_normal", "uniform"]))
def test_parameter_shape_count_and_code(shape, init):
    g, p = _scaled(shape=shape, init=init, std=0.5)
    analysis = g.analyze()
    info = analysis.nodes[p]
    assert info.error is None and info.shape == shape
    assert info.params == info.trainable == analysis.total_params == torch.Size(shape).numel()
    src = g.to_python(main=False)
    dims = ", ".join(map(str, (1, *shape)))
    made = "empty" if init in ("normal", "trunc_normal", "uniform") else init
    assert "self.gamma = nn.Parameter(" in src and f"torch.{made}({dims})" in src
    assert "gamma = self.gamma" in src and "scaled = x * gamma" in src
    model = g.build()
    assert [(k, tuple(v.shape)) for k, v in model.named_parameters()] == [("gamma", (1, *shape))]
    x = torch.randn(2, *shape)
    torch.testing.assert_close(model(x), x * model.gamma)


def test_parameter_initializers_give_their_distributions():
    torch.manual_seed(0)
    values = {}
    for init in ("zeros", "ones", "normal", "trunc_normal", "uniform"):
        g, _ = _scaled(shape=(100, 100), init=init, std=0.5, low=2.0, high=3.0)
        values[init] = g.build().gamma.detach()
    assert values["zeros"].eq(0).all() and values["ones"].eq(1).all()
    assert abs(values["normal"].std().item() - 0.5) < 0.02
    assert values["trunc_normal"].abs().max() <= 2.0  # cut at ±2 as in timm's ViT
    assert 2.0 <= values["uniform"].min() and values["uniform"].max() <= 3.0


def test_a_learned_position_embedding_broadcasts_and_counts():
    g, p, add = _param_graph(shape=(4, 8))
    analysis = g.analyze()
    assert analysis.ok and analysis.shape(add) == (4, 8)
    assert analysis.total_params == 32
    model = g.build()
    x = torch.randn(5, 4, 8)
    torch.testing.assert_close(model(x), x + model.pos)
    assert not [d for d in g.check() if d.severity == "warning"]


def test_a_parameter_that_does_not_broadcast_is_an_error():
    g, p, add = _param_graph(shape=(3, 8))
    assert "Add 'tokens' receives incompatible shapes (N, 4, 8) and (N, 3, 8)" in \
        g.analyze().nodes[add].error


def test_uniform_bounds_must_be_ordered():
    g, p = _scaled(init="uniform", low=1.0, high=0.0)
    assert g.analyze().nodes[p].error == (
        "Parameter 'gamma': uniform init needs low < high, got low = 1.0 and high = 0.0")


@pytest.mark.parametrize("type_", ["RandnLike", "RandLike", "Bernoulli", "GaussianNoise"])
def test_random_tensors_shaped_like_the_input(type_):
    ran = run_op(type_, {}, [(40, 50)], batch=2, unit=type_ == "Bernoulli")
    x = ran.xs[0]
    expected = {"RandnLike": torch.randn_like, "RandLike": torch.rand_like,
                "Bernoulli": lambda v: v, "GaussianNoise": lambda v: v}[type_](x)
    assert_shapes_match(ran, expected, batch=2)
    assert_same(ran.built, ran.executed)  # same seed, same draw
    y = ran.built
    if type_ == "RandnLike":
        assert abs(y.std().item() - 1) < 0.05
    if type_ == "RandLike":
        assert 0 <= y.min() and y.max() < 1
    if type_ == "GaussianNoise":
        assert abs((y - x).std().item() - 0.1) < 0.01
    assert ran.info.macs == 0


def test_bernoulli_draws_with_the_input_as_probabilities():
    g = nb.Graph()
    b = g.add("Bernoulli", "coin")
    g.connect(g.add("Input", shape=(1000,)), b)
    torch.manual_seed(0)
    y = g.build()(torch.full((4, 1000), 0.25))
    assert set(y.unique().tolist()) == {0.0, 1.0} and abs(y.mean().item() - 0.25) < 0.03


TESTED = {  # the operation types each test module covers
    "test_ops_math": {"Sub", "Mul", "Div", "FloorDiv", "Pow", "AddScalar", "MatMul", "BMM",
                      "Einsum", "Exp", "Log", "Sqrt", "Rsqrt", "Abs", "Neg", "Erf", "Sin",
                      "Cos", "Clamp"},
    "test_ops_reduce": {"Mean", "Sum", "Amax", "Amin", "Std", "Var", "Norm", "LogSumExp",
                        "Max", "Min", "Argmax"},
    "test_ops_shape": {"View", "Permute", "Transpose", "Squeeze", "Unsqueeze", "Expand",
                       "Repeat", "Index", "Chunk", "Split", "Stack"},
    "test_ops_param": {"Parameter", "Constant", "LayerScale", "RandnLike", "RandLike",
                       "Bernoulli", "GaussianNoise"},
}


def test_every_operation_type_has_tests_and_search_words():
    ops = {s.type for s in nb.all_specs() if s.category in OP_CATEGORIES}
    assert ops == set().union(*TESTED.values())
    for t in ops:
        spec = nb.get_spec(t)
        assert spec.aliases, t
        assert t in ("Parameter", "Constant", "LayerScale", "GaussianNoise") or \
            spec.functions, t  # no call of its own


@pytest.mark.parametrize("type_, bound, params, n_inputs", [
    ("Transpose", {"input": "x", "dim0": 1, "dim1": 2}, {"dim0": 1, "dim1": 2}, 1),
    ("Sub", {"input": 1.0, "other": "x"}, {"scalar": 1.0, "scalar_first": True}, 1),
    ("Pow", {"input": "x", "exponent": 2}, {"scalar": 2.0}, 1),
    ("Mean", {"input": "x", "dim": [2, 3], "keepdim": True}, {"dim": (2, 3), "keepdim": True}, 1),
    ("Chunk", {"input": "x", "chunks": 3, "dim": -1}, {"chunks": 3, "dim": -1}, 1),
    ("Einsum", {"equation": "bij,bjk->bik", "operands": ["a", "b"]},
     {"equation": "bij,bjk->bik"}, 2),
    ("View", {"input": "x", "shape": [-1, 4, 8]}, {"shape": (4, 8)}, 1),
    ("Norm", {"input": "x", "p": 1.0, "dim": -1, "keepdim": False},
     {"p": 1.0, "dim": -1, "keepdim": False}, 1),
    ("Norm", {"input": "x", "ord": 3.0, "dim": (1, 2), "keepdim": True},
     {"p": 3.0, "dim": (1, 2), "keepdim": True}, 1),
    ("Index", {"input": "x", "index": (slice(None), 0)}, {"index": "[:, 0]"}, 1),
])
def test_importer_mapping_gives_parameters_the_graph_accepts(type_, bound, params, n_inputs):
    got, inputs = nb.get_spec(type_).from_call(bound)
    assert got == params and len(inputs) == n_inputs
    g = nb.Graph()
    g.add(type_, **got)  # every value passes the spec's validation


@pytest.mark.parametrize("persistent", [False, True])
def test_constant_is_a_buffer_that_follows_the_model(persistent):
    g = nb.Graph()
    x = g.add("Input", "x", shape=(2, 3))
    c = g.add("Constant", "offsets", shape=(2, 3), fill="arange", persistent=persistent)
    add = g.add("Add", "shifted")
    g.connect(x, add)
    g.connect(c, add)
    analysis = g.analyze()
    assert analysis.ok and analysis.total_params == 0 and analysis.shape(c) == (2, 3)
    assert (f"self.offsets = nn.Buffer(torch.arange(6.0).reshape(1, 2, 3), "
            f"persistent={persistent})") in g.to_python()
    model = g.build()
    assert [n for n, _ in model.named_buffers()] == ["offsets"]
    assert ("offsets" in model.state_dict()) is persistent
    x = torch.zeros(4, 2, 3, dtype=torch.float64)
    y = model.double()(x)  # the buffer changed dtype with the model
    assert y.dtype == torch.float64
    torch.testing.assert_close(y, torch.arange(6.0, dtype=torch.float64).view(1, 2, 3)
                               .expand(4, -1, -1))


def test_constant_full_value():
    g = nb.Graph()
    x = g.add("Input", "x", shape=(3,))
    c = g.add("Constant", "halves", shape=(3,), value=0.5)
    m = g.add("Mul", "scaled")
    g.connect(x, m)
    g.connect(c, m, dst_port="b")
    assert "self.halves = nn.Buffer(torch.full((1, 3), 0.5), persistent=False)" in g.to_python()
    torch.testing.assert_close(g.build()(torch.ones(2, 3)), torch.full((2, 3), 0.5))


@pytest.mark.parametrize("channels, keepdim, shape, stored, code", [
    ("last", False, (5, 8), (8,), "gamma = x * self.gamma"),
    ("first", False, (8, 3, 4), (8,), "gamma = x * self.gamma.view(-1, 1, 1)"),
    ("first", True, (8, 3, 4), (8, 1, 1), "gamma = x * self.gamma"),
])
def test_layer_scale_multiplies_each_channel_by_its_gamma(channels, keepdim, shape, stored,
                                                           code):
    g = nb.Graph()
    x = g.add("Input", "x", shape=shape)
    s = g.add("LayerScale", "gamma", init_value=0.25, channels=channels, keepdim=keepdim)
    g.connect(x, s)
    g.connect(s, g.add("Output"))
    info = g.analyze().nodes[s]
    assert info.error is None and info.shape == shape and info.params == 8
    src = g.to_python(main=False)
    assert f"self.gamma = nn.Parameter(torch.full({stored!r}, 0.25))" in src
    assert code in src
    model = g.build()
    assert [(k, tuple(v.shape)) for k, v in model.state_dict().items()] == [("gamma", stored)]
    with torch.no_grad():
        model.gamma.copy_(torch.arange(8.0).view(stored))
    xs = torch.randn(2, *shape)
    axis = -1 if channels == "last" else 1
    view = [1] * (len(shape) + 1)
    view[axis] = 8
    torch.testing.assert_close(model(xs), xs * torch.arange(8.0).view(view), rtol=0, atol=0)
