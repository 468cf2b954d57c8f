"""F2: rename a node in place. A line edit over the node's title; Enter or a click elsewhere
commits (a taken or empty name is refused with the reason in the status bar), Esc cancels."""
from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QLineEdit

from ..commands import RenameCommand
from . import style


class RenameEditor(QLineEdit):
    def __init__(self, view) -> None:
        super().__init__(view.viewport())
        self.view = view
        self.setObjectName("renameEditor")
        self.node_id: str | None = None
        self.path: list[str] = []
        self.installEventFilter(self)
        self.hide()

    def start(self, node_item, path: list[str]) -> None:
        self.node_id = node_item.node_id
        self.path = list(path)
        p = style.canvas_palette()
        self.setStyleSheet(f"#renameEditor {{ background: {p['node_body']}; color: {p['text']}; "
                           f"border: 2px solid {p['selection']}; border-radius: 4px; "
                           f"padding: 1px 4px; }}")
        top_left = self.view.mapFromScene(node_item.scenePos())
        width = int(style.NODE_WIDTH * self.view.zoom())
        self.setGeometry(top_left.x(), top_left.y(), max(120, width), 26)
        self.setText(node_item.name)
        self.selectAll()
        self.show()
        self.raise_()
        self.setFocus()

    def commit(self) -> None:
        if self.node_id is None:
            return
        node_id, self.node_id = self.node_id, None
        self.hide()
        name = self.text().strip()
        g = self.view.doc.graph_at(self.path)
        if node_id in g and name != g.node(node_id).name:
            self.view.push_command(RenameCommand(self.view.doc, node_id, name, path=self.path))
        self.view.setFocus()

    def cancel(self) -> None:
        self.node_id = None
        self.hide()
        self.view.setFocus()

    def eventFilter(self, obj, event) -> bool:
        if obj is self and event.type() == QEvent.Type.KeyPress:
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.commit()
                return True
            if event.key() == Qt.Key.Key_Escape:
                self.cancel()
                return True
        if obj is self and event.type() == QEvent.Type.FocusOut and self.node_id is not None:
            self.commit()
        return super().eventFilter(obj, event)
