"""Moving nodes with the mouse. Qt drags the selected (movable) items; this gesture makes
their wires follow, and on release snaps them to the grid and records one undoable move (or,
dropped on a wire, inserts the node there)."""
from __future__ import annotations

from PySide6.QtCore import QPointF

from ..commands import MoveNodesCommand
from . import style


class NodeMove:
    def __init__(self, view, before: dict[str, tuple]) -> None:
        self.view = view
        self.scene = view.graph_scene()
        self.before = before  # node id -> position at the press

    @classmethod
    def start(cls, view) -> NodeMove | None:
        """The move of the nodes selected at a press (None when none is)."""
        before = view.graph_scene().selected_positions()
        return cls(view, before) if before else None

    def _items(self) -> list:
        return [self.scene.node_items[i] for i in self.before if i in self.scene.node_items]

    def follow(self) -> None:
        """Qt moved the items: their wires follow."""
        self.scene.node_geometry_changed(self._items())

    def finish(self, release_at: QPointF | None = None) -> None:
        moves = {}
        for nid, old in self.before.items():
            item = self.scene.node_items.get(nid)
            if item is None:
                continue
            new = (style.snap(item.pos().x()), style.snap(item.pos().y()))
            if new != tuple(old):
                moves[nid] = (old, new)
        view = self.view
        if moves and not (release_at is not None and view.move_onto_wire(moves, release_at)):
            view.push_command(MoveNodesCommand(view.doc, moves, path=view.path))
        else:  # a click without a move: put back any sub-snap jitter
            items = self._items()
            for item in items:
                item.setPos(QPointF(*self.before[item.node_id]))
            self.scene.node_geometry_changed(items)
