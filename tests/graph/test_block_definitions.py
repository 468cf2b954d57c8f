"""Block definitions: one inner graph used by many block nodes with constructor arguments,
stored once in the file (strictly read, migrated from format 1), merged from identical blocks,
and repeated ×N."""
from __future__ import annotations

import json

import pytest

import netbuilder as nb
from netbuilder.errors import FileFormatError, GraphError
from netbuilder.graph.block_merge import merge_identical_blocks
from netbuilder.graph.blockdefs import arguments_of, fork_definition, uses_of
from netbuilder.graph.fileformat import from_json, graph_to_dict, to_json

from .block_graphs import block_graph, net, repeated


def inner_param(g, block, node, param):
    inner = g.node(g.find(block)).inner
    return inner.node(inner.find(node)).params[param]


def test_uses_get_their_argument_values_and_shapes():
    g = net()
    assert inner_param(g, "layer1", "conv2", "out_channels") == 16
    assert inner_param(g, "layer2", "conv1", "stride") == 2
    assert inner_param(g, "layer1", "conv1", "stride") == 1
    a = g.analyze()
    assert a.shape(g.find("layer2")) == (32, 8, 8)
    d = g.definitions["BasicBlock"]
    assert arguments_of(g.node(g.find("layer2")), d) == {"planes": 32, "stride": 2}
    assert [n.name for _, n in uses_of(g, "BasicBlock")] == ["layer1", "layer2"]


def test_the_file_holds_each_definition_once_and_reads_back():
    g = net()
    text = to_json(g)
    data = json.loads(text)
    assert data["format_version"] == 2
    assert list(data["definitions"]) == ["BasicBlock"]
    d = data["definitions"]["BasicBlock"]
    assert d["arguments"]["planes"] == {"default": 8, "binds": [["conv1", "out_channels"],
                                                                ["conv2", "out_channels"]]}
    uses = [n for n in data["nodes"] if n["type"] == "Block"]
    assert [(n["definition"], n["args"]) for n in uses] == [
        ("BasicBlock", {"planes": 16, "stride": 1}), ("BasicBlock", {"planes": 32, "stride": 2})]
    assert all("graph" not in n for n in uses)
    back = from_json(text)
    assert to_json(back) == text
    assert back.node(back.find("layer2")).definition == "BasicBlock"
    assert inner_param(back, "layer2", "conv2", "out_channels") == 32
    assert back.analyze().shape(back.find("layer2")) == (32, 8, 8)


def test_a_use_edited_alone_keeps_its_own_graph_in_the_file():
    g = net()
    inner = g.node(g.find("layer2")).inner
    inner.set_param(inner.find("conv2"), "kernel_size", 5)  # not an argument: it left BasicBlock
    data = graph_to_dict(g)
    layer2 = next(n for n in data["nodes"] if n["name"] == "layer2")
    assert "graph" in layer2 and "definition" not in layer2
    back = from_json(to_json(g))
    assert inner_param(back, "layer2", "conv2", "kernel_size") == 5
    assert inner_param(back, "layer1", "conv2", "kernel_size") == 3


def test_format_1_files_migrate():
    g = net()
    data = graph_to_dict(g, inline=True)  # every block with its own graph, as version 1 wrote
    for n in data["nodes"]:
        n.pop("definition", None)
    data["format_version"] = 1
    back = from_json(json.dumps(data))
    assert back.definitions == {}
    assert inner_param(back, "layer2", "conv1", "stride") == 2
    assert json.loads(to_json(back))["format_version"] == 2


def _file(edit) -> str:
    data = json.loads(to_json(net()))
    edit(data)
    return json.dumps(data)


@pytest.mark.parametrize("edit, field, words", [
    (lambda d: d["definitions"].update({"x; import os": d["definitions"]["BasicBlock"]}),
     "definitions.x; import os", "Python identifier"),
    (lambda d: d["definitions"].update({"class": d["definitions"]["BasicBlock"]}),
     "definitions.class", "Python identifier"),
    (lambda d: d["nodes"][1].update(definition="Nope"), "nodes[1].definition",
     "no block definition 'Nope'"),
    (lambda d: d["nodes"][1].update(definition="os.system"), "nodes[1].definition",
     "Python identifier"),
    (lambda d: d["nodes"][1]["args"].update(planes=-3), "nodes[1].args.planes", "planes"),
    (lambda d: d["nodes"][1]["args"].update(width=3), "nodes[1].args.width", "no argument"),
    (lambda d: d["definitions"]["BasicBlock"]["arguments"]["planes"].update(
        binds=[["conv9", "out_channels"]]), "definitions.BasicBlock.arguments.planes",
     "conv9"),
    (lambda d: d["definitions"]["BasicBlock"]["arguments"]["planes"].pop("default"),
     "definitions.BasicBlock.arguments.planes.default", "needs a default"),
    (lambda d: d["nodes"][0].update(definition="BasicBlock"), "nodes[0].definition",
     "holds no graph"),
])
def test_strict_reading_points_at_the_bad_field(edit, field, words):
    with pytest.raises(FileFormatError) as info:
        from_json(_file(edit), "net.json")
    assert info.value.field == field
    assert words in str(info.value)


