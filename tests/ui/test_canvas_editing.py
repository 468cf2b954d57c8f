"""Canvas editing with the real mouse and keyboard: palette drops, wiring port to port, a wire
dropped on empty canvas → quick-add, parameter edits reaching the wire labels; each undone and
redone exactly."""
from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from ui_helpers import drag, drop_layer, drop_mime, graph_json, node_point, port_point, to_viewport

from netbuilder.ui.commands import SetParamsCommand


def _undo_redo_exact(qtbot, view, before: str, after: str) -> None:
    """Ctrl+Z restores ``before`` exactly; Ctrl+Shift+Z and Ctrl+Y bring ``after`` back."""
    QTest.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert graph_json(view.doc.graph) == before
    QTest.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier |
                   Qt.KeyboardModifier.ShiftModifier)
    assert graph_json(view.doc.graph) == after
    QTest.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(view, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert graph_json(view.doc.graph) == after


def test_drop_from_palette_adds_the_layer_at_the_drop_point(qtbot, canvas):
    g = canvas.doc.graph
    before = graph_json(g)
    at = QPoint(400, 560)
    assert drop_layer(canvas, "Dropout", at)
    assert len(g) == 8
    new = g.nodes()[-1]
    assert new.type == "Dropout" and new.name == "drop1"
    item = canvas.graph_scene().node_items[new.id]
    assert item.sceneBoundingRect().contains(canvas.mapToScene(at))
    assert canvas.selected_ids() == [new.id]
    assert canvas.doc.undo_stack.text(0) == "Add Dropout 'drop1'"
    _undo_redo_exact(qtbot, canvas, before, graph_json(g))


def test_drop_of_other_data_is_refused(qtbot, canvas):
    from PySide6.QtCore import QMimeData

    mime = QMimeData()
    mime.setText("Conv2d")
    assert not drop_mime(canvas, mime, QPoint(300, 300))
    assert len(canvas.doc.graph) == 7


def test_drop_of_an_unknown_layer_type_reports_instead_of_crashing(qtbot, canvas):
    with qtbot.waitSignal(canvas.status_message) as sig:
        drop_layer(canvas, "Conv9d", QPoint(300, 300))
    assert "Unknown layer type 'Conv9d'" in sig.args[0]
    assert len(canvas.doc.graph) == 7


def test_connect_two_ports_with_a_mouse_drag(qtbot, canvas):
    g = canvas.doc.graph
    canvas.doc.push(SetParamsCommand(canvas.doc, g.find("fc1"), {"out_features": 10}))
    relu1, pool1 = g.find("relu1"), g.find("pool1")
    drop_layer(canvas, "Dropout", QPoint(500, 560))
    dropout = g.nodes()[-1].id
    before = graph_json(g)
    drag(canvas, port_point(canvas, relu1, is_input=False), port_point(canvas, dropout, True))
    edges = g.in_edges(dropout)
    assert [(e.src, e.dst) for e in edges] == [(relu1, dropout)]
    assert canvas.doc.undo_stack.text(canvas.doc.undo_stack.index() - 1) == \
        "Connect relu1 → drop1"
    # the new wire shows the shape that flows through it
    wire = canvas.graph_scene().wire_items[edges[0].key]
    qtbot.waitUntil(lambda: wire.label == "(N, 6, 28, 28)")
    _undo_redo_exact(qtbot, canvas, before, graph_json(g))
    # a taken input does not accept a second wire: nothing changes
    again = graph_json(g)
    drag(canvas, port_point(canvas, relu1, False), port_point(canvas, pool1, True))
    assert graph_json(g) == again


def test_dragging_highlights_only_valid_targets(qtbot, canvas):
    g = canvas.doc.graph
    drop_layer(canvas, "Add", QPoint(600, 560))
    add = g.nodes()[-1].id
    scene = canvas.graph_scene()
    vp = canvas.viewport()
    start = port_point(canvas, g.find("pool1"), False)
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(vp, start + QPoint(30, 40))
    valid = {(p.node_id, p.name) for item in scene.node_items.values()
             for p in item.in_slots if p.drop_state is not None}
    # the free variadic "+" slot of the Add is valid; upstream nodes (cycle) and taken ports not
    assert valid == {(add, "in")}
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       port_point(canvas, add, True))
    assert [e.src for e in g.in_edges(add)] == [g.find("pool1")]
    assert all(p.drop_state is None for item in scene.node_items.values() for p in item.in_slots)


