"""Acceptance: a small vision transformer drawn with operation and Parameter nodes through the
Python API equals the same network written by hand in PyTorch (parameter count, state-dict
keys and shapes, outputs for two batch sizes)."""
from __future__ import annotations

import torch
from torch import nn

import netbuilder as nb

IMAGE, PATCH, DIM, HEADS, FF, CLASSES = 16, 4, 32, 4, 64, 10
TOKENS = (IMAGE // PATCH) ** 2


def draw_vit() -> nb.Graph:
    g = nb.Graph("tiny_vit")
    x = g.add("Input", "image", shape=(3, IMAGE, IMAGE))
    patch = g.add("Conv2d", "patch", out_channels=DIM, kernel_size=PATCH, stride=PATCH)
    flat = g.add("Flatten", "flat", start_dim=2)
    seq = g.add("Transpose", "seq", dim0=1, dim1=2)
    cls = g.add("Parameter", "cls_token", shape=(1, DIM), init="zeros")
    cls_b = g.add("Expand", "cls_b", sizes="batch, -1, -1")
    tokens = g.add("Concat", "tokens", dim=1)
    pos = g.add("Parameter", "pos_embed", shape=(TOKENS + 1, DIM), init="trunc_normal",
                std=0.02)
    embedded = g.add("Add", "embedded")
    enc1 = g.add("TransformerEncoderLayer", "block1", nhead=HEADS, dim_feedforward=FF,
                 dropout=0.0, activation="gelu", norm_first=True)
    enc2 = g.add("TransformerEncoderLayer", "block2", nhead=HEADS, dim_feedforward=FF,
                 dropout=0.0, activation="gelu", norm_first=True)
    first = g.add("Index", "cls_out", index="[:, 0]")
    norm = g.add("LayerNorm", "norm")
    head = g.add("Linear", "head", out_features=CLASSES)
    for a, b in [(x, patch), (patch, flat), (flat, seq), (cls, cls_b), (cls_b, tokens),
                 (seq, tokens), (tokens, embedded), (pos, embedded), (embedded, enc1),
                 (enc1, enc2), (enc2, first), (first, norm), (norm, head)]:
        g.connect(a, b)
    g.connect(seq, cls_b, dst_port="like")
    return g


class HandViT(nn.Module):
    """The same network as a PyTorch engineer writes it."""

    def __init__(self):
        super().__init__()
        self.patch = nn.Conv2d(3, DIM, PATCH, stride=PATCH)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, DIM))
        self.pos_embed = nn.Parameter(torch.zeros(1, TOKENS + 1, DIM))
        self.block1 = nn.TransformerEncoderLayer(DIM, HEADS, FF, 0.0, "gelu", batch_first=True,
                                                 norm_first=True)
        self.block2 = nn.TransformerEncoderLayer(DIM, HEADS, FF, 0.0, "gelu", batch_first=True,
                                                 norm_first=True)
        self.norm = nn.LayerNorm(DIM)
        self.head = nn.Linear(DIM, CLASSES)

    def forward(self, image):
        x = self.patch(image).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        x = self.block2(self.block1(x))
        return self.head(self.norm(x[:, 0]))


def test_drawn_vit_matches_the_hand_written_one():
    g = draw_vit()
    analysis = g.analyze()
    assert analysis.ok, analysis.diagnostics
    assert not [d for d in g.check() if d.severity in ("error", "warning")]
    assert analysis.shape(g.find("tokens")) == (TOKENS + 1, DIM)
    assert analysis.shape(g.find("head")) == (CLASSES,)

    hand = HandViT().eval()
    torch.manual_seed(0)
    model = g.build().eval()
    assert analysis.total_params == sum(p.numel() for p in hand.parameters()) == \
        sum(p.numel() for p in model.parameters())
    assert {k: v.shape for k, v in model.state_dict().items()} == \
        {k: v.shape for k, v in hand.state_dict().items()}
    hand.load_state_dict(model.state_dict(), strict=True)
    for batch in (1, 5):  # the class token follows the batch, whatever its size
        images = torch.randn(batch, 3, IMAGE, IMAGE)
        with torch.no_grad():
            torch.testing.assert_close(model(images), hand(images), rtol=1e-5, atol=1e-5)

    src = g.to_python()
    for line in ("self.cls_token = nn.Parameter(torch.zeros(1, 1, 32))",
                 "seq = flat.transpose(1, 2)",
                 "cls_b = cls_token.expand(seq.shape[0], -1, -1)",
                 "tokens = torch.cat([cls_b, seq], dim=1)",
                 "cls_out = block2[:, 0]"):
        assert line in src
    # MACs: the patch convolution, attention and feed-forward products are counted, the
    # operations (transpose, expand, cat, add, index) count none
    macs = {g.node(n).name: analysis.nodes[n].macs for n in analysis.order}
    assert macs["patch"] == TOKENS * DIM * 3 * PATCH * PATCH
    assert all(macs[k] == 0 for k in ("seq", "cls_b", "tokens", "embedded", "cls_out"))
    assert macs["block1"] > 0 and macs["head"] == DIM * CLASSES


def test_vit_file_round_trip_keeps_operations(tmp_path):
    g = draw_vit()
    g.save(tmp_path / "vit.json")
    again = nb.load(tmp_path / "vit.json")
    assert again.to_python() == g.to_python()
