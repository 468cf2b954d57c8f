"""A small picture of what a run will feed the network (after any resize to fit the Input):
sample images at their trained size, a 2-D scatter of points coloured by class, sequences as
curves (one value per step) or as step × feature pictures, other vectors as a samples ×
features picture — plus its shape, size and classes in words."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from .imaging import image_rgb, to_qimage
from .plots import OVERLAY


class PreviewCanvas(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dataset_preview_canvas")
        self.mode = ""
        self.images: list = []
        self.points: np.ndarray | None = None
        self.labels: np.ndarray | None = None
        self.sequences: np.ndarray | None = None
        self.setMinimumHeight(84)

    def sizeHint(self) -> QSize:
        return QSize(260, 96)

    def show_preview(self, p: dict | None) -> None:
        self.mode, self.images, self.points, self.sequences = "", [], None, None
        if p is not None:
            x = np.asarray(p["samples"], dtype=np.float64)
            if p["kind"] == "image" and x.ndim == 4:
                self.mode = "images"
                self.images = [_picture(s) for s in x[:16]]
            elif p["kind"] == "vector" and x.ndim == 2 and x.shape[1] == 2:
                self.mode = "points"
                self.points = x
                self.labels = None if p.get("labels") is None else np.asarray(p["labels"])
            elif x.ndim == 3 and x.shape[2] > 1:  # steps × features: one picture a sequence
                self.mode = "images"
                self.images = [_picture(s[None]) for s in x[:16]]
            elif x.ndim == 3 or (x.ndim == 2 and p["kind"] == "sequence"):
                self.mode = "sequences"
                self.sequences = x[:6].reshape(min(len(x), 6), x.shape[1], -1)[:, :, 0]
            elif x.ndim == 2:  # vectors: samples × features
                self.mode = "matrix"
                self.images = [_picture(x[:16][None])]
        self.update()

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        r = QRectF(self.rect()).adjusted(1, 1, -1, -1)
        p.fillRect(r, self.palette().color(QPalette.ColorRole.Base))
        if self.mode == "matrix" and self.images:
            p.drawImage(r.adjusted(3, 3, -3, -3), self.images[0])
        elif self.mode == "images" and self.images:
            n = len(self.images)
            cols = min(n, 8)
            rows = (n + cols - 1) // cols
            side = min((r.width() - (cols - 1) * 3) / cols, (r.height() - (rows - 1) * 3) / rows)
            x0 = r.left() + (r.width() - cols * side - (cols - 1) * 3) / 2
            for i, im in enumerate(self.images):
                row, col = divmod(i, cols)
                # keep the picture's proportions (a sequence: steps down, features across)
                w, h = (side, side * im.height() / im.width()) if im.width() >= im.height() \
                    else (side * im.width() / im.height(), side)
                p.drawImage(QRectF(x0 + col * (side + 3) + (side - w) / 2,
                                   r.top() + row * (side + 3) + (side - h) / 2, w, h), im)
        elif self.mode == "points" and self.points is not None:
            p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            pts = self.points
            lo, hi = pts.min(axis=0), pts.max(axis=0)
            span = np.maximum(hi - lo, 1e-9)
            side = min(r.width(), r.height()) - 8
            ox = r.left() + (r.width() - side) / 2
            oy = r.top() + (r.height() - side) / 2
            p.setPen(Qt.PenStyle.NoPen)
            for i, (a, b) in enumerate(pts):
                k = 0 if self.labels is None else int(self.labels[i])
                p.setBrush(QColor(OVERLAY[k % len(OVERLAY)]))
                p.drawEllipse(QPointF(ox + (a - lo[0]) / span[0] * side,
                                      oy + side - (b - lo[1]) / span[1] * side), 1.8, 1.8)
        elif self.mode == "sequences" and self.sequences is not None:
            p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            seq = self.sequences.astype(np.float64)
            lo, hi = float(seq.min()), float(seq.max())
            span = max(hi - lo, 1e-9)
            t = seq.shape[1]
            for i, s in enumerate(seq):
                poly = QPolygonF([QPointF(r.left() + 4 + j / max(t - 1, 1) * (r.width() - 8),
                                          r.bottom() - 4 - (v - lo) / span * (r.height() - 8))
                                  for j, v in enumerate(s)])
                p.setPen(QPen(QColor(OVERLAY[i % len(OVERLAY)]), 1.4))
                p.drawPolyline(poly)
        else:
            p.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            p.drawText(r, Qt.AlignmentFlag.AlignCenter, "no preview")


def _picture(s: np.ndarray):
    """A (C, H, W) sample as a QImage, its values spread over black … white."""
    lo, hi = min(float(s.min()), 0.0), max(float(s.max()), 1e-6)
    u8 = np.round((s - lo) / (hi - lo) * 255).clip(0, 255).astype(np.uint8)
    return to_qimage(image_rgb(u8))


class DatasetPreview(QWidget):
    """Preview picture plus a line of facts (samples, shape, classes, value range)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dataset_preview")
        self.canvas = PreviewCanvas(self)
        self.facts = QLabel("", objectName="dataset_facts")
        self.facts.setWordWrap(True)
        self.facts.setProperty("role", "muted")
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        layout.setSpacing(3)
        layout.addWidget(self.canvas)
        layout.addWidget(self.facts)
        self.info: dict | None = None

    def show_preview(self, p: dict | None, error: str | None = None, note: str = "") -> None:
        """Show preview ``p`` (``train.data.preview``); ``error`` instead of facts when the
        data cannot be read; ``note``: what the run does to fit the data to the Input."""
        self.info = p
        self.canvas.show_preview(p)
        if error:
            self.facts.setText(error)
            self.facts.setProperty("role", "field-error")
        elif p is None:
            self.facts.setText("")
        else:
            self.facts.setProperty("role", "muted")
            self.facts.setText(facts_text(p) + (f" — {note}" if note else ""))
        self.facts.style().unpolish(self.facts)
        self.facts.style().polish(self.facts)


def facts_text(p: dict) -> str:
    shape = "(" + ", ".join(["N", *(str(d) for d in p["input_shape"])]) + ")"
    parts = [f"{p['num_samples']:,} samples", f"{p['kind']} {shape}"]
    if p.get("classes"):
        k = len(p["classes"])
        names = ", ".join(p["classes"][:6]) + ("…" if k > 6 else "")
        parts.append(f"{k} classes ({names})")
    elif p.get("target_shape"):
        parts.append(f"targets {tuple(p['target_shape'])}")
    if np.isfinite(p.get("x_min", np.nan)):
        parts.append(f"values {p['x_min']:.3g} … {p['x_max']:.3g}")
    return " · ".join(parts)
