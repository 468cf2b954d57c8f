"""``--screenshot``: the full window rendered to a PNG that is not blank, in and out of process."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QColor, QImage
from window_helpers import example

import netbuilder
from netbuilder.ui.app import SCREENSHOT_SIZE, run_app
from netbuilder.ui.canvas.style import CATEGORY_COLOURS

ROOT = Path(netbuilder.__file__).parent.parent


def assert_real_window_picture(path: Path) -> None:
    image = QImage(str(path))
    assert not image.isNull(), path
    assert (image.width(), image.height()) == SCREENSHOT_SIZE
    small = image.scaled(200, 125)
    colours = {small.pixel(x, y) for x in range(200) for y in range(125)}
    assert len(colours) > 300  # text, nodes, panels: far from a blank or flat picture
    conv = QColor(CATEGORY_COLOURS["Convolution"])
    hits = 0
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 2):
            c = image.pixelColor(x, y)
            if abs(c.red() - conv.red()) + abs(c.green() - conv.green()) + \
                    abs(c.blue() - conv.blue()) < 30:
                hits += 1
    assert hits > 40  # LeNet's two Conv2d nodes are on the canvas


def test_run_app_renders_the_window_to_png(qapp, tmp_path):
    out = tmp_path / "shots" / "lenet5.png"
    assert run_app(example("lenet5"), screenshot=out) == 0
    assert_real_window_picture(out)


def test_a_file_that_cannot_be_opened_gives_exit_1_and_no_picture(qapp, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    out = tmp_path / "bad.png"
    assert run_app(bad, screenshot=out) == 1
    assert "must hold a JSON object" in capsys.readouterr().err
    assert not out.exists()


def _env(tmp_path: Path) -> dict:
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["NETBUILDER_SETTINGS_DIR"] = str(tmp_path / "settings")
    return env


def test_command_line_screenshot_exits_0(tmp_path):
    out = tmp_path / "cli.png"
    done = subprocess.run([sys.executable, "-m", "netbuilder", str(example("lenet5")),
                           "--screenshot", str(out)], cwd=ROOT, env=_env(tmp_path),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert_real_window_picture(out)
