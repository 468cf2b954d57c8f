"""The canvas reads like a diagram: a graph opens at a zoom where node names are as large as
the palette's text (a deep one shows its top and scrolls), the minimap never covers a node,
wire labels cover no node and no other label, pasted nodes land beside what is there, and
File ▸ Export Diagram writes the canvas or the selection as SVG, PDF and PNG."""
from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFontInfo, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog
from ui_helpers import drag, lenet_graph

import netbuilder as nb
from netbuilder.ui.canvas import DARK, CanvasView, set_canvas_palette, style
from netbuilder.ui.canvas.node_item import NodeItem
from netbuilder.ui.document import Document

EXAMPLES = Path(str(resources.files("netbuilder") / "resources" / "examples"))
CTRL = Qt.KeyboardModifier.ControlModifier


@pytest.fixture(autouse=True)
def dark_palette_after():
    yield
    set_canvas_palette(DARK)


def deep_chain(n: int) -> nb.Graph:
    g = nb.Graph("deep")
    prev = g.add("Input", "x", shape=(8,))
    for _ in range(n):
        nxt = g.add("ReLU")
        g.connect(prev, nxt)
        prev = nxt
    nb.auto_layout(g)
    return g


def open_view(qtbot, doc, size=(1000, 700)) -> CanvasView:
    """A canvas shown the way the window opens a document (no explicit framing)."""
    view = CanvasView(doc)
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    return view


def node_rect(item) -> QRectF:
    return QRectF(item.pos().x(), item.pos().y(), item.width(), item.height())


def visible_rect(view) -> QRectF:
    return view.mapToScene(view.viewport().rect()).boundingRect()


def test_a_deep_graph_opens_readable_at_its_top_and_scrolls(qtbot):
    g = deep_chain(60)
    view = open_view(qtbot, Document(g))
    app_px = QFontInfo(QApplication.font()).pixelSize()
    assert view.zoom() * style.font("title").pixelSize() >= app_px - 0.01
    items = view.graph_scene().node_items
    first, last = items[g.find("x")], items[g.nodes()[-1].id]
    shown = visible_rect(view)
    assert shown.contains(node_rect(first))  # the beginning of the network
    assert not shown.intersects(node_rect(last))  # the rest is below, a pan away
    # a pan downwards brings the next nodes in; the zoom stays
    zoom = view.zoom()
    drag(view, QPoint(500, 600), QPoint(500, 100), button=Qt.MouseButton.MiddleButton)
    assert visible_rect(view).top() > shown.top() + 400
    assert view.zoom() == zoom


def test_a_small_graph_opens_whole(qtbot):
    g = deep_chain(3)
    view = open_view(qtbot, Document(g))
    assert visible_rect(view).contains(view.graph_scene().nodes_rect())
    assert view.zoom() <= 1.25


def test_an_opened_document_is_framed_for_reading_too(qtbot):
    view = open_view(qtbot, Document(deep_chain(2)))
    view.set_document(Document(nb.load(EXAMPLES / "resnet_small.json")))
    app_px = QFontInfo(QApplication.font()).pixelSize()
    assert view.zoom() * style.font("title").pixelSize() >= app_px - 0.01
    image = view.graph_scene().node_items[view.graph.find("image")]
    assert visible_rect(view).contains(node_rect(image))


def nodes_under(view, widget_rect: QRect) -> list:
    vp = view.viewport()
    inside = QRect(vp.mapFrom(view, widget_rect.topLeft()), widget_rect.size())
    return [i for i in view.items(inside) if isinstance(i, NodeItem)]


