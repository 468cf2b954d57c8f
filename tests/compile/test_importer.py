"""Importing PyTorch modules: hand-written models come in with identical parameter counts and
outputs, unsupported operations are listed with file and line, and every example survives
import(export(graph)) with its layers, wiring and parameters."""
from __future__ import annotations

import collections
import importlib.util
import inspect
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import netbuilder as nb
from netbuilder.compile.codegen import used_nodes
from netbuilder.compile.importer import _attribute_names, import_module, map_state_dict
from netbuilder.errors import ModelImportError

EXAMPLES = sorted((Path(nb.__file__).parent / "resources" / "examples").glob("*.json"))


# --- hand-written models -----------------------------------------------------------------------

class MLP(nn.Module):
    def __init__(self, n_in=20, hidden=32, n_out=3):
        super().__init__()
        self.fc1 = nn.Linear(n_in, hidden)
        self.drop = nn.Dropout(0.2)
        self.fc2 = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, n_out)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = self.drop(x)
        x = torch.tanh(self.fc2(x))
        return F.log_softmax(self.out(x), dim=1)


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(x.size(0), -1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                      nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)
        return F.relu(out)


class SmallResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.block = BasicBlock(8, 16, stride=2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.block(F.relu(self.stem(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


class LSTMClassifier(nn.Module):
    def __init__(self, vocab=50, emb=16, hidden=24, classes=4):
        super().__init__()
        self.embed = nn.Embedding(vocab, emb)
        self.lstm = nn.LSTM(emb, hidden, num_layers=2, batch_first=True)
        self.fc = nn.Linear(hidden, classes)

    def forward(self, tokens):
        out, _ = self.lstm(self.embed(tokens))
        return self.fc(out[:, -1])


class BiGRU(nn.Module):
    """The final states of both directions, the usual way: torch.cat((h_n[-2], h_n[-1]), 1)."""

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(8, 16, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(32, 2)

    def forward(self, x):
        _, h_n = self.gru(x)
        return self.fc(torch.cat((h_n[-2], h_n[-1]), dim=1))


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 8))

    def forward(self, x):
        return self.net(x)


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 32)
        self.fc2 = nn.Linear(32, 64)

    def forward(self, z):
        return torch.sigmoid(self.fc2(F.relu(self.fc1(z)))).view(-1, 1, 8, 8)


class AutoEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = Encoder()
        self.decoder = Decoder()

    def forward(self, x):
        return self.decoder(self.encoder(x))


class ConvZoo(nn.Module):
    """Functions and layers beyond the classics: same padding, concat, pooling functions,
    gating, upsampling, padding, group norm, PReLU, softmax."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 8, 3, padding="same")
        self.b = nn.Conv2d(3, 8, 1)
        self.bn = nn.BatchNorm2d(16)
        self.gn = nn.GroupNorm(4, 16)
        self.up = nn.Upsample(scale_factor=2)
        self.pad = nn.ZeroPad2d(1)
        self.prelu = nn.PReLU(16)
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        y = torch.cat([self.a(x), self.b(x)], dim=1)
        y = F.avg_pool2d(self.bn(y), 2)
        y = torch.sigmoid(y) * F.dropout(y, 0.1, self.training)
        y = self.prelu(self.gn(self.pad(self.up(y))))
        y = F.adaptive_avg_pool2d(y, (1, 1)).flatten(1)
        return F.softmax(self.fc(y), dim=-1)


class SeqZoo(nn.Module):
    """Token embedding, self-attention, a transformer layer and a ModuleList."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(50, 16)
        self.attn = nn.MultiheadAttention(16, 4, batch_first=True)
        self.norm = nn.LayerNorm(16)
        self.enc = nn.TransformerEncoderLayer(16, 2, 32, batch_first=True, activation="gelu")
        self.layers = nn.ModuleList([nn.Linear(16, 16), nn.Linear(16, 16)])
        self.head = nn.Linear(16 * 12, 3)

    def forward(self, tokens):
        x = self.emb(tokens)
        a, _ = self.attn(x, x, x)
        x = self.norm(torch.add(x, a))
        x = self.enc(x)
        for layer in self.layers:
            x = F.gelu(layer(x))
        return self.head(x.reshape(x.size(0), -1))


HAND_WRITTEN = [
    (MLP, (20,)), (LeNet, (1, 28, 28)), (SmallResNet, (3, 16, 16)), (LSTMClassifier, (12,)),
    (BiGRU, (10, 8)), (AutoEncoder, (1, 8, 8)), (ConvZoo, (3, 8, 8)), (SeqZoo, (12,)),
]


def _inputs(model, shape, batch=3):
    gen = torch.Generator().manual_seed(1)
    if isinstance(model, (LSTMClassifier, SeqZoo)):
        return torch.randint(0, 50, (batch, *shape), generator=gen)
    return torch.randn(batch, *shape, generator=gen)


@pytest.mark.parametrize("cls,shape", HAND_WRITTEN, ids=[c.__name__ for c, _ in HAND_WRITTEN])
def test_hand_written_model_imports_with_same_parameters_and_outputs(cls, shape):
    torch.manual_seed(0)
    model = cls().eval()
    graph = import_module(model, input_shapes=[shape])
    assert graph.analyze().total_params == sum(p.numel() for p in model.parameters())
    built = graph.build().eval()
    built.load_state_dict(map_state_dict(model.state_dict(), graph), strict=True)
    x = _inputs(model, shape)
    with torch.no_grad():
        torch.testing.assert_close(built(x), model(x), atol=1e-5, rtol=1e-5)
    assert not [d for d in graph.check() if d.is_error]
    assert all(n.pos != (0.0, 0.0) for n in graph.nodes()[1:]), "auto layout places the nodes"


def test_layers_keep_their_names_and_functions_become_nodes():
    graph = import_module(LeNet(), input_shapes=[(1, 28, 28)])
    by_name = {n.name: n for n in graph.nodes()}
    assert by_name["conv1"].type == "Conv2d"
    assert by_name["conv1"].params["padding"] == 2
    assert by_name["conv1"].params["kernel_size"] == 5
    assert by_name["fc1"].params["out_features"] == 120
    types = collections.Counter(n.type for n in graph.nodes())
    assert types == {"Input": 1, "Conv2d": 2, "ReLU": 4, "MaxPool2d": 2, "Flatten": 1,
                     "Linear": 3, "Output": 1}
    assert all(n.params["stride"] is None for n in graph.nodes() if n.type == "MaxPool2d")


def test_functions_and_module_lists_become_named_nodes():
    graph = import_module(SeqZoo(), input_shapes=[(12,)])
    assert [(n.name, n.type) for n in graph.nodes()] == [
        ("tokens", "Input"), ("emb", "Embedding"), ("attn", "MultiheadAttention"),
        ("add", "Add"), ("norm", "LayerNorm"), ("enc", "TransformerEncoderLayer"),
        ("layers.0", "Linear"), ("gelu", "GELU"), ("layers.1", "Linear"), ("gelu_1", "GELU"),
        ("flatten", "Flatten"), ("head", "Linear"), ("output", "Output")]
    enc = graph.node(graph.find("enc")).params
    assert (enc["nhead"], enc["dim_feedforward"], enc["activation"]) == (2, 32, "gelu")
    seq = import_module(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)))
    assert [n.name for n in seq.nodes()] == ["x", "fc0", "relu1", "fc2", "output"]


