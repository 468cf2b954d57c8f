"""``netbuilder FILE --screenshot OUT.png --train SECONDS``: the window, trained live, as a PNG."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from PySide6.QtGui import QImage
from training_helpers import tiny_digits_graph


def test_screenshot_after_training_shows_the_live_dashboard(tmp_path):
    graph = tmp_path / "tiny.json"
    # Far more epochs than 2 s can hold, so that the run is always stopped by the screenshot.
    tiny_digits_graph(epochs=100_000).save(graph)
    out = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "NETBUILDER_SETTINGS_DIR": str(tmp_path / "settings")}
    done = subprocess.run([sys.executable, "-m", "netbuilder", str(graph), "--screenshot",
                           str(out), "--train", "2"], env=env, capture_output=True, text=True,
                          timeout=400)
    assert done.returncode == 0, done.stderr
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1600, 1000)
    runs = list((tmp_path / "tiny.runs").iterdir())
    assert len(runs) == 1
    run = runs[0]
    assert (run / "graph.json").exists() and (run / "config.json").exists()
    meta = json.loads((run / "run.json").read_text())
    assert meta["graph_path"] == str(graph)
    # it trained (events arrived) and was stopped after the picture, not left running
    assert meta["status"] == "stopped"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "stopped" and summary["steps"] > 0
