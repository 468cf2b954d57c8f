"""What the canvas shows and how it moves: category colours and red error outlines (pixels),
tooltips with the diagnostic, zoom keys and wheel, frame all/selection, pan, level of detail,
minimap, activity badges, light and dark palettes. Screenshots go to the temp folder."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from ui_helpers import drag, lenet_graph, residual_graph, save_shot

import netbuilder as nb
from netbuilder.ui.canvas import DARK, LIGHT, set_canvas_palette, style
from netbuilder.ui.document import Document

CTRL = Qt.KeyboardModifier.ControlModifier


@pytest.fixture(autouse=True)
def dark_palette_after():
    yield
    set_canvas_palette(DARK)


def render_node(view, node_id: str, scale: float = 1.0, inset: float = -6.0) -> QImage:
    """The scene area of one node (with a margin, or ``inset`` into it: clear of the wires at
    its ports) rendered at ``scale``, as the view paints."""
    item = view.graph_scene().node_items[node_id]
    source = item.sceneBoundingRect().adjusted(inset, inset, -inset, -inset)
    image = QImage(int(source.width() * scale), int(source.height() * scale),
                   QImage.Format.Format_ARGB32)
    image.fill(style.colour("background"))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    view.graph_scene().render(painter, QRectF(image.rect()), source)
    painter.end()
    return image


def count_near(image: QImage, colour: QColor, tol: int = 18) -> int:
    n = 0
    for y in range(image.height()):
        for x in range(image.width()):
            c = image.pixelColor(x, y)
            if (abs(c.red() - colour.red()) <= tol and abs(c.green() - colour.green()) <= tol
                    and abs(c.blue() - colour.blue()) <= tol):
                n += 1
    return n


def broken_graph() -> nb.Graph:
    """A Linear fed a 4-D tensor: an error on fc ("add a Flatten before it")."""
    g = nb.Graph("broken")
    x = g.add("Input", "image", (0, 0), shape=(1, 28, 28))
    c = g.add("Conv2d", "conv", (300, 0), out_channels=4, kernel_size=3)
    fc = g.add("Linear", "fc", (600, 0), out_features=10)
    g.connect(x, c)
    g.connect(c, fc)
    return g


def test_nodes_show_category_colour_texts_and_counts(qtbot, canvas, tmp_path):
    g = canvas.doc.graph
    conv = canvas.graph_scene().node_items[g.find("conv1")]
    assert conv._lines == [("body", "6@5×5 s1 p2"), ("mono", "(N, 6, 28, 28)"),
                           ("small", "156 params")]
    fc = canvas.graph_scene().node_items[g.find("fc1")]
    assert fc._lines[0] == ("body", "→10") and fc._lines[2] == ("small", "11,770 params")
    image = render_node(canvas, g.find("conv1"))
    image.save(str(tmp_path / "conv.png"))
    blue = QColor(style.CATEGORY_COLOURS["Convolution"])
    assert count_near(image, blue, 6) > 1500  # the header band
    assert count_near(render_node(canvas, g.find("relu1")), blue, 6) == 0
    green = QColor(style.CATEGORY_COLOURS["Activation"])
    assert count_near(render_node(canvas, g.find("relu1")), green, 6) > 1500
    assert count_near(image, style.colour("error")) == 0
    save_shot(canvas, "canvas_lenet_dark")


def test_error_node_has_a_red_outline_and_the_diagnostic_in_its_tooltip(qtbot, make_canvas):
    g = broken_graph()
    view = make_canvas(Document(g))
    fc = view.graph_scene().node_items[g.find("fc")]
    assert fc.has_error
    assert "add a Flatten before it" in fc.toolTip()
    assert fc.toolTip().startswith("Error: Linear 'fc' expects")
    red = style.colour("error")
    assert count_near(render_node(view, g.find("fc")), red) > 400
    assert count_near(render_node(view, g.find("conv"), inset=14), red) == 0
    # the wire that delivers the refused shape is red too, with the same message
    wire = view.graph_scene().wire_items[g.in_edges(g.find("fc"))[0].key]
    assert wire.error and "add a Flatten" in wire.toolTip()
    assert not [w for w in QApplication.topLevelWidgets() if w.isVisible() and w is not view]
    save_shot(view, "canvas_error")
    # fixing it clears the outline
    view.doc.push(__import__("netbuilder.ui.commands", fromlist=["x"]).AddNodeCommand(
        view.doc, "Flatten", (450, 200)))
    flat = g.nodes()[-1].id
    from netbuilder.ui.commands import RewireCommand
    view.doc.push(RewireCommand(view.doc, g.in_edges(g.find("fc"))[0], flat))
    from netbuilder.ui.commands import ConnectCommand
    view.doc.push(ConnectCommand(view.doc, flat, g.find("fc")))
    qtbot.waitUntil(lambda: not fc.has_error)
    assert count_near(render_node(view, g.find("fc")), red) == 0


def test_zoom_keys_wheel_and_frames(qtbot, canvas):
    canvas.set_zoom(1.0)
    QTest.keyClick(canvas, Qt.Key.Key_Plus, CTRL)
    assert canvas.zoom() == pytest.approx(1.25)
    QTest.keyClick(canvas, Qt.Key.Key_Minus, CTRL)
    QTest.keyClick(canvas, Qt.Key.Key_Minus, CTRL)
    assert canvas.zoom() == pytest.approx(0.8)
    QTest.keyClick(canvas, Qt.Key.Key_0, CTRL)
    assert canvas.zoom() == pytest.approx(1.0)
    # the wheel zooms about the cursor: the scene point under it stays put
    at = QPoint(300, 200)
    under = canvas.mapToScene(at)
    wheel = QWheelEvent(QPointF(at), QPointF(canvas.viewport().mapToGlobal(at)), QPoint(0, 0),
                        QPoint(0, 240), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(canvas.viewport(), wheel)
    assert canvas.zoom() > 1.3
    assert (canvas.mapToScene(at) - under).manhattanLength() < 3
    # F frames everything, Shift+F the selection
    QTest.keyClick(canvas, Qt.Key.Key_F)
    visible = canvas.mapToScene(canvas.viewport().rect()).boundingRect()
    assert visible.contains(canvas.graph_scene().nodes_rect())
    g = canvas.doc.graph
    canvas.select([g.find("fc1")])
    QTest.keyClick(canvas, Qt.Key.Key_F, Qt.KeyboardModifier.ShiftModifier)
    visible = canvas.mapToScene(canvas.viewport().rect()).boundingRect()
    assert visible.contains(canvas.graph_scene().nodes_rect([g.find("fc1")]))
    assert not visible.contains(canvas.graph_scene().nodes_rect([g.find("image")]))
    assert canvas.zoom() == pytest.approx(1.25)  # a single node is not blown up


def test_pan_with_middle_drag_and_space_drag(qtbot, canvas):
    canvas.set_zoom(1.0)
    centre = canvas.mapToScene(canvas.viewport().rect().center())
    drag(canvas, QPoint(600, 300), QPoint(500, 250), button=Qt.MouseButton.MiddleButton)
    moved = canvas.mapToScene(canvas.viewport().rect().center())
    assert (moved.x() - centre.x(), moved.y() - centre.y()) == pytest.approx((100, 50), abs=2)
    QTest.keyPress(canvas, Qt.Key.Key_Space)
    drag(canvas, QPoint(600, 300), QPoint(700, 300))
    QTest.keyRelease(canvas, Qt.Key.Key_Space)
    back = canvas.mapToScene(canvas.viewport().rect().center())
    assert back.x() == pytest.approx(centre.x(), abs=2)
    assert canvas.doc.undo_stack.count() == 0 and canvas.selected_ids() == []


def test_level_of_detail_when_zoomed_out(qtbot, canvas):
    g = canvas.doc.graph
    scene = canvas.graph_scene()
    conv = scene.node_items[g.find("conv1")]
    canvas.set_zoom(1.0)
    canvas.viewport().grab()
    assert conv.last_lod == "full" and canvas.lod() == "full" and not scene.overview_active
    box = canvas.mapFromScene(conv.sceneBoundingRect()).boundingRect()
    full = canvas.viewport().grab(box).toImage()
    canvas.set_zoom(0.3)
    assert canvas.lod() == "low" and scene.overview_active
    conv.last_lod = None
    shot = canvas.viewport().grab()
    # the overview drew the map; the node items did not paint themselves
    assert scene.overview.last_lod == "low" and conv.last_lod is None
    save_shot(canvas, "canvas_lod_low")
    box = canvas.mapFromScene(conv.sceneBoundingRect()).boundingRect()
    low = shot.copy(box).toImage()
    # the body turns into a category-coloured box: no body colour, no wire label pills
    body = style.colour("node_body")
    assert count_near(full, body, 4) > 2000
    assert count_near(low, body, 4) == 0
    blue = QColor(style.CATEGORY_COLOURS["Convolution"])
    assert count_near(low, blue, 6) > 0.5 * low.width() * low.height()
    assert count_near(low, style.colour("wire_label_bg"), 2) == 0
    # the items still take the mouse: a click selects, and the map shows the selection
    QTest.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, box.center())
    assert canvas.selected_ids() == [g.find("conv1")]
    canvas.set_zoom(0.1)
    canvas.viewport().grab()
    assert scene.overview.last_lod == "tiny"
    canvas.set_zoom(1.0)
    assert not scene.overview_active
    canvas.viewport().grab()
    assert conv.last_lod == "full"


def test_minimap_toggles_and_moves_the_view(qtbot, canvas):
    minimap = canvas.findChild(type(canvas.minimap), "minimap")
    assert minimap.isVisible()
    geo = minimap.geometry()
    assert canvas.viewport().geometry().contains(geo)  # in a corner, over the canvas
    assert geo.right() > canvas.width() - 40 and geo.bottom() > canvas.height() - 40
    canvas.set_zoom(1.5)
    minimap.grab()  # paint, so it knows its mapping
    before = canvas.mapToScene(canvas.viewport().rect().center())
    QTest.mouseClick(minimap, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(12, minimap.height() // 2))
    after = canvas.mapToScene(canvas.viewport().rect().center())
    assert after.x() < before.x() - 100  # moved towards the left end of the graph
    QTest.keyClick(canvas, Qt.Key.Key_M)
    assert not minimap.isVisible()
    QTest.keyClick(canvas, Qt.Key.Key_M)
    assert minimap.isVisible()


def test_activity_badge(qtbot, canvas):
    g = canvas.doc.graph
    relu = canvas.graph_scene().node_items[g.find("relu1")]
    h = relu.height()
    canvas.set_activity(g.find("relu1"), {"mean": 0.4213, "dead": 0.12})
    assert relu.height() > h
    canvas.set_zoom(1.5)
    canvas.frame_nodes([g.find("relu1")])
    save_shot(canvas, "canvas_activity")
    canvas.set_activity(g.find("relu1"), None)
    assert relu.height() == h


def test_light_palette_repaints(qtbot, make_canvas):
    view = make_canvas(Document(residual_graph()))
    set_canvas_palette(LIGHT)
    assert view.backgroundBrush().color() == QColor(LIGHT["background"])
    image = view.viewport().grab().toImage()
    assert image.pixelColor(5, 5) == QColor(LIGHT["background"])
    save_shot(view, "canvas_residual_light")
    set_canvas_palette(DARK)
    save_shot(view, "canvas_residual_dark")
    assert view.viewport().grab().toImage().pixelColor(5, 5) == QColor(DARK["background"])


def test_quick_add_screenshot(qtbot, canvas):
    canvas.open_quick_add(QPoint(420, 180), wire=(canvas.doc.graph.find("flat"), "out"))
    # "li": (N, 1176) fits Linear, listed before the layers that need a sequence or an image
    QTest.keyClicks(canvas.quick_add.search, "li")
    assert canvas.quick_add.types()[0] == "Linear"
    save_shot(canvas, "canvas_quick_add")
    QTest.keyClick(canvas.quick_add.search, Qt.Key.Key_Escape)


def test_lenet_light_screenshot(qtbot, make_canvas):
    set_canvas_palette(LIGHT)
    view = make_canvas(Document(lenet_graph()), size=(1500, 500))
    view.auto_layout()
    save_shot(view, "canvas_lenet_light")


def test_many_qt_calls_do_not_exhaust_the_none_refcount(qapp):
    """PySide6 6.12 drops a reference to None per void call on Python < 3.12 (see
    netbuilder/ui/__init__.py); a long session makes millions of such calls while painting."""
    import sys

    from PySide6.QtCore import QObject

    import netbuilder.ui

    probe = QObject()
    for _ in range(300_000):  # more than None's whole reference count without the guard
        probe.setObjectName("x")
    assert sys.getrefcount(None) > 1000
    if sys.version_info < (3, 12):
        assert netbuilder.ui.NONE_GUARD_APPLIED == (sys.getrefcount(None) > 1 << 39)


def test_the_node_name_wins_over_the_type_in_the_header(qapp):
    """A long type label gives way to the name: elided, or left out rather than a stub."""
    from netbuilder.ui.canvas.scene import GraphScene

    g = nb.Graph("names")
    a = g.add("AdaptiveAvgPool2d", "mean_token", (0, 0))
    b = g.add("Dropout2d", "tokens_as_image", (300, 0))
    c = g.add("Conv2d", "conv1", (600, 0), out_channels=4, kernel_size=3)
    scene = GraphScene(g)
    try:
        header = {nid: [t for t in item._texts() if t[0] in ("title", "type")]
                  for nid, item in scene.node_items.items()}
        assert [t[4] for t in header[a]] == ["mean_token", "AdaptiveAvg…"]
        assert [t[4] for t in header[b]] == ["tokens_as_image"]  # not "tokens_as…" + "Drop…"
        assert [t[4] for t in header[c]] == ["conv1", "Conv2d"]
    finally:
        scene.detach()
        scene.deleteLater()


def test_learned_tensors_show_a_batch_of_one(qtbot, make_canvas):
    g = nb.Graph("tokens")
    x = g.add("Input", "x", shape=(4, 8))
    cls = g.add("Parameter", "cls", shape=(1, 8))
    e = g.add("Expand", "cls_b", sizes="batch, -1, -1")
    cat = g.add("Concat", "tokens", dim=1)
    g.connect(cls, e)
    g.connect(x, e, dst_port="like")
    g.connect(e, cat)
    g.connect(x, cat)
    view = make_canvas(Document(g))
    scene = view.graph_scene()
    qtbot.waitUntil(lambda: ("mono", "(1, 1, 8)") in scene.node_items[cls]._lines)
    assert ("mono", "(N, 1, 8)") in scene.node_items[e]._lines  # expanded to the batch
    labels = {(w.edge.src, w.edge.dst): w.label for w in scene.wire_items.values()}
    assert labels[(cls, e)] == "(1, 1, 8)" and labels[(e, cat)] == "(N, 1, 8)"
    assert style.CATEGORY_COLOURS["Parameters"] != style.DEFAULT_CATEGORY_COLOUR
