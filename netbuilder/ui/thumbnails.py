"""Thumbnails of graph files, drawn by the canvas itself and cached on disk.

The welcome page's example gallery shows each example as the canvas would (category colours,
names, wires), so a thumbnail is the graph's own scene rendered offscreen into a QImage. A long
chain would shrink to a thin strip in a card, so a tall (top-to-bottom) layout is laid out
left to right and a long row wrapped into a few rows first (on the thumbnail's private copy;
the file is never touched).

NOTE: the cache key is the file's bytes plus everything the picture depends on (theme, size,
pixel ratio, this module's RENDER_VERSION and the app version): a changed file, theme or
renderer simply misses the cache; old entries are harmless and small.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, QSize, QStandardPaths, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath

from .. import __version__
from ..graph import from_json, layered_positions, load
from ..graph.fileformat import atomic_replace
from .settings import SETTINGS_DIR_ENV

RENDER_VERSION = 6
MAX_SCALE = 0.36  # below the canvas' LOD_LOW: every thumbnail draws boxes with names
MAX_ROWS = 4
WRAP_BELOW = 0.18  # drawn smaller than this (the canvas drops names), a layout may be wrapped
MARGIN = 14.0  # logical pixels around the graph inside the picture


def cache_dir() -> Path:
    """Where thumbnails are cached (beside the settings when ``NETBUILDER_SETTINGS_DIR`` is
    set, so tests never touch a person's cache)."""
    folder = os.environ.get(SETTINGS_DIR_ENV)
    if folder:
        path = Path(folder) / "cache" / "thumbnails"
    else:
        location = QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.CacheLocation)
        base = Path(location) if location else Path.home() / ".cache" / "netbuilder"
        path = base / "thumbnails"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_key(data: bytes, theme_name: str, size: QSize, ratio: float) -> str:
    h = hashlib.sha256(data)
    h.update(f"|{theme_name}|{size.width()}x{size.height()}@{ratio:g}|r{RENDER_VERSION}"
             f"|{__version__}".encode())
    return h.hexdigest()[:32]


def thumbnail(path: str | os.PathLike, size: QSize, theme_name: str, ratio: float = 1.0,
              use_cache: bool = True) -> QImage:
    """The thumbnail of the graph file ``path`` (from the cache when there is one).

    Raises ``NetbuilderError`` (or ``OSError``) when the file cannot be read as a graph.
    """
    data = Path(path).read_bytes()
    cached = cache_dir() / f"{cache_key(data, theme_name, size, ratio)}.png" if use_cache \
        else None
    if cached is not None and cached.is_file():
        image = QImage(str(cached))
        if not image.isNull():
            image.setDevicePixelRatio(ratio)
            return image
    try:
        graph = from_json(data.decode("utf-8"), str(path))
    except UnicodeDecodeError:
        graph = load(path)  # the loader's own, precise message
    image = render_thumbnail(graph, size, ratio)
    if cached is not None:
        _save_atomic(image, cached)
    return image


def _save_atomic(image: QImage, target: Path) -> None:
    def write(tmp: Path) -> None:
        if not image.save(str(tmp), "PNG"):
            raise OSError(f"cannot write {tmp}")

    try:
        atomic_replace(target, write)
    except OSError:
        pass  # a cache: the thumbnail is drawn again next time


def render_thumbnail(graph, size: QSize, ratio: float = 1.0) -> QImage:
    """Draw ``graph`` (which this may re-lay out: pass a copy you do not need) into an image of
    ``size`` logical pixels at ``ratio`` device pixels per logical pixel."""
    from .canvas import style
    from .canvas.scene import GraphScene

    # NOTE: no shape analysis. At thumbnail scale the canvas draws neither shapes nor counts,
    # and a first analysis imports much of torch (seconds) while the page waits. Wires are
    # drawn as analysed (solid), not as "shape unknown" (dashed).
    scene = GraphScene(graph)
    for wire in scene.wire_items.values():
        wire.set_shape((), None)
    try:
        w, h = size.width(), size.height()
        inner = QRectF(MARGIN, MARGIN, w - 2 * MARGIN, h - 2 * MARGIN)
        _wrap_rows(graph, scene, inner)
        source = scene.nodes_rect().adjusted(-8, -8, 8, 8)
        image = QImage(int(w * ratio), int(h * ratio), QImage.Format.Format_ARGB32_Premultiplied)
        image.setDevicePixelRatio(ratio)
        image.fill(style.colour("background"))
        painter = QPainter(image)
        painter.setRenderHints(QPainter.RenderHint.Antialiasing |
                               QPainter.RenderHint.TextAntialiasing |
                               QPainter.RenderHint.SmoothPixmapTransform)
        _draw_dots(painter, w, h, style.colour("grid"))
        if not source.isEmpty():
            scale = min(inner.width() / source.width(), inner.height() / source.height(),
                        MAX_SCALE)
            target = QRectF(0, 0, source.width() * scale, source.height() * scale)
            target.moveCenter(inner.center())
            scene.render(painter, target, source, Qt.AspectRatioMode.KeepAspectRatio)
        painter.end()
        return image
    finally:
        scene.detach()
        scene.deleteLater()


