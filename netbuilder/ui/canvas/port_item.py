"""A port on a node's side: inputs on the left, outputs on the right.

A variadic input (Add, Concat) shows one slot per connected wire, in order, and a "+" slot
for the next one, so the order of the merged inputs is visible and a new wire has a place."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

from . import style

_BOUNDS = QRectF(-style.PORT_HIT_RADIUS, -style.PORT_HIT_RADIUS, 2 * style.PORT_HIT_RADIUS,
                 2 * style.PORT_HIT_RADIUS)
_SHAPE = QPainterPath()
_SHAPE.addEllipse(_BOUNDS)


class PortItem(QGraphicsItem):
    """One slot of a port. ``edge_key`` is the wire in this slot (None: free)."""

    def __init__(self, node_item, name: str, is_input: bool, variadic: bool = False,
                 edge_key: tuple | None = None, plus: bool = False, label: str = "",
                 no_contents: bool = False) -> None:
        super().__init__(node_item)
        if no_contents:  # the overview draws the map (see overview.py)
            self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, True)
        self.node_item = node_item
        self.name = name
        self.is_input = is_input
        self.variadic = variadic
        self.edge_key = edge_key
        self.plus = plus
        self.label = label
        self.connected = False
        self.drop_state: str | None = None  # None | "valid" | "hover" (during a wire drag)
        self.setAcceptHoverEvents(True)
        self._hovered = False
        self.setZValue(2)
        self.setCursor(Qt.CursorShape.CrossCursor)

    @property
    def node_id(self) -> str:
        return self.node_item.node_id

    def anchor(self) -> QPointF:
        """Where wires attach, in scene coordinates."""
        return self.scenePos()

    def boundingRect(self) -> QRectF:
        return _BOUNDS

    def shape(self) -> QPainterPath:
        return _SHAPE

    def set_drop_state(self, state: str | None) -> None:
        if state != self.drop_state:
            self.drop_state = state
            self.update()

    def hoverEnterEvent(self, event) -> None:
        self._hovered = True
        self.update()

    def hoverLeaveEvent(self, event) -> None:
        self._hovered = False
        self.update()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        lod = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
        if lod < style.LOD_LOW:
            return
        r = style.PORT_RADIUS
        border = style.colour("port_border")
        fill = style.colour("port")
        if self.connected:
            fill = style.colour("port_connected")
            border = style.colour("port_connected")
        width = 1.4
        if self.drop_state is not None:
            border = style.colour("port_valid")
            width = 2.2
            if self.drop_state == "hover":
                fill = style.colour("port_valid")
                r += 1.5
        elif self._hovered:
            border = style.colour("port_hover")
            width = 2.0
        if self.drop_state is not None:
            halo = style.colour("port_valid").lighter(100)
            halo.setAlpha(60)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(halo)
            painter.drawEllipse(QPointF(0, 0), r + 4, r + 4)
        painter.setPen(QPen(border, width))
        painter.setBrush(QBrush(fill))
        painter.drawEllipse(QPointF(0, 0), r, r)
        if self.plus:
            painter.setPen(QPen(border, 1.3))
            painter.drawLine(QPointF(-2.5, 0), QPointF(2.5, 0))
            painter.drawLine(QPointF(0, -2.5), QPointF(0, 2.5))
