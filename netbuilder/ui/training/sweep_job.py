"""Work off the GUI thread: a sweep running in the background (its trials train in worker
processes), and one-off computations whose result comes back as a signal."""
from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from ...errors import NetbuilderError


class Background(QObject):
    """Run ``fn()`` in a thread; ``done(result)`` or ``failed(message)`` arrives on the GUI
    thread (queued signals)."""

    done = Signal(object)
    failed = Signal(str)

    def __init__(self, fn: Callable, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._fn = fn
        self.thread = threading.Thread(target=self._run, name="netbuilder-background",
                                       daemon=True)

    def start(self) -> Background:
        self.thread.start()
        return self

    def _run(self) -> None:
        try:
            result = self._fn()
        except NetbuilderError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 (shown to the person, not a crash)
            self.failed.emit(f"{type(exc).__name__}: {exc}")
        else:
            self.done.emit(result)


class SweepJob(QObject):
    """One sweep running from the editor: ``run_sweep`` in a thread, trials in processes.

    ``opened`` says the study can be read; ``trial_done`` says each finished trial (a
    TrialRecord); ``ended`` comes once, with None or the reason it failed. ``stop()`` ends
    the running trials and starts no more.
    """

    opened = Signal()  # the study exists: it may be read
    trial_done = Signal(object)
    ended = Signal(object)  # None | str

    def __init__(self, graph, config, definition, folder: Path, name: str, jobs: int,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.folder, self.name = Path(folder), name
        self._stop = threading.Event()
        self._args = (graph, config, definition)
        self._jobs = jobs
        self._work = Background(self._run, self)
        self._work.done.connect(lambda _r: self.ended.emit(None))
        self._work.failed.connect(self.ended.emit)

    def start(self) -> None:
        self._work.start()

    def _run(self):
        from ...train.sweep import run_sweep

        graph, config, definition = self._args
        return run_sweep(graph, config, definition, folder=self.folder, name=self.name,
                         jobs=self._jobs, on_trial=self.trial_done.emit, stop=self._stop,
                         on_open=self.opened.emit)

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def running(self) -> bool:
        return self._work.thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        self._work.thread.join(timeout)