def test_wire_dropped_on_empty_canvas_opens_quick_add_and_connects(qtbot, canvas):
    g = canvas.doc.graph
    conv1 = g.find("conv1")
    before = graph_json(g)
    end = to_viewport(canvas, canvas.graph_scene().node_items[conv1].scenePos()) + \
        QPoint(120, 260)
    drag(canvas, port_point(canvas, conv1, False), end)
    popup = canvas.findChild(type(canvas.quick_add), "quickAdd")
    assert popup.isVisible()
    search = popup.findChild(type(popup.search), "quickAddSearch")
    qtbot.waitUntil(search.hasFocus)
    # layers taking a (N, C, H, W) wire come first
    types = popup.types()
    assert types[0] in ("Conv2d", "ConvTranspose2d", "AddCoords")
    assert "Linear" in types and types.index("Linear") > types.index("ReLU")
    assert "Input" not in types  # it takes no wire
    QTest.keyClicks(search, "relu")
    assert popup.types()[0] == "ReLU"
    QTest.keyClick(search, Qt.Key.Key_Return)
    assert not popup.isVisible()
    new = g.nodes()[-1]
    assert new.type == "ReLU"
    assert [(e.src, e.dst) for e in g.in_edges(new.id)] == [(conv1, new.id)]
    item = canvas.graph_scene().node_items[new.id]
    assert (item.in_slots[0].scenePos() - canvas.mapToScene(end)).manhattanLength() < 12
    assert canvas.doc.undo_stack.count() == 1  # added and wired in one entry
    _undo_redo_exact(qtbot, canvas, before, graph_json(g))


def test_tab_and_double_click_open_quick_add_at_the_cursor(qtbot, canvas):
    g = canvas.doc.graph
    QTest.mouseMove(canvas.viewport(), QPoint(300, 600))
    QTest.keyClick(canvas, Qt.Key.Key_Tab)
    popup = canvas.quick_add
    assert popup.isVisible()
    QTest.keyClicks(popup.search, "dense")  # an alias of Linear
    assert popup.types()[0] == "Linear"
    QTest.keyClick(popup.search, Qt.Key.Key_Escape)
    assert not popup.isVisible() and len(g) == 7
    QTest.mouseDClick(canvas.viewport(), Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier, QPoint(700, 600))
    assert popup.isVisible()
    QTest.keyClicks(popup.search, "batchnorm2d")
    QTest.keyClick(popup.search, Qt.Key.Key_Enter)
    new = g.nodes()[-1]
    assert new.type == "BatchNorm2d" and not g.in_edges(new.id)
    assert canvas.graph_scene().node_items[new.id].sceneBoundingRect().contains(
        canvas.mapToScene(QPoint(700, 600)))


def test_parameter_edit_changes_the_wire_label_and_undoes(qtbot, canvas):
    g = canvas.doc.graph
    conv1, relu1 = g.find("conv1"), g.find("relu1")
    wire = canvas.graph_scene().wire_items[g.in_edges(relu1)[0].key]
    qtbot.waitUntil(lambda: wire.label == "(N, 6, 28, 28)")
    before = graph_json(g)
    canvas.doc.push(SetParamsCommand(canvas.doc, conv1, {"out_channels": 16}))
    qtbot.waitUntil(lambda: wire.label == "(N, 16, 28, 28)")
    node = canvas.graph_scene().node_items[conv1]
    assert node._lines[0] == ("body", "16@5×5 s1 p2")
    assert ("small", "416 params") in node._lines
    after = graph_json(g)
    QTest.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: wire.label == "(N, 6, 28, 28)")
    assert graph_json(g) == before
    QTest.keyClick(canvas, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: wire.label == "(N, 16, 28, 28)")
    assert graph_json(g) == after


