"""The live embedding view: a node's activations on the validation set projected to 2-D, one
colour per class, redrawn after each epoch's checkpoint so people watch the clusters form.
Hovering a point shows its sample.

The projection runs on a worker thread (``train.explain.embed_run`` on the newest weights), at
a lower priority than the training process it shares the processor with; the window only
draws the finished points. A checkpoint arriving while one is being computed
is remembered and computed next, so a slow t-SNE never piles up work.
"""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from ...errors import NetbuilderError
from .imaging import PixelView, shrinkable

HOVER_PX = 8  # how near the pointer must be to a point to show its sample


def class_colour(c: int) -> QColor:
    """Ten well separated hues (then around again, darker)."""
    return QColor.fromHsv((c * 36 + 200) % 360, 200, 230 if c < 10 else 150)


class Scatter(QWidget):
    """Points coloured by class; ``hovered`` says which point is under the pointer."""

    hovered = Signal(int)  # index into the points, -1: none

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setMinimumSize(120, 120)
        self.points: np.ndarray | None = None
        self.labels: np.ndarray | None = None
        self.names: list[str] | None = None  # class names for the legend
        self.current = -1

    def set_points(self, points: np.ndarray | None, labels: np.ndarray | None) -> None:
        self.points, self.labels, self.current = points, labels, -1
        self.update()

    def screen_points(self) -> np.ndarray:
        """The points in widget pixels (N, 2), the data's range fitted with a margin."""
        p = self.points
        lo, hi = p.min(0), p.max(0)
        span = np.where(hi > lo, hi - lo, 1.0)
        m = 10.0
        w = max(self.width() - 2 * m - self._legend_width(), 1)
        h = max(self.height() - 2 * m, 1)
        x = m + (p[:, 0] - lo[0]) / span[0] * w
        y = m + (1 - (p[:, 1] - lo[1]) / span[1]) * h  # up is up
        return np.column_stack([x, y])

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 (Qt override)
        found = -1
        if self.points is not None and len(self.points):
            at = np.array([event.position().x(), event.position().y()])
            d = np.linalg.norm(self.screen_points() - at, axis=1)
            i = int(d.argmin())
            found = i if d[i] <= HOVER_PX else -1
        if found != self.current:
            self.current = found
            self.update()
            self.hovered.emit(found)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt override)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self.points is None or not len(self.points):
            return
        xy = self.screen_points()
        labels = self.labels if self.labels is not None else np.zeros(len(xy), int)
        p.setPen(Qt.PenStyle.NoPen)
        for (x, y), c in zip(xy, labels, strict=True):
            p.setBrush(class_colour(int(c)))
            p.drawEllipse(QPointF(x, y), 3.0, 3.0)
        self._legend(p, labels)
        if self.current >= 0:
            x, y = xy[self.current]
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(QPen(self.palette().color(self.foregroundRole()), 1.5))
            p.drawEllipse(QRectF(x - 6, y - 6, 12, 12))


    def _classes(self) -> list[int]:
        labels = self.labels
        classes = [] if labels is None else sorted({int(c) for c in labels})
        return classes if len(classes) <= 20 else []

    def _name(self, c: int) -> str:
        return self.names[c] if self.names and c < len(self.names) else str(c)

    def _legend_width(self) -> int:
        classes = self._classes()
        if not classes:
            return 0
        return max(self.fontMetrics().horizontalAdvance(self._name(c)) for c in classes) + 22

    def _legend(self, p: QPainter, labels: np.ndarray) -> None:
        # one coloured name per class down the right edge: which colour is which class
        line = p.fontMetrics().height()
        for row, c in enumerate(self._classes()):
            name = self._name(c)
            width = p.fontMetrics().horizontalAdvance(name)
            y = 4 + row * line
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(class_colour(c))
            p.drawEllipse(QPointF(self.width() - width - 14, y + line / 2), 3.5, 3.5)
            p.setPen(self.palette().color(self.foregroundRole()))
            p.drawText(QPointF(self.width() - width - 4, y + p.fontMetrics().ascent()), name)


