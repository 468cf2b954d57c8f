"""Feature maps: the selected node's activations on the probe sample, or a conv layer's filters.

Activations arrive as uint8 tiles with fixed colour levels (the trainer keeps a node's levels
for the whole run, so brighter means larger). Filters come from the run's latest weights file.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...layers import get_spec
from .imaging import PixelView, colorize, image_rgb, shrinkable, strip_tiles, tile_mosaic_rgb


def _has_filters(type_: str | None) -> bool:
    """Whether a node type has filters to show: a convolution (its spec's ``conv_dims``)."""
    return bool(type_) and get_spec(type_).conv_dims > 0


def filter_tiles(weight: np.ndarray, max_inputs: int = 8, max_outputs: int = 64
                 ) -> tuple[np.ndarray, int, float]:
    """A conv weight (O, I, kh[, kw]) → (tiles uint8 (O*I', kh, kw), columns, level).

    Each output filter is a row of its first ``max_inputs`` input-channel kernels, on a
    diverging scale symmetric about zero (128 = 0) shared by all kernels of the layer.
    """
    w = np.asarray(weight, dtype=np.float32)
    if w.ndim == 3:  # Conv1d: (O, I, k) → one-pixel-high kernels
        w = w[:, :, None, :]
    if w.ndim != 4:
        raise ValueError(f"expected a conv weight (O, I, kh, kw), got shape {w.shape}")
    w = w[:max_outputs, :max_inputs]
    o, i, kh, kw = w.shape
    level = float(np.max(np.abs(w))) or 1.0
    tiles = np.round((w / level * 0.5 + 0.5) * 255).clip(0, 255).astype(np.uint8)
    return tiles.reshape(o * i, kh, kw), i, level


def load_conv_weight(weights_path: Path, graph_json: str, node_name: str) -> np.ndarray | None:
    """The ``weight`` tensor of node ``node_name`` from a run's safetensors file, or None."""
    from safetensors import safe_open

    from ...compile.codegen import used_nodes
    from ...compile.naming import Namespace
    from ...graph import from_json

    graph = from_json(graph_json)
    names = Namespace()
    attr = None
    for nid in used_nodes(graph):
        a = names.create(nid, graph.node(nid).name)
        if graph.node(nid).name == node_name:
            attr = a
    if attr is None or not Path(weights_path).exists():
        return None
    with safe_open(str(weights_path), framework="numpy") as f:
        key = f"{attr}.weight"
        return f.get_tensor(key) if key in set(f.keys()) else None


class FeatureMapView(QWidget):
    """Input image beside a grid of the selected node's channels (or its filters)."""

    mode_changed = Signal(str)  # "activations" | "filters"
    grid_updated = Signal(str)  # node name whose grid was just drawn

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("feature_maps")
        self.node_name: str | None = None
        self.node_type: str | None = None
        self.mode = "activations"
        self.tile_count = 0
        self._last_event = None
        self._filters: np.ndarray | None = None
        self.auto_node: str | None = None  # shown while nothing is selected

        self.title = QLabel("Feature maps", objectName="feature_maps_title")
        self.title.setProperty("role", "heading")
        self.detail = QLabel("", objectName="feature_maps_detail")
        self.detail.setProperty("role", "muted")
        shrinkable(self.detail)
        self.act_button = QToolButton(text="Activations", objectName="feature_maps_activations")
        self.filter_button = QToolButton(text="Filters", objectName="feature_maps_filters")
        group = QButtonGroup(self)
        for b in (self.act_button, self.filter_button):
            b.setCheckable(True)
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            group.addButton(b)
        self.act_button.setChecked(True)
        self.act_button.toggled.connect(lambda on: on and self.set_mode("activations"))
        self.filter_button.toggled.connect(lambda on: on and self.set_mode("filters"))
        self.cmap_box = QComboBox(objectName="feature_maps_colormap")
        for name in ("inferno", "viridis", "gray"):
            self.cmap_box.addItem(name.capitalize(), name)
        self.cmap_box.currentIndexChanged.connect(self._redraw)

        head = QHBoxLayout()
        head.setContentsMargins(8, 6, 8, 0)
        head.addWidget(self.title)
        head.addWidget(self.detail, 1)
        head.addWidget(self.act_button)
        head.addWidget(self.filter_button)
        head.addWidget(self.cmap_box)

        self.input_view = PixelView(min_size=64)
        self.input_view.setObjectName("feature_maps_input")
        self.input_view.setMaximumWidth(180)
        self.input_caption = QLabel("input", alignment=Qt.AlignmentFlag.AlignCenter)
        self.input_caption.setProperty("role", "muted")
        shrinkable(self.input_caption)
        left = QVBoxLayout()
        left.addWidget(self.input_view, 1)
        left.addWidget(self.input_caption)

        self.grid = PixelView(min_size=96)
        self.grid.setObjectName("feature_maps_grid")
        self.grid.set_placeholder("Select a layer on the canvas to watch its activations "
                                  "while the network trains.")
        self.legend = QLabel("", objectName="feature_maps_legend",
                             alignment=Qt.AlignmentFlag.AlignCenter)
        self.legend.setProperty("role", "muted")
        self.legend.setWordWrap(True)
        right = QVBoxLayout()
        right.addWidget(self.grid, 1)
        right.addWidget(self.legend)

        body = QHBoxLayout()
        body.setContentsMargins(8, 4, 8, 6)
        body.setSpacing(10)
        body.addLayout(left, 2)
        body.addLayout(right, 7)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addLayout(body, 1)
        self._update_buttons()

    # --- what to show ---------------------------------------------------------------------

    def set_node(self, name: str | None, type_: str | None = None, probed: bool = True) -> None:
        """Follow the node called ``name`` (None: nothing selected)."""
        if name == self.node_name and type_ == self.node_type:
            return
        self.node_name, self.node_type = name, type_
        self._filters = None
        self.tile_count = 0
        self.grid.set_rgb(None)
        self.legend.setText("")
        if name is None:
            self.title.setText("Feature maps")
            self.detail.setText("")
            self.grid.set_placeholder("Select a layer on the canvas to watch its activations "
                                      "while the network trains.")
        else:
            self.title.setText(name)
            self.detail.setText(type_ or "")
            self.grid.set_placeholder(
                f"Waiting for the next probe of '{name}'…" if probed else
                f"{type_ or 'This node'} '{name}' has no layer of its own to probe: "
                f"select a convolution, dense, activation or pooling layer.")
        self.detail.setToolTip(self.detail.text())
        if self.mode == "filters" and not _has_filters(type_):
            self.act_button.setChecked(True)
        self._update_buttons()
        if self._last_event is not None:
            self.show_activations(self._last_event)

    def set_mode(self, mode: str) -> None:
        if mode == self.mode:
            return
        self.mode = mode
        self._update_buttons()
        self._redraw()
        self.mode_changed.emit(mode)

    def _update_buttons(self) -> None:
        filters = _has_filters(self.node_type)
        self.filter_button.setEnabled(filters)
        self.filter_button.setToolTip("Show the layer's learned filters (conv layers)"
                                      if filters else
                                      "Filters exist for convolution layers only")

    def clear(self) -> None:
        self._last_event = None
        self.auto_node = None
        self._filters = None
        self.tile_count = 0
        self.input_view.set_rgb(None)
        self.grid.set_rgb(None)
        self.legend.setText("")

    # --- data -----------------------------------------------------------------------------

    def show_activations(self, event) -> None:
        """Take an ``Activations`` event; draws the followed node's tiles when it has them.

        With nothing selected, the first probed layer with feature maps is shown, so the view
        is never empty while a run streams.
        """
        self._last_event = event
        if self.node_name is None and event.tiles:
            self.auto_node = _first_map(event)
        if self.auto_node is not None and self.node_name is None:
            self._draw_auto(event)
            return
        if event.input is not None:
            self.input_view.set_rgb(image_rgb(np.asarray(event.input)))
            self.input_caption.setText(f"probe input · {event.label}" if event.label
                                       else "probe input")
        if self.mode == "activations":
            self._draw_activations()

    def show_filters(self, weight: np.ndarray | None) -> None:
        """Take the followed conv layer's weight tensor (None: not available yet)."""
        self._filters = None if weight is None else np.asarray(weight)
        if self.mode == "filters":
            self._draw_filters()

    def _redraw(self) -> None:
        if self.mode == "filters":
            self._draw_filters()
        else:
            self._draw_activations()

    def _background(self):
        return self.palette().color(QPalette.ColorRole.Base)

    def _draw_auto(self, event) -> None:
        if event.input is not None:
            self.input_view.set_rgb(image_rgb(np.asarray(event.input)))
            self.input_caption.setText(f"probe input · {event.label}" if event.label
                                       else "probe input")
        self.node_name = self.auto_node
        try:
            self._draw_activations()
        finally:
            self.node_name = None
        self.title.setText(self.auto_node)

    def _draw_activations(self) -> None:
        e, name = self._last_event, self.node_name
        if e is None or name is None or name not in e.tiles:
            return
        tiles = np.asarray(e.tiles[name])
        shape = tuple(e.shapes.get(name, tiles.shape))
        lo, hi = e.levels.get(name, (0.0, 1.0))
        cmap = self.cmap_box.currentData()
        if tiles.shape[0] == 1 and tiles.shape[1] == 1:  # a vector: heat strip
            gray = strip_tiles(tiles)
            rgb = colorize(gray, cmap)
            self.tile_count = int(tiles.size)
            what = f"{tiles.size} units"
        elif tiles.shape[0] == 1 and len(shape) == 2:  # a sequence (T, F)
            rgb = colorize(tiles[0], cmap)
            self.tile_count = 1
            what = f"{shape[0]} steps × {shape[1]} features"
        else:
            rgb, _, _ = tile_mosaic_rgb(tiles, cmap, self._background())
            self.tile_count = int(tiles.shape[0])
            total = shape[0] if shape else tiles.shape[0]
            what = (f"{tiles.shape[0]} channels" if total == tiles.shape[0]
                    else f"first {tiles.shape[0]} of {total} channels")
        self.grid.set_rgb(rgb)
        # NOTE: the label clips at the dock's edge: the shape and step come before the hint.
        parts = [self.node_type] if self.node_type else []
        parts += [_fmt_shape(shape), f"step {e.step:,}"]
        if not self.node_type and self.node_name == self.auto_node:
            parts.append("first layer: select a node to change")
        self.detail.setText(" · ".join(parts))
        self.detail.setToolTip(self.detail.text())
        self.legend.setText(f"{what} · fixed colour scale {lo:.3g} … {hi:.3g}")
        self.grid_updated.emit(name)

    def _draw_filters(self) -> None:
        w = self._filters
        if w is None:
            self.grid.set_rgb(None)
            self.grid.set_placeholder("The filters appear after the first checkpoint "
                                      "(end of the first epoch).")
            self.legend.setText("")
            return
        tiles, cols, level = filter_tiles(w)
        gap_rgb, _, _ = tile_mosaic_rgb(tiles, "diverging",
                                        self.palette().color(QPalette.ColorRole.Mid), gap=1,
                                        cols=cols if cols > 1 else
                                        max(1, math.ceil(math.sqrt(len(tiles)))))
        self.grid.set_rgb(gap_rgb)
        self.tile_count = len(tiles)
        o, i = w.shape[0], w.shape[1]
        shown = "" if (o <= 64 and i <= 8) else " (first 64 filters × 8 inputs)"
        self.legend.setText(f"{o} filters × {i} input channels{shown} · "
                            f"blue −{level:.3g} · white 0 · red +{level:.3g}")
        self.grid_updated.emit(self.node_name or "")


def _first_map(event) -> str | None:
    """The first probed node whose activation is a stack of maps (else the first one)."""
    names = list(event.tiles)
    for name in names:
        if len(event.shapes.get(name, ())) == 3:
            return name
    return names[0] if names else None


def _fmt_shape(shape: tuple) -> str:
    return "(" + ", ".join(["N", *(str(d) for d in shape)]) + ")"
