"""Live curves: loss, a chosen metric and the learning rate against steps or epochs.

The history keeps every point (``RunHistory``); the plot items receive views of those arrays
and pyqtgraph downsamples (peak method) and clips to the visible range when painting, so a
100k-step run draws as fast as a short one. Redraws are coalesced to at most 4 per second.

NOTE: axis repaints (tick text) are what a live plot costs most, so the view manages its
ranges itself: the x axis grows in "nice" steps ahead of the data (never past the run's end),
and the y range only moves when the data leave it or shrink to a third of it. A zoom or pan by
the user turns this off for that plot until it is double-clicked.
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from .history import RunHistory
from .imaging import shrinkable
from .plots import OVERLAY, series_color, style_plot

_REDRAW_MS = 500  # live curves at 2 fps: fresh enough to follow, and half the painting of 4 fps


def _nice_step(x: float) -> float:
    """1, 2 or 5 times a power of ten, at least ``x``."""
    if x <= 0 or not math.isfinite(x):
        return 1.0
    exp = math.floor(math.log10(x))
    for m in (1.0, 2.0, 5.0, 10.0):
        if m * 10.0 ** exp >= x:
            return m * 10.0 ** exp
    return 10.0 ** (exp + 1)


def _nice_ceil(x: float) -> float:
    """The smallest of 1, 2, 2.5, 5 or 10 times a power of ten that is at least ``x``."""
    if x <= 0 or not math.isfinite(x):
        return 1.0
    exp = math.floor(math.log10(x))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if m * 10.0 ** exp >= x:
            return m * 10.0 ** exp
    return 10.0 ** (exp + 1)


def _pretty(name: str) -> str:
    return {"loss": "Loss", "accuracy": "Accuracy", "lr": "Learning rate",
            "grad_norm": "Gradient norm", "top5": "Top-5 accuracy"}.get(
        name, name.replace("_", " ").capitalize())


class CurvesView(QWidget):
    """Training/validation loss and metrics, learning rate, best-epoch marker, hover read-out."""

    redrawn = Signal()  # after the plot items received new data

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("training_curves")
        self.history = RunHistory()
        self.overlays: list[tuple[str, RunHistory]] = []
        self._drawn_version = -1
        self._drawn: dict[str, tuple] = {}  # plot item -> what it shows now
        self._best_state: tuple | None = None  # what the best-epoch marks show now
        self.best_summary: tuple | None = None
        self.extent: dict[str, float] = {}  # axis -> end of the run on it (total steps/epochs)
        self._manual: set[int] = set()  # plots the user zoomed or panned
        self._axis = "step"
        self._metric = "accuracy"

        self.axis_box = QComboBox(objectName="curves_axis")
        self.axis_box.addItem("Steps", "step")
        self.axis_box.addItem("Epochs", "epoch")
        self.axis_box.currentIndexChanged.connect(self._axis_changed)
        self.metric_box = QComboBox(objectName="curves_metric")
        self.metric_box.setMinimumContentsLength(10)
        self.metric_box.currentIndexChanged.connect(self._metric_changed)
        self.log_box = QCheckBox("Log scale", objectName="curves_log")
        self.log_box.toggled.connect(self._log_toggled)
        self.readout = QLabel(objectName="curves_readout")
        self.readout.setProperty("role", "muted")
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        shrinkable(self.readout)

        bar = QHBoxLayout()
        bar.setContentsMargins(6, 4, 6, 0)
        bar.setSpacing(8)
        bar.addWidget(QLabel("X axis"))
        bar.addWidget(self.axis_box)
        bar.addWidget(QLabel("Metric"))
        bar.addWidget(self.metric_box)
        bar.addWidget(self.log_box)
        self.legend = QLabel(objectName="curves_legend")
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.legend.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        bar.addWidget(self.legend, 1)

        self.loss_plot = pg.PlotWidget(objectName="curves_loss_plot")
        self.metric_plot = pg.PlotWidget(objectName="curves_metric_plot")
        self.lr_plot = pg.PlotWidget(objectName="curves_lr_plot")
        self.plots = (self.loss_plot, self.metric_plot, self.lr_plot)
        self.items: dict[str, pg.PlotDataItem] = {}
        self._best_lines: list[pg.InfiniteLine] = []
        self._cursor_lines: list[pg.InfiniteLine] = []
        self._overlay_items: list[tuple[pg.PlotWidget, pg.PlotDataItem]] = []
        self._build_items()

        split = QSplitter(Qt.Orientation.Horizontal)
        split.setChildrenCollapsible(False)
        split.addWidget(self.loss_plot)
        split.addWidget(self.metric_plot)
        split.addWidget(self.lr_plot)
        split.setStretchFactor(0, 5)
        split.setStretchFactor(1, 4)
        split.setStretchFactor(2, 3)
        for plot in self.plots:  # three plots side by side fit a laptop's bottom dock
            plot.setMinimumWidth(130)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(bar)
        layout.addWidget(split, 1)
        layout.addWidget(self.readout)
        self.readout.setContentsMargins(8, 0, 8, 4)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(_REDRAW_MS)
        self._timer.timeout.connect(self.redraw)
        self._proxies = [pg.SignalProxy(p.scene().sigMouseMoved, rateLimit=30,
                                        slot=lambda ev, p=p: self._hover(p, ev[0]))
                         for p in self.plots]
        for p in self.plots:
            vb = p.getPlotItem().getViewBox()
            vb.sigRangeChangedManually.connect(lambda *_a, p=p: self._manual.add(id(p)))
            p.scene().sigMouseClicked.connect(lambda ev, p=p: self._clicked(p, ev))
        self._apply_style()
        self._set_readout_idle()

    # --- plot items -----------------------------------------------------------------------

    def _build_items(self) -> None:
        for p in self.plots:
            p.clear()
        self.items.clear()
        self._best_lines.clear()
        self._cursor_lines.clear()

        def line(plot, key, label, color, width, symbol=None, style=Qt.PenStyle.SolidLine):
            item = plot.plot([], [], name=label,
                             pen=pg.mkPen(color, width=width, style=style),
                             symbol=symbol, symbolSize=6, symbolBrush=color,
                             symbolPen=pg.mkPen(color))
            item.setDownsampling(auto=True, method="peak")
            item.setClipToView(True)
            self.items[key] = item

        train, val = series_color("train"), series_color("val")
        line(self.loss_plot, "train_loss", "train", train, 1.2)
        line(self.loss_plot, "epoch_loss", "train (epoch)", series_color("train_epoch"), 1.6,
             style=Qt.PenStyle.DashLine)
        line(self.loss_plot, "val_loss", "validation", val, 2.0, symbol="o")
        line(self.metric_plot, "train_metric", "train", train, 1.2)
        line(self.metric_plot, "val_metric", "validation", val, 2.0, symbol="o")
        line(self.lr_plot, "train_lr", "lr", series_color("lr"), 1.6)
        for key, plot in (("best_loss", self.loss_plot), ("best_metric", self.metric_plot)):
            star = plot.plot([], [], pen=None, symbol="star", symbolSize=16,
                             symbolBrush=series_color("best"), symbolPen=pg.mkPen("w", width=0.8))
            self.items[key] = star
        for p in self.plots:
            best = pg.InfiniteLine(angle=90, movable=False,
                                   pen=pg.mkPen(series_color("best"), width=1.2,
                                                style=Qt.PenStyle.DashLine))
            best.setVisible(False)
            p.addItem(best, ignoreBounds=True)
            self._best_lines.append(best)
            cursor = pg.InfiniteLine(angle=90, movable=False,
                                     pen=pg.mkPen(series_color("cursor"), width=1))
            cursor.setVisible(False)
            p.addItem(cursor, ignoreBounds=True)
            self._cursor_lines.append(cursor)
        self._best_label = pg.TextItem(anchor=(0, 0), color=series_color("best"))
        self._best_label.setVisible(False)
        self.loss_plot.addItem(self._best_label, ignoreBounds=True)
        self._overlay_items.clear()

    def _apply_style(self) -> None:
        self.legend.setText(
            f"<span style='color:{series_color('train')}'>━</span> train &nbsp;"
            f"<span style='color:{series_color('train_epoch')}'>┅</span> epoch mean &nbsp;"
            f"<span style='color:{series_color('val')}'>━●</span> val &nbsp;"
            f"<span style='color:{series_color('best')}'>★</span> best")
        style_plot(self.loss_plot, "Loss")
        style_plot(self.metric_plot, _pretty(self._metric))
        style_plot(self.lr_plot, "Learning rate")
        for p in self.plots:
            p.setLabel("bottom", self._axis)
        self.lr_plot.getPlotItem().getAxis("left").enableAutoSIPrefix(False)

    def changeEvent(self, event) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._build_items()
            self._apply_style()
            self._invalidate()
            self.redraw()
            self.set_overlays(self.overlays)
        super().changeEvent(event)

    # --- data -----------------------------------------------------------------------------

    def reset(self, history: RunHistory | None = None) -> None:
        """Show a new (empty or loaded) history."""
        self.history = history if history is not None else RunHistory()
        self.extent = {}
        self._manual.clear()
        self._invalidate()
        self._update_metric_choices()
        self.redraw()

    def _invalidate(self) -> None:
        """The next redraw sets every item's data again (new items, axis or metric)."""
        self._drawn_version = -1
        self._drawn.clear()
        self._best_state = None

    def schedule_redraw(self) -> None:
        """Ask for a redraw; many calls within 500 ms draw once; a hidden view draws when it
        is shown again."""
        if self.isVisible() and not self._timer.isActive():
            self._timer.start()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        self.redraw()

    def point_count(self, key: str) -> int:
        """How many points the plot item for ``key`` holds (``train_loss``, ``val_metric``...)."""
        x, _ = self.items[key].getOriginalDataset()
        return 0 if x is None else len(x)

    def redraw(self) -> None:
        h = self.history
        if h.version == self._drawn_version:
            return
        self._drawn_version = h.version
        self._update_metric_choices()
        ax = self._axis
        m = self._metric
        for key, source in (("train_loss", "train_loss"), ("epoch_loss", "epoch_loss"),
                            ("val_loss", "val_loss"), ("train_metric", f"train_{m}"),
                            ("val_metric", f"val_{m}"), ("train_lr", "train_lr")):
            s = h.get(source)
            n = 0 if s is None else len(s)
            drawn = (id(h), source, ax, n)
            if self._drawn.get(key) == drawn:
                continue  # unchanged (validation points arrive once an epoch): no repaint
            self._drawn[key] = drawn
            if not n:
                self.items[key].setData([], [])
            else:
                self.items[key].setData(s.x(ax), s.y)
        self.manage_ranges()
        self._draw_best()
        self.redrawn.emit()

    def set_extent(self, total_steps: int, epochs: int) -> None:
        """The run's length: the x axis spans it from the start."""
        self.extent = {"step": float(max(total_steps, 1)), "epoch": float(max(epochs, 1))}
        self._manual.clear()
        self.manage_ranges()

    def _clicked(self, plot, event) -> None:
        if event.double():
            self._manual.discard(id(plot))
            self.manage_ranges(force=True)

    def manage_ranges(self, force: bool = False) -> None:
        """Keep each plot's view on its data without a new range at every point."""
        for plot in self.plots:
            if id(plot) in self._manual:
                continue
            item = plot.getPlotItem()
            xs, ys = [], []
            log_y = bool(item.ctrl.logYCheck.isChecked())
            for it in item.listDataItems():
                x, y = it.getOriginalDataset()  # all points, not only the visible ones
                if x is None or not len(x):
                    continue
                x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
                ok = np.isfinite(y) & ((y > 0) if log_y else True)
                xs.append(x[ok])
                ys.append(np.log10(y[ok]) if log_y else y[ok])
            vb = item.getViewBox()
            vb.disableAutoRange()
            (x0, x1), (y0, y1) = vb.viewRange()
            end = self.extent.get(self._axis)
            data_end = max((float(x.max()) for x in xs if len(x)), default=1.0)
            # room to grow in nice steps (so the axis moves rarely), never beyond the run's end
            want_x1 = _nice_ceil(data_end * 1.2)
            if end:
                want_x1 = min(want_x1, end)
            want_x1 = max(want_x1, data_end)
            stale = data_end > x1 or (end and x1 > end * 1.05) or x0 < -0.05 * x1
            if force or stale or x1 <= 0:
                vb.setXRange(0.0, want_x1, padding=0.02)
            values = np.concatenate(ys) if ys else np.array([])
            if not len(values):
                continue
            lo, hi = float(values.min()), float(values.max())
            nonneg = lo >= 0 and not log_y  # a loss or an accuracy never goes below 0
            span = hi - lo
            if span <= 1e-12 * max(abs(hi), 1e-30):
                span = abs(hi) * 0.5 or 1.0
                lo, hi = lo - span, hi + span
                span = hi - lo
            inside = y0 <= lo and hi <= y1
            too_wide = (y1 - y0) > 3.0 * span
            if force or not inside or too_wide:
                step = _nice_step(span / 4)
                bottom = np.floor((lo - 0.05 * span) / step) * step
                top = np.ceil((hi + 0.05 * span) / step) * step
                if nonneg:
                    bottom = max(bottom, 0.0)
                # a little room above, so that a curve at the bound (accuracy 1.0) is not on
                # the frame; none below a zero floor
                pad = 0.02 * (top - bottom)
                vb.setYRange(bottom if nonneg and bottom == 0 else bottom - pad, top + pad,
                             padding=0)

    def _draw_best(self) -> None:
        best = self.history.best()
        vb = self.loss_plot.getPlotItem().getViewBox()
        state = (best, self._axis, self._metric, id(self.history),
                 self.loss_plot.getPlotItem().ctrl.logYCheck.isChecked(),
                 tuple(map(tuple, vb.viewRange())))
        if state == self._best_state:
            return  # unchanged: the star, the line and the label stay where they are
        self._best_state = state
        for line in self._best_lines:
            line.setVisible(best is not None)
        self._best_label.setVisible(best is not None)
        if best is None:
            self.best_summary = None
            self.items["best_loss"].setData([], [])
            self.items["best_metric"].setData([], [])
            return
        epoch, step, value, key = best
        x = step if self._axis == "step" else epoch
        for line in self._best_lines:
            line.setValue(x)
        for item, source in ((self.items["best_loss"], "val_loss"),
                             (self.items["best_metric"], f"val_{self._metric}")):
            s = self.history.get(source)
            if s is None or not len(s):
                item.setData([], [])
                continue
            i = int(np.argmin(np.abs(s.epochs - epoch)))
            item.setData([s.x(self._axis)[i]], [s.y[i]])
        name = key.split("_", 1)[1]
        self._best_label.setText(f"best epoch {epoch}")
        self._best_label.setToolTip(f"{key.replace('_', ' ')} {value:.4g}")
        (vx0, vx1), _ = self.loss_plot.getPlotItem().getViewBox().viewRange()
        # the label sits on the side of the line with room for it
        self._best_label.setAnchor((1, 0) if x > vx0 + 0.6 * (vx1 - vx0) else (0, 0))
        self._best_label.setPos(x, self._label_y())
        self.best_summary = (epoch, name, value)

    def _label_y(self) -> float:
        (_, _), (_y0, y1) = self.loss_plot.getPlotItem().getViewBox().viewRange()
        return y1

    def _update_metric_choices(self) -> None:
        names = [n for n in self.history.metric_names() if n not in ("loss", "lr")]
        for _, other in self.overlays:
            names += [n for n in other.metric_names() if n not in ("loss", "lr", *names)]
        current = [self.metric_box.itemData(i) for i in range(self.metric_box.count())]
        if names == current:
            return
        self.metric_box.blockSignals(True)
        self.metric_box.clear()
        for n in names:
            self.metric_box.addItem(_pretty(n), n)
        want = self._metric if self._metric in names else (
            "accuracy" if "accuracy" in names else (names[0] if names else self._metric))
        self._metric = want
        if want in names:
            self.metric_box.setCurrentIndex(names.index(want))
        self.metric_box.blockSignals(False)
        style_plot(self.metric_plot, _pretty(self._metric))

    # --- overlays (Runs panel) --------------------------------------------------------------

    def set_overlays(self, runs: list[tuple[str, RunHistory]]) -> None:
        """Draw other runs' curves (validation when they have it, else training) dashed."""
        for plot, item in self._overlay_items:
            plot.removeItem(item)
        self._overlay_items.clear()
        self.overlays = list(runs)
        if self.overlays and self.loss_plot.getPlotItem().legend is None:
            self.loss_plot.getPlotItem().addLegend(offset=(-8, 8), labelTextSize="8pt")
        for i, (label, h) in enumerate(self.overlays):
            color = OVERLAY[i % len(OVERLAY)]
            for plot, keys in ((self.loss_plot, ("val_loss", "epoch_loss", "train_loss")),
                               (self.metric_plot, (f"val_{self._metric}",
                                                   f"train_{self._metric}")),
                               (self.lr_plot, ("train_lr",))):
                s = next((h.get(k) for k in keys if h.get(k) is not None and len(h.get(k))),
                         None)
                if s is None:
                    continue
                item = plot.plot(s.x(self._axis), s.y,
                                 pen=pg.mkPen(color, width=1.6, style=Qt.PenStyle.DashLine),
                                 name=label if plot is not self.lr_plot else None)
                item.setDownsampling(auto=True, method="peak")
                item.setClipToView(True)
                self._overlay_items.append((plot, item))
        self._update_metric_choices()
        self.manage_ranges(force=True)

    # --- controls -------------------------------------------------------------------------

    def _axis_changed(self) -> None:
        self._axis = self.axis_box.currentData()
        for p in self.plots:
            p.setLabel("bottom", self._axis)
        self._invalidate()
        self.redraw()
        self.set_overlays(self.overlays)
        self.manage_ranges(force=True)

    def _metric_changed(self) -> None:
        if self.metric_box.currentData():
            self._metric = self.metric_box.currentData()
        style_plot(self.metric_plot, _pretty(self._metric))
        self._invalidate()
        self.redraw()
        self.set_overlays(self.overlays)

    def _log_toggled(self, on: bool) -> None:
        self.loss_plot.getPlotItem().setLogMode(y=on)
        self.manage_ranges(force=True)
        self._draw_best()

    def set_log_scale(self, on: bool) -> None:
        self.log_box.setChecked(on)

    # --- hover read-out ---------------------------------------------------------------------

    def _set_readout_idle(self) -> None:
        self.readout.setText("Hover a plot to read its values.")

    def _hover(self, plot: pg.PlotWidget, pos) -> None:
        vb = plot.getPlotItem().getViewBox()
        if not plot.sceneBoundingRect().contains(pos):
            return
        x = vb.mapSceneToView(pos).x()
        self.readout.setText(self.readout_at(x) or "")
        for line in self._cursor_lines:
            line.setValue(x)
            line.setVisible(True)

    def readout_at(self, x: float) -> str:
        """The values of every series nearest to ``x`` on the current axis, as rich text."""
        parts = []
        where = None
        for key, label, color in (("train_loss", "train loss", "train"),
                                  ("val_loss", "val loss", "val"),
                                  (f"train_{self._metric}", f"train {self._metric}", "train"),
                                  (f"val_{self._metric}", f"val {self._metric}", "val"),
                                  ("train_lr", "lr", "lr")):
            s = self.history.get(key)
            if s is None or not len(s):
                continue
            xs = s.x(self._axis)
            i = int(np.clip(np.searchsorted(xs, x), 0, len(xs) - 1))
            if i > 0 and abs(xs[i - 1] - x) < abs(xs[i] - x):
                i -= 1
            if where is None:
                where = (s.steps[i], s.epochs[i])
            parts.append(f"<span style='color:{series_color(color)}'>■</span> {label} "
                         f"<b>{s.y[i]:.4g}</b>")
        if where is None:
            return ""
        head = f"step {int(where[0]):,} · epoch {where[1]:.2f}"
        return head + " &nbsp; " + " &nbsp; ".join(parts)
