"""The summary table (what ``netbuilder summary`` prints): one row per node and a totals row."""
from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ...graph import fmt_shape
from ...train.config import stored_setting
from .numbers import fmt_bytes, fmt_count, fmt_si

MIN_NAME_WIDTH = 72  # below this a name says nothing; the table scrolls instead
COLUMNS = ("Name", "Type", "Output shape", "Parameters", "MACs")
VALUE_ROLE = Qt.ItemDataRole.UserRole  # the raw value behind a cell (ints, shape tuples)
NODE_ROLE = Qt.ItemDataRole.UserRole + 1


class SummaryModel(QAbstractTableModel):
    """Rows in topological order, then ``Total``."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[tuple] = []  # (node id, name, type, shape, params, macs)
        self.total: tuple = ("", "Total", "", None, 0, 0)

    def set_analysis(self, analysis) -> None:
        self.beginResetModel()
        g = analysis.graph
        self.rows = []
        for nid in analysis.order:
            info = analysis.nodes[nid]
            n = g.node(nid)
            shape = info.out_shapes[0] if info.out_shapes else None
            self.rows.append((nid, n.name, n.type, shape, info.params, info.macs))
        self.total = ("", "Total", f"{len(self.rows)} nodes", None, analysis.total_params,
                      analysis.total_macs)
        self.endResetModel()

    def rowCount(self, parent=None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self.rows) + 1

    def columnCount(self, parent=None) -> int:
        return 0 if parent is not None and parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole and section >= 3:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        is_total = index.row() == len(self.rows)
        row = self.total if is_total else self.rows[index.row()]
        col = index.column()
        value = row[col + 1]
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 2:
                return value if is_total else fmt_shape(value)
            if col == 3:
                return fmt_count(value)
            if col == 4:
                return fmt_si(value) if is_total else fmt_count(value)
            return value
        if role == VALUE_ROLE:
            return value
        if role == NODE_ROLE:
            return row[0] or None
        if role == Qt.ItemDataRole.TextAlignmentRole and col >= 3:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.FontRole and is_total:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ToolTipRole and col == 0:
            return str(value)  # the whole name, where the column elides it
        if role == Qt.ItemDataRole.ToolTipRole and col == 4 and not is_total:
            return f"{value:,} multiply-accumulates per sample"
        return None


class SummaryPanel(QWidget):
    """A table of every node's output shape, parameters and MACs; click a row to show it."""

    node_requested = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("summary")
        self.doc = None
        self.model = SummaryModel(self)
        self.table = QTableView(objectName="summary_table")
        self.table.setModel(self.model)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # "layer1…conv2" keeps both ends
        self.table.clicked.connect(self._clicked)
        self.memory = QLabel(objectName="summary_memory")
        self.memory.setProperty("role", "muted")
        self.memory.setContentsMargins(8, 4, 8, 0)
        self.memory.setWordWrap(True)  # a long line must not widen the dock
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.memory)
        layout.addWidget(self.table)

    def set_document(self, doc) -> None:
        if self.doc is not None:
            self.doc.analysis_updated.disconnect(self.set_analysis)
        self.doc = doc
        doc.analysis_updated.connect(self.set_analysis)

    def set_analysis(self, analysis) -> None:
        self.model.set_analysis(analysis)
        batch = batch_size_of(analysis.graph)
        self.memory.setText(
            f"Weights {fmt_bytes(analysis.param_bytes())}  ·  activations "
            f"{fmt_bytes(analysis.activation_bytes(batch))} at batch size {batch} (float32, "
            f"forward outputs)")
        self._fit_columns()

    def _fit_columns(self) -> None:
        fm = self.table.fontMetrics()
        widths = []
        for col in range(len(COLUMNS)):
            texts = [str(self.model.data(self.model.index(r, col)) or "")
                     for r in range(min(self.model.rowCount(), 400))]
            width = max([fm.horizontalAdvance(t) for t in texts + [COLUMNS[col]]] or [40])
            widths.append(min(width + 24, 320))
        for col, width in enumerate(widths[1:], start=1):
            self.table.setColumnWidth(col, width)
        header = self.table.horizontalHeader()
        if sum(widths) <= self.table.viewport().width():
            header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)  # the room left
        else:  # too narrow for all: the numbers stay in view, long names are elided
            header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
            room = self.table.viewport().width() - sum(widths[1:])
            self.table.setColumnWidth(0, max(room, MIN_NAME_WIDTH))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_columns()

    def _clicked(self, index) -> None:
        node_id = self.model.data(index, NODE_ROLE)
        if node_id:
            self.node_requested.emit(node_id)


def batch_size_of(graph) -> int:
    """The training batch size saved with the graph (the trainer's default otherwise)."""
    value = stored_setting(graph.training, "batch_size")
    return value if isinstance(value, int) and value > 0 else stored_setting(None, "batch_size")
