"""Try it: draw a digit, drop an image or a data file, or move latent sliders, and see what the
trained network makes of it (latest weights of the current or chosen run)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ...errors import NetbuilderError
from ...train.predict_inputs import DATA_SUFFIXES, IMAGE_SUFFIXES, read_picture, read_rows
from ...train.predictor import Predictor, image_from_output
from ..theme import colors
from .imaging import PixelView, image_rgb, shrinkable

PAD = 224  # pixels of the drawing pad's own image


class DrawPad(QWidget):
    """A square black pad; the mouse draws thick white strokes (like the training digits)."""

    stroke_finished = Signal()
    stroke_moved = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("try_it_pad")
        self.image = QImage(PAD, PAD, QImage.Format.Format_Grayscale8)
        self.image.fill(0)
        self._last: QPointF | None = None
        self.pen_width = 22.0
        self.setMinimumSize(120, 120)
        self.setMaximumSize(PAD * 2, PAD * 2)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip("Draw a digit with the mouse")

    def sizeHint(self) -> QSize:
        return QSize(PAD, PAD)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return width

    def _square(self) -> QRectF:
        """Where the pad's image is painted: the largest centred square."""
        side = min(self.width(), self.height())
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def _to_image(self, pos: QPointF) -> QPointF:
        r = self._square()
        scale = PAD / max(r.width(), 1.0)
        return QPointF((pos.x() - r.left()) * scale, (pos.y() - r.top()) * scale)

    def clear(self) -> None:
        self.image.fill(0)
        self.update()

    def set_array(self, gray: np.ndarray) -> None:
        """Show a picture (H, W) in [0, 1] on the pad (a dropped image)."""
        from PIL import Image

        pil = Image.fromarray(np.clip(gray * 255, 0, 255).astype(np.uint8)).resize(
            (PAD, PAD), Image.Resampling.BILINEAR)
        arr = np.ascontiguousarray(np.asarray(pil, dtype=np.uint8))
        self.image = QImage(arr.data, PAD, PAD, PAD, QImage.Format.Format_Grayscale8).copy()
        self.update()

    def array(self) -> np.ndarray:
        """The pad as float32 (H, W) in [0, 1]."""
        ptr = self.image.constBits()
        arr = np.frombuffer(ptr, dtype=np.uint8, count=self.image.sizeInBytes())
        arr = arr.reshape(PAD, self.image.bytesPerLine())[:, :PAD]
        return arr.astype(np.float32) / 255.0

    def is_blank(self) -> bool:
        return not self.array().any()

    def _draw_to(self, pos: QPointF) -> None:
        p = QPainter(self.image)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setPen(QPen(QColor(255, 255, 255), self.pen_width, Qt.PenStyle.SolidLine,
                      Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin))
        start = self._last if self._last is not None else pos
        p.drawLine(start, pos)
        p.end()
        self._last = pos
        self.update()

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._last = None
            self._draw_to(self._to_image(event.position()))

    def mouseMoveEvent(self, event) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._draw_to(self._to_image(event.position()))
            self.stroke_moved.emit()

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._last = None
            self.stroke_finished.emit()

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        r = self._square()
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        p.drawImage(r, self.image)
        p.setPen(QPen(self.palette().color(QPalette.ColorRole.Mid), 1))
        p.drawRect(r.adjusted(0.5, 0.5, -0.5, -0.5))


