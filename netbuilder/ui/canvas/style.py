"""How the canvas looks: the colour palette (swappable by the theme), fonts, geometry and
level-of-detail thresholds. Items read everything from here at paint time, so switching the
palette repaints the canvas without rebuilding it."""
from __future__ import annotations

import weakref
from functools import cache

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontDatabase, QPainter, QPen, QPolygonF
from shiboken6 import VoidPtr, isValid

# --- palettes -------------------------------------------------------------------------------

# Category colours are shared by both palettes: saturated enough to read on dark and on light,
# dark enough for white header text.
CATEGORY_COLOURS = {
    "Input/Output": "#56657a",
    "Convolution": "#2f6fd0",
    "Pooling": "#168a87",
    "Resampling": "#1d88b0",
    "Normalization": "#7459d1",
    "Regularization": "#a8741a",
    "Dense": "#d0632a",
    "Shape": "#6f7d91",
    "Activation": "#2f9458",
    "Merge": "#c0407a",
    "Recurrent": "#9248c4",
    "Attention": "#cc4156",
    "Generative": "#b7860f",
    "Blocks": "#3b5b86",
    "Math": "#8d6e63",
    "Reductions": "#6d8a2f",
    "Shape ops": "#6f7d91",  # as Shape: they are its tensor-method counterparts
    "Random": "#a04fa0",
    "Parameters": "#a85a5a",
}
DEFAULT_CATEGORY_COLOUR = "#6b7280"

DARK = {
    "name": "dark",
    "background": "#1b1d21",
    "grid": "#2c2f35",
    "grid_major": "#3a3e46",
    "node_body": "#272a30",
    "node_border": "#3b3f47",
    "node_shadow": "#0c0d10",
    "title_text": "#ffffff",
    "title_muted": "#ffffffb8",
    "text": "#e3e5e8",
    "muted": "#979ca6",
    "shape_text": "#8fc1ff",
    "selection": "#4d9bff",
    "wire": "#6d737d",
    "wire_selected": "#4d9bff",
    "wire_label_bg": "#23262b",
    "wire_label_border": "#3b3f47",
    "wire_label_text": "#b9bec7",
    "port": "#1b1d21",
    "port_border": "#a9afb9",
    "port_connected": "#c9ced6",
    "port_valid": "#3ecf8e",
    "port_hover": "#ffffff",
    "error": "#ff5d5d",
    "warning": "#f2b33d",
    "rubber_band": "#4d9bff",
    "overlay_bg": "#23262bee",
    "overlay_border": "#3b3f47",
    "overlay_text": "#c9ced6",
    "badge_bg": "#15171b",
    "badge_text": "#d7dbe0",
    "categories": CATEGORY_COLOURS,
}

LIGHT = {
    "name": "light",
    "background": "#f4f5f7",
    "grid": "#dfe2e7",
    "grid_major": "#cdd1d8",
    "node_body": "#ffffff",
    "node_border": "#c9ced6",
    "node_shadow": "#9aa3b0",
    "title_text": "#ffffff",
    "title_muted": "#ffffffc8",
    "text": "#1f2328",
    "muted": "#6a717c",
    "shape_text": "#1d5fbf",
    "selection": "#2f7bf5",
    "wire": "#8b929c",
    "wire_selected": "#2f7bf5",
    "wire_label_bg": "#ffffff",
    "wire_label_border": "#d3d7dd",
    "wire_label_text": "#3c434d",
    "port": "#ffffff",
    "port_border": "#7c8490",
    "port_connected": "#59616c",
    "port_valid": "#1f9d63",
    "port_hover": "#1f2328",
    "error": "#e5383b",
    "warning": "#d9900f",
    "rubber_band": "#2f7bf5",
    "overlay_bg": "#ffffffee",
    "overlay_border": "#c9ced6",
    "overlay_text": "#3c434d",
    "badge_bg": "#eef0f3",
    "badge_text": "#1f2328",
    "categories": CATEGORY_COLOURS,
}

_palette: dict = dict(DARK)
_listeners: weakref.WeakSet = weakref.WeakSet()


def set_canvas_palette(palette: dict) -> None:
    """Use ``palette`` (e.g. ``DARK`` or ``LIGHT``, or a theme's own dict; missing keys keep the
    dark values) and repaint every canvas."""
    global _palette
    _palette = {**DARK, **palette}
    colour.cache_clear()
    for view in list(_listeners):
        if isValid(view):  # the Python wrapper may outlive a closed view
            view.palette_changed()


