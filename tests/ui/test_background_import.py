"""Torch is imported beside the window, never on its thread (issue 16: the window never waits)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from netbuilder.ui.background_import import import_then

ROOT = Path(__file__).resolve().parents[2]

# A fresh offscreen window opens LeNet-5; an import hook notes the thread that imports torch.
WINDOW_SCRIPT = textwrap.dedent("""
    import json, sys, threading
    first = {}

    class Spy:
        def find_spec(self, name, path=None, target=None):
            if name == "torch" and not first:
                first["thread"] = threading.current_thread().name
            return None

    sys.meta_path.insert(0, Spy())
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from netbuilder.ui.main_window import MainWindow
    from netbuilder.ui.files import examples_dir
    w = MainWindow(autosave_ms=3_600_000, restore_layout=False)
    w.files.open_file(examples_dir() / "lenet5.json")
    w.show()
    result = {}

    def analysed(a):
        result["params"] = a.total_params
        result["torch_after_open"] = first.get("thread")
        app.quit()

    w.document.analysis_updated.connect(analysed)
    QTimer.singleShot(120_000, app.quit)
    app.exec()
    print(json.dumps(result))
""")


def test_the_window_imports_torch_on_another_thread(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT),
           "NETBUILDER_SETTINGS_DIR": str(tmp_path / "settings")}
    done = subprocess.run([sys.executable, "-c", WINDOW_SCRIPT], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["torch_after_open"] == "netbuilder-import"  # not "MainThread"
    assert result["params"] == 61706  # the first analysis came, once torch was in


def test_import_then_calls_back_on_the_window_thread(qtbot, tmp_path, monkeypatch):
    (tmp_path / "nb_slow_module.py").write_text("import time\ntime.sleep(0.05)\nVALUE = 7\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "nb_slow_module", raising=False)
    from PySide6.QtCore import QObject

    owner = QObject()
    calls = []
    threaded = import_then(["nb_slow_module"], lambda: calls.append(
        (threading.current_thread() is threading.main_thread(),
         sys.modules["nb_slow_module"].VALUE)), owner)
    assert threaded and calls == []  # the import went to a thread, nothing waited for it
    qtbot.waitUntil(lambda: calls != [], timeout=10_000)
    assert calls == [(True, 7)]
    # imported already: the callback runs at once, on this thread
    assert import_then(["nb_slow_module"], lambda: calls.append("now"), owner) is False
    assert calls[-1] == "now"
