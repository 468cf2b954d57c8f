"""Every layer's shape inference against torch itself.

For each case a tiny graph Input(s) → layer is analysed (meta tensors, no compute) and built; the
analysed output shape, dtype and parameter count must match the built module run on a real
random batch, and the built layer must compute exactly what the hand-instantiated torch layer
computes with the same weights.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import torch
from op_harness import OP_CATEGORIES
from torch import nn

import netbuilder as nb
from netbuilder.layers.modules import (
    FourierPositionEncoding,
    RelativePositionAttention,
    ShiftedWindowAttention,
    StochasticDepth,
)
from netbuilder.layers.spec import _same

BATCH = 3


@dataclass
class Case:
    id: str
    type: str
    params: dict
    shapes: list  # one sample shape per input
    ref: Callable[[], nn.Module] | None = None  # the hand-made torch layer
    call: Callable = field(default=lambda ref, *xs: ref(*xs))  # its output on the inputs
    dtype: str = "float32"
    ports: list | None = None
    stateless: bool = False  # no module attribute: compare with ``call(None, *xs)``


def _last(ref, x):
    return ref(x)[0][:, -1]


def _seq(ref, x):
    return ref(x)[0]


def _bidir_last(ref, x):
    _, h = ref(x)
    h = h[0] if isinstance(h, tuple) else h
    return torch.cat([h[-2], h[-1]], dim=1)  # the final state of each direction


def _coords(_, x):
    n, _, h, w = x.shape
    ii = torch.linspace(-1, 1, h).view(1, 1, h, 1).expand(n, 1, h, w)
    jj = torch.linspace(-1, 1, w).view(1, 1, 1, w).expand(n, 1, h, w)
    return torch.cat([x, ii, jj], dim=1)


def _sinusoid(_, x):
    t, d = x.shape[1:]
    pos = torch.arange(t, dtype=torch.float32)[:, None]
    i = torch.arange(d)[None, :]
    angle = pos / torch.pow(10000.0, (2 * (i // 2)).float() / d)
    table = torch.where(i % 2 == 0, torch.sin(angle), torch.cos(angle))
    return x + table


def _patch_merge(x):
    """Swin's order: the pixel at (row, column) offset (0, 0), (1, 0), (0, 1), (1, 1)."""
    x = torch.nn.functional.pad(x, (0, 0, 0, x.shape[2] % 2, 0, x.shape[1] % 2))
    return torch.cat([x[:, r::2, c::2] for c, r in ((0, 0), (0, 1), (1, 0), (1, 1))], -1)


