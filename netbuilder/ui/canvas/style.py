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

# The palettes are data shared with the Qt-free diagram renderer (graph/drawing.py).
from ...graph.palettes import CATEGORY_COLOURS, DARK, DEFAULT_CATEGORY_COLOUR, LIGHT  # noqa: F401

# --- palettes -------------------------------------------------------------------------------

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
