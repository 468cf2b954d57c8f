"""Undoable edits. Each command stores ids (never graphics items) and mutates the graph;
the scene follows the graph's signals.

NOTE: exact undo comes from a journal. The first ``redo`` performs the real operation
(``Graph.add``, ``netbuilder.graph.group``, ``paste`` ...) while a ``_Journal`` listens to the
graph's signals and records every primitive mutation with what it replaced: node records (type,
name, params, position, a frozen copy of a block's inner graph), wires with their variadic
``order``, old and new parameter values, names and positions. Undo replays the journal backwards
and restores the node order; a later redo replays it forwards, so ids stay the same across
undo/redo and later commands in the stack keep pointing at the right nodes. A command that
removes a node therefore owns the removal of its wires (as Orange's ``RemoveNodeCommand`` owns
child commands), and undo brings them back in their original order.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtGui import QUndoCommand

from ..errors import GraphError, NetbuilderError
from ..graph import Edge, Graph, extract, group, paste, ungroup
from ..layers import get_spec

__all__ = [
    "AddNodeCommand",
    "ConnectCommand",
    "DisconnectCommand",
    "DuplicateCommand",
    "GraphCommand",
    "GroupCommand",
    "MoveNodesCommand",
    "PasteCommand",
    "RemoveNodesCommand",
    "RenameCommand",
    "RewireCommand",
    "SetParamsCommand",
    "UngroupCommand",
]

_SET_PARAMS_ID = 1001


class _Journal:
    """Primitive mutations of one graph, recorded from its signals, replayable both ways."""

    def __init__(self, g: Graph) -> None:
        self._graph = g
        self.ops: list[tuple] = []
        self.order_before = [n.id for n in g.nodes()]
        self.order_after: list[str] = []
        # References, not copies: the graph replaces a node's params dict instead of mutating
        # it, so holding the old dict keeps the old values for free.
        self._nodes = {n.id: n for n in g.nodes()}
        self._params = {n.id: n.params for n in g.nodes()}
        self._names = {n.id: n.name for n in g.nodes()}
        self._pos = {n.id: n.pos for n in g.nodes()}

    @classmethod
    def record(cls, g: Graph, action: Callable[[], Any]) -> tuple[_Journal, Any]:
        """Run ``action`` while recording; on an error, undo what it did and re-raise."""
        j = cls(g)
        hooks = [(g.node_added, j._added), (g.node_removed, j._removed),
                 (g.edge_added, j._connected), (g.edge_removed, j._disconnected),
                 (g.param_changed, j._param), (g.node_renamed, j._renamed),
                 (g.node_moved, j._moved), (g.sharing_changed, j._shared),
                 (g.trainable_changed, j._trainable)]
        for sig, slot in hooks:
            sig.connect(slot)
        try:
            result = action()
        except Exception:
            for sig, slot in hooks:
                sig.disconnect(slot)
            j.revert(g)
            raise
        for sig, slot in hooks:
            sig.disconnect(slot)
        j.order_after = [n.id for n in g.nodes()]
        j._graph = None  # replays get the graph passed in: a block's inner graph may be a copy
        return j, result

    # --- recording --------------------------------------------------------------------------

    def _added(self, node_id: str) -> None:
        n = self._graph.node(node_id)
        self._nodes[node_id] = n
        self._params[node_id], self._names[node_id], self._pos[node_id] = n.params, n.name, n.pos
        self.ops.append(("add", _node_record(n, n.params, n.name, n.pos)))

    def _removed(self, node_id: str) -> None:
        self.ops.append(("remove", _node_record(self._nodes[node_id], self._params[node_id],
                                                self._names[node_id], self._pos[node_id])))

    def _connected(self, edge: Edge) -> None:
        self.ops.append(("connect", edge))

    def _disconnected(self, edge: Edge) -> None:
        self.ops.append(("disconnect", edge))

    def _param(self, node_id: str, key: str, value: Any) -> None:
        old = self._params[node_id]
        self.ops.append(("param", node_id, key, old.get(key), value))
        self._params[node_id] = {**old, key: value}

    def _renamed(self, node_id: str, name: str) -> None:
        self.ops.append(("rename", node_id, self._names[node_id], name))
        self._names[node_id] = name

    def _moved(self, node_id: str, pos: tuple) -> None:
        self.ops.append(("move", node_id, self._pos[node_id], pos))
        self._pos[node_id] = pos

    def _shared(self, node_id: str, old: str | None, new: str | None) -> None:
        self.ops.append(("share", node_id, old, new))

    def _trainable(self, node_id: str, trainable: bool) -> None:
        self.ops.append(("trainable", node_id, not trainable, trainable))

    # --- replay -----------------------------------------------------------------------------

    def replay(self, g: Graph) -> None:
        for op in self.ops:
            _apply(g, op, forward=True)
        g.reorder(self.order_after)

    def revert(self, g: Graph) -> None:
        for op in reversed(self.ops):
            _apply(g, op, forward=False)
        g.reorder(self.order_before)


def _node_record(node, params: dict, name: str, pos: tuple) -> dict:
    inner = node.inner.copy() if node.inner is not None else None
    return {"id": node.id, "type": node.type, "name": name, "params": dict(params),
            "pos": pos, "inner": inner, "shares": node.shares, "definition": node.definition,
            "trainable": node.trainable}


def _add_from_record(g: Graph, rec: dict) -> None:
    inner = rec["inner"].copy() if rec["inner"] is not None else None
    g.add(rec["type"], rec["name"], rec["pos"], id=rec["id"], inner=inner,
          definition=rec["definition"] if inner is not None else None, **rec["params"])
    if rec["shares"] is not None and rec["shares"] in g:
        g.share(rec["id"], rec["shares"])
    if not rec.get("trainable", True):
        g.set_trainable(rec["id"], False)


def _apply(g: Graph, op: tuple, forward: bool) -> None:
    kind = op[0]
    if kind == "add" or kind == "remove":
        adding = (kind == "add") == forward
        rec = op[1]
        if adding:
            _add_from_record(g, rec)
        else:
            g.remove(rec["id"])
    elif kind in ("connect", "disconnect"):
        e: Edge = op[1]
        if (kind == "connect") == forward:
            g.connect(e.src, e.dst, e.src_port, e.dst_port, order=e.order)
        else:
            g.disconnect(e.key)
    elif kind == "param":
        _, node_id, key, old, new = op
        g.set_params(node_id, {key: new if forward else old})
    elif kind == "rename":
        _, node_id, old, new = op
        g.rename(node_id, new if forward else old)
    elif kind == "move":
        _, node_id, old, new = op
        g.move(node_id, new if forward else old)
    elif kind == "share":
        _, node_id, old, new = op
        g.share(node_id, new if forward else old)
    elif kind == "trainable":
        _, node_id, old, new = op
        g.set_trainable(node_id, new if forward else old)


class GraphCommand(QUndoCommand):
    """A command on the graph at ``path`` (block ids from the root; () is the top level).

    Subclasses implement ``perform(g)``, the real operation, run once under a journal.
    """

    def __init__(self, doc, text: str = "", path: Iterable[str] = ()) -> None:
        super().__init__(text)
        self.doc = doc
        self.path = tuple(path)
        self.skip_next_redo = False
        self._journal: _Journal | None = None

    @property
    def graph(self) -> Graph:
        return self.doc.graph_at(self.path)

    def perform(self, g: Graph) -> None:
        raise NotImplementedError

    def redo(self) -> None:
        if self.skip_next_redo:  # Document.push already ran it (see Document.push)
            self.skip_next_redo = False
            return
        g = self.graph
        if self._journal is None:
            self._journal, _ = _Journal.record(g, lambda: self.perform(g))
        else:
            self._journal.replay(g)

    def undo(self) -> None:
        self._journal.revert(self.graph)



# --- the commands ----------------------------------------------------------------------------


class AddNodeCommand(GraphCommand):
    """Add a layer; optionally wire it from ``connect_from`` = (src id, src port or None) or
    into ``connect_to`` = (dst id, dst port or None), in the same history entry."""

    def __init__(self, doc, type: str, pos, params: dict | None = None, name: str | None = None,
                 connect_from: tuple | None = None, connect_to: tuple | None = None,
                 path: Iterable[str] = ()) -> None:
        get_spec(type)  # an unknown type is refused before anything happens
        super().__init__(doc, f"Add {type}", path)
        self.type = type
        self.pos = (float(pos[0]), float(pos[1]))
        self.params = dict(params or {})
        self.name = name
        self.connect_from = connect_from
        self.connect_to = connect_to
        self.node_id: str | None = None
        self.edge: Edge | None = None

    def perform(self, g: Graph) -> None:
        self.node_id = g.add(self.type, self.name, self.pos, **self.params)
        n = g.node(self.node_id)
        if self.connect_from is not None:
            src, port = (tuple(self.connect_from) + (None,))[:2]
            self.edge = g.connect(src, self.node_id, port)
        if self.connect_to is not None:
            dst, port = (tuple(self.connect_to) + (None,))[:2]
            self.edge = g.connect(self.node_id, dst, None, port)
        self.setText(f"Add {n.label}")


class RemoveNodesCommand(GraphCommand):
    """Delete nodes (with their wires) and, optionally, loose wires, as one history entry."""

    def __init__(self, doc, ids: Iterable[str], edges: Iterable[Edge | tuple] = (),
                 path: Iterable[str] = ()) -> None:
        super().__init__(doc, "", path)
        g = self.graph
        self.ids = [i for i in dict.fromkeys(ids)]
        for i in self.ids:
            g.node(i)  # unknown ids are refused up front
        self.edge_keys = [e.key if isinstance(e, Edge) else tuple(e) for e in edges]
        if len(self.ids) == 1:
            text = f"Delete {g.node(self.ids[0]).label}"
        elif self.ids:
            text = f"Delete {len(self.ids)} nodes"
        else:
            text = f"Delete {len(self.edge_keys)} wire" + ("s" if len(self.edge_keys) > 1 else "")
        self.setText(text)

    def perform(self, g: Graph) -> None:
        gone = set(self.ids)
        for key in self.edge_keys:
            if key[0] not in gone and key[2] not in gone:
                g.disconnect(key)
        for i in self.ids:
            g.remove(i)


class ConnectCommand(GraphCommand):
    def __init__(self, doc, src: str, dst: str, src_port: str | None = None,
                 dst_port: str | None = None, path: Iterable[str] = ()) -> None:
        super().__init__(doc, "", path)
        g = self.graph
        self.src, self.dst, self.src_port, self.dst_port = src, dst, src_port, dst_port
        self.setText(f"Connect {g.node(src).name} → {g.node(dst).name}")
        self.edge: Edge | None = None

    def perform(self, g: Graph) -> None:
        self.edge = g.connect(self.src, self.dst, self.src_port, self.dst_port)


class DisconnectCommand(GraphCommand):
    def __init__(self, doc, edge: Edge | tuple, path: Iterable[str] = ()) -> None:
        super().__init__(doc, "", path)
        self.key = edge.key if isinstance(edge, Edge) else tuple(edge)
        g = self.graph
        self.setText(f"Disconnect {g.node(self.key[0]).name} → {g.node(self.key[2]).name}")

    def perform(self, g: Graph) -> None:
        g.disconnect(self.key)


class SetParamsCommand(GraphCommand):
    """Change parameters of one node. Consecutive edits of the same fields of the same node
    merge into one history entry (typing in a spin box makes one step, not one per key)."""

    def __init__(self, doc, node_id: str, values: dict, path: Iterable[str] = ()) -> None:
        super().__init__(doc, "", path)
        n = self.graph.node(node_id)
        self.node_id = node_id
        self.values = dict(values)
        fields = ", ".join(self.values)
        self.setText(f"Set {fields} of {n.name}")

    def perform(self, g: Graph) -> None:
        g.set_params(self.node_id, self.values)

    def id(self) -> int:
        return _SET_PARAMS_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if (not isinstance(other, SetParamsCommand) or other.node_id != self.node_id
                or other.path != self.path or set(other.values) != set(self.values)
                or self._journal is None or other._journal is None):
            return False
        self._journal.ops.extend(other._journal.ops)
        self._journal.order_after = other._journal.order_after
        self.values = dict(other.values)
        # Typing a value and then its original back leaves nothing to undo.
        first: dict = {}
        last: dict = {}
        for op in self._journal.ops:
            if op[0] == "param":
                first.setdefault(op[2], op[3])
                last[op[2]] = op[4]
        if all(first[k] == last[k] and type(first[k]) is type(last[k]) for k in first):
            self.setObsolete(True)
        return True


class ShareCommand(GraphCommand):
    """Make a node use another node's module (weight sharing), or its own again (None)."""

    def __init__(self, doc, node_id: str, target: str | None, path: Iterable[str] = ()) -> None:
        super().__init__(doc, "Share module" if target else "Stop sharing", path)
        self.node_id, self.target = node_id, target

    def perform(self, g: Graph) -> None:
        g.share(self.node_id, self.target)