def _draw_dots(painter: QPainter, w: int, h: int, colour: QColor) -> None:
    """The canvas' dot grid, at a fixed pitch (a thumbnail is a picture of the canvas)."""
    painter.save()
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(colour)
    step = 16.0
    y = step / 2
    while y < h:
        x = step / 2
        while x < w:
            painter.drawEllipse(QPointF(x, y), 0.9, 0.9)
            x += step
        y += step
    painter.restore()


def _wrap_rows(graph, scene, inner: QRectF) -> None:
    """Fold a wide layout into up to MAX_ROWS rows when that lets it be drawn larger.

    Rows are cut between columns of nodes (never through a node), each row moved under the
    previous one and back to the left edge; wires follow through the graph's signals.
    """
    items = scene.node_items
    if len(items) < 4:
        return
    rect = scene.nodes_rect()
    gap = 70.0

    def scale(width: float, height: float) -> float:
        return min(inner.width() / width, inner.height() / height, MAX_SCALE)

    if rect.height() > rect.width() and scale(rect.width(), rect.height()) < WRAP_BELOW:
        # a deep network drawn top to bottom: a card is wide, so its rows go left to right
        sizes = {nid: (item.width(), item.height()) for nid, item in items.items()}
        for nid, pos in layered_positions(graph, sizes, direction="right").items():
            graph.move(nid, pos)
        rect = scene.nodes_rect()
    best_cuts: list[int] = []
    best = scale(rect.width(), rect.height())
    if best >= WRAP_BELOW:
        return
    # Cut only where a single wire crosses: a chain folds cleanly, a branch never splits.
    # NOTE: a wire running right to left (a layout that is already folded into bands, as
    # auto-layout leaves long chains) crosses the columns it spans too; counting it keeps
    # such a layout from being cut again into a scramble of rows.
    xs = {nid: round(item.pos().x()) for nid, item in items.items()}
    lefts = sorted(set(xs.values()))
    edges = [tuple(sorted((xs[e.src], xs[e.dst]))) for e in graph.edges()
             if e.src in xs and e.dst in xs]
    lefts = [lefts[0]] + [c for c in lefts[1:]
                          if sum(a < c <= b for a, b in edges) <= 1]
    for rows in range(2, MAX_ROWS + 1):
        cuts = _cuts(lefts, rect.left(), rect.width(), rows)
        if len(cuts) != rows - 1:
            continue
        rects = [_band_rect(items, band) for band in _bands(items, cuts) if band]
        width = max(r.width() for r in rects)
        height = sum(r.height() for r in rects) + gap * (len(rects) - 1)
        if scale(width, height) > best * 1.25:  # wrapping must pay for the wires it bends
            best_cuts, best = cuts, scale(width, height)
    if not best_cuts:
        return
    y = rect.top()
    for band in _bands(items, best_cuts):
        if not band:
            continue
        r = _band_rect(items, band)
        dx, dy = rect.left() - r.left(), y - r.top()
        for nid in band:
            x0, y0 = graph.node(nid).pos
            graph.move(nid, (x0 + dx, y0 + dy))
        y += r.height() + gap


def _cuts(lefts: list[int], left: float, width: float, rows: int) -> list[int]:
    """Column starts nearest to the ideal cut points (distinct and increasing)."""
    cuts: list[int] = []
    for i in range(1, rows):
        ideal = left + width * i / rows
        candidates = [x for x in lefts if x > (cuts[-1] if cuts else lefts[0])]
        if not candidates:
            break
        cuts.append(min(candidates, key=lambda x: abs(x - ideal)))
    return cuts


def _bands(items: dict, cuts: list[int]) -> list[list[str]]:
    bands: list[list[str]] = [[] for _ in range(len(cuts) + 1)]
    for nid, item in items.items():
        x = round(item.pos().x())
        bands[sum(x >= c for c in cuts)].append(nid)
    return bands


def _band_rect(items: dict, ids: list[str]) -> QRectF:
    rect = QRectF()
    for nid in ids:
        item = items[nid]
        r = QRectF(item.pos().x(), item.pos().y(), item.width(), item.height())
        rect = r if rect.isNull() else rect.united(r)
    return rect


def rounded(image: QImage, radius: float) -> QImage:
    """``image`` with transparent rounded corners (for cards)."""
    ratio = image.devicePixelRatio()
    out = QImage(image.size(), QImage.Format.Format_ARGB32_Premultiplied)
    out.setDevicePixelRatio(ratio)
    out.fill(Qt.GlobalColor.transparent)
    painter = QPainter(out)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    path = QPainterPath()
    path.addRoundedRect(QRectF(0, 0, image.width() / ratio, image.height() / ratio), radius,
                        radius)
    painter.setClipPath(path)
    painter.drawImage(QPointF(0, 0), image)
    painter.end()
    return out
