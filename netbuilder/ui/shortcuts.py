"""The keyboard shortcuts sheet (Help ▸ Keyboard Shortcuts, F1 or ?)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
)

from .actions import shortcut_rows


class ShortcutsDialog(QDialog):
    """Every action with its keys, grouped by menu, plus the canvas gestures; filterable."""

    def __init__(self, actions: dict, parent=None):
        super().__init__(parent)
        self.setObjectName("shortcuts_dialog")
        self.setWindowTitle("Keyboard Shortcuts")
        self.search = QLineEdit(objectName="shortcuts_search")
        self.search.setPlaceholderText("Filter: action or key…")
        self.search.setClearButtonEnabled(True)
        self.tree = QTreeWidget(objectName="shortcuts_list")
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Action", "Keys"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        self.rows = shortcut_rows(actions)
        groups: dict[str, QTreeWidgetItem] = {}
        bold = self.font()
        bold.setBold(True)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        for group, text, keys in self.rows:
            parent_item = groups.get(group)
            if parent_item is None:
                parent_item = QTreeWidgetItem([group, ""])
                parent_item.setFont(0, bold)
                parent_item.setFlags(Qt.ItemFlag.ItemIsEnabled)
                self.tree.addTopLevelItem(parent_item)
                groups[group] = parent_item
            item = QTreeWidgetItem(parent_item, [text, keys])
            item.setFont(1, mono)
        self.tree.expandAll()
        self.tree.resizeColumnToContents(0)
        self.tree.setColumnWidth(0, max(self.tree.columnWidth(0) + 24, 260))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        layout.addWidget(buttons)
        self.search.textChanged.connect(self.set_filter)
        self.resize(620, 640)

    def set_filter(self, text: str) -> None:
        needle = text.strip().lower()
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            shown = 0
            for j in range(group.childCount()):
                item = group.child(j)
                hit = not needle or needle in item.text(0).lower() or needle in \
                    item.text(1).lower()
                item.setHidden(not hit)
                shown += hit
            group.setHidden(shown == 0)

    def keys_for(self, text: str) -> str | None:
        """The keys listed for an action (by its menu text), for tests and scripts."""
        for _group, name, keys in self.rows:
            if name == text:
                return keys
        return None
