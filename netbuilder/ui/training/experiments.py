"""The Experiments view: a sweep's trials in a sortable, filterable table, and in tabs beside
it the objectives in a scatter with the Pareto front, parallel coordinates, parameter
importance and the selected trials' curves.

NOTE: the table is the first tab, not a pane beside the plots: a laptop's bottom dock (1366×768)
has room for the table's numbers or for a plot, not for both side by side. Its columns are as
wide as their numbers; a long parameter name is elided in its header (whole in the tooltip).

    view = ExperimentsView()
    view.show_sweep(folder, name)              # a stored sweep (``netbuilder sweep``'s study)
    view.set_trials(definition, trials)        # or records already in hand

Selecting rows marks their trials in the scatter and overlays their curves; hovering a point
names its trial; clicking a point selects its row and asks for the trial to be opened.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ...train.sweep.study import front, load_records
from .experiments_plots import ImportanceView, ParallelCoordinates, TrialCurves
from .plots import series_color, style_plot

HEADER_MAX = 96  # the widest a column's name makes it (a longer name is elided)


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

    trial_selected = Signal(int)  # trial number (the first of the selected rows)
    selection_changed = Signal(list)  # trial numbers of the selected rows
    open_requested = Signal(int)  # a point was clicked: open that trial

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
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.itemSelectionChanged.connect(self._row_selected)
        self.filter = QLineEdit(objectName="experiments_filter")
        self.filter.setPlaceholderText("Filter trials: words that must all appear "
                                       "(complete, adam, 16…)")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.apply_filter)
        self.x_axis = QComboBox(objectName="experiments_x")
        self.y_axis = QComboBox(objectName="experiments_y")
        for box in (self.x_axis, self.y_axis):
            box.currentIndexChanged.connect(self._replot)
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("experiments_plot")
        style_plot(self.plot, "Trials")
        for side in ("left", "bottom"):  # accuracies read as 0.9, not 900 × 0.001
            self.plot.getPlotItem().getAxis(side).enableAutoSIPrefix(False)
        self.points = pg.ScatterPlotItem(size=9, pen=pg.mkPen(None), hoverable=True,
                                         hoverSize=13, tip=self._tip,
                                         brush=pg.mkBrush(series_color("train")))
        self.points.sigClicked.connect(self._point_clicked)
        self.points.sigHovered.connect(self._point_hovered)
        # the front's discs are wider than the trials' points drawn over them: a green halo
        self.front_line = pg.PlotDataItem(pen=pg.mkPen(series_color("best"), width=2),
                                          symbol="o", symbolSize=15, symbolPen=pg.mkPen(None),
                                          symbolBrush=pg.mkBrush(series_color("best")))
        self.marker = pg.ScatterPlotItem(size=16, brush=pg.mkBrush(None),
                                         pen=pg.mkPen(series_color("val"), width=2))
        for item in (self.points, self.front_line, self.marker):
            self.plot.addItem(item)
        self.points.setZValue(10)  # above the front's symbols: hover and clicks reach it
        self.status = QLabel(objectName="experiments_status")
        axes = QHBoxLayout()
        axes.addWidget(QLabel("x:"))
        axes.addWidget(self.x_axis, 1)
        axes.addWidget(QLabel("y:"))
        axes.addWidget(self.y_axis, 1)
        self.hovered = QLabel(objectName="experiments_hovered")
        self.hovered.setProperty("role", "muted")
        pareto = QWidget()
        pareto_layout = QVBoxLayout(pareto)
        pareto_layout.setContentsMargins(0, 0, 0, 0)
        pareto_layout.addLayout(axes)
        pareto_layout.addWidget(self.plot, 1)
        pareto_layout.addWidget(self.hovered)
        self.parallel = ParallelCoordinates()
        self.importance = ImportanceView()
        self.curves = TrialCurves()
        self.tabs = QTabWidget(objectName="experiments_tabs")
        for widget, title in ((pareto, "Pareto"), (self.parallel, "Parallel"),
                              (self.importance, "Importance"), (self.curves, "Curves")):
            self.tabs.addTab(widget, title)
        self.trials_tab = trials = QWidget()
        trials_layout = QVBoxLayout(trials)
        trials_layout.setContentsMargins(0, 0, 0, 0)
        trials_layout.addWidget(self.filter)
        trials_layout.addWidget(self.table, 1)
        self.tabs.insertTab(0, trials, "Trials")
        self.tabs.setCurrentIndex(0)
        header = self.table.horizontalHeader()
        header.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.status)
        layout.addWidget(self.tabs, 1)

    # --- data ---------------------------------------------------------------------------------

    def show_sweep(self, folder, name: str) -> None:
        """Load the stored sweep ``name`` from its folder."""
        definition, trials = load_records(folder, name)
        self.set_trials(definition, trials)

    def set_trials(self, definition, trials: list) -> None:
        keep = self.selected_trials()
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
        for col, name in enumerate(headers):
            self.table.horizontalHeaderItem(col).setToolTip(name)
        self.table.setSortingEnabled(True)
        self.fit_columns()
        self.apply_filter(self.filter.text())
        self.select_trials(keep)
        choices = objectives + [p for p in params if self._numeric(p)]
        for box, index in ((self.x_axis, 1 if len(choices) > 1 else 0), (self.y_axis, 0)):
            box.blockSignals(True)
            box.clear()
            box.addItems(choices)
            box.setCurrentIndex(min(index, len(choices) - 1))
            box.blockSignals(False)
        done = sum(t.state == "complete" for t in self.trials)
        title = "best trial" if len(objectives) == 1 else "on the Pareto front"
        running = sum(t.state == "running" for t in self.trials)
        self.status.setText(f"{len(self.trials)} trials, {done} complete"
                            + (f", {running} running" if running else "")
                            + f"; {len(self.front_numbers)} {title}")
        self._replot()
        self.parallel.set_trials(definition, self.trials, keep)

    def fit_columns(self) -> None:
        """Each column as wide as its values; its name gets at most ``HEADER_MAX`` pixels
        (elided in the middle beyond), so that the numbers, not the names, take the room."""
        header = self.table.horizontalHeader()
        self.table.resizeColumnsToContents()
        for col in range(self.table.columnCount()):
            values = self.table.sizeHintForColumn(col)
            name = header.sectionSizeHint(col)
            header.resizeSection(col, max(values, min(name, HEADER_MAX)))

    def trial(self, number: int):
        return next((t for t in self.trials if t.number == number), None)

    # --- filter -------------------------------------------------------------------------------

    def row_text(self, row: int) -> str:
        cells = (self.table.item(row, c) for c in range(self.table.columnCount()))
        return " ".join(c.text().lower() for c in cells if c is not None)

    def apply_filter(self, text: str) -> None:
        """Show only the rows whose cells hold every word of ``text``."""
        words = text.lower().split()
        for row in range(self.table.rowCount()):
            line = self.row_text(row)
            self.table.setRowHidden(row, not all(w in line for w in words))

    def visible_trials(self) -> list[int]:
        return [int(self.table.item(r, 0).value) for r in range(self.table.rowCount())
                if not self.table.isRowHidden(r)]

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
        self._mark(self.selected_trials())

    # --- selection ----------------------------------------------------------------------------

    def selected_trials(self) -> list[int]:
        model = self.table.selectionModel()
        rows = sorted(r.row() for r in model.selectedRows()) if model is not None else []
        items = [self.table.item(r, 0) for r in rows]
        return [int(i.value) for i in items if isinstance(i, _NumberItem)]

    def selected_trial(self) -> int | None:
        numbers = self.selected_trials()
        return numbers[0] if numbers else None

    def select_trials(self, numbers) -> None:
        want = set(numbers)
        self.table.blockSignals(True)
        self.table.clearSelection()
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if isinstance(item, _NumberItem) and int(item.value) in want:
                self._add_row(row)
        self.table.blockSignals(False)

    def _add_row(self, row: int) -> None:
        from PySide6.QtCore import QItemSelectionModel

        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        self.table.selectionModel().select(self.table.model().index(row, 0), flags)

    def select_trial(self, number: int) -> None:
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            if isinstance(item, _NumberItem) and int(item.value) == number:
                self.table.selectRow(row)
                return

    def _row_selected(self) -> None:
        numbers = self.selected_trials()
        self._mark(numbers)
        self.curves.show_runs([t.run_dir for t in map(self.trial, numbers)
                               if t is not None and t.run_dir])
        if self.definition is not None:
            self.parallel.set_trials(self.definition, self.trials, numbers)
        self.selection_changed.emit(numbers)
        if numbers:
            self.trial_selected.emit(numbers[0])

    def _mark(self, numbers: list[int]) -> None:
        xs, ys, _ = self.xy([t for t in self.trials if t.number in numbers])
        self.marker.setData(x=xs, y=ys)

    def hover_text(self, number: int) -> str:
        """What hovering trial ``number``'s point says."""
        t = self.trial(number)
        if t is None:
            return ""
        params = ", ".join(f"{k}={_short(v)}" for k, v in t.params.items())
        values = ", ".join(f"{k} {_short(v)}" for k, v in t.values.items())
        return f"trial {t.number} ({t.state}): {params}; {values}"

    def _tip(self, x, y, data) -> str:
        return self.hover_text(int(data))

    def _point_hovered(self, _item, points, *_args) -> None:
        self.hovered.setText(self.hover_text(int(points[0].data())) if len(points) else "")

    def _point_clicked(self, _item, points, *_args) -> None:
        if len(points):
            number = int(points[0].data())
            self.select_trial(number)
            self.open_requested.emit(number)


def _short(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