def test_fork_gives_one_use_its_own_definition():
    g = net()
    name = fork_definition(g, g.find("layer2"))
    assert name == "BasicBlock2"
    assert g.node(g.find("layer2")).definition == "BasicBlock2"
    assert [n.name for _, n in uses_of(g, "BasicBlock")] == ["layer1"]
    assert set(json.loads(to_json(g))["definitions"]) == {"BasicBlock", "BasicBlock2"}


def test_definition_names_are_identifiers():
    g = nb.Graph()
    with pytest.raises(GraphError, match="Python identifier"):
        g.define_block("Basic Block", block_graph())
    with pytest.raises(GraphError, match="Python identifier"):
        g.add("Block", inner=block_graph(), definition="x)")


def test_identical_structures_merge_into_one_definition_with_arguments():
    g = nb.Graph("net")
    prev = g.add("Input", "x", shape=(3, 16, 16))
    for i, (planes, stride) in enumerate([(8, 1), (16, 2), (16, 1)]):
        inner = block_graph()
        inner.set_params(inner.find("conv1"), {"out_channels": planes, "stride": stride})
        inner.set_param(inner.find("conv2"), "out_channels", planes)
        b = g.add("Block", f"block{i}", inner=inner)
        g.connect(prev, b)
        prev = b
    odd = nb.Graph("odd")  # another structure: stays a block of its own
    oi, oo = odd.add("Input", "x"), odd.add("Output", "y")
    odd.connect(oi, odd.add("ReLU", "act"))
    odd.connect(odd.find("act"), oo)
    g.connect(prev, g.add("Block", "tail", inner=odd))
    made = merge_identical_blocks(g, {(g.find("block0"),): "BasicBlock"})
    assert made == ["BasicBlock"]
    d = g.definitions["BasicBlock"]
    assert {k: (a.default, a.binds) for k, a in d.arguments.items()} == {
        "out_channels": (16, (("conv1", "out_channels"), ("conv2", "out_channels"))),
        "stride": (1, (("conv1", "stride"),))}
    assert [g.node(g.find(f"block{i}")).definition for i in range(3)] == ["BasicBlock"] * 3
    assert g.node(g.find("tail")).definition is None
    data = json.loads(to_json(g))
    assert [n.get("args") for n in data["nodes"] if n.get("definition")] == [
        {"out_channels": 8, "stride": 1}, {"out_channels": 16, "stride": 2},
        {"out_channels": 16, "stride": 1}]


def test_repeat_counts_every_repetition():
    one, three = repeated(1).analyze(), repeated(3).analyze()
    conv = 4 * 4 * 9 + 4
    assert one.total_params == 2 * conv
    assert three.total_params == 6 * conv
    assert three.total_macs == 3 * one.total_macs
    assert three.shape(repeated(3).find("stage")) == (4, 8, 8)


def test_only_the_first_repetition_may_change_the_shape():
    g = repeated(2, change=True)  # 4 → 8 channels, then 8 → 8: fine
    a = g.analyze()
    assert a.ok and a.shape(g.find("stage")) == (8, 8, 8)
    first = 4 * 8 * 9 + 8 + 8 * 8 * 9 + 8
    assert a.total_params == first + 2 * (8 * 8 * 9 + 8)
    g = repeated(3)
    inner = g.node(g.find("stage")).inner
    inner.set_param(inner.find("conv2"), "stride", 2)  # halves the size every time
    a = g.analyze()
    err = a.nodes[g.find("stage")].error
    assert "Block 'stage' repeats ×3" in err and "must keep the shape" in err
    assert "(N, 4, 4, 4) into (N, 4, 2, 2)" in err


def test_a_repeated_block_has_one_input():
    g = nb.Graph("two")
    inner = nb.Graph("add")
    a, b = inner.add("Input", "a", shape=(4,)), inner.add("Input", "b", shape=(4,))
    s = inner.add("Add", "sum")
    inner.connect(a, s)
    inner.connect(b, s)
    inner.connect(s, inner.add("Output", "y"))
    x = g.add("Input", "x", shape=(4,))
    blk = g.add("Block", "pair", inner=inner, repeat=2)
    g.connect(x, blk)
    g.connect(x, blk)
    err = g.analyze().nodes[blk].error
    assert "Block 'pair' repeats ×2, but a repeated block takes one input" in err


def test_repeat_is_validated():
    g = nb.Graph()
    with pytest.raises(nb.errors.ParamError, match="repeat"):
        g.add("Block", repeat=0)
