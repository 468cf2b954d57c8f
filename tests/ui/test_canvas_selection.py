"""Selection and structure edits from the keyboard: rubber band, select all, delete, duplicate,
copy/cut/paste through the system clipboard (also into another window), rename, group, open a
block and come back, ungroup; each undone exactly."""
from __future__ import annotations

import json

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from ui_helpers import drag, graph_json, lenet_graph, node_point, save_shot, to_viewport

from netbuilder.ui.clipboard import GRAPH_MIME
from netbuilder.ui.document import Document

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


def _undo_redo_exact(view, before: str, after: str) -> None:
    QTest.keyClick(view, Qt.Key.Key_Z, CTRL)
    assert graph_json(view.doc.graph) == before
    QTest.keyClick(view, Qt.Key.Key_Z, CTRL | SHIFT)
    assert graph_json(view.doc.graph) == after


def test_rubber_band_selects_the_nodes_it_touches(qtbot, canvas):
    g = canvas.doc.graph
    scene = canvas.graph_scene()
    conv1, pool1 = scene.node_items[g.find("conv1")], scene.node_items[g.find("pool1")]
    start = to_viewport(canvas, conv1.scenePos() + QPointF(-30, -40))
    end = to_viewport(canvas, pool1.scenePos() + QPointF(20, 30))
    seen = []
    canvas.selection_changed.connect(seen.append)
    drag(canvas, start, end)
    assert canvas.selected_ids() == [g.find("conv1"), g.find("relu1"), g.find("pool1")]
    assert seen[-1] == canvas.selected_ids()
    assert not [i for i in scene.items() if type(i).__name__ == "QGraphicsRectItem"]
    # Shift extends; a plain click on empty canvas clears
    fc = scene.node_items[g.find("fc1")]
    drag(canvas, to_viewport(canvas, fc.scenePos() + QPointF(-20, -20)),
         to_viewport(canvas, fc.scenePos() + QPointF(30, 30)), modifiers=SHIFT)
    assert len(canvas.selected_ids()) == 4
    QTest.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(600, 650))
    assert canvas.selected_ids() == []


def test_click_selects_and_ctrl_a_selects_all(qtbot, canvas):
    g = canvas.doc.graph
    QTest.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     node_point(canvas, g.find("fc1")))
    assert canvas.selected_ids() == [g.find("fc1")]
    QTest.keyClick(canvas, Qt.Key.Key_A, CTRL)
    assert canvas.selected_ids() == [n.id for n in g.nodes()]


def test_delete_and_backspace_remove_the_selection(qtbot, canvas):
    g = canvas.doc.graph
    before = graph_json(g)
    canvas.select([g.find("relu1"), g.find("pool1")])
    QTest.keyClick(canvas, Qt.Key.Key_Delete)
    assert len(g) == 5 and "relu1" not in [n.name for n in g.nodes()]
    assert canvas.doc.undo_stack.text(0) == "Delete 2 nodes"
    assert set(canvas.graph_scene().node_items) == {n.id for n in g.nodes()}
    assert len(canvas.graph_scene().wire_items) == len(g.edges()) == 3
    _undo_redo_exact(canvas, before, graph_json(g))
    QTest.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    canvas.select([g.find("flat")])
    QTest.keyClick(canvas, Qt.Key.Key_Backspace)
    assert "flat" not in [n.name for n in g.nodes()]


def test_a_selected_wire_is_deleted_alone(qtbot, canvas):
    g = canvas.doc.graph
    wire = canvas.graph_scene().wire_items[g.in_edges(g.find("pool1"))[0].key]
    QTest.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     to_viewport(canvas, wire.path().pointAtPercent(0.3)))
    assert wire.isSelected()
    QTest.keyClick(canvas, Qt.Key.Key_Delete)
    assert not g.in_edges(g.find("pool1")) and len(g) == 7
    assert canvas.doc.undo_stack.text(0) == "Disconnect relu1 → pool1"


def test_duplicate_copies_nodes_and_inner_wires_beside_them(qtbot, canvas):
    g = canvas.doc.graph
    before = graph_json(g)
    conv1, relu1 = g.find("conv1"), g.find("relu1")
    canvas.select([conv1, relu1])
    QTest.keyClick(canvas, Qt.Key.Key_D, CTRL)
    new = canvas.selected_ids()
    assert len(new) == 2 and not set(new) & {conv1, relu1}
    a, b = (g.node(i) for i in new)
    assert (a.type, b.type) == ("Conv2d", "ReLU") and a.params == g.node(conv1).params
    assert a.pos == (g.node(conv1).pos[0] + 40, g.node(conv1).pos[1] + 40)
    assert [(e.src, e.dst) for e in g.out_edges(a.id)] == [(a.id, b.id)]
    assert canvas.doc.undo_stack.text(0) == "Duplicate"
    _undo_redo_exact(canvas, before, graph_json(g))


