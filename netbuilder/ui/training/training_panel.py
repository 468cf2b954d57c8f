"""The Training dock: Start/Pause/Stop with live progress on top, the setup form below, and
the run's log (one line per epoch, like a console run)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QPlainTextEdit, QScrollArea, QVBoxLayout, QWidget

from ...train import events as ev
from .controller import route
from .controls import ControlBar
from .setup_panel import SetupForm


class TrainingPanel(QWidget):
    """ControlBar on top, the scrollable setup form below."""

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("training_panel")
        self.controls = ControlBar(controller)
        self.form = SetupForm(controller)
        scroll = QScrollArea(objectName="training_setup_scroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.form)
        self.log = QPlainTextEdit(objectName="training_log")
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(5000)  # a line per epoch: the whole of long runs
        self.log.setMaximumHeight(72)
        self.log.setPlaceholderText("Messages from the training process appear here.")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.controls)
        layout.addWidget(_rule())
        layout.addWidget(scroll, 1)
        # NOTE: without a rule the form's last visible row, cut by the scroll area's edge,
        # read as if the log's lines were written over it (seen at 1366×768)
        layout.addWidget(_rule())
        layout.addWidget(self.log)
        self._epochs = 0
        self._has_val = False
        self._pending_train: dict = {}
        self.controller = controller
        shown = {ev.Log: self._log, ev.Metrics: self._epoch_line}
        controller.event_received.connect(lambda e: route(shown, e))
        self._replay_logs()  # what arrived before this panel was first shown
        controller.state_changed.connect(
            lambda state: state == "starting" and self.log.clear())
        controller.run_started.connect(self._run_started)
        controller.run_ended.connect(self._run_ended)

    def _replay_logs(self) -> None:
        if self.controller.shows_run():
            for e in self.controller.logs:
                self._log(e)

    def _run_ended(self, _e) -> None:
        if self.controller.shows_run():
            self.log.appendPlainText(self.controller.message[0])

    def _log(self, e) -> None:
        if not self.controller.shows_run():
            return
        prefix = "⚠ " if e.level == "warning" else ""
        self.log.appendPlainText(prefix + e.message)

    def _run_started(self, e) -> None:
        if not self.controller.shows_run():
            return
        self._epochs = e.epochs
        self._has_val = bool(e.dataset.get("n_val"))
        d = e.dataset
        self.log.appendPlainText(
            f"{e.task} on {d.get('name', '?')} ({d.get('n_train', 0):,} train / "
            f"{d.get('n_val', 0):,} val) · {e.num_params:,} parameters · {e.device} · "
            f"{e.precision}")

    def _epoch_line(self, e) -> None:
        """One line per epoch, like a console run: the epoch's training and validation means."""
        if not e.epoch_end or not self.controller.shows_run():
            return
        if e.split == "train":
            self._pending_train = e.values
            if self._has_val:
                return  # its validation follows
        short = {"loss": "loss", "accuracy": "acc"}  # the dock is narrow: keep lines short
        values = {short[k]: v for k, v in self._pending_train.items() if k in short}
        if e.split == "val":
            values.update({f"val {short[k]}": v for k, v in e.values.items() if k in short})
        phase = "" if e.phase in ("train", "") else f"{e.phase} · "
        text = " · ".join(f"{k} {100 * v:.1f}%" if k.endswith("acc") else f"{k} {v:.4g}"
                          for k, v in values.items())
        self.log.appendPlainText(f"{phase}epoch {e.epoch}/{self._epochs}  {text}")

    def set_document(self, doc) -> None:
        """Show ``doc``'s setup, and its run's messages only (another graph's stay away)."""
        self.form.set_document(doc)
        self.log.clear()
        self._replay_logs()
        self.controls.follow(self.controller.shows_run())


def _rule() -> QFrame:
    """A thin horizontal line between the panel's parts."""
    line = QFrame()
    line.setFrameShape(QFrame.Shape.HLine)
    line.setFrameShadow(QFrame.Shadow.Plain)
    return line
