"""The problems list: every diagnostic of the graph; clicking one shows its node."""
from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .. import icons

NODE_ROLE = Qt.ItemDataRole.UserRole
_RANK = {"error": 0, "warning": 1, "info": 2}


class _WrappedTextDelegate(QStyledItemDelegate):
    """Rows of the first column as tall as their text wrapped to the column's width.

    NOTE: QTreeView wraps text when asked, but measures rows without the column's width, so a
    long message is cut to one line; this measures it at the width it gets.
    """

    def sizeHint(self, option, index) -> QSize:  # noqa: N802 (Qt override)
        hint = super().sizeHint(option, index)
        if index.column() != 0:
            return hint
        view = self.parent()
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.rect = QRect(0, 0, view.columnWidth(0), hint.height())
        style = view.style()
        # the width the style gives the text (after the icon), less its own text margins
        text = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, opt, view)
        margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, view) + 1
        width = max(40, text.width() - 2 * margin)
        rect = opt.fontMetrics.boundingRect(QRect(0, 0, width, 100_000),
                                            int(Qt.TextFlag.TextWordWrap), opt.text)
        return QSize(hint.width(), max(hint.height(), rect.height() + 6))


class ProblemsPanel(QWidget):
    """Diagnostics with severity icons, errors first; ``node_requested(id)`` on a click."""

    node_requested = Signal(str)
    counts_changed = Signal(int, int)  # errors, warnings

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("problems")
        self.doc = None
        self.summary = QLabel("No problems", objectName="problems_summary")
        self.summary.setProperty("role", "muted")
        self.summary.setWordWrap(True)
        self.tree = QTreeWidget(objectName="problems_list")
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["Problem", "Node", "Type"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        # NOTE: a diagnostic ends with its advice ("…: add a Flatten before it"): wrap it
        # rather than cut it off; rows are re-measured when the column's width changes.
        self.tree.setWordWrap(True)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.tree.setUniformRowHeights(False)
        self.tree.setItemDelegate(_WrappedTextDelegate(self.tree))
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.itemClicked.connect(self._clicked)
        self.tree.itemActivated.connect(self._clicked)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, header.ResizeMode.Stretch)
        header.setSectionResizeMode(1, header.ResizeMode.Interactive)
        header.setSectionResizeMode(2, header.ResizeMode.Interactive)
        header.sectionResized.connect(lambda index, *_: index == 0 and
                                      self.tree.scheduleDelayedItemsLayout())
        top = QHBoxLayout()
        top.setContentsMargins(8, 4, 8, 0)
        top.addWidget(self.summary)
        top.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.tree)
        self.diagnostics: list = []
        # What the import of this document reported: (text, node id or None), kept until
        # another document is shown.
        self.import_rows: list[tuple[str, str | None]] = []

    def set_document(self, doc) -> None:
        if self.doc is not None:
            self.doc.analysis_updated.disconnect(self._analysis_updated)
        self.doc = doc
        self.import_rows = []
        doc.analysis_updated.connect(self._analysis_updated)

    def set_import_report(self, rows: list[tuple[str, str | None]]) -> None:
        """Show an import's report (placeholders and fallbacks) below the diagnostics."""
        self.import_rows = list(rows)
        self.refresh()

    def _analysis_updated(self, _analysis) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Re-read the document's diagnostics (structural ones, then each node's)."""
        diags = sorted(self.doc.diagnostics(), key=lambda d: _RANK.get(d.severity, 3))
        self.diagnostics = diags
        g = self.doc.graph
        self.tree.clear()
        for d in diags:
            node = g.node(d.node) if d.node is not None and d.node in g else None
            item = QTreeWidgetItem([d.message, node.name if node else "",
                                    node.type if node else ""])
            item.setIcon(0, icons.icon(d.severity if d.severity in _RANK else "info"))
            item.setToolTip(0, d.message)
            item.setData(0, NODE_ROLE, d.node)
            self.tree.addTopLevelItem(item)
        for text, node_id in self.import_rows:
            node = g.node(node_id) if node_id is not None and node_id in g else None
            item = QTreeWidgetItem([text, node.name if node else "", node.type if node else ""])
            item.setIcon(0, icons.icon("info"))
            item.setToolTip(0, text)
            item.setData(0, NODE_ROLE, node.id if node else None)
            self.tree.addTopLevelItem(item)
        fm = self.tree.fontMetrics()
        for col in (1, 2):  # fit the names and types, with room to breathe
            texts = [self.tree.topLevelItem(i).text(col)
                     for i in range(self.tree.topLevelItemCount())]
            width = max([fm.horizontalAdvance(t) for t in texts] +
                        [fm.horizontalAdvance(self.tree.headerItem().text(col))])
            self.tree.setColumnWidth(col, min(width + 24, 240))
        errors = sum(d.severity == "error" for d in diags)
        warnings = sum(d.severity == "warning" for d in diags)
        summary = _summary_text(errors, warnings, len(diags))
        if self.import_rows:
            summary += f"; the import kept {len(self.import_rows)} placeholder or fallback " \
                       f"group{'s' if len(self.import_rows) != 1 else ''}"
        self.summary.setText(summary)
        self.counts_changed.emit(errors, warnings)

    def item_for(self, node_id: str) -> QTreeWidgetItem | None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.data(0, NODE_ROLE) == node_id:
                return item
        return None

    def _clicked(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        node_id = item.data(0, NODE_ROLE)
        if node_id:
            self.node_requested.emit(node_id)


def _summary_text(errors: int, warnings: int, total: int) -> str:
    if not total:
        return "No problems: the graph compiles."
    parts = []
    if errors:
        parts.append(f"{errors} error" + ("s" if errors != 1 else ""))
    if warnings:
        parts.append(f"{warnings} warning" + ("s" if warnings != 1 else ""))
    others = total - errors - warnings
    if others:
        parts.append(f"{others} note" + ("s" if others != 1 else ""))
    return ", ".join(parts)