C = Case
CASES = [
    C("linear", "Linear", {"out_features": 5}, [(8,)], lambda: nn.Linear(8, 5)),
    C("linear-seq-nobias", "Linear", {"out_features": 4, "bias": False}, [(6, 8)],
      lambda: nn.Linear(8, 4, bias=False)),
    C("linear-channels-last", "Linear", {"out_features": 3, "over_last": True}, [(4, 5, 8)],
      lambda: nn.Linear(8, 3)),
    C("flatten", "Flatten", {}, [(3, 4, 5)], lambda: nn.Flatten()),
    C("module-by-import-path", "Module",
      {"target": "torch.nn:Conv1d",
       "arguments": '{"in_channels": 3, "out_channels": 4, "kernel_size": 3}'},
      [(3, 10)], lambda: nn.Conv1d(3, 4, 3)),
    C("function-method", "Function", {"function": "Tensor.cumsum", "arguments": "in0, 1"},
      [(3, 4)], stateless=True, call=lambda _, x: x.cumsum(1)),
    C("function-torch", "Function", {"function": "torch.logcumsumexp",
                                     "arguments": "in0, dim=in0.dim() - 1"},
      [(3, 4)], stateless=True, call=lambda _, x: torch.logcumsumexp(x, dim=2)),
    C("function-tuple-item", "Function", {"function": "Tensor.sort", "arguments": "in0, 1",
                                          "item": 0},
      [(5,)], stateless=True, call=lambda _, x: x.sort(1)[0]),
    C("flatten-start2", "Flatten", {"start_dim": 2}, [(3, 4, 5)], lambda: nn.Flatten(2)),
    C("unflatten", "Unflatten", {"shape": (1, 4, 4)}, [(16,)], lambda: nn.Unflatten(1, (1, 4, 4))),
    C("reshape-infer", "Reshape", {"shape": (3, -1)}, [(12,)], stateless=True,
      call=lambda _, x: x.reshape(x.shape[0], 3, 4)),
    C("reshape-flat", "Reshape", {"shape": (-1,)}, [(2, 3, 4)], stateless=True,
      call=lambda _, x: x.reshape(x.shape[0], 24)),
    C("identity", "Identity", {}, [(5,)], lambda: nn.Identity()),
    C("embedding-int64", "Embedding", {"num_embeddings": 20, "embedding_dim": 6}, [(7,)],
      lambda: nn.Embedding(20, 6), dtype="int64"),
    C("embedding-padding", "Embedding", {"num_embeddings": 9, "embedding_dim": 3,
                                          "padding_idx": 0}, [(4,)],
      lambda: nn.Embedding(9, 3, padding_idx=0), dtype="int64"),
    C("conv1d", "Conv1d", {"out_channels": 6, "kernel_size": 5, "stride": 2, "padding": 1,
                           "dilation": 2}, [(3, 20)],
      lambda: nn.Conv1d(3, 6, 5, stride=2, padding=1, dilation=2)),
    C("conv1d-groups", "Conv1d", {"out_channels": 8, "kernel_size": 3, "groups": 2}, [(4, 9)],
      lambda: nn.Conv1d(4, 8, 3, groups=2)),
    C("conv2d", "Conv2d", {"out_channels": 6, "kernel_size": 5, "padding": 2}, [(1, 12, 12)],
      lambda: nn.Conv2d(1, 6, 5, padding=2)),
    C("conv2d-stride-pad", "Conv2d", {"out_channels": 4, "kernel_size": 3, "stride": 2,
                                      "padding": 1}, [(3, 15, 16)],
      lambda: nn.Conv2d(3, 4, 3, stride=2, padding=1)),
    C("conv2d-tuples-dilation-groups", "Conv2d",
      {"out_channels": 6, "kernel_size": (3, 5), "stride": (2, 1), "padding": (1, 2),
       "dilation": 2, "groups": 2, "bias": False}, [(4, 11, 13)],
      lambda: nn.Conv2d(4, 6, (3, 5), stride=(2, 1), padding=(1, 2), dilation=2, groups=2,
                        bias=False)),
    C("conv2d-depthwise-reflect", "Conv2d",
      {"out_channels": 3, "kernel_size": 3, "padding": 1, "groups": 3,
       "padding_mode": "reflect"}, [(3, 6, 6)],
      lambda: nn.Conv2d(3, 3, 3, padding=1, groups=3, padding_mode="reflect")),
    C("convtranspose2d", "ConvTranspose2d", {"out_channels": 4, "kernel_size": 4, "stride": 2,
                                             "padding": 1}, [(6, 5, 5)],
      lambda: nn.ConvTranspose2d(6, 4, 4, stride=2, padding=1)),
    C("convtranspose2d-output-padding", "ConvTranspose2d",
      {"out_channels": 2, "kernel_size": 3, "stride": 2, "output_padding": (1, 0),
       "groups": 2}, [(4, 5, 6)],
      lambda: nn.ConvTranspose2d(4, 2, 3, stride=2, output_padding=(1, 0), groups=2)),
    C("maxpool1d-ceil", "MaxPool1d", {"kernel_size": 3, "stride": 2, "ceil_mode": True},
      [(3, 10)], lambda: nn.MaxPool1d(3, 2, ceil_mode=True)),
    C("maxpool2d", "MaxPool2d", {"kernel_size": 2}, [(2, 7, 7)], lambda: nn.MaxPool2d(2)),
    C("maxpool2d-ceil", "MaxPool2d", {"kernel_size": 2, "ceil_mode": True}, [(2, 7, 7)],
      lambda: nn.MaxPool2d(2, ceil_mode=True)),
    C("maxpool2d-stride-pad", "MaxPool2d", {"kernel_size": 3, "stride": 2, "padding": 1},
      [(2, 8, 9)], lambda: nn.MaxPool2d(3, 2, 1)),
    C("avgpool2d-ceil-pad", "AvgPool2d", {"kernel_size": 3, "stride": 2, "padding": 1,
                                          "ceil_mode": True}, [(2, 8, 8)],
      lambda: nn.AvgPool2d(3, 2, 1, ceil_mode=True)),
    C("adaptiveavg-global", "AdaptiveAvgPool2d", {}, [(3, 7, 5)],
      lambda: nn.AdaptiveAvgPool2d(1)),
    C("adaptiveavg-2x3", "AdaptiveAvgPool2d", {"output_size": (2, 3)}, [(3, 7, 7)],
      lambda: nn.AdaptiveAvgPool2d((2, 3))),
    C("adaptivemax", "AdaptiveMaxPool2d", {"output_size": 2}, [(3, 7, 7)],
      lambda: nn.AdaptiveMaxPool2d(2)),
    C("upsample-nearest", "Upsample", {}, [(2, 3, 4)], lambda: nn.Upsample(scale_factor=2.0)),
    C("upsample-bilinear", "Upsample", {"scale_factor": 1.5, "mode": "bilinear"}, [(2, 5, 7)],
      lambda: nn.Upsample(scale_factor=1.5, mode="bilinear")),
    C("zeropad-int", "ZeroPad2d", {}, [(2, 3, 3)], lambda: nn.ZeroPad2d(1)),
    C("zeropad-4tuple", "ZeroPad2d", {"padding": (1, 2, 3, 4)}, [(2, 3, 3)],
      lambda: nn.ZeroPad2d((1, 2, 3, 4))),
    C("addcoords", "AddCoords", {}, [(3, 5, 6)], stateless=True, call=_coords),
    C("batchnorm1d", "BatchNorm1d", {}, [(8,)], lambda: nn.BatchNorm1d(8)),
    C("batchnorm1d-signal", "BatchNorm1d", {"affine": False, "momentum": 0.2}, [(4, 10)],
      lambda: nn.BatchNorm1d(4, affine=False, momentum=0.2)),
    C("batchnorm2d", "BatchNorm2d", {"eps": 1e-3}, [(3, 5, 5)],
      lambda: nn.BatchNorm2d(3, eps=1e-3)),
    C("layernorm", "LayerNorm", {}, [(4, 6)], lambda: nn.LayerNorm(6)),
    C("layernorm2d", "LayerNorm2d", {"eps": 1e-6}, [(6, 3, 4)]),
    C("groupnorm", "GroupNorm", {"num_groups": 2}, [(8, 4, 4)], lambda: nn.GroupNorm(2, 8)),
    C("dropout", "Dropout", {"p": 0.3}, [(10,)], lambda: nn.Dropout(0.3)),
    C("dropout2d", "Dropout2d", {}, [(3, 4, 4)], lambda: nn.Dropout2d()),
    # (N, C): torch drops whole samples (with a warning); the same module does so here
    C("dropout2d-features", "Dropout2d", {}, [(6,)], lambda: nn.Dropout2d()),
    C("stochastic-depth", "StochasticDepth", {"p": 0.2, "mode": "batch"}, [(3, 4, 4)],
      lambda: StochasticDepth(0.2, "batch")),
    C("relu", "ReLU", {}, [(5,)], lambda: nn.ReLU()),
    C("leakyrelu", "LeakyReLU", {"negative_slope": 0.2}, [(5,)], lambda: nn.LeakyReLU(0.2)),
    C("prelu-one", "PReLU", {"init_slope": 0.1}, [(3, 4, 4)], lambda: nn.PReLU(init=0.1)),
    C("prelu-per-channel-image", "PReLU", {"num_parameters": "per_channel"}, [(3, 4, 4)],
      lambda: nn.PReLU(3)),
    C("prelu-per-channel-features", "PReLU", {"num_parameters": "per_channel"}, [(6,)],
      lambda: nn.PReLU(6)),
    C("elu", "ELU", {"alpha": 0.5}, [(5,)], lambda: nn.ELU(0.5)),
    C("gelu-tanh", "GELU", {"approximate": "tanh"}, [(5,)], lambda: nn.GELU("tanh")),
    C("silu", "SiLU", {}, [(5,)], lambda: nn.SiLU()),
    C("sigmoid", "Sigmoid", {}, [(5,)], lambda: nn.Sigmoid()),
    C("tanh", "Tanh", {}, [(5,)], lambda: nn.Tanh()),
    C("softmax", "Softmax", {"dim": 1}, [(4, 3)], lambda: nn.Softmax(dim=1)),
    C("logsoftmax", "LogSoftmax", {}, [(7,)], lambda: nn.LogSoftmax(dim=-1)),
    C("rnn-relu-2layers", "RNN", {"hidden_size": 5, "num_layers": 2, "nonlinearity": "relu",
                                  "output": "sequence"}, [(6, 3)],
      lambda: nn.RNN(3, 5, 2, nonlinearity="relu", batch_first=True), _seq),
    C("lstm-last", "LSTM", {"hidden_size": 7}, [(6, 4)],
      lambda: nn.LSTM(4, 7, batch_first=True), _last),
    C("lstm-bidirectional-sequence", "LSTM", {"hidden_size": 5, "bidirectional": True,
                                              "output": "sequence"}, [(6, 4)],
      lambda: nn.LSTM(4, 5, bidirectional=True, batch_first=True), _seq),
    C("lstm-bidirectional-last", "LSTM", {"hidden_size": 5, "bidirectional": True}, [(6, 4)],
      lambda: nn.LSTM(4, 5, bidirectional=True, batch_first=True), _bidir_last),
    C("gru-2layers-dropout", "GRU", {"hidden_size": 6, "num_layers": 2, "dropout": 0.2},
      [(5, 3)], lambda: nn.GRU(3, 6, 2, dropout=0.2, batch_first=True), _last),
    C("gru-bidirectional-last", "GRU", {"hidden_size": 4, "bidirectional": True}, [(5, 3)],
      lambda: nn.GRU(3, 4, bidirectional=True, batch_first=True), _bidir_last),
    C("attention", "MultiheadAttention", {"num_heads": 2}, [(5, 8)],
      lambda: nn.MultiheadAttention(8, 2, batch_first=True),
      lambda ref, x: ref(x, x, x, need_weights=False)[0]),
    C("attention-nobias", "MultiheadAttention", {"num_heads": 4, "bias": False}, [(3, 8)],
      lambda: nn.MultiheadAttention(8, 4, bias=False, batch_first=True),
      lambda ref, x: ref(x, x, x, need_weights=False)[0]),
    C("transformer", "TransformerEncoderLayer", {"nhead": 2, "dim_feedforward": 16}, [(5, 8)],
      lambda: nn.TransformerEncoderLayer(8, 2, 16, batch_first=True)),
    C("transformer-gelu-prenorm", "TransformerEncoderLayer",
      {"nhead": 4, "dim_feedforward": 12, "activation": "gelu", "norm_first": True}, [(4, 8)],
      lambda: nn.TransformerEncoderLayer(8, 4, 12, activation="gelu", norm_first=True,
                                         batch_first=True)),
    C("posenc-sinusoidal-odd", "PositionalEncoding", {"max_len": 16}, [(5, 7)],
      stateless=True, call=_sinusoid),
    C("posenc-learned", "PositionalEncoding", {"kind": "learned", "max_len": 9}, [(5, 6)]),
    C("rbm", "RBM", {"n_hidden": 7}, [(20,)]),
    C("reparameterize", "Reparameterize", {}, [(4,), (4,)], ports=["mu", "logvar"],
      stateless=True, call=lambda _, mu, logvar: mu),  # eval mode: the mean
    C("pairwise-distance", "PairwiseDistance", {"keepdim": True}, [(6,), (6,)],
      ports=["x1", "x2"],
      stateless=True, call=lambda _, a, b: nn.PairwiseDistance(keepdim=True)(a, b)),
    C("pairwise-l1", "PairwiseDistance", {"p": 1.0, "keepdim": True}, [(6,), (6,)],
      ports=["x1", "x2"],
      stateless=True, call=lambda _, a, b: nn.PairwiseDistance(p=1.0, keepdim=True)(a, b)),
    C("add", "Add", {}, [(3, 4), (3, 4)], stateless=True, call=lambda _, a, b: a + b),
    C("add-three", "Add", {}, [(5,), (5,), (5,)], stateless=True,
      call=lambda _, a, b, c: a + b + c),
    C("multiply", "Multiply", {}, [(2, 3, 3), (2, 3, 3)], stateless=True,
      call=lambda _, a, b: a * b),
    C("concat-channels", "Concat", {}, [(2, 4, 4), (3, 4, 4)], stateless=True,
      call=lambda _, a, b: torch.cat([a, b], 1)),
    C("concat-last-dim", "Concat", {"dim": -1}, [(2, 4), (2, 5)], stateless=True,
      call=lambda _, a, b: torch.cat([a, b], -1)),
    C("concat-dim2", "Concat", {"dim": 2}, [(2, 4, 4), (2, 1, 4)], stateless=True,
      call=lambda _, a, b: torch.cat([a, b], 2)),
    C("output", "Output", {}, [(3, 2)], stateless=True, call=lambda _, x: x),
    # Window attention: a 5 × 7 map padded to windows of 3, shifted by 1 (masked regions)
    C("swin-shifted-padded", "ShiftedWindowAttention",
      {"window_size": (3, 3), "shift_size": (1, 1), "num_heads": 2, "proj_bias": False},
      [(5, 7, 8)], lambda: ShiftedWindowAttention(8, (3, 3), (1, 1), 2, proj_bias=False)),
    C("maxvit-relative-position", "RelativePositionAttention", {"head_dim": 4, "size": 2},
      [(3, 4, 8)], lambda: RelativePositionAttention(8, 4, 2)),
    C("fourier-position-encoding", "FourierPositionEncoding",
      {"hidden_dim": 4, "dim": 6, "temperature": 100.0}, [(3, 5, 7)],
      lambda: FourierPositionEncoding(4, 6, temperature=100.0)),
    C("normalize-last", "Normalize", {"dim": -1, "p": 1.0}, [(3, 5)], stateless=True,
      call=lambda _, x: torch.nn.functional.normalize(x, p=1.0, dim=-1)),
    C("space-to-channels-odd", "SpaceToChannels", {}, [(5, 6, 3)], stateless=True,
      call=lambda _, x: _patch_merge(x)),
]

