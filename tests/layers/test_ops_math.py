"""Math operations against torch on real tensors: analysed shapes, build() equal to the
generated source executed by hand, values equal to the torch call, and MACs."""
from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from op_harness import assert_same, assert_shapes_match, run_op

import netbuilder as nb
from netbuilder.errors import CompileError

FEW = settings(max_examples=6, deadline=None)
shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)
scalars = st.floats(-3, 3, allow_nan=False).filter(lambda v: abs(v) > 0.1).map(
    lambda v: round(v, 2))

BINARY = {"Sub": lambda a, b: a - b, "Mul": lambda a, b: a * b, "Div": lambda a, b: a / b,
          "FloorDiv": lambda a, b: a // b, "Pow": lambda a, b: a ** b}


@pytest.mark.parametrize("type_", sorted(BINARY))
@FEW
@given(shape=shapes, scalar=scalars, first=st.booleans(), with_tensor=st.booleans())
def test_arithmetic_with_tensors_and_constants(type_, shape, scalar, first, with_tensor):
    fn = BINARY[type_]
    if with_tensor:
        other = (1,) * (len(shape) - 1) + shape[-1:]  # broadcasts over the middle dims
        ran = run_op(type_, {}, [shape, other], ports=["a", "b"], positive=True)
        expected = fn(*ran.xs)
    else:
        ran = run_op(type_, {"scalar": scalar, "scalar_first": first}, [shape], positive=True)
        x = ran.xs[0]
        expected = fn(scalar, x) if first else fn(x, scalar)
        literal = f"({scalar!r})" if scalar < 0 else repr(scalar)
        assert (literal in ran.source) and ("op = " + (literal if first else "x0")) in ran.source
    assert_shapes_match(ran, expected)
    assert_same(ran.built, ran.executed)
    assert_same(ran.built, expected)
    assert ran.info.macs == 0


def test_analysis_finds_a_batch_mix_up_that_one_sample_hides():
    # (N, 3, 4) - (N, 4) broadcasts for N = 1 only: analysis must not take it for valid
    g = nb.Graph()
    a, b = g.add("Input", shape=(3, 4)), g.add("Input", shape=(4,))
    s = g.add("Sub", "diff")
    g.connect(a, s)
    g.connect(b, s, dst_port="b")
    error = g.analyze().nodes[s].error
    assert error and error.startswith("Sub 'diff' cannot run on (N, 3, 4) and (N, 4)")


@FEW
@given(shape=shapes, scalar=scalars)
def test_add_scalar(shape, scalar):
    ran = run_op("AddScalar", {"scalar": scalar}, [shape])
    assert_same(ran.built, ran.xs[0] + scalar)
    assert_shapes_match(ran, ran.xs[0] + scalar)
    assert_same(ran.built, ran.executed)


def test_arithmetic_needs_exactly_one_second_operand():
    g = nb.Graph()
    x = g.add("Input", shape=(4,))
    s = g.add("Sub", "sub")
    g.connect(x, s)
    assert "Sub 'sub'" in g.analyze().nodes[s].error
    assert "wire a tensor into 'b' or set 'scalar'" in g.analyze().nodes[s].error
    g.set_param(s, "scalar", 1.0)
    g.connect(x, s, dst_port="b")
    assert "clear 'scalar' or unwire 'b'" in g.analyze().nodes[s].error
    with pytest.raises(CompileError, match="Sub 'sub'"):
        g.build()


@FEW
@given(n=st.integers(1, 4), m=st.integers(1, 4), p=st.integers(1, 4), h=st.integers(1, 3),
       leading=st.booleans())
def test_matmul_shapes_values_and_macs(n, m, p, h, leading):
    lead = (h,) if leading else ()
    ran = run_op("MatMul", {}, [(*lead, n, m), (*lead, m, p)], ports=["a", "b"])
    expected = ran.xs[0] @ ran.xs[1]
    assert_shapes_match(ran, expected)
    assert_same(ran.built, expected)
    assert_same(ran.built, ran.executed)
    assert ran.info.macs == math.prod(lead) * n * m * p
    assert "op = x0 @ x1" in ran.source


@FEW
@given(n=st.integers(1, 4), m=st.integers(1, 4), p=st.integers(1, 4))
def test_bmm_shapes_values_and_macs(n, m, p):
    ran = run_op("BMM", {}, [(n, m), (m, p)], ports=["a", "b"])
    expected = torch.bmm(*ran.xs)
    assert_shapes_match(ran, expected)
    assert_same(ran.built, expected)
    assert_same(ran.built, ran.executed)
    assert ran.info.macs == n * m * p


@FEW
# NOTE: sizes from 2: torch turns an einsum over size-1 dims into an element-wise product.
@given(h=st.integers(2, 3), q=st.integers(2, 4), k=st.integers(2, 4), d=st.integers(2, 4),
       attention=st.booleans())
def test_einsum_shapes_values_and_macs(h, q, k, d, attention):
    if attention:
        eq, shapes_, macs = "bhqd,bhkd->bhqk", [(h, q, d), (h, k, d)], h * q * k * d
    else:
        eq, shapes_, macs = "bij,bjk->bik", [(q, d), (d, k)], q * d * k
    ran = run_op("Einsum", {"equation": eq}, shapes_)
    expected = torch.einsum(eq, *ran.xs)
    assert_shapes_match(ran, expected)
    assert_same(ran.built, expected)
    assert_same(ran.built, ran.executed)
    assert ran.info.macs == macs
    assert f"torch.einsum({eq!r}, x0, x1)" in ran.source


@pytest.mark.parametrize("equation, words", [
    ("bij,bjk->bik'); import os; os.system('x", "is not an einsum equation"),
    ("bij,bjk->bik\n", "is not an einsum equation"),
    ("bij->bji", "1 operand(s) but 2 input(s)"),
    ("ij,jk->ik", "must keep the batch"),
    ("bij,cjk->bik", "must keep the batch"),
    ("bij,bjk->ik", "must keep the batch"),
])
def test_einsum_equation_is_checked_strictly(equation, words):
    g = nb.Graph()
    a, b = g.add("Input", shape=(2, 3)), g.add("Input", shape=(3, 2))
    e = g.add("Einsum", "mix", equation=equation)
    g.connect(a, e)
    g.connect(b, e)
    error = g.analyze().nodes[e].error
    assert error and "Einsum 'mix'" in error and words in error
    with pytest.raises(CompileError):
        g.to_python()


UNARY = {"Exp": torch.exp, "Log": torch.log, "Sqrt": torch.sqrt, "Rsqrt": torch.rsqrt,
         "Abs": torch.abs, "Neg": torch.neg, "Erf": torch.erf, "Sin": torch.sin,
         "Cos": torch.cos}


@pytest.mark.parametrize("type_", sorted(UNARY))
@settings(max_examples=3, deadline=None)
@given(shape=shapes)
def test_unary_functions(type_, shape):
    ran = run_op(type_, {}, [shape])
    expected = UNARY[type_](ran.xs[0])  # NaN for the log of a negative, on both sides
    assert_shapes_match(ran, expected)
    assert_same(ran.built, expected)
    assert_same(ran.built, ran.executed)
    assert ran.info.macs == 0


@FEW
@given(shape=shapes, lo=st.one_of(st.none(), scalars), hi=st.one_of(st.none(), scalars))
def test_clamp(shape, lo, hi):
    if lo is None and hi is None or (lo is not None and hi is not None and lo > hi):
        g = nb.Graph()
        c = g.add("Clamp", "clip", min=lo, max=hi)
        g.connect(g.add("Input", shape=shape), c)
        assert "Clamp 'clip'" in g.analyze().nodes[c].error
        return
    ran = run_op("Clamp", {"min": lo, "max": hi}, [shape])
    expected = torch.clamp(ran.xs[0], min=lo, max=hi)
    assert_shapes_match(ran, expected)
    assert_same(ran.built, expected)
    assert_same(ran.built, ran.executed)


def test_palette_search_finds_operations_by_what_people_call_them():
    assert nb.search("@")[0].type == "MatMul"
    assert "Mul" in [s.type for s in nb.search("multiply scale")]
    assert "Einsum" in [s.type for s in nb.search("einstein")]
    assert "AddScalar" in [s.type for s in nb.search("add constant")]
