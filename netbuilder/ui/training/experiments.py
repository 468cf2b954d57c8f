"""The Experiments view: a sweep's trials in a sortable table and its objectives in a scatter
with the Pareto front drawn over them.

    view = ExperimentsView()
    view.show_sweep(folder, name)              # a stored sweep (``netbuilder sweep``'s study)
    view.set_trials(definition, trials)        # or records already in hand

Selecting a row marks its trial in the scatter; clicking a point selects its row.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...train.sweep.study import front, load_records
from .plots import series_color, style_plot


class _NumberItem(QTableWidgetItem):
    """A cell that sorts by its number, not its text (10 after 9)."""

    def __init__(self, text: str, value: float | None):
        super().__init__(text)
        self.value = value
        self.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def __lt__(self, other) -> bool:
        if isinstance(other, _NumberItem):
            a = float("inf") if self.value is None else self.value
            b = float("inf") if other.value is None else other.value
            return a < b
        return super().__lt__(other)


def _cell(value) -> QTableWidgetItem:
    if value is None:  # a trial without this value: sorts after every number
        return _NumberItem("", None)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return QTableWidgetItem("" if value is None else str(value))
    text = f"{value:.4g}" if isinstance(value, float) else str(value)
    return _NumberItem(text, float(value))


class ExperimentsView(QWidget):
    """Trials table + Pareto scatter of one sweep."""

    trial_selected = Signal(int)  # trial number

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("experiments_view")
        self.definition = None
        self.trials: list = []
        self.front_numbers: list[int] = []
        self.table = QTableWidget(0, 0)
        self.table.setObjectName("experiments_table")
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.itemSelectionChanged.connect(self._row_selected)
        self.x_axis = QComboBox(objectName="experiments_x")
        self.y_axis = QComboBox(objectName="experiments_y")
        for box in (self.x_axis, self.y_axis):
            box.currentIndexChanged.connect(self._replot)
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("experiments_plot")
        style_plot(self.plot, "Trials")
        for side in ("left", "bottom"):  # accuracies read as 0.9, not 900 × 0.001
            self.plot.getPlotItem().getAxis(side).enableAutoSIPrefix(False)
        self.points = pg.ScatterPlotItem(size=9, pen=pg.mkPen(None),
                                         brush=pg.mkBrush(series_color("train")))
        self.points.sigClicked.connect(self._point_clicked)
        self.front_line = pg.PlotDataItem(pen=pg.mkPen(series_color("best"), width=2),
                                          symbol="o", symbolSize=11,
                                          symbolBrush=pg.mkBrush(series_color("best")))
        self.marker = pg.ScatterPlotItem(size=16, brush=pg.mkBrush(None),
                                         pen=pg.mkPen(series_color("val"), width=2))
        for item in (self.points, self.front_line, self.marker):
            self.plot.addItem(item)
        self.status = QLabel(objectName="experiments_status")
        axes = QHBoxLayout()
        axes.addWidget(QLabel("x:"))
        axes.addWidget(self.x_axis, 1)
        axes.addWidget(QLabel("y:"))
        axes.addWidget(self.y_axis, 1)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addLayout(axes)
        right_layout.addWidget(self.plot, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(right)
        split.setSizes([520, 420])
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(split, 1)

    # --- data ---------------------------------------------------------------------------------

    def show_sweep(self, folder, name: str) -> None:
        """Load the stored sweep ``name`` from its folder."""
        definition, trials = load_records(folder, name)
        self.set_trials(definition, trials)

    def set_trials(self, definition, trials: list) -> None:
        self.definition, self.trials = definition, list(trials)
        self.front_numbers = [t.number for t in front(self.trials, definition)]
        params = [d.name for d in definition.params]
        objectives = [o.name for o in definition.objectives]
        headers = ["#", "state", *params, *objectives, "time (s)", "front"]
        self.table.setSortingEnabled(False)
        self.table.clear()
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setRowCount(len(self.trials))
        for row, t in enumerate(self.trials):
            cells = [t.number, t.state, *(t.params.get(p) for p in params),
                     *(t.values.get(o) for o in objectives), t.duration_s,
                     "★" if t.number in self.front_numbers else ""]
            for col, value in enumerate(cells):
                item = _cell(value)
                if col == 1 and t.error:
                    item.setToolTip(t.error)
                self.table.setItem(row, col, item)
        self.table.setSortingEnabled(True)
        self.table.resizeColumnsToContents()
        choices = objectives + [p for p in params if self._numeric(p)]
        for box, index in ((self.x_axis, 1 if len(choices) > 1 else 0), (self.y_axis, 0)):
            box.blockSignals(True)
            box.clear()
            box.addItems(choices)
            box.setCurrentIndex(min(index, len(choices) - 1))
            box.blockSignals(False)
        done = sum(t.state == "complete" for t in self.trials)
        title = "best trial" if len(objectives) == 1 else "on the Pareto front"
        self.status.setText(f"{len(self.trials)} trials, {done} complete; "
                            f"{len(self.front_numbers)} {title}")
        self._replot()

    def _numeric(self, param: str) -> bool:
        return all(isinstance(t.params.get(param), (int, float)) for t in self.trials
                   if param in t.params)

    def _value(self, trial, key: str):
        value = trial.values.get(key, trial.params.get(key))
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    def xy(self, trials) -> tuple[list, list, list]:
        """(x values, y values, trial numbers) of the trials that have both axes."""
        xs, ys, numbers = [], [], []
        for t in trials:
            x = self._value(t, self.x_axis.currentText())
            y = self._value(t, self.y_axis.currentText())
            if x is not None and y is not None:
                xs.append(x)
                ys.append(y)
                numbers.append(t.number)
        return xs, ys, numbers

    def _replot(self) -> None:
        xs, ys, numbers = self.xy(self.trials)
        self.points.setData(x=xs, y=ys, data=numbers)
        on_front = [t for t in self.trials if t.number in self.front_numbers]
        fx, fy, _ = self.xy(on_front)
        order = sorted(range(len(fx)), key=lambda i: fx[i])
        self.front_line.setData([fx[i] for i in order], [fy[i] for i in order])
        item = self.plot.getPlotItem()
        item.setLabel("bottom", self.x_axis.currentText())
        item.setLabel("left", self.y_axis.currentText())
        self._mark(self.selected_trial())

    # --- selection ----------------------------------------------------------------------------

    def selected_trial(self) -> int | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        return int(item.value) if isinstance(item, _NumberItem) else None

    def select_trial(self, number: int) -> None:
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if isinstance(item, _NumberItem) and int(item.value) == number:
                self.table.selectRow(row)
                return

    def _row_selected(self) -> None:
        number = self.selected_trial()
        self._mark(number)
        if number is not None:
            self.trial_selected.emit(number)

    def _mark(self, number: int | None) -> None:
        trial = [t for t in self.trials if t.number == number]
        xs, ys, _ = self.xy(trial)
        self.marker.setData(x=xs, y=ys)

    def _point_clicked(self, _item, points, *_args) -> None:
        if len(points):
            self.select_trial(int(points[0].data()))
