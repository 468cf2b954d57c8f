"""Graphs with block definitions and repeats, shared by the graph and compile tests."""
from __future__ import annotations

import netbuilder as nb


def block_graph(channels: int = 8) -> nb.Graph:
    inner = nb.Graph("BasicBlock")
    x = inner.add("Input", "x", shape=(channels, 8, 8))
    c1 = inner.add("Conv2d", "conv1", out_channels=channels, kernel_size=3, padding=1)
    r = inner.add("ReLU", "relu")
    c2 = inner.add("Conv2d", "conv2", out_channels=channels, kernel_size=3, padding=1)
    y = inner.add("Output", "y")
    for a, b in [(x, c1), (c1, r), (r, c2), (c2, y)]:
        inner.connect(a, b)
    return inner


def net() -> nb.Graph:
    g = nb.Graph("net")
    g.define_block("BasicBlock", block_graph(),
                   planes=(8, ["conv1.out_channels", "conv2.out_channels"]),
                   stride=(1, ["conv1.stride"]))
    x = g.add("Input", "x", (0, 0), shape=(3, 16, 16))
    a = g.add_block("BasicBlock", "layer1", pos=(0, 200), planes=16)
    b = g.add_block("BasicBlock", "layer2", pos=(0, 400), planes=32, stride=2)
    g.connect(x, a)
    g.connect(a, b)
    return g


def repeated(n: int, change: bool = False) -> nb.Graph:
    g = nb.Graph("rep")
    x = g.add("Input", "x", shape=(4, 8, 8))
    inner = block_graph(8 if change else 4)
    b = g.add("Block", "stage", inner=inner, repeat=n)
    g.connect(x, b)
    return g
