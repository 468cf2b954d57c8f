"""Helpers for the canvas tests: small graphs, real mouse gestures on the canvas's viewport,
palette drops, and screenshots for people to look at (``from ui_helpers import ...``)."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDragMoveEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

import netbuilder as nb
from netbuilder.graph import to_json

SHOTS = Path(tempfile.gettempdir()) / "netbuilder-shots"


def graph_json(g) -> str:
    """The graph as its file text: what "exactly as before" is compared on."""
    return to_json(g)


def parsed(g) -> dict:
    return json.loads(graph_json(g))


def lenet_graph() -> nb.Graph:
    g = nb.Graph("lenet")
    x = g.add("Input", "image", (0, 0), shape=(1, 28, 28))
    c1 = g.add("Conv2d", "conv1", (300, 0), out_channels=6, kernel_size=5, padding=2)
    r1 = g.add("ReLU", "relu1", (600, 0))
    p1 = g.add("MaxPool2d", "pool1", (900, 0))
    f = g.add("Flatten", "flat", (1200, 0))
    fc = g.add("Linear", "fc1", (1500, 0), out_features=10)
    out = g.add("Output", "logits", (1800, 0))
    for a, b in ((x, c1), (c1, r1), (r1, p1), (p1, f), (f, fc), (fc, out)):
        g.connect(a, b)
    return g


def residual_graph() -> nb.Graph:
    """x → conv_a / conv_b → add (variadic) → y."""
    g = nb.Graph("residual")
    x = g.add("Input", "x", (0, 0), shape=(8, 16, 16))
    a = g.add("Conv2d", "conv_a", (300, -100), out_channels=8, kernel_size=3, padding=1)
    b = g.add("Conv2d", "conv_b", (300, 100), out_channels=8, kernel_size=1)
    add = g.add("Add", "add", (600, 0))
    out = g.add("Output", "y", (900, 0))
    g.connect(x, a)
    g.connect(x, b)
    g.connect(a, add)
    g.connect(b, add)
    g.connect(add, out)
    return g


# --- gestures ------------------------------------------------------------------------------------

def to_viewport(view, scene_pt: QPointF) -> QPoint:
    return view.mapFromScene(scene_pt)


def port_point(view, node_id: str, is_input: bool, index: int = 0) -> QPoint:
    """Viewport position of a node's port slot (inputs on the left, outputs on the right)."""
    item = view.graph_scene().node_items[node_id]
    slot = (item.in_slots if is_input else item.out_slots)[index]
    return to_viewport(view, slot.scenePos())


def node_point(view, node_id: str, dx: float = 60.0, dy: float = 40.0) -> QPoint:
    """A point on a node's body (not on a port)."""
    item = view.graph_scene().node_items[node_id]
    return to_viewport(view, item.scenePos() + QPointF(dx, dy))


def drag(view, start: QPoint, end: QPoint, steps: int = 6, button=Qt.MouseButton.LeftButton,
         modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    """A real mouse drag on the viewport: press, a few moves, release."""
    vp = view.viewport()
    QTest.mousePress(vp, button, modifiers, start)
    for i in range(1, steps + 1):
        x = start.x() + (end.x() - start.x()) * i / steps
        y = start.y() + (end.y() - start.y()) * i / steps
        QTest.mouseMove(vp, QPoint(round(x), round(y)))
    QTest.mouseRelease(vp, button, modifiers, end)


def drop_mime(view, mime: QMimeData, viewport_pos: QPoint) -> bool:
    """What a drag from another widget delivers: enter, move, then drop, on the viewport.

    (QDrag.exec cannot be driven offscreen; the palette's mimeData is tested on its side.) Qt
    delivers a drop only to a widget that accepted the drag's enter, as in a real drag."""
    at = QPointF(viewport_pos)
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier)
    vp = view.viewport()
    # QDragEnterEvent/QDragMoveEvent take an integer QPoint (QDropEvent a QPointF).
    enter = QDragEnterEvent(at.toPoint(), *args)
    QApplication.sendEvent(vp, enter)
    if not enter.isAccepted():
        QApplication.sendEvent(vp, QDragLeaveEvent())
        return False
    QApplication.sendEvent(vp, QDragMoveEvent(at.toPoint(), *args))
    drop = QDropEvent(at, *args)
    QApplication.sendEvent(vp, drop)
    return drop.isAccepted()


def drop_layer(view, type_name: str, viewport_pos: QPoint) -> bool:
    """Drop a layer type as the palette's drag carries it (its MIME type, the name in UTF-8)."""
    from netbuilder.ui.canvas import LAYER_MIME

    mime = QMimeData()
    mime.setData(LAYER_MIME, type_name.encode("utf-8"))
    return drop_mime(view, mime, viewport_pos)


def save_shot(widget, name: str) -> Path:
    """Save a screenshot for people to look at (not asserted)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    widget.grab().save(str(path))
    return path