class SetTrainableCommand(GraphCommand):
    """Freeze (False) or unfreeze the nodes ``ids`` (a block: everything inside it)."""

    def __init__(self, doc, ids: Iterable[str], trainable: bool,
                 path: Iterable[str] = ()) -> None:
        super().__init__(doc, "Unfreeze" if trainable else "Freeze", path)
        self.ids, self.trainable = list(ids), trainable

    def perform(self, g: Graph) -> None:
        for node_id in self.ids:
            g.set_trainable(node_id, self.trainable)


class RenameCommand(GraphCommand):
    def __init__(self, doc, node_id: str, name: str, path: Iterable[str] = ()) -> None:
        super().__init__(doc, "", path)
        self.node_id, self.name = node_id, name
        self.setText(f"Rename {self.graph.node(node_id).name} to {name}")

    def perform(self, g: Graph) -> None:
        g.rename(self.node_id, self.name)


class MoveNodesCommand(GraphCommand):
    """Move nodes: ``moves`` maps id → (old position, new position)."""

    def __init__(self, doc, moves: dict, path: Iterable[str] = (), text: str | None = None) -> None:
        super().__init__(doc, "", path)
        self.moves = {i: (tuple(o), tuple(n)) for i, (o, n) in moves.items()}
        if text is None:
            g = self.graph
            text = (f"Move {g.node(next(iter(self.moves))).name}" if len(self.moves) == 1
                    else f"Move {len(self.moves)} nodes")
        self.setText(text)

    def perform(self, g: Graph) -> None:
        for i, (old, new) in self.moves.items():
            # The canvas already shows the node at `new`; the graph may still hold `old`.
            if g.node(i).pos != (float(old[0]), float(old[1])):
                g.move(i, old)
            g.move(i, new)


