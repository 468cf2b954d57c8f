"""Parameters read directly in ``forward`` (class tokens, position embeddings, layer scale) and
a recurrent layer's state tuple import exactly: same parameter count, the original's
state-dict keys (strict load), the same outputs, and exported code giving them too."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from netbuilder.compile.importer import import_module
from netbuilder.errors import ModelImportError
from tests.compile.test_import_mapping import check_exact


class TinyViT(nn.Module):
    """Patch embedding, class token, position embedding, encoder layers, head on the token."""

    def __init__(self, dim=16, patches=4, classes=5):
        super().__init__()
        self.patch = nn.Conv2d(3, dim, 4, stride=4)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, patches + 1, dim))
        self.blocks = nn.Sequential(*[nn.TransformerEncoderLayer(dim, 2, 32, dropout=0.0,
                                                                 batch_first=True)
                                      for _ in range(2)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        x = x + self.pos_embed
        x = self.norm(self.blocks(x))
        return self.head(x[:, 0])


class LayerScaleBlock(nn.Module):
    """A ConvNeXt-style block: depthwise conv, norm, MLP, layer scale, residual."""

    def __init__(self, dim=8):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.BatchNorm2d(dim)
        self.pw1 = nn.Conv2d(dim, 4 * dim, 1)
        self.act = nn.GELU()
        self.pw2 = nn.Conv2d(4 * dim, dim, 1)
        self.gamma = nn.Parameter(1e-6 * torch.ones(1, dim, 1, 1))

    def forward(self, x):
        y = self.pw2(self.act(self.pw1(self.norm(self.dwconv(x)))))
        return x + self.gamma * y


class TinyConvNeXt(nn.Module):
    def __init__(self, dim=8):
        super().__init__()
        self.stem = nn.Conv2d(3, dim, 2, stride=2)
        self.blocks = nn.Sequential(LayerScaleBlock(dim), LayerScaleBlock(dim))
        self.head = nn.Linear(dim, 3)

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)).mean((2, 3)))


class LSTMUsingState(nn.Module):
    """``out, (h, c) = self.lstm(x)`` with the final states used beside the output."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(6, 10, num_layers=2, batch_first=True)
        self.fc = nn.Linear(10, 4)

    def forward(self, x):
        out, (h, c) = self.lstm(x)
        return self.fc(out[:, -1] + h[0] + c[-1])


def test_a_vit_with_class_token_and_position_embedding_imports_exactly(tmp_path):
    x = torch.randn(2, 3, 8, 8)
    graph = check_exact(TinyViT(), (x,), tmp_path, input_shapes=[(3, 8, 8)])
    nodes = {n.name: n for n in graph.nodes()}
    assert nodes["cls_token"].type == "Parameter" and nodes["pos_embed"].type == "Parameter"
    assert tuple(nodes["cls_token"].params["shape"]) == (1, 16)
    assert tuple(nodes["pos_embed"].params["shape"]) == (5, 16)
    # the token expanded to the batch of the patches, the embedding added by broadcasting
    assert nodes["expand"].type == "Expand" and nodes["expand"].params["sizes"] == "batch, -1, -1"
    assert nodes["add"].type == "Add"


def test_layer_scale_in_blocks_keeps_its_state_dict_key(tmp_path):
    model = TinyConvNeXt()
    graph = check_exact(model, (torch.randn(2, 3, 8, 8),), tmp_path, input_shapes=[(3, 8, 8)])
    assert "blocks.0.gamma" in graph.build().state_dict()


def test_an_lstm_whose_final_states_are_used_imports_exactly(tmp_path):
    graph = check_exact(LSTMUsingState(), (torch.randn(2, 7, 6),), tmp_path,
                        input_shapes=[(7, 6)])
    taken = sorted((n.params["item"], tuple(n.params.get("subitem") or ()))
                   for n in graph.nodes() if n.type == "Module")
    assert taken == [(0, ()), (1, (0, 0)), (1, (1, -1))]  # out, h[0], c[-1]
    assert "self.lstm(x)[1][1][-1]" in graph.to_python()


class ReadsSubmoduleTensor(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.scale = nn.Parameter(torch.ones(4))

    def forward(self, x):
        return self.fc(x) + self.scale


def test_a_parameter_without_a_leading_one_says_which_and_why():
    with pytest.raises(ModelImportError, match=r"'scale' of shape \(4,\)"):
        import_module(ReadsSubmoduleTensor(), input_shapes=[(4,)])


class ScalesFeatures(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.scale = nn.Parameter(torch.full((4,), 0.1))

    def forward(self, x):
        return self.fc(x) * self.scale


def test_a_gamma_multiplying_the_features_is_a_layer_scale():
    model = ScalesFeatures()
    graph = import_module(model, input_shapes=[(4,)])
    node = graph.node(graph.find("scale"))
    assert (node.type, node.params["channels"], node.params["init_value"]) == \
        ("LayerScale", "last", 0.1)
    built = graph.build()
    built.load_state_dict(model.state_dict(), strict=True)  # its key is the original's
    x = torch.randn(3, 4)
    torch.testing.assert_close(built(x), model(x), rtol=0, atol=0)


def test_nodes_sharing_a_module_keep_their_own_item():
    graph = import_module(LSTMUsingState(), input_shapes=[(7, 6)])
    mods = [n for n in graph.nodes() if n.type == "Module"]
    owner = next(n for n in mods if n.shares is None)
    other = next(n for n in mods if n.shares is not None)
    before = (other.params["item"], other.params["subitem"])
    graph.set_param(owner.id, "arguments", owner.params["arguments"].replace("10", "12"))
    assert '"hidden_size": 12' in graph.node(other.id).params["arguments"]
    assert (graph.node(other.id).params["item"], graph.node(other.id).params["subitem"]) == \
        before
    graph.set_param(other.id, "subitem", (1, 0))
    assert graph.node(other.id).params["subitem"] == (1, 0)
    assert graph.node(owner.id).params["item"] == 0
    assert graph.node(owner.id).params.get("subitem") is None
