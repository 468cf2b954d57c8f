"""The confusion matrix of the latest validation, as a heat map with counts."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPalette
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from .imaging import ramp


class MatrixCanvas(QWidget):
    """Paints a (K, K) matrix: rows true classes, columns predictions, diagonal outlined."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.matrix: np.ndarray | None = None
        self.classes: list[str] = []
        self.normalize = True
        self.setMinimumSize(160, 160)
        self.setMouseTracking(True)

    def sizeHint(self) -> QSize:
        return QSize(360, 320)

    def set_matrix(self, matrix: np.ndarray, classes: list[str]) -> None:
        self.matrix = np.asarray(matrix, dtype=np.int64)
        k = self.matrix.shape[0]
        self.classes = list(classes) if classes and len(classes) == k else [str(i)
                                                                          for i in range(k)]
        self.update()

    def shares(self) -> np.ndarray:
        """Row-normalised matrix (each true class sums to 1; empty rows stay 0)."""
        m = self.matrix.astype(np.float64)
        totals = m.sum(axis=1, keepdims=True)
        return np.divide(m, totals, out=np.zeros_like(m), where=totals > 0)

    def _layout(self) -> tuple[float, float, float]:
        k = self.matrix.shape[0]
        label_w = min(90, 12 + 7 * max(len(c) for c in self.classes))
        top = 22
        side = max(min((self.width() - label_w - 8) / k, (self.height() - top - 30) / k), 4)
        # centre the matrix in the space it has
        left = label_w + max(0.0, (self.width() - label_w - 8 - side * k) / 2)
        return left, top, side

    def cell_at(self, x: float, y: float) -> tuple[int, int] | None:
        if self.matrix is None:
            return None
        left, top, side = self._layout()
        r, c = int((y - top) // side), int((x - left) // side)
        k = self.matrix.shape[0]
        return (r, c) if 0 <= r < k and 0 <= c < k and x >= left and y >= top else None

    def mouseMoveEvent(self, event) -> None:
        cell = self.cell_at(event.position().x(), event.position().y())
        if cell is None:
            self.setToolTip("")
            return
        r, c = cell
        n = int(self.matrix[r, c])
        total = int(self.matrix[r].sum())
        share = f" ({100 * n / total:.1f}% of class '{self.classes[r]}')" if total else ""
        self.setToolTip(f"true '{self.classes[r]}' predicted as '{self.classes[c]}': "
                        f"{n} sample{'s' if n != 1 else ''}{share}")

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        pal = self.palette()
        if self.matrix is None:
            p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                       "The confusion matrix appears after the first validation\n"
                       "(classification tasks).")
            return
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        k = self.matrix.shape[0]
        left, top, side = self._layout()
        shares = self.shares()
        values = shares if self.normalize else self.matrix / max(self.matrix.max(), 1)
        # light cells for rare confusions, the accent colour for the diagonal's full rows
        table = ramp(pal.color(QPalette.ColorRole.AlternateBase),
                     pal.color(QPalette.ColorRole.Highlight))
        font = QFont(self.font())
        font.setPointSizeF(max(6.5, min(10.0, side / 3.2)))
        p.setFont(font)
        text_color = pal.color(QPalette.ColorRole.Text)
        for r in range(k):
            for c in range(k):
                v = float(values[r, c])
                idx = round(v ** 0.5 * 255)  # square root: a few confusions stay visible
                rgb = table[idx] if self.matrix[r, c] else None
                rect = QRectF(left + c * side, top + r * side, side - 1, side - 1)
                if rgb is None:
                    p.fillRect(rect, pal.color(QPalette.ColorRole.AlternateBase))
                else:
                    p.fillRect(rect, QColor(int(rgb[0]), int(rgb[1]), int(rgb[2])))
                if side >= 18 and self.matrix[r, c]:
                    lum = 0 if rgb is None else 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
                    p.setPen(QColor("#111") if lum > 140 else QColor("#f4f4f4"))
                    txt = (_percent(shares[r, c]) if self.normalize
                           else str(int(self.matrix[r, c])))
                    p.drawText(rect, Qt.AlignmentFlag.AlignCenter, txt)
        p.setPen(text_color)
        for i, name in enumerate(self.classes):
            p.drawText(QRectF(left - 96, top + i * side, 90, side),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, name)
            p.drawText(QRectF(left + i * side, top + k * side + 2, side, 16),
                       Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, name)
        muted = pal.color(QPalette.ColorRole.PlaceholderText)
        p.setPen(muted)
        p.drawText(QRectF(left, 2, k * side, 18), Qt.AlignmentFlag.AlignCenter, "predicted →")
        p.drawText(QRectF(left, top + k * side + 14, k * side, 16),
                   Qt.AlignmentFlag.AlignCenter, "rows: true class")


class ConfusionView(QWidget):
    """Confusion heat map plus overall and worst per-class accuracy."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("confusion_matrix")
        self.canvas = MatrixCanvas(self)
        self.canvas.setObjectName("confusion_canvas")
        self.title = QLabel("Confusion matrix", objectName="confusion_title")
        self.title.setProperty("role", "heading")
        self.summary = QLabel("", objectName="confusion_summary")
        self.summary.setProperty("role", "muted")
        self.summary.setWordWrap(True)
        self.normalize_box = QCheckBox("Row %", objectName="confusion_normalize")
        self.normalize_box.setToolTip("Show each true class's row as percentages "
                                      "(off: raw counts)")
        self.normalize_box.setChecked(True)
        self.normalize_box.toggled.connect(self._set_normalize)
        head = QHBoxLayout()
        head.setContentsMargins(8, 6, 8, 0)
        head.addWidget(self.title)
        head.addStretch(1)
        head.addWidget(self.normalize_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 4)
        layout.addLayout(head)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.summary)
        self.summary.setContentsMargins(8, 0, 8, 0)
        self.epoch = None

    def _set_normalize(self, on: bool) -> None:
        self.canvas.normalize = on
        self.canvas.update()

    def clear(self) -> None:
        self.canvas.matrix = None
        self.canvas.update()
        self.summary.setText("")
        self.title.setText("Confusion matrix")

    def show_event(self, event) -> None:
        """Take a ``ConfusionMatrix`` event."""
        m = np.asarray(event.matrix)
        self.canvas.set_matrix(m, list(event.classes or []))
        self.epoch = event.epoch
        self.title.setText(f"Confusion matrix · epoch {event.epoch}")
        total = int(m.sum())
        acc = float(np.trace(m)) / total if total else float("nan")
        rows = m.sum(axis=1)
        per_class = np.divide(np.diag(m), rows, out=np.full(len(m), np.nan), where=rows > 0)
        names = self.canvas.classes
        text = f"{total} validation samples · accuracy {100 * acc:.1f}%"
        if np.isfinite(per_class).any():
            worst = int(np.nanargmin(per_class))
            text += f" · weakest class '{names[worst]}' {100 * per_class[worst]:.0f}%"
            off = m.copy()
            np.fill_diagonal(off, 0)
            if off.max() > 0:
                r, c = np.unravel_index(int(np.argmax(off)), off.shape)
                text += f" · most confused: '{names[r]}' → '{names[c]}' ({int(off[r, c])})"
        self.summary.setText(text)


def _percent(share: float) -> str:
    """A cell's share of its row in whole percent; a few confusions never read as "0"."""
    pct = 100 * float(share)
    return "<1" if 0 < pct < 1 else f"{pct:.0f}"
