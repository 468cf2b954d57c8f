"""Cold start: process start → main window shown with an example open, first canvas paint.

Each start is a fresh interpreter (no warm imports). The app's timing hook prints the seconds
since ``NETBUILDER_T0`` at the canvas's first paint and quits. Three variants, same run:

- app: ``netbuilder lenet5.json`` as people start it (the editor plus the training dashboard);
- editor: the same without the dashboard plugin (what the window itself costs);
- bare Qt: a hand-written QMainWindow + QGraphicsView, the floor any PySide6 app pays.

Run: ``QT_QPA_PLATFORM=offscreen python -m pytest -q -s tests/benchmarks/test_window_bench.py``
(``NETBUILDER_BENCH_STARTS`` sets how many starts per variant; 5 by default).
"""
from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import netbuilder

ROOT = Path(netbuilder.__file__).parent.parent
EXAMPLE = ROOT / "netbuilder" / "resources" / "examples" / "lenet5.json"
STARTS = int(os.environ.get("NETBUILDER_BENCH_STARTS", "5"))
LIMIT_S = 1.5

APP = "import sys; from netbuilder.cli import main; sys.exit(main([sys.argv[1]]))"
EDITOR = ("import sys; import netbuilder.ui.main_window as m; "
          "m.MainWindow._install_plugins = lambda self: None; "
          "from netbuilder.ui.app import run_app; sys.exit(run_app(sys.argv[1]))")
BARE_QT = """
import os, sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QGraphicsScene, QGraphicsView, QMainWindow
app = QApplication([])
window = QMainWindow()
scene = QGraphicsScene()
for i in range(14):
    scene.addRect(i * 220, 0, 184, 60)
view = QGraphicsView(scene)
window.setCentralWidget(view)
window.resize(1440, 900)
class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            obj.removeEventFilter(self)
            t = time.time() - float(os.environ["NETBUILDER_T0"])
            print(f"netbuilder-timing window_shown_s={t:.3f}", file=sys.stderr, flush=True)
            QTimer.singleShot(0, app.quit)
        return False
hook = FirstPaint()
view.viewport().installEventFilter(hook)
window.show()
app.exec()
"""


def cold_start(code: str, tmp_path: Path) -> float:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", NETBUILDER_TIMING="1",
               NETBUILDER_TIMING_EXIT="1", NETBUILDER_SETTINGS_DIR=str(tmp_path / "settings"))
    env["NETBUILDER_T0"] = repr(time.time())
    done = subprocess.run([sys.executable, "-c", code, str(EXAMPLE)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    found = re.search(r"window_shown_s=([0-9.]+)", done.stderr)
    assert done.returncode == 0 and found, done.stderr[-2000:]
    return float(found.group(1))


def median_start(code: str, tmp_path: Path) -> tuple[float, list[float]]:
    times = [cold_start(code, tmp_path) for _ in range(STARTS)]
    return statistics.median(times), times


def test_window_is_shown_with_an_example_open_within_limit(tmp_path):
    cold_start(APP, tmp_path)  # the first start after an install writes .pyc files: not timed
    bare, bare_times = median_start(BARE_QT, tmp_path)
    editor, editor_times = median_start(EDITOR, tmp_path)
    app, app_times = median_start(APP, tmp_path)
    print(f"\ncold start to first paint, median of {STARTS} (load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs):")
    for label, value, times in (("bare Qt window", bare, bare_times),
                                ("editor (no dashboard)", editor, editor_times),
                                ("netbuilder lenet5.json", app, app_times)):
        spread = ", ".join(f"{t:.2f}" for t in times)
        print(f"  {label:<24} {value:6.2f} s  ({value / bare:4.1f}× bare Qt)   [{spread}]")
    assert editor <= LIMIT_S, f"the editor took {editor:.2f} s to show (limit {LIMIT_S} s)"
    assert app <= LIMIT_S, f"the app took {app:.2f} s to show (limit {LIMIT_S} s)"