class GroupCommand(GraphCommand):
    """Move the selected nodes into a new block node; crossing wires become its ports."""

    def __init__(self, doc, ids: Iterable[str], path: Iterable[str] = (), type_: str = "Block",
                 name: str | None = None) -> None:
        super().__init__(doc, "", path)
        self.ids = list(ids)
        if not self.ids:
            raise GraphError("Select at least one node to group")
        self.type_, self.name = type_, name
        self.block_id: str | None = None
        self.setText(f"Group {len(self.ids)} node" + ("s" if len(self.ids) > 1 else ""))

    def perform(self, g: Graph) -> None:
        name = self.name or g.unique_name(get_spec(self.type_).short)
        self.block_id = group(g, self.ids, self.type_, name)


class UngroupCommand(GraphCommand):
    def __init__(self, doc, block_id: str, path: Iterable[str] = ()) -> None:
        super().__init__(doc, "", path)
        self.block_id = block_id
        self.new_ids: list[str] = []
        self.setText(f"Ungroup {self.graph.node(block_id).name}")

    def perform(self, g: Graph) -> None:
        self.new_ids = ungroup(g, self.block_id)


class PasteCommand(GraphCommand):
    """Insert clipboard JSON (``netbuilder.graph.extract``'s format) with fresh ids and names."""

    def __init__(self, doc, data: dict, offset=(40.0, 40.0), path: Iterable[str] = (),
                 text: str | None = None) -> None:
        super().__init__(doc, "", path)
        if not isinstance(data, dict) or not isinstance(data.get("nodes"), list):
            raise NetbuilderError("The clipboard does not hold netbuilder nodes")
        self.data = data
        self.offset = (float(offset[0]), float(offset[1]))
        self.new_ids: list[str] = []
        n = len(data["nodes"])
        self.setText(text or f"Paste {n} node" + ("s" if n != 1 else ""))

    def perform(self, g: Graph) -> None:
        self.new_ids = paste(g, self.data, self.offset)


