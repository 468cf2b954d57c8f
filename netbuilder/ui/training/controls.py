"""The run controls at the top of the Training panel: Start, Pause/Resume, Stop, the progress
bar with epoch, step, samples/s and ETA, and the run's messages (a failure in words, with the
traceback one click away)."""
from __future__ import annotations

import math

from PySide6.QtCore import QEvent, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...train import events as ev
from ..theme import colors
from .controller import route


def _fmt_eta(seconds: float) -> str:
    if seconds is None or math.isnan(seconds) or seconds < 0:
        return "—"
    s = round(seconds)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class LiveText(QWidget):
    """Two lines of text that change several times a second without relayouting the panel.

    NOTE: a word-wrapped QLabel asks its layout for a new geometry on every ``setText``; with
    the setup form below it in the same dock that costs more than everything else the panel
    does during a run.
    """

    def __init__(self, text: str = "", objectName: str = "") -> None:  # noqa: N803
        super().__init__()
        self.setObjectName(objectName)
        self._text = text
        self.setFixedHeight(2 * self.fontMetrics().lineSpacing() + 2)
        self.setMinimumWidth(40)

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:  # noqa: N802 (QLabel's name)
        if text != self._text:
            self._text = text
            self.setToolTip(text)
            self.update()

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        p.drawText(QRectF(self.rect()), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop
                   | Qt.TextFlag.TextWordWrap, self._text)


class ProgressStrip(QWidget):
    """A slim progress bar that repaints on the next frame.

    NOTE: ``QProgressBar.setValue`` repaints synchronously; at several updates a second while
    the worker competes for the CPU that showed up in the GUI's frame times.
    """

    def __init__(self, parent: QWidget | None = None, objectName: str = "") -> None:  # noqa: N803
        super().__init__(parent)
        self.setObjectName(objectName)
        self._min, self._max, self._value = 0, 1, 0
        self.setFixedHeight(16)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(200, 16)

    def setRange(self, low: int, high: int) -> None:  # noqa: N802 (QProgressBar's names)
        self._min, self._max = int(low), int(high)
        self._value = min(max(self._value, self._min), self._max)
        self.update()

    def setValue(self, value: int) -> None:  # noqa: N802
        value = min(max(int(value), self._min), self._max)
        if value != self._value:
            self._value = value
            self.update()

    def value(self) -> int:
        return self._value

    def maximum(self) -> int:
        return self._max

    def fraction(self) -> float:
        span = self._max - self._min
        return (self._value - self._min) / span if span > 0 else 0.0

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        pal = self.palette()
        r = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        p.setPen(pal.color(QPalette.ColorRole.Mid))
        p.setBrush(pal.color(QPalette.ColorRole.Base))
        p.drawRoundedRect(r, 4, 4)
        busy = self._max == self._min
        if not busy and self._value > self._min:
            fill = QRectF(r.left(), r.top(), max(r.width() * self.fraction(), 6.0), r.height())
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(pal.color(QPalette.ColorRole.Highlight))
            p.drawRoundedRect(fill, 4, 4)
        text = "starting…" if busy else f"{100 * self.fraction():.0f}%"
        p.setPen(pal.color(QPalette.ColorRole.Text))
        font = p.font()
        font.setPointSizeF(max(7.0, font.pointSizeF() - 1.5))
        p.setFont(font)
        p.drawText(r, Qt.AlignmentFlag.AlignCenter, text)


