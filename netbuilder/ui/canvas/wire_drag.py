"""Dragging a wire out of a port.

From an output, the inputs that can take it highlight: free (or variadic "+") ports of nodes
that would not close a cycle. From a free input, the outputs that can feed it highlight. From a
connected input the wire is picked up: drop it on another input to re-plug it, or on empty
canvas to pull it off. A new wire dropped on empty canvas opens quick-add there, and the layer
picked is wired to it."""
from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QPen
from PySide6.QtWidgets import QGraphicsPathItem

from ..commands import ConnectCommand, DisconnectCommand, RewireCommand
from . import style
from .node_item import NodeItem
from .port_item import PortItem
from .wire_item import curve


class WireDrag:
    def __init__(self, view, port: PortItem) -> None:
        self.view = view
        self.scene = view.graph_scene()
        g = view.graph
        self.replacing = None
        self._hidden = None
        if port.is_input and port.edge_key is not None:
            wire = self.scene.wire_items[port.edge_key]
            self.replacing = wire.edge
            self._hidden = wire
            wire.setVisible(False)
            self.anchor = self.scene.node_items[wire.edge.src].slot_for(wire.edge.key, False)
            self.from_output = True
        else:
            self.anchor = port
            self.from_output = not port.is_input
        self.valid = self._valid_targets(g)
        for p in self.valid:
            p.set_drop_state("valid")
        self._hover: PortItem | None = None
        self.line = QGraphicsPathItem()
        pen = QPen(style.colour("selection"), 2.0, Qt.PenStyle.DashLine, Qt.PenCapStyle.RoundCap)
        self.line.setPen(pen)
        self.line.setZValue(3)
        self.scene.addItem(self.line)
        self.move(self.anchor.anchor())

    def _valid_targets(self, g) -> list[PortItem]:
        out = []
        keys = set(self.scene.wire_items)
        if self.from_output:
            src, src_port = self.anchor.node_id, self.anchor.name
            blocked = g.ancestors(src) | {src}
            for nid, item in self.scene.node_items.items():
                if nid in blocked:
                    continue
                for slot in item.in_slots:
                    if self.replacing is not None and slot.edge_key == self.replacing.key:
                        out.append(slot)  # putting it back where it was is allowed
                        continue
                    free = slot.plus or (not slot.variadic and slot.edge_key is None)
                    if free and (src, src_port, nid, slot.name) not in keys:
                        out.append(slot)
        else:
            dst, dst_port = self.anchor.node_id, self.anchor.name
            blocked = g.descendants(dst) | {dst}
            for nid, item in self.scene.node_items.items():
                if nid in blocked:
                    continue
                for slot in item.out_slots:
                    if (nid, slot.name, dst, dst_port) not in keys:
                        out.append(slot)
        return out

    def _target_at(self, scene_pos: QPointF) -> PortItem | None:
        """The valid port under the mouse; over a node's body, its first valid port."""
        for item in self.scene.items(scene_pos):
            if isinstance(item, PortItem) and item in self.valid:
                return item
        for item in self.scene.items(scene_pos):
            if isinstance(item, NodeItem):
                slots = [s for s in self.valid if s.node_item is item]
                return slots[-1] if slots and slots[-1].plus else (slots[0] if slots else None)
        return None

    def move(self, scene_pos: QPointF, _viewport_pos=None) -> None:
        target = self._target_at(scene_pos)
        if target is not self._hover:
            if self._hover is not None:
                self._hover.set_drop_state("valid")
            if target is not None:
                target.set_drop_state("hover")
            self._hover = target
        end = target.anchor() if target is not None else scene_pos
        a, b = (self.anchor.anchor(), end) if self.from_output else (end, self.anchor.anchor())
        self.line.setPath(curve(a, b))

    def finish(self, scene_pos: QPointF, viewport_pos) -> None:
        target = self._target_at(scene_pos)
        over_something = any(isinstance(i, (NodeItem, PortItem)) for i in
                             self.scene.items(scene_pos))
        self._cleanup()
        view, doc, path = self.view, self.view.doc, self.view.path
        if target is not None:
            if self.replacing is not None:
                if target.edge_key == self.replacing.key:
                    return
                view.push_command(RewireCommand(doc, self.replacing, target.node_id, target.name,
                                         path=path))
            elif self.from_output:
                view.push_command(ConnectCommand(doc, self.anchor.node_id, target.node_id,
                                          self.anchor.name, target.name, path=path))
            else:
                view.push_command(ConnectCommand(doc, target.node_id, self.anchor.node_id,
                                          target.name, self.anchor.name, path=path))
            return
        if over_something:
            view.status_message.emit("That port cannot take this wire (it is taken, or the "
                                     "wire would close a cycle)")
            return
        if self.replacing is not None:
            view.push_command(DisconnectCommand(doc, self.replacing, path=path))
        elif self.from_output:
            view.open_quick_add(viewport_pos, wire=(self.anchor.node_id, self.anchor.name))
        else:
            view.open_quick_add(viewport_pos, wire=(self.anchor.node_id, self.anchor.name),
                                reverse=True)

    def cancel(self) -> None:
        self._cleanup()

    def _cleanup(self) -> None:
        for p in self.valid:
            p.set_drop_state(None)
        if self._hidden is not None:
            self._hidden.setVisible(True)
        self.scene.removeItem(self.line)
