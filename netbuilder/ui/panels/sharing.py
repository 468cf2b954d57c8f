"""The inspector's "Module" field: use another node's module (weight sharing) or its own.

Offers the nodes of the same type that own their module; choosing one pushes an undoable
``ShareCommand``, and the graph checks the link as it does for a file.
"""
from __future__ import annotations

from PySide6.QtWidgets import QComboBox

from ...graph.sharing import sharers_of
from ..commands import ShareCommand

OWN = "its own"


class SharingField(QComboBox):
    """Lists ``OWN`` and every node whose module the shown node may use."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("inspector_shares")
        self.setToolTip("Use the module (and weights) of another layer of this type: both call "
                        "one attribute in the generated code (siamese branches)")
        self.doc, self.path, self.node_id = None, (), None
        self.activated.connect(self._chosen)

    @staticmethod
    def applies(node) -> bool:
        """Whether a node can take part in sharing at all (layers, not blocks or Inputs)."""
        return node.inner is None and not node.is_boundary and not node.spec.source

    def show_node(self, doc, path: tuple, node) -> None:
        self.doc, self.path, self.node_id = doc, path, node.id
        g = doc.graph_at(path)
        choices = [] if sharers_of(g, node.id) else [
            m for m in g.nodes() if m.type == node.type and m.id != node.id and m.shares is None]
        self.blockSignals(True)
        self.clear()
        self.addItem(OWN, None)
        for m in choices:
            self.addItem(m.name, m.id)
        self.setCurrentIndex(max(0, self.findData(node.shares)) if node.shares else 0)
        self.setEnabled(bool(choices) or node.shares is not None)
        self.blockSignals(False)

    def _chosen(self, index: int) -> None:
        target = self.itemData(index)
        if self.doc.graph_at(self.path).node(self.node_id).shares != target:
            # A refused link is reported by the document (status bar) and changes nothing.
            self.doc.push(ShareCommand(self.doc, self.node_id, target, self.path))
