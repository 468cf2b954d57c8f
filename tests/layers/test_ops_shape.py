"""Shape operations against torch on real tensors: shapes, values, build() equal to the
generated source, several output ports, and settings that would touch the batch refused."""
from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from op_harness import assert_same, assert_shapes_match, run_op

import netbuilder as nb
from netbuilder.errors import CompileError, ParamError
from netbuilder.layers.index_text import parse_index

FEW = settings(max_examples=5, deadline=None)
shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)
shapes2 = st.lists(st.integers(1, 4), min_size=2, max_size=3).map(tuple)


def _check(ran, expected, batch=3):
    assert_shapes_match(ran, expected, batch)
    assert_same(ran.built, expected)
    assert_same(ran.built, ran.executed)
    assert ran.info.macs == 0


@FEW
@given(shape=shapes, data=st.data(), batch=st.sampled_from([1, 5]))
def test_view_keeps_the_batch_for_any_batch_size(shape, data, batch):
    total = math.prod(shape)
    first = data.draw(st.sampled_from([d for d in range(1, total + 1) if total % d == 0]))
    target = data.draw(st.sampled_from([(first, -1), (-1,), (first, total // first)]))
    ran = run_op("View", {"shape": target}, [shape], batch=batch)
    _check(ran, ran.xs[0].view(batch, *target), batch)
    assert f"op = x0.view(x0.shape[0], {', '.join(map(str, target))})" in ran.source


@FEW
@given(shape=shapes2, data=st.data())
def test_permute_and_transpose(shape, data):
    rank = len(shape) + 1
    order = (0, *data.draw(st.permutations(range(1, rank))))
    ran = run_op("Permute", {"dims": order}, [shape])
    _check(ran, ran.xs[0].permute(*order))
    a, b = data.draw(st.lists(st.integers(1, rank - 1), min_size=2, max_size=2, unique=True))
    ran = run_op("Transpose", {"dim0": a, "dim1": b - rank}, [shape])
    _check(ran, ran.xs[0].transpose(a, b - rank))


@FEW
@given(shape=shapes, data=st.data())
def test_squeeze_and_unsqueeze(shape, data):
    rank = len(shape) + 1
    dim = data.draw(st.integers(1, rank))
    ran = run_op("Unsqueeze", {"dim": dim}, [shape])
    _check(ran, ran.xs[0].unsqueeze(dim))
    grown = shape[:dim - 1] + (1,) + shape[dim - 1:]
    ran = run_op("Squeeze", {"dim": dim}, [grown])
    _check(ran, ran.xs[0].squeeze(dim))
    ran = run_op("Squeeze", {}, [grown], batch=1)  # every size-1 dim but the batch's
    expected = ran.xs[0].squeeze(tuple(i + 1 for i, s in enumerate(grown) if s == 1))
    _check(ran, expected, batch=1)


@FEW
@given(shape=shapes, data=st.data())
def test_expand_to_the_batch_of_another_tensor(shape, data):
    sizes = [data.draw(st.sampled_from(["-1", "3"])) for _ in shape]
    one = tuple(1 for _ in shape)  # a (N, 1, 1) tensor expanded to (N, 3, 3) ...
    ran = run_op("Expand", {"sizes": ", ".join(["-1", *sizes])}, [one])
    _check(ran, ran.xs[0].expand(-1, *[int(s) for s in sizes]))


def test_expand_batch_takes_the_size_of_like():
    g = nb.Graph()
    x = g.add("Input", "x", shape=(4, 8))
    cls = g.add("Parameter", "cls", shape=(1, 8))
    e = g.add("Expand", "cls_b", sizes="batch, -1, -1")
    g.connect(cls, e)
    g.connect(x, e, dst_port="like")
    cat = g.add("Concat", "tokens", dim=1)
    g.connect(e, cat)
    g.connect(x, cat)
    assert g.analyze().shape(cat) == (5, 8)
    assert "cls_b = cls.expand(x.shape[0], -1, -1)" in g.to_python()
    model = g.build()
    for batch in (1, 6):
        y = model(torch.zeros(batch, 4, 8))
        assert y.shape == (batch, 5, 8)
        torch.testing.assert_close(y[:, 0], model.cls[0].expand(batch, -1))


def test_a_learned_tensor_concatenated_without_expand_is_an_error():
    g = nb.Graph()
    x = g.add("Input", shape=(4, 8))
    cls = g.add("Parameter", "cls", shape=(1, 8))
    cat = g.add("Concat", "tokens", dim=1)
    g.connect(cls, cat)
    g.connect(x, cat)
    assert "Concat 'tokens' cannot run on (N, 1, 8) and (N, 4, 8)" in g.analyze().nodes[cat].error


@pytest.mark.parametrize("sizes, words", [
    ("batch, -1, -1", "wire it"), ("2, -1, -1", "the first size is the batch"),
    ("-1, -1", "has 2 entries"), ("-1, x, -1", "each size is 'batch', -1"),
    ("-1, 0, -1", "each size is 'batch', -1"),
])
def test_expand_sizes_are_checked(sizes, words):
    g = nb.Graph()
    e = g.add("Expand", "ex", sizes=sizes)
    g.connect(g.add("Input", shape=(1, 8)), e)
    assert words in g.analyze().nodes[e].error


@FEW
@given(shape=shapes, data=st.data())
def test_repeat(shape, data):
    reps = (1, *[data.draw(st.integers(1, 3)) for _ in shape])
    ran = run_op("Repeat", {"repeats": reps}, [shape])
    _check(ran, ran.xs[0].repeat(*reps))


INDEXES = [("[:, 0]", lambda x: x[:, 0]), ("[..., 1:3]", lambda x: x[..., 1:3]),
           ("[:, None]", lambda x: x[:, None]), ("[:, -1]", lambda x: x[:, -1]),
           ("[:, ::2]", lambda x: x[:, ::2]), ("[..., 0, :]", lambda x: x[..., 0, :]),
           (":, 1:, -2", lambda x: x[:, 1:, -2])]


@pytest.mark.parametrize("text, fn", INDEXES, ids=[t for t, _ in INDEXES])
def test_index(text, fn):
    ran = run_op("Index", {"index": text}, [(4, 3)])
    _check(ran, fn(ran.xs[0]))


@st.composite
def subscripts(draw, shape):
    """A subscript that keeps the batch: ':' or '...' first, then ints, slices and None."""
    items, text = [slice(None)], [":"]
    n = draw(st.integers(0, len(shape)))
    # after '...' the items index the last dimensions, so they are drawn for those
    ellipsis = n < len(shape) and draw(st.booleans())
    for size in (shape[len(shape) - n:] if ellipsis else shape[:n]):
        if draw(st.booleans()) and draw(st.booleans()):  # a new axis indexes no dimension
            items.append(None)
            text.append("None")
        kind = draw(st.sampled_from(["int", "slice", "all"]))
        if kind == "int":
            k = draw(st.integers(-size, size - 1))
            items.append(k)
            text.append(str(k))
        elif kind == "slice":
            a, b = draw(st.integers(-size, size)), draw(st.integers(-size, size))
            step = draw(st.integers(1, 3))
            items.append(slice(a, b, step))
            text.append(f"{a}:{b}:{step}")
        else:
            items.append(slice(None))
            text.append(":")
    if ellipsis:
        items[0], text[0] = Ellipsis, "..."
    return tuple(items), "[" + ", ".join(text) + "]"


@settings(max_examples=12, deadline=None)
@given(shape=shapes, data=st.data())
def test_index_random_subscripts(shape, data):
    items, text = data.draw(subscripts(shape))
    assert parse_index(text) == items
    ran = run_op("Index", {"index": text}, [shape])
    _check(ran, ran.xs[0][items])


@pytest.mark.parametrize("text, words", [
    ("[0]", "must keep the batch dimension whole"),
    ("[None, :]", "must keep the batch"),
    ("[:, __import__('os')]", "is not an integer, a slice"),
    ("[:, 0][0]", "is not an integer, a slice"),
    ("[:, 1:2:0]", "the step"),
    ("[..., ...]", "more than one '...'"),
    ("[:, 0, 0, 0]", "indexes 4 dimensions but the tensor has 3"),
    ("[:, 9]", "index 9 is out of bounds"),
])
def test_index_text_is_parsed_strictly(text, words):
    g = nb.Graph()
    i = g.add("Index", "take", index=text)
    g.connect(g.add("Input", shape=(4, 3)), i)
    error = g.analyze().nodes[i].error
    assert error.startswith("Index 'take' cannot run on (N, 4, 3)") and words in error
    with pytest.raises(CompileError):
        g.to_python()


def test_index_parse_gives_python_objects():
    assert parse_index("[:, 0]") == (slice(None), 0)
    assert parse_index("[..., 1:3, None]") == (Ellipsis, slice(1, 3), None)
    assert parse_index("[:, -2::3]") == (slice(None), slice(-2, None, 3))


@FEW
@given(shape=shapes, data=st.data())
def test_chunk_and_split_fill_their_output_ports(shape, data):
    d = data.draw(st.integers(1, len(shape)))
    size = shape[d - 1]
    chunks = data.draw(st.sampled_from([k for k in range(2, 5) if -(-size // -(-size // k)) == k]
                                       or [None]))
    if chunks:
        ran = run_op("Chunk", {"chunks": chunks, "dim": d}, [shape])
        _check(ran, ran.xs[0].chunk(chunks, dim=d))
    sizes = data.draw(st.one_of(st.integers(1, 4),
                                st.just((size,) if size < 2 else (1, size - 1))))
    parts = {} if isinstance(sizes, tuple) else {"parts": -(-size // sizes)}
    if parts.get("parts", 1) > 8:
        return
    ran = run_op("Split", {"split_size": sizes, "dim": d - len(shape) - 1, **parts}, [shape])
    _check(ran, ran.xs[0].split(sizes, dim=d))


def test_chunk_parts_feed_other_nodes_and_wired_ports_stay():
    g = nb.Graph()
    x = g.add("Input", shape=(6, 4))
    c = g.add("Chunk", "qkv", chunks=3, dim=1)
    g.connect(x, c)
    s = g.add("Sub", "diff")
    g.connect(c, s, src_port="part2")
    g.connect(c, s, src_port="part0", dst_port="b")
    assert "diff = qkv_part2 - qkv_part0" in g.to_python()
    y = g.build()(torch.arange(48.0).view(2, 6, 4))
    torch.testing.assert_close(y, torch.full((2, 2, 4), 16.0))
    with pytest.raises(ParamError) as err:
        g.set_param(c, "chunks", 2)
    assert str(err.value) == ("Chunk 'qkv': chunks = 2 removes output 'part2', which is wired "
                              "to Sub 'diff'; disconnect that wire first")
    assert (err.value.node, err.value.field) == (c, "chunks")
    assert g.node(c).params["chunks"] == 3


def test_chunk_that_torch_would_cut_differently_is_refused():
    g = nb.Graph()
    c = g.add("Chunk", "c", chunks=4, dim=1)
    g.connect(g.add("Input", shape=(6,)), c)
    assert "cuts into 3 parts, not 4" in g.analyze().nodes[c].error


@FEW
@given(shape=shapes, n=st.integers(1, 3), data=st.data())
def test_stack(shape, n, data):
    dim = data.draw(st.integers(1, len(shape) + 1))
    ran = run_op("Stack", {"dim": dim}, [shape] * n)
    _check(ran, torch.stack(ran.xs, dim=dim))


@pytest.mark.parametrize("type_, params, words", [
    ("Permute", {"dims": (1, 0, 2)}, "moves the batch"),
    ("Permute", {"dims": (0, 1)}, "must order all 3 dimensions"),
    ("Transpose", {"dim0": 0, "dim1": 1}, "dim0 = 0 is the batch dimension"),
    ("Transpose", {"dim0": 1, "dim1": -2}, "name the same dimension"),
    ("Squeeze", {"dim": 1}, "has size 4, not 1"),
    ("Unsqueeze", {"dim": 0}, "is the batch dimension"),
    ("Repeat", {"repeats": (2, 1, 1)}, "the batch's first and 1"),
    ("View", {"shape": (5, -1)}, "12 values per sample"),
    ("Stack", {"dim": 0}, "is the batch dimension"),
    ("Split", {"split_size": (1, 1)}, "adds up to 2 but dim -1 has size 3"),
    ("Split", {"split_size": 1}, "into 3 parts, not 2: set parts to 3"),
])
def test_settings_that_touch_the_batch_or_do_not_fit_are_refused(type_, params, words):
    g = nb.Graph()
    n = g.add(type_, "op", **params)
    g.connect(g.add("Input", shape=(4, 3)), n)
    error = g.analyze().nodes[n].error
    assert error.startswith(f"{type_} 'op' cannot run on (N, 4, 3)") and words in error
