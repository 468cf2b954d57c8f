"""The Runs panel: every run of the graph, overlaid curves of the selected ones, what changed
between them, and actions (use a run's weights, resume it, open its folder)."""
from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..theme import colors
from .curves import CurvesView
from .diff import diff_runs
from .history import RunHistory
from .imaging import shrinkable
from .plots import OVERLAY
from .run_store import RunInfo, list_runs, read_json

PATH_ROLE = Qt.ItemDataRole.UserRole
STATUS_TEXT = {"finished": "finished", "stopped": "stopped", "failed": "failed",
               "running": "running…", "interrupted": "interrupted"}


class RunComparison(QSplitter):
    """Runs' curves over each other, and below them what changed from one to the next."""

    def __init__(self, prefix: str, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Vertical, parent)
        self.curves = CurvesView()
        self.curves.setObjectName(f"{prefix}_curves")
        self.curves.setMinimumWidth(220)
        self.curves.lr_plot.hide()  # comparing runs is about loss and metrics
        self.curves.legend.hide()  # the live view's legend; runs get their own
        self.changes = QTextBrowser(objectName=f"{prefix}_changes")
        self.changes.setOpenLinks(False)
        self.changes.setPlaceholderText(placeholder)
        self.addWidget(self.curves)
        self.addWidget(self.changes)
        self.setStretchFactor(0, 3)
        self.setStretchFactor(1, 2)

    def show_runs(self, runs: list[RunInfo]) -> None:
        overlay_runs(self.curves, runs)
        self.changes.setHtml(runs_diff_html(runs))


class RunsPanel(QWidget):
    """Lists the runs under the controller's runs folder; newest first."""

    weights_requested = Signal(object)  # RunInfo: load its weights into the graph
    try_requested = Signal(object)  # RunInfo: use its weights in Try it
    resume_requested = Signal(object)  # RunInfo

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("runs")
        self.controller = controller
        self.runs: list[RunInfo] = []
        self.tree = QTreeWidget(objectName="runs_list")
        self.tree.setMinimumWidth(200)
        self.tree.setColumnCount(6)
        self.tree.setHeaderLabels(["Run", "Status", "Epochs", "Best", "Samples/s", "Dataset"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.itemSelectionChanged.connect(self._selection_changed)
        header = self.tree.header()
        header.setSectionResizeMode(0, header.ResizeMode.ResizeToContents)
        for col in range(1, 6):
            header.setSectionResizeMode(col, header.ResizeMode.ResizeToContents)

        self.refresh_button = QPushButton("Refresh", objectName="runs_refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.weights_button = QPushButton("Load weights", objectName="runs_load_weights")
        self.weights_button.setToolTip("Keep this run's trained weights with the graph (used by "
                                       "Try it and by export)")
        self.try_button = QPushButton("Try it", objectName="runs_try")
        self.resume_button = QPushButton("Resume", objectName="runs_resume")
        self.resume_button.setToolTip("Continue training this run from its last checkpoint")
        self.folder_button = QPushButton("Open folder", objectName="runs_open_folder")
        self.weights_button.clicked.connect(lambda: self._emit(self.weights_requested))
        self.try_button.clicked.connect(lambda: self._emit(self.try_requested))
        self.resume_button.clicked.connect(lambda: self._emit(self.resume_requested))
        self.folder_button.clicked.connect(self._open_folder)
        buttons = QHBoxLayout()
        buttons.setSpacing(4)
        for b in (self.refresh_button, self.weights_button, self.try_button,
                  self.resume_button, self.folder_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        self.where = QLabel("", objectName="runs_folder")
        self.where.setProperty("role", "muted")
        shrinkable(self.where)
        left = QVBoxLayout()
        left.setContentsMargins(0, 0, 0, 0)
        left.addWidget(self.tree, 1)
        left.addWidget(self.where)
        left_w = QWidget()
        left_w.setLayout(left)

        right = RunComparison("runs", "Select two or more runs (Ctrl+click) to overlay their "
                                      "curves and see what changed between them.")
        self.comparison = right
        self.curves, self.changes = right.curves, right.changes
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left_w)
        split.addWidget(right)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 4)
        layout.addLayout(buttons)
        layout.addWidget(split, 1)
        controller.runs_changed.connect(self.refresh)
        self._update_buttons()

    # --- list -------------------------------------------------------------------------------

    def refresh(self) -> None:
        root = self.controller.runs_root()
        live = {self.controller.run_dir} if self.controller.running and \
            self.controller.run_dir is not None else set()
        keep = {str(r.path) for r in self.selected()}
        self.runs = list_runs(root, live)
        self.where.setText(f"Runs folder: {root}")
        self.tree.blockSignals(True)
        self.tree.clear()
        c = colors()
        for r in self.runs:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.started))
            item = QTreeWidgetItem([
                r.label, STATUS_TEXT.get(r.status, r.status),
                f"{r.epochs_done}/{r.epochs}" if r.epochs else str(r.epochs_done),
                r.best_text(), f"{r.samples_per_s:,.0f}" if r.samples_per_s else "",
                r.dataset])
            item.setToolTip(0, f"{r.name}, started {when}\n{r.path}")
            item.setData(0, PATH_ROLE, str(r.path))
            if r.status == "failed":
                item.setForeground(1, QColor(c["error"]))
                item.setToolTip(1, r.note)
            elif r.status == "running":
                item.setForeground(1, QColor(c["highlight"]))
            self.tree.addTopLevelItem(item)
            if str(r.path) in keep:
                item.setSelected(True)
        self.tree.blockSignals(False)
        self._selection_changed()

    def selected(self) -> list[RunInfo]:
        paths = {item.data(0, PATH_ROLE) for item in self.tree.selectedItems()}
        return [r for r in self.runs if str(r.path) in paths]

    def select_runs(self, paths) -> None:
        want = {str(Path(p)) for p in paths}
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            item.setSelected(item.data(0, PATH_ROLE) in want)

    # --- selection: overlay + diff ----------------------------------------------------------

    def _selection_changed(self) -> None:
        runs = self.selected()
        self._update_buttons()
        self.comparison.show_runs(runs)

    def diff_html(self, runs: list[RunInfo]) -> str:
        return runs_diff_html(runs)

    # --- actions ----------------------------------------------------------------------------

    def _update_buttons(self) -> None:
        runs = self.selected()
        one = runs[0] if len(runs) == 1 else None
        self.weights_button.setEnabled(one is not None and one.has_weights)
        self.try_button.setEnabled(one is not None and one.has_weights)
        self.resume_button.setEnabled(one is not None and one.resumable
                                      and not self.controller.running)
        self.folder_button.setEnabled(one is not None)

    def _emit(self, signal) -> None:
        runs = self.selected()
        if len(runs) == 1:
            signal.emit(runs[0])

    def _open_folder(self) -> None:
        runs = self.selected()
        if len(runs) == 1:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(runs[0].path)))


