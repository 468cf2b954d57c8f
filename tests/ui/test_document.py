"""Document and commands: every command's undo restores the graph file text exactly, redo
reproduces it with the same ids, refused edits change nothing and are reported."""
from __future__ import annotations

import pytest
from ui_helpers import graph_json, lenet_graph, residual_graph

from netbuilder.graph import extract
from netbuilder.ui.commands import (
    AddNodeCommand,
    ConnectCommand,
    DisconnectCommand,
    DuplicateCommand,
    GroupCommand,
    MoveNodesCommand,
    PasteCommand,
    RemoveNodesCommand,
    RenameCommand,
    RewireCommand,
    SetParamsCommand,
    UngroupCommand,
)
from netbuilder.ui.document import Document


def _roundtrip(doc: Document, cmd) -> tuple[str, str]:
    """Push, undo, redo: assert exactness; return (json before, json after)."""
    before = graph_json(doc.graph)
    assert doc.push(cmd), "the command was refused"
    after = graph_json(doc.graph)
    assert after != before
    doc.undo_stack.undo()
    assert graph_json(doc.graph) == before
    doc.undo_stack.redo()
    assert graph_json(doc.graph) == after
    doc.undo_stack.undo()
    assert graph_json(doc.graph) == before
    doc.undo_stack.redo()
    return before, after


def _ids(doc):
    g = doc.graph
    return {n: g.find(n) for n in ("image", "conv1", "relu1", "pool1", "flat", "fc1", "logits")}


@pytest.fixture
def doc(qapp):
    d = Document(lenet_graph())
    yield d
    d.deleteLater()


@pytest.fixture
def res_doc(qapp):
    d = Document(residual_graph())
    yield d
    d.deleteLater()


def test_add_node_connected_from_a_port(doc):
    ids = _ids(doc)
    cmd = AddNodeCommand(doc, "Dropout", (700, 200), params={"p": 0.25},
                         connect_from=(ids["relu1"], None))
    _roundtrip(doc, cmd)
    node = doc.graph.node(cmd.node_id)
    assert node.params["p"] == 0.25 and node.pos == (700.0, 200.0)
    assert cmd.text() == f"Add Dropout '{node.name}'"
    assert [e.src for e in doc.graph.in_edges(cmd.node_id)] == [ids["relu1"]]


def test_add_keeps_its_id_across_undo_and_redo_so_later_commands_still_apply(doc):
    cmd = AddNodeCommand(doc, "Linear", (0, 300))
    doc.push(cmd)
    first_id = cmd.node_id
    doc.push(SetParamsCommand(doc, first_id, {"out_features": 7}))
    for _ in range(2):
        doc.undo_stack.undo()
    assert first_id not in doc.graph
    for _ in range(2):
        doc.undo_stack.redo()
    assert doc.graph.node(first_id).params["out_features"] == 7


def test_remove_restores_wires_in_their_variadic_order_and_node_order(res_doc):
    g = res_doc.graph
    a, add = g.find("conv_a"), g.find("add")
    order_before = [e.src for e in g.in_edges(add)]
    cmd = RemoveNodesCommand(res_doc, [a])
    _roundtrip(res_doc, cmd)
    assert cmd.text() == "Delete Conv2d 'conv_a'"
    res_doc.undo_stack.undo()
    assert [e.src for e in g.in_edges(add)] == order_before
    assert [n.name for n in g.nodes()] == ["x", "conv_a", "conv_b", "add", "y"]


def test_remove_several_nodes_and_a_loose_wire_is_one_entry(doc):
    ids = _ids(doc)
    wire = doc.graph.in_edges(ids["logits"])[0]
    cmd = RemoveNodesCommand(doc, [ids["relu1"], ids["pool1"]], edges=[wire])
    _roundtrip(doc, cmd)
    assert cmd.text() == "Delete 2 nodes"
    assert doc.undo_stack.count() == 1
    assert not doc.graph.in_edges(ids["logits"])


