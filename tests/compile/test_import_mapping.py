"""Importing models as libraries write them: functional calls on a module's own parameters,
subclasses of torch layers, blocks called with keywords or lists, several inputs and outputs.

Each imports exactly: the same parameter count, the original's state-dict keys (its state dict
loads by its own keys, strictly), the same outputs, and exported code giving them too.
"""
from __future__ import annotations

import importlib.util

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import netbuilder as nb
from netbuilder.compile.importer import import_module
from netbuilder.errors import ModelImportError


def _scramble(model: nn.Module) -> nn.Module:
    """Weights and running statistics away from their initial values (ones, zeros)."""
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for name, t in [*model.named_parameters(), *model.named_buffers()]:
            if t.is_floating_point():
                t.copy_(torch.rand(t.shape, generator=gen) + 0.5 if "var" in name
                        else torch.randn(t.shape, generator=gen) * 0.5)
    return model.eval()


def _exported(graph: nb.Graph, folder):
    """The graph's exported model.py, loaded as a file of its own."""
    path = folder / "exported_model.py"
    path.write_text(graph.to_python(main=False))
    spec = importlib.util.spec_from_file_location("exported_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    ours = [v for v in vars(module).values() if isinstance(v, type) and
            issubclass(v, nn.Module) and v.__module__ == module.__name__]
    return ours[-1]()  # the network comes after its blocks' classes


def _outputs(model, inputs) -> list[torch.Tensor]:
    with torch.no_grad():
        out = model(*inputs)
    return [out] if isinstance(out, torch.Tensor) else list(out)


def check_exact(model: nn.Module, inputs: tuple, folder, **kw) -> nb.Graph:
    """Import ``model`` and check the graph and its exported code against it."""
    model = _scramble(model)
    graph = import_module(model, **kw)
    assert graph.analyze().total_params == sum(p.numel() for p in model.parameters())
    want = _outputs(model, inputs)
    for built in (graph.build(), _exported(graph, folder)):
        assert list(built.state_dict()) == list(model.state_dict()) or \
            sorted(built.state_dict()) == sorted(model.state_dict())
        built.load_state_dict(model.state_dict(), strict=True)
        built.eval()
        got = _outputs(built, inputs)
        assert len(got) == len(want)
        for a, b in zip(got, want):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    return graph


def _names(graph: nb.Graph) -> dict[str, str]:
    return {n.name: n.type for n in graph.nodes()}


# --- 1. functional calls on a module's own parameters ------------------------------------------

class FBatchNorm(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))
        self.register_buffer("running_mean", torch.zeros(c))
        self.register_buffer("running_var", torch.ones(c))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))
        self.momentum, self.eps = 0.1, 1e-5

    def forward(self, x):
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training, self.momentum, self.eps)


class FLayerNorm(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.normalized_shape, self.eps = (c,), 1e-6
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)


class FLinear(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_out, n_in))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)


class FConv(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, 3, 3))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.stride, self.padding = 2, 1

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding)


class FGroupNorm(nn.Module):
    def __init__(self, c, groups):
        super().__init__()
        self.groups = groups
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))

    def forward(self, x):
        return F.group_norm(x, self.groups, self.weight, self.bias, 1e-5)


class FunctionalNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = FConv(3, 8)
        self.bn = FBatchNorm(8)
        self.gn = FGroupNorm(8, 4)
        self.ln = FLayerNorm(8 * 4 * 4)
        self.fc = FLinear(8 * 4 * 4, 5)

    def forward(self, x):
        x = F.relu(self.bn(self.conv(x)))
        x = self.gn(x)
        x = torch.flatten(x, 1)
        return self.fc(self.ln(x))


class FEmbedding(nn.Module):
    def __init__(self, vocab, dim):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(vocab, dim))

    def forward(self, tokens):
        return F.embedding(tokens, self.weight)


class TokenNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = FEmbedding(30, 6)
        self.head = nn.Linear(6, 4)

    def forward(self, tokens):
        return self.head(self.embed(tokens).mean(dim=1))


def test_functional_calls_on_own_parameters_become_their_layers(tmp_path):
    graph = check_exact(FunctionalNet(), (torch.randn(3, 3, 8, 8),), tmp_path,
                        input_shapes=[(3, 8, 8)])
    names = _names(graph)
    assert {k: names[k] for k in ("conv", "bn", "gn", "ln", "fc")} == {
        "conv": "Conv2d", "bn": "BatchNorm2d", "gn": "GroupNorm", "ln": "LayerNorm",
        "fc": "Linear"}
    conv = graph.node(graph.find("conv")).params
    assert (conv["out_channels"], conv["kernel_size"], conv["stride"], conv["padding"]) == \
        (8, 3, 2, 1)
    assert graph.node(graph.find("ln")).params["eps"] == 1e-6
    assert graph.node(graph.find("gn")).params["num_groups"] == 4


