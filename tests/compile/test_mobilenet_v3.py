"""Acceptance: a MobileNetV3-style network (hard-swish stem, inverted residual blocks with
depthwise convolutions and squeeze-and-excitation gates, a residual Add, a hard-swish head)
drawn through the Python API equals the same network written by hand in PyTorch: parameter
count, state-dict keys and shapes, MACs against torch's counter, outputs for two batch sizes."""
from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import netbuilder as nb

CLASSES = 10
# (name, expanded channels, out channels, kernel, stride, activation, squeeze channels or 0)
BLOCKS = [("b1", 16, 16, 3, 1, "ReLU", 8), ("b2", 48, 24, 3, 2, "Hardswish", 0),
          ("b3", 72, 24, 5, 1, "Hardswish", 24)]


class Chain:
    """Adds nodes one after another on a graph, remembering the last one."""

    def __init__(self, g: nb.Graph, last: str):
        self.g, self.last = g, last

    def then(self, type_: str, name: str, **params) -> str:
        node = self.g.add(type_, name, **params)
        self.g.connect(self.last, node)
        self.last = node
        return node


def draw_mobilenet() -> nb.Graph:
    g = nb.Graph("mobilenet_v3_tiny")
    c = Chain(g, g.add("Input", "image", shape=(3, 32, 32)))
    c.then("Conv2d", "stem", out_channels=16, kernel_size=3, stride=2, padding=1, bias=False)
    c.then("BatchNorm2d", "stem_bn")
    c.then("Hardswish", "stem_act")
    channels = 16
    for name, exp, out, k, stride, act, squeeze in BLOCKS:
        block_in = c.last
        c.then("Conv2d", f"{name}_expand", out_channels=exp, kernel_size=1, bias=False)
        c.then("BatchNorm2d", f"{name}_expand_bn")
        c.then(act, f"{name}_expand_act")
        c.then("Conv2d", f"{name}_dw", out_channels=exp, kernel_size=k, stride=stride,
               padding=k // 2, groups=exp, bias=False)
        c.then("BatchNorm2d", f"{name}_dw_bn")
        features = c.then(act, f"{name}_dw_act")
        if squeeze:
            c.then("AdaptiveAvgPool2d", f"{name}_se_pool", output_size=1)
            c.then("Conv2d", f"{name}_se_reduce", out_channels=squeeze, kernel_size=1)
            c.then("ReLU", f"{name}_se_act")
            c.then("Conv2d", f"{name}_se_expand", out_channels=exp, kernel_size=1)
            gate = c.then("Hardsigmoid", f"{name}_se_gate")
            scaled = g.add("Mul", f"{name}_se_scale")
            g.connect(features, scaled, dst_port="a")
            g.connect(gate, scaled, dst_port="b")
            c.last = scaled
        c.then("Conv2d", f"{name}_project", out_channels=out, kernel_size=1, bias=False)
        c.then("BatchNorm2d", f"{name}_project_bn")
        if stride == 1 and channels == out:
            residual = g.add("Add", f"{name}_residual")
            g.connect(c.last, residual)
            g.connect(block_in, residual)
            c.last = residual
        channels = out
    c.then("Conv2d", "head_conv", out_channels=96, kernel_size=1, bias=False)
    c.then("BatchNorm2d", "head_bn")
    c.then("Hardswish", "head_act")
    c.then("AdaptiveAvgPool2d", "pool", output_size=1)
    c.then("Flatten", "flatten")
    c.then("Linear", "fc1", out_features=128)
    c.then("Hardswish", "fc1_act")
    c.then("Dropout", "drop", p=0.2)
    c.then("Linear", "classifier", out_features=CLASSES)
    return g


class HandMobileNet(nn.Module):
    """The same network as a PyTorch engineer writes it (flat attributes named as the nodes)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, stride=2, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(16)
        channels = 16
        for name, exp, out, k, stride, _, squeeze in BLOCKS:
            setattr(self, f"{name}_expand", nn.Conv2d(channels, exp, 1, bias=False))
            setattr(self, f"{name}_expand_bn", nn.BatchNorm2d(exp))
            setattr(self, f"{name}_dw", nn.Conv2d(exp, exp, k, stride=stride, padding=k // 2,
                                                  groups=exp, bias=False))
            setattr(self, f"{name}_dw_bn", nn.BatchNorm2d(exp))
            if squeeze:
                setattr(self, f"{name}_se_reduce", nn.Conv2d(exp, squeeze, 1))
                setattr(self, f"{name}_se_expand", nn.Conv2d(squeeze, exp, 1))
            setattr(self, f"{name}_project", nn.Conv2d(exp, out, 1, bias=False))
            setattr(self, f"{name}_project_bn", nn.BatchNorm2d(out))
            channels = out
        self.head_conv = nn.Conv2d(channels, 96, 1, bias=False)
        self.head_bn = nn.BatchNorm2d(96)
        self.fc1 = nn.Linear(96, 128)
        self.drop = nn.Dropout(0.2)
        self.classifier = nn.Linear(128, CLASSES)

    def forward(self, image):
        x = nn.functional.hardswish(self.stem_bn(self.stem(image)))
        channels = 16
        for name, _, out, _, stride, act, squeeze in BLOCKS:
            f = nn.functional.relu if act == "ReLU" else nn.functional.hardswish
            y = f(getattr(self, f"{name}_expand_bn")(getattr(self, f"{name}_expand")(x)))
            y = f(getattr(self, f"{name}_dw_bn")(getattr(self, f"{name}_dw")(y)))
            if squeeze:
                s = nn.functional.adaptive_avg_pool2d(y, 1)
                s = nn.functional.relu(getattr(self, f"{name}_se_reduce")(s))
                y = y * nn.functional.hardsigmoid(getattr(self, f"{name}_se_expand")(s))
            y = getattr(self, f"{name}_project_bn")(getattr(self, f"{name}_project")(y))
            x = y + x if stride == 1 and channels == out else y
            channels = out
        x = nn.functional.hardswish(self.head_bn(self.head_conv(x)))
        x = nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.classifier(self.drop(nn.functional.hardswish(self.fc1(x))))


def test_drawn_mobilenet_v3_matches_the_hand_written_one():
    g = draw_mobilenet()
    analysis = g.analyze()
    assert analysis.ok, analysis.diagnostics
    assert not [d for d in g.check() if d.severity == "error"]
    assert analysis.shape(g.find("b3_se_scale")) == (72, 8, 8)
    assert analysis.shape(g.find("classifier")) == (CLASSES,)

    hand = HandMobileNet().eval()
    torch.manual_seed(0)
    model = g.build().eval()
    assert analysis.total_params == sum(p.numel() for p in hand.parameters()) == \
        sum(p.numel() for p in model.parameters())
    assert {k: v.shape for k, v in model.state_dict().items()} == \
        {k: v.shape for k, v in hand.state_dict().items()}
    hand.load_state_dict(model.state_dict(), strict=True)
    for batch in (1, 4):
        x = torch.randn(batch, 3, 32, 32)
        with torch.no_grad():
            assert torch.allclose(model(x), hand(x), atol=1e-5)

    # Exported source is what build() runs: the same outputs from exec(to_python()).
    scope: dict = {}
    exec(g.to_python(class_name="Exported", main=False), scope)
    exported = scope["Exported"]().eval()
    exported.load_state_dict(model.state_dict())
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(exported(x), hand(x), atol=1e-5)

    # MACs per sample: convolutions and linear layers as torch's own counter sees them.
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        hand(torch.randn(1, 3, 32, 32))
    assert analysis.total_macs == counter.get_total_flops() // 2