def test_the_minimap_steps_aside_from_nodes_and_hides_when_no_corner_is_free(qtbot):
    g = nb.Graph("corners")
    x = g.add("Input", "x", (0, 0), shape=(4,))
    view = open_view(qtbot, Document(g))
    view.set_zoom(1.0)
    minimap = view.minimap
    qtbot.waitUntil(lambda: minimap.isVisible())
    home = minimap.corners()[0]
    assert minimap.geometry() == home  # bottom right while it is free
    # put a node right under the bottom-right corner: the minimap moves to the next corner
    under = view.mapToScene(view.viewport().mapFrom(view, home.center()))
    g.move(x, (under.x() - 90, under.y() - 40))
    qtbot.waitUntil(lambda: minimap.geometry() != home)
    assert minimap.isVisible() and minimap.geometry() == minimap.corners()[1]
    assert nodes_under(view, minimap.geometry()) == []
    # nodes in every corner: out of sight, though still wanted
    for corner in minimap.corners()[1:]:
        at = view.mapToScene(view.viewport().mapFrom(view, corner.center()))
        g.move(g.add("ReLU", pos=(0, 0)), (at.x() - 90, at.y() - 40))
    qtbot.waitUntil(lambda: not minimap.isVisible())
    assert minimap.wanted
    view.set_zoom(0.3)  # zoomed out about the centre, the corners are free again
    qtbot.waitUntil(lambda: minimap.isVisible())
    assert nodes_under(view, minimap.geometry()) == []


def test_wire_labels_cover_no_node_and_no_other_label(qtbot):
    doc = Document(nb.load(EXAMPLES / "inception_block.json"))
    view = open_view(qtbot, doc, size=(1200, 900))
    scene = view.graph_scene()
    qtbot.waitUntil(lambda: all(w.label for w in view.graph_scene().wire_items.values()),
                    timeout=20000)
    scene = view.graph_scene()
    qtbot.waitUntil(lambda: not scene._label_timer.isActive())
    nodes = [node_rect(i) for i in scene.node_items.values()]
    labels = [w.label_rect() for w in scene.wire_items.values()]
    assert len(labels) == len(doc.graph.edges()) > 15
    for lab in labels:
        assert not any(lab.intersects(n) for n in nodes), lab
    for i, a in enumerate(labels):
        assert not any(a.intersects(b) for b in labels[i + 1:]), a


def test_pasted_nodes_land_beside_what_is_there(qtbot, make_canvas):
    g = deep_chain(4)
    view = make_canvas(Document(g))
    QTest.mouseMove(view.viewport(), QPoint(-50, -50))  # the mouse is not over the canvas
    view.select([g.find("x"), g.nodes()[1].id])
    QTest.keyClick(view, Qt.Key.Key_C, CTRL)
    QTest.keyClick(view, Qt.Key.Key_V, CTRL)
    pasted = view.selected_ids()
    assert len(pasted) == 2 and len(g) == 7
    items = view.graph_scene().node_items
    old = [node_rect(items[n.id]) for n in g.nodes() if n.id not in pasted]
    for nid in pasted:
        assert not any(node_rect(items[nid]).intersects(r) for r in old)


def _export(window, monkeypatch, path: Path) -> None:
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(path), "")))
    window.actions["export_diagram"].trigger()


def test_export_diagram_writes_svg_pdf_and_png_in_the_light_palette(qtbot, make_window,
                                                                    monkeypatch, tmp_path):
    w = make_window(Document(lenet_graph()))
    assert w.actions["export_diagram"] in w.menus["file"].actions()
    w.canvas.select([])
    _export(w, monkeypatch, tmp_path / "net.svg")
    root = ET.parse(tmp_path / "net.svg").getroot()
    assert root.tag.endswith("svg")
    words = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    for name in ("image", "conv1", "fc1", "logits"):
        assert name in words
    assert style.canvas_palette()["name"] == "dark"  # the canvas is back as it was
    _export(w, monkeypatch, tmp_path / "net.pdf")
    assert (tmp_path / "net.pdf").read_bytes().startswith(b"%PDF")
    _export(w, monkeypatch, tmp_path / "net.png")
    png = (tmp_path / "net.png").read_bytes()
    width, height = struct.unpack(">II", png[16:24])
    scene_rect = w.canvas.graph_scene().nodes_rect()
    assert width >= 3 * scene_rect.width() and height >= 3 * scene_rect.height()
    image = QImage(str(tmp_path / "net.png"))
    assert image.pixelColor(4, 4) == QColor(style.LIGHT["background"])
    assert "Exported the canvas to net.png" in w.statusBar().currentMessage()