def test_nested_modules_become_blocks_with_roles():
    graph = import_module(AutoEncoder(), input_shapes=[(1, 8, 8)])
    blocks = {n.name: n for n in graph.nodes() if n.inner is not None}
    assert {n: b.type for n, b in blocks.items()} == {"encoder": "Encoder", "decoder": "Decoder"}
    enc = blocks["encoder"].inner
    net = next(n for n in enc.nodes() if n.inner is not None)  # the Sequential, a block in turn
    assert [n.type for n in net.inner.nodes() if n.type not in ("Input", "Output")] == [
        "Flatten", "Linear", "ReLU", "Linear"]
    # a Sequential's children keep their index: its state-dict keys are the original's
    assert [n.name for n in net.inner.nodes() if n.type == "Linear"] == ["1", "3"]
    dec = blocks["decoder"].inner
    assert [n.params["shape"] for n in dec.nodes() if n.type == "Reshape"] == [(1, 8, 8)]


def test_residual_block_keeps_its_shortcut_wiring():
    graph = import_module(SmallResNet(), input_shapes=[(3, 16, 16)])
    block = next(n for n in graph.nodes() if n.type == "Block").inner
    add = next(n for n in block.nodes() if n.type == "Add")
    sources = [block.node(e.src) for e in block.in_edges(add.id)]
    assert [s.type for s in sources] == ["BatchNorm2d", "Block"]
    shortcut = sources[1].inner
    assert [n.type for n in shortcut.nodes() if n.type not in ("Input", "Output")] == [
        "Conv2d", "BatchNorm2d"]
    x = next(n for n in block.nodes() if n.type == "Input")
    assert {block.node(e.dst).name for e in block.out_edges(x.id)} == {"conv1", "shortcut"}