_HELPERS_REF = {  # helpers of our own: compared with the formula in the test
    "posenc-learned": lambda m, x: x + m.table[: x.shape[1]],
    "rbm": lambda m, x: torch.sigmoid(x @ m.weight.t() + m.hidden_bias),
    "layernorm2d": lambda m, x: torch.nn.functional.layer_norm(
        x.permute(0, 2, 3, 1), (6,), m.weight, m.bias, 1e-6).permute(0, 3, 1, 2),
}


def _graph(case: Case) -> tuple[nb.Graph, list[str], str]:
    g = nb.Graph("shape")
    ins = [g.add("Input", f"x{i}", shape=s, dtype=case.dtype) for i, s in enumerate(case.shapes)]
    nid = g.add(case.type, "layer", **case.params)
    for src, port in zip(ins, case.ports or [None] * len(ins), strict=False):
        g.connect(src, nid, dst_port=port)
    return g, ins, nid


def _batch(case: Case, seed: int = 0) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    if case.dtype == "int64":
        vocab = case.params["num_embeddings"]
        return [torch.randint(0, vocab, (BATCH, *s), generator=gen) for s in case.shapes]
    return [torch.randn((BATCH, *s), generator=gen) for s in case.shapes]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_shape_params_and_values_match_torch(case):
    g, _, nid = _graph(case)
    analysis = g.analyze()
    info = analysis.nodes[nid]
    assert info.error is None, info.error
    assert not [d for d in g.check() if d.is_error]

    torch.manual_seed(0)
    model = g.build().eval()
    xs = _batch(case)
    with torch.no_grad():
        y = model(*xs)
    assert tuple(y.shape) == (BATCH, *info.shape)
    assert str(y.dtype) == f"torch.{info.out_dtypes[0]}"
    built_params = sum(p.numel() for p in model.parameters())
    assert info.params == built_params
    assert info.trainable == sum(p.numel() for p in model.parameters() if p.requires_grad)

    if case.type == "Output":
        return
    layer = getattr(model, "layer", None)
    with torch.no_grad():
        if case.ref is not None:
            ref = case.ref()
            assert sum(p.numel() for p in ref.parameters()) == info.params
            if g.node(nid).spec.code_target is None:  # a Module node names its own class
                _check_import_mapping(g.node(nid), ref)
            ref.load_state_dict(layer.state_dict(), strict=True)
            ref.eval()
            expected = case.call(ref, *xs)
        elif case.stateless:
            expected = case.call(None, *xs)
        else:
            expected = _HELPERS_REF[case.id](layer, *xs)
    torch.testing.assert_close(y, expected, rtol=1e-6, atol=1e-6)


