"""Timed runs (``netbuilder FILE --train SECONDS``): train for a while, then stop."""
from __future__ import annotations

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from ...train import events as ev
from .controller import route


def train_for(dashboard, seconds: float, wait: bool = False) -> bool:
    """Start a run and let it train ``seconds`` (counted from the worker's first progress
    report, so a slow process start does not eat the time), then stop it. With
    ``wait``, spin the event loop until then and return with the run still live (the
    screenshot renders it; the caller stops it)."""
    dashboard.window.flush()
    c = dashboard.controller
    if not c.start(dashboard.window):
        return False
    loop = QEventLoop()
    state = {"done": False}

    def time_up() -> None:
        if state["done"]:  # the run ended on its own (a later run is not ours to stop)
            return
        state["done"] = True
        loop.quit()
        if not wait:
            c.stop()

    def begin(_e) -> None:
        c.event_received.disconnect(listen)
        state["began"] = True
        dashboard.window.canvas.frame_all()  # the docks took room from the canvas
        QTimer.singleShot(int(seconds * 1000), time_up)

    def ended(_e) -> None:
        c.run_ended.disconnect(ended)
        if not state.get("began"):
            c.event_received.disconnect(listen)
        state["done"] = True
        loop.quit()

    first_progress = {ev.Progress: begin}

    def listen(e) -> None:
        route(first_progress, e)

    c.event_received.connect(listen)
    c.run_ended.connect(ended)
    if wait:
        while not state["done"]:
            loop.exec()
        QApplication.processEvents()
    return True
