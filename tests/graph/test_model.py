"""The graph model: mutations, their signals, refusals, ports, blocks, clipboard, incremental
analysis."""
from __future__ import annotations

import itertools

import pytest
import torch

import netbuilder as nb
from netbuilder.graph import extract, graph_to_dict, group, paste, to_json, ungroup

SIGNALS = ("node_added", "node_removed", "edge_added", "edge_removed", "param_changed",
           "node_renamed", "node_moved", "changed")


class Recorder:
    """Every signal a graph emits, in order, as ``(signal name, *args)``."""

    def __init__(self, g: nb.Graph) -> None:
        self.events: list[tuple] = []
        for name in SIGNALS:
            getattr(g, name).connect(lambda *args, _n=name: self.events.append((_n, *args)))

    def take(self) -> list[tuple]:
        out, self.events = self.events, []
        return out


def _chain(g, *ids):
    for a, b in itertools.pairwise(ids):
        g.connect(a, b)


def test_add_emits_node_added_then_changed():
    g = nb.Graph()
    rec = Recorder(g)
    a = g.add("Linear", "fc", (10, 20), out_features=3)
    assert rec.take() == [("node_added", a), ("changed",)]
    n = g.node(a)
    assert (n.type, n.name, n.pos, n.params["out_features"]) == ("Linear", "fc", (10.0, 20.0), 3)
    assert g.add("Linear") == "n2" and g.node("n2").name == "fc1"  # default names are unique
    assert g.add("Linear") == "n3" and g.node("n3").name == "fc2"


def test_connect_and_disconnect_emit_edges():
    g = nb.Graph()
    x, fc = g.add("Input", shape=(4,)), g.add("Linear")
    rec = Recorder(g)
    e = g.connect(x, fc)
    assert (e.src, e.src_port, e.dst, e.dst_port) == (x, "out", fc, "in")
    assert rec.take() == [("edge_added", e), ("changed",)]
    assert g.disconnect(e) == e
    assert rec.take() == [("edge_removed", e), ("changed",)]
    assert g.edges() == []


def test_remove_announces_each_wire_before_the_node():
    g = nb.Graph()
    x, a, b = g.add("Input", shape=(4,)), g.add("Linear"), g.add("ReLU")
    e1, e2 = g.connect(x, a), g.connect(a, b)
    rec = Recorder(g)
    g.remove(a)
    assert rec.take() == [("edge_removed", e1), ("changed",), ("edge_removed", e2), ("changed",),
                          ("node_removed", a), ("changed",)]
    assert a not in g and g.edges() == []


def test_set_params_rename_and_move_signals():
    g = nb.Graph()
    c = g.add("Conv2d", "conv")
    v = g.node(c).version
    rec = Recorder(g)
    g.set_params(c, {"out_channels": 8, "kernel_size": 5, "stride": 1})  # stride unchanged
    assert rec.take() == [("param_changed", c, "out_channels", 8),
                          ("param_changed", c, "kernel_size", 5), ("changed",)]
    assert g.node(c).version == v + 1
    g.set_param(c, "out_channels", 8)  # same value: nothing happens
    assert rec.take() == []
    g.rename(c, "conv_a")
    assert rec.take() == [("node_renamed", c, "conv_a"), ("changed",)]
    g.rename(c, "conv_a")
    assert rec.take() == []
    g.move(c, (3, 4))
    assert rec.take() == [("node_moved", c, (3.0, 4.0))]  # layout changes no shape
    assert g.find("conv_a") == c


def _refusals(g: nb.Graph, ids: dict) -> list:
    x, fc, cat = ids["x"], ids["fc"], ids["cat"]
    return [
        lambda: g.add("Nope"),
        lambda: g.add("Linear", "fc"),  # name taken
        lambda: g.add("Linear", out_features=0),
        lambda: g.add("Linear", id=fc),  # id taken
        lambda: g.add("Linear", pos=(float("nan"), 0)),
        lambda: g.add("Linear", colour="red"),
        lambda: g.connect(x, fc),  # port taken
        lambda: g.connect(fc, x),  # Input takes no inputs
        lambda: g.connect(cat, x),
        lambda: g.connect(fc, fc),  # cycle
        lambda: g.connect(cat, fc, dst_port="in"),
        lambda: g.connect(x, cat, src_port="nope"),
        lambda: g.connect(x, "n99"),
        lambda: g.set_params(fc, {"out_features": 5, "bias": "no"}),  # one bad: none applied
        lambda: g.set_param(fc, "nope", 1),
        lambda: g.rename(fc, "x"),
        lambda: g.rename(fc, "  "),
        lambda: g.remove("n99"),
        lambda: g.disconnect(("n1", "out", "n99", "in")),
        lambda: g.move(fc, (1, 2, 3)),
        lambda: g.move(fc, (float("inf"), 1)),
        lambda: group(g, [x]),  # Inputs stay outside blocks
        lambda: group(g, [fc], "Linear"),  # not a block type
        lambda: group(g, [fc], "Block", "x"),  # name taken outside the selection
        lambda: group(g, []),
        lambda: ungroup(g, fc),
    ]


