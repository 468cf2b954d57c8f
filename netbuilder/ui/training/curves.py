"""Live curves: loss, a chosen metric (or the task's group of metrics) and the learning rate
against steps or epochs, named as the task names them.

The history keeps every point (``RunHistory``); the plot items receive views of those arrays
and pyqtgraph downsamples (peak method) and clips to the visible range when painting, so a
100k-step run draws as fast as a short one. Redraws are coalesced to at most 4 per second.

NOTE: axis repaints (tick text) are what a live plot costs most, so the view manages its
ranges itself (``curve_ranges``). A zoom or pan by the user turns this off for that plot until
it is double-clicked.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from .curve_ranges import fit_ranges
from .history import RunHistory
from .imaging import shrinkable
from .plots import OVERLAY, series_color, style_plot

_REDRAW_MS = 500  # live curves at 2 fps: fresh enough to follow, and half the painting of 4 fps


MAX_MEMBERS = 3  # metrics one plot draws together (a GAN: the D and G losses)


def _plain_label(name: str) -> tuple[str, str]:
    """A metric's label before any task has said how it names it."""
    return name.replace("_", " ").capitalize(), ""


def _lower(label: str) -> str:
    """"Accuracy" → "accuracy" after "val ", but "D(x)" and "KL divergence" as they are."""
    return label[0].lower() + label[1:] if label[1:2].islower() else label


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
        self._metric = "accuracy"  # the chosen entry: a metric, or a group's names joined by ","
        self._describe = _plain_label  # metric → (label, meaning): the task's metric_label
        self._groups: tuple = ()  # the task's metric_groups
        self._titles: dict[str, str] = {}  # metric box key of a group → its title

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
        bar.addStretch(1)
        # the legend sits beside the readout, whose words wrap: in the bar, beside the
        # controls, a laptop's dock (~580 px) cut it off
        self.legend = QLabel(objectName="curves_legend")
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        foot = QHBoxLayout()
        foot.setContentsMargins(0, 0, 8, 0)
        foot.addWidget(self.readout, 1)
        foot.addWidget(self.legend)

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
        layout.addLayout(foot)
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
        for i in range(MAX_MEMBERS):
            suffix = f"_{i}" if i else ""
            line(self.metric_plot, f"train_metric{suffix}", "train", train, 1.2)
            line(self.metric_plot, f"val_metric{suffix}", "validation", val, 2.0, symbol="o")
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
        style_plot(self.loss_plot, self._describe("loss")[0])
        style_plot(self.lr_plot, self._describe("lr")[0])
        self._style_metric_plot()
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
        pairs = [("train_loss", "train_loss"), ("epoch_loss", "epoch_loss"),
                 ("val_loss", "val_loss"), ("train_lr", "train_lr")]
        for i in range(MAX_MEMBERS):
            suffix = f"_{i}" if i else ""
            m = self.members[i] if i < len(self.members) else None
            pairs += [(f"train_metric{suffix}", m and f"train_{m}"),
                      (f"val_metric{suffix}", m and f"val_{m}")]
        for key, source in pairs:
            s = h.get(source) if source else None
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
            if id(plot) not in self._manual:
                fit_ranges(plot, self.extent.get(self._axis), force)

    def _draw_best(self) -> None:
        best = self.history.best()
        vb = self.loss_plot.getPlotItem().getViewBox()
        state = (best, self._axis, self.members[0], id(self.history),
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
                             (self.items["best_metric"], f"val_{self.members[0]}")):
            s = self.history.get(source)
            if s is None or not len(s):
                item.setData([], [])
                continue
            i = int(np.argmin(np.abs(s.epochs - epoch)))
            item.setData([s.x(self._axis)[i]], [s.y[i]])
        name = key.split("_", 1)[1]
        self._best_label.setText(f"best epoch {epoch}")
        self._best_label.setToolTip(f"validation {self._describe(key)[0].lower()} "
                                    f"{value:.4g}")
        (vx0, vx1), _ = self.loss_plot.getPlotItem().getViewBox().viewRange()
        # the label sits on the side of the line with room for it
        self._best_label.setAnchor((1, 0) if x > vx0 + 0.6 * (vx1 - vx0) else (0, 0))
        self._best_label.setPos(x, self._label_y())
        self.best_summary = (epoch, name, value)

    def _label_y(self) -> float:
        (_, _), (_y0, y1) = self.loss_plot.getPlotItem().getViewBox().viewRange()
        return y1

    @property
    def members(self) -> tuple[str, ...]:
        """The metrics the metric plot draws (one, or a task's group)."""
        return tuple(self._metric.split(","))

    def set_task(self, describe, groups: tuple = ()) -> None:
        """Name metrics as the task does: ``describe(name)`` → (label, meaning); ``groups``:
        (title, names) drawn together, the first one shown by default."""
        changed = describe != self._describe or tuple(groups) != self._groups
        self._describe, self._groups = describe, tuple(groups)
        if changed:
            self.metric_box.clear()  # rebuilt below with the task's labels
            self._metric = ""
            self._apply_style()
            self._update_metric_choices()
            self._invalidate()
            self.redraw()

    def _choices(self) -> list[tuple[str, str, str]]:
        """(key, label, tooltip) of each entry of the metric box: the task's groups whose
        metrics the run has, then each metric."""
        names = [n for n in self.history.metric_names() if n not in ("loss", "lr")]
        for _, other in self.overlays:
            names += [n for n in other.metric_names() if n not in ("loss", "lr", *names)]
        entries = []
        for title, group in self._groups:
            have = [n for n in group if n in names][:MAX_MEMBERS]
            if len(have) > 1:
                entries.append((",".join(have), title, self._meanings(have)))
        self._titles = {key: title for key, title, _ in entries}
        entries += [(n, self._describe(n)[0], self._meanings([n])) for n in names]
        return entries

    def _meanings(self, names) -> str:
        return "\n".join(f"{label}: {meaning}" for label, meaning in map(self._describe, names)
                         if meaning)

    def _update_metric_choices(self) -> None:
        entries = self._choices()
        keys = [key for key, _, _ in entries]
        current = [self.metric_box.itemData(i) for i in range(self.metric_box.count())]
        if keys == current:
            return
        self.metric_box.blockSignals(True)
        self.metric_box.clear()
        for key, label, tip in entries:
            self.metric_box.addItem(label, key)
            self.metric_box.setItemData(self.metric_box.count() - 1, tip,
                                        Qt.ItemDataRole.ToolTipRole)
        want = self._metric if self._metric in keys else (
            "accuracy" if "accuracy" in keys else (keys[0] if keys else self._metric))
        self._metric = want
        if want in keys:
            self.metric_box.setCurrentIndex(keys.index(want))
        self.metric_box.blockSignals(False)
        self._style_metric_plot()

    def _style_metric_plot(self) -> None:
        """Title, pens, legend and tooltip of the metric plot for the chosen metric(s)."""
        members = self.members
        group = len(members) > 1
        style_plot(self.metric_plot, self._titles.get(self._metric)
                   or self._describe(members[0])[0])
        item = self.metric_plot.getPlotItem()
        if item.legend is None and group:
            item.addLegend(offset=(-6, 6), labelTextSize="8pt")
        if item.legend is not None:
            item.legend.clear()
            item.legend.setVisible(group)
        for i in range(MAX_MEMBERS):
            suffix = f"_{i}" if i else ""
            train, val = self.items[f"train_metric{suffix}"], self.items[f"val_metric{suffix}"]
            train.setVisible(i < len(members))
            val.setVisible(i < len(members))
            if i >= len(members):
                continue
            if group:  # one hue per metric; validation drawn thicker with dots
                color = OVERLAY[(2 * i) % len(OVERLAY)]
                train.setPen(pg.mkPen(color, width=1.2))
                val.setPen(pg.mkPen(color, width=2.0))
                val.setSymbolBrush(color)
                val.setSymbolPen(pg.mkPen(color))
                item.legend.addItem(train, self._describe(members[i])[0])
            else:
                train.setPen(pg.mkPen(series_color("train"), width=1.2))
                val.setPen(pg.mkPen(series_color("val"), width=2.0))
                val.setSymbolBrush(series_color("val"))
                val.setSymbolPen(pg.mkPen(series_color("val")))
        self.metric_plot.setToolTip(self._meanings(members))
        self.loss_plot.setToolTip(self._meanings(["loss"]))
        self.lr_plot.setToolTip(self._meanings(["lr"]))

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
                               (self.metric_plot, (f"val_{self.members[0]}",
                                                   f"train_{self.members[0]}")),
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
        self._style_metric_plot()
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
        rows = []
        for m in ("loss", *self.members):
            rows += [(f"train_{m}", f"train {_lower(self._describe(m)[0])}", "train"),
                     (f"val_{m}", f"val {_lower(self._describe(m)[0])}", "val")]
        for key, label, color in [*rows, ("train_lr", "lr", "lr")]:
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