class ControlBar(QFrame):
    """Start / Pause-Resume / Stop, the progress bar and the run's status and messages."""

    def __init__(self, controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.setObjectName("training_controls")
        self.start_button = QPushButton("Start", objectName="training_start")
        self.start_button.setToolTip("Train the network as drawn now (F5)")
        self.start_button.setDefault(True)
        self.pause_button = QPushButton("Pause", objectName="training_pause")
        self.stop_button = QPushButton("Stop", objectName="training_stop")
        for b in (self.start_button, self.pause_button, self.stop_button):
            b.setMinimumWidth(64)
        self.start_button.clicked.connect(self._start)
        self.pause_button.clicked.connect(self._pause_resume)
        self.stop_button.clicked.connect(controller.stop)
        self.progress = ProgressStrip(objectName="training_progress")
        self.numbers = LiveText("Not started", objectName="training_numbers")
        self.status = QLabel("", objectName="training_status")
        self.status.setProperty("role", "muted")
        self.status.setWordWrap(True)
        self.message = QLabel("", objectName="training_message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()
        self.details_button = QToolButton(text="Details", objectName="training_details_button")
        self.details_button.setCheckable(True)
        self.details_button.hide()
        self.details = QPlainTextEdit(objectName="training_details")
        self.details.setReadOnly(True)
        self.details.setMaximumHeight(140)
        self.details.hide()
        self.details_button.toggled.connect(self.details.setVisible)

        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.pause_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(5)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.numbers)
        layout.addWidget(self.status)
        msg = QHBoxLayout()
        msg.addWidget(self.message, 1)
        msg.addWidget(self.details_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(msg)
        layout.addWidget(self.details)

        self._progress = self._shown_progress = None
        self._progress_timer = QTimer(self, singleShot=True, interval=250)
        self._progress_timer.timeout.connect(self._flush_progress)
        controller.state_changed.connect(self.set_state)
        shown = {ev.Progress: self.show_progress}
        controller.event_received.connect(lambda e: route(shown, e))
        controller.run_started.connect(self.show_started)
        controller.message_changed.connect(self.show_message)
        controller.run_ended.connect(self.show_ended)
        self.set_state(controller.state)
        self.show_message(*controller.message)  # said before this panel was first shown
        if controller.started_event is not None:
            self.show_started(controller.started_event)
        if controller.last_progress is not None:
            self.show_progress(controller.last_progress)

    def _start(self) -> None:
        window = self.window()
        self.controller.start(window if hasattr(window, "show_dock") else None)

    def _pause_resume(self) -> None:
        if self.controller.state == "paused":
            self.controller.resume()
        else:
            self.controller.pause()

    def set_state(self, state: str) -> None:
        running = state in ("starting", "running", "paused", "stopping")
        self.start_button.setEnabled(not running)
        self.pause_button.setEnabled(state in ("running", "paused"))
        self.pause_button.setText("Resume" if state == "paused" else "Pause")
        self.stop_button.setEnabled(state in ("starting", "running", "paused"))
        if state == "starting":
            self.progress.setRange(0, 0)  # busy until the worker reports its plan
            self.numbers.setText("Starting the training process…")
            self.details_button.hide()
            self.details.hide()
        elif state == "paused":
            self.numbers.setText(self.numbers.text().split("  ·  paused")[0] + "  ·  paused")
        elif state == "stopping":
            self.numbers.setText("Stopping…")
        if not running and self.progress.maximum() == 0:
            self.progress.setRange(0, 1)

    def follow(self, owns_run: bool) -> None:
        """Another document came up: show its run's progress, or none when it has no run."""
        c = self.controller
        self._progress = self._shown_progress = None
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status.setText("")
        self.numbers.setText("")
        if owns_run:
            if c.started_event is not None:
                self.show_started(c.started_event)
            if c.last_progress is not None:
                self.show_progress(c.last_progress)
        elif c.running:
            self.numbers.setText("Another graph is training (one run at a time)")

    def show_started(self, e) -> None:
        if not self.controller.shows_run():
            return
        self.progress.setRange(0, max(int(e.total_steps), 1))
        self.progress.setValue(0)
        ds = e.dataset or {}
        self.status.setText(
            f"{e.task} on {ds.get('name', '?')} ({ds.get('n_train', 0):,} train / "
            f"{ds.get('n_val', 0):,} val) · {e.num_params:,} parameters · {e.device} · "
            f"{e.precision}")
        self.numbers.setText(f"Epoch {e.start_epoch}/{e.epochs} · step 0/{e.total_steps:,}")

    def show_progress(self, p) -> None:
        """Take a Progress event; the bar and numbers repaint at most 4 times a second
        (``QProgressBar.setValue`` repaints at once, which is not free)."""
        if not self.controller.shows_run():
            return
        self._progress = p
        if not self._progress_timer.isActive():
            self._show_progress_now()
            self._progress_timer.start()

    def _flush_progress(self) -> None:
        if self._progress is not None and self._progress is not self._shown_progress:
            self._show_progress_now()

    def _show_progress_now(self) -> None:
        p = self._shown_progress = self._progress
        if self.progress.maximum() != p.total_steps:
            self.progress.setRange(0, max(int(p.total_steps), 1))
        self.progress.setValue(min(int(p.step), self.progress.maximum()))
        phase = f"{p.phase} · " if p.phase and p.phase != "train" else ""
        text = (f"{phase}Epoch {p.epoch}/{p.epochs} · step {p.step:,}/{p.total_steps:,} · "
                f"{p.samples_per_s:,.0f} samples/s · ETA {_fmt_eta(p.eta_s)}")
        if self.controller.state == "paused":
            text += "  ·  paused"
        self.numbers.setText(text)

    def show_message(self, text: str, level: str) -> None:
        self.message.setVisible(bool(text))
        self.message.setText(text)
        self._level = level
        self._style_message()

    def _style_message(self) -> None:
        c = colors()
        level = getattr(self, "_level", "")
        accent = {"error": c["error"], "warning": c["warning"]}.get(level)
        if accent is None:
            self.message.setStyleSheet(f"color: {c['muted']};")
        else:
            self.message.setStyleSheet(
                f"color: {accent}; border-left: 3px solid {accent}; padding: 3px 6px;"
                f"background: {c['alt_base']};")

    def changeEvent(self, event) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._style_message()
        super().changeEvent(event)

    def show_ended(self, e) -> None:
        tb = getattr(e, "traceback", "")
        self.details.setPlainText(tb or "")
        self.details_button.setVisible(bool(tb))
        if getattr(e, "summary", None) is not None:
            self.progress.setValue(self.progress.maximum()
                                   if e.summary.get("status") == "finished"
                                   else self.progress.value())
        word = {"finished": "Finished", "stopped": "Stopped",
                "failed": "Failed"}.get(self.controller.state, "Ended")
        summary = getattr(e, "summary", None) or {}
        p = self._progress
        parts = [word]
        if summary.get("epochs_done") is not None and p is not None:
            parts.append(f"epoch {summary['epochs_done']}/{p.epochs}")
        if summary.get("steps") is not None and p is not None:
            parts.append(f"step {summary['steps']:,}/{p.total_steps:,}")
        elif p is not None:
            parts.append(f"step {p.step:,}/{p.total_steps:,}")
        if summary.get("samples_per_s"):
            parts.append(f"{summary['samples_per_s']:,.0f} samples/s")
        self._progress_timer.stop()
        self.numbers.setText(" · ".join(parts))
