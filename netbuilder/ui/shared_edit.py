"""Editing inside a block whose definition several block nodes use: the editor asks once
"Change all N uses of BasicBlock, or only this one?". All: the same edit is made in every use
(one history entry). Only this one: the block gets a definition of its own first.

NOTE: every use of a definition holds a copy of the same inner graph, with the same node ids,
so the journal of an edit made in one use replays in the others.
"""
from __future__ import annotations

from PySide6.QtGui import QUndoCommand
from PySide6.QtWidgets import QMessageBox, QWidget

from ..errors import NetbuilderError
from ..graph.blockdefs import fork_definition, uses_of
from .commands import MoveNodesCommand


def plan(doc, cmd):
    """The other paths the edit ``cmd`` must reach (a list), an ``OwnDefinition`` to make
    first, None for this graph only, or False when the person cancelled."""
    path = tuple(getattr(cmd, "path", ()))
    if not path or isinstance(cmd, MoveNodesCommand) or doc.ask_shared_edit is None:
        return None
    found, g = None, doc.graph
    for k, block_id in enumerate(path):  # the innermost shared block along the path
        node = g.node(block_id)
        if node.definition is not None:
            uses = uses_of(doc.graph, node.definition)
            if len(uses) > 1:
                found = (k, node, uses)
        g = node.inner
    if found is None:
        return None
    k, node, uses = found
    key = (path[:k + 1], node.definition)
    choice = doc.shared_edit_choices.get(key)
    if choice is None:
        choice = doc.ask_shared_edit(node.definition, len(uses))
        if choice is None:
            return False
        doc.shared_edit_choices[key] = choice
    if choice == "one":
        return OwnDefinition(path[:k + 1])
    return [(*p, *path[k + 1:]) for p, n in uses if n is not node]


class OwnDefinition:
    """"Only this one": the block at ``path`` gets a definition of its own before the edit
    (undone with it)."""

    def __init__(self, path: tuple) -> None:
        self.path = path
        self.old = self.new = None

    def apply(self, doc) -> None:
        g = doc.graph_at(self.path[:-1])
        node = g.node(self.path[-1])
        if self.new is None:
            self.old = node.definition
            self.new = fork_definition(g, node.id)
        else:  # a redo: the same name again
            root = doc.graph
            root.definitions[self.new] = root.definitions[self.old].copy()
            root.definitions[self.new].name = self.new
            node.definition = self.new
            g.changed.emit()

    def revert(self, doc) -> None:
        node = doc.graph_at(self.path[:-1]).node(self.path[-1])
        node.definition = self.old
        doc.graph.definitions.pop(self.new, None)
        doc.graph_at(self.path[:-1]).changed.emit()


class OwnDefinitionCommand(QUndoCommand):
    """An edit made after giving its block a definition of its own."""

    def __init__(self, doc, cmd, own: OwnDefinition) -> None:
        super().__init__(cmd.text())
        self.doc, self.cmd, self.own = doc, cmd, own
        self.skip_next_redo = False

    def redo(self) -> None:
        if self.skip_next_redo:
            self.skip_next_redo = False
            return
        self.own.apply(self.doc)
        self.cmd.redo()

    def undo(self) -> None:
        self.cmd.undo()
        self.own.revert(self.doc)


class AllUsesCommand(QUndoCommand):
    """An edit made in one use of a block definition, replayed in the others."""

    def __init__(self, doc, cmd, others: list[tuple]) -> None:
        super().__init__(f"{cmd.text()} (all {len(others) + 1} uses)")
        self.doc, self.cmd, self.others = doc, cmd, others
        self.skip_next_redo = False

    @classmethod
    def after_first(cls, doc, cmd, others: list[tuple]) -> AllUsesCommand:
        """``cmd`` has run; make it in the other uses too (all or none of them)."""
        self = cls(doc, cmd, others)
        done = []
        try:
            for p in others:
                cmd._journal.replay(doc.graph_at(p))
                done.append(p)
        except NetbuilderError as exc:
            for p in reversed(done):
                cmd._journal.revert(doc.graph_at(p))
            raise NetbuilderError(f"The edit cannot be made in every use of the block "
                                  f"definition ({exc}); choose 'Only this one'") from None
        return self

    def redo(self) -> None:
        if self.skip_next_redo:
            self.skip_next_redo = False
            return
        self.cmd.redo()
        for p in self.others:
            self.cmd._journal.replay(self.doc.graph_at(p))

    def undo(self) -> None:
        for p in reversed(self.others):
            self.cmd._journal.revert(self.doc.graph_at(p))
        self.cmd.undo()


def ask(parent: QWidget | None, definition: str, n: int) -> str | None:
    """"all", "one", or None (cancelled)."""
    box = QMessageBox(parent)
    box.setObjectName("shared_edit_dialog")
    box.setWindowTitle("Edit a shared block")
    box.setIcon(QMessageBox.Icon.Question)
    box.setText(f"Change all {n} uses of {definition}, or only this one?")
    box.setInformativeText(f"{n} blocks use the definition {definition}. Only this one gives "
                           f"this block a definition of its own.")
    every = box.addButton(f"Change all {n} uses", QMessageBox.ButtonRole.AcceptRole)
    every.setObjectName("shared_edit_all")
    one = box.addButton("Only this one", QMessageBox.ButtonRole.ActionRole)
    one.setObjectName("shared_edit_one")
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(every)
    box.exec()
    clicked = box.clickedButton()
    box.deleteLater()
    return "all" if clicked is every else "one" if clicked is one else None