def test_copy_paste_goes_through_the_system_clipboard_as_graph_json(qtbot, canvas):
    g = canvas.doc.graph
    canvas.select([g.find("conv1"), g.find("relu1")])
    QTest.keyClick(canvas, Qt.Key.Key_C, CTRL)
    mime = QGuiApplication.clipboard().mimeData()
    assert mime.hasFormat(GRAPH_MIME)
    data = json.loads(mime.text())
    assert [n["name"] for n in data["nodes"]] == ["conv1", "relu1"] and len(data["edges"]) == 1
    before = graph_json(g)
    QTest.keyClick(canvas, Qt.Key.Key_V, CTRL)
    assert len(g) == 9
    pasted = canvas.selected_ids()
    assert sorted(g.node(i).type for i in pasted) == ["Conv2d", "ReLU"]
    assert canvas.doc.undo_stack.text(0) == "Paste 2 nodes"
    _undo_redo_exact(canvas, before, graph_json(g))


def test_paste_into_another_window_and_from_plain_text(qtbot, canvas, make_canvas):
    g = canvas.doc.graph
    canvas.select([g.find("fc1")])
    QTest.keyClick(canvas, Qt.Key.Key_C, CTRL)
    other = make_canvas(Document())
    QTest.keyClick(other, Qt.Key.Key_V, CTRL)
    pasted = other.doc.graph.nodes()
    assert [(n.type, n.name, n.params["out_features"]) for n in pasted] == [("Linear", "fc1", 10)]
    # JSON copied from a text editor pastes too
    QGuiApplication.clipboard().setText(json.dumps(
        {"nodes": [{"id": "a", "type": "GELU", "name": "act", "pos": [0, 0]}], "edges": []}))
    QTest.keyClick(other, Qt.Key.Key_V, CTRL)
    assert [n.type for n in other.doc.graph.nodes()] == ["Linear", "GELU"]
    # anything else is refused with a message
    QGuiApplication.clipboard().setText("hello")
    with qtbot.waitSignal(other.status_message) as sig:
        QTest.keyClick(other, Qt.Key.Key_V, CTRL)
    assert "no netbuilder nodes" in sig.args[0] and len(other.doc.graph) == 2


def test_cut_removes_and_paste_restores(qtbot, canvas):
    g = canvas.doc.graph
    canvas.select([g.find("flat")])
    QTest.keyClick(canvas, Qt.Key.Key_X, CTRL)
    assert "flat" not in [n.name for n in g.nodes()]
    assert canvas.doc.undo_stack.text(0) == "Cut Flatten 'flat'"
    QTest.keyClick(canvas, Qt.Key.Key_V, CTRL)
    assert [n.name for n in g.nodes()][-1] == "flat"


def test_f2_renames_in_place(qtbot, canvas):
    g = canvas.doc.graph
    conv1 = g.find("conv1")
    before = graph_json(g)
    canvas.select([conv1])
    QTest.keyClick(canvas, Qt.Key.Key_F2)
    editor = canvas.findChild(type(canvas.rename_editor), "renameEditor")
    assert editor.isVisible() and editor.text() == "conv1"
    qtbot.waitUntil(editor.hasFocus)
    editor.selectAll()
    QTest.keyClicks(editor, "features")
    QTest.keyClick(editor, Qt.Key.Key_Return)
    assert g.node(conv1).name == "features" and not editor.isVisible()
    assert canvas.doc.undo_stack.text(0) == "Rename conv1 to features"
    _undo_redo_exact(canvas, before, graph_json(g))
    # a taken name is refused with the reason, never a dialog
    canvas.select([conv1])
    QTest.keyClick(canvas, Qt.Key.Key_F2)
    editor.selectAll()
    QTest.keyClicks(editor, "relu1")
    with qtbot.waitSignal(canvas.status_message) as sig:
        QTest.keyClick(editor, Qt.Key.Key_Return)
    assert "taken" in sig.args[0] and g.node(conv1).name == "features"


