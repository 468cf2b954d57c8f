"""Reductions against torch on real tensors: shapes, values, build() equal to the generated
source, and the batch dimension refused."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from op_harness import assert_same, assert_shapes_match, run_op

import netbuilder as nb

FEW = settings(max_examples=5, deadline=None)
shapes = st.lists(st.integers(2, 4), min_size=1, max_size=3).map(tuple)

REDUCE = {
    "Mean": lambda x, d, k, p: x.mean(dim=d, keepdim=k),
    "Sum": lambda x, d, k, p: x.sum(dim=d, keepdim=k),
    "Amax": lambda x, d, k, p: x.amax(dim=d, keepdim=k),
    "Amin": lambda x, d, k, p: x.amin(dim=d, keepdim=k),
    "Std": lambda x, d, k, p: torch.std(x, dim=d, keepdim=k, correction=p["correction"]),
    "Var": lambda x, d, k, p: torch.var(x, dim=d, keepdim=k, correction=p["correction"]),
    "Norm": lambda x, d, k, p: torch.linalg.vector_norm(x, ord=p["p"], dim=d, keepdim=k),
    "LogSumExp": lambda x, d, k, p: torch.logsumexp(x, dim=d, keepdim=k),
}
ONE_DIM = {
    "Max": lambda x, d, k: x.max(dim=d, keepdim=k).values,
    "Min": lambda x, d, k: x.min(dim=d, keepdim=k).values,
    "Argmax": lambda x, d, k: x.argmax(dim=d, keepdim=k),
}
EXTRA = {"Std": st.fixed_dictionaries({"correction": st.integers(0, 1)}),
         "Var": st.fixed_dictionaries({"correction": st.integers(0, 1)}),
         "Norm": st.fixed_dictionaries({"p": st.sampled_from([1.0, 2.0, 3.0])})}


@st.composite
def dims_of(draw, shape, several=True):
    """Distinct sample dims (1..rank-1), some written negative, as one int or a tuple."""
    rank = len(shape) + 1
    picked = draw(st.lists(st.integers(1, rank - 1), min_size=1,
                           max_size=rank - 1 if several else 1, unique=True))
    written = tuple(d - rank if draw(st.booleans()) else d for d in picked)
    return written[0] if len(written) == 1 and draw(st.booleans()) else written


@pytest.mark.parametrize("type_", sorted(REDUCE))
@FEW
@given(data=st.data(), shape=shapes, keepdim=st.booleans())
def test_reductions_over_chosen_dims(type_, data, shape, keepdim):
    dim = data.draw(dims_of(shape))
    extra = data.draw(EXTRA.get(type_, st.just({})))
    ran = run_op(type_, {"dim": dim, "keepdim": keepdim, **extra}, [shape])
    expected = REDUCE[type_](ran.xs[0], dim, keepdim, extra)
    assert_shapes_match(ran, expected)
    assert_same(ran.built, expected)
    assert_same(ran.built, ran.executed)
    assert ran.info.macs == 0


@pytest.mark.parametrize("type_", sorted(ONE_DIM))
@FEW
@given(data=st.data(), shape=shapes, keepdim=st.booleans())
def test_reductions_along_one_dim(type_, data, shape, keepdim):
    dim = data.draw(dims_of(shape, several=False))
    dim = dim[0] if isinstance(dim, tuple) else dim
    ran = run_op(type_, {"dim": dim, "keepdim": keepdim}, [shape])
    expected = ONE_DIM[type_](ran.xs[0], dim, keepdim)
    assert_shapes_match(ran, expected)
    assert_same(ran.built, expected)
    assert_same(ran.built, ran.executed)


@pytest.mark.parametrize("type_, dim, words", [
    ("Mean", 0, "dim = 0 is the batch dimension"),
    ("Sum", (1, -3), "dim = -3 is the batch dimension"),
    ("Amax", 3, "dim = 3 is out of range for (N, 4, 5): use 1 to 2"),
    ("Mean", (1, -2), "names a dimension twice"),
    ("Argmax", -3, "is the batch dimension"),
])
def test_reducing_the_batch_or_a_missing_dim_is_refused(type_, dim, words):
    g = nb.Graph()
    r = g.add(type_, "red", dim=dim)
    g.connect(g.add("Input", shape=(4, 5)), r)
    error = g.analyze().nodes[r].error
    assert error.startswith(f"{type_} 'red' cannot run on (N, 4, 5): ") and words in error


def test_mean_over_space_is_global_average_pooling():
    g = nb.Graph()
    x = g.add("Input", "x", shape=(3, 5, 5))
    m = g.add("Mean", "gap", dim=(2, 3))
    g.connect(x, m)
    assert g.analyze().shape(m) == (3,)
    assert "gap = x.mean(dim=(2, 3))" in g.to_python()