def test_functional_embedding_takes_long_tokens(tmp_path):
    tokens = torch.randint(0, 30, (3, 7))
    graph = check_exact(TokenNet(), (tokens,), tmp_path, input_shapes=[(7,)])
    assert _names(graph)["embed"] == "Embedding"
    assert graph.node(graph.inputs()[0]).params["dtype"] == "int64"


class Renamed(nn.Module):
    def __init__(self):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(4))
        self.beta = nn.Parameter(torch.zeros(4))

    def forward(self, x):
        return F.layer_norm(x, (4,), self.gamma, self.beta)


class HoldsRenamed(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = Renamed()

    def forward(self, x):
        return self.norm(x)


def test_functional_call_on_differently_named_tensors_says_so():
    with pytest.raises(ModelImportError, match=r"'norm.gamma' as its weight: only the "
                                               r"module's own tensor named weight"):
        import_module(HoldsRenamed(), input_shapes=[(4,)])


class Mixer(nn.Module):
    """Operations called positionally, as people write them."""

    def __init__(self):
        super().__init__()
        self.tok = nn.Linear(6, 6)
        self.ch = nn.Linear(8, 8)
        self.head = nn.Linear(14, 3)

    def forward(self, x):  # (N, 6 tokens, 8 channels)
        y = self.tok(x.transpose(1, 2)).transpose(1, 2)
        z = torch.stack([y, x], 1).sum(1)
        att = torch.einsum("bik,bjk->bij", z, x).clamp(-5, 5)
        w = att.permute(0, 2, 1).amax(2, False)
        return self.head(torch.cat([self.ch(z).mean(1), w], 1))


def test_operations_called_with_positional_arguments_import(tmp_path):
    graph = check_exact(Mixer(), (torch.randn(3, 6, 8),), tmp_path, input_shapes=[(6, 8)])
    params = {n.type: n.params for n in graph.nodes()}
    assert (params["Transpose"]["dim0"], params["Transpose"]["dim1"]) == (1, 2)
    assert params["Permute"]["dims"] == (0, 2, 1)
    assert params["Einsum"]["equation"] == "bik,bjk->bij"
    assert (params["Clamp"]["min"], params["Clamp"]["max"]) == (-5, 5)
    assert (params["Amax"]["dim"], params["Amax"]["keepdim"]) == (2, False)
    assert params["Stack"]["dim"] == 1 and params["Sum"]["dim"] == 1


class ThreeWaySplit(nn.Module):
    """nanoGPT's ``q, k, v = self.c_attn(x).split(n_embd, dim=2)``."""

    def __init__(self):
        super().__init__()
        self.c_attn = nn.Linear(8, 24)

    def forward(self, x):
        q, k, v = self.c_attn(x).split(8, dim=2)
        return q * k + v


def test_a_split_into_three_parts_has_three_outputs(tmp_path):
    graph = check_exact(ThreeWaySplit(), (torch.randn(2, 5, 8),), tmp_path,
                        input_shapes=[(5, 8)])
    (split,) = [n for n in graph.nodes() if n.type == "Split"]
    assert (split.params["split_size"], split.params["parts"], split.params["dim"]) == (8, 3, 2)


# --- 2. subclasses of torch layers -------------------------------------------------------------

class BatchNormAct2d(nn.BatchNorm2d):
    """timm's BatchNorm2d with an activation folded in."""

    def __init__(self, c, act_layer=nn.ReLU):
        super().__init__(c)
        self.drop = nn.Identity()
        self.act = act_layer()

    def forward(self, x):
        x = super().forward(x)
        return self.act(self.drop(x))


class TimmBatchNormAct2d(nn.BatchNorm2d):
    """timm's own: F.batch_norm on its tensors, then dropout and the activation."""

    def __init__(self, c, act_layer=nn.ReLU, inplace=True):
        super().__init__(c)
        self.drop = nn.Identity()
        self.act = act_layer(inplace=inplace)

    def forward(self, x):
        torch._assert(x.ndim == 4, f"expected 4D input (got {x.ndim}D input)")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
        bn_training = True if self.training else \
            (self.running_mean is None) and (self.running_var is None)
        x = F.batch_norm(
            x, self.running_mean if not self.training or self.track_running_stats else None,
            self.running_var if not self.training or self.track_running_stats else None,
            self.weight, self.bias, bn_training, factor, self.eps)
        return self.act(self.drop(x))


class LayerNorm2d(nn.LayerNorm):
    """A channels-first LayerNorm (ConvNeXt)."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class Conv2dSame(nn.Conv2d):
    """A Conv2d padding like TensorFlow's 'SAME' (more on the far side for an even kernel)."""

    def __init__(self, cin, cout, k):
        super().__init__(cin, cout, k, padding=0)
        total = k - 1
        self.same = (total // 2, total - total // 2) * 2

    def forward(self, x):
        return self._conv_forward(F.pad(x, self.same), self.weight, self.bias)


class SubclassNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = Conv2dSame(3, 8, 4)
        self.bn1 = BatchNormAct2d(8)
        self.norm = LayerNorm2d(8, eps=1e-6)
        self.conv2 = nn.Conv2d(8, 4, 3, padding="same")
        self.bn2 = TimmBatchNormAct2d(4, nn.SiLU)

    def forward(self, x):
        x = self.norm(self.bn1(self.conv1(x)))
        return self.bn2(self.conv2(x))


def test_subclasses_of_torch_layers_become_the_layer_and_what_they_add(tmp_path):
    graph = check_exact(SubclassNet(), (torch.randn(3, 3, 9, 9),), tmp_path,
                        input_shapes=[(3, 9, 9)])
    names = _names(graph)
    assert {k: names[k] for k in ("conv1", "bn1", "bn1_act", "norm", "conv2", "bn2", "bn2_drop",
                                  "bn2_act")} == {
        "conv1": "Conv2d", "bn1": "BatchNorm2d", "bn1_act": "ReLU", "norm": "LayerNorm2d",
        "conv2": "Conv2d", "bn2": "BatchNorm2d", "bn2_drop": "Identity", "bn2_act": "SiLU"}
    assert graph.node(graph.find("conv1")).params["kernel_size"] == 4
    assert "Permute" not in names.values()  # the channels-first LayerNorm is one node
    assert not any(n.inner is not None for n in graph.nodes()), "no blocks: keys stay flat"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_mapped_subclasses_export_to_onnx_with_the_originals_weights(tmp_path):
    from netbuilder.compile.onnx_export import export_onnx

    model = _scramble(SubclassNet())
    graph = import_module(model, input_shapes=[(3, 9, 9)])
    report = export_onnx(graph, tmp_path / "net.onnx", model.state_dict())
    assert report.max_difference is not None and report.max_difference <= 1e-5


# --- 3. blocks called with keywords and lists; several inputs and outputs ----------------------

class DenseLayer(nn.Module):
    """torchvision's _DenseLayer: takes the list of all earlier feature maps."""

    def __init__(self, cin, growth):
        super().__init__()
        self.norm = nn.BatchNorm2d(cin)
        self.conv = nn.Conv2d(cin, growth, 3, padding=1, bias=False)

    def forward(self, inputs):
        prev = [inputs] if isinstance(inputs, torch.Tensor) else inputs
        x = torch.cat(prev, 1)
        return self.conv(F.relu(self.norm(x)))


class DenseBlock(nn.ModuleDict):
    def __init__(self, layers, cin, growth):
        super().__init__()
        for i in range(layers):
            self[f"denselayer{i + 1}"] = DenseLayer(cin + i * growth, growth)

    def forward(self, x):
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


class Gate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.proj = nn.Conv2d(c, c, 1)

    def forward(self, x, skip=None, scale=1.0):
        y = torch.sigmoid(self.proj(x))
        return y * skip if skip is not None else y


class DenseNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.block = DenseBlock(3, 8, 4)
        self.gate = Gate(20)
        self.head = nn.Linear(20, 10)

    def forward(self, x):
        x = self.block(self.stem(x))
        x = self.gate(x, skip=x)
        return self.head(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def test_blocks_called_with_lists_and_keywords_import(tmp_path):
    graph = check_exact(DenseNet(), (torch.randn(3, 3, 8, 8),), tmp_path,
                        input_shapes=[(3, 8, 8)])
    block = graph.node(graph.find("block")).inner
    layer3 = block.node(block.find("denselayer3")).inner
    assert len(layer3.inputs()) == 3, "one input per tensor of the list"
    gate = graph.node(graph.find("gate")).inner
    assert len(gate.inputs()) == 2


class TwoHeads(nn.Module):
    """Tokens and a feature vector in; class scores and a regression out."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(40, 8)
        self.rnn = nn.GRU(8, 12, batch_first=True)
        self.feat = nn.Linear(5, 12)
        self.cls = nn.Linear(12, 3)
        self.reg = nn.Linear(12, 1)

    def forward(self, tokens, features):
        out, h = self.rnn(self.embed(tokens))
        z = out[:, -1] + self.feat(features)
        return self.cls(z), self.reg(z)


def test_several_inputs_and_outputs_import(tmp_path):
    inputs = (torch.randint(0, 40, (3, 9)), torch.randn(3, 5))
    graph = check_exact(TwoHeads(), inputs, tmp_path, input_shapes=[(9,), (5,)])
    dtypes = [graph.node(i).params["dtype"] for i in graph.inputs()]
    assert dtypes == ["int64", "float32"]
    assert len([n for n in graph.nodes() if n.is_output]) == 2


# --- the command line: one shape per input, with a dtype ---------------------------------------

LM_SOURCE = '''
import torch
from torch import nn


class LM(nn.Module):
    def __init__(self, vocab=50):
        super().__init__()
        self.embed = nn.Embedding(vocab, 8)
        self.rnn = nn.LSTM(8, 16, batch_first=True)
        self.ctx = nn.Linear(16, 16)
        self.decoder = nn.Linear(16, vocab)

    def forward(self, tokens, context):
        out, _ = self.rnn(self.embed(tokens))
        hidden = out[:, -1] + self.ctx(context)
        return self.decoder(hidden), hidden
'''


@pytest.mark.usefixtures("import_here")
def test_import_command_takes_a_shape_and_dtype_per_input(tmp_path, capsys):
    from netbuilder.cli import main

    source = tmp_path / "lm.py"
    source.write_text(LM_SOURCE)
    out = tmp_path / "lm.json"
    code = main(["import", f"{source}:LM", "--input-shape", "35:long", "--input-shape",
                 "16:float", "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    graph = nb.load(out)
    inputs = [graph.node(i).params for i in graph.inputs()]
    assert [(p["shape"], p["dtype"]) for p in inputs] == [((35,), "int64"), ((16,), "float32")]
    spec = importlib.util.spec_from_file_location("lm_source", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    original = _scramble(module.LM())
    built = graph.build().eval()
    built.load_state_dict(original.state_dict(), strict=True)
    args = (torch.randint(0, 50, (4, 35)), torch.randn(4, 16))
    for a, b in zip(_outputs(built, args), _outputs(original, args), strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)

    code = main(["import", f"{source}:LM", "--input-shape", "35:complex", "--input-shape",
                 "16", "-o", str(tmp_path / "bad.json")])
    err = capsys.readouterr().err
    assert code == 1
    assert "'35:complex': unknown dtype 'complex'; give one of float, float32, long, int64" in err
    assert not (tmp_path / "bad.json").exists()
    code = main(["import", f"{source}:LM", "--input-shape", "35:long", "-o",
                 str(tmp_path / "bad.json")])
    assert code == 1
    assert "LM.forward takes 2 input(s) (tokens, context) but 1 input shape(s) were given" in \
        capsys.readouterr().err


def test_specs_with_functional_forms_read_them():
    from netbuilder.compile import fx_map
    from netbuilder.layers import all_specs

    for spec in all_specs():
        assert bool(spec.weight_functions) == (spec.from_weights is not None), spec.type
    by_rank = {r: fx_map.weight_spec("batch_norm", r).type for r in (1, 2, 3, 4)}
    assert by_rank == {1: "BatchNorm1d", 2: "BatchNorm1d", 3: "BatchNorm2d", 4: "BatchNorm3d"}
    assert fx_map.weight_spec("batch_norm", 5) is None


class NoCounterBatchNorm(FBatchNorm):
    """Without num_batches_tracked: a BatchNorm2d layer would hold a tensor it lacks."""

    def __init__(self, c):
        super().__init__(c)
        del self.num_batches_tracked


class Stars(nn.Module):
    def forward(self, *xs):
        return torch.cat(xs, 1)


class Holds(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x, x) if isinstance(self.inner, Stars) else self.inner(x)


@pytest.mark.parametrize("inner,expected", [
    (NoCounterBatchNorm(4), "NoCounterBatchNorm 'inner' holds the tensors bias, running_mean, "
                            "running_var, weight but a BatchNorm2d layer holds bias, "
                            "num_batches_tracked, running_mean, running_var, weight"),
    (Stars(), "Stars 'inner' is called with *args or **kwargs (xs)"),
], ids=["tensors", "star-args"])
def test_modules_that_cannot_map_say_why(inner, expected):
    with pytest.raises(ModelImportError) as info:
        import_module(Holds(inner), input_shapes=[(4, 3, 3)])
    assert expected in str(info.value)
