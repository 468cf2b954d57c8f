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
        self._plot_items: dict | None = None
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
            self._plot_items = None  # remade in the new theme's colours
            self._draw()
        super().changeEvent(event)

    def clear(self) -> None:
        self.latest = None
        self.first.clear()
        self.layers.clear()
        self.weight_plot.clear()
        self.grad_plot.clear()
        self._plot_items = None
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

    def _items(self) -> dict:
        """The three plot items (made once per theme; later draws only replace their data)."""
        if self._plot_items is None:
            color, gcolor = QColor(series_color("train")), QColor(series_color("val"))
            ghost = QColor(series_color("cursor"))
            ghost.setAlpha(170)
            fill, gfill = QColor(color), QColor(gcolor)
            fill.setAlpha(110)
            gfill.setAlpha(110)
            self.weight_plot.clear()
            self.grad_plot.clear()
            self._plot_items = {
                "start": self.weight_plot.plot(
                    [0, 1], [0], stepMode="center",
                    pen=pg.mkPen(ghost, width=1.2, style=Qt.PenStyle.DotLine)),
                "weights": self.weight_plot.plot([0, 1], [0], stepMode="center", fillLevel=0,
                                                 brush=fill, pen=pg.mkPen(color, width=1.2)),
                "grads": self.grad_plot.plot([0, 1], [0], stepMode="center", fillLevel=0,
                                             brush=gfill, pen=pg.mkPen(gcolor, width=1.2)),
            }
        return self._plot_items

    def _draw(self) -> None:
        name = self.current_layer()
        e = self.latest
        if e is None or name is None or name not in e.weights:
            if self._plot_items is not None:
                for item in self._plot_items.values():
                    item.setVisible(False)
            return
        items = self._items()
        first = self.first.get(name)
        show_first = first is not None and first is not e.weights[name]
        if show_first:
            items["start"].setData(np.asarray(first[1]), np.asarray(first[0]))
        items["start"].setVisible(show_first)
        counts, edges = e.weights[name]
        items["weights"].setData(np.asarray(edges), np.asarray(counts))
        items["weights"].setVisible(True)
        wm, ws, wn = _stats(e.weights[name])
        text = f"{name} · epoch {e.epoch} · step {e.step:,} · weights: {wn:,} values, " \
               f"mean {wm:.3g}, std {ws:.3g}"
        if name in e.grads:
            counts, edges = e.grads[name]
            items["grads"].setData(np.asarray(edges), np.asarray(counts))
            gm, gs, _ = _stats(e.grads[name])
            text += f" · gradients: mean {gm:.3g}, std {gs:.3g}"
        else:
            text += " · no gradients yet"
        items["grads"].setVisible(name in e.grads)
        self.caption.setText(text)