def test_recurrent_outputs_become_the_last_step():
    g = import_module(LSTMClassifier(), input_shapes=[(12,)])
    lstm = next(n for n in g.nodes() if n.type == "LSTM")
    assert (lstm.params["output"], lstm.params["num_layers"], lstm.params["hidden_size"]) == (
        "last", 2, 24)
    assert next(n for n in g.nodes() if n.type == "Input").params["dtype"] == "int64"
    g = import_module(BiGRU(), input_shapes=[(10, 8)])
    gru = next(n for n in g.nodes() if n.type == "GRU")
    assert gru.params["bidirectional"] and gru.params["output"] == "last"


class Unsupported(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        y = torch.fft.fft(self.fc(x)).real
        v, _ = x.sort()
        return y + v


def _line_of(cls, text):
    lines, start = inspect.getsourcelines(cls)
    return start + next(i for i, line in enumerate(lines) if text in line)


def test_operations_without_a_node_type_become_function_nodes_with_file_and_line():
    model = Unsupported()
    graph = import_module(model, input_shapes=[(8,)])
    groups = graph.meta["imported"]["placeholders"]
    fft_at = f"test_importer.py:{_line_of(Unsupported, 'torch.fft.fft')}"
    sort_at = f"test_importer.py:{_line_of(Unsupported, 'x.sort()')}"
    assert [(g["what"], g["kind"]) for g in groups] == [
        ("torch.fft.fft", "Function"), ("Tensor.sort()", "Function"),
        ("Tensor.real", "Function")]
    assert groups[0]["where"].endswith(fft_at) and groups[1]["where"].endswith(sort_at)
    assert groups[1]["code"] == "v, _ = x.sort()"
    x = torch.randn(3, 8)
    built = graph.build()
    built.load_state_dict(map_state_dict(model.state_dict(), graph))
    assert torch.allclose(built(x), model(x), atol=1e-6)


class ChainedUnsupported(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        y = torch.lgamma(self.fc(x))
        y = torch.relu(y.cumsum(1))
        return torch.digamma(y)


def test_operations_after_a_placeholder_map_as_usual():
    graph = import_module(ChainedUnsupported(), input_shapes=[(8,)])
    assert [g["what"] for g in graph.meta["imported"]["placeholders"]] == [
        "torch.lgamma", "Tensor.cumsum()", "torch.digamma"]
    where = graph.meta["imported"]["placeholders"][1]["where"]
    assert where.endswith(f"test_importer.py:{_line_of(ChainedUnsupported, 'y.cumsum(1)')}")
    assert [n.type for n in graph.nodes()].count("ReLU") == 1  # a supported one is a layer


class SharedWeights(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return self.fc(self.fc(x))


def test_a_module_called_twice_becomes_nodes_sharing_it():
    model = SharedWeights()
    g = import_module(model, input_shapes=[(4,)])
    fcs = [n for n in g.nodes() if n.type == "Linear"]
    assert len(fcs) == 2 and fcs[1].shares == fcs[0].id and fcs[0].shares is None
    assert g.analyze().total_params == 4 * 4 + 4
    built = g.build()
    built.load_state_dict(map_state_dict(model.state_dict(), g))
    x = torch.randn(3, 4)
    assert torch.allclose(built(x), model(x))


class BatchReshape(nn.Module):
    def forward(self, x):
        return x.view(1, -1)


class DataDependent(nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x
        return -x


@pytest.mark.parametrize("model,shape,expected", [
    (BatchReshape(), (4,), "changes the batch dimension"),
    (DataDependent(), (4,), "torch.fx cannot trace DataDependent.forward at "),
])
def test_models_that_cannot_be_imported_say_why(model, shape, expected):
    with pytest.raises(ModelImportError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        import_module(model, input_shapes=[shape])


def test_import_leaves_the_module_as_it_was():
    model = SmallResNet().train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    import_module(model, input_shapes=[(3, 16, 16)])
    assert model.training and model.block.bn1.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_example_inputs_give_the_shapes_and_dtypes():
    graph = import_module(LeNet(), torch.randn(1, 1, 28, 28))
    assert graph.node(graph.inputs()[0]).params == {"shape": (1, 28, 28), "dtype": "float32",
                                                    "batch_dim": 0, "group": ""}
    graph = import_module(LSTMClassifier(), (torch.randint(0, 50, (4, 7)),))
    assert graph.node(graph.inputs()[0]).params == {"shape": (7,), "dtype": "int64",
                                                    "batch_dim": 0, "group": ""}


class ReturnsDict(nn.Module):
    def forward(self, x):
        return {"y": torch.relu(x)}


def test_a_dict_result_is_refused():
    with pytest.raises(ModelImportError, match="returning a dict"):
        import_module(ReturnsDict(), input_shapes=[(3,)])


def test_input_shape_is_guessed_for_a_linear_input_and_required_otherwise():
    assert import_module(MLP()).node("n1").params["shape"] == (20,)
    with pytest.raises(ModelImportError, match="Give the input shape of LeNet"):
        import_module(LeNet())
    with pytest.raises(ModelImportError, match="takes 1 input"):
        import_module(LeNet(), input_shapes=[(1, 28, 28), (3,)])


# --- round trip: import(export(graph)) ---------------------------------------------------------

def _load_exported(graph: nb.Graph, folder: Path):
    source, cls = nb.compile.generate(graph, None, main=False)
    path = folder / f"{graph.name.replace('-', '_')}_model.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, cls)()


_NOT_RECOVERABLE = {"init", "init_value", "l1", "l2"}  # initializers and penalties: not in code


def _layers(graph: nb.Graph) -> dict:
    """``{attribute path: (type, params)}`` of the nodes that reach an output."""
    out = {}

    def walk(g, ids):
        for n in g.nodes():
            out[(*ids, n.id)] = (n.type, {k: v for k, v in n.params.items()
                                          if k not in _NOT_RECOVERABLE})
            if n.inner is not None:
                walk(n.inner, (*ids, n.id))
    walk(graph, ())
    names = _attribute_names(graph, graph.analyze())
    return {names[k]: v for k, v in out.items() if k in names and v[0] not in ("Input", "Output")}


def _wiring(graph: nb.Graph) -> collections.Counter:
    """Edges as (source type, destination type) pairs, names aside, per nesting level."""
    edges = collections.Counter()

    def walk(g, prefix):
        keep = set(used_nodes(g))
        for e in g.edges():
            if e.src in keep and e.dst in keep:
                edges[(prefix + g.node(e.src).type, prefix + g.node(e.dst).type)] += 1
        for n in g.nodes():
            if n.inner is not None and n.id in keep:
                walk(n.inner, f"{prefix}{n.type}/")
    walk(graph, "")
    return edges


def _generative_templates():
    from netbuilder.graph import templates

    return [templates.make_vae(), templates.make_gan(kind="dense")]


def _round_trip_cases():
    cases = [pytest.param(nb.load(p), id=p.stem) for p in EXAMPLES]
    cases += [pytest.param(g, id=f"template-{g.name}") for g in _generative_templates()]
    return cases


def test_examples_exist():
    assert {"lenet5", "resnet_small", "lstm_classifier"} <= {p.stem for p in EXAMPLES}


@pytest.mark.parametrize("graph", _round_trip_cases())
def test_round_trip_reproduces_layers_wiring_and_weights(graph, tmp_path):
    exported = _load_exported(graph, tmp_path)
    shapes = [graph.node(i).params["shape"] for i in graph.inputs()]
    back = import_module(exported, input_shapes=shapes)
    assert _layers(back) == _layers(graph)
    assert _wiring(back) == _wiring(graph)
    assert back.name == graph.name
    # The exported module's weights load into the re-imported graph by name, unchanged.
    built = back.build()
    built.load_state_dict(map_state_dict(exported.state_dict(), back), strict=True)
    assert set(built.state_dict()) == set(exported.state_dict())
