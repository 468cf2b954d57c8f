"""An Input may declare where its batch lies (``batch_dim``: sequence-first tokens (T, N)):
analysis finds shapes without it and keeps its axis along the wires, the generated example and
ONNX export put the batch there, and what loses it is an error naming the node."""
from __future__ import annotations

import pytest
import torch

import netbuilder as nb
from netbuilder.compile.onnx_export import argument_axes, export_onnx, model_arguments


def _sequence_first(head: str = "Linear", **params) -> tuple[nb.Graph, dict]:
    g = nb.Graph("lm")
    ids = {"tokens": g.add("Input", "tokens", shape=(5,), dtype="int64", batch_dim=1)}
    ids["emb"] = g.add("Embedding", "emb", num_embeddings=50, embedding_dim=16)
    ids["head"] = g.add(head, "head", **params)
    ids["out"] = g.add("Output", "out")
    g.connect(ids["tokens"], ids["emb"])
    g.connect(ids["emb"], ids["head"])
    g.connect(ids["head"], ids["out"])
    return g, ids


def test_shapes_exclude_the_batch_where_the_input_puts_it_and_the_axis_follows_the_wires():
    g, ids = _sequence_first(out_features=50)
    analysis = g.analyze()
    assert analysis.ok
    got = {k: (analysis.nodes[v].out_shapes[0], analysis.nodes[v].out_axes[0])
           for k, v in ids.items()}
    assert got == {"tokens": ((5,), 1), "emb": ((5, 16), 1), "head": ((5, 50), 1),
                   "out": ((5, 50), 1)}
    assert analysis.total_params == 50 * 16 + 16 * 50 + 50
    model = g.build().eval()
    tokens = torch.randint(0, 50, (5, 3))  # (time, batch)
    assert tuple(model(tokens).shape) == (5, 3, 50)


def test_the_generated_example_and_the_export_arguments_take_the_batch_at_its_axis():
    g, _ = _sequence_first(out_features=50)
    assert "tokens = torch.randint(0, 2, (5, 2))" in g.to_python()
    assert argument_axes(g) == [1]
    names, values = model_arguments(g, batch=3)
    assert names == ["tokens"] and tuple(values[0].shape) == (5, 3)


def test_the_onnx_file_has_its_dynamic_batch_at_the_inputs_axis(tmp_path):
    # (~10 s: torch.export and two onnxruntime checks; the one ONNX test of this feature)
    g, _ = _sequence_first(out_features=50)
    report = export_onnx(g, tmp_path / "lm.onnx")  # checked by onnxruntime at batches 1, 5
    assert report.max_difference is not None and report.max_difference < 1e-5
    import onnx

    dims = onnx.load(str(tmp_path / "lm.onnx")).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value or d.dim_param for d in dims][0] == 5
    assert isinstance([d.dim_value or d.dim_param for d in dims][1], str)  # the dynamic batch


def test_a_batch_dim_outside_the_shape_names_the_node():
    g, ids = _sequence_first(out_features=50)
    g.set_params(ids["tokens"], {"batch_dim": 3})
    errors = [(d.node, d.message) for d in g.analyze().diagnostics if d.is_error]
    assert errors == [(ids["tokens"], "Input 'tokens': batch_dim 3 lies outside its sample "
                                      "shape (5,) (at most 1: after its last dimension)")]


def test_a_layer_that_reduces_the_batch_away_is_an_error_naming_it():
    g, ids = _sequence_first("Mean", dim=(1,))  # (T, N, 16) -> (T, 16)
    errors = [(d.node, d.message) for d in g.analyze().diagnostics if d.is_error]
    assert errors == [(ids["head"], "Mean 'head' merges or drops the batch axis (its result "
                                    "has (5, 16) for a batch of 7): keep the batch a dimension "
                                    "of its own")]


def test_a_view_that_merges_the_sequence_into_the_batch_keeps_it_first():
    g, ids = _sequence_first("Function", function="Tensor.view", arguments="in0, -1, 16")
    analysis = g.analyze()
    assert analysis.ok, [d.message for d in analysis.diagnostics]
    assert (analysis.nodes[ids["head"]].out_shapes[0], analysis.nodes[ids["head"]].out_axes[0]) \
        == ((16,), 0)
    assert tuple(g.build()(torch.randint(0, 50, (5, 3))).shape) == (15, 16)


def test_a_block_takes_the_batch_first():
    g, ids = _sequence_first(out_features=50)
    block = nb.group(g, [ids["head"]], "Block", name="decoder")
    errors = [(d.node, d.message) for d in g.analyze().diagnostics if d.is_error]
    assert errors == [(block, "Block 'decoder' takes the batch first, but receives it at "
                              "dimension 1 (an Input's batch_dim): blocks and Module nodes need "
                              "the batch first")]


@pytest.mark.parametrize("value", [-1, 9])
def test_batch_dim_is_range_checked(value):
    g, ids = _sequence_first(out_features=50)
    with pytest.raises(nb.NetbuilderError, match="batch_dim"):
        g.set_params(ids["tokens"], {"batch_dim": value})