def test_connect_and_disconnect(doc):
    ids = _ids(doc)
    edge = doc.graph.in_edges(ids["relu1"])[0]
    cmd = DisconnectCommand(doc, edge)
    _roundtrip(doc, cmd)
    assert cmd.text() == "Disconnect conv1 → relu1"
    cmd = ConnectCommand(doc, ids["image"], ids["relu1"])
    _roundtrip(doc, cmd)
    assert cmd.text() == "Connect image → relu1"


def test_rewire_moves_a_wire_end_in_one_step(res_doc):
    g = res_doc.graph
    edge = g.in_edges(g.find("conv_b"))[0]  # x → conv_b becomes x → add (a third input)
    cmd = RewireCommand(res_doc, edge, g.find("add"))
    _roundtrip(res_doc, cmd)
    assert cmd.text() == "Reconnect x → add"
    assert [g.node(e.src).name for e in g.in_edges(g.find("add"))] == ["conv_a", "conv_b", "x"]
    assert not g.in_edges(g.find("conv_b"))


def test_set_params_merges_consecutive_edits_of_one_field(doc):
    ids = _ids(doc)
    before = graph_json(doc.graph)
    for k in (3, 4, 5, 7):
        assert doc.push(SetParamsCommand(doc, ids["conv1"], {"kernel_size": k}))
    assert doc.undo_stack.count() == 1
    assert doc.undo_stack.text(0) == "Set kernel_size of conv1"
    assert doc.graph.node(ids["conv1"]).params["kernel_size"] == 7
    doc.undo_stack.undo()
    assert graph_json(doc.graph) == before
    doc.undo_stack.redo()
    assert doc.graph.node(ids["conv1"]).params["kernel_size"] == 7
    # a different field is a new entry
    doc.push(SetParamsCommand(doc, ids["conv1"], {"out_channels": 4}))
    assert doc.undo_stack.count() == 2


def test_set_params_back_to_the_original_value_leaves_no_entry(doc):
    ids = _ids(doc)
    doc.push(SetParamsCommand(doc, ids["fc1"], {"out_features": 11}))
    doc.push(SetParamsCommand(doc, ids["fc1"], {"out_features": 10}))
    assert doc.undo_stack.count() == 0
    assert not doc.dirty


def test_set_params_roundtrip(doc):
    ids = _ids(doc)
    _roundtrip(doc, SetParamsCommand(doc, ids["conv1"], {"out_channels": 12, "stride": 2}))


def test_rename_and_move(doc):
    ids = _ids(doc)
    cmd = RenameCommand(doc, ids["conv1"], "features")
    _roundtrip(doc, cmd)
    assert cmd.text() == "Rename conv1 to features"
    cmd = MoveNodesCommand(doc, {ids["conv1"]: ((300, 0), (320, 40)),
                                 ids["relu1"]: ((600, 0), (640, 40))})
    _roundtrip(doc, cmd)
    assert cmd.text() == "Move 2 nodes"


def test_group_and_ungroup(doc):
    ids = _ids(doc)
    sel = [ids["conv1"], ids["relu1"], ids["pool1"]]
    group = GroupCommand(doc, sel)
    _roundtrip(doc, group)
    assert group.text() == "Group 3 nodes"
    block = doc.graph.node(group.block_id)
    assert block.inner is not None and len(block.inner) == 5  # 3 layers + Input + Output
    assert doc.analysis().ok
    ungroup = UngroupCommand(doc, group.block_id)
    _roundtrip(doc, ungroup)
    assert ungroup.text() == f"Ungroup {block.name}"
    assert doc.analysis().shape(doc.graph.find("flat")) == (6 * 14 * 14,)


def test_paste_and_duplicate(doc):
    ids = _ids(doc)
    data = extract(doc.graph, [ids["conv1"], ids["relu1"]])
    paste = PasteCommand(doc, data, (0, 200))
    _roundtrip(doc, paste)
    assert paste.text() == "Paste 2 nodes" and len(paste.new_ids) == 2
    names = [doc.graph.node(i).name for i in paste.new_ids]
    assert "conv1" not in names and len(set(names)) == 2
    dup = DuplicateCommand(doc, [ids["fc1"]])
    _roundtrip(doc, dup)
    assert dup.text() == "Duplicate"


