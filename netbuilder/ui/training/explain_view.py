"""The Explain view: pick a validation sample (from the gallery beside it, mistakes first), a
method and (for Grad-CAM) a convolutional node; the run's trained model explains its prediction
as a heat map over the picture.

The maths lives in ``netbuilder.train.explain``; this view only chooses and shows. Maps of
LeNet-sized models take milliseconds (occlusion: a fraction of a second), so they are computed
on the GUI thread when asked for.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ...errors import NetbuilderError
from ...train.explain import METHODS
from .gallery_view import GalleryView
from .imaging import PixelView, shrinkable

TITLES = {"saliency": "Saliency", "integrated_gradients": "Integrated gradients",
          "smoothgrad": "SmoothGrad", "gradcam": "Grad-CAM", "occlusion": "Occlusion"}


class ExplainView(QWidget):
    """Heat maps of what the run's model looks at, for one validation sample at a time."""

    explained = Signal(object)  # the map (numpy), once shown

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("explain")
        self.run_dir: Path | None = None
        self.model = None
        self.heat: np.ndarray | None = None
        self._samples = None
        self.method = QComboBox(objectName="explain_method")
        for m in METHODS:
            self.method.addItem(TITLES.get(m, m), m)
        self.node = QComboBox(objectName="explain_node")
        self.node.setToolTip("Grad-CAM looks at this convolutional node's feature maps")
        self.sample = QSpinBox(objectName="explain_sample")
        self.sample.setToolTip("Which validation sample to explain")
        self.button = QPushButton("Explain", objectName="explain_button")
        self.picture = PixelView(min_size=96)
        self.picture.setObjectName("explain_picture")
        self.picture.set_placeholder("Train the network (or pick a run), then explain a "
                                     "prediction here.")
        self.message = shrinkable(QLabel("", objectName="explain_message"))
        self.message.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Method", self.method)
        form.addRow("Node", self.node)
        form.addRow("Sample", self.sample)
        self.gallery = GalleryView()
        self.gallery.opened.connect(self.open_sample)
        panel = QWidget()
        layout = QVBoxLayout(panel)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addWidget(self.button)
        layout.addWidget(self.picture, 1)
        layout.addWidget(self.message)
        split = QSplitter(self)
        split.addWidget(self.gallery)
        split.addWidget(panel)
        split.setStretchFactor(1, 1)
        QVBoxLayout(self).addWidget(split)
        self.method.currentIndexChanged.connect(self._method_changed)
        self.button.clicked.connect(self.explain)
        self._method_changed()
        self._enable(False)

    def set_run(self, run_dir: str | Path | None, label: str | None = None) -> None:
        """Explain with the weights of the run in ``run_dir`` (None: no run yet)."""
        from ...train.explain import RunModel

        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.model, self._samples, self.heat = None, None, None
        self.picture.set_rgb(None)
        self.gallery.set_samples(None, [])
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
        from ...train.explain import verdicts

        self._samples = (x, y)
        self.gallery.set_samples(x.numpy(), verdicts(self.model.net, x, y), self.model.classes)
        self.sample.setRange(0, len(x) - 1)
        self.node.clear()
        nodes = self.model.spatial_nodes()
        for name, _ in nodes:
            self.node.addItem(name)
        # the last node with weights (the last convolution): Grad-CAM's usual choice
        weighted = [i for i, (_, has_weights) in enumerate(nodes) if has_weights]
        self.node.setCurrentIndex(weighted[-1] if weighted else self.node.count() - 1)
        self._enable(True)
        self._method_changed()
        self.message.setText(f"Weights of {label or self.run_dir.name}: choose a sample and "
                             f"press Explain")

    def open_sample(self, index: int) -> None:
        """Explain validation sample ``index`` (as the gallery asks)."""
        if self.model is None:
            return
        self.sample.setValue(index)
        self.explain()

    def explain(self) -> None:
        """Compute and show the map for the chosen sample, method and node."""
        import torch

        from ...train.explain import explain, overlay_image

        if self.model is None or self._samples is None:
            return
        method = self.method.currentData()
        i = self.sample.value()
        x, y = self._samples
        one = x[i:i + 1]
        try:
            layer = self.model.node(self.node.currentText()) if method == "gradcam" else None
            with torch.no_grad():
                predicted = int(self.model.net(one).reshape(-1).argmax())
            self.heat = explain(self.model.net, one, method, target=predicted, layer=layer)
        except NetbuilderError as exc:
            self.message.setText(str(exc))
            return
        self.picture.set_rgb(np.asarray(overlay_image(one[0].numpy(), self.heat, side=224)))
        names = self.model.classes
        said = names[predicted] if names and predicted < len(names) else str(predicted)
        truth = "" if y is None else \
            f", label {names[int(y[i])] if names else int(y[i])}"
        self.message.setText(f"{TITLES[method]} of sample {i}: predicted {said}{truth}")
        self.explained.emit(self.heat)

    def _method_changed(self) -> None:
        self.node.setEnabled(self.model is not None and self.method.currentData() == "gradcam")

    def _enable(self, on: bool) -> None:
        for w in (self.method, self.sample, self.button):
            w.setEnabled(on)