@pytest.mark.parametrize("kind", ["GRU", "LSTM"])
def test_a_recurrent_layer_fed_sequence_first_takes_and_returns_its_state(kind):
    g = nb.Graph("lm")
    tokens = g.add("Input", "tokens", shape=(5,), dtype="int64", batch_dim=1)
    states = [g.add("Input", name, shape=(2, 8), batch_dim=1)
              for name in (("h", "c") if kind == "LSTM" else ("h",))]
    emb = g.add("Embedding", "emb", num_embeddings=20, embedding_dim=6)
    rnn = g.add(kind, "rnn", hidden_size=8, num_layers=2, output="sequence", state=True)
    g.connect(tokens, emb)
    g.connect(emb, rnn)
    for s, port in zip(states, ("h", "c")):
        g.connect(s, rnn, "out", port)
    finals = ["h_n", "c_n"][:len(states)]
    for port in ["out", *finals]:
        g.connect(rnn, g.add("Output", f"y_{port}"), port)
    analysis = g.analyze()
    assert analysis.ok, [d.message for d in analysis.diagnostics]
    assert [analysis.nodes[rnn].out_axes, analysis.nodes[rnn].out_shapes] == \
        [[1] * (1 + len(finals)), [(5, 8)] + [(2, 8)] * len(finals)]
    model = g.build().eval()
    torch.manual_seed(0)
    reference = getattr(torch.nn, kind)(6, 8, 2)  # sequence-first, as torch's default
    model.rnn.load_state_dict(reference.state_dict())
    x = torch.randint(0, 20, (5, 3))
    given = [torch.randn(2, 3, 8) for _ in states]
    got = model(x, *given)
    with torch.no_grad():
        out, final = reference(model.emb(x), tuple(given) if kind == "LSTM" else given[0])
    want = [out, *(final if kind == "LSTM" else (final,))]
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b)


def _grouped_lstm() -> nb.Graph:
    g = nb.Graph("lm")
    tokens = g.add("Input", "tokens", shape=(5,), dtype="int64", batch_dim=1)
    h, c = (g.add("Input", n, shape=(1, 8), batch_dim=1, group="hidden") for n in ("h", "c"))
    emb = g.add("Embedding", "emb", num_embeddings=20, embedding_dim=6)
    rnn = g.add("LSTM", "rnn", hidden_size=8, output="sequence", state=True)
    g.connect(tokens, emb)
    g.connect(emb, rnn)
    g.connect(h, rnn, "out", "h")
    g.connect(c, rnn, "out", "c")
    g.connect(rnn, g.add("Output", "y"), "out")
    for port in ("h_n", "c_n"):
        g.connect(rnn, g.add("Output", f"y_{port}", group="state"), port)
    return g


def test_grouped_inputs_and_outputs_are_one_tuple_argument_and_one_tuple_result():
    g = _grouped_lstm()
    src = g.to_python()
    assert "def forward(self, tokens, hidden):" in src and "h, c = hidden" in src
    assert "return rnn_out, (rnn_h_n, rnn_c_n)" in src
    assert "hidden = (torch.randn(1, 2, 8), torch.randn(1, 2, 8))" in src
    model = g.build().eval()
    state = (torch.randn(1, 3, 8), torch.randn(1, 3, 8))
    out, (h_n, c_n) = model(torch.randint(0, 20, (5, 3)), state)
    assert tuple(out.shape) == (5, 3, 8) and tuple(h_n.shape) == tuple(c_n.shape) == (1, 3, 8)
    torch.testing.assert_close(out[-1], h_n[0])


def test_a_group_named_by_any_text_is_a_checked_parameter_and_a_lone_member_stands_alone():
    g = _grouped_lstm()
    for nid in g.inputs():
        if g.node(nid).params.get("group"):
            g.set_param(nid, "group", "hidden state'); import os #")
    g.set_param(next(o for o in g.outputs() if g.node(o).name == "y_h_n"), "group", "alone")
    src = g.to_python()
    assert "import os" not in src.replace("from torch import nn", "")
    namespace: dict = {"__name__": "__main__"}
    exec(compile(src, "model.py", "exec"), namespace)  # its own example runs
    model = g.build().eval()
    out, h_n, c_n = model(torch.randint(0, 20, (5, 3)),  # "state" has one member left too
                          (torch.randn(1, 3, 8), torch.randn(1, 3, 8)))
    assert tuple(h_n.shape) == tuple(c_n.shape) == (1, 3, 8)


def test_a_tuple_argument_exports_to_onnx_as_its_parts(tmp_path):
    # (~10 s: torch.export and two onnxruntime checks)
    report = export_onnx(_grouped_lstm(), tmp_path / "lstm.onnx")
    assert report.inputs == ["tokens", "h", "c"]
    assert report.max_difference is not None and report.max_difference < 1e-5


def test_a_language_model_imports_from_one_shape_and_its_own_init_hidden():
    import importlib.util
    import sys
    from pathlib import Path

    from netbuilder.compile.importer import import_module

    path = Path(__file__).parent / "import_corpus" / "word_lm.py"
    spec = importlib.util.spec_from_file_location("corpus_word_lm", path)
    word_lm = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = word_lm
    spec.loader.exec_module(word_lm)
    graph = import_module(word_lm.RNNModel("GRU"), input_shapes=[(5,)])  # verified
    inputs = {graph.node(n).name: graph.node(n).params for n in graph.inputs()}
    assert {k: (tuple(p["shape"]), p["dtype"], p["batch_dim"]) for k, p in inputs.items()} == \
        {"x": ((5,), "int64", 1), "hidden": ((2, 16), "float32", 1)}
