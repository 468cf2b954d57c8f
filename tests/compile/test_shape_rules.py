"""The analysis fast path gives exactly what running the layer on meta tensors gives."""
from __future__ import annotations

import random

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import netbuilder as nb
from netbuilder.compile.analysis import EVAL_NAMESPACE, _forward_fn, _Holder
from netbuilder.compile.shape_rules import closed_form, wiring
from netbuilder.layers import EmitContext, get_spec


def reference(type_: str, params: dict, shapes: list, dtypes: list | None = None):
    """The slow path: build on meta, run under FlopCounterMode. ``(shapes, dtypes, macs)``."""
    dtypes = dtypes or ["float32"] * len(shapes)
    spec = get_spec(type_)
    full = {**spec.defaults(), **params}
    ctx = EmitContext(name="m", params=full, in_vars=[f"i{k}" for k in range(len(shapes))],
                      in_shapes=shapes, in_dtypes=dtypes, out_vars=["o"])
    em = spec.emit(ctx)
    module = None
    if em.init:
        with torch.device("meta"):
            module = eval(em.init, EVAL_NAMESPACE)
        module.eval()
    kinds = {"float32": torch.float32, "int64": torch.int64}
    inputs = [torch.empty((1, *s), dtype=kinds[d], device="meta") for s, d in zip(shapes, dtypes)]
    with FlopCounterMode(display=False) as counter:
        out = _forward_fn(em.forward, len(inputs))(_Holder(module), *inputs)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    return ([tuple(o.shape[1:]) for o in outs], [str(o.dtype)[6:] for o in outs],
            counter.get_total_flops() // 2)


def fast(type_: str, params: dict, shapes: list):
    return closed_form(type_, {**get_spec(type_).defaults(), **params}, shapes,
                       ["float32"] * len(shapes))


def test_conv_rule_matches_torch_over_random_settings():
    rng = random.Random(0)
    checked = 0
    for _ in range(150):
        dims = rng.choice((1, 2))
        groups = rng.choice((1, 1, 2))
        c_in = groups * rng.randint(1, 3)
        size = tuple(rng.randint(1, 12) for _ in range(dims))
        params = {"out_channels": groups * rng.randint(1, 4),
                  "kernel_size": tuple(rng.randint(1, 5) for _ in range(dims)),
                  "stride": rng.randint(1, 3), "padding": rng.randint(0, 2),
                  "dilation": rng.randint(1, 2), "groups": groups, "bias": rng.random() < .5}
        type_ = f"Conv{dims}d"
        got = fast(type_, params, [(c_in, *size)])
        try:
            want = reference(type_, params, [(c_in, *size)])
        except RuntimeError:
            assert got is None  # torch rejects it, so the meta run must word the error
            continue
        assert got is not None and got == tuple(want), (type_, params, size)
        checked += 1
    assert checked > 80


def test_pool_rules_match_torch_over_random_settings():
    rng = random.Random(1)
    checked = 0
    for _ in range(150):
        type_ = rng.choice(("MaxPool1d", "MaxPool2d", "AvgPool2d"))
        dims = 1 if type_.endswith("1d") else 2
        size = tuple(rng.randint(1, 12) for _ in range(dims))
        params = {"kernel_size": rng.randint(1, 5), "stride": rng.choice((None, 1, 2, 3)),
                  "padding": rng.randint(0, 2), "ceil_mode": rng.random() < 0.2}
        got = fast(type_, params, [(3, *size)])
        try:
            want = reference(type_, params, [(3, *size)])
        except RuntimeError:
            assert got is None
            continue
        if got is None:
            assert params["ceil_mode"]  # the only valid setting left to the meta run
            continue
        assert got == tuple(want), (type_, params, size)
        checked += 1
    assert checked > 60


@pytest.mark.parametrize("type_", ["AdaptiveAvgPool2d", "AdaptiveMaxPool2d"])
@pytest.mark.parametrize("size,shape", [(1, (4, 7, 7)), ((1, 32), (1, 8, 32)), ((3, 2), (2, 1, 5))])
def test_adaptive_pool_rules_match_torch(type_, size, shape):
    params = {"output_size": size}
    assert fast(type_, params, [shape]) == tuple(reference(type_, params, [shape]))


@pytest.mark.parametrize("shape", [(7,), (5, 7), (1,)])
@pytest.mark.parametrize("out", [1, 13])
def test_linear_rule_matches_torch(shape, out):
    assert fast("Linear", {"out_features": out}, [shape]) == tuple(
        reference("Linear", {"out_features": out}, [shape]))


@pytest.mark.parametrize("start,end", [(1, -1), (2, -1), (1, 2), (2, 3), (-2, -1), (3, 3),
                                       (1, 0), (3, 1), (5, -1)])
def test_flatten_rule_matches_torch(start, end):
    shape = (3, 4, 5)
    got = fast("Flatten", {"start_dim": start, "end_dim": end}, [shape])
    try:
        want = reference("Flatten", {"start_dim": start, "end_dim": end}, [shape])
    except (RuntimeError, IndexError):
        assert got is None
        return
    assert got == tuple(want)


@pytest.mark.parametrize("type_,params,shapes", [
    ("Add", {}, [(4, 5, 5), (4, 5, 5), (4, 5, 5)]),
    ("Multiply", {}, [(9,), (9,)]),
    ("Concat", {"dim": 1}, [(4, 5, 5), (2, 5, 5)]),
    ("Concat", {"dim": -1}, [(3, 8), (3, 2)]),
    ("Concat", {"dim": 2}, [(3, 8), (3, 2)]),
])
def test_merge_rules_match_torch(type_, params, shapes):
    assert fast(type_, params, shapes) == tuple(reference(type_, params, shapes))


def test_mismatched_merges_fall_back_to_torch():
    assert fast("Add", {}, [(4, 5, 5), (3, 5, 5)]) is None
    assert fast("Concat", {"dim": 1}, [(4, 5, 5), (2, 5, 6)]) is None
    assert fast("Concat", {"dim": 0}, [(4,), (2,)]) is None


@pytest.mark.parametrize("type_,shape", [
    ("ReLU", (3, 4, 4)), ("GELU", (8, 16)), ("Tanh", (5,)), ("Sigmoid", (2, 3)),
    ("LeakyReLU", (6,)), ("ELU", (2, 2, 2)), ("SiLU", (7,)), ("Dropout", (4, 4)),
    ("Dropout2d", (3, 4, 4)), ("Identity", (5, 5)), ("BatchNorm1d", (6,)),
    ("BatchNorm1d", (6, 10)), ("BatchNorm2d", (3, 5, 5)), ("LayerNorm", (8, 16)),
])
def test_shape_preserving_rules_match_torch(type_, shape):
    assert fast(type_, {}, [shape]) == tuple(reference(type_, {}, [shape]))


def test_other_dtypes_always_run_on_meta():
    assert closed_form("ReLU", {}, [(4,)], ["int64"]) is None
    assert closed_form("Linear", {"out_features": 3, "bias": True}, [(4,)], ["int64"]) is None


SAMPLES = {"image": [(4, 8, 8)], "seq": [(6, 8)], "vec": [(16,)], "signal": [(4, 16)]}


def _sample_inputs(type_: str) -> tuple[list, list]:
    if type_ == "Embedding":
        return [(6,)], ["int64"]
    if type_ == "Unflatten":
        return [(64,)], ["float32"]
    if type_ == "Fold":  # blocks of C·2·2 values
        return [(8, 9)], ["float32"]
    if type_ in ("Add", "Multiply", "Concat"):
        return [(4, 8, 8), (4, 8, 8)], ["float32"] * 2
    if type_ == "Reparameterize":
        return [(16,), (16,)], ["float32"] * 2
    spec = get_spec(type_)
    if spec.rank is None:
        return SAMPLES["image"], ["float32"]
    rank = spec.rank.ranks[0]
    shape = {1: (16,), 2: (6, 8), 3: (4, 8, 8)}[rank]
    if "1d" in type_ and rank == 2:
        shape = (4, 16)
    return [shape], ["float32"]


# Layers this sampler can feed: one float input of rank 1 to 3. Operation nodes, volumes (3-D)
# and layers of two inputs are checked against the counter by their own tests (tests/layers).
NO_MACS = {s.type for s in nb.all_specs() if s.no_macs and s.category not in
           ("Math", "Reductions", "Shape ops", "Random", "Parameters") and
           (s.rank is None or s.rank.ranks[0] <= 3) and
           len([p for p in s.inputs if not p.optional]) <= 1} | {"Add", "Multiply", "Concat"}


@pytest.mark.parametrize("type_", sorted(NO_MACS - {"Input", "Output"}))
def test_layers_listed_without_macs_count_none_in_torch(type_):
    shapes, dtypes = _sample_inputs(type_)
    assert reference(type_, {}, shapes, dtypes)[2] == 0


def _random_graph(seed: int) -> nb.Graph:
    rng = random.Random(seed)
    g = nb.Graph("random")
    ids = [g.add("Input", shape=(4,))]
    for _ in range(25):
        kind = rng.choice(["ReLU", "Add", "Concat", "Reparameterize", "Linear"])
        nid = g.add(kind)
        if kind in ("Add", "Concat"):
            for src in rng.sample(ids, min(len(ids), rng.randint(1, 3))):
                g.connect(src, nid)
        elif kind == "Reparameterize":
            a, b = rng.choice(ids), rng.choice(ids)
            g.connect(a, nid, dst_port="logvar")  # wired out of port order on purpose
            g.connect(b, nid, dst_port="mu")
        else:
            g.connect(rng.choice(ids), nid)
        ids.append(nid)
    return g


@pytest.mark.parametrize("seed", range(5))
def test_wiring_matches_topo_order_and_in_edges(seed):
    g = _random_graph(seed)
    order, wires = wiring(g)
    assert order == g.topo_order()
    for nid in order:
        assert [(p, s) for p, s, _ in wires[nid]] == [(e.dst_port, e.src)
                                                     for e in g.in_edges(nid)]


def test_wiring_follows_edits():
    g = _random_graph(1)
    before = wiring(g)
    assert wiring(g) is before  # cached while nothing changed
    last = g.topo_order()[-1]
    extra = g.add("ReLU")
    g.connect(last, extra)
    order, wires = wiring(g)
    assert order[-1] == extra and wires[extra] == [("in", last, 0)]
    g.remove(extra)
    assert wiring(g)[0] == g.topo_order()


def test_wiring_survives_parameter_edits_and_follows_block_ports():
    g = nb.Graph("blocks")
    x = g.add("Input", shape=(4,))
    y = g.add("Input", shape=(4,))
    block = g.add("Block")
    inner = g.node(block).inner
    second = inner.add("Input", "second")
    add = inner.add("Add")
    inner.connect(inner.find("x"), add)
    inner.connect(second, add)
    ports = [p.name for p in g.input_ports(block)]
    g.connect(y, block, dst_port=ports[1])
    g.connect(x, block, dst_port=ports[0])
    before = wiring(g)
    assert [s for _, s, _ in before[1][block]] == [x, y]  # port order, not connection order
    g.set_param(x, "shape", (5,))
    assert wiring(g) is before  # a parameter edit leaves the wiring alone
    inner.remove(second)  # the block loses a port: its wiring must be rebuilt
    after = wiring(g)
    assert after is not before
    assert [(p, s) for p, s, _ in after[1][block]] == [(e.dst_port, e.src)
                                                       for e in g.in_edges(block)]


def test_analysis_results_equal_the_meta_path_on_a_mixed_graph():
    """Shapes and MACs with the fast path equal those of running every layer on meta."""
    g = nb.Graph("mixed")
    x = g.add("Input", shape=(3, 12, 12))
    c = g.add("Conv2d", out_channels=8, kernel_size=3, padding=1, stride=2)
    b = g.add("BatchNorm2d")
    r = g.add("ReLU")
    d = g.add("Conv2d", out_channels=8, kernel_size=1)
    a = g.add("Add")
    p = g.add("MaxPool2d", kernel_size=2)
    f = g.add("Flatten")
    fc = g.add("Linear", out_features=10)
    for s, t in [(x, c), (c, b), (b, r), (r, d), (d, a), (r, a), (a, p), (p, f), (f, fc)]:
        g.connect(s, t)
    result = g.analyze()
    for nid in result.order:
        node = g.node(nid)
        info = result.nodes[nid]
        if node.type == "Input":
            continue
        shapes, dtypes, macs = reference(node.type, node.params, info.in_shapes)
        # Ports the layer's settings leave unset (a max pool's indices) carry None.
        unset = [None] * (len(info.out_shapes) - len(shapes))
        assert (info.out_shapes, info.out_dtypes, info.macs) == \
            (shapes + unset, dtypes + unset, macs), node.name
