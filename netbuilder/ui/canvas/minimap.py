"""The minimap: a small overview of the whole graph in the canvas's corner, with the visible
area framed. Click or drag in it to move the view there. Toggle with M.

NOTE: it never covers a node: it takes the first corner of the canvas (bottom right, bottom
left, top right, top left) that no node shows under, and steps out of sight while none is
free. ``wanted`` is the person's choice (M, the View menu); visibility follows the corners."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QWidget

from . import style
from .node_item import NodeItem

WIDTH, HEIGHT, MARGIN = 180, 112, 12


class Minimap(QWidget):
    def __init__(self, view) -> None:
        super().__init__(view)
        self.view = view
        self.setObjectName("minimap")
        self.resize(WIDTH, HEIGHT)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(30)  # coalesce the many scene changes of one gesture
        self._timer.timeout.connect(self._refresh)
        self._mapping: tuple[QRectF, float, QPointF] | None = None
        self.wanted = True

    def corners(self) -> list[QRect]:
        """Where it may go, in the view's coordinates, best first: at most a fifth of the
        canvas wide."""
        vp = self.view.viewport().geometry()
        w = int(min(WIDTH, max(120, vp.width() * 0.2)))
        h = int(w * HEIGHT / WIDTH)
        left, right = vp.left() + MARGIN, vp.right() - w - MARGIN + 1
        top, bottom = vp.top() + MARGIN + self.view.breadcrumb_bar.height(), \
            vp.bottom() - h - MARGIN + 1
        return [QRect(x, y, w, h) for x, y in ((right, bottom), (left, bottom), (right, top),
                                               (left, top))]

    def place(self) -> None:
        """Into the first corner no node shows under; out of sight while none is free."""
        free = [c for c in self.corners() if not self._covers_a_node(c)]
        if free:
            self.setGeometry(free[0])
            self.raise_()
        self.setVisible(self.wanted and bool(free))

    def _covers_a_node(self, rect: QRect) -> bool:
        """Whether a node shows under ``rect`` (view coordinates), with a little room."""
        vp = self.view.viewport()
        inside = QRect(vp.mapFrom(self.view, rect.topLeft()), rect.size()).adjusted(-6, -6, 6, 6)
        return any(isinstance(item, NodeItem) for item in self.view.items(inside))

    def set_wanted(self, wanted: bool) -> None:
        self.wanted = wanted
        self.place()

    def schedule_update(self, *_args) -> None:
        if self.wanted and not self._timer.isActive():
            self._timer.start()

    def _refresh(self) -> None:
        self.place()
        if self.isVisible():
            self.update()

    def _world(self) -> tuple[QRectF, QRectF]:
        """(area to show, visible area), both in scene coordinates."""
        scene = self.view.graph_scene()
        nodes = scene.nodes_rect() if scene is not None else QRectF()
        visible = self.view.mapToScene(self.view.viewport().rect()).boundingRect()
        world = nodes.adjusted(-80, -80, 80, 80) if not nodes.isNull() else QRectF(visible)
        return world.united(visible), visible

    def _map(self, world: QRectF) -> tuple[float, QPointF]:
        inner = QRectF(self.rect()).adjusted(6, 6, -6, -6)
        scale = min(inner.width() / max(world.width(), 1), inner.height() / max(world.height(), 1))
        offset = QPointF(inner.center().x() - world.center().x() * scale,
                         inner.center().y() - world.center().y() * scale)
        return scale, offset

    def paintEvent(self, event) -> None:
        scene = self.view.graph_scene()
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(QPen(style.colour("overlay_border"), 1.0))
        p.setBrush(style.colour("overlay_bg"))
        p.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 6, 6)
        if scene is None:
            return
        world, visible = self._world()
        scale, offset = self._map(world)
        self._mapping = (world, scale, offset)
        p.setPen(Qt.PenStyle.NoPen)
        groups: dict[str, list[QRectF]] = {}
        for item in scene.node_items.values():
            x = item.pos().x() * scale + offset.x()
            y = item.pos().y() * scale + offset.y()
            key = "!error" if item.has_error else item.category
            groups.setdefault(key, []).append(QRectF(x, y, max(2.0, item.width() * scale),
                                                     max(1.5, item.height() * scale)))
        for key, rects in groups.items():
            p.setBrush(style.colour("error") if key == "!error" else style.category_colour(key))
            p.drawRects(rects)
        frame = QRectF(visible.x() * scale + offset.x(), visible.y() * scale + offset.y(),
                       visible.width() * scale, visible.height() * scale)
        sel = QColor(style.colour("selection"))
        p.setPen(QPen(sel, 1.2))
        sel.setAlpha(18)
        p.setBrush(sel)
        p.drawRect(frame.intersected(QRectF(self.rect()).adjusted(1, 1, -1, -1)))

    def _centre_at(self, pos: QPointF) -> None:
        if self._mapping is None:
            return
        _world, scale, offset = self._mapping
        self.view.centerOn(QPointF((pos.x() - offset.x()) / scale, (pos.y() - offset.y()) / scale))
        self.update()

    def mousePressEvent(self, event) -> None:
        self._centre_at(event.position())
        event.accept()

    def mouseMoveEvent(self, event) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._centre_at(event.position())
        event.accept()
