"""The Attack view: an adversarial example of one validation sample (FGSM or PGD within an
L∞ ball of radius ε, in the picture's own pixel units), the perturbation that made it and the
prediction before and after; and the robustness curve, accuracy against ε over the validation
set.

One sample's attack takes milliseconds on LeNet-sized models, so it runs on the GUI thread as
the slider moves; the curve attacks the whole validation set several times, so it runs on a
worker thread (like the embedding projection).
"""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...errors import NetbuilderError
from .imaging import PixelView, shrinkable
from .plots import series_color, style_plot

EPS_MAX = 0.3
EPS_STEPS = 300  # slider ticks: ε in steps of 0.001
CURVE_EPS = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3)
SIDE = 168  # pixels the pictures are scaled up to


def eps_of(tick: int) -> float:
    return EPS_MAX * tick / EPS_STEPS


def diverging(delta: np.ndarray, eps: float) -> np.ndarray:
    """A perturbation (H, W) in [-ε, ε] → uint8 RGB: blue below zero, white at zero, red above."""
    t = np.clip(delta / eps, -1, 1) if eps > 0 else np.zeros_like(delta)
    white = np.array([255.0, 255.0, 255.0])
    red, blue = np.array([200.0, 40.0, 40.0]), np.array([40.0, 80.0, 200.0])
    pos, neg = np.clip(t, 0, 1)[..., None], np.clip(-t, 0, 1)[..., None]
    rgb = white * (1 - pos - neg) + red * pos + blue * neg
    return np.round(rgb).astype(np.uint8)