def test_export_diagram_of_the_selection(qtbot, make_window, monkeypatch, tmp_path):
    w = make_window(Document(lenet_graph()))
    g = w.document.graph
    w.canvas.select([g.find("conv1"), g.find("relu1")])
    _export(w, monkeypatch, tmp_path / "part.svg")
    root = ET.parse(tmp_path / "part.svg").getroot()
    words = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    assert "conv1" in words and "relu1" in words
    assert "fc1" not in words and "logits" not in words
    assert sorted(w.canvas.selected_ids()) == sorted([g.find("conv1"), g.find("relu1")])
    assert all(i.isVisible() for i in w.canvas.graph_scene().node_items.values())
    assert "2 selected nodes" in w.statusBar().currentMessage()
    # a bad name is a message, not a traceback
    _export(w, monkeypatch, tmp_path / "part.gif")
    qtbot.waitUntil(lambda: _error_box(w) is not None)
    assert _error_box(w).informativeText() == (
        f"{tmp_path / 'part.gif'}: a diagram is written as .svg, .pdf or .png, not '.gif'")
    assert not (tmp_path / "part.gif").exists()
    _error_box(w).close()


def _error_box(w):
    from PySide6.QtWidgets import QMessageBox
    return w.findChild(QMessageBox, "diagram_error")


@pytest.mark.parametrize("example", ["resnet_small", "inception_block"])
def test_after_auto_layout_no_wire_passes_behind_a_node(qtbot, make_canvas, example):
    doc = Document(nb.load(EXAMPLES / f"{example}.json"))
    view = make_canvas(doc)
    QTest.keyClick(view, Qt.Key.Key_L, CTRL | Qt.KeyboardModifier.ShiftModifier)
    scene = view.graph_scene()
    rects = {nid: node_rect(i).adjusted(2, 2, -2, -2) for nid, i in scene.node_items.items()}
    main = [n.id for n in doc.graph.nodes()]
    assert len({doc.graph.node(i).pos[0] for i in main}) < len(main) / 3  # mostly one column
    for wire in scene.wire_items.values():
        path = wire.path()
        others = [r for nid, r in rects.items() if nid not in (wire.edge.src, wire.edge.dst)]
        for k in range(301):
            p = path.pointAtPercent(k / 300)
            assert not any(r.contains(p) for r in others), (example, wire.edge.key)


def test_opening_an_example_in_the_window_frames_it_readable(qtbot, make_window):
    w = make_window()
    assert w.files.open_file(EXAMPLES / "resnet_small.json")
    canvas = w.canvas
    app_px = QFontInfo(QApplication.font()).pixelSize()
    assert canvas.zoom() * style.font("title").pixelSize() >= app_px - 0.01
    first = canvas.graph_scene().node_items[canvas.graph.find("image")]
    assert visible_rect(canvas).contains(node_rect(first))
    assert canvas.lod() == "full"  # names, shapes and labels drawn, not the overview map


def test_auto_layout_from_the_view_menu_down_or_left_to_right(qtbot, make_window):
    g = deep_chain(5)
    for i, n in enumerate(g.nodes()):
        g.move(n.id, ((i * 137) % 500, (i * 91) % 300))
    w = make_window(Document(g))
    view_menu = w.menus["view"].actions()
    assert w.actions["auto_layout_right"] in view_menu
    w.actions["auto_layout_right"].trigger()
    pos = [n.pos for n in g.nodes()]
    assert len({y for _, y in pos}) == 1 and pos == sorted(pos)
    w.actions["auto_layout"].trigger()
    pos = [n.pos for n in g.nodes()]
    assert len({x for x, _ in pos}) == 1 and [y for _, y in pos] == sorted(y for _, y in pos)
    assert w.document.undo_stack.text(w.document.undo_stack.index() - 1) == "Auto-layout"
