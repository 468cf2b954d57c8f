"""Importing heavy modules (torch, pyqtgraph) on a thread beside the window's.

``import torch`` takes seconds (tens on a busy machine); on the window's thread it freezes the
window for all of it (a Quit took 13.9 s). Imported on another thread, it shares the interpreter
with the window, which keeps drawing and answering meanwhile; what needs the module runs once
the import is done, back on the window's thread.
"""
from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Callable, Iterable

from PySide6.QtCore import QObject, Signal, Slot


class _Done(QObject):
    # NOTE: emitted on the importing thread; the receiver is this object (a slot of its own,
    # not a bare callable), so the connection is queued and the callback runs on the thread
    # this object lives on (the window's).
    done = Signal()

    def __init__(self, callback: Callable[[], None], parent: QObject) -> None:
        super().__init__(parent)
        self._callback = callback
        self.done.connect(self._finish)

    @Slot()
    def _finish(self) -> None:
        self.deleteLater()
        self._callback()


def import_then(names: Iterable[str], callback: Callable[[], None], parent: QObject) -> bool:
    """Import ``names`` on a background thread, then call ``callback`` on ``parent``'s thread;
    when all are imported already, call it now. True when the import went to a thread.

    An import that fails is left for the callback's own import to report (where it is used)."""
    missing = [n for n in names if n not in sys.modules]
    if not missing:
        callback()
        return False
    relay = _Done(callback, parent)

    def work() -> None:
        try:
            for name in missing:
                importlib.import_module(name)
        except Exception:  # noqa: BLE001 (see the docstring)
            pass
        try:
            relay.done.emit()
        except RuntimeError:  # the window closed meanwhile: nobody waits for it
            pass

    threading.Thread(target=work, name="netbuilder-import", daemon=True).start()
    return True