def test_a_refused_mutation_changes_nothing_and_emits_nothing():
    g = nb.Graph("refuse")
    x = g.add("Input", "x", shape=(4,))
    fc = g.add("Linear", "fc", out_features=3)
    cat = g.add("Concat", "cat")
    g.connect(x, fc)
    g.connect(fc, cat)
    g.connect(x, cat)
    before = to_json(g)
    versions = (g.version, {n.id: n.version for n in g.nodes()})
    rec = Recorder(g)
    for i, attempt in enumerate(_refusals(g, {"x": x, "fc": fc, "cat": cat})):
        with pytest.raises(nb.NetbuilderError) as err:
            attempt()
        assert str(err.value), i
        assert to_json(g) == before, f"refusal {i} changed the graph"
        assert rec.events == [], f"refusal {i} emitted {rec.events}"
    assert (g.version, {n.id: n.version for n in g.nodes()}) == versions


def test_refusals_raise_the_specific_error_types():
    g = nb.Graph()
    x, fc = g.add("Input", "x", shape=(4,)), g.add("Linear", "fc")
    g.connect(x, fc)
    with pytest.raises(nb.UnknownTypeError):
        g.add("Nope")
    with pytest.raises(nb.NameTakenError) as err:
        g.add("ReLU", "fc")
    assert "The name 'fc' is taken by Linear 'fc'" in str(err.value) and "'fc1'" in str(err.value)
    with pytest.raises(nb.PortError):
        g.connect(x, fc)
    a, b = g.add("Add", "a"), g.add("Add", "b")
    g.connect(a, b)
    with pytest.raises(nb.CycleError):
        g.connect(b, a)
    with pytest.raises(nb.ParamError) as err:
        g.set_param(fc, "out_features", -1)
    assert err.value.field == "out_features"
    assert err.value.node == fc  # an edit of an existing node carries its id
    with pytest.raises(nb.ParamError) as err:
        g.set_param(fc, "no_such_param", 1)
    assert err.value.node == fc and err.value.field == "no_such_param"


def test_variadic_ports_keep_their_order():
    g = nb.Graph()
    xs = [g.add("Input", f"x{i}", shape=(i + 1,)) for i in range(3)]
    cat = g.add("Concat", "cat")
    edges = [g.connect(x, cat) for x in (xs[2], xs[0], xs[1])]
    assert [e.src for e in g.in_edges(cat)] == [xs[2], xs[0], xs[1]]
    assert g.analyze().shape(cat) == (6,)
    model = g.build()
    parts = [torch.full((1, i + 1), float(i)) for i in range(3)]
    assert model(*parts).tolist() == [[2, 2, 2, 0, 1, 1]]
    # Disconnect the middle wire; reconnecting with its order puts it back in the middle.
    middle = g.disconnect(edges[1])
    assert [e.src for e in g.in_edges(cat)] == [xs[2], xs[1]]
    g.connect(middle.src, cat, order=middle.order)
    assert [e.src for e in g.in_edges(cat)] == [xs[2], xs[0], xs[1]]
    # Without the order it goes last.
    g.disconnect(g.in_edges(cat)[0])
    g.connect(xs[2], cat)
    assert [e.src for e in g.in_edges(cat)] == [xs[0], xs[1], xs[2]]
    # The order survives a save and load.
    again = nb.graph.from_json(to_json(g))
    assert [e.src for e in again.in_edges(cat)] == [xs[0], xs[1], xs[2]]


