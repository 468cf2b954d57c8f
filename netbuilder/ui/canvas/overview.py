"""Level of detail for a zoomed-out canvas: one item draws every node as a category-coloured
box (with its name at "low" detail) and every wire as a line, in a few batched calls.

NOTE: while it is on, the node, port and wire items keep their geometry, selection and
mouse handling but carry ``ItemHasNoContents``, so Qt skips their (Python) paint calls. That
keeps a 1,000-node overview at a few milliseconds per frame, where painting each item itself
costs more than a frame's budget. The batched geometry is rebuilt only after a change.
"""
from __future__ import annotations

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QStaticText
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

from . import style
from .node_item import metrics


class OverviewItem(QGraphicsItem):
    def __init__(self, graph_scene) -> None:
        super().__init__()
        self.graph_scene = graph_scene
        self.setZValue(4)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setAcceptHoverEvents(False)
        self._dirty = True
        self._boxes: dict[str, list[QRectF]] = {}
        self._lines: list[QLineF] = []
        self._titles: list[tuple[QPointF, QStaticText]] = []
        self._title_cache: dict[str, tuple] = {}
        self.last_lod: str | None = None  # what the last paint drew (for tests)

    def mark_dirty(self) -> None:
        self._dirty = True
        if self.isVisible():
            self.update()

    def _rebuild(self) -> None:
        scene = self.graph_scene
        boxes: dict[str, list[QRectF]] = {}
        titles = []
        fm = metrics("lod")
        for item in scene.node_items.values():
            r = QRectF(item.pos().x(), item.pos().y(), item.width(), item.height())
            boxes.setdefault(item.category, []).append(r)
            static, size = self._title(item.name, fm, r.width() - 16)
            titles.append((QPointF(r.center().x() - size.width() / 2,
                                   r.center().y() - size.height() / 2), static))
        lines = []
        for wire in scene.wire_items.values():
            # the wire's own route: a wire running down beside the nodes stays beside them
            pts = wire.corners()
            lines += [QLineF(p, q) for p, q in zip(pts, pts[1:])]
        self._boxes, self._lines, self._titles = boxes, lines, titles
        self._dirty = False

    def _title(self, name: str, fm, width: float):
        """A prepared title per name, kept across rebuilds (preparing text is the slow part)."""
        hit = self._title_cache.get(name)
        if hit is None:
            static = QStaticText(fm.elidedText(name, Qt.TextElideMode.ElideRight, width))
            static.setTextFormat(Qt.TextFormat.PlainText)
            static.prepare(font=style.font("lod"))
            hit = self._title_cache[name] = (static, static.size())
        return hit

    def boundingRect(self) -> QRectF:
        # The whole canvas: the map is repainted wherever the view looks, and a change never
        # needs a geometry update (or a rebuild just to know the new bounds).
        return self.graph_scene.sceneRect()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        if self._dirty:
            self._rebuild()
        scale = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
        lod = style.lod_name(scale)
        self.last_lod = lod
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        pen = QPen(style.colour("wire"), 1.0)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.drawLines(self._lines)
        painter.setPen(Qt.PenStyle.NoPen)
        for category, rects in self._boxes.items():
            painter.setBrush(style.category_colour(category))
            painter.drawRects(rects)
        if lod == "low":
            painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
            painter.setFont(style.font("lod"))
            painter.setPen(style.colour("title_text"))
            for at, text in self._titles:
                painter.drawStaticText(at, text)
        self._paint_marks(painter)

    def _paint_marks(self, painter: QPainter) -> None:
        """Errors and the selection stay visible however far out the view is."""
        errors, selected = [], []
        for item in self.graph_scene.node_items.values():
            if item.has_error or item.isSelected():
                r = QRectF(item.pos().x(), item.pos().y(), item.width(), item.height())
                (selected if item.isSelected() else errors).append(r)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for rects, colour in ((errors, style.colour("error")),
                              (selected, style.colour("selection"))):
            if rects:
                pen = QPen(QColor(colour), 2.5)
                pen.setCosmetic(True)
                painter.setPen(pen)
                painter.drawRects(rects)
