"""Shared pyqtgraph styling for the training views: theme colours, series colours, fonts."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QGraphicsItem

from ..theme import colors, current_theme

# Series colours chosen to read on both themes (train blue, validation orange, best green).
SERIES = {
    "light": {"train": "#3b7ddd", "train_epoch": "#1f4f9c", "val": "#e8772e", "best": "#23834f",
              "lr": "#8a3fb8", "cursor": "#8a93a3", "grid": 40},
    "dark": {"train": "#6aa5ff", "train_epoch": "#a9c8ff", "val": "#ffa05c", "best": "#4cc98a",
             "lr": "#c792ea", "cursor": "#7b8190", "grid": 55},
}
# Overlaid runs in the Runs panel: distinct hues in a fixed order.
OVERLAY = ["#3b7ddd", "#e8772e", "#2ca25f", "#c2417a", "#8a63d2", "#a1782d", "#1b9aaa",
           "#d95f02"]


def series_color(key: str) -> str:
    return SERIES[current_theme()][key]


def style_plot(widget: pg.PlotWidget, title: str | None = None) -> None:
    """Theme a plot: background, axes, grid and a small title."""
    c = colors()
    widget.setBackground(QColor(c["base"]))
    item = widget.getPlotItem()
    font = QFont()
    font.setPointSizeF(max(7.5, font.pointSizeF() - 1.0))
    for name in ("left", "bottom", "right", "top"):
        axis = item.getAxis(name)
        axis.setPen(pg.mkPen(c["mid"]))
        axis.setTextPen(pg.mkPen(c["muted"]))
        axis.setTickFont(font)
    alpha = SERIES[current_theme()]["grid"] / 255
    item.showGrid(x=True, y=True, alpha=alpha)
    if title is not None:
        item.setTitle(f"<span style='color:{c['text']};font-weight:600'>{title}</span>",
                      size="9pt")
    item.getViewBox().setMenuEnabled(False)
    item.hideButtons()
    # NOTE: a live curve repaints its plot several times a second; without a cache every
    # repaint re-draws the tick text of both axes, the most expensive part of a frame.
    for name in ("left", "bottom"):
        item.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    item.titleLabel.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


def legend_text_color() -> str:
    return colors()["text"]
