"""Diagnostics read as advice and name the node; ``check()`` never raises on a bad graph."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import netbuilder as nb


def _graph(*shapes, dtype="float32") -> tuple[nb.Graph, list[str]]:
    g = nb.Graph("diag")
    ids = [g.add("Input", f"x{i}", shape=s, dtype=dtype) for i, s in enumerate(shapes)]
    return g, ids


def _errors(g: nb.Graph) -> list[nb.Diagnostic]:
    return [d for d in g.check() if d.severity == "error"]


def _one_error(g: nb.Graph, node: str | None) -> str:
    errors = _errors(g)
    assert len(errors) == 1, errors
    assert errors[0].node == node
    return errors[0].message


# Every graph below is broken in one way; check() must report it, never raise.
def missing_input():
    g, _ = _graph((4,))
    return g, g.add("Linear", "fc1")


def rank_mismatch():
    g, (x,) = _graph((1, 28, 28))
    c = g.add("Conv2d", "conv", out_channels=16, kernel_size=5)
    p = g.add("MaxPool2d", "pool", kernel_size=4)
    fc = g.add("Linear", "fc1", out_features=10)
    for a, b in [(x, c), (c, p), (p, fc)]:
        g.connect(a, b)
    return g, fc


def add_mismatch():
    g, (a, b) = _graph((8, 4, 4), (6, 4, 4))
    s = g.add("Add", "residual")
    g.connect(a, s)
    g.connect(b, s)
    return g, s


def concat_mismatch():
    g, (a, b) = _graph((8, 4, 4), (6, 5, 4))
    s = g.add("Concat", "cat")
    g.connect(a, s)
    g.connect(b, s)
    return g, s


def no_input():
    g = nb.Graph("none")
    r = g.add("ReLU", "act")
    fc = g.add("Linear", "fc")
    g.connect(r, fc)
    return g, None


def recurrent_non_sequence():
    g, (x,) = _graph((16,))
    r = g.add("LSTM", "lstm")
    g.connect(x, r)
    return g, r


def kernel_too_large():
    g, (x,) = _graph((1, 4, 4))
    c = g.add("Conv2d", "conv", kernel_size=5)
    g.connect(x, c)
    return g, c


def merge_with_one_input():
    g, (x,) = _graph((4,))
    s = g.add("Add", "sum")
    g.connect(x, s)
    return g, s


def block_with_inner_problem():
    g, (x,) = _graph((3, 8, 8))
    b = g.add("Encoder", "enc")
    inner = g.node(b).inner
    inner.disconnect(inner.edges()[0])
    fc = inner.add("Linear", "fc")
    inner.connect(inner.find("x"), fc)
    inner.connect(fc, inner.find("y"))
    g.connect(x, b)
    return g, b


BROKEN = [missing_input, rank_mismatch, add_mismatch, concat_mismatch, no_input,
          recurrent_non_sequence, kernel_too_large, merge_with_one_input,
          block_with_inner_problem]


@pytest.mark.parametrize("make", BROKEN, ids=lambda f: f.__name__)
def test_check_never_raises_and_reports_an_error(make):
    g, _ = make()
    diags = g.check()
    assert any(d.is_error for d in diags)
    for d in diags:
        assert d.severity in ("error", "warning", "info")
        assert d.node is None or d.node in g
        assert d.message[0].isupper() and "Traceback" not in d.message
    assert not g.analyze().ok
    with pytest.raises(nb.CompileError):
        g.build()


def test_missing_input():
    g, fc = missing_input()
    assert _one_error(g, fc) == "Linear 'fc1' has no input: connect a wire into it"


def test_missing_input_on_a_named_port():
    g, (mu,) = _graph((4,))
    z = g.add("Reparameterize", "z")
    g.connect(mu, z, dst_port="mu")
    msgs = [d.message for d in _errors(g) if d.node == z]
    assert "Reparameterize 'z' has no input on port 'logvar': connect a wire into it" in msgs


def test_too_many_inputs_is_refused_naming_the_node():
    g, (a, b) = _graph((4,), (4,))
    fc = g.add("Linear", "fc1")
    g.connect(a, fc)
    before = nb.graph.to_json(g)
    with pytest.raises(nb.PortError) as err:
        g.connect(b, fc)
    assert "Linear 'fc1' already has its input" in str(err.value)
    assert "Add or Concat" in str(err.value)
    assert err.value.node == fc
    with pytest.raises(nb.PortError) as err:
        g.connect(b, fc, dst_port="in")
    assert "Input port 'in' of Linear 'fc1' is already connected" in str(err.value)
    with pytest.raises(nb.PortError) as err:
        g.connect(b, fc, dst_port="other")
    assert "Linear 'fc1' has no input port 'other'; ports: in" in str(err.value)
    with pytest.raises(nb.PortError) as err:
        g.connect(fc, a)
    assert "Input 'x0' takes no inputs" in str(err.value)
    assert nb.graph.to_json(g) == before


def test_rank_mismatch_exact_text():
    g, fc = rank_mismatch()
    assert _one_error(g, fc) == ("Linear 'fc1' expects (N, features) but receives "
                                 "(N, 16, 6, 6): add a Flatten before it")


def test_rank_mismatch_matches_the_design_example():
    g, (x,) = _graph((16, 5, 5))
    fc = g.add("Linear", "fc1", out_features=120)
    g.connect(x, fc)
    assert _one_error(g, fc) == ("Linear 'fc1' expects (N, features) but receives "
                                 "(N, 16, 5, 5): add a Flatten before it")


def test_add_with_incompatible_shapes_names_both():
    g, s = add_mismatch()
    msg = _one_error(g, s)
    assert msg.startswith("Add 'residual' receives incompatible shapes (N, 8, 4, 4) and "
                          "(N, 6, 4, 4)")
    assert "1×1 Conv2d" in msg


def test_concat_with_incompatible_shapes_names_both():
    g, s = concat_mismatch()
    msg = _one_error(g, s)
    assert "Concat 'cat'" in msg and "(N, 8, 4, 4)" in msg and "(N, 6, 5, 4)" in msg
    assert "except dim 1" in msg
    g.set_param(s, "dim", 0)
    assert "not a sample dimension" in _one_error(g, s)


def test_concat_of_compatible_shapes_is_fine():
    g, (a, b) = _graph((8, 4, 4), (6, 4, 4))
    s = g.add("Concat", "cat")
    g.connect(a, s)
    g.connect(b, s)
    assert _errors(g) == []
    assert g.analyze().shape(s) == (14, 4, 4)


def test_unreachable_nodes_are_warnings():
    g, (x,) = _graph((4,))
    fc = g.add("Linear", "fc")
    g.connect(x, fc)
    a, b = g.add("ReLU", "floating"), g.add("Tanh", "after")
    g.connect(a, b)
    diags = g.check()
    warn = [d for d in diags if d.severity == "warning"]
    assert [d.node for d in warn] == [b]
    assert warn[0].message == ("Tanh 'after' is not reachable from any Input: it is left out "
                               "of the model")
    assert [d.node for d in _errors(g)] == [a]  # the loose end itself has no input


def test_results_that_reach_no_output_are_warnings():
    g, (x,) = _graph((4,))
    o = g.add("Output", "y")
    g.connect(x, o)
    dead = g.add("Linear", "dead")
    g.connect(x, dead)
    warn = [d for d in g.check() if d.severity == "warning"]
    assert [(d.node, d.message) for d in warn] == [
        (dead, "Linear 'dead' reaches no Output: its result is computed for nothing")]
    assert "dead" not in g.to_python()


def test_no_input_and_empty_graph():
    g, _ = no_input()
    graph_level = [d for d in _errors(g) if d.node is None]
    assert graph_level[0].message.startswith("The graph has no Input node")
    empty = nb.Graph().check()
    assert len(empty) == 1 and "The graph is empty" in empty[0].message
    only_input, _ = _graph((4,))
    assert _one_error(only_input, None).startswith("The graph computes nothing")
    with pytest.raises(nb.CompileError, match="computes nothing"):
        only_input.build()


def test_recurrent_layer_given_a_non_sequence():
    g, r = recurrent_non_sequence()
    msg = _one_error(g, r)
    assert msg.startswith("LSTM 'lstm' expects (N, time, features) but receives (N, 16)")
    assert "need a sequence" in msg


def test_conv_kernel_larger_than_input_is_translated():
    g, c = kernel_too_large()
    msg = _one_error(g, c)
    assert msg.startswith("Conv2d 'conv' cannot run on (N, 1, 4, 4)")
    assert "smaller than the window" in msg and "kernel_size" in msg
    assert "RuntimeError" not in msg and "Traceback" not in msg


@pytest.mark.parametrize("setup,fragments", [
    (lambda g, x: g.add("Conv2d", "conv", groups=2), ["Conv2d 'conv'", "(N, 3, 8, 8)",
                                                      "divisible by groups"]),
    (lambda g, x: g.add("MaxPool2d", "pool", kernel_size=9), ["MaxPool2d 'pool'",
                                                              "smaller than the window"]),
    (lambda g, x: g.add("GroupNorm", "gn", num_groups=2), ["GroupNorm 'gn'", "divisible"]),
    (lambda g, x: g.add("Embedding", "emb"), ["Embedding 'emb' looks up integer token ids",
                                              "float32", "int64"]),
    (lambda g, x: g.add("BatchNorm1d", "bn"), ["BatchNorm1d 'bn'", "use BatchNorm2d"]),
    (lambda g, x: g.add("Softmax", "sm", dim=5), ["Softmax 'sm' normalizes along dim 5",
                                                  "(N, 3, 8, 8) has dims 0 to 3"]),
    (lambda g, x: g.add("Unflatten", "u"), ["Unflatten 'u'"]),
    (lambda g, x: g.add("Reshape", "r", shape=(5, -1)), [
        "Reshape 'r' cannot reshape (N, 3, 8, 8) (192 values per sample) into (N, 5, -1)"]),
    (lambda g, x: g.add("MultiheadAttention", "attn"), [
        "MultiheadAttention 'attn' expects (N, time, features)"]),
])
def test_layer_specific_problems_are_translated(setup, fragments):
    g, (x,) = _graph((3, 8, 8))
    nid = setup(g, x)
    g.connect(x, nid)
    msg = _one_error(g, nid)
    for f in fragments:
        assert f in msg, (f, msg)


def test_integer_token_ids_need_an_embedding():
    g, (x,) = _graph((6,), dtype="int64")
    fc = g.add("Linear", "fc")
    g.connect(x, fc)
    assert "Linear 'fc' computes on float values but receives int64" in _one_error(g, fc)
    g.remove(fc)
    e = g.add("Embedding", "emb", num_embeddings=10, embedding_dim=4)
    g.connect(x, e)
    assert _errors(g) == []


def test_sequence_too_long_for_positional_encoding():
    g, (x,) = _graph((40, 8))
    pe = g.add("PositionalEncoding", "pe", max_len=32)
    g.connect(x, pe)
    assert "max_len = 32" in _one_error(g, pe) and "40" in _one_error(g, pe)


def test_attention_heads_must_divide_features():
    g, (x,) = _graph((5, 10))
    a = g.add("MultiheadAttention", "attn", num_heads=3)
    g.connect(x, a)
    msg = _one_error(g, a)
    assert msg.startswith("MultiheadAttention 'attn' cannot run on (N, 5, 10)")
    assert "divisible by num_heads" in msg


def test_errors_do_not_cascade_downstream():
    g, r = recurrent_non_sequence()
    fc = g.add("Linear", "fc")
    g.connect(r, fc)
    assert [d.node for d in _errors(g)] == [r]
    assert g.analyze().nodes[fc].shape is None


def test_block_problem_names_the_block_and_the_inner_node():
    g, b = block_with_inner_problem()
    assert _one_error(g, b) == ("Inside Encoder 'enc': Linear 'fc' expects (N, features) but "
                                "receives (N, 3, 8, 8): add a Flatten before it")


def test_block_without_output_is_an_error():
    g, (x,) = _graph((4,))
    b = g.add("Block", "blk")
    g.connect(x, b)
    inner = g.node(b).inner
    inner.remove(inner.find("y"))
    assert "Block 'blk' has no Output node inside" in _one_error(g, b)


def test_cycle_raises_cycle_error_naming_the_nodes():
    g, (x,) = _graph((4,))
    a, b, c, d = g.add("Linear", "a"), g.add("ReLU", "b"), g.add("Add", "c"), g.add("Add", "d")
    for src, dst in [(x, a), (a, b), (b, c), (b, d), (c, d)]:
        g.connect(src, dst)
    before = nb.graph.to_json(g)
    events = []
    g.edge_added.connect(events.append)
    with pytest.raises(nb.CycleError) as err:
        g.connect(d, c)
    text = str(err.value)
    assert text.startswith("Connecting Add 'd' → Add 'c' would create a cycle (c → d → c)")
    assert "RNN, LSTM, GRU" in text
    assert err.value.node == c
    assert isinstance(err.value, nb.GraphError)
    with pytest.raises(nb.CycleError) as err:
        g.connect(c, c)
    assert "Add 'c' → Add 'c' would create a cycle" in str(err.value)
    assert nb.graph.to_json(g) == before and events == []


def test_unknown_type_suggests_a_close_match():
    g = nb.Graph()
    with pytest.raises(nb.UnknownTypeError) as err:
        g.add("Conv2D")
    assert str(err.value) == ("Unknown layer type 'Conv2D'. Did you mean 'Conv2d', 'Conv3d', "
                              "'Conv1d'?")
    assert len(g) == 0


def test_out_of_range_parameter_names_the_range():
    g = nb.Graph()
    c = g.add("Conv2d", "conv")
    with pytest.raises(nb.ParamError) as err:
        g.set_param(c, "stride", 0)
    assert str(err.value) == ("Conv2d 'conv': stride = 0 is not valid: expected an integer or "
                              "tuple of integers in [1, 1024]")
    with pytest.raises(nb.ParamError) as err:
        g.add("Dropout", "drop", p=2)
    assert str(err.value) == ("Dropout 'drop': p = 2 is not valid: expected a number in [0, 1]")


def test_diagnostics_update_after_a_fix():
    g, fc = rank_mismatch()
    assert _errors(g)
    flat = g.add("Flatten", "flat")
    pool = g.find("pool")
    g.disconnect(g.in_edges(fc)[0])
    g.connect(pool, flat)
    g.connect(flat, fc)
    assert _errors(g) == []
    assert g.analyze().shape(fc) == (10,)


def test_linear_over_the_last_dimension_takes_channels_last_images():
    """A 4-D input is a forgotten Flatten unless the Linear says it works over the last
    dimension (as torch's does: ConvNeXt's MLP on (N, H, W, C))."""
    g = nb.Graph()
    x = g.add("Input", shape=(4, 4, 8))
    fc = g.add("Linear", "fc", out_features=3)
    g.connect(x, fc)
    assert g.analyze().nodes[fc].error.endswith("add a Flatten before it")
    g.set_param(fc, "over_last", True)
    info = g.analyze().nodes[fc]
    assert info.error is None and info.shape == (4, 4, 3) and info.params == 27
    model = g.build()
    xs = torch.randn(2, 4, 4, 8)
    torch.testing.assert_close(model(xs), F.linear(xs, model.fc.weight, model.fc.bias))
