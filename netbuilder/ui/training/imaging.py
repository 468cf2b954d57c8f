"""Pixels for the live views: colour maps, tile mosaics and a crisp image widget.

Everything here turns uint8 numpy arrays into RGB with numpy (no per-pixel Python) and paints
them with nearest-neighbour scaling, so a 64-channel map costs well under a millisecond.
"""
from __future__ import annotations

import math
from functools import cache

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget


def ramp(low: QColor, high: QColor) -> np.ndarray:
    """A (256, 3) uint8 table from ``low`` to ``high`` (e.g. the theme's base to its accent)."""
    t = np.linspace(0.0, 1.0, 256)[:, None]
    a = np.array([low.red(), low.green(), low.blue()], dtype=np.float64)
    b = np.array([high.red(), high.green(), high.blue()], dtype=np.float64)
    return np.round(a + (b - a) * t).astype(np.uint8)


@cache
def lut(name: str = "inferno") -> np.ndarray:
    """A (256, 3) uint8 colour table: ``"gray"``, ``"diverging"`` or a pyqtgraph map name."""
    if name == "gray":
        ramp = np.arange(256, dtype=np.uint8)
        return np.stack([ramp, ramp, ramp], axis=1)
    if name == "diverging":  # blue - white - red, for signed weights (128 is zero)
        t = np.linspace(-1.0, 1.0, 256)
        blue, red = np.array([38, 99, 190.0]), np.array([200, 50, 45.0])
        white = np.array([247, 247, 247.0])
        rows = [white + (red - white) * v if v >= 0 else white + (blue - white) * -v for v in t]
        return np.clip(np.round(rows), 0, 255).astype(np.uint8)
    import pyqtgraph as pg

    table = pg.colormap.get(name).getLookupTable(nPts=256)
    return np.ascontiguousarray(table[:, :3].astype(np.uint8))


def grid_shape(count: int, aspect: float = 1.0) -> tuple[int, int]:
    """(rows, cols) for ``count`` tiles of width/height ``aspect`` in a roughly square grid."""
    if count <= 0:
        return 0, 0
    cols = max(1, math.ceil(math.sqrt(count / max(aspect, 1e-6))))
    cols = min(cols, count)
    return math.ceil(count / cols), cols


def mosaic(tiles: np.ndarray, gap: int = 1, cols: int | None = None) -> tuple[np.ndarray, int, int]:
    """Lay (C, H, W) tiles out in a grid; returns (uint8 image, rows, cols) with -1 gaps masked.

    The gaps are marked in a separate mask so callers can colour them with the background.
    """
    c, h, w = tiles.shape
    if cols is None:
        rows, cols = grid_shape(c, w / max(h, 1))
    else:
        rows = math.ceil(c / cols)
    out = np.zeros((rows * (h + gap) - gap, cols * (w + gap) - gap), dtype=np.uint8)
    for i in range(c):
        r, k = divmod(i, cols)
        out[r * (h + gap):r * (h + gap) + h, k * (w + gap):k * (w + gap) + w] = tiles[i]
    return out, rows, cols


def colorize(gray: np.ndarray, cmap: str = "inferno", mask: np.ndarray | None = None,
             background: QColor | None = None) -> np.ndarray:
    """uint8 (H, W) → RGB (H, W, 3) through a colour table; ``mask`` pixels get the background."""
    rgb = lut(cmap)[gray]
    if mask is not None and background is not None:
        rgb[mask] = (background.red(), background.green(), background.blue())
    return rgb


def tile_mosaic_rgb(tiles: np.ndarray, cmap: str, background: QColor, gap: int = 1,
                    cols: int | None = None, min_tile: int = 24
                    ) -> tuple[np.ndarray, int, int]:
    """(C, H, W) uint8 tiles → an RGB mosaic with background-coloured gaps.

    Tiles smaller than ``min_tile`` pixels are first enlarged by a whole factor (nearest
    neighbour), so the 1-pixel gaps stay thin next to them when the mosaic is zoomed.
    """
    k = max(1, -(-min_tile // max(tiles.shape[1], tiles.shape[2], 1)))
    if k > 1:
        tiles = tiles.repeat(k, axis=1).repeat(k, axis=2)
    c, h, w = tiles.shape
    img, rows, cols = mosaic(tiles, gap, cols)
    mask = np.ones(img.shape, dtype=bool)
    for i in range(c):
        r, k = divmod(i, cols)
        mask[r * (h + gap):r * (h + gap) + h, k * (w + gap):k * (w + gap) + w] = False
    return colorize(img, cmap, mask, background), rows, cols


def strip_tiles(tiles: np.ndarray, max_cols: int = 32) -> np.ndarray:
    """A vector's (1, 1, F) heat strip wrapped into rows of at most ``max_cols`` cells."""
    values = tiles.reshape(-1)
    f = values.size
    cols = min(f, max_cols)
    rows = math.ceil(f / cols)
    padded = np.zeros(rows * cols, dtype=np.uint8)
    padded[:f] = values
    return padded.reshape(rows, cols)


def image_rgb(image: np.ndarray) -> np.ndarray:
    """A sample image (C, H, W) uint8 with C = 1 or 3 (or (H, W)) → RGB (H, W, 3)."""
    if image.ndim == 2:
        image = image[None]
    if image.shape[0] == 1:
        return np.repeat(image[0][:, :, None], 3, axis=2)
    if image.shape[0] >= 3:
        return np.ascontiguousarray(image[:3].transpose(1, 2, 0))
    return np.repeat(image[0][:, :, None], 3, axis=2)


def to_qimage(rgb: np.ndarray) -> QImage:
    """An RGB (H, W, 3) uint8 array → a QImage that owns its pixels."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def shrinkable(label):
    """Let a label give up width instead of widening the dock: its text wraps onto a second
    line rather than being cut off at the dock's edge."""
    label.setSizePolicy(QSizePolicy.Policy.Ignored, label.sizePolicy().verticalPolicy())
    label.setMinimumWidth(0)
    label.setWordWrap(True)
    return label


class PixelView(QWidget):
    """Paints one image scaled to fit, pixels kept square and sharp (nearest neighbour)."""

    def __init__(self, parent: QWidget | None = None, min_size: int = 48) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self._placeholder = ""
        self._min = min_size
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_rgb(self, rgb: np.ndarray | None) -> None:
        self._image = None if rgb is None else to_qimage(rgb)
        self.update()

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        self.update()

    def image(self) -> QImage | None:
        return self._image

    def has_image(self) -> bool:
        return self._image is not None

    def sizeHint(self) -> QSize:
        return QSize(160, 160)

    def minimumSizeHint(self) -> QSize:
        return QSize(self._min, self._min)

    def image_rect(self) -> QRectF:
        """Where the image lands in the widget (fit, centred, integer scale when it helps)."""
        if self._image is None:
            return QRectF()
        w, h = self._image.width(), self._image.height()
        scale = min(self.width() / w, self.height() / h)
        if scale >= 2:
            scale = math.floor(scale)  # integer zoom keeps every pixel the same size
        tw, th = w * scale, h * scale
        return QRectF((self.width() - tw) / 2, (self.height() - th) / 2, tw, th)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        if self._image is None:
            if self._placeholder:
                p.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
                p.drawText(self.rect().adjusted(8, 8, -8, -8),
                           Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                           self._placeholder)
            return
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        p.drawImage(self.image_rect(), self._image)
