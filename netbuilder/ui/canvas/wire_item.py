"""A wire: a cubic curve from an output port to an input port, labelled with the shape of the
tensor that flows through it. Red when the node it feeds cannot take that shape."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

from ...graph import fmt_shape
from . import style
from .node_item import metrics


def curve(a: QPointF, b: QPointF) -> QPainterPath:
    """The S-curve between two ports; wires that run backwards loop out wider."""
    dx = b.x() - a.x()
    reach = max(40.0, abs(dx) * 0.5) if dx >= 0 else 60.0 + min(200.0, abs(dx) * 0.25 +
                                                                 abs(b.y() - a.y()) * 0.15)
    path = QPainterPath(a)
    path.cubicTo(QPointF(a.x() + reach, a.y()), QPointF(b.x() - reach, b.y()), b)
    return path


class WireItem(QGraphicsItem):
    def __init__(self, graph_scene, edge) -> None:
        super().__init__()
        self.graph_scene = graph_scene
        self.edge = edge
        self.shape_value: tuple | None = None
        self.label = ""
        self.error: str | None = None
        self._path = QPainterPath()
        self._label_rect = QRectF()
        self._bounds = QRectF()
        self._hit = QPainterPath()
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setZValue(0)
        self.setAcceptHoverEvents(True)
        self._hovered = False

    def set_overview(self, on: bool) -> None:
        """The overview draws this wire (see overview.py)."""
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, on)

    @property
    def key(self) -> tuple:
        return self.edge.key

    def src_item(self):
        return self.graph_scene.node_items.get(self.edge.src)

    def dst_item(self):
        return self.graph_scene.node_items.get(self.edge.dst)

    def set_shape(self, shape: tuple | None, error: str | None, batch: str = "N") -> None:
        label = fmt_shape(shape, batch) if shape is not None else ""
        if label == self.label and error == self.error:
            return
        self.shape_value = shape
        self.label = label
        self.error = error
        self.setToolTip(error or (f"{label}" if label else "shape unknown"))
        self.update_path()

    def update_path(self) -> None:
        src, dst = self.src_item(), self.dst_item()
        if src is None or dst is None:
            return
        a_slot = src.slot_for(self.edge.key, is_input=False)
        b_slot = dst.slot_for(self.edge.key, is_input=True)
        if a_slot is None or b_slot is None:
            return
        self.prepareGeometryChange()
        self._path = curve(a_slot.anchor(), b_slot.anchor())
        self._bounds = self._path.boundingRect().adjusted(-4, -4, 4, 4)
        stroker = QPainterPathStroker()
        stroker.setWidth(10.0)
        self._hit = stroker.createStroke(self._path)
        if self.label:
            fm = metrics("mono")
            w = fm.horizontalAdvance(self.label) + 12
            h = fm.height() + 4
            mid = self._path.pointAtPercent(0.5)
            room = abs(self._path.currentPosition().x() - self._path.elementAt(0).x)
            # A short wire carries its label above itself, clear of the ports at its ends.
            dy = -h / 2 if room >= w + 36 else -h - 5
            self._label_rect = QRectF(mid.x() - w / 2, mid.y() + dy, w, h)
            self._bounds = self._bounds.united(self._label_rect.adjusted(-2, -2, 2, 2))
        else:
            self._label_rect = QRectF()
        self.update()

    def path(self) -> QPainterPath:
        """The curve in scene coordinates."""
        return QPainterPath(self._path)

    def label_rect(self) -> QRectF:
        return QRectF(self._label_rect)

    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        return self._hit

    def hoverEnterEvent(self, event) -> None:
        self._hovered = True
        self.update()

    def hoverLeaveEvent(self, event) -> None:
        self._hovered = False
        self.update()

    def _colour(self) -> tuple[QColor, float]:
        if self.error:
            return style.colour("error"), 2.2
        if self.isSelected():
            return style.colour("wire_selected"), 2.6
        src, dst = self.src_item(), self.dst_item()
        if self._hovered or (src is not None and src.isSelected()) or (
                dst is not None and dst.isSelected()):
            c = QColor(style.colour("wire_selected"))
            c.setAlpha(200 if self._hovered else 170)
            return c, 2.0
        return style.colour("wire"), 1.6

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        scale = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
        colour, width = self._colour()
        pen = QPen(colour, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
        if self.shape_value is None and not self.error:
            pen.setStyle(Qt.PenStyle.DashLine)
        if scale < style.LOD_LOW:
            pen.setCosmetic(True)
            pen.setWidthF(max(1.0, width * 0.75))
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)
        if scale >= style.LOD_LOW and self.label:
            self._paint_label(painter)

    def _paint_label(self, painter: QPainter) -> None:
        rect = self._label_rect
        border = style.colour("error") if self.error else style.colour("wire_label_border")
        painter.setPen(QPen(border, 1.0))
        painter.setBrush(style.colour("wire_label_bg"))
        painter.drawRoundedRect(rect, rect.height() / 2, rect.height() / 2)
        painter.setFont(style.font("mono"))
        painter.setPen(style.colour("error") if self.error else style.colour("wire_label_text"))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, self.label)
