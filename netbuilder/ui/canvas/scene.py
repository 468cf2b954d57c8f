"""The scene mirrors one graph through the graph's signals: an item per node and per wire.

NOTE: nothing but the graph's signals creates, removes or moves items (commands never touch
items). The only exception is a drag in progress: Qt moves the items under the mouse and the
view turns the gesture into one ``MoveNodesCommand`` on release, after which the graph agrees.
"""
from __future__ import annotations

from PySide6.QtCore import QRectF, QTimer
from PySide6.QtWidgets import QGraphicsScene

from ...graph.sharing import sharers_of
from .node_item import NodeItem
from .overview import OverviewItem
from .wire_item import WireItem

SCENE_EXTENT = 100_000.0  # an unbounded-feeling canvas; the view pans anywhere inside it


class GraphScene(QGraphicsScene):
    def __init__(self, graph, activity: dict | None = None, parent=None, analysis=None,
                 diagnostics=()) -> None:
        super().__init__(parent)
        self.graph = graph
        self.activity = activity if activity is not None else {}
        self.analysis = None
        self.node_items: dict[str, NodeItem] = {}
        self.wire_items: dict[tuple, WireItem] = {}
        self.overview_active = False
        self.setSceneRect(-SCENE_EXTENT / 2, -SCENE_EXTENT / 2, SCENE_EXTENT, SCENE_EXTENT)
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        self.overview = OverviewItem(self)
        self.overview.setVisible(False)
        self.addItem(self.overview)
        self.selectionChanged.connect(self._selection_changed)
        # Moves come in bursts (auto-layout moves every node): the labels are placed once after.
        self._label_timer = QTimer(self)
        self._label_timer.setSingleShot(True)
        self._label_timer.setInterval(0)
        self._label_timer.timeout.connect(self._place_dirty_labels)
        self._dirty_labels: set = set()
        self._hooks = [
            (graph.node_added, self._node_added), (graph.node_removed, self._node_removed),
            (graph.edge_added, self._edge_added), (graph.edge_removed, self._edge_removed),
            (graph.param_changed, self._param_changed), (graph.node_renamed, self._renamed),
            (graph.node_moved, self._node_moved), (graph.sharing_changed, self._sharing_changed),
            (graph.trainable_changed, self._trainable_changed),
        ]
        for signal, slot in self._hooks:
            signal.connect(slot)
        self._build(analysis, diagnostics)

    def _build(self, analysis, diagnostics) -> None:
        """All items at once: each node is laid out once, with its wires and its analysis."""
        self._bulk = True
        for n in self.graph.nodes():
            self._node_added(n.id)
        for e in self.graph.edges():
            self._edge_added(e)
        self._bulk = False
        self.analysis = analysis
        problems = _problems(diagnostics)
        infos = analysis.nodes if analysis is not None else {}
        for nid, item in self.node_items.items():
            item.info, item.problems = infos.get(nid), problems.get(nid, [])
            item.refresh()
        for wire in self.wire_items.values():
            self._show_wire_shape(wire, infos)
            wire.update_path()
        self.place_labels()

    def detach(self) -> None:
        """Stop following the graph (the view is done with this scene)."""
        for signal, slot in self._hooks:
            try:
                signal.disconnect(slot)
            except ValueError:
                pass
        self._hooks = []

    # --- following the graph ---------------------------------------------------------------------

    _bulk = False

    def _node_added(self, node_id: str) -> None:
        item = NodeItem(self, node_id, defer=self._bulk)
        self.node_items[node_id] = item
        self.addItem(item)
        self.overview.mark_dirty()

    def _node_removed(self, node_id: str) -> None:
        item = self.node_items.pop(node_id, None)
        if item is not None:
            self.removeItem(item)
        self.overview.mark_dirty()

    def _edge_added(self, edge) -> None:
        wire = WireItem(self, edge)
        wire.set_overview(self.overview_active)
        self.wire_items[edge.key] = wire
        self.addItem(wire)
        for nid in (edge.src, edge.dst):
            item = self.node_items.get(nid)
            if item is not None:
                item.wires.add(wire)
                if not self._bulk:
                    item.refresh()
        if self._bulk:
            return
        if self.analysis is not None and edge.src in self.analysis.nodes:
            wire.set_shape(self.analysis.edge_shape(edge), None, self.analysis.edge_batch(edge))
        wire.update_path()
        self.overview.mark_dirty()

    def _edge_removed(self, edge) -> None:
        wire = self.wire_items.pop(edge.key, None)
        if wire is None:
            return
        for nid in (edge.src, edge.dst):
            item = self.node_items.get(nid)
            if item is not None:
                item.wires.discard(wire)
                item.refresh()
        self.removeItem(wire)
        self.overview.mark_dirty()

    def _param_changed(self, node_id: str, _key: str, _value) -> None:
        self.node_items[node_id].refresh()
        self.overview.mark_dirty()

    def _renamed(self, node_id: str, _name: str) -> None:
        self.node_items[node_id].refresh()
        for sharer in sharers_of(self.graph, node_id):  # their badge names this node
            self.node_items[sharer].refresh()
        self.overview.mark_dirty()

    def _sharing_changed(self, node_id: str, _old, _new) -> None:
        self.node_items[node_id].refresh()
        self.overview.mark_dirty()

    def _trainable_changed(self, node_id: str, _trainable: bool) -> None:
        self.node_items[node_id].refresh()  # the badge and the dimmed parameter count

    def _node_moved(self, node_id: str, pos) -> None:
        item = self.node_items[node_id]
        if (item.pos().x(), item.pos().y()) != tuple(pos):
            item.setPos(pos[0], pos[1])
            self.node_geometry_changed([item])

    def label_moved(self, wire) -> None:
        """A wire changed: its label finds a free spot once the burst of changes is over."""
        if not self._bulk:
            self._dirty_labels.add(wire.key)
            self._label_timer.start()

    def _place_dirty_labels(self) -> None:
        keys, self._dirty_labels = self._dirty_labels, set()
        self.place_labels([self.wire_items[k] for k in keys if k in self.wire_items])

    def place_labels(self, wires=None) -> None:
        """Labels of ``wires`` (default: all) where they cover no node and no other label
        (in the order of the wires: a later label gives way to an earlier one)."""
        # NOTE: a grid of our own, not scene.items(): moving a label changes its item's
        # geometry, and the scene would rebuild its index for every query after it.
        if wires is None:
            self._dirty_labels.clear()
            self._label_timer.stop()
        todo = list(self.wire_items.values()) if wires is None else wires
        moving = {w.key for w in todo}
        taken = _Grid()
        for item in self.node_items.values():
            taken.add(QRectF(item.pos().x() - 3, item.pos().y() - 3, item.width() + 6,
                             item.height() + 6))
        for wire in self.wire_items.values():
            if wire.label and wire.key not in moving:
                taken.add(wire.label_rect())
        for wire in todo:
            wire.place_label(taken.hits)
            if wire.label:
                taken.add(wire.label_rect())
            wire.update()

    def node_geometry_changed(self, items) -> None:
        """Nodes moved (by the graph, or under the mouse): their wires follow."""
        for item in items:
            for wire in item.wires:
                wire.update_path()
        self.overview.mark_dirty()

    def _selection_changed(self) -> None:
        # Selected nodes come to the front; wires of selected nodes are drawn highlighted.
        for item in self.node_items.values():
            item.setZValue(1.5 if item.isSelected() else 1.0)
        for wire in self.wire_items.values():
            wire.update()
        if self.overview_active:
            self.overview.update()

    # --- level of detail -------------------------------------------------------------------------

    def set_overview(self, on: bool) -> None:
        """Zoomed out: one batched item draws the map; the items stop painting themselves."""
        if on == self.overview_active:
            return
        self.overview_active = on
        for item in self.node_items.values():
            item.set_overview(on)
        for wire in self.wire_items.values():
            wire.set_overview(on)
        self.overview.mark_dirty()
        self.overview.setVisible(on)

    # --- analysis --------------------------------------------------------------------------------

    def apply_analysis(self, analysis, diagnostics=()) -> None:
        """Show new shapes, parameter counts and problems; untouched nodes are skipped (the
        analysis hands back the same cached info object for a node whose inputs did not
        change)."""
        self.analysis = analysis
        problems = _problems(diagnostics)
        infos = analysis.nodes if analysis is not None else {}
        for nid, item in self.node_items.items():
            item.set_info(infos.get(nid), problems.get(nid, []))
        for wire in self.wire_items.values():
            self._show_wire_shape(wire, infos)
        self.overview.mark_dirty()

    def _show_wire_shape(self, wire, infos) -> None:
        e = wire.edge
        shape = self.analysis.edge_shape(e) if e.src in infos else None
        wire.set_shape(shape, self._wire_error(e, infos.get(e.dst), shape),
                       self.analysis.edge_batch(e) if e.src in infos else "N")

    def _wire_error(self, edge, dst_info, shape) -> str | None:
        """A wire is in error when it delivers a shape its node refuses (not when the node
        merely lacks another input)."""
        if dst_info is None or not dst_info.error or shape is None:
            return None
        from ...compile.checks import missing_input_error  # lazily: compile imports torch

        node = self.graph.node(edge.dst)
        wired = [e.dst_port for e in self.graph.in_edges(edge.dst)]
        if missing_input_error(self.graph, node, wired):
            return None
        return dst_info.error

    # --- selection and geometry ------------------------------------------------------------------

    def selected_ids(self) -> list[str]:
        return [nid for nid, item in self.node_items.items() if item.isSelected()]

    def selected_edges(self) -> list:
        return [w.edge for w in self.wire_items.values() if w.isSelected()]

    def select(self, ids: list[str]) -> None:
        """Select exactly ``ids`` (one ``selectionChanged``, however many items change)."""
        wanted = set(ids)
        self.blockSignals(True)
        try:
            for item in self.selectedItems():
                if not isinstance(item, NodeItem) or item.node_id not in wanted:
                    item.setSelected(False)
            for nid in ids:
                item = self.node_items.get(nid)
                if item is not None:
                    item.setSelected(True)
        finally:
            self.blockSignals(False)
        self.selectionChanged.emit()

    def selected_positions(self) -> dict[str, tuple[float, float]]:
        return {nid: self.graph.node(nid).pos for nid in self.selected_ids()}

    def nodes_rect(self, ids: list[str] | None = None) -> QRectF:
        """The scene area the nodes cover (all of them, or ``ids``)."""
        items = (self.node_items.values() if ids is None else
                 [self.node_items[i] for i in ids if i in self.node_items])
        rect = QRectF()
        for item in items:
            r = QRectF(item.pos().x(), item.pos().y(), item.width(), item.height())
            rect = r if rect.isNull() else rect.united(r)
        return rect


def _problems(diagnostics) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for d in diagnostics:
        if d.node is not None and d.severity in ("error", "warning"):
            out.setdefault(d.node, []).append((d.severity, d.message))
    return out


class _Grid:
    """Rectangles bucketed by area, for "does this rectangle touch any of them?"."""

    CELL = 200.0

    def __init__(self) -> None:
        self._cells: dict[tuple[int, int], list[QRectF]] = {}

    def _keys(self, r: QRectF):
        c = self.CELL
        for i in range(int(r.left() // c), int(r.right() // c) + 1):
            for j in range(int(r.top() // c), int(r.bottom() // c) + 1):
                yield (i, j)

    def add(self, r: QRectF) -> None:
        for k in self._keys(r):
            self._cells.setdefault(k, []).append(r)

    def hits(self, r: QRectF) -> bool:
        return any(o.intersects(r) for k in self._keys(r) for o in self._cells.get(k, ()))