def test_x_plus_x_is_two_wires():
    g = nb.Graph()
    x = g.add("Input", "x", shape=(3,))
    add, cat = g.add("Add", "double"), g.add("Concat", "twice")
    e1, e2 = g.connect(x, add), g.connect(x, add)
    g.connect(x, cat)
    g.connect(x, cat)
    assert e1 != e2 and e1.key != e2.key and len(g.in_edges(add)) == 2
    assert [d for d in g.check() if d.is_error] == []
    model = g.build()
    t = torch.tensor([[1.0, 2.0, 3.0]])
    doubled, twice = model(t)
    assert doubled.tolist() == [[2.0, 4.0, 6.0]]
    assert twice.tolist() == [[1.0, 2.0, 3.0, 1.0, 2.0, 3.0]]
    g.disconnect(e1)
    assert g.in_edges(add) == [e2]
    again = nb.graph.from_json(to_json(g))
    assert len(again.in_edges(cat)) == 2
    assert graph_to_dict(again) == graph_to_dict(g)


def _residual() -> nb.Graph:
    g = nb.Graph("res")
    x = g.add("Input", "x", shape=(3, 8, 8))
    stem = g.add("Conv2d", "stem", out_channels=4, kernel_size=3, padding=1)
    c1 = g.add("Conv2d", "c1", out_channels=4, kernel_size=3, padding=1)
    r1 = g.add("ReLU", "r1")
    c2 = g.add("Conv2d", "c2", out_channels=4, kernel_size=3, padding=1)
    cat = g.add("Concat", "cat")
    add = g.add("Add", "add")
    head = g.add("Flatten", "flat")
    _chain(g, x, stem, c1, r1, c2)
    g.connect(c2, cat)
    g.connect(stem, cat)  # Concat: the block's output first, then the skip
    g.connect(stem, add)
    g.connect(r1, add)
    g.connect(cat, head)
    o = g.add("Output", "y")
    g.connect(head, o)
    o2 = g.add("Output", "z")
    g.connect(add, o2)
    return g


def _copy_weights_by_name(src: torch.nn.Module, dst: torch.nn.Module) -> None:
    """Load ``src``'s weights into ``dst`` matching each tensor by its last two name parts."""
    by_name = {".".join(k.split(".")[-2:]): v for k, v in src.state_dict().items()}
    state = {k: by_name[".".join(k.split(".")[-2:])] for k in dst.state_dict()}
    dst.load_state_dict(state, strict=True)


def _wiring(g: nb.Graph) -> set:
    name = {n.id: n.name for n in g.nodes()}
    return {(name[e.src], name[e.dst]) for e in g.edges()}


def test_group_then_ungroup_round_trip():
    g = _residual()
    before = _wiring(g)
    layers = {(n.name, n.type, tuple(sorted(n.params.items()))) for n in g.nodes()}
    torch.manual_seed(0)
    original = g.build().eval()
    x = torch.randn(2, 3, 8, 8)
    expected = original(x)

    sel = [g.find(n) for n in ("c1", "r1", "c2")]
    block = group(g, sel, "Block", "body")
    node = g.node(block)
    assert node.type == "Block" and node.name == "body" and not any(i in g for i in sel)
    assert {n.name for n in node.inner.nodes() if n.type not in ("Input", "Output")} == \
        {"c1", "r1", "c2"}
    assert len(g.input_ports(block)) == 1 and len(g.output_ports(block)) == 2
    assert [d for d in g.check() if d.is_error] == []
    grouped = g.build().eval()
    _copy_weights_by_name(original, grouped)
    for a, b in zip(grouped(x), expected):
        assert torch.equal(a, b)
    assert [g.node(e.src).name for e in g.in_edges(g.find("cat"))] == ["body", "stem"]

    new_ids = ungroup(g, block)
    assert sorted(new_ids) == sorted(sel)  # the old ids come back when they are free
    assert block not in g
    assert _wiring(g) == before
    assert {(n.name, n.type, tuple(sorted(n.params.items()))) for n in g.nodes()} == layers
    assert [g.node(e.src).name for e in g.in_edges(g.find("cat"))] == ["c2", "stem"]
    assert [g.node(e.src).name for e in g.in_edges(g.find("add"))] == ["stem", "r1"]
    restored = g.build().eval()
    _copy_weights_by_name(original, restored)
    for a, b in zip(restored(x), expected):
        assert torch.equal(a, b)


