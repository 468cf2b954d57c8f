"""The Style transfer view: the person picks nodes of a trained convolutional network on the
canvas, gives a content and a style picture and their weights, and watches the picture
sharpen: ``train.explain.StyleJob`` sends it every few steps as a ``Samples`` event, read on a
timer and routed here as the training's live views read theirs.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...errors import NetbuilderError
from ...train import events as ev
from .controller import route
from .imaging import PixelView, shrinkable

POLL_MS = 40
EVERY = 5  # steps between two pictures


def _rgb(tile: np.ndarray) -> np.ndarray:
    """uint8 (C, H, W) → (H, W, 3)."""
    return np.repeat(tile[0][:, :, None], 3, axis=2) if tile.shape[0] == 1 else \
        np.ascontiguousarray(tile[:3].transpose(1, 2, 0))


class StyleView(QWidget):
    """Content, style and the picture being optimised, side by side; see the module doc."""

    updated = Signal(int)  # the step whose picture is now shown
    finished = Signal(object)  # the job's Finished or Failed event

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("style")
        self.run_dir: Path | None = None
        self.model = None
        self.job = None
        self.steps_shown: list[int] = []
        self.losses: list[float] = []
        self.content = self._file_row("style_content", "Choose the content picture")
        self.style = self._file_row("style_style", "Choose the style picture")
        self.nodes = QLineEdit(objectName="style_nodes")
        self.nodes.setPlaceholderText("select convolutional nodes on the canvas")
        self.nodes.setToolTip("Whose features keep the content and whose Gram matrices carry "
                              "the style: click nodes on the canvas (Ctrl-click for several)")
        self.content_weight = QLineEdit("1", objectName="style_content_weight")
        self.style_weight = QLineEdit("1000", objectName="style_style_weight")
        self.steps = QSpinBox(objectName="style_steps")
        self.steps.setRange(1, 100_000)
        self.steps.setValue(200)
        self.button = QPushButton("Stylise", objectName="style_button")
        self.button.clicked.connect(self.toggle)
        form = QFormLayout()
        form.addRow("Content", self.content[0])
        form.addRow("Style", self.style[0])
        form.addRow("Nodes", self.nodes)
        weights = QHBoxLayout()
        weights.addWidget(self.content_weight)
        weights.addWidget(QLabel("style"))
        weights.addWidget(self.style_weight)
        form.addRow("Weights", weights)
        form.addRow("Steps", self.steps)
        self.pictures = {}
        grid = QGridLayout()
        for col, name in enumerate(("content", "style", "result")):
            view = PixelView(min_size=64)
            view.setObjectName(f"style_picture_{name}")
            self.pictures[name] = view
            grid.addWidget(view, 0, col)
            grid.addWidget(QLabel(name.capitalize()), 1, col, Qt.AlignmentFlag.AlignHCenter)
        self.pictures["result"].set_placeholder("Train a convolutional network (or pick a "
                                                "run), then stylise a picture here.")
        self.message = shrinkable(QLabel("", objectName="style_message"))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.button)
        layout.addLayout(grid, 1)
        layout.addWidget(self.message)
        self._timer = QTimer(self, interval=POLL_MS)
        self._timer.timeout.connect(self.poll)
        self._routes = {ev.Samples: self._picture, ev.Metrics: self._metrics,
                        ev.Finished: self._ended, ev.Failed: self._ended}
        self.button.setEnabled(False)

    def _file_row(self, name: str, title: str) -> tuple[QWidget, QLineEdit]:
        edit = QLineEdit(objectName=name)
        browse = QToolButton(text="…", objectName=f"{name}_browse")
        browse.clicked.connect(lambda: self._browse(edit, title))
        holder = QWidget()
        row = QHBoxLayout(holder)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(edit, 1)
        row.addWidget(browse)
        return holder, edit

    def _browse(self, edit: QLineEdit, title: str) -> None:
        path, _ = QFileDialog.getOpenFileName(self, title, "", "Pictures (*.png *.jpg *.jpeg "
                                                              "*.bmp *.gif);;All files (*)")
        if path:
            edit.setText(path)

    # --- the run and the canvas --------------------------------------------------------------

    def set_run(self, run_dir: str | Path | None, label: str | None = None) -> None:
        """Stylise with the weights of the run in ``run_dir`` (None: no run yet)."""
        from ...train.explain import RunModel

        self.stop()
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.model = None
        self.button.setEnabled(False)
        if self.run_dir is None:
            return
        try:
            self.model = RunModel(self.run_dir)
        except NetbuilderError as exc:
            self.message.setText(str(exc))
            return
        spatial = [name for name, _ in self.model.spatial_nodes()]
        if not spatial or self.model.image_shape() is None:
            self.message.setText("Style transfer needs a network that takes pictures and has "
                                 "convolutional feature maps")
            self.model = None
            return
        self.button.setEnabled(True)
        self.message.setText(f"Weights of {label or self.run_dir.name}: pick nodes on the "
                             f"canvas ({', '.join(spatial)}), two pictures, then Stylise")

    def select_nodes(self, names: list[str]) -> None:
        """The canvas selection: the selected nodes with feature maps become the nodes."""
        if self.model is None:
            return
        spatial = {name for name, _ in self.model.spatial_nodes()}
        chosen = [n for n in names if n in spatial]
        if chosen:
            self.nodes.setText(",".join(chosen))

    # --- the job --------------------------------------------------------------------------------

    def toggle(self) -> None:
        if self.job is not None:
            self.stop()
        else:
            self.start()

    def start(self) -> bool:
        """Start stylising with the form's settings; False (and why) when it cannot."""
        from ...train.explain import StyleJob

        if self.model is None or self.job is not None:
            return False
        try:
            weights = [float(e.text()) for e in (self.content_weight, self.style_weight)]
        except ValueError:
            self.message.setText("The weights must be numbers, e.g. 1 and 1000")
            return False
        content, style = self.content[1].text().strip(), self.style[1].text().strip()
        if not content or not style:
            self.message.setText("Give a content picture and a style picture (the … buttons)")
            return False
        self.steps_shown, self.losses = [], []
        self.job = StyleJob(self.model, self.nodes.text().split(","), content, style,
                            *weights, steps=self.steps.value(), every=EVERY).start()
        self.button.setText("Stop")
        self.message.setText("Stylising…")
        self._timer.start()
        return True

    def stop(self) -> None:
        if self.job is not None:
            self.job.stop()

    def poll(self) -> None:
        if self.job is None:
            self._timer.stop()
            return
        batch = self.job.poll()
        pictures = [e for e in batch if isinstance(e, ev.Samples)]
        for e in batch:  # pictures: only the newest of a poll is drawn
            if not isinstance(e, ev.Samples) or e is pictures[-1]:
                route(self._routes, e)

    def _picture(self, e) -> None:
        for name, tile in zip(("content", "style", "result"), e.images):
            self.pictures[name].set_rgb(_rgb(tile))
        self.steps_shown.append(e.step)
        self.updated.emit(e.step)

    def _metrics(self, e) -> None:
        self.losses.append(float(e.values["loss"]))
        self.message.setText(f"Step {e.step} of {self.steps.value()}: loss {self.losses[-1]:.4g}")

    def _ended(self, e) -> None:
        self._timer.stop()
        self.job = None
        self.button.setText("Stylise")
        if isinstance(e, ev.Failed):
            self.message.setText(e.message)
        else:
            s = e.summary
            how = "Stopped" if s["status"] == "stopped" else "Done"
            loss = "" if s["first_loss"] is None else \
                f": loss {s['first_loss']:.4g} → {s['last_loss']:.4g}"
            self.message.setText(f"{how} after {s['steps']} steps{loss} "
                                 f"({s['seconds']:.1f} s)")
        self.finished.emit(e)