def _check_import_mapping(node, ref: nn.Module) -> None:
    """The spec names the torch class and reads the node's parameters back from it."""
    spec = node.spec
    if spec.code_target is not None:  # a Module node names its class in its own parameters
        assert spec.code_target(node.params).endswith(type(ref).__name__)
        return
    # torch.nn's class, or netbuilder's own helper the reference is
    assert spec.torch_class in (f"torch.nn.{type(ref).__name__}",
                                f"{type(ref).__module__}.{type(ref).__name__}")
    for key, value in spec.from_module(ref).items():
        if key == "output" and spec.torch_call:
            continue  # how the node reads the module's result: the importer reads the module
        mine = node.params[key]
        if key == "stride":  # "auto" is a stride equal to the window
            value, mine = (node.params["kernel_size"] if v is None else v for v in (value, mine))
        assert value == mine or _same(mine, value), (spec.type, key, value, mine)


def test_every_layer_type_has_a_shape_case():
    import importlib

    # The newer families are checked with drawn shapes in test_catalog_<family>.py.
    families = ("activations", "pooling", "norm", "resample", "pairs")
    drawn = {t for f in families for t in importlib.import_module(f"test_catalog_{f}").CASES}
    covered = {c.type for c in CASES} | {"Input"} | drawn | {"MaxUnpool1d", "MaxUnpool2d",
                                                               "MaxUnpool3d"}
    blocks = {s.type for s in nb.all_specs() if s.is_block}
    sources = {s.type for s in nb.all_specs() if s.source and s.type != "Input"}
    # tensor operations have their own tests (test_ops_*.py), which check their coverage
    ops = {s.type for s in nb.all_specs() if s.category in OP_CATEGORIES}
    missing = {s.type for s in nb.all_specs()} - covered - blocks - sources - ops
    assert not missing, f"no shape test for {sorted(missing)}"


