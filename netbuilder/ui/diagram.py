"""Diagrams as files for papers and slides: SVG, PDF or PNG at print quality.

Two sources, one set of writers: the editor's canvas as drawn (File ▸ Export Diagram, the
whole graph or the selection, in the light palette by default), and the Qt-free SVG of
``netbuilder.graph.drawing`` rasterised for ``netbuilder draw -o net.pdf|.png``."""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QByteArray, QMarginsF, QRectF, QSize, QSizeF
from PySide6.QtGui import QGuiApplication, QImage, QPageLayout, QPageSize, QPainter, QPdfWriter
from PySide6.QtSvg import QSvgGenerator, QSvgRenderer

from ..errors import NetbuilderError

FORMATS = (".svg", ".pdf", ".png")
PNG_SCALE = 3.0  # pixels per scene unit: about 300 dpi for a figure a column wide
MARGIN = 24.0


def diagram_format(path: str | Path) -> str:
    """The file's format from its suffix; anything else is an error naming the file."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise NetbuilderError(f"{path}: a diagram is written as .svg, .pdf or .png, "
                              f"not {suffix or 'a file without a suffix'!r}")
    return suffix


def ensure_app() -> None:
    """A Qt application for painting, offscreen unless one is running already."""
    if QGuiApplication.instance() is None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        ensure_app.app = QGuiApplication([])  # kept: Qt needs it alive while painting


def write_painted(path: str | Path, size: QSizeF, paint: Callable[[QPainter, QRectF], None],
                  title: str = "network", png_scale: float = PNG_SCALE) -> Path:
    """Write ``paint(painter, target)`` (drawing ``size`` units into ``target``) to ``path``
    as SVG, PDF (vector, a page the size of the drawing) or PNG (``png_scale`` × size)."""
    suffix = diagram_format(path)
    path = Path(path)
    target = QRectF(0, 0, size.width(), size.height())
    painter = QPainter()
    if suffix == ".svg":
        gen = QSvgGenerator()
        gen.setFileName(str(path))
        gen.setSize(size.toSize())
        gen.setViewBox(target)
        gen.setTitle(title)
        painter.begin(gen)
        paint(painter, target)
        painter.end()
    elif suffix == ".pdf":
        writer = QPdfWriter(str(path))
        writer.setTitle(title)
        writer.setResolution(72)  # one drawing unit = one point
        writer.setPageLayout(QPageLayout(QPageSize(size, QPageSize.Unit.Point),
                                         QPageLayout.Orientation.Portrait, QMarginsF()))
        painter.begin(writer)
        paint(painter, QRectF(painter.viewport()))
        painter.end()
    else:
        image = QImage(QSize(round(size.width() * png_scale), round(size.height() * png_scale)),
                       QImage.Format.Format_ARGB32)
        image.fill(0)
        painter.begin(image)
        painter.setRenderHints(QPainter.RenderHint.Antialiasing |
                               QPainter.RenderHint.TextAntialiasing)
        paint(painter, QRectF(image.rect()))
        painter.end()
        if not image.save(str(path), "PNG"):
            raise NetbuilderError(f"{path}: could not write the PNG file")
    if not path.is_file():
        raise NetbuilderError(f"{path}: could not write the {suffix[1:].upper()} file")
    return path


def write_svg_text(svg: str, path: str | Path, png_scale: float = PNG_SCALE) -> Path:
    """Write an SVG document (graph/drawing.py's) as ``path``: as is, or rendered to PDF/PNG."""
    if diagram_format(path) == ".svg":
        Path(path).write_text(svg, encoding="utf-8")
        return Path(path)
    ensure_app()
    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    if not renderer.isValid():
        raise NetbuilderError(f"{path}: the drawing could not be rendered")
    return write_painted(path, QSizeF(renderer.defaultSize()),
                         lambda p, target: renderer.render(p, target), png_scale=png_scale)


def export_canvas(view, path: str | Path, selection_only: bool = False,
                  palette: dict | None = None) -> Path:
    """Write what the canvas ``view`` shows (every node, or the selected ones and the wires
    among them) to ``path``, painted in ``palette`` (the light one by default) at full
    detail, without the selection highlight."""
    from .canvas import LIGHT, style

    scene = view.graph_scene()
    ids = view.selected_ids() if selection_only else None
    if selection_only and not ids:
        raise NetbuilderError("Select the nodes to export first (or export the whole canvas)")
    rect = scene.nodes_rect(ids)
    if rect.isNull():
        raise NetbuilderError("The canvas is empty: there is no diagram to export")
    items = [scene.node_items[i] for i in ids] if ids else list(scene.node_items.values())
    for item in items:  # wires, labels and badges reach past the node boxes
        for wire in item.wires:
            if ids is None or (wire.edge.src in ids and wire.edge.dst in ids):
                rect = rect.united(wire.sceneBoundingRect())
    rect = rect.adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN)
    previous = style.canvas_palette()
    selected = view.selected_ids()
    hidden = [] if ids is None else [
        it for it in list(scene.node_items.values()) + list(scene.wire_items.values())
        if it.isVisible() and not _within(it, ids)]
    overview = scene.overview_active
    try:
        style.set_canvas_palette(palette or LIGHT)
        scene.clearSelection()
        scene.set_overview(False)
        for it in hidden:
            it.setVisible(False)

        def paint(p: QPainter, target: QRectF) -> None:
            p.fillRect(target, style.colour("background"))
            scene.render(p, target, rect)

        return write_painted(path, rect.size(), paint, title=view.graph.name or "network")
    finally:
        for it in hidden:
            it.setVisible(True)
        scene.set_overview(overview)
        view.select(selected)
        style.set_canvas_palette(previous)


def _within(item, ids: list[str]) -> bool:
    edge = getattr(item, "edge", None)
    if edge is not None:
        return edge.src in ids and edge.dst in ids
    return item.node_id in ids


DIAGRAM_FILTERS = "SVG drawing (*.svg);;PDF document (*.pdf);;PNG image (*.png)"


def export_diagram_dialog(window, path: str | Path | None = None) -> Path | None:
    """File ▸ Export Diagram…: the selection when there is one, else the whole canvas, to a
    file the person names (``path`` skips the question); the status bar says what went."""
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    canvas = window.canvas
    selection = bool(canvas.selected_ids())
    if path is None:
        stem = (window.document.path.stem if window.document.path else canvas.graph.name) or \
            "network"
        folder = getattr(getattr(window, "files", None), "_last_dir", None)
        start = Path(folder() if callable(folder) else Path.home()) / f"{stem}.svg"
        path, _ = QFileDialog.getSaveFileName(window, "Export Diagram", str(start),
                                              DIAGRAM_FILTERS)
        if not path:
            return None
    try:
        written = export_canvas(canvas, path, selection_only=selection)
    except (NetbuilderError, OSError) as exc:
        box = QMessageBox(QMessageBox.Icon.Warning, "Cannot export the diagram",
                          "The diagram could not be written.", QMessageBox.StandardButton.Ok,
                          window)
        box.setObjectName("diagram_error")
        box.setInformativeText(str(exc))
        box.open()
        return None
    what = f"{len(canvas.selected_ids())} selected nodes" if selection else "the canvas"
    window.statusBar().showMessage(f"Exported {what} to {written.name}", 8000)
    return written
