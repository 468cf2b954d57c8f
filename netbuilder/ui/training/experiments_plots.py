"""The Experiments view's other tabs: parallel coordinates of the trials, parameter
importance (Optuna's evaluators, computed off the GUI thread), and the selected trials'
curves overlaid with what differs between them (as the Runs panel shows runs)."""
from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from ..theme import colors
from .plots import series_color, style_plot


def _axis_values(trials, key: str) -> list:
    out = []
    for t in trials:
        v = t.values.get(key, t.params.get(key))
        out.append(v)
    return out


def normalise(values: list) -> tuple[list, list[tuple[float, str]]]:
    """Values placed on a 0..1 axis and the axis's tick labels: numbers by value (None stays
    None), anything else (words, true/false) evenly by first appearance."""
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if len(numbers) == len([v for v in values if v is not None]) and numbers:
        lo, hi = min(numbers), max(numbers)
        span = (hi - lo) or 1.0
        placed = [None if v is None else (v - lo) / span for v in values]
        ticks = [(0.0, f"{lo:.4g}"), (1.0, f"{hi:.4g}")] if hi != lo else [(0.0, f"{lo:.4g}")]
        return placed, ticks
    words = list(dict.fromkeys(str(v) for v in values if v is not None))
    where = {w: (i / (len(words) - 1) if len(words) > 1 else 0.5) for i, w in enumerate(words)}
    return ([None if v is None else where[str(v)] for v in values],
            [(p, w) for w, p in where.items()])


class ParallelCoordinates(QWidget):
    """One vertical axis per parameter and objective; one line per complete trial, coloured
    from worst to best of the first objective (the selected trials drawn thick)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("experiments_parallel")
        self.plot = pg.PlotWidget()
        style_plot(self.plot, "Parallel coordinates")
        self.plot.getPlotItem().getAxis("left").setTicks([[(0, "low"), (1, "high")]])
        self.plot.setMouseEnabled(False, False)
        self.lines: dict[int, pg.PlotDataItem] = {}
        self.keys: list[str] = []
        self.labels: list[pg.TextItem] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)

    def set_trials(self, definition, trials, selected=()) -> None:
        item = self.plot.getPlotItem()
        for line in self.lines.values():
            item.removeItem(line)
        for label in self.labels:
            item.removeItem(label)
        self.lines, self.labels = {}, []
        done = [t for t in trials if t.state == "complete"]
        self.keys = [d.name for d in definition.params] + [o.name for o in definition.objectives]
        columns = [normalise(_axis_values(done, k)) for k in self.keys]
        item.getAxis("bottom").setTicks([[(i, k) for i, k in enumerate(self.keys)]])
        for i, (_placed, ticks) in enumerate(columns):
            for y, text in ticks:
                label = pg.TextItem(text, color=colors()["muted"], anchor=(0, 0.5))
                label.setPos(i + 0.04, y)  # beside its axis, not on the lines' ends
                item.addItem(label)
                self.labels.append(label)
        first = definition.objectives[0] if definition.objectives else None
        score = columns[len(definition.params)][0] if first is not None and done else []
        for row, t in enumerate(done):
            ys = [col[0][row] for col in columns]
            if any(y is None for y in ys):
                continue
            good = score[row] if score and score[row] is not None else 0.5
            if first is not None and first.direction == "min":
                good = 1 - good
            color = QColor(series_color("val")) if good < 0.5 else QColor(series_color("best"))
            color.setAlphaF(min(1.0, 0.4 + 1.2 * abs(good - 0.5)))  # the extremes stand out
            width = 3.5 if t.number in selected else 1.4
            line = item.plot(list(range(len(ys))), ys, pen=pg.mkPen(color, width=width))
            self.lines[t.number] = line
        item.setXRange(-0.35, len(self.keys) - 0.5, padding=0)
        item.setYRange(-0.05, 1.05, padding=0)


class ImportanceView(QWidget):
    """Horizontal bars: each parameter's share of each objective's variation."""

    evaluator_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("experiments_importance")
        self.evaluator = QComboBox(objectName="importance_evaluator")
        self.evaluator.addItem("fANOVA", "fanova")
        self.evaluator.addItem("Mean decrease in impurity", "mean_decrease_impurity")
        self.evaluator.currentIndexChanged.connect(
            lambda _i: self.evaluator_changed.emit(self.evaluator.currentData()))
        self.objective = QComboBox(objectName="importance_objective")
        self.objective.currentIndexChanged.connect(lambda _i: self._draw())
        self.status = QLabel(objectName="importance_status", wordWrap=True)
        self.status.setProperty("role", "muted")
        self.plot = pg.PlotWidget()
        style_plot(self.plot, "Parameter importance")
        self.plot.setMouseEnabled(False, False)
        self.bars: pg.BarGraphItem | None = None
        self.scores: dict[str, dict[str, float]] = {}
        top = QHBoxLayout()
        top.addWidget(QLabel("Evaluator"))
        top.addWidget(self.evaluator, 1)
        top.addWidget(QLabel("for"))
        top.addWidget(self.objective, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.status)
        layout.addWidget(self.plot, 1)

    def set_busy(self) -> None:
        self.status.setText("Rating the parameters…")

    def set_scores(self, scores: dict[str, dict[str, float]]) -> None:
        self.scores = scores
        keep = self.objective.currentText()
        self.objective.blockSignals(True)
        self.objective.clear()
        self.objective.addItems(list(scores))
        if keep in scores:
            self.objective.setCurrentText(keep)
        self.objective.blockSignals(False)
        self.status.setText("" if scores else "Importance needs two or more complete trials "
                                              "with different values.")
        self._draw()

    def set_failed(self, text: str) -> None:
        self.scores = {}
        self.status.setText(text)
        self._draw()

    def shown_scores(self) -> dict[str, float]:
        return self.scores.get(self.objective.currentText(), {})

    def _draw(self) -> None:
        item = self.plot.getPlotItem()
        if self.bars is not None:
            item.removeItem(self.bars)
            self.bars = None
        scores = sorted(self.shown_scores().items(), key=lambda kv: kv[1])
        if not scores:
            item.getAxis("left").setTicks([[]])
            return
        self.bars = pg.BarGraphItem(x0=0, y=list(range(len(scores))), height=0.6,
                                    width=[v for _, v in scores],
                                    brush=pg.mkBrush(series_color("train")), pen=pg.mkPen(None))
        item.addItem(self.bars)
        item.getAxis("left").setTicks([[(i, k) for i, (k, _) in enumerate(scores)]])
        item.setXRange(0, 1, padding=0.02)
        item.setYRange(-0.6, len(scores) - 0.4, padding=0)


class TrialCurves(QWidget):
    """The selected trials' curves over each other and what differs between them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from .runs import RunComparison

        self.setObjectName("experiments_curves")
        self.comparison = RunComparison("experiments", "Select trials in the table (Ctrl+click "
                                                       "for several) to overlay their curves "
                                                       "and see what differs.")
        self.curves, self.changes = self.comparison.curves, self.comparison.changes
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.comparison)
        self.shown: list = []

    def show_runs(self, run_dirs: list) -> None:
        from .run_store import read_run

        self.shown = [r for r in (read_run(Path(p)) for p in run_dirs if p) if r is not None]
        self.comparison.show_runs(self.shown)
