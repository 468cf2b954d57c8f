"""The canvas's editing actions (delete, copy/cut/paste, duplicate, group, rename, layout ...),
a mixin of ``CanvasView``: each one reads the selection and pushes one undoable command."""
from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, QRectF, QSizeF

from ...errors import NetbuilderError
from ...graph import extract, layered_positions
from .. import clipboard
from ..commands import (
    AddNodeCommand,
    DisconnectCommand,
    DuplicateCommand,
    GroupCommand,
    InsertOnWireCommand,
    MoveNodesCommand,
    PasteCommand,
    RemoveNodesCommand,
    SetTrainableCommand,
    UngroupCommand,
)
from . import style

PASTE_HEIGHT = 100.0  # a usual node's height, for finding room before the nodes are drawn


class EditActions:
    """Needs from the view: ``doc``, ``graph``, ``path``, ``selected_ids()``, ``select()``,
    ``graph_scene()``, ``status_message`` and the overlays."""

    def add_node(self, type_name: str, scene_pos: QPointF, connect_from=None,
                 connect_to=None, on_wire=None) -> str | None:
        """Add a layer with its header centred on ``scene_pos`` (or, when wired from a dropped
        wire, with the wired port on it), on the wire ``on_wire`` (an Edge) if given; returns
        the new id."""
        if connect_from is not None:
            pos = (scene_pos.x(), scene_pos.y() - style.PORT_FIRST_Y)
        elif connect_to is not None:
            pos = (scene_pos.x() - style.NODE_WIDTH, scene_pos.y() - style.PORT_FIRST_Y)
        else:
            pos = (scene_pos.x() - style.NODE_WIDTH / 2, scene_pos.y() - style.HEADER_HEIGHT / 2)
        pos = (style.snap(pos[0]), style.snap(pos[1]))
        try:
            if on_wire is not None:
                cmd = InsertOnWireCommand(self.doc, on_wire, type=type_name, pos=pos,
                                          path=self._path)
            else:
                cmd = AddNodeCommand(self.doc, type_name, pos, connect_from=connect_from,
                                     connect_to=connect_to, path=self._path)
        except NetbuilderError as exc:
            self.status_message.emit(str(exc))
            return None
        if not self.push_command(cmd):
            return None
        self.select([cmd.node_id])
        return cmd.node_id

    def wire_at(self, scene_pos: QPointF, ignore=()):
        """The edge of the wire drawn under ``scene_pos`` (None when there is none)."""
        from .wire_item import WireItem

        for item in self._scene.items(scene_pos):
            if isinstance(item, WireItem) and item.isVisible() and item.edge.src not in ignore \
                    and item.edge.dst not in ignore:
                return item.edge
        return None

    def move_onto_wire(self, moves: dict, scene_pos: QPointF) -> bool:
        """A lone unconnected node dropped on a wire goes onto it, moved there in the same
        step; False (nothing done) when that is not the case or the graph refuses."""
        if len(moves) != 1:
            return False
        (nid,) = moves
        g = self.graph
        node = g.node(nid)
        if g.in_edges(nid) or g.out_edges(nid) or not node.spec.inputs or not node.spec.outputs:
            return False
        edge = self.wire_at(scene_pos, ignore=(nid,))
        if edge is None:
            return False
        return self.push_command(InsertOnWireCommand(self.doc, edge, node_id=nid, moves=moves,
                                                     path=self._path))

    def delete_selected(self) -> None:
        ids = self.selected_ids()
        edges = self._scene.selected_edges()
        if not ids and not edges:
            return
        if not ids and len(edges) == 1:
            self.push_command(DisconnectCommand(self.doc, edges[0], path=self._path))
        else:
            self.push_command(RemoveNodesCommand(self.doc, ids, edges, path=self._path))

    def copy(self) -> bool:
        ids = self.selected_ids()
        if not ids:
            return False
        clipboard.put(extract(self.graph, ids))
        self._paste_count = 0
        self.status_message.emit(f"Copied {len(ids)} node" + ("s" if len(ids) > 1 else ""))
        return True

    def cut(self) -> None:
        if self.copy():
            cmd = RemoveNodesCommand(self.doc, self.selected_ids(), path=self._path)
            cmd.setText(cmd.text().replace("Delete", "Cut", 1))
            self.push_command(cmd)

    def paste(self) -> None:
        data = clipboard.get()
        if data is None:
            self.status_message.emit("The clipboard holds no netbuilder nodes")
            return
        offset = self._paste_offset(data)
        try:
            cmd = PasteCommand(self.doc, data, offset, path=self._path)
        except NetbuilderError as exc:
            self.status_message.emit(str(exc))
            return
        if self.push_command(cmd):
            self.select(cmd.new_ids)

    def _paste_offset(self, data: dict) -> tuple[float, float]:
        """Paste under the mouse when it is over the canvas, else beside the originals; in
        either case moved right until the pasted nodes cover none already there."""
        cursor = self.viewport().mapFromGlobal(self.cursor().pos())
        pos = [n.get("pos", [0, 0]) for n in data.get("nodes", []) if isinstance(n, dict)]
        if not pos:
            return (0.0, 0.0)
        left, top = min(p[0] for p in pos), min(p[1] for p in pos)
        if self.viewport().rect().contains(cursor) and self.underMouse():
            at = self.mapToScene(cursor)
            dx, dy = style.snap(at.x() - left), style.snap(at.y() - top)
        else:
            self._paste_count += 1
            dx, dy = 40.0 * self._paste_count, 40.0 * self._paste_count
        # NOTE: pasted nodes are not drawn yet: each is taken as a node of usual size.
        boxes = [QRectF(p[0], p[1], style.NODE_WIDTH, PASTE_HEIGHT) for p in pos]
        taken = [QRectF(i.pos(), QSizeF(i.width(), i.height())).adjusted(-20, -20, 20, 20)
                 for i in self._scene.node_items.values()]
        for _ in range(500):
            if not any(b.translated(dx, dy).intersects(t) for b in boxes for t in taken):
                break
            dx += 2 * style.GRID
        return (dx, dy)

    def duplicate(self) -> None:
        ids = self.selected_ids()
        if not ids:
            return
        cmd = DuplicateCommand(self.doc, ids, path=self._path)
        if self.push_command(cmd):
            self.select(cmd.new_ids)

    def group_selected(self) -> None:
        ids = self.selected_ids()
        try:
            cmd = GroupCommand(self.doc, ids, path=self._path)
        except NetbuilderError as exc:
            self.status_message.emit(str(exc))
            return
        if self.push_command(cmd):
            self.select([cmd.block_id])

    def ungroup_selected(self) -> None:
        blocks = [i for i in self.selected_ids() if self.graph.node(i).inner is not None]
        if not blocks:
            self.status_message.emit("Select a block to ungroup")
            return
        stack = self.doc.undo_stack
        new_ids: list[str] = []
        if len(blocks) > 1:
            stack.beginMacro(f"Ungroup {len(blocks)} blocks")
        for b in blocks:
            cmd = UngroupCommand(self.doc, b, path=self._path)
            if self.push_command(cmd):
                new_ids += cmd.new_ids
        if len(blocks) > 1:
            stack.endMacro()
        self.select(new_ids)

    def rename_selected(self) -> None:
        ids = self.selected_ids()
        if len(ids) != 1:
            self.status_message.emit("Select one node to rename")
            return
        self.rename_editor.start(self._scene.node_items[ids[0]], self._path)

    def set_trainable_selected(self, trainable: bool) -> bool:
        """Freeze (False) or unfreeze the selected nodes as one undoable step."""
        ids = self.selected_ids()
        if not ids:
            self.status_message.emit("Select the nodes to freeze or unfreeze")
            return False
        ok = self.push_command(SetTrainableCommand(self.doc, ids, trainable, path=self._path))
        if ok:
            names = ", ".join(self.graph.node(i).name for i in ids[:3]) + \
                ("…" if len(ids) > 3 else "")
            self.status_message.emit(f"{'Unfroze' if trainable else 'Froze'} {names}")
        return ok

    def auto_layout(self, direction: str = "down") -> None:
        """Layered layout, top to bottom (or "right": left to right), as one undoable step,
        spaced for the drawn node sizes."""
        g = self.graph
        if not len(g):
            return
        sizes = {nid: (item.width(), item.height())
                 for nid, item in self._scene.node_items.items()}
        moves = {}
        for nid, (x, y) in layered_positions(g, sizes, direction).items():
            new = (style.snap(x), style.snap(y))
            old = g.node(nid).pos
            if new != old:
                moves[nid] = (old, new)
        if moves:
            self.push_command(
                MoveNodesCommand(self.doc, moves, path=self._path, text="Auto-layout"))
        self.frame_all()

    def set_activity(self, node_id: str, values: dict | None) -> None:
        """Live training badge on a top-level node: ``{"mean": float, "dead": fraction}``
        (mean activation and share of dead ReLUs); None clears it."""
        if values is None:
            self._activity.pop(node_id, None)
        else:
            self._activity[node_id] = dict(values)
        if not self._path and node_id in self._scene.node_items:
            self._scene.node_items[node_id].refresh()

    def push_command(self, cmd) -> bool:
        """Run a command; a refused edit reaches the status bar via ``error_reported``."""
        return self.doc.push(cmd)

    # --- quick add --------------------------------------------------------------------------------

    def open_quick_add(self, viewport_pos: QPoint | None = None, wire: tuple | None = None,
                       reverse: bool = False) -> None:
        """Open the quick-add popup at ``viewport_pos`` (default: the mouse, else the centre).
        ``wire`` = (node id, port) of a dropped wire's free end: the new node gets wired to it
        and layers that accept its shape are listed first."""
        if viewport_pos is None:
            cursor = self.viewport().mapFromGlobal(self.cursor().pos())
            viewport_pos = cursor if self.viewport().rect().contains(cursor) else \
                self.viewport().rect().center()
        shape = None
        if wire is not None and not reverse:
            a = self._scene.analysis
            ports = [p.name for p in self.graph.output_ports(wire[0])]
            idx = ports.index(wire[1]) if wire[1] in ports else 0
            shape = a.shape(wire[0], idx) if a is not None else None
        self._quick_add_target = (self.mapToScene(viewport_pos), wire, reverse)
        self.quick_add.open_at(viewport_pos, shape=shape, wired=wire is not None,
                               reverse=reverse)

    def _quick_add_chosen(self, type_name: str) -> None:
        scene_pos, wire, reverse = self._quick_add_target
        if wire is None:
            self.add_node(type_name, scene_pos)
        elif reverse:
            self.add_node(type_name, scene_pos, connect_to=wire)
        else:
            self.add_node(type_name, scene_pos, connect_from=wire)
        self.setFocus()

    # --- small actions bound to keys ------------------------------------------------------------

    def select_all(self) -> None:
        self.select([n.id for n in self.graph.nodes()])

    def zoom_in(self) -> None:
        self.zoom_by(1.25)

    def zoom_out(self) -> None:
        self.zoom_by(0.8)

    def zoom_reset(self) -> None:
        self.set_zoom(1.0)

    def undo(self) -> None:
        self.doc.undo_stack.undo()

    def redo(self) -> None:
        self.doc.undo_stack.redo()

    def escape(self) -> None:
        if self._interaction is not None:
            interaction, self._interaction = self._interaction, None
            interaction.cancel()
        elif self.quick_add.isVisible():
            self.quick_add.close_popup()
        elif self._path:
            self.close_block()
        else:
            self._scene.clearSelection()

    def toggle_minimap(self) -> None:
        self.set_minimap_visible(not self.minimap.wanted)

    def set_minimap_visible(self, visible: bool) -> None:
        """Show or hide the minimap (it still steps aside while it would cover a node)."""
        if visible == self.minimap.wanted:
            return
        self.minimap.set_wanted(visible)
        self.minimap_toggled.emit(visible)
        self.status_message.emit("Minimap shown" if visible else "Minimap hidden")