def canvas_palette() -> dict:
    return _palette


def register_view(view) -> None:
    """Views register to be repainted when the palette changes (held weakly)."""
    _listeners.add(view)


@cache
def colour(key: str) -> QColor:
    """A palette colour (``#rrggbb`` or ``#rrggbbaa``)."""
    return _qcolor(_palette[key])


def category_colour(category: str) -> QColor:
    return _qcolor(_palette["categories"].get(category, DEFAULT_CATEGORY_COLOUR))


@cache
def _qcolor(text: str) -> QColor:
    if len(text) == 9:  # #rrggbbaa (CSS order); Qt reads 8 digits as #aarrggbb
        c = QColor(text[:7])
        c.setAlpha(int(text[7:], 16))
        return c
    return QColor(text)



# --- geometry -------------------------------------------------------------------------------

NODE_WIDTH = 184.0
HEADER_HEIGHT = 26.0
LINE_HEIGHT = 16.0
BODY_PAD = 7.0
CORNER = 6.0
PORT_RADIUS = 5.0
PORT_HIT_RADIUS = 10.0
PORT_FIRST_Y = HEADER_HEIGHT + 15.0  # y of the first port row, below the header
PORT_ROW = 18.0
GRID = 20.0
SNAP = 10.0

# Level of detail: below LOD_LOW the nodes are boxes with titles (no ports, shapes, labels);
# below LOD_TINY even the titles go (a 1,000-node overview stays fast and readable as a map).
LOD_LOW = 0.4
LOD_TINY = 0.18

MIN_SCALE = 0.05
MAX_SCALE = 4.0


# --- fonts ----------------------------------------------------------------------------------

@cache
def font(role: str) -> QFont:
    """Fonts by role, in pixels so the canvas looks the same on every screen density."""
    if role == "mono":
        f = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        f.setPixelSize(10)
        return f
    f = QFont()
    sizes = {"title": 12, "type": 10, "body": 11, "small": 10, "label": 10, "badge": 9,
             "overlay": 11, "lod": 26}
    f.setPixelSize(sizes[role])
    if role in ("title", "lod"):
        f.setBold(True)
    return f


def lod_name(scale: float) -> str:
    """What nodes draw at a zoom: "full", "low" (boxes and titles) or "tiny" (boxes)."""
    if scale < LOD_TINY:
        return "tiny"
    if scale < LOD_LOW:
        return "low"
    return "full"


def snap(value: float) -> float:
    """Positions land on a 10-px grid so hand-placed nodes line up."""
    return float(round(value / SNAP) * SNAP)


def _points(xs, ys) -> QPolygonF:
    """A QPolygonF of the grid points xs × ys, filled through numpy (no Python loop)."""
    poly = QPolygonF()
    poly.resize(len(xs) * len(ys))
    if not len(poly):
        return poly
    buf = VoidPtr(poly.data(), len(poly) * 16, True)
    arr = np.frombuffer(buf, dtype=np.float64).reshape(-1, 2)
    gx, gy = np.meshgrid(xs, ys)
    arr[:, 0] = gx.ravel()
    arr[:, 1] = gy.ravel()
    return poly


def draw_grid(painter: QPainter, rect: QRectF, scale: float) -> None:
    """A dot grid: fine dots every GRID when zoomed in; the major ones only when zoomed out."""
    if scale < 0.12:
        return
    major = GRID * 5
    step = GRID if scale >= 0.6 else major
    xs = np.arange(np.floor(rect.left() / step) * step, rect.right() + step, step)
    ys = np.arange(np.floor(rect.top() / step) * step, rect.bottom() + step, step)
    if len(xs) * len(ys) > 200_000:
        return
    painter.save()
    on_major_x = np.isclose(np.mod(xs, major), 0)
    on_major_y = np.isclose(np.mod(ys, major), 0)
    # Square caps: round ones send every dot through the stroker (15× slower per frame).
    pen = QPen(colour("grid"), 1.5)
    pen.setCosmetic(True)
    pen.setCapStyle(Qt.PenCapStyle.SquareCap)
    if step == GRID:
        painter.setPen(pen)
        painter.drawPoints(_points(xs, ys))
    pen.setColor(colour("grid_major"))
    pen.setWidthF(2.2)
    painter.setPen(pen)
    painter.drawPoints(_points(xs[on_major_x], ys[on_major_y]))
    painter.restore()
