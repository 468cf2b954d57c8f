"""Rubber-band selection: drag on empty canvas to select the nodes the rectangle touches
(Shift or Ctrl adds to the selection)."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem

from . import style


class RubberBand:
    def __init__(self, view, scene_pos: QPointF, extend: bool) -> None:
        self.view = view
        self.scene = view.graph_scene()
        self.origin = scene_pos
        self.before = set(self.scene.selected_ids()) if extend else set()
        if not extend:
            self.scene.select([])
        self.rect = QGraphicsRectItem()
        colour = QColor(style.colour("rubber_band"))
        pen = QPen(colour, 1.0)
        pen.setCosmetic(True)
        self.rect.setPen(pen)
        colour.setAlpha(40)
        self.rect.setBrush(colour)
        self.rect.setZValue(10)
        self.rect.setVisible(False)
        self.scene.addItem(self.rect)

    def _area(self, scene_pos: QPointF) -> QRectF:
        return QRectF(self.origin, scene_pos).normalized()

    def move(self, scene_pos: QPointF, _viewport_pos=None) -> None:
        self.rect.setRect(self._area(scene_pos))
        self.rect.setVisible(True)
        self._select(scene_pos)

    def _select(self, scene_pos: QPointF) -> None:
        area = self._area(scene_pos)
        hit = {nid for nid, item in self.scene.node_items.items()
               if area.intersects(item.sceneBoundingRect().adjusted(8, 8, -8, -6))}
        ids = [nid for nid in self.scene.node_items if nid in hit | self.before]
        if ids != self.scene.selected_ids():
            self.scene.select(ids)

    def finish(self, scene_pos: QPointF, _viewport_pos) -> None:
        if self.rect.isVisible():
            self._select(scene_pos)
        self.cancel()

    def cancel(self) -> None:
        self.scene.removeItem(self.rect)