def overlay_runs(curves: CurvesView, runs: list[RunInfo]) -> None:
    """Draw ``runs``' curves over each other in ``curves`` (their own live curve cleared)."""
    overlays = []
    for r in runs:
        h = RunHistory.from_jsonl(r.path / "metrics.jsonl")
        overlays.append((r.label[11:] if r.label != r.name else r.name, h))
    curves.reset(RunHistory())
    curves.set_overlays(overlays)
    curves.redraw()


def runs_diff_html(runs: list[RunInfo]) -> str:
    """What changed from the oldest selected run to each newer one, as HTML."""
    if len(runs) < 2:
        if len(runs) == 1:
            r = runs[0]
            cfg = r.config
            return (f"<b>{r.label}</b> · {cfg.get('dataset', '')} · {cfg.get('optimizer', '')}"
                    f" lr {cfg.get('lr', '')} · batch {cfg.get('batch_size', '')} · "
                    f"{r.epochs_done}/{r.epochs} epochs · {r.best_text()}"
                    + (f"<br><span style='color:{colors()['error']}'>{r.note}</span>"
                       if r.note else ""))
        return ""
    c = colors()
    ordered = sorted(runs, key=lambda r: r.started)
    base = ordered[0]
    base_graph, base_cfg = base.graph_dict(), read_json(base.path / "config.json")
    parts = []
    for other in ordered[1:]:
        d = diff_runs(base_graph, other.graph_dict(), base_cfg,
                      read_json(other.path / "config.json"))
        color = OVERLAY[runs.index(other) % len(OVERLAY)]
        parts.append(f"<p><b style='color:{color}'>{other.label}</b> vs "
                     f"<b>{base.label}</b>: {d.counts()}</p>")
        if d.is_empty:
            parts.append("<p style='margin-left:12px'>same graph and settings</p>")
            continue
        rows = []
        for line in d.lines():
            mark = line[0]
            tint = {"+": c["ok"], "-": c["error"]}.get(mark, c["text"])
            rows.append(f"<div style='margin-left:12px;color:{tint}'>"
                        f"{_escape(line)}</div>")
        parts.append("".join(rows))
    return "".join(parts)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
