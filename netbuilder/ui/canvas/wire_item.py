"""A wire: a cubic curve from an output port to an input port, labelled with the shape of the
tensor that flows through it. Red when the node it feeds cannot take that shape."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

from ...graph import fmt_shape
from . import style
from .node_item import metrics


def down_route(a: QPointF, b: QPointF, dst_top: float | None = None,
               src_bottom: float | None = None) -> list[QPointF] | None:
    """The corners of a wire to a node drawn below its source port (``dst_top``: that node's
    top; the top-to-bottom layout): down beside the nodes it passes, across in the gap above
    its target; one that skips nodes (more than a gap below ``src_bottom``) runs further out
    than the wires of the nodes it passes. None for a wire that is not going down."""
    if dst_top is None or dst_top - DOWN_LEG <= a.y() + 12:
        return None
    leg = dst_top - DOWN_LEG
    skips = src_bottom is not None and dst_top - src_bottom > 3 * DOWN_LEG
    side = a.x() + (SKIP_SIDE if skips else SIDE)
    return [a, QPointF(side, a.y()), QPointF(side, leg), QPointF(b.x() - SIDE, leg),
            QPointF(b.x() - SIDE, b.y()), b]


def curve(a: QPointF, b: QPointF, dst_top: float | None = None,
          src_bottom: float | None = None) -> QPainterPath:
    """The wire between two ports: down beside the nodes when its target is below (see
    ``down_route``), else an S-curve; wires that run backwards loop out wider."""
    corners = down_route(a, b, dst_top, src_bottom)
    if corners is not None:
        return rounded(corners)
    dx = b.x() - a.x()
    reach = max(40.0, abs(dx) * 0.5) if dx >= 0 else 60.0 + min(200.0, abs(dx) * 0.25 +
                                                                 abs(b.y() - a.y()) * 0.15)
    path = QPainterPath(a)
    path.cubicTo(QPointF(a.x() + reach, a.y()), QPointF(b.x() - reach, b.y()), b)
    return path


def rounded(points: list[QPointF], radius: float = 10.0) -> QPainterPath:
    """A polyline with its corners rounded."""
    path = QPainterPath(points[0])
    for prev, here, nxt in zip(points, points[1:], points[2:]):
        into, out = here - prev, nxt - here
        r = min(radius, _length(into) / 2, _length(out) / 2)
        path.lineTo(here - into * (r / max(_length(into), 1e-9)))
        path.quadTo(here, here + out * (r / max(_length(out), 1e-9)))
    path.lineTo(points[-1])
    return path


def _length(p: QPointF) -> float:
    return (p.x() ** 2 + p.y() ** 2) ** 0.5


# How far a downward wire steps out beside its nodes, and how far above its target it crosses
# over (the layout leaves 70 px between ranks: the crossing runs mid-gap).
SIDE = 22.0
SKIP_SIDE = 40.0  # the layout's skip wires run this far beside the nodes (WIRE_GAP)
DOWN_LEG = 35.0
# Where along its wire a label may sit, best first: the middle, then out towards the ends.
LABEL_SPOTS = [0.5] + [0.5 + s * k / 20 for k in range(1, 10) for s in (-1, 1)]


class WireItem(QGraphicsItem):
    def __init__(self, graph_scene, edge) -> None:
        super().__init__()
        self.graph_scene = graph_scene
        self.edge = edge
        self.shape_value: tuple | None = None
        self.label = ""
        self.error: str | None = None
        self._path = QPainterPath()
        self._corners: list[QPointF] = []  # the route as straight lines (the overview's)
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
        a, b = a_slot.anchor(), b_slot.anchor()
        self._corners = down_route(a, b, dst.pos().y(), src.pos().y() + src.height()) or [a, b]
        self._path = curve(a, b, dst.pos().y(), src.pos().y() + src.height())
        self._bounds = self._path.boundingRect().adjusted(-4, -4, 4, 4)
        stroker = QPainterPathStroker()
        stroker.setWidth(10.0)
        self._hit = stroker.createStroke(self._path)
        self.place_label()
        self.graph_scene.label_moved(self)
        self.update()

    def place_label(self, blocked=None) -> None:
        """Put the shape label on the wire where ``blocked(rect)`` says nothing is (the
        scene's label pass knows the nodes and the other labels): the middle if free, else
        the nearest free spot; without ``blocked``, the middle."""
        if not self.label:
            self._label_rect = QRectF()
            return
        fm = metrics("mono")
        w, h = fm.horizontalAdvance(self.label) + 12, fm.height() + 4
        first = None
        # on the wire, else just above it (a short wire between close ports)
        for t, dy in [(t, dy) for dy in (-h / 2, -h - 5) for t in LABEL_SPOTS]:
            mid = self._path.pointAtPercent(t)
            rect = QRectF(mid.x() - w / 2, mid.y() + dy, w, h)
            first = first or rect
            if blocked is None or not blocked(rect):
                break
        else:
            rect = first
        if rect != self._label_rect:
            self.prepareGeometryChange()
            self._label_rect = rect
        self._bounds = self._path.boundingRect().adjusted(-4, -4, 4, 4).united(
            rect.adjusted(-2, -2, 2, 2))

    def corners(self) -> list[QPointF]:
        """The route's corners, ends included (the overview draws it as straight lines)."""
        return list(self._corners)

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
