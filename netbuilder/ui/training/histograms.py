"""Weight and gradient histograms per layer, with the first histogram of the run as a ghost."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QSplitter, QVBoxLayout, QWidget

from .plots import series_color, style_plot


def _stats(hist) -> tuple[float, float, int]:
    """(mean, std, count) of a histogram (counts, edges)."""
    counts, edges = np.asarray(hist[0], dtype=np.float64), np.asarray(hist[1], dtype=np.float64)
    n = counts.sum()
    if n <= 0:
        return 0.0, 0.0, 0
    centres = (edges[:-1] + edges[1:]) / 2
    mean = float((counts * centres).sum() / n)
    std = float(np.sqrt(max((counts * (centres - mean) ** 2).sum() / n, 0.0)))
    return mean, std, int(n)


class HistogramsView(QWidget):
    """Pick a layer; its weight and gradient distributions update live."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("histograms")
        self.latest = None  # the last Histograms event
        self.first: dict[str, tuple] = {}  # layer -> first weight histogram of the run
        self.layers = QListWidget(objectName="histograms_layers")
        self.layers.setMaximumWidth(180)
        self.layers.currentTextChanged.connect(lambda _t: self._draw())
        self.weight_plot = pg.PlotWidget(objectName="histograms_weights")
        self.grad_plot = pg.PlotWidget(objectName="histograms_grads")
        self.caption = QLabel("", objectName="histograms_caption")
        self.caption.setProperty("role", "muted")
        self.caption.setWordWrap(True)
        plots = QSplitter(Qt.Orientation.Horizontal)
        plots.addWidget(self.weight_plot)
        plots.addWidget(self.grad_plot)
        right = QVBoxLayout()
        right.setContentsMargins(0, 0, 0, 0)
        right.addWidget(plots, 1)
        right.addWidget(self.caption)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 4)
        layout.addWidget(self.layers)
        holder = QWidget()
        holder.setLayout(right)
        layout.addWidget(holder, 1)
        self._style()

    def _style(self) -> None:
        style_plot(self.weight_plot, "Weights")
        style_plot(self.grad_plot, "Gradients")

    def changeEvent(self, event) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._style()
            self._draw()
        super().changeEvent(event)

    def clear(self) -> None:
        self.latest = None
        self.first.clear()
        self.layers.clear()
        self.weight_plot.clear()
        self.grad_plot.clear()
        self.caption.setText("")

    def current_layer(self) -> str | None:
        item = self.layers.currentItem()
        return item.text() if item is not None else None

    def select_layer(self, name: str) -> bool:
        """Show ``name`` when it has histograms (the canvas selection calls this)."""
        found = self.layers.findItems(name, Qt.MatchFlag.MatchExactly)
        if found:
            self.layers.setCurrentItem(found[0])
            return True
        return False

    def show_event(self, event) -> None:
        """Take a ``Histograms`` event."""
        self.latest = event
        for name, hist in event.weights.items():
            self.first.setdefault(name, hist)
        names = list(event.weights)
        current = [self.layers.item(i).text() for i in range(self.layers.count())]
        if names != current:
            keep = self.current_layer()
            self.layers.blockSignals(True)
            self.layers.clear()
            self.layers.addItems(names)
            self.layers.blockSignals(False)
            if not (keep and self.select_layer(keep)) and names:
                self.layers.setCurrentRow(0)
        self._draw()

    def _draw(self) -> None:
        self.weight_plot.clear()
        self.grad_plot.clear()
        name = self.current_layer()
        e = self.latest
        if e is None or name is None or name not in e.weights:
            return
        color = QColor(series_color("train"))
        ghost = QColor(series_color("cursor"))
        ghost.setAlpha(170)
        fill = QColor(color)
        fill.setAlpha(110)
        first = self.first.get(name)
        if first is not None and first is not e.weights[name]:
            counts, edges = first
            self.weight_plot.plot(np.asarray(edges), np.asarray(counts), stepMode="center",
                                  pen=pg.mkPen(ghost, width=1.2, style=Qt.PenStyle.DotLine),
                                  name="start")
        counts, edges = e.weights[name]
        self.weight_plot.plot(np.asarray(edges), np.asarray(counts), stepMode="center",
                              fillLevel=0, brush=fill, pen=pg.mkPen(color, width=1.2))
        wm, ws, wn = _stats(e.weights[name])
        text = f"{name} · epoch {e.epoch} · step {e.step:,} · weights: {wn:,} values, " \
               f"mean {wm:.3g}, std {ws:.3g}"
        if name in e.grads:
            gcolor = QColor(series_color("val"))
            gfill = QColor(gcolor)
            gfill.setAlpha(110)
            counts, edges = e.grads[name]
            self.grad_plot.plot(np.asarray(edges), np.asarray(counts), stepMode="center",
                                fillLevel=0, brush=gfill, pen=pg.mkPen(gcolor, width=1.2))
            gm, gs, _ = _stats(e.grads[name])
            text += f" · gradients: mean {gm:.3g}, std {gs:.3g}"
        else:
            text += " · no gradients yet"
        self.caption.setText(text)