def test_drawn_source_shapes_match_the_built_module():
    for spec in nb.all_specs():
        if not spec.source or spec.type == "Input":
            continue
        g = nb.Graph("src")
        x = g.add("Input", shape=(4,))
        s = g.add(spec.type)
        o1, o2 = g.add("Output", "data"), g.add("Output", "drawn")
        g.connect(x, o1)
        g.connect(s, o2)
        info = g.analyze().nodes[s]
        assert info.error is None, info.error
        torch.manual_seed(0)
        _, drawn = g.build()(torch.zeros(BATCH, 4))
        assert tuple(drawn.shape) == (BATCH, *info.shape), spec.type


@pytest.mark.parametrize("block", ["Block", "Encoder", "Decoder", "Generator", "Discriminator"])
def test_block_shape_and_params_are_its_inner_graph(block):
    g = nb.Graph("outer")
    x = g.add("Input", shape=(3, 8, 8))
    b = g.add(block, "blk")
    inner = g.node(b).inner
    i, o = inner.find("x"), inner.find("y")
    inner.disconnect(inner.edges()[0])
    conv = inner.add("Conv2d", "conv", out_channels=5, kernel_size=3)
    pool = inner.add("AdaptiveAvgPool2d", "gap")
    flat = inner.add("Flatten", "flat")
    for a, c in [(i, conv), (conv, pool), (pool, flat), (flat, o)]:
        inner.connect(a, c)
    g.connect(x, b)
    info = g.analyze().nodes[b]
    assert info.error is None, info.error
    assert info.shape == (5,)
    assert info.params == 3 * 5 * 9 + 5 == info.inner.total_params
    assert info.macs == 5 * 6 * 6 * 3 * 9 == info.inner.total_macs  # the conv; pooling is free
    model = g.build().eval()
    y = model(torch.randn(BATCH, 3, 8, 8))
    assert tuple(y.shape) == (BATCH, 5)
    assert sum(p.numel() for p in model.parameters()) == info.params


