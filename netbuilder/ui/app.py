"""Starting the desktop app: ``run_app`` (what ``netbuilder [FILE]`` calls).

``--screenshot OUT.png`` opens the file in the full main window (offscreen where there is no
display), frames the graph, waits for the analysis, renders the window to PNG and exits 0.

Timing hook: with ``NETBUILDER_TIMING=1`` the app prints ``netbuilder-timing window_shown_s=…``
to stderr at the first paint of the canvas after the window is shown, measured from
``NETBUILDER_T0`` (a ``time.time()`` stamp set by whoever launched the process) or else from the
process start; with ``NETBUILDER_TIMING_EXIT=1`` it then quits (the startup benchmark uses both).
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

_IMPORTED_AT = time.time()

SCREENSHOT_SIZE = (1600, 1000)
THEME_ENV = "NETBUILDER_THEME"
WARM_UP_DELAY_MS = 1000  # the window's first frames come before the worker's start


def _needs_offscreen() -> bool:
    if os.environ.get("QT_QPA_PLATFORM"):
        return False
    if sys.platform.startswith("linux"):
        return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return False


def run_app(path: str | os.PathLike | None = None, screenshot: str | os.PathLike | None = None,
            train_seconds: float | None = None, argv: list[str] | None = None) -> int:
    """Open the main window (on ``path`` when given) and run until it closes; the exit code.

    With ``screenshot``, render the window to that PNG instead and return 0 (1 when the file
    cannot be opened: the loader's message goes to stderr). ``train_seconds`` is handed to
    ``window.start_training_for(seconds)`` when the training dashboard provides it.
    """
    if screenshot is not None and _needs_offscreen():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtWidgets import QApplication

    from . import icons, settings, theme

    app = QApplication.instance() or QApplication(list(argv or [sys.argv[0]]))
    settings.configure()
    app.setApplicationDisplayName("netbuilder")
    app.setStyle("Fusion")
    app.setWindowIcon(icons.app_icon())
    if hasattr(app, "setDesktopFileName"):
        app.setDesktopFileName("netbuilder")
    forced = os.environ.get(THEME_ENV)
    theme.apply_theme(forced if forced in theme.THEMES else theme.saved_theme(), save=False)

    if screenshot is not None:
        return _screenshot(app, path, Path(screenshot), train_seconds)

    from .main_window import MainWindow

    window = MainWindow()
    if path is not None:
        window.files.open_file(path)
    else:  # issue 8: no file: the welcome page (examples, recent files)
        window.welcome.show()
    _install_timing_hook(app, window)
    window.show()
    from PySide6.QtCore import QTimer

    QTimer.singleShot(0, window.files.offer_recovery)
    warm = getattr(window.train_controller, "warm_up", None)
    if warm is not None:  # the training process imports torch while the person draws
        QTimer.singleShot(WARM_UP_DELAY_MS, warm)
    if train_seconds is not None and hasattr(window, "start_training_for"):
        QTimer.singleShot(0, lambda: window.start_training_for(train_seconds))
    status = app.exec()
    # NOTE: the window has saved its layout, autosave and runs and ended its worker on close;
    # the interpreter's own teardown (collecting torch's and Qt's objects one by one) then
    # took 15-20 s on a busy machine after Quit. Nothing is left to clean up: leave now.
    settings.app_settings().sync()  # writes what any settings object still holds
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def _screenshot(app, path, out: Path, train_seconds: float | None = None) -> int:
    from ..errors import NetbuilderError
    from ..graph import load
    from .document import Document
    from .files import is_example
    from .main_window import MainWindow

    document = None
    if path is not None:
        try:
            graph = load(path)
        except NetbuilderError as exc:
            print(f"netbuilder: {exc}", file=sys.stderr)
            return 1
        document = Document(graph, None if is_example(Path(path)) else path)
    # A screenshot must not depend on (or change) the person's saved layout or autosave.
    window = MainWindow(document, autosave_ms=24 * 3600 * 1000, restore_layout=False)
    window.resize(*SCREENSHOT_SIZE)
    window.show()
    settle(app)
    window.flush()
    window.canvas.frame_for_reading()  # as the graph opens for a person: readable
    if path is None:  # issue 8: no file: the welcome page, thumbnails drawn
        window.welcome.show()
        settle(app)
        window.welcome.page.flush_thumbnails()
    settle(app)
    # --train SECONDS: the dashboard trains live first; the picture shows the run in progress.
    training = train_seconds is not None and hasattr(window, "start_training_for") and \
        window.start_training_for(train_seconds, wait=True)
    settle(app)
    image = window.grab()
    if training:
        window.train_controller.shutdown()
    out.parent.mkdir(parents=True, exist_ok=True)
    ok = image.save(str(out), "PNG")
    window.files.autosave.shutdown()
    window.hide()
    window.deleteLater()
    settle(app)
    if not ok:
        print(f"netbuilder: cannot write the screenshot to {out}", file=sys.stderr)
        return 1
    return 0


def settle(app, rounds: int = 6) -> None:
    """Let layouts, 0-ms timers and deferred paints run (a few event-loop turns)."""
    for _ in range(rounds):
        app.processEvents()
        app.sendPostedEvents()


def _process_start() -> float:
    stamp = os.environ.get("NETBUILDER_T0")
    if stamp:
        try:
            return float(stamp)
        except ValueError:
            pass
    try:  # Linux: the process start from /proc, in clock ticks since boot
        ticks = os.sysconf("SC_CLK_TCK")
        start = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return time.time() - (uptime - start / ticks)
    except (OSError, ValueError, IndexError):
        return _IMPORTED_AT


def _install_timing_hook(app, window) -> None:
    if os.environ.get("NETBUILDER_TIMING") != "1":
        return
    from PySide6.QtCore import QEvent, QObject, QTimer

    t0 = _process_start()

    class FirstPaint(QObject):
        def eventFilter(self, obj, event):
            if event.type() == QEvent.Type.Paint and window.isVisible():
                obj.removeEventFilter(self)
                QTimer.singleShot(0, report)
            return False

    def report() -> None:
        print(f"netbuilder-timing window_shown_s={time.time() - t0:.3f}", file=sys.stderr,
              flush=True)
        if os.environ.get("NETBUILDER_TIMING_EXIT") == "1":
            window.files.autosave.shutdown()
            app.exit(0)

    window._first_paint = FirstPaint(window)
    window.canvas.viewport().installEventFilter(window._first_paint)


def main(argv: list[str] | None = None) -> int:
    """``python -m netbuilder.ui.app [FILE] [--screenshot OUT.png]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="netbuilder-gui")
    parser.add_argument("file", nargs="?")
    parser.add_argument("--screenshot", metavar="OUT.png")
    args = parser.parse_args(argv)
    return run_app(args.file, args.screenshot)


if __name__ == "__main__":
    sys.exit(main())
