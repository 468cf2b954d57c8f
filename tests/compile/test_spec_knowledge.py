"""The floors above layers/ read per-layer knowledge from the specs: the importer's class and
function tables (subclasses included), convolutions for channels_last inside blocks, canvas
subtitles, merges and checks."""
from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import netbuilder as nb
from netbuilder.compile import fx_map
from netbuilder.compile.importer import import_module
from netbuilder.train.device import convolutional


class MyBN(nn.BatchNorm2d):
    """A user's subclass that only changes the defaults: still a BatchNorm2d."""

    def __init__(self, channels):
        super().__init__(channels, eps=1e-3)


class Scaled(nn.Linear):
    """A subclass that computes something else: must not import as a plain Linear."""

    def forward(self, x):
        return 2 * super().forward(x)


class Net(nn.Module):
    def __init__(self, norm: type = MyBN):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.bn = norm(4)

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x)))


def test_a_subclass_of_a_torch_layer_imports_as_that_layer():
    g = import_module(Net(), input_shapes=[(1, 8, 8)])
    types = sorted(n.type for n in g.nodes())
    assert types == ["BatchNorm2d", "Conv2d", "Input", "Output", "ReLU"]
    bn = next(n for n in g.nodes() if n.type == "BatchNorm2d")
    assert bn.params["eps"] == pytest.approx(1e-3)


def test_a_subclass_with_its_own_forward_is_not_mapped_as_the_plain_layer():
    assert fx_map.module_rule(Scaled(3, 2)) is None
    spec, rule = fx_map.module_rule(nn.Linear(3, 2))
    assert spec.type == "Linear" and rule(nn.Linear(3, 2)) == {"out_features": 2, "bias": True}

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = Scaled(3, 2)

        def forward(self, x):
            return self.fc(x)

    # Not mapped as a plain Linear: its own forward is traced (the layer plus what it adds).
    model = Model()
    g = import_module(model, input_shapes=[(3,)])
    built = g.build()
    built.load_state_dict(model.state_dict())
    x = torch.randn(4, 3)
    torch.testing.assert_close(built(x), model(x))


def test_function_table_comes_from_the_specs():
    assert fx_map.LAYER_KINDS["relu"].type == "ReLU"
    assert fx_map.FUNCTIONS[torch.nn.functional.relu] == "relu"
    assert fx_map.FUNCTIONS[torch.concatenate] == "cat"
    assert fx_map.METHODS["softmax"] == "softmax"
    assert fx_map.LAYER_KINDS["cat"].type == "Concat"
    for spec in nb.all_specs():
        assert bool(spec.functions) == (spec.from_call is not None), spec.type


def _cnn_in_blocks() -> nb.Graph:
    inner = nb.Graph("features")
    conv = inner.add("Conv2d", out_channels=4, kernel_size=3)
    inner.connect(inner.add("Input", "x"), conv)
    inner.connect(conv, inner.add("Output", "y"))
    g = nb.Graph("blocks")
    x = g.add("Input", shape=(1, 8, 8))
    feat = g.add("Block", name="features", inner=inner)
    g.connect(x, feat)
    head = g.add("Flatten")
    g.connect(feat, head)
    g.connect(head, g.add("Linear", out_features=3))
    return g


def test_channels_last_is_decided_inside_blocks():
    g = _cnn_in_blocks()
    assert not any(n.spec.conv_dims for n in g.nodes())  # no convolution at the top level
    assert convolutional(g)
    assert g.analyze().ok
    mlp = nb.Graph("mlp")
    mlp.connect(mlp.add("Input", shape=(4,)), mlp.add("Linear", out_features=2))
    assert not convolutional(mlp)


def test_canvas_subtitles_come_from_the_specs():
    from netbuilder.ui.canvas.node_text import param_summary

    g = nb.Graph("t")
    cases = {
        g.add("Conv2d", out_channels=6, kernel_size=5, padding=2): "6@5×5 s1 p2",
        g.add("MaxPool2d", kernel_size=2): "2×2 s2",
        g.add("Linear", out_features=10): "→10",
        g.add("LSTM", hidden_size=32, num_layers=2, bidirectional=True): "LSTM 32 ×2 bi",
        g.add("Dropout", p=0.25): "p=0.25",
        g.add("ReLU"): "",
        g.add("Input", shape=(3, 32, 32)): "3×32×32",
    }
    for nid, text in cases.items():
        assert param_summary(g.node(nid)) == text


def test_structural_roles_are_spec_fields():
    g = nb.Graph("t")
    x, z = g.add("Input", shape=(4,)), g.add("Noise", latent_size=4)
    out = g.add("Output")
    assert g.node(x).is_input and not g.node(x).is_drawn_source
    assert g.node(z).is_drawn_source and not g.node(z).is_input
    assert g.node(out).is_output and g.node(out).is_boundary
    assert [s.type for s in nb.all_specs() if s.merge] == ["Add", "Multiply", "Concat"]


class Functional(nn.Module):
    """Functional forms of layers that live in the newer catalog modules."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)

    def forward(self, x):
        y = F.hardtanh(self.conv(x), min_val=-0.5, max_val=0.5)
        y = F.softplus(y, beta=2.0)
        y = F.max_pool2d(y, 2)
        y = F.dropout1d(y.flatten(2), p=0.2, training=self.training)
        return F.glu(y, dim=1)


def test_functional_forms_of_the_new_layers_import_as_those_layers():
    model = Functional().eval()
    g = import_module(model, input_shapes=[(1, 10, 10)])
    by_type = {n.type: n.params for n in g.nodes()}
    assert by_type["Hardtanh"]["min_val"] == -0.5 and by_type["Hardtanh"]["max_val"] == 0.5
    assert by_type["Softplus"]["beta"] == 2.0
    assert by_type["MaxPool2d"]["kernel_size"] == 2
    assert by_type["Dropout1d"]["p"] == 0.2
    assert by_type["GLU"]["dim"] == 1
    x = torch.randn(2, 1, 10, 10)
    built = g.build().eval()
    built.load_state_dict(model.state_dict())  # node names follow the module's attributes
    torch.testing.assert_close(built(x), model(x))


def test_positional_arguments_of_an_operation_are_named_by_torchs_signature():
    class Summed(nn.Module):
        def forward(self, x):
            return x.sum(1).permute(0, 2, 1).chunk(2, 1)[1]

    g = import_module(Summed(), input_shapes=[(3, 4, 6)])
    types = {n.type: n.params for n in g.nodes()}
    assert types["Sum"]["dim"] == 1 and types["Permute"]["dims"] == (0, 2, 1)
    assert types["Chunk"]["chunks"] == 2 and types["Chunk"]["dim"] == 1
    x = torch.randn(2, 3, 4, 6)
    torch.testing.assert_close(g.build()(x), Summed()(x))


def test_a_call_with_more_positional_arguments_than_torch_names_is_a_function_node():
    class Normed(nn.Module):
        def forward(self, x):
            return x.norm(2, 1, False, torch.float32)  # dtype: a 5th positional

    g = import_module(Normed(), input_shapes=[(3, 4)])
    fn = next(n for n in g.nodes() if n.type == "Function")
    assert fn.params["function"] == "Tensor.norm"
    assert g.meta["imported"]["placeholders"][0]["why"] == \
        "positional arguments no node type names (4)"
    x = torch.randn(2, 3, 4)
    torch.testing.assert_close(g.build()(x), Normed()(x))