class EmbeddingView(QWidget):
    """Choose a node and a projection; the scatter follows the run's newest weights."""

    computed = Signal(object)  # the points (N, 2) once drawn
    _done = Signal(object, object)  # (key, result or error text), from the worker thread

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("embedding")
        self.run_dir: Path | None = None
        self._x: np.ndarray | None = None
        self._classes: list[str] | None = None
        self._busy = False
        self._again = False
        self._stale = True  # weights newer than the points shown
        self.node = QComboBox(objectName="embedding_node")
        self.node.setToolTip("Whose activations are projected")
        self.method = QComboBox(objectName="embedding_method")
        self.method.addItem("PCA", "pca")
        self.method.addItem("t-SNE", "tsne")
        self.scatter = Scatter()
        self.scatter.setObjectName("embedding_scatter")
        self.sample = PixelView(min_size=64)
        self.sample.setObjectName("embedding_sample")
        self.sample.set_placeholder("Point at a dot to see its sample")
        self.message = shrinkable(QLabel("", objectName="embedding_message"))
        top = QHBoxLayout()
        top.addWidget(QLabel("Node"))
        top.addWidget(self.node, 1)
        top.addWidget(self.method)
        side = QVBoxLayout()
        side.addWidget(self.sample, 1)
        self.caption = shrinkable(QLabel("", objectName="embedding_caption"))
        side.addWidget(self.caption)
        body = QHBoxLayout()
        body.addWidget(self.scatter, 3)
        body.addLayout(side, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(body, 1)
        layout.addWidget(self.message)
        self.node.currentIndexChanged.connect(self.refresh)
        self.method.currentIndexChanged.connect(self.refresh)
        self.scatter.hovered.connect(self._hovered)
        self._done.connect(self._finished)

    def set_run(self, run_dir: str | Path | None) -> None:
        """Follow the run in ``run_dir`` (None: none); lists its layer nodes, fc-like last."""
        from ...train.explain import RunModel, warm_up

        run_dir = Path(run_dir) if run_dir is not None else None
        if run_dir == self.run_dir and self.node.count():
            return
        self.run_dir = run_dir
        self.scatter.set_points(None, None)
        self.node.blockSignals(True)
        self.node.clear()
        self.node.blockSignals(False)
        if run_dir is None:
            return
        warm_up(yielding=True)  # the first projection need not wait for sklearn's import
        try:
            run = RunModel(run_dir)
            nodes = run.layer_nodes()
            self._classes = self.scatter.names = run.classes
        except NetbuilderError as exc:
            self.message.setText(str(exc))
            return
        self.node.blockSignals(True)
        for name, _shape, _weighted in nodes:
            self.node.addItem(name)
        # the last weighted node before the output: where the classes should be apart
        weighted = [i for i, (_, _, w) in enumerate(nodes) if w]
        self.node.setCurrentIndex(weighted[-2] if len(weighted) > 1 else len(nodes) - 1)
        self.node.blockSignals(False)

    def new_weights(self, run_dir: str | Path) -> None:
        """A checkpoint of ``run_dir`` was written: project again now if shown, else when
        next shown (a hidden view costs nothing)."""
        self.set_run(run_dir)
        self._stale = True
        if self.isVisible():
            self.refresh()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def refresh(self) -> None:
        """Project again with the newest weights, on a worker thread (never blocks)."""
        if self.run_dir is None or not self.node.currentText() \
                or not (self.run_dir / "weights.safetensors").exists():
            return
        if self._busy:
            self._again = True
            return
        self._busy, self._again, self._stale = True, False, False
        key = (self.run_dir, self.node.currentText(), self.method.currentData())
        self.message.setText(f"Projecting {key[1]} ({self.method.currentText()})…")
        threading.Thread(target=self._work, args=(key,), daemon=True).start()

    def _work(self, key) -> None:
        from ...train.explain import embed_run, yield_to_training

        yield_to_training()  # the run being trained comes first
        try:
            result = embed_run(key[0], key[1], key[2])
        except NetbuilderError as exc:
            result = str(exc)
        except Exception as exc:  # noqa: BLE001 (the worker must always answer the window)
            result = f"Could not project {key[1]}: {exc}"
        self._done.emit(key, result)

    def _finished(self, key, result) -> None:
        self._busy = False
        now = (self.run_dir, self.node.currentText(), self.method.currentData())
        if self._again or key != now:
            self.refresh()
            return
        if isinstance(result, str):
            self.message.setText(result)
            return
        points, labels, self._x = result
        self.scatter.set_points(points, labels)
        self.message.setText(f"{len(points)} validation samples at {key[1]}, "
                             f"{self.method.currentText()}: one colour per class")
        self.computed.emit(points)

    def _hovered(self, i: int) -> None:
        from ...train.explain.images import to_rgb

        if i < 0 or self._x is None:
            return
        self.sample.set_rgb(to_rgb(self._x[i]))
        labels = self.scatter.labels
        names = self._classes
        text = f"Sample {i}"
        if labels is not None:
            c = int(labels[i])
            text += f", label {names[c] if names and c < len(names) else c}"
        self.caption.setText(text)
