"""Layers of two inputs or outputs against torch: bilinear, similarity, distance, bags of
embeddings, recurrent cells, the transformer decoder layer and the Transformer."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from layer_check import EXAMPLES, Drawn, check_layer
from torch import nn

import netbuilder as nb

small = st.integers(1, 5)


def _bilinear(data):
    a, b, out = data.draw(small), data.draw(small), data.draw(small)
    bias = data.draw(st.booleans())
    # the counter misses torch.bilinear: the spec's shape_rule declares its MACs
    return Drawn({"out_features": out, "bias": bias}, [(a,), (b,)],
                 lambda: nn.Bilinear(a, b, out, bias=bias), macs=a * b * out, counted=False)


def _pair(cls, **strategies):
    def draw(data):
        shape = data.draw(st.lists(small, min_size=1, max_size=3).map(tuple))
        p = {k: data.draw(s) for k, s in strategies.items()}
        if "dim" in p:
            p["dim"] = data.draw(st.integers(1, len(shape)))
        return Drawn(p, [shape, shape], lambda: cls(**p))
    return draw


def _bag(data):
    n, dim = data.draw(st.integers(2, 20)), data.draw(small)
    p = {"num_embeddings": n, "embedding_dim": dim,
         "mode": data.draw(st.sampled_from(["mean", "sum", "max"])),
         "padding_idx": data.draw(st.sampled_from([None, 0]))}
    return Drawn(p, [(data.draw(small),)], lambda: nn.EmbeddingBag(**p), dtypes=["int64"],
                 high=n)


def _cell(cls, lstm=False, elman=False):
    def draw(data):
        features, hidden = data.draw(small), data.draw(small)
        p = {"hidden_size": hidden, "bias": data.draw(st.booleans())}
        if elman:
            p["nonlinearity"] = data.draw(st.sampled_from(["tanh", "relu"]))
        shapes = [(features,)]
        if data.draw(st.booleans()):
            shapes += [(hidden,)] * (2 if lstm else 1)
        gates = 4 if lstm else 3 if cls is nn.GRUCell else 1
        return Drawn(p, shapes, lambda: cls(features, **p),
                     macs=gates * hidden * (features + hidden))
    return draw


def _ff(data, nhead):
    return {"nhead": nhead, "dim_feedforward": data.draw(st.integers(1, 12)), "dropout": 0.1,
            "activation": data.draw(st.sampled_from(["relu", "gelu"])),
            "norm_first": data.draw(st.booleans())}


def _attention_macs(t: int, s: int, d: int) -> int:
    """Projections of queries (t steps), keys and values (s steps) and the output, Q·Kᵀ, A·V."""
    return t * d * d + 2 * s * d * d + t * d * d + 2 * t * s * d


def _decoder_macs(t: int, s: int, d: int, ff: int) -> int:
    return _attention_macs(t, t, d) + _attention_macs(t, s, d) + 2 * t * d * ff


def _decoder(data):
    nhead = data.draw(st.sampled_from([1, 2]))
    d = nhead * data.draw(st.integers(1, 3))
    p = _ff(data, nhead)
    t, s = data.draw(small), data.draw(small)
    # NOTE: FlopCounterMode misses CPU attention kernels on real tensors: the formula counts.
    return Drawn(p, [(t, d), (s, d)],
                 lambda: nn.TransformerDecoderLayer(d, batch_first=True, **p),
                 macs=_decoder_macs(t, s, d, p["dim_feedforward"]), counted=False)


def _transformer(data):
    nhead = data.draw(st.sampled_from([1, 2]))
    d = nhead * data.draw(st.integers(1, 3))
    p = {**_ff(data, nhead), "num_encoder_layers": data.draw(st.integers(1, 2)),
         "num_decoder_layers": data.draw(st.integers(1, 2))}
    s, t = data.draw(small), data.draw(small)
    ff = p["dim_feedforward"]
    macs = (p["num_encoder_layers"] * (_attention_macs(s, s, d) + 2 * s * d * ff) +
            p["num_decoder_layers"] * _decoder_macs(t, s, d, ff))
    return Drawn(p, [(s, d), (t, d)], lambda: nn.Transformer(d, batch_first=True, **p),
                 macs=macs, counted=False)


CASES = {
    "Bilinear": _bilinear,
    "CosineSimilarity": _pair(nn.CosineSimilarity, dim=st.just(1),
                              eps=st.sampled_from([1e-8, 1e-6])),
    "PairwiseDistance": _pair(nn.PairwiseDistance, p=st.sampled_from([1.0, 2.0, 3.0]),
                              eps=st.sampled_from([1e-6, 1e-4]), keepdim=st.booleans()),
    "EmbeddingBag": _bag,
    "RNNCell": _cell(nn.RNNCell, elman=True),
    "LSTMCell": _cell(nn.LSTMCell, lstm=True),
    "GRUCell": _cell(nn.GRUCell),
    "TransformerDecoderLayer": _decoder,
    "Transformer": _transformer,
}


@pytest.mark.parametrize("type_", sorted(CASES))
@EXAMPLES
@given(data=st.data())
def test_two_port_layer_matches_torch(type_, data):
    check_layer(type_, CASES[type_](data))


def test_bilinear_declares_the_macs_the_counter_misses():
    rule = nb.layers.get_spec("Bilinear").shape_rule
    assert rule({"out_features": 7, "bias": True}, [(3,), (5,)]) == ((7,), 3 * 5 * 7)


def test_lstm_cell_state_feeds_the_next_step():
    g = nb.Graph("unrolled")
    x = g.add("Input", shape=(4,))
    a = g.add("LSTMCell", "step1", hidden_size=3)
    b = g.add("LSTMCell", "step2", hidden_size=3)
    g.connect(x, a)
    g.connect(x, b, dst_port="in")
    g.connect(a, b, "h", "h")
    g.connect(a, b, "c", "c")
    out = g.add("Output", "c2")
    g.connect(b, out, "c")
    analysis = g.analyze()
    assert analysis.ok, analysis.diagnostics
    assert analysis.nodes[out].shape == (3,)
    src = g.to_python(main=False)
    assert "step1_h, step1_c = self.step1(" in src
    assert "step2_h, step2_c = self.step2(" in src and "(step1_h, step1_c)" in src


def test_lstm_cell_with_half_a_state_is_explained():
    g = nb.Graph()
    x, h = g.add("Input", shape=(4,)), g.add("Input", shape=(3,))
    cell = g.add("LSTMCell", "cell", hidden_size=3)
    g.connect(x, cell)
    g.connect(h, cell, dst_port="c")
    assert g.analyze().nodes[cell].error == (
        "LSTMCell 'cell' cannot run on (N, 4) and (N, 3): it takes the state as h and c "
        "together: wire both, or neither (zeros)")
