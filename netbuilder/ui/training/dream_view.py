"""The Dream view: what a node's channels look for. Pick a node on the canvas and a channel
(or all channels: one tile each) and the run's model grows, from faint noise, the picture that
most excites it (activation maximisation with jitter and blur); or deep dream the chosen
validation sample, amplifying whatever the node sees in it.

The ascent takes a hundred forward and backward passes per channel, so it runs on a worker
thread (like the embedding projection); the maths lives in ``train.explain.dream``.
"""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...errors import NetbuilderError
from .imaging import PixelView, grid_shape, shrinkable

MAX_TILES = 16  # "all channels" shows at most this many (the first ones)
TILE = 56  # pixels a tile is scaled up to (at least)
GAP = 3


def rgb_grid(tiles: list[np.ndarray], gap: int = GAP) -> np.ndarray:
    """Pictures (C, H, W) (each stretched to its own range) → one RGB grid, dark gaps."""
    from ...train.explain.images import to_rgb

    rgbs = [to_rgb(t) for t in tiles]
    k = max(1, -(-TILE // max(rgbs[0].shape[:2])))
    rgbs = [r.repeat(k, axis=0).repeat(k, axis=1) for r in rgbs]
    h, w = rgbs[0].shape[:2]
    rows, cols = grid_shape(len(rgbs), w / h)
    out = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap, 3), 40, dtype=np.uint8)
    for i, rgb in enumerate(rgbs):
        r, c = divmod(i, cols)
        out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = rgb
    return out