class ProbabilityBars(QWidget):
    """Horizontal bars, one per class, the winner highlighted."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("try_it_bars")
        self.probs: np.ndarray | None = None
        self.names: list[str] = []
        self.setMinimumSize(160, 120)

    def set_probabilities(self, probs: np.ndarray | None, names: list[str] | None) -> None:
        self.probs = None if probs is None else np.asarray(probs, dtype=np.float64)
        k = 0 if self.probs is None else len(self.probs)
        self.names = list(names) if names and len(names) == k else [str(i) for i in range(k)]
        self.update()

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        if self.probs is None or not len(self.probs):
            p.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                       "Class probabilities appear here.")
            return
        c = colors()
        order = np.argsort(-self.probs)[:20]
        show = sorted(order.tolist()) if len(self.probs) <= 20 else order.tolist()
        top = int(order[0])
        n = len(show)
        row = min(24.0, self.height() / max(n, 1))
        label_w = min(110, 14 + 8 * max(len(self.names[i]) for i in show))
        bar_w = max(self.width() - label_w - 56, 10)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        for j, i in enumerate(show):
            y = j * row
            v = float(self.probs[i])
            p.setPen(QColor(c["text"]))
            p.drawText(QRectF(0, y, label_w - 8, row), Qt.AlignmentFlag.AlignRight |
                       Qt.AlignmentFlag.AlignVCenter, self.names[i])
            p.fillRect(QRectF(label_w, y + row * 0.2, bar_w, row * 0.6), QColor(c["alt_base"]))
            color = QColor(c["highlight"] if i == top else c["mid"])
            p.fillRect(QRectF(label_w, y + row * 0.2, bar_w * v, row * 0.6), color)
            p.setPen(QColor(c["text"] if i == top else c["muted"]))
            p.drawText(QRectF(label_w + bar_w + 4, y, 52, row), Qt.AlignmentFlag.AlignLeft |
                       Qt.AlignmentFlag.AlignVCenter, f"{100 * v:.1f}%")


class TryItView(QWidget):
    """Classifier: a drawing pad / dropped file → probabilities. Generator: latent sliders."""

    predicted = Signal(object)  # np.ndarray of class probabilities (or generated image)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("try_it")
        self.setAcceptDrops(True)
        self.predictor: Predictor | None = None
        self.prediction = "values"  # what the run's task gives (Task.prediction)
        self.run_dir: Path | None = None
        self.last_probs: np.ndarray | None = None
        self._input: np.ndarray | None = None  # the current raw sample(s), as the data set

        self.title = QLabel("Try it", objectName="try_it_title")
        self.title.setProperty("role", "heading")
        self.source = QLabel("", objectName="try_it_source")
        self.source.setProperty("role", "muted")
        shrinkable(self.source)
        self.message = QLabel("", objectName="try_it_message")
        self.message.setWordWrap(True)
        self.message.setProperty("role", "muted")

        # classifier page
        self.pad = DrawPad()
        self.pad.stroke_finished.connect(self.predict_pad)
        self._live = QTimer(self, singleShot=True, interval=120, timeout=self.predict_pad)
        self.pad.stroke_moved.connect(lambda: self._live.isActive() or self._live.start())
        clear = QPushButton("Clear", objectName="try_it_clear")
        clear.clicked.connect(self.clear_input)
        self.seen = PixelView(min_size=56)
        self.seen.setObjectName("try_it_seen")
        self.seen.setFixedSize(72, 72)
        self.seen.setToolTip("What the network receives (resized to its Input)")
        pad_col = QVBoxLayout()
        pad_col.addWidget(self.pad, 1)
        row = QHBoxLayout()
        row.addWidget(clear)
        row.addStretch(1)
        seen_label = QLabel("network sees")
        seen_label.setProperty("role", "muted")
        row.addWidget(seen_label)
        row.addWidget(self.seen)
        pad_col.addLayout(row)
        hint = QLabel("Draw with the mouse, or drop an image or a .npy/.csv file here.")
        hint.setProperty("role", "muted")
        hint.setWordWrap(True)
        pad_col.addWidget(hint)
        self.verdict = QLabel("", objectName="try_it_verdict")
        self.verdict.setStyleSheet("font-size: 15pt; font-weight: 600;")
        self.bars = ProbabilityBars()
        self.output = PixelView(min_size=96)
        self.output.setObjectName("try_it_output")
        self.output.hide()
        right = QVBoxLayout()
        right.addWidget(self.verdict)
        right.addWidget(self.bars, 1)
        right.addWidget(self.output, 1)
        classify = QWidget()
        lay = QHBoxLayout(classify)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(pad_col)
        lay.addLayout(right, 1)

        # generator page
        self.sliders: list[QSlider] = []
        self.generated = PixelView(min_size=96)
        self.generated.setObjectName("try_it_generated")
        self.slider_box = QVBoxLayout()
        randomize = QPushButton("Random", objectName="try_it_random")
        randomize.clicked.connect(self.randomize_latent)
        gen_left = QVBoxLayout()
        gen_left.addLayout(self.slider_box)
        gen_left.addWidget(randomize)
        gen_left.addStretch(1)
        generate = QWidget()
        glay = QHBoxLayout(generate)
        glay.setContentsMargins(0, 0, 0, 0)
        glay.addLayout(gen_left, 2)
        glay.addWidget(self.generated, 3)
        self._z = None

        self.pages = QStackedWidget()
        self.pages.addWidget(classify)
        self.pages.addWidget(generate)
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addWidget(self.source, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addLayout(head)
        layout.addWidget(self.message)
        layout.addWidget(self.pages, 1)
        self.set_run(None)

    # --- which model ------------------------------------------------------------------------

    def set_run(self, run_dir: str | Path | None, label: str | None = None) -> None:
        """Use the weights of the run in ``run_dir`` (None: no run yet)."""
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.predictor = None
        if self.run_dir is None:
            self.source.setText("")
            self._say("Train the network (or pick a run in the Runs panel), then try it here.")
            return
        try:
            predictor = Predictor(self.run_dir)
            # what the task's model gives, and the run's own preprocessing (not the live
            # settings): read now, so that a damaged record is said at once
            self.prediction = predictor.prediction
            predictor.preprocessing()
        except NetbuilderError as exc:
            self._say(str(exc), error=True)
            return
        self.predictor = predictor
        self.source.setText(f"weights of {label or self.run_dir.name}")
        self._say("")
        gen = None
        if self.prediction == "samples":
            try:
                gen = self.predictor.generator()
            except NetbuilderError:
                gen = None
        if gen is not None:
            self.pages.setCurrentIndex(1)
            self._build_sliders(gen[1])
        else:
            self.pages.setCurrentIndex(0)
        classes = self.prediction == "classes"
        self.bars.setVisible(classes)
        self.output.setVisible(not classes)
        self.refresh()

    def refresh(self) -> None:
        """Predict again with the newest weights (the controller calls this after a checkpoint)."""
        if self.predictor is None:
            return
        if self.pages.currentIndex() == 1:
            self._generate()
        elif self._input is not None:
            self._predict(self._input)

    # --- classifier -------------------------------------------------------------------------

    def clear_input(self) -> None:
        self.pad.clear()
        self._input = None
        self.seen.set_rgb(None)
        self.bars.set_probabilities(None, None)
        self.verdict.setText("")
        self.last_probs = None

    def predict_pad(self) -> None:
        if self.predictor is None or self.pad.is_blank():
            return
        try:
            x = self.predictor.image_input(self.pad.array(), crop=True)[None]
        except NetbuilderError as exc:
            self._say(str(exc), error=True)
            return
        self._predict(x)

    def _predict(self, x: np.ndarray) -> None:
        """Show what the network makes of raw samples ``x`` (N, *raw_shape): the first one."""
        self._input = x
        if self.prediction != "classes":
            self._reconstruct(x)
            return
        try:
            probs = self.predictor.probabilities(x)
        except NetbuilderError as exc:
            self._say(str(exc), error=True)
            return
        except RuntimeError as exc:  # a torch error on an odd input: say it, keep going
            self._say(f"The network could not take this input: {exc}", error=True)
            return
        self._say("" if len(x) == 1 else f"{len(x)} samples in the file; showing the first.")
        self._show_seen(x[0])
        p = probs[0]
        names = self.predictor.classes
        top = int(np.argmax(p))
        name = names[top] if names and top < len(names) else str(top)
        self.verdict.setText(f"{name}  ·  {100 * p[top]:.1f}%")
        self.bars.set_probabilities(p, names)
        self.last_probs = p
        self.predicted.emit(p)

    def _reconstruct(self, x: np.ndarray) -> None:
        """Autoencoders and regressors: show what the network outputs for the input."""
        try:
            out = self.predictor.predict(x)
        except (NetbuilderError, RuntimeError) as exc:
            self._say(f"The network could not take this input: {exc}", error=True)
            return
        self._say("")
        self._show_seen(x[0])
        img = image_from_output(out[0], self.predictor.input_shape)
        if img is not None:
            self.output.set_rgb(image_rgb(img))
            self.verdict.setText("output")
        else:
            values = ", ".join(f"{v:.4g}" for v in np.ravel(out[0])[:8])
            self.verdict.setText(f"output: {values}")
        self.predicted.emit(out[0])

    def _show_seen(self, sample: np.ndarray) -> None:
        """Show what the network receives for a raw sample: resized as training resized it,
        in the data's own units (before normalisation)."""
        s = self.predictor.model_input(sample[None], normalized=False)[0]
        shape = self.predictor.input_shape
        if len(shape) == 1:
            side = round(np.sqrt(s.size))
            if side * side != s.size:
                self.seen.set_rgb(None)
                return
            s = s.reshape(1, side, side)
        if s.ndim != 3 or s.shape[0] not in (1, 3):
            self.seen.set_rgb(None)
            return
        hi = max(float(s.max()), 1e-6)
        self.seen.set_rgb(image_rgb(np.round(np.clip(s / hi, 0, 1) * 255).astype(np.uint8)))

    def load_file(self, path: str | Path) -> None:
        """Predict the picture or data rows in ``path`` (what a drop does)."""
        path = Path(path)
        if self.predictor is None:
            self._say("Train the network first: there are no weights to try yet.", error=True)
            return
        suffix = path.suffix.lower()
        try:
            if suffix in IMAGE_SUFFIXES:
                rgb = read_picture(path)
                gray = rgb.mean(axis=2)
                shape = self.predictor.picture_shape()
                if shape is not None and shape[0] == 3:  # a colour photo: taken as it is
                    self.pad.set_array(gray)
                    self._predict(self.predictor.image_input(rgb)[None])
                    return
                gray, _ = self.predictor.match_background(gray)  # dark ink on white paper
                self.pad.set_array(gray)
                self._predict(self.predictor.image_input(gray, crop=True)[None])
            elif suffix in DATA_SUFFIXES:
                self._predict(self.predictor.rows_input(read_rows(path), path.name))
            else:
                self._say(f"{path.name}: drop a picture ({', '.join(IMAGE_SUFFIXES)}) or a data "
                          f"file (.npy, .csv)", error=True)
        except NetbuilderError as exc:
            self._say(str(exc), error=True)

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            event.acceptProposedAction()
            self.load_file(urls[0].toLocalFile())

    # --- generator --------------------------------------------------------------------------

    def _build_sliders(self, latent: tuple) -> None:
        while self.slider_box.count():
            item = self.slider_box.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.sliders.clear()
        size = int(np.prod(latent))
        self._z = np.random.default_rng(0).standard_normal(size).astype(np.float32)
        for i in range(min(size, 8)):
            s = QSlider(Qt.Orientation.Horizontal, objectName=f"try_it_latent{i}")
            s.setRange(-300, 300)
            s.setValue(round(self._z[i] * 100))
            s.valueChanged.connect(self._generate)
            self.slider_box.addWidget(QLabel(f"z[{i}]"))
            self.slider_box.addWidget(s)
            self.sliders.append(s)
        self._latent = latent

    def randomize_latent(self) -> None:
        if self._z is None:
            return
        self._z = np.random.default_rng().standard_normal(self._z.size).astype(np.float32)
        for i, s in enumerate(self.sliders):
            s.blockSignals(True)
            s.setValue(round(self._z[i] * 100))
            s.blockSignals(False)
        self._generate()

    def _generate(self) -> None:
        if self.predictor is None or self._z is None:
            return
        for i, s in enumerate(self.sliders):
            self._z[i] = s.value() / 100.0
        try:
            out = self.predictor.generate(self._z.reshape(1, *self._latent))
        except (NetbuilderError, RuntimeError) as exc:
            self._say(f"The generator could not run: {exc}", error=True)
            return
        img = image_from_output(out[0], self.predictor.input_shape)
        self.generated.set_rgb(None if img is None else image_rgb(img))
        if img is None:
            self._say(f"The generator's output {out.shape[1:]} is not a picture.")
        self.predicted.emit(out[0])

    # --- messages ---------------------------------------------------------------------------

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))
        self.message.setProperty("role", "field-error" if error else "muted")
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
