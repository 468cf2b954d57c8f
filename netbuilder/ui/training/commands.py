"""Undoable edits of what a graph file keeps about training: its setup and its loaded weights.

The setup form re-reads ``graph.training`` when the undo stack moves, so undo/redo of these
commands updates it without the commands knowing any widget.
"""
from __future__ import annotations

import copy

from PySide6.QtGui import QUndoCommand

_SETUP_ID = 2001


class SetTrainingConfigCommand(QUndoCommand):
    """Replace ``graph.training`` (a ``TrainingConfig.to_dict()``); consecutive edits of the
    same setting merge into one undo step (typing a learning rate is one edit, not six)."""

    def __init__(self, doc, new: dict, text: str = "Change training setup",
                 key: str | None = None) -> None:
        super().__init__(text)
        self.doc = doc
        self.old = copy.deepcopy(doc.graph.training)
        self.new = copy.deepcopy(new)
        self.key = key
        self.skip_next_redo = False  # Document.push runs the first redo itself

    def id(self) -> int:
        return _SETUP_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetTrainingConfigCommand) or other.key is None \
                or other.key != self.key or other.doc is not self.doc:
            return False
        self.new = copy.deepcopy(other.new)
        return True

    def redo(self) -> None:
        if self.skip_next_redo:
            self.skip_next_redo = False
            return
        self.doc.graph.training = copy.deepcopy(self.new)

    def undo(self) -> None:
        self.doc.graph.training = copy.deepcopy(self.old)


class SetWeightsCommand(QUndoCommand):
    """Give the graph weights (a ``GraphWeights``) or take them away (None)."""

    def __init__(self, doc, weights, text: str) -> None:
        super().__init__(text)
        self.doc = doc
        self.old = doc.graph.weights
        self.new = weights
        self.skip_next_redo = False

    def redo(self) -> None:
        if self.skip_next_redo:
            self.skip_next_redo = False
            return
        self.doc.graph.set_weights(self.new)

    def undo(self) -> None:
        self.doc.graph.set_weights(self.old)