def test_group_keeps_the_selection_sinks_as_block_outputs():
    g = nb.Graph()
    x = g.add("Input", "x", shape=(4,))
    a, b, c = g.add("Linear", "a"), g.add("ReLU", "b"), g.add("Linear", "c", out_features=2)
    _chain(g, x, a, b, c)
    tap = g.add("Identity", "tap")
    g.connect(b, tap)
    assert len(g.outputs()) == 2
    block = group(g, [a, b, c, tap])
    assert len(g.output_ports(block)) == 2  # both results are still returned
    y1, y2 = g.build()(torch.randn(5, 4))
    assert {tuple(y1.shape), tuple(y2.shape)} == {(5, 10), (5, 2)}


def test_ungroup_gives_fresh_ids_and_names_when_taken():
    g = _residual()
    sel = [g.find("c1"), g.find("r1")]
    block = group(g, sel, "Block", "body")
    taken = g.add("ReLU", "r1", id=sel[1])  # the old id and name are in use again
    ids = ungroup(g, block)
    assert sel[0] in ids and sel[1] not in ids and taken in g
    names = [n.name for n in g.nodes()]
    assert len(names) == len(set(names))
    assert {g.node(i).name for i in ids} == {"c1", "r2"}
    assert g.node(taken).name == "r1"


def test_extract_and_paste_give_fresh_ids_and_unique_names():
    g = _residual()
    sel = [g.find("c1"), g.find("r1"), g.find("c2")]
    data = extract(g, sel)
    assert {n["id"] for n in data["nodes"]} == set(sel)
    assert len(data["edges"]) == 2  # only the wires among the selection
    n_before = len(g)
    rec = Recorder(g)
    new = paste(g, data, offset=(100, 0))
    assert len(new) == 3 and len(g) == n_before + 3
    assert not set(new) & set(sel)
    names = [n.name for n in g.nodes()]
    assert len(names) == len(set(names))
    assert {g.node(i).type for i in new} == {"Conv2d", "ReLU"}
    assert g.node(new[0]).pos == (g.node(sel[0]).pos[0] + 100, g.node(sel[0]).pos[1])
    assert g.node(new[0]).params == g.node(sel[0]).params
    assert [k for k, *_ in rec.events].count("edge_added") == 2
    assert {(g.node(e.src).name, g.node(e.dst).name) for e in g.edges()
            if e.src in new} == {(g.node(new[0]).name, g.node(new[1]).name),
                                 (g.node(new[1]).name, g.node(new[2]).name)}
    # Pasting into another graph keeps the names there.
    other = nb.Graph()
    ids = paste(other, data)
    assert [other.node(i).name for i in ids] == ["c1", "r1", "c2"]


def test_paste_of_a_block_copies_its_inner_graph():
    g = _residual()
    block = group(g, [g.find("c1"), g.find("r1")], "Encoder", "enc")
    (copy_id,) = paste(g, extract(g, [block]))
    a, b = g.node(block), g.node(copy_id)
    assert b.type == "Encoder" and b.name != a.name
    assert b.inner is not a.inner
    assert graph_to_dict(b.inner) == graph_to_dict(a.inner)
    b.inner.set_param(b.inner.find("c1"), "out_channels", 2)
    assert a.inner.node(a.inner.find("c1")).params["out_channels"] == 4


def test_inner_edit_marks_the_block_changed():
    g = _residual()
    block = group(g, [g.find("c1"), g.find("r1"), g.find("c2")], "Block", "body")
    rec = Recorder(g)
    v = g.node(block).version
    inner = g.node(block).inner
    inner.set_param(inner.find("c1"), "out_channels", 8)  # r1 leaves the block into the Add
    assert g.node(block).version > v
    assert ("changed",) in rec.events
    errors = [d.message for d in g.check() if d.is_error]
    assert errors == [("Add 'add' receives incompatible shapes (N, 4, 8, 8) and (N, 8, 8, 8): "
                       "make the channel counts match (e.g. a 1×1 Conv2d on the shortcut)")]