def _scaled(rgb: np.ndarray, side: int = SIDE) -> np.ndarray:
    k = max(1, side // max(rgb.shape[:2]))
    return np.ascontiguousarray(rgb.repeat(k, axis=0).repeat(k, axis=1))


def _picture(x: np.ndarray, x_range: tuple[float, float]) -> np.ndarray:
    """A picture (C, H, W) in ``x_range`` → uint8 RGB on the run's fixed scale (not stretched:
    the before and after pictures must be compared pixel for pixel)."""
    lo, hi = x_range
    v = np.clip((x - lo) / (hi - lo if hi > lo else 1.0), 0, 1)
    v = np.round(v * 255).astype(np.uint8)
    return np.repeat(v[0][:, :, None], 3, axis=2) if v.shape[0] != 3 else \
        np.ascontiguousarray(v.transpose(1, 2, 0))


class AttackView(QWidget):
    """The sample, its adversarial twin and the difference; see the module doc."""

    attacked = Signal(object)  # the perturbed input (numpy, C × H × W), once shown
    curve_drawn = Signal(object)  # [(ε, accuracy)]
    _done = Signal(object, object)  # (key, curve or error text), from the worker thread

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("attack")
        self.run_dir: Path | None = None
        self.model = None
        self._samples = None
        self.adv: np.ndarray | None = None
        self.after: tuple[int, float] | None = None
        self.curve: list[tuple[float, float]] | None = None
        self._busy = False
        self.method = QComboBox(objectName="attack_method")
        self.method.addItem("FGSM", "fgsm")
        self.method.addItem("PGD (10 steps)", "pgd")
        self.sample = QSpinBox(objectName="attack_sample")
        self.sample.setToolTip("Which validation sample to attack (or pick one in the Explain "
                               "gallery)")
        self.slider = QSlider(Qt.Orientation.Horizontal, objectName="attack_eps")
        self.slider.setRange(0, EPS_STEPS)
        self.slider.setValue(30)
        self.slider.setToolTip("ε: how far each pixel may move, in the picture's own units")
        self.eps_label = QLabel(objectName="attack_eps_label")
        self.curve_button = QPushButton("Robustness curve", objectName="attack_curve_button")
        top = QHBoxLayout()
        for w in (QLabel("Attack"), self.method, QLabel("Sample"), self.sample):
            top.addWidget(w)
        top.addStretch(1)
        top.addWidget(self.curve_button)
        eps_row = QHBoxLayout()
        eps_row.addWidget(QLabel("ε"))
        eps_row.addWidget(self.slider, 1)
        eps_row.addWidget(self.eps_label)
        self.pictures: dict[str, PixelView] = {}
        self.captions: dict[str, QLabel] = {}
        grid = QGridLayout()
        for col, name in enumerate(("before", "after", "perturbation")):
            view = PixelView(min_size=72)
            view.setObjectName(f"attack_picture_{name}")
            self.pictures[name] = view
            caption = shrinkable(QLabel(name.capitalize(), objectName=f"attack_caption_{name}"))
            caption.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            self.captions[name] = caption
            grid.addWidget(view, 0, col)
            grid.addWidget(caption, 2, col)
        self.colour_bar = PixelView(min_size=8)
        self.colour_bar.setObjectName("attack_colour_bar")
        self.colour_bar.setMaximumHeight(14)
        self.bar_label = QLabel(objectName="attack_bar_label")
        self.bar_label.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        bar = QVBoxLayout()
        bar.addWidget(self.colour_bar)
        bar.addWidget(self.bar_label)
        grid.addLayout(bar, 1, 2)
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("attack_plot")
        style_plot(self.plot, "Accuracy against ε")
        self.plot.setLabel("bottom", "ε")
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)  # ε in pixel units, not mε
        self.plot.setLabel("left", "accuracy")
        self.plot.setYRange(0, 1)
        grid.addWidget(self.plot, 0, 3, 3, 1)
        for col in range(4):
            grid.setColumnStretch(col, 2 if col == 3 else 1)
        self.pictures["after"].set_placeholder("Train the network (or pick a run), then move "
                                               "ε to attack a sample.")
        self.message = shrinkable(QLabel("", objectName="attack_message"))
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(eps_row)
        layout.addLayout(grid, 1)
        layout.addWidget(self.message)
        self.slider.valueChanged.connect(self.attack)
        self.method.currentIndexChanged.connect(self.attack)
        self.sample.valueChanged.connect(self.attack)
        self.curve_button.clicked.connect(self.draw_curve)
        self._done.connect(self._curve_finished)
        self._show_eps()
        self._enable(False)

    # --- the run ------------------------------------------------------------------------------

    def set_run(self, run_dir: str | Path | None) -> None:
        """Attack the model of the run in ``run_dir`` (None: no run yet)."""
        from ...train.explain import RunModel

        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.model, self._samples, self.adv, self.curve = None, None, None, None
        for view in self.pictures.values():
            view.set_rgb(None)
        self.plot.clear()
        self._enable(False)
        if self.run_dir is None:
            self.message.setText("")
            return
        try:
            self.model = RunModel(self.run_dir)
            x, y = self.model.validation()
        except NetbuilderError as exc:
            self.model = None
            self.message.setText(str(exc))
            return
        self._samples = (x, y)
        self.sample.blockSignals(True)
        self.sample.setRange(0, len(x) - 1)
        self.sample.blockSignals(False)
        self._enable(True)
        self.attack()  # the sample at the slider's ε, at once

    def set_sample(self, index: int) -> None:
        """Attack validation sample ``index`` (as the Explain gallery picks it)."""
        if self.model is not None:
            self.sample.setValue(index)

    def eps(self) -> float:
        return eps_of(self.slider.value())

    # --- one sample ---------------------------------------------------------------------------

    def attack(self) -> None:
        """Perturb the chosen sample with the chosen attack and ε, and show before and after."""
        import torch

        from ...train.explain import fgsm, pgd

        self._show_eps()
        if self.model is None or self._samples is None:
            return
        x, y = self._samples
        i, eps, method = self.sample.value(), self.eps(), self.method.currentData()
        one = x[i:i + 1]
        net = self.model.net
        try:
            with torch.no_grad():
                before = torch.softmax(net(one).reshape(1, -1), 1)[0]
            target = y[i:i + 1] if y is not None else before.argmax().reshape(1)
            attack = fgsm if method == "fgsm" else pgd
            adv = attack(net, one, target, eps, x_range=self.model.x_range)
            with torch.no_grad():
                after = torch.softmax(net(adv).reshape(1, -1), 1)[0]
        except NetbuilderError as exc:
            self.message.setText(str(exc))
            return
        self.adv = adv[0].numpy()
        xr = self.model.x_range
        self.pictures["before"].set_rgb(_scaled(_picture(one[0].numpy(), xr)))
        self.pictures["after"].set_rgb(_scaled(_picture(self.adv, xr)))
        delta = (self.adv - one[0].numpy()).mean(0)
        self.pictures["perturbation"].set_rgb(_scaled(diverging(delta, eps)))
        ramp = np.linspace(-eps, eps, 64)[None, :].repeat(4, 0)
        self.colour_bar.set_rgb(diverging(ramp, eps))
        self.bar_label.setText(f"−{eps:.3f}   0   +{eps:.3f}")
        b, a = int(before.argmax()), int(after.argmax())
        self.after = (a, float(after[a]))
        self.captions["before"].setText(f"Before: {self._name(b)} ({float(before[b]):.0%})")
        self.captions["after"].setText(f"After: {self._name(a)} ({float(after[a]):.0%})")
        self.captions["perturbation"].setText("Perturbation (blue −, red +)")
        truth = "" if y is None else f", label {self._name(int(y[i]))}"
        verdict = "fooled" if a != b else "not fooled"
        self.message.setText(f"{self.method.currentText()} at ε = {eps:.3f} on sample {i}"
                             f"{truth}: {verdict}")
        self.attacked.emit(self.adv)

    def _name(self, c: int) -> str:
        names = self.model.classes if self.model is not None else None
        return names[c] if names and c < len(names) else str(c)

    def _show_eps(self) -> None:
        self.eps_label.setText(f"{self.eps():.3f}")

    # --- the curve ----------------------------------------------------------------------------

    def draw_curve(self) -> None:
        """Accuracy against ε over the validation set, on a worker thread (never blocks)."""
        if self.model is None or self._busy:
            return
        self._busy = True
        self.curve_button.setEnabled(False)
        key = (self.run_dir, self.method.currentData())
        self.message.setText(f"Attacking {len(self._samples[0])} validation samples at "
                             f"{len(CURVE_EPS)} values of ε…")
        # the worker keeps this run's model and samples even if another run is picked meanwhile
        threading.Thread(target=self._work, args=(key, self.model, *self._samples),
                         daemon=True).start()

    def _work(self, key, model, x, y) -> None:
        from ...train.explain import robustness_curve

        try:
            if y is None:
                raise NetbuilderError("The robustness curve needs labelled validation samples")
            result = robustness_curve(model.net, x, y, CURVE_EPS, key[1], x_range=model.x_range)
        except NetbuilderError as exc:
            result = str(exc)
        except Exception as exc:  # noqa: BLE001 (the worker must always answer the window)
            result = f"Could not draw the robustness curve: {exc}"
        self._done.emit(key, result)

    def _curve_finished(self, key, result) -> None:
        self._busy = False
        self.curve_button.setEnabled(self.model is not None)
        if key[0] != self.run_dir or self.model is None:  # a curve of an older run
            return
        if isinstance(result, str):
            self.message.setText(result)
            return
        self.curve = result
        eps, acc = zip(*result)
        self.plot.clear()
        self.plot.setXRange(0, EPS_MAX)
        self.plot.setYRange(0, 1)
        self.plot.plot(eps, acc, pen=pg.mkPen(series_color("val"), width=2), symbol="o",
                       symbolSize=6, symbolBrush=series_color("val"))
        self.message.setText(f"{self.method.itemText(self.method.findData(key[1]))}: accuracy "
                             f"{acc[0]:.0%} at ε = 0, {acc[-1]:.0%} at ε = {eps[-1]:g}")
        self.curve_drawn.emit(result)

    def _enable(self, on: bool) -> None:
        for w in (self.method, self.sample, self.slider, self.curve_button):
            w.setEnabled(on)