def _macs(g: nb.Graph, nid: str) -> int:
    return g.analyze().nodes[nid].macs


@pytest.mark.parametrize("shape,out", [((8,), 5), ((6, 8), 4), ((32,), 1)])
def test_linear_macs_closed_formula(shape, out):
    g = nb.Graph()
    x = g.add("Input", shape=shape)
    fc = g.add("Linear", out_features=out)
    g.connect(x, fc)
    assert _macs(g, fc) == math.prod(shape) * out


@pytest.mark.parametrize("shape,kw", [
    ((1, 28, 28), {"out_channels": 6, "kernel_size": 5, "padding": 2}),
    ((3, 15, 16), {"out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1}),
    ((4, 11, 13), {"out_channels": 6, "kernel_size": (3, 5), "dilation": 2, "groups": 2}),
])
def test_conv2d_macs_closed_formula(shape, kw):
    g = nb.Graph()
    x = g.add("Input", shape=shape)
    c = g.add("Conv2d", **kw)
    g.connect(x, c)
    info = g.analyze().nodes[c]
    c_out, h, w = info.shape
    kh, kw_ = (kw["kernel_size"],) * 2 if isinstance(kw["kernel_size"], int) else kw["kernel_size"]
    groups = kw.get("groups", 1)
    assert info.macs == c_out * h * w * (shape[0] // groups) * kh * kw_


def test_totals_and_activation_memory():
    g = nb.Graph()
    x = g.add("Input", shape=(1, 8, 8))
    c = g.add("Conv2d", out_channels=4, kernel_size=3, padding=1)
    f = g.add("Flatten")
    fc = g.add("Linear", out_features=10)
    for a, b in [(x, c), (c, f), (f, fc)]:
        g.connect(a, b)
    a = g.analyze()
    assert a.total_params == (9 * 4 + 4) + (256 * 10 + 10)
    assert a.total_macs == 4 * 64 * 9 + 256 * 10
    per_sample = (64 + 256 + 256 + 10) * 4  # float32 outputs of every node
    assert a.activation_bytes(1) == per_sample
    assert a.activation_bytes(32) == 32 * per_sample
    assert g.analyze(batch_size=16).activation_bytes() == 16 * per_sample
    assert a.param_bytes() == 4 * a.total_params
    edge = g.in_edges(fc)[0]
    assert a.edge_shape(edge) == (256,)
    assert nb.graph.fmt_shape(a.shape(c)) == "(N, 4, 8, 8)"


def test_outputs_and_blocks_are_counted_once():
    g = nb.Graph()
    x = g.add("Input", shape=(8,))
    b = g.add("Block", "blk")
    inner = g.node(b).inner
    inner.disconnect(inner.edges()[0])
    fc = inner.add("Linear", "fc", out_features=4)
    act = inner.add("ReLU", "act")
    inner.connect(inner.find("x"), fc)
    inner.connect(fc, act)
    inner.connect(act, inner.find("y"))
    o = g.add("Output", "y")
    g.connect(x, b)
    g.connect(b, o)
    a = g.analyze()
    out = a.nodes[o]
    assert (out.shape, out.params, out.macs) == ((4,), 0, 0)
    assert a.nodes[b].params == a.total_params == 8 * 4 + 4
    assert a.nodes[b].macs == a.total_macs == 8 * 4
    # Input 8, Linear 4, ReLU 4: the block's and the Output's values are those same tensors.
    assert a.activation_bytes(1) == (8 + 4 + 4) * 4