class DuplicateCommand(PasteCommand):
    """Copy the nodes (and the wires among them) beside the originals."""

    def __init__(self, doc, ids: Iterable[str], offset=(40.0, 40.0),
                 path: Iterable[str] = ()) -> None:
        ids = list(ids)
        if not ids:
            raise GraphError("Select the nodes to duplicate")
        graph = doc.graph_at(path)
        super().__init__(doc, extract(graph, ids), offset, path, text="Duplicate")


class RewireCommand(GraphCommand):
    """Move the input end of a wire to another port (a wire picked up and re-plugged)."""

    def __init__(self, doc, edge: Edge, dst: str, dst_port: str | None = None,
                 path: Iterable[str] = ()) -> None:
        super().__init__(doc, "", path)
        g = self.graph
        self.old = edge
        self.dst, self.dst_port = dst, dst_port
        self.edge: Edge | None = None
        self.setText(f"Reconnect {g.node(edge.src).name} → {g.node(dst).name}")

    def perform(self, g: Graph) -> None:
        g.disconnect(self.old.key)
        self.edge = g.connect(self.old.src, self.dst, self.old.src_port, self.dst_port)


class InsertOnWireCommand(GraphCommand):
    """Put a node on a wire: the wire goes, two wires through the node come (one history entry).

    The node is new (``type`` at ``pos``) or one already there, moved by ``moves`` (id → (old,
    new)) in the same step: a node dragged onto a wire.
    """

    def __init__(self, doc, edge: Edge, type: str | None = None, pos=None,
                 node_id: str | None = None, moves: dict | None = None,
                 path: Iterable[str] = ()) -> None:
        if type is not None:
            get_spec(type)  # an unknown type is refused before anything happens
        super().__init__(doc, "", path)
        self.edge, self.type, self.pos = edge, type, pos
        self.node_id = node_id
        self.moves = {i: (tuple(o), tuple(n)) for i, (o, n) in (moves or {}).items()}
        g = self.graph
        what = type if type is not None else g.node(node_id).name
        self.setText(f"Insert {what} on {g.node(edge.src).name} → {g.node(edge.dst).name}")

    def perform(self, g: Graph) -> None:
        if self.type is not None:
            self.node_id = g.add(self.type, None, (float(self.pos[0]), float(self.pos[1])))
        for i, (_old, new) in self.moves.items():
            g.move(i, new)
        e = self.edge
        g.disconnect(e.key)
        g.connect(e.src, self.node_id, e.src_port, None)
        g.connect(self.node_id, e.dst, None, e.dst_port)
