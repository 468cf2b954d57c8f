"""Samples: predictions on validation examples (errors marked), reconstructions beside their
inputs, generated images (VAE/GAN from fixed noise), RBM dreams, regression fits."""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPalette, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QStackedWidget, QToolButton, QVBoxLayout, QWidget

from ..theme import colors
from .imaging import image_rgb, to_qimage
from .plots import series_color, style_plot

SHORT = {"predictions": "Predictions", "reconstructions": "Reconstructions",
         "generated": "Generated", "dreams": "Dreams"}
TITLES = {"predictions": "Predictions on validation samples",
          "reconstructions": "Reconstructions (input | output)",
          "generated": "Generated from fixed noise", "dreams": "RBM dreams (Gibbs samples)"}


class SampleGrid(QWidget):
    """Cells of (image[, second image], caption, ok flag) laid out to fill the widget."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cells: list[dict] = []
        self.setMinimumSize(160, 120)

    def sizeHint(self) -> QSize:
        return QSize(420, 300)

    def set_cells(self, cells: list[dict]) -> None:
        for c in cells:
            c["qimages"] = [to_qimage(image_rgb(im)) for im in c.get("images", [])]
        self.cells = cells
        self.update()

    def error_count(self) -> int:
        return sum(1 for c in self.cells if c.get("ok") is False)

    def _grid(self) -> tuple[int, int, float, float]:
        n = len(self.cells)
        per = max((len(c["qimages"]) for c in self.cells), default=1) or 1
        caption = 16 if any(c.get("caption") for c in self.cells) else 0
        best = (1, n, 1.0)
        for cols in range(1, n + 1):
            rows = math.ceil(n / cols)
            w = self.width() / cols
            h = self.height() / rows
            side = min((w - 8) / per, h - caption - 8)
            if side > best[2]:
                best = (rows, cols, side)
        rows, cols, side = best
        return rows, cols, max(side, 8.0), caption

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        pal = self.palette()
        if not self.cells:
            p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                       "Samples appear during training: predictions for classifiers, "
                       "reconstructions for autoencoders, generated images for VAEs and GANs.")
            return
        rows, cols, side, caption = self._grid()
        c = colors()
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, min(9.0, side / 6)))
        p.setFont(font)
        cell_w, cell_h = self.width() / cols, self.height() / rows
        for i, cell in enumerate(self.cells):
            r, k = divmod(i, cols)
            images = cell["qimages"]
            per = max(len(images), 1)
            x0 = k * cell_w + (cell_w - per * side - (per - 1) * 2) / 2
            y0 = r * cell_h + (cell_h - side - caption) / 2
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
            for j, im in enumerate(images):
                p.drawImage(QRectF(x0 + j * (side + 2), y0, side, side), im)
            ok = cell.get("ok")
            if ok is False:
                p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
                p.setPen(QPen(QColor(c["error"]), 2.0))
                p.drawRoundedRect(QRectF(x0 - 2, y0 - 2, per * side + (per - 1) * 2 + 4,
                                         side + 4), 3, 3)
            if cell.get("caption"):
                color = (c["error"] if ok is False else c["ok"] if ok else c["muted"])
                p.setPen(QColor(color))
                p.drawText(QRectF(k * cell_w, y0 + side + 2, cell_w, caption),
                           Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                           cell["caption"])


class SamplesView(QWidget):
    """Shows the newest ``Samples`` event of each kind the task sends (a VAE sends both
    reconstructions and generated images: buttons pick which one is shown).

    Events are only stored while the view is hidden; drawing waits until it is shown.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("samples")
        self.kind: str | None = None  # the kind on screen
        self.latest: dict[str, object] = {}  # kind -> newest event
        self._shown = None  # the event drawn last
        self.title = QLabel("Samples", objectName="samples_title")
        self.title.setProperty("role", "heading")
        self.kind_buttons: dict[str, QToolButton] = {}
        self._kind_row = QHBoxLayout()
        self._kind_row.setSpacing(2)
        self.caption = QLabel("", objectName="samples_caption")
        self.caption.setProperty("role", "muted")
        self.caption.setWordWrap(True)
        self.grid = SampleGrid()
        self.grid.setObjectName("samples_grid")
        self.plot = pg.PlotWidget(objectName="samples_plot")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.grid)
        self.stack.addWidget(self.plot)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addLayout(self._kind_row)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 4)
        layout.addLayout(head)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.caption)

    def clear(self) -> None:
        self.kind = None
        self.latest.clear()
        self._shown = None
        for button in self.kind_buttons.values():
            button.deleteLater()
        self.kind_buttons.clear()
        self.grid.set_cells([])
        self.plot.clear()
        self.caption.setText("")
        self.title.setText("Samples")
        self.stack.setCurrentWidget(self.grid)

    def show_event(self, e) -> None:
        """Take a ``Samples`` event (drawn now if its kind is on screen and the view shown)."""
        self.latest[e.kind] = e
        if e.kind not in self.kind_buttons:
            self._add_kind(e.kind)
        if self.kind is None:
            self.kind = e.kind
            self.kind_buttons[e.kind].setChecked(True)
        if e.kind == self.kind and self.isVisible():
            self._draw(e)

    def show_kind(self, kind: str) -> None:
        """Show the newest event of ``kind`` (what the kind buttons do)."""
        self.kind = kind
        if kind in self.kind_buttons:
            self.kind_buttons[kind].setChecked(True)
        e = self.latest.get(kind)
        if e is not None:
            self._draw(e)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        e = self.latest.get(self.kind) if self.kind else None
        if e is not None and e is not self._shown:
            self._draw(e)

    def _add_kind(self, kind: str) -> None:
        button = QToolButton(text=SHORT.get(kind, kind), objectName=f"samples_kind_{kind}")
        button.setCheckable(True)
        button.setAutoExclusive(True)
        button.clicked.connect(lambda _c=False, k=kind: self.show_kind(k))
        self.kind_buttons[kind] = button
        self._kind_row.addWidget(button)
        for b in self.kind_buttons.values():  # one kind needs no choice
            b.setVisible(len(self.kind_buttons) > 1)

    def _draw(self, e) -> None:
        self._shown = e
        self.title.setText(f"{TITLES.get(e.kind, e.kind.capitalize())} · epoch {e.epoch}")
        if e.images is not None and len(e.images):
            self.stack.setCurrentWidget(self.grid)
            self.grid.set_cells(self._cells(e))
        elif e.targets is not None and e.outputs is not None:
            self.stack.setCurrentWidget(self.plot)
            self._draw_regression(np.asarray(e.targets), np.asarray(e.outputs))
        elif e.labels is not None and e.predictions is not None:
            self.stack.setCurrentWidget(self.grid)
            self.grid.set_cells([{"images": [], "caption": f"{t} → {p}", "ok": t == p}
                                 for t, p in zip(e.labels, e.predictions)])
        if e.kind == "predictions" and e.labels is not None and e.predictions is not None:
            wrong = sum(1 for t, p in zip(e.labels, e.predictions) if t != p)
            n = len(e.labels)
            self.caption.setText(f"{n - wrong} of {n} right · {wrong} error"
                                 f"{'s' if wrong != 1 else ''} outlined in red · "
                                 f"caption: true → predicted (confidence)")
        elif e.kind == "reconstructions":
            self.caption.setText("Each pair: a validation input and the network's "
                                 "reconstruction of it.")
        elif e.kind == "generated":
            self.caption.setText("The same noise vectors every time, so the change you see is "
                                 "the generator learning.")
        elif e.kind == "dreams":
            self.caption.setText("Visible units after Gibbs sampling from random starts.")

    def _cells(self, e) -> list[dict]:
        images = np.asarray(e.images)
        cells = []
        recon = None if e.reconstructions is None else np.asarray(e.reconstructions)
        for i in range(len(images)):
            cell: dict = {"images": [images[i]]}
            if recon is not None and i < len(recon):
                cell["images"].append(recon[i])
            if e.labels is not None and e.predictions is not None and i < len(e.labels):
                t, pr = e.labels[i], e.predictions[i]
                conf = ""
                if e.confidences is not None and i < len(e.confidences):
                    conf = f" ({100 * float(e.confidences[i]):.0f}%)"
                cell["ok"] = t == pr
                cell["caption"] = f"{t} ✓{conf}" if t == pr else f"{t} → {pr}{conf}"
            cells.append(cell)
        return cells

    def _draw_regression(self, targets: np.ndarray, outputs: np.ndarray) -> None:
        self.plot.clear()
        style_plot(self.plot, "Predicted vs true (validation)")
        t = targets.reshape(len(targets), -1)[:, 0]
        o = outputs.reshape(len(outputs), -1)[:, 0]
        lo, hi = float(min(t.min(), o.min())), float(max(t.max(), o.max()))
        self.plot.plot([lo, hi], [lo, hi], pen=pg.mkPen(series_color("cursor"),
                                                        style=Qt.PenStyle.DashLine))
        self.plot.plot(t, o, pen=None, symbol="o", symbolSize=6,
                       symbolBrush=series_color("val"), symbolPen=None)
        self.plot.setLabel("bottom", "true")
        self.plot.setLabel("left", "predicted")
        mae = float(np.mean(np.abs(t - o)))
        self.caption.setText(f"{len(t)} validation samples · mean absolute error {mae:.4g} · "
                             "points on the dashed line are exact")