class DreamView(QWidget):
    """Choose a node, a channel and press Dream (or Deep dream); see the module doc."""

    dreamt = Signal(object)  # the tiles (list of numpy C × H × W), once shown
    _done = Signal(object, object)  # (key, tiles or error text), from the worker thread

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dream")
        self.run_dir: Path | None = None
        self.model = None
        self._samples = None
        self._channels: dict[str, int] = {}
        self.tiles: list[np.ndarray] = []
        self.channels_shown: list[int] = []
        self._busy = False
        self.node = QComboBox(objectName="dream_node")
        self.node.setToolTip("Whose channels to dream: pick a node on the canvas or here")
        self.channel = QSpinBox(objectName="dream_channel")
        self.channel.setMinimum(-1)
        self.channel.setSpecialValueText("all")
        self.channel.setValue(-1)
        self.channel.setToolTip(f"One channel, or all (a grid of the first {MAX_TILES})")
        self.steps = QSpinBox(objectName="dream_steps")
        self.steps.setRange(1, 10_000)
        self.steps.setValue(64)
        self.sample = QSpinBox(objectName="dream_sample")
        self.sample.setToolTip("The validation sample deep dream starts from (or pick one in "
                               "the Explain gallery)")
        self.button = QPushButton("Dream", objectName="dream_button")
        self.button.setToolTip("Grow, from noise, the picture that most excites the channel")
        self.deep_button = QPushButton("Deep dream", objectName="dream_deep_button")
        self.deep_button.setToolTip("Amplify what the node sees in the sample")
        top = QHBoxLayout()
        for w in (QLabel("Node"), self.node, QLabel("Channel"), self.channel, QLabel("Steps"),
                  self.steps, self.button, QLabel("Sample"), self.sample, self.deep_button):
            top.addWidget(w)
        top.addStretch(1)
        self.picture = PixelView(min_size=96)
        self.picture.setObjectName("dream_picture")
        self.picture.set_placeholder("Train the network (or pick a run), pick a node, then "
                                     "Dream.")
        self.message = shrinkable(QLabel("", objectName="dream_message"))
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.picture, 1)
        layout.addWidget(self.message)
        self.node.currentIndexChanged.connect(self._node_changed)
        self.button.clicked.connect(lambda: self.dream(deep=False))
        self.deep_button.clicked.connect(lambda: self.dream(deep=True))
        self._done.connect(self._finished)
        self._enable(False)

    # --- the run and the canvas ---------------------------------------------------------------

    def set_run(self, run_dir: str | Path | None, label: str | None = None) -> None:
        """Dream with the weights of the run in ``run_dir`` (None: no run yet)."""
        from ...train.explain import RunModel

        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.model, self._samples = None, None
        self.node.blockSignals(True)
        self.node.clear()
        self.node.blockSignals(False)
        self._enable(False)
        if self.run_dir is None:
            return
        try:
            self.model = RunModel(self.run_dir)
            nodes = self.model.layer_nodes()
            self._samples = self.model.validation()
        except NetbuilderError as exc:
            self.model = None
            self.message.setText(str(exc))
            return
        # a node's channels: the first axis of its output (features of a flat output)
        self._channels = {name: shape[0] for name, shape, _ in nodes if shape}
        self.node.blockSignals(True)
        for name in self._channels:
            self.node.addItem(name)
        weighted = [name for name, shape, w in nodes if w and len(shape) == 3]
        self.node.setCurrentText(weighted[-1] if weighted else self.node.itemText(0))
        self.node.blockSignals(False)
        self.sample.setRange(0, len(self._samples[0]) - 1)
        self._node_changed()
        self._enable(True)
        self.message.setText(f"Weights of {label or self.run_dir.name}: pick a node on the "
                             f"canvas and a channel, then Dream")

    def select_nodes(self, names: list[str]) -> None:
        """The canvas selection: the first selected node that can be dreamt becomes the node."""
        chosen = [n for n in names if n in self._channels]
        if chosen and self.model is not None:
            self.node.setCurrentText(chosen[0])

    def set_sample(self, index: int) -> None:
        """Deep dream validation sample ``index`` (as the Explain gallery picks it)."""
        if self.model is not None:
            self.sample.setValue(index)

    def _node_changed(self) -> None:
        have = self._channels.get(self.node.currentText(), 0)
        self.channel.setMaximum(max(have - 1, -1))  # -1: "all"

    # --- the job ------------------------------------------------------------------------------

    def dream(self, deep: bool = False) -> bool:
        """Start dreaming with the form's settings on a worker thread; False when it cannot."""
        if self.model is None or self._busy or not self.node.currentText():
            return False
        node, channel = self.node.currentText(), self.channel.value()
        channels = [channel] if channel >= 0 else \
            list(range(min(MAX_TILES, self._channels[node])))
        key = (self.run_dir, node, None if channel < 0 and deep else channels, deep,
               self.sample.value(), self.steps.value())
        self._busy = True
        self._enable(False)
        what = f"deep dream of sample {key[4]}" if deep else \
            f"{len(channels)} channel{'s' if len(channels) > 1 else ''}"
        self.message.setText(f"Dreaming {node}: {what}…")
        # the worker keeps this run's model and samples even if another run is picked meanwhile
        threading.Thread(target=self._work, args=(key, self.model, self._samples[0]),
                         daemon=True).start()
        return True

    def _work(self, key, model, x) -> None:
        from ...train.explain import deep_dream, maximize_activation, yield_to_training

        yield_to_training()  # the run being trained comes first
        _run, node, channels, deep, sample, steps = key
        try:
            layer = model.node(node)
            if deep:
                start = x[sample:sample + 1]
                result = [start[0].numpy()] + [
                    deep_dream(model.net, layer, start, c, steps=steps,
                               x_range=model.x_range)[0].numpy()
                    for c in (channels or [None])]
            else:
                result = [maximize_activation(model.net, layer, c, model.input_shape,
                                              steps=steps, x_range=model.x_range)[0].numpy()
                          for c in channels]
        except NetbuilderError as exc:
            result = str(exc)
        except Exception as exc:  # noqa: BLE001 (the worker must always answer the window)
            result = f"Could not dream {node}: {exc}"
        self._done.emit(key, result)

    def _finished(self, key, result) -> None:
        self._busy = False
        self._enable(self.model is not None)
        if key[0] != self.run_dir:  # dreamt with an older run's weights
            return
        if isinstance(result, str):
            self.message.setText(result)
            return
        _run, node, channels, deep, sample, steps = key
        self.tiles = result
        self.channels_shown = list(channels or [])
        self.picture.set_rgb(rgb_grid(result))
        if deep:
            which = "all channels" if channels is None else f"channel {channels[0]}"
            self.message.setText(f"Deep dream of sample {sample} at {node} ({which}, {steps} "
                                 f"steps): the sample first, then what {node} sees in it, "
                                 f"amplified")
        else:
            first = f"channel {channels[0]}" if len(channels) == 1 else \
                f"channels {channels[0]}–{channels[-1]}, left to right, top to bottom"
            self.message.setText(f"What excites {node}: {first} ({steps} steps from noise)")
        self.dreamt.emit(result)

    def _enable(self, on: bool) -> None:
        for w in (self.node, self.channel, self.steps, self.sample, self.button,
                  self.deep_button):
            w.setEnabled(on)