def test_moving_nodes_is_one_undoable_step(qtbot, canvas):
    g = canvas.doc.graph
    conv1, relu1 = g.find("conv1"), g.find("relu1")
    canvas.select([conv1, relu1])
    before = graph_json(g)
    old = g.node(conv1).pos
    start = node_point(canvas, conv1)
    drag(canvas, start, start + QPoint(50, 80), steps=8)
    new = g.node(conv1).pos
    assert new != old and new[1] > old[1]
    assert g.node(relu1).pos[1] - 0.0 == new[1] - old[1]  # both moved together
    assert canvas.doc.undo_stack.count() == 1
    assert canvas.doc.undo_stack.text(0) == "Move 2 nodes"
    item = canvas.graph_scene().node_items[conv1]
    assert (item.pos().x(), item.pos().y()) == new
    _undo_redo_exact(qtbot, canvas, before, graph_json(g))
    assert (item.pos().x(), item.pos().y()) == new


def test_pick_up_a_wire_and_pull_it_off(qtbot, canvas):
    g = canvas.doc.graph
    pool1 = g.find("pool1")
    before = graph_json(g)
    start = port_point(canvas, pool1, True)
    drag(canvas, start, start + QPoint(-40, 200))
    assert not g.in_edges(pool1)
    assert canvas.doc.undo_stack.text(0) == "Disconnect relu1 → pool1"
    _undo_redo_exact(qtbot, canvas, before, graph_json(g))


def test_drag_backwards_from_a_free_input_to_an_output(qtbot, canvas):
    g = canvas.doc.graph
    drop_layer(canvas, "Identity", QPoint(500, 600))
    ident = g.nodes()[-1].id
    drag(canvas, port_point(canvas, ident, True), port_point(canvas, g.find("pool1"), False))
    assert [(e.src, e.dst) for e in g.in_edges(ident)] == [(g.find("pool1"), ident)]


def test_wire_from_an_input_dropped_on_empty_canvas_adds_a_feeding_layer(qtbot, canvas):
    g = canvas.doc.graph
    drop_layer(canvas, "Linear", QPoint(700, 600))
    fc = g.nodes()[-1].id
    start = port_point(canvas, fc, True)
    drag(canvas, start, start + QPoint(-250, 0))
    popup = canvas.quick_add
    assert popup.isVisible() and "Output" not in popup.types()  # it has no output to give
    QTest.keyClicks(popup.search, "flatten")
    QTest.keyClick(popup.search, Qt.Key.Key_Return)
    new = g.nodes()[-1]
    assert new.type == "Flatten"
    assert [(e.src, e.dst) for e in g.in_edges(fc)] == [(new.id, fc)]


def test_wire_dropped_on_a_node_body_takes_its_free_input(qtbot, canvas):
    g = canvas.doc.graph
    drop_layer(canvas, "Add", QPoint(600, 600))
    add = g.nodes()[-1].id
    drag(canvas, port_point(canvas, g.find("relu1"), False), node_point(canvas, add, 90, 20))
    drag(canvas, port_point(canvas, g.find("conv1"), False), node_point(canvas, add, 90, 20))
    assert [e.src for e in g.in_edges(add)] == [g.find("relu1"), g.find("conv1")]
    # the variadic port shows a slot per wire, in order, and a "+" slot
    slots = canvas.graph_scene().node_items[add].in_slots
    assert [s.plus for s in slots] == [False, False, True]
    assert [s.edge_key[0] for s in slots[:2]] == [g.find("relu1"), g.find("conv1")]


def test_double_click_on_a_node_activates_it(qtbot, canvas):
    g = canvas.doc.graph
    with qtbot.waitSignal(canvas.node_activated) as sig:
        QTest.mouseDClick(canvas.viewport(), Qt.MouseButton.LeftButton,
                          Qt.KeyboardModifier.NoModifier, node_point(canvas, g.find("fc1")))
    assert sig.args == [g.find("fc1")]
    assert not canvas.quick_add.isVisible()


def test_set_document_follows_the_new_graph_only(qtbot, canvas):
    from ui_helpers import residual_graph

    from netbuilder.ui.document import Document

    old = canvas.doc
    new = Document(residual_graph())
    canvas.set_document(new)
    assert {i for i in canvas.graph_scene().node_items} == {n.id for n in new.graph.nodes()}
    old.push(SetParamsCommand(old, old.graph.find("fc1"), {"out_features": 3}))
    QTest.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert old.undo_stack.index() == 1  # the canvas undoes in its own document
    assert len(canvas.graph_scene().node_items) == 5