def test_group_open_breadcrumb_and_ungroup_with_keys(qtbot, canvas):
    g = canvas.doc.graph
    before = graph_json(g)
    sel = [g.find("conv1"), g.find("relu1"), g.find("pool1")]
    canvas.select(sel)
    QTest.keyClick(canvas, Qt.Key.Key_G, CTRL)
    block = canvas.selected_ids()[0]
    assert g.node(block).type == "Block" and len(g) == 5
    assert canvas.doc.undo_stack.text(0) == "Group 3 nodes"
    grouped = graph_json(g)
    # the block's output shape is the pool's
    out_wire = canvas.graph_scene().wire_items[g.out_edges(block)[0].key]
    qtbot.waitUntil(lambda: out_wire.label == "(N, 6, 14, 14)")
    # open it with a double click: the scene shows the inner graph
    opened = []
    canvas.block_opened.connect(opened.append)
    QTest.mouseDClick(canvas.viewport(), Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier, node_point(canvas, block))
    assert opened == [[block]] and canvas.path == [block]
    names = {canvas.graph.node(i).name for i in canvas.graph_scene().node_items}
    assert {"conv1", "relu1", "pool1"} <= names
    assert canvas.breadcrumb() == ["lenet", g.node(block).name]
    assert canvas.breadcrumb_bar.isVisible()
    save_shot(canvas, "canvas_block_open")
    # shapes inside come from the outer wiring
    inner = canvas.graph
    wire = canvas.graph_scene().wire_items[inner.in_edges(inner.find("relu1"))[0].key]
    assert wire.label == "(N, 6, 28, 28)"
    QTest.keyClick(canvas, Qt.Key.Key_Escape)
    assert canvas.path == [] and canvas.selected_ids() == [block]
    assert not canvas.breadcrumb_bar.isVisible()
    QTest.keyClick(canvas, Qt.Key.Key_G, CTRL | SHIFT)
    assert len(g) == 7 and canvas.doc.undo_stack.text(1).startswith("Ungroup")
    QTest.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    assert graph_json(g) == grouped
    QTest.keyClick(canvas, Qt.Key.Key_Z, CTRL)
    assert graph_json(g) == before


def test_edits_inside_a_block_and_undo_that_removes_the_open_block(qtbot, canvas):
    g = canvas.doc.graph
    canvas.select([g.find("conv1"), g.find("relu1")])
    QTest.keyClick(canvas, Qt.Key.Key_G, CTRL)
    block = canvas.selected_ids()[0]
    canvas.open_block(block)
    inner_relu = canvas.graph.find("relu1")
    canvas.select([inner_relu])
    QTest.keyClick(canvas, Qt.Key.Key_Delete)
    assert "relu1" not in [n.name for n in g.node(block).inner.nodes()]
    QTest.keyClick(canvas, Qt.Key.Key_Z, CTRL)  # undo the delete, still inside
    assert canvas.path == [block] and inner_relu in canvas.graph_scene().node_items
    QTest.keyClick(canvas, Qt.Key.Key_Z, CTRL)  # undo the group: the block is gone
    assert canvas.path == [] and block not in g
    assert set(canvas.graph_scene().node_items) == {n.id for n in g.nodes()}


def test_auto_layout_is_one_undoable_step(qtbot, make_canvas):
    graph = lenet_graph()
    for i, n in enumerate(graph.nodes()):
        graph.move(n.id, ((i * 137) % 500, (i * 91) % 300))
    doc = Document(graph)
    view = make_canvas(doc)
    before = graph_json(graph)
    QTest.keyClick(view, Qt.Key.Key_L, CTRL | SHIFT)
    # The chain runs straight down, in its order, each node clear of the one above it.
    pos = [n.pos for n in graph.nodes()]
    assert len({x for x, _ in pos}) == 1
    assert pos == sorted(pos)
    items = view.graph_scene().node_items
    for a, b in zip(graph.nodes(), graph.nodes()[1:]):
        assert b.pos[1] >= a.pos[1] + items[a.id].height() + 40
    assert doc.undo_stack.text(0) == "Auto-layout"
    _undo_redo_exact(view, before, graph_json(graph))


def test_breadcrumb_link_goes_back(qtbot, canvas):
    g = canvas.doc.graph
    canvas.select([g.find("conv1"), g.find("relu1")])
    QTest.keyClick(canvas, Qt.Key.Key_G, CTRL)
    block = canvas.selected_ids()[0]
    seen = []
    canvas.breadcrumb_changed.connect(seen.append)
    canvas.open_block(block)
    assert seen[-1] == ["lenet", g.node(block).name]
    canvas.breadcrumb_bar.linkActivated.emit("0")  # what clicking "lenet" sends
    assert canvas.path == [] and seen[-1] == ["lenet"]
