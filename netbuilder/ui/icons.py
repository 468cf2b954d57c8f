"""Icons drawn as SVG in ``netbuilder/resources/icons``, tinted to the current theme.

Line icons use ``currentColor``; it is replaced by the palette's text colour before rendering, so
one file serves the light and the dark theme.
"""
from __future__ import annotations

from functools import cache
from importlib import resources

from PySide6.QtCore import QByteArray, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

_SIZES = (16, 20, 24, 32, 48)


@cache
def svg_text(name: str) -> str:
    folder = resources.files("netbuilder.resources").joinpath("icons")
    return folder.joinpath(f"{name}.svg").read_text(encoding="utf-8")


def icon_names() -> list[str]:
    folder = resources.files("netbuilder.resources").joinpath("icons")
    return sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".svg"))


def _render(text: str, size: int, ratio: float = 1.0, opacity: float = 1.0) -> QPixmap:
    renderer = QSvgRenderer(QByteArray(text.encode("utf-8")))
    px = int(size * ratio)
    image = QImage(px, px, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setOpacity(opacity)
    renderer.render(painter, QRectF(0, 0, px, px))
    painter.end()
    pixmap = QPixmap.fromImage(image)
    pixmap.setDevicePixelRatio(ratio)
    return pixmap


_cache: dict[tuple[str, str, str], QIcon] = {}


def icon(name: str, color: QColor | str | None = None, disabled: QColor | str | None = None
         ) -> QIcon:
    """The icon ``name`` with ``currentColor`` drawn in ``color`` (default: the palette text)."""
    from PySide6.QtWidgets import QApplication

    palette = QApplication.palette()
    c = QColor(color) if color is not None else palette.color(palette.ColorRole.WindowText)
    d = QColor(disabled) if disabled is not None else palette.color(
        palette.ColorGroup.Disabled, palette.ColorRole.WindowText)
    key = (name, c.name(QColor.NameFormat.HexArgb), d.name(QColor.NameFormat.HexArgb))
    cached = _cache.get(key)
    if cached is not None:
        return cached
    text = svg_text(name)
    result = QIcon()
    for mode, col in ((QIcon.Mode.Normal, c), (QIcon.Mode.Disabled, d)):
        tinted = text.replace("currentColor", col.name())
        # A coloured icon (no currentColor) looks disabled when mostly transparent.
        fade = 0.35 if mode is QIcon.Mode.Disabled and "currentColor" not in text else 1.0
        for size in _SIZES:
            result.addPixmap(_render(tinted, size, 2.0, fade), mode)
    _cache[key] = result
    return result


def app_icon() -> QIcon:
    result = QIcon()
    for size in (16, 24, 32, 48, 64, 128, 256):
        result.addPixmap(_render(svg_text("app"), size))
    return result


def pixmap(name: str, size: int = 16, ratio: float = 2.0) -> QPixmap:
    return _render(svg_text(name), size, ratio)


def icon_size(px: int = 20) -> QSize:
    return QSize(px, px)
