"""A node on the canvas: category-coloured header with name and type, the key parameters, the
output shape and the parameter count; ports on the sides. It draws what the graph and the
analysis say and keeps nothing else."""
from __future__ import annotations

from functools import cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QPen,
    QTransform,
)
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

from . import node_text, style
from .port_item import PortItem

ACTIVITY_HEIGHT = 20.0
MIN_TYPE_ROOM = 48.0  # a type label narrower than this would be a stub: leave it out


@cache
def metrics(role: str) -> QFontMetricsF:
    return QFontMetricsF(style.font(role))


@cache
def _header_path() -> QPainterPath:
    """The header band: rounded top corners, square bottom."""
    path = QPainterPath()
    h, r, w = style.HEADER_HEIGHT, style.CORNER, style.NODE_WIDTH
    path.moveTo(0, h)
    path.lineTo(0, r)
    path.arcTo(QRectF(0, 0, 2 * r, 2 * r), 180, -90)
    path.lineTo(w - r, 0)
    path.arcTo(QRectF(w - 2 * r, 0, 2 * r, 2 * r), 90, -90)
    path.lineTo(w, h)
    path.closeSubpath()
    return path


class NodeItem(QGraphicsItem):
    def __init__(self, graph_scene, node_id: str, defer: bool = False) -> None:
        super().__init__()
        self.graph_scene = graph_scene
        self.node_id = node_id
        self.info = None  # NodeInfo from the latest analysis
        self.frozen = False  # its parameters stay fixed in training (its own or a block's)
        self.problems: list[tuple[str, str]] = []  # (severity, message) about this node
        self.wires: set = set()
        self.in_slots: list[PortItem] = []
        self.out_slots: list[PortItem] = []
        self.last_lod = None  # what the last paint drew ("full", "low", "tiny"): for tests
        self._slot_signature = None
        self._height = 60.0
        self._hovered = False
        self._lines: list[tuple[str, str]] = []  # (role, text)
        self._text_cache: list[tuple] | None = None
        # NOTE: no itemChange override: Qt would call into Python for every change of every
        # item (thousands while a big graph opens). Wires follow moves via the scene instead.
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable |
                      QGraphicsItem.GraphicsItemFlag.ItemIsMovable)
        self.setAcceptHoverEvents(True)
        self.setZValue(1)
        self.setPos(QPointF(*self.node.pos))
        if graph_scene.overview_active:
            self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents, True)
        if not defer:
            self.refresh()

    # --- model ----------------------------------------------------------------------------------

    @property
    def graph(self):
        return self.graph_scene.graph

    @property
    def node(self):
        return self.graph.node(self.node_id)

    def height(self) -> float:
        return self._height

    def width(self) -> float:
        return style.NODE_WIDTH

    def set_info(self, info, problems: list[tuple[str, str]]) -> None:
        if info is self.info and problems == self.problems:
            return
        self.info = info
        self.problems = problems
        self.refresh()

    @property
    def has_error(self) -> bool:
        return any(sev == "error" for sev, _ in self.problems)

    @property
    def has_warning(self) -> bool:
        return any(sev == "warning" for sev, _ in self.problems)

    def refresh(self) -> None:
        """Re-read the node (name, parameters, wires) and the analysis; re-lay out."""
        node = self.node
        self.name = node.name
        self.type_name = node.type
        self.category = node.spec.category
        summary = node_text.param_summary(node)
        reg = node_text.regularization(node)
        lines: list[tuple[str, str]] = []
        if node.is_input:
            summary = "" if node.params["dtype"] == "float32" else node.params["dtype"]
        if summary or reg:
            lines.append(("body", " ".join(t for t in (summary, reg) if t)))
        if node.shares is not None and node.shares in self.graph:
            lines.append(("body", node_text.sharing(self.graph.node(node.shares))))
        lines.append(("mono", node_text.shape_text(self.info)))
        self.frozen = self.graph.is_frozen(self.node_id)
        params = node_text.params_text(self.info, self.frozen)
        if params:
            lines.append(("small", params))
        self._lines = lines
        self._text_cache = None
        self._layout_ports()
        self.setToolTip(node_text.tooltip(node, self.info, self.problems, self.frozen))
        self.update()

    def _layout_ports(self) -> None:
        g, nid = self.graph, self.node_id
        in_ports, out_ports = g.input_ports(nid), g.output_ports(nid)
        in_edges = g.in_edges(nid)
        outs_used = {e.src_port for e in g.out_edges(nid)}
        block = self.node.inner is not None
        labelled_in = block or len(in_ports) > 1
        labelled_out = block or len(out_ports) > 1
        ins: list[tuple] = []
        for p in in_ports:
            mine = [e for e in in_edges if e.dst_port == p.name]
            label = self._port_label(p) if labelled_in else ""
            if p.variadic:
                ins += [(p.name, True, e.key, False, label if i == 0 else "")
                        for i, e in enumerate(mine)]
                ins.append((p.name, True, None, True, "" if mine else label))
            else:
                ins.append((p.name, False, mine[0].key if mine else None, False, label))
        outs = [(p.name, p.name in outs_used, self._port_label(p) if labelled_out else "")
                for p in out_ports]
        signature = (tuple(ins), tuple(outs), len(self._lines), self._activity() is not None)
        if signature == self._slot_signature:
            return
        self._slot_signature = signature
        self.prepareGeometryChange()
        text_bottom = style.HEADER_HEIGHT + style.BODY_PAD + len(self._lines) * style.LINE_HEIGHT
        if labelled_in or labelled_out:
            first = text_bottom + 4 + style.PORT_ROW / 2
        else:
            first = style.PORT_FIRST_Y
        for item in self.in_slots + self.out_slots:
            item.setParentItem(None)
            if item.scene() is not None:
                item.scene().removeItem(item)
        self.in_slots, self.out_slots = [], []
        overview = self.graph_scene.overview_active
        for i, (name, variadic, key, plus, label) in enumerate(ins):
            port = PortItem(self, name, True, variadic, key, plus, label, overview)
            port.connected = key is not None
            port.setPos(0.0, first + i * style.PORT_ROW)
            self.in_slots.append(port)
        for i, (name, used, label) in enumerate(outs):
            port = PortItem(self, name, False, label=label, no_contents=overview)
            port.connected = used
            port.setPos(style.NODE_WIDTH, first + i * style.PORT_ROW)
            self.out_slots.append(port)
        rows = max(len(ins), len(outs), 1)
        ports_bottom = first + (rows - 1) * style.PORT_ROW + style.PORT_ROW / 2 + 3
        height = max(text_bottom + style.BODY_PAD, ports_bottom)
        if self._activity() is not None:
            height += ACTIVITY_HEIGHT
        self._height = height
        for w in self.wires:
            w.update_path()

    def _port_label(self, port) -> str:
        """A block's own ports are its inner Input/Output nodes: show their names."""
        inner = self.node.inner
        if inner is not None and port.name in inner:
            return port.doc or port.name
        return port.name

    def slot_for(self, edge_key: tuple, is_input: bool) -> PortItem | None:
        if is_input:
            for s in self.in_slots:
                if s.edge_key == edge_key:
                    return s
            return None
        for s in self.out_slots:
            if s.name == edge_key[1]:
                return s
        return None

    def _activity(self) -> dict | None:
        return self.graph_scene.activity.get(self.node_id)

    # --- Qt -------------------------------------------------------------------------------------

    def boundingRect(self) -> QRectF:
        return QRectF(-8.0, -8.0, style.NODE_WIDTH + 16.0, self._height + 14.0)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(self._rect(), style.CORNER, style.CORNER)
        return path

    def _rect(self) -> QRectF:
        return QRectF(0.0, 0.0, style.NODE_WIDTH, self._height)

    def set_overview(self, on: bool) -> None:
        """The overview draws this node (see overview.py): stop painting it and its ports."""
        flag = QGraphicsItem.GraphicsItemFlag.ItemHasNoContents
        self.setFlag(flag, on)
        for port in self.in_slots + self.out_slots:
            port.setFlag(flag, on)

    def hoverEnterEvent(self, event) -> None:
        self._hovered = True
        self.update()

    def hoverLeaveEvent(self, event) -> None:
        self._hovered = False
        self.update()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        scale = QStyleOptionGraphicsItem.levelOfDetailFromTransform(painter.worldTransform())
        lod = style.lod_name(scale)
        self.last_lod = lod
        rect = self._rect()
        cat = style.category_colour(self.category)
        if lod != "full":
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(cat)
            painter.drawRoundedRect(rect, style.CORNER, style.CORNER)
            if lod == "low":
                painter.setFont(style.font("lod"))
                painter.setPen(style.colour("title_text"))
                text = metrics("lod").elidedText(self.name, Qt.TextElideMode.ElideRight,
                                                 rect.width() - 16)
                painter.drawText(rect.adjusted(8, 0, -8, 0), Qt.AlignmentFlag.AlignCenter, text)
            self._paint_outline(painter, rect, cosmetic=True)
            return
        if self.isSelected():
            self._paint_shadow(painter, rect)
        painter.setPen(QPen(style.colour("node_border"), 1.0))
        painter.setBrush(style.colour("node_body"))
        painter.drawRoundedRect(rect, style.CORNER, style.CORNER)
        self._paint_header(painter, rect, cat)
        self._paint_port_labels(painter)
        activity = self._activity()
        if activity is not None:
            self._paint_activity(painter, rect, activity)
        self._paint_outline(painter, rect, cosmetic=False)
        if self.frozen:
            self._paint_frozen_badge(painter, rect)

    def _paint_frozen_badge(self, painter: QPainter, rect: QRectF) -> None:
        """A snowflake on the top-left corner: the node is frozen."""
        centre = QPointF(rect.left() + 1, rect.top() + 1)
        painter.setPen(QPen(style.colour("node_body"), 1.5))
        painter.setBrush(QBrush(style.colour("frozen")))
        painter.drawEllipse(centre, 8.0, 8.0)
        pen = QPen(QColor("#ffffff"), 1.4, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        for i in range(3):  # three strokes through the centre: a six-armed flake
            t = QTransform().rotate(60 * i)
            a, b = t.map(QPointF(0, -5)), t.map(QPointF(0, 5))
            painter.drawLine(centre + a, centre + b)

    def _paint_shadow(self, painter: QPainter, rect: QRectF) -> None:
        shadow = QColor(style.colour("node_shadow"))
        painter.setPen(Qt.PenStyle.NoPen)
        # Only the selection is lifted: translucent fills cost ~0.3 ms a node, too much for
        # hundreds of nodes on screen.
        shadow.setAlpha(70)
        painter.setBrush(shadow)
        painter.drawRoundedRect(rect.translated(0, 3), style.CORNER + 1, style.CORNER + 1)

    def _paint_header(self, painter: QPainter, rect: QRectF, cat: QColor) -> None:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(cat)
        painter.drawPath(_header_path())
        self._paint_texts(painter)

    def _texts(self) -> list[tuple]:
        """(font role, colour key, rect, alignment, text) of every line: elided once per
        change, not on every paint."""
        if self._text_cache is not None:
            return self._text_cache
        w, h = style.NODE_WIDTH, style.HEADER_HEIGHT
        left = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft
        right = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight
        out = []
        # NOTE: the name comes first (it is what wires, code and problems call the node); the
        # type takes the room the name leaves and is left out when that would show only a
        # stub ("Ada…"): the category colour and the tooltip still tell it.
        avail = w - 20
        type_room = 0.0
        if self.type_name != self.name:
            # (2 px of slack: elidedText cuts a text given exactly its own advance)
            left_over = avail - 10 - metrics("title").horizontalAdvance(self.name)
            type_room = min(metrics("type").horizontalAdvance(self.type_name), left_over)
            if type_room < MIN_TYPE_ROOM and left_over < \
                    metrics("type").horizontalAdvance(self.type_name):
                type_room = 0.0
        room = avail - (type_room + 8 if type_room else 0)
        name = metrics("title").elidedText(self.name, Qt.TextElideMode.ElideRight, room)
        out.append(("title", "title_text", QRectF(10, 0, room, h), left, name))
        if type_room:
            kind = metrics("type").elidedText(self.type_name, Qt.TextElideMode.ElideRight,
                                              type_room + 1)
            out.append(("type", "title_muted", QRectF(10, 0, w - 20, h), right, kind))
        y = h + style.BODY_PAD
        colours = {"body": "text", "mono": "shape_text",
                   "small": "frozen_text" if self.frozen else "muted"}
        for role, text in self._lines:
            key = "error" if role == "mono" and self.has_error else colours[role]
            shown = metrics(role).elidedText(text, Qt.TextElideMode.ElideRight, w - 24)
            out.append((role, key, QRectF(12, y, w - 24, style.LINE_HEIGHT), left, shown))
            y += style.LINE_HEIGHT
        self._text_cache = out
        return out

    def _paint_texts(self, painter: QPainter) -> None:
        role_now = None
        for role, key, rect, align, text in self._texts():
            if role != role_now:
                painter.setFont(style.font(role))
                role_now = role
            painter.setPen(style.colour(key))
            painter.drawText(rect, align, text)

    def _paint_port_labels(self, painter: QPainter) -> None:
        painter.setFont(style.font("small"))
        painter.setPen(style.colour("muted"))
        half = style.NODE_WIDTH / 2 - 14
        for port in self.in_slots:
            if port.label:
                painter.drawText(QRectF(12, port.y() - 8, half, 16), Qt.AlignmentFlag.AlignVCenter,
                                 port.label)
        for port in self.out_slots:
            if port.label:
                painter.drawText(QRectF(style.NODE_WIDTH - 12 - half, port.y() - 8, half, 16),
                                 Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                                 port.label)

    def _paint_activity(self, painter: QPainter, rect: QRectF, activity: dict) -> None:
        parts = []
        if activity.get("mean") is not None:
            parts.append(f"μ {activity['mean']:.3g}")
        if activity.get("dead") is not None:
            parts.append(f"dead {activity['dead'] * 100:.0f}%")
        text = "  ·  ".join(parts) or "active"
        box = QRectF(8, rect.height() - ACTIVITY_HEIGHT + 1, rect.width() - 16,
                     ACTIVITY_HEIGHT - 5)
        dead = activity.get("dead") or 0.0
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(style.colour("badge_bg"))
        painter.drawRoundedRect(box, 4, 4)
        painter.setFont(style.font("badge"))
        painter.setPen(style.colour("warning") if dead >= 0.5 else style.colour("badge_text"))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_outline(self, painter: QPainter, rect: QRectF, cosmetic: bool) -> None:
        pens = []
        if self.has_error:
            pens.append((style.colour("error"), 2.0, 0.0))
        elif self.has_warning:
            pens.append((style.colour("warning"), 1.5, 0.0))
        if self.isSelected():
            pens.append((style.colour("selection"), 2.0, 3.0 if pens else 0.0))
        elif self._hovered and not pens:
            c = QColor(style.colour("selection"))
            c.setAlpha(120)
            pens.append((c, 1.5, 0.0))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for colour, width, grow in pens:
            pen = QPen(colour, width)
            pen.setCosmetic(cosmetic)
            painter.setPen(pen)
            painter.drawRoundedRect(rect.adjusted(-grow, -grow, grow, grow),
                                    style.CORNER + grow, style.CORNER + grow)
        if self.has_error:
            self._paint_error_badge(painter, rect)

    def _paint_error_badge(self, painter: QPainter, rect: QRectF) -> None:
        centre = QPointF(rect.width() - 1, 1)
        painter.setPen(QPen(style.colour("node_body"), 1.5))
        painter.setBrush(QBrush(style.colour("error")))
        painter.drawEllipse(centre, 7.5, 7.5)
        painter.setPen(QPen(QColor("#ffffff"), 2.0, Qt.PenStyle.SolidLine,
                            Qt.PenCapStyle.RoundCap))
        painter.drawLine(centre + QPointF(0, -3.5), centre + QPointF(0, 1))
        painter.drawPoint(centre + QPointF(0, 3.6))
