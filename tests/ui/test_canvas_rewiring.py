"""Rewiring with the real mouse: a layer dropped on a wire goes onto it, a wire picked up at its
input moves or comes off, a selected wire is drawn selected; each one undoable step."""
from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest
from test_canvas_editing import _undo_redo_exact
from ui_helpers import drag, drop_layer, graph_json, node_point, port_point

from netbuilder.ui.canvas import style


def wire_point(view, src: str, dst: str, t: float = 0.5) -> QPoint:
    """A viewport point on the wire src → dst (``t``: how far along it)."""
    g = view.doc.graph
    wire = next(w for w in view.graph_scene().wire_items.values()
                if (w.edge.src, w.edge.dst) == (g.find(src), g.find(dst)))
    return view.mapFromScene(wire.path().pointAtPercent(t))


def chain(g) -> list[str]:
    """Node names along the main path, from the source."""
    names, node = [], g.find("image")
    while True:
        names.append(g.node(node).name)
        out = g.out_edges(node)
        if not out:
            return names
        node = out[0].dst


def test_a_layer_dropped_from_the_palette_on_a_wire_goes_onto_it(qtbot, canvas):
    g = canvas.doc.graph
    before = graph_json(g)
    assert drop_layer(canvas, "Dropout", wire_point(canvas, "relu1", "pool1"))
    assert chain(g) == ["image", "conv1", "relu1", "drop1", "pool1", "flat", "fc1", "logits"]
    assert len(g.in_edges(g.find("pool1"))) == 1
    assert canvas.doc.undo_stack.count() == 1
    assert canvas.doc.undo_stack.text(0) == "Insert Dropout on relu1 → pool1"
    _undo_redo_exact(qtbot, canvas, before, graph_json(g))


def test_an_unconnected_node_dragged_onto_a_wire_goes_onto_it(qtbot, canvas):
    g = canvas.doc.graph
    drop_layer(canvas, "Identity", QPoint(500, 600))
    ident = g.nodes()[-1].id
    before = graph_json(g)
    old = g.node(ident).pos
    drag(canvas, node_point(canvas, ident), wire_point(canvas, "conv1", "relu1"), steps=8)
    assert chain(g) == ["image", "conv1", "identity1", "relu1", "pool1", "flat", "fc1", "logits"]
    assert g.node(ident).pos != old
    assert canvas.doc.undo_stack.count() == 2  # the drop, then move + insert as one step
    assert canvas.doc.undo_stack.text(1) == "Insert identity1 on conv1 → relu1"
    _undo_redo_exact(qtbot, canvas, before, graph_json(g))
    assert g.node(ident).pos != old


def test_a_connected_node_dragged_over_a_wire_only_moves(qtbot, canvas):
    g = canvas.doc.graph
    flat = g.find("flat")
    drag(canvas, node_point(canvas, flat), wire_point(canvas, "conv1", "relu1"), steps=8)
    assert chain(g) == ["image", "conv1", "relu1", "pool1", "flat", "fc1", "logits"]
    assert canvas.doc.undo_stack.text(0) == "Move flat"


def test_a_wire_picked_up_at_its_input_plugs_into_another_input(qtbot, canvas):
    g = canvas.doc.graph
    drop_layer(canvas, "Identity", QPoint(500, 600))
    ident = g.nodes()[-1].id
    before = graph_json(g)
    pool1 = g.find("pool1")
    drag(canvas, port_point(canvas, pool1, True), port_point(canvas, ident, True))
    assert not g.in_edges(pool1)
    assert [(e.src, e.dst) for e in g.in_edges(ident)] == [(g.find("relu1"), ident)]
    assert canvas.doc.undo_stack.text(1) == "Reconnect relu1 → identity1"
    _undo_redo_exact(qtbot, canvas, before, graph_json(g))


def selected_pixels(view, at: QPoint) -> int:
    """Pixels around ``at`` drawn in the selected-wire colour."""
    want = style.colour("wire_selected")
    image = view.viewport().grab().toImage()
    scale = image.devicePixelRatio()
    count = 0
    for dx in range(-4, 5):
        for dy in range(-4, 5):
            c = QColor(image.pixel(round((at.x() + dx) * scale), round((at.y() + dy) * scale)))
            if max(abs(c.red() - want.red()), abs(c.green() - want.green()),
                   abs(c.blue() - want.blue())) < 40:
                count += 1
    return count


def test_a_clicked_wire_is_selected_and_drawn_in_the_selection_colour(qtbot, canvas):
    g = canvas.doc.graph
    pool = g.find("pool1")  # lowered: a long wire, not one its shape label covers end to end
    g.move(pool, (g.node(pool).pos[0], g.node(pool).pos[1] + 150))
    at = wire_point(canvas, "relu1", "pool1", 0.25)
    away = QPoint(5, 5)
    QTest.mouseMove(canvas.viewport(), away)
    assert selected_pixels(canvas, at) == 0
    QTest.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     at)
    QTest.mouseMove(canvas.viewport(), away)
    edges = canvas.graph_scene().selected_edges()
    assert [(e.src, e.dst) for e in edges] == [(g.find("relu1"), g.find("pool1"))]
    qtbot.waitUntil(lambda: selected_pixels(canvas, at) >= 3)