def test_commands_inside_an_open_block_use_its_path(doc):
    ids = _ids(doc)
    group = GroupCommand(doc, [ids["conv1"], ids["relu1"]])
    doc.push(group)
    path = [group.block_id]
    inner = doc.graph_at(path)
    conv = inner.find("conv1")
    cmd = SetParamsCommand(doc, conv, {"out_channels": 3}, path=path)
    before = graph_json(doc.graph)
    assert doc.push(cmd)
    assert doc.analysis().shape(ids["pool1"]) == (3, 14, 14)
    doc.undo_stack.undo()
    assert graph_json(doc.graph) == before
    # undo the group too, then redo both: the inner command finds its block again
    doc.undo_stack.undo()
    doc.undo_stack.redo()
    doc.undo_stack.redo()
    assert doc.graph_at(path).node(conv).params["out_channels"] == 3


def test_refused_edit_is_reported_and_changes_nothing(doc):
    ids = _ids(doc)
    merge = AddNodeCommand(doc, "Add", (600, 300), connect_from=(ids["conv1"], None))
    doc.push(merge)
    after = AddNodeCommand(doc, "ReLU", (900, 300), connect_from=(merge.node_id, None))
    doc.push(after)
    doc.undo_stack.clear()
    before = graph_json(doc.graph)
    errors = []
    doc.error_reported.connect(errors.append)
    assert not doc.push(ConnectCommand(doc, ids["relu1"], ids["conv1"]))  # port taken
    assert not doc.push(ConnectCommand(doc, after.node_id, merge.node_id))  # a cycle
    assert not doc.push(SetParamsCommand(doc, ids["conv1"], {"kernel_size": 0}))
    assert not doc.push(RenameCommand(doc, ids["conv1"], "relu1"))
    assert graph_json(doc.graph) == before
    assert doc.undo_stack.count() == 0
    assert "already has its input" in errors[0]
    assert "cycle" in errors[1] and "kernel_size" in errors[2] and "taken" in errors[3]


def test_failed_compound_command_rolls_back(doc):
    ids = _ids(doc)
    before = graph_json(doc.graph)
    # Adding a node wired from a port that does not exist: the node must not stay behind.
    assert not doc.push(AddNodeCommand(doc, "ReLU", (0, 0), connect_from=(ids["conv1"], "nope")))
    assert graph_json(doc.graph) == before


def test_dirty_title_and_saved_state(doc, qtbot, tmp_path):
    assert not doc.dirty and doc.title() == "lenet"
    with qtbot.waitSignal(doc.dirty_changed) as sig:
        doc.push(RenameCommand(doc, _ids(doc)["conv1"], "c1"))
    assert sig.args == [True] and doc.dirty and doc.title() == "lenet *"
    with qtbot.waitSignal(doc.path_changed):
        doc.mark_saved(tmp_path / "net.json")
    assert not doc.dirty and doc.title() == "net.json"
    doc.undo_stack.undo()
    assert doc.dirty


def test_analysis_is_coalesced_after_a_burst_of_edits(doc, qtbot):
    ids = _ids(doc)
    seen = []
    doc.analysis_updated.connect(seen.append)
    for k in (3, 5):
        doc.push(SetParamsCommand(doc, ids["conv1"], {"kernel_size": k}))
    doc.push(SetParamsCommand(doc, ids["fc1"], {"out_features": 20}))
    qtbot.waitUntil(lambda: len(seen) == 1)
    qtbot.wait(20)  # no second analysis follows
    assert len(seen) == 1
    assert seen[0].shape(ids["fc1"]) == (20,)
    assert seen[0].shape(ids["conv1"]) == (6, 28, 28)


def test_diagnostics_include_structure_and_shapes(qapp):
    g = lenet_graph()
    g.add("ReLU", "dangling", (0, 400))
    g.connect(g.find("image"), g.add("Linear", "bad", (300, 400)))
    d = Document(g)
    found = {(x.severity, g.node(x.node).name if x.node else None) for x in d.diagnostics()}
    assert ("error", "bad") in found  # Linear on (N, 1, 28, 28)
    assert ("error", "dangling") in found  # no input
    d.deleteLater()
