"""Runs one operation node the three ways the tests compare: analysis, build() and the
generated source executed by hand. Imported by the operation tests (a plain helper module)."""
from __future__ import annotations

from dataclasses import dataclass

import torch

import netbuilder as nb

OP_CATEGORIES = ("Math", "Reductions", "Shape ops", "Random", "Parameters")


@dataclass
class Ran:
    graph: nb.Graph
    node: str
    info: object  # the node's NodeInfo
    xs: list  # the inputs (batch first)
    built: object  # build()'s outputs on xs
    executed: object  # the generated source's outputs on xs, same seed
    source: str


def run_op(type_: str, params: dict, shapes: list, ports: list | None = None,
           batch: int = 3, seed: int = 0, positive: bool = False, unit: bool = False) -> Ran:
    """Input(s) -> op -> (its outputs); analysed, built, and executed from ``to_python()``.
    Inputs are normal, or ``positive`` (|x| + 0.5), or ``unit`` (uniform in [0, 1))."""
    g = nb.Graph("op")
    ins = [g.add("Input", f"x{i}", shape=s) for i, s in enumerate(shapes)]
    nid = g.add(type_, "op", **params)
    for src, port in zip(ins, ports or [None] * len(ins), strict=True):
        g.connect(src, nid, dst_port=port)
    info = g.analyze().nodes[nid]
    assert info.error is None, info.error
    gen = torch.Generator().manual_seed(seed)
    draw = torch.rand if unit else torch.randn
    xs = [draw((batch, *s), generator=gen) for s in shapes]
    if positive:
        xs = [x.abs() + 0.5 for x in xs]
    source = g.to_python(class_name="Net", main=False)
    scope: dict = {}
    exec(compile(source, "<generated>", "exec"), scope)
    torch.manual_seed(seed)
    model = g.build().eval()
    torch.manual_seed(seed)
    by_hand = scope["Net"]().eval()
    by_hand.load_state_dict(model.state_dict())
    with torch.no_grad():
        torch.manual_seed(seed + 1)
        built = model(*xs)
        torch.manual_seed(seed + 1)
        executed = by_hand(*xs)
    return Ran(g, nid, info, xs, built, executed, source)


def outputs(value) -> list:
    return list(value) if isinstance(value, (tuple, list)) else [value]


def assert_same(a, b) -> None:
    """Same shapes, dtypes and values (NaN equals NaN: log of a negative, 0 ** -1)."""
    a, b = outputs(a), outputs(b)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.shape == y.shape and x.dtype == y.dtype
        torch.testing.assert_close(x, y, rtol=1e-5, atol=1e-5, equal_nan=True)


def assert_shapes_match(ran: Ran, expected, batch: int = 3) -> None:
    """Analysis gave each output the shape and dtype of the real result (batch excluded)."""
    got = outputs(ran.built)
    for i, y in enumerate(outputs(expected)):
        assert tuple(got[i].shape) == tuple(y.shape)
        assert y.shape[0] == batch
        assert ran.info.out_shapes[i] == tuple(y.shape[1:])
        assert ran.info.out_dtypes[i] == str(y.dtype).replace("torch.", "")
    assert all(s is None for s in ran.info.out_shapes[len(outputs(expected)):])
