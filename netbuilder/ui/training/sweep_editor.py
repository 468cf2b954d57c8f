"""Defining a sweep in the editor: what to vary (one ``NAME=VALUES`` row per parameter, the
command line's format, checked by its parser as it is typed), how, and how many trials.

Rows come from the inspector ("Sweep this value…" on a node parameter), from the Add setting
menu (training settings), or from a sweep file (``netbuilder sweep --sweep-file``'s format,
read and written here).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...train.sweep import STRATEGIES, SweepDefinition, SweepError, parse_param, parse_params

# Training settings offered by Add setting, with how their values are first suggested.
SETTINGS = ("lr", "batch_size", "optimizer", "epochs", "weight_decay", "momentum",
            "val_split", "grad_clip")
SWEEP_FILTER = "Sweep files (*.json *.toml)"


def suggest_values(kind: str, value, choices=(), low=None, high=None) -> str:
    """A first list or range for a value being swept (edited by the person afterwards)."""
    if kind == "bool":
        return "true,false"
    if kind == "choice" and choices:
        return ",".join(str(c) for c in choices)
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        picks = {value // 2, value, value * 2} if value > 1 else {value, value + 1, value + 2}
        picks = {v for v in picks if (low is None or v >= low) and (high is None or v <= high)}
        return ",".join(str(v) for v in sorted(picks or {value}))
    if kind == "float" and isinstance(value, (int, float)):
        if value > 0:
            lo, hi = value / 10, value * 10
            if high is not None:
                hi = min(hi, high)
            return f"{lo:g}..{hi:g}:log" if lo < hi else f"{value:g}"
        return f"{value:g}" if high is None else f"{value:g}..{high:g}"
    return json.dumps(value) if not isinstance(value, str) else value


def setting_values(config, name: str) -> str:
    """Suggested values for training setting ``name`` of ``config``."""
    from ...train.config import OPTIMIZERS

    value = getattr(config, name)
    if name == "optimizer":
        return ",".join(o for o in ("sgd", "adam", "adamw") if o in OPTIMIZERS)
    if name == "val_split":
        return "0.1,0.2,0.3"
    if name in ("weight_decay", "grad_clip") and not value:
        return "0,1e-4,1e-3" if name == "weight_decay" else "0,1,5"
    kind = "int" if isinstance(value, int) and not isinstance(value, bool) else "float"
    return suggest_values(kind, value, low=1 if kind == "int" else None,
                          high=0.999 if name == "momentum" else None)


class SweepEditor(QWidget):
    """The sweep being defined; ``run_requested`` / ``stop_requested`` go to the panel."""

    run_requested = Signal()
    stop_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sweep_editor")
        self.config_source = None  # callable → the document's TrainingConfig (Add setting)
        self.table = QTableWidget(0, 2, objectName="sweep_params")
        self.table.setHorizontalHeaderLabels(["Name", "Values"])
        self.table.horizontalHeaderItem(1).setToolTip("a,b,c (a list) or low..high[:log] "
                                                      "(a range)")
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # a dotted name's both ends
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.itemChanged.connect(lambda _i: self.check())
        self.settings_button = QToolButton(objectName="sweep_add_setting", text="Add setting")
        self.settings_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.settings_menu = QMenu(self.settings_button)
        self.settings_menu.aboutToShow.connect(self._fill_settings)
        self.settings_button.setMenu(self.settings_menu)
        self.remove_button = QPushButton("Remove", objectName="sweep_remove")
        self.remove_button.clicked.connect(self.remove_selected)
        self.open_button = QPushButton("Open…", objectName="sweep_open")
        self.open_button.setToolTip("Read a sweep file (netbuilder sweep --sweep-file)")
        self.open_button.clicked.connect(lambda: self.load_file())
        self.save_button = QPushButton("Save…", objectName="sweep_save")
        self.save_button.setToolTip("Write this sweep as a file for netbuilder sweep")
        self.save_button.clicked.connect(lambda: self.save_file())
        rows = QHBoxLayout()
        for w in (self.settings_button, self.remove_button, self.open_button, self.save_button):
            rows.addWidget(w)
        rows.addStretch(1)

        self.strategy = QComboBox(objectName="sweep_strategy")
        self.strategy.addItems(list(STRATEGIES))
        self.strategy.setCurrentText("grid")
        self.trials = QSpinBox(objectName="sweep_trials", minimum=0, maximum=10000)
        self.trials.setSpecialValueText("all")  # 0: every grid point
        self.trials.setToolTip("Trials in total (a grid runs every combination when 'all')")
        self.jobs = QSpinBox(objectName="sweep_jobs", minimum=1,
                             maximum=max(1, os.cpu_count() or 1))
        self.jobs.setToolTip("Trials trained at once, each in its own process")
        self.objectives = QLineEdit(objectName="sweep_objectives")
        self.objectives.setPlaceholderText("the task's metric; or val_accuracy:max, params:min")
        self.objectives.textChanged.connect(lambda _t: self.check())
        self.name = QLineEdit(objectName="sweep_name")
        self.name.setPlaceholderText("sweep name (a new name starts a new sweep)")
        form = QFormLayout()
        form.addRow("Strategy", self.strategy)
        form.addRow("Trials", self.trials)
        form.addRow("Jobs", self.jobs)
        form.addRow("Objectives", self.objectives)
        form.addRow("Name", self.name)

        self.error = QLabel(objectName="sweep_error", wordWrap=True)
        self.error.setProperty("role", "field-error")
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.hide()
        self.run_button = QPushButton("Run sweep", objectName="sweep_run")
        self.run_button.clicked.connect(self.run_requested)
        self.stop_button = QPushButton("Stop", objectName="sweep_stop", enabled=False)
        self.stop_button.clicked.connect(self.stop_requested)
        go = QHBoxLayout()
        go.addWidget(self.run_button)
        go.addWidget(self.stop_button)
        # the parameters on the left, the settings and Run on the right: stacked, the form
        # left the table two rows' height in a laptop's bottom dock
        params = QVBoxLayout()
        params.addLayout(rows)
        params.addWidget(self.table, 1)
        settings = QVBoxLayout()
        settings.addLayout(form)
        settings.addWidget(self.error)
        settings.addStretch(1)
        settings.addLayout(go)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(params, 1)
        layout.addLayout(settings, 1)

    # --- rows ---------------------------------------------------------------------------------

    def add_param(self, name: str, values: str, note: str = "") -> None:
        """Add (or, when it is there, focus) the row of parameter ``name``; ``note`` is the
        name's tooltip (what the sweep changes)."""
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).text() == name:
                self.table.setCurrentCell(row, 1)
                return
        row = self.table.rowCount()
        self.table.blockSignals(True)
        self.table.insertRow(row)
        item = QTableWidgetItem(name)
        item.setToolTip(note or name)
        self.table.setItem(row, 0, item)
        self.table.setItem(row, 1, QTableWidgetItem(values))
        self.table.blockSignals(False)
        self.table.setCurrentCell(row, 1)
        self.check()

    def remove_selected(self) -> None:
        for row in sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True):
            self.table.removeRow(row)
        self.check()

    def texts(self) -> list[str]:
        """Each row as the command line writes it: ``name=values``."""
        out = []
        for row in range(self.table.rowCount()):
            name, values = (self.table.item(row, c) for c in (0, 1))
            out.append(f"{name.text().strip() if name else ''}="
                       f"{values.text().strip() if values else ''}")
        return out

    def _fill_settings(self) -> None:
        self.settings_menu.clear()
        config = self.config_source() if self.config_source is not None else None
        for name in SETTINGS:
            action = self.settings_menu.addAction(name)
            action.setObjectName(f"sweep_setting_{name}")
            action.setEnabled(config is not None)
            action.triggered.connect(
                lambda _=False, n=name: self.add_param(n, setting_values(self.config_source(),
                                                                         n)))

    # --- the definition -----------------------------------------------------------------------

    def objective_texts(self) -> list[str]:
        return [t.strip() for t in self.objectives.text().replace(";", ",").split(",")
                if t.strip()]

    def definition(self, config) -> SweepDefinition:
        """The sweep as defined; SweepError names the first bad row or objective."""
        from ...train.sweep import parse_objectives

        if not self.table.rowCount():
            raise SweepError("add a value to sweep: right-click a parameter in the inspector "
                             "(Sweep this value…) or use Add setting")
        trials = self.trials.value() or None
        return SweepDefinition(parse_params(self.texts()),
                               parse_objectives(self.objective_texts(), config),
                               self.strategy.currentText(), trials, 0)

    def check(self) -> bool:
        """Show the first problem of the rows and objectives (or none); True when none."""
        problem = ""
        try:
            for text in self.texts():
                parse_param(text)
            parse_params(self.texts())
            from ...train.sweep import parse_objective

            for text in self.objective_texts():
                parse_objective(text)
        except SweepError as exc:
            problem = str(exc)
        self.show_problem(problem)
        return not problem

    def show_problem(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))

    def set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.stop_button.setEnabled(running)

    # --- files --------------------------------------------------------------------------------

    def settings(self) -> dict:
        """The sweep in the sweep file's format."""
        params = {}
        for text in self.texts():
            name, _, values = text.partition("=")
            params[name] = values
        data: dict = {"strategy": self.strategy.currentText(), "jobs": self.jobs.value(),
                      "objectives": self.objective_texts(), "params": params}
        if self.trials.value():
            data["trials"] = self.trials.value()
        if self.name.text().strip():
            data["name"] = self.name.text().strip()
        return data

    def apply_settings(self, data: dict) -> None:
        """Fill the editor from a sweep file's settings (``load_sweep_file``'s result)."""
        self.table.setRowCount(0)
        for text in data.get("params", []):
            name, _, values = text.partition("=")
            self.add_param(name, values)
        self.strategy.setCurrentText(data.get("strategy", "tpe"))
        self.trials.setValue(int(data.get("trials") or 0))
        self.jobs.setValue(int(data.get("jobs") or 1))
        self.objectives.setText(", ".join(data.get("objectives", [])))
        self.name.setText(str(data.get("name", "")))
        self.check()

    def load_file(self, path: str | os.PathLike | None = None) -> bool:
        from ...train.sweep import load_sweep_file

        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, "Open sweep", "", SWEEP_FILTER)
            if not path:
                return False
        try:
            self.apply_settings(load_sweep_file(path))
        except SweepError as exc:
            self.show_problem(str(exc))
            return False
        return True

    def save_file(self, path: str | os.PathLike | None = None) -> bool:
        from ..files import write_failure, write_text_atomic

        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Save sweep", "sweep.toml",
                                                  SWEEP_FILTER)
            if not path:
                return False
        path = Path(path)
        data = self.settings()
        text = to_toml(data) if path.suffix.lower() == ".toml" else json.dumps(data, indent=2)
        try:
            write_text_atomic(path, text + "\n")
        except OSError as exc:
            self.show_problem(write_failure(path, exc))
            return False
        return True


def to_toml(data: dict) -> str:
    """A sweep file's settings as TOML (strings, numbers, lists of strings and one table)."""
    lines = [f"{k} = {json.dumps(v)}" for k, v in data.items() if k != "params"]
    lines.append("")
    lines.append("[params]")
    lines += [f"{json.dumps(k)} = {json.dumps(v)}" for k, v in data.get("params", {}).items()]
    return "\n".join(lines)