def test_incremental_analysis_recomputes_only_downstream():
    g = nb.Graph()
    x = g.add("Input", "x", shape=(3, 16, 16))
    trunk = [g.add("Conv2d", f"t{i}", out_channels=4, kernel_size=3, padding=1)
             for i in range(3)]
    branch = [g.add("Conv2d", f"b{i}", out_channels=4, kernel_size=3, padding=1)
              for i in range(4)]
    _chain(g, x, *trunk)
    _chain(g, trunk[0], *branch)
    g.analyze()
    assert g.analyze().recomputed == 0  # nothing changed: everything from the cache

    g.set_param(branch[1], "out_channels", 6)
    a = g.analyze()
    assert a.recomputed == 2  # b1, and b2 that receives 6 channels; b3 still gets 4
    assert a.shape(branch[3]) == (4, 16, 16)

    g.set_param(branch[1], "padding", 0)  # now the size changes all the way down
    a = g.analyze()
    assert a.recomputed == 3  # b1, b2, b3; the trunk is untouched
    assert a.shape(branch[3]) == (4, 14, 14) and a.shape(trunk[2]) == (4, 16, 16)

    g.set_param(branch[3], "bias", False)  # the last node: only itself
    assert g.analyze().recomputed == 1

    g.set_param(trunk[0], "padding", 0)  # the root of both: all but the Input
    assert g.analyze().recomputed == len(trunk) + len(branch)

    g.rename(trunk[1], "renamed")  # a name is in messages, not in shapes
    assert g.analyze().recomputed == 1

    g.move(trunk[2], (500, 0))
    assert g.analyze().recomputed == 0


def test_edit_inside_a_block_reanalyzes_the_block_and_downstream():
    g = _residual()
    block = group(g, [g.find("c1"), g.find("r1"), g.find("c2")], "Block", "body")
    g.analyze()
    inner = g.node(block).inner
    inner.rename(inner.find("r1"), "act")
    assert g.analyze().recomputed == 1  # the block; its outputs keep their shapes
    inner.set_param(inner.find("c2"), "out_channels", 2)
    a = g.analyze()
    assert a.recomputed == 4  # the block, then the Concat, Flatten and Output it feeds
    assert a.shape(g.find("cat")) == (6, 8, 8)
    assert {g.node(n).name for n in g.descendants(block)} >= {"cat", "flat", "y"}


def test_copy_is_independent():
    g = _residual()
    h = g.copy()
    assert graph_to_dict(h) == graph_to_dict(g)
    h.set_param(h.find("c1"), "out_channels", 9)
    assert g.node(g.find("c1")).params["out_channels"] == 4


def test_queries():
    g = _residual()
    assert [g.node(i).name for i in g.inputs()] == ["x"]
    assert [g.node(i).name for i in g.outputs()] == ["y", "z"]
    order = g.topo_order()
    pos = {nid: i for i, nid in enumerate(order)}
    assert all(pos[e.src] < pos[e.dst] for e in g.edges())
    assert g.unique_name("c") == "c3" and g.unique_name("new") == "new1"
    assert [p.name for p in g.input_ports(g.find("cat"))] == ["in"]
    assert g.input_ports(g.find("cat"))[0].variadic
    with pytest.raises(nb.GraphError, match="No node named 'zz'"):
        g.find("zz")
    with pytest.raises(nb.GraphError, match="No node with id 'n99'"):
        g.node("n99")
    assert g.free_input_ports(g.find("c1")) == [] and g.free_input_ports(g.find("cat")) == ["in"]


def test_regularizers_list_weight_layers_with_a_penalty():
    g = nb.Graph()
    g.add("Linear", "a", l1=0.1)
    g.add("Conv2d", "b", l2=0.01)
    g.add("Linear", "c")
    g.add("ReLU", "d")
    assert g.regularizers() == [("a", 0.1, 0.0), ("b", 0.0, 0.01)]


def test_removing_a_block_port_inside_removes_the_outer_wires():
    g = nb.Graph()
    x = g.add("Input", "x", shape=(3,))
    b = g.add("Block", "blk")
    r = g.add("ReLU", "r")
    g.connect(x, b)
    g.connect(b, r)
    inner = g.node(b).inner
    rec = Recorder(g)
    port_in, port_out = inner.find("x"), inner.find("y")
    (wire_in,) = g.in_edges(b)
    inner.remove(port_in)
    assert g.in_edges(b) == [] and ("edge_removed", wire_in) in rec.events
    (wire_out,) = g.out_edges(b)
    inner.remove(port_out)
    assert g.out_edges(b) == [] and ("edge_removed", wire_out) in rec.events
    again = nb.graph.from_json(to_json(g))  # the file stays loadable
    assert graph_to_dict(again) == graph_to_dict(g)
