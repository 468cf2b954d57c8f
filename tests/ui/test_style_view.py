"""The Style transfer dock on a trained LeNet-5: nodes picked by clicking them on the canvas,
two pictures typed in, Stylise pressed; the picture is redrawn every few steps as the job's
events arrive, and the loss falls."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from ui_helpers import node_point
from window_helpers import example

from netbuilder.graph import load
from netbuilder.train.explain import RunModel
from netbuilder.ui.document import Document
from netbuilder.ui.training.style_view import EVERY


@pytest.fixture(scope="module")
def pictures(lenet_run, tmp_path_factory):
    """A validation digit (content) and diagonal stripes (style) as PNG files."""
    folder = tmp_path_factory.mktemp("style_pictures")
    x, _ = RunModel(lenet_run).validation(limit=1)
    Image.fromarray(np.round(x[0, 0].numpy() * 255).astype(np.uint8)).save(folder / "c.png")
    i, j = np.indices((28, 28))
    Image.fromarray(((i + j) % 6 < 3).astype(np.uint8) * 255).save(folder / "s.png")
    return folder / "c.png", folder / "s.png"


def click_node(w, name: str, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    node = w.document.graph.find(name)
    w.canvas.centerOn(w.canvas.graph_scene().node_items[node])
    QTest.mouseClick(w.canvas.viewport(), Qt.MouseButton.LeftButton, modifiers,
                     node_point(w.canvas, node))


def type_into(widget, text: str) -> None:
    widget.setFocus()
    QTest.keyClick(widget, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(widget, text)


def open_style(make_window, qtbot, lenet_run, window=None):
    path = example("lenet5")
    w = window(make_window, qtbot, Document(load(path), path), restore_layout=False) \
        if window else make_window(Document(load(path), path), restore_layout=False)
    dash = w.training_dashboard
    dash.controller.last_run_dir = lenet_run  # as a finished run leaves it
    w.show_dock("style")
    qtbot.waitUntil(lambda: dash.panels["style"].is_built(), timeout=60_000)
    return w, dash.built("style")


def stylise(qtbot, w, view, pictures, steps: int) -> object:
    """Pick conv1 and conv2 on the canvas, give the pictures and steps, press Stylise."""
    click_node(w, "conv1")
    click_node(w, "conv2", Qt.KeyboardModifier.ControlModifier)
    assert view.nodes.text() == "conv1,conv2"
    type_into(view.content[1], str(pictures[0]))
    type_into(view.style[1], str(pictures[1]))
    type_into(view.steps, str(steps))
    with qtbot.waitSignal(view.finished, timeout=60_000) as done:
        QTest.mouseClick(view.button, Qt.MouseButton.LeftButton)
        assert view.button.text() == "Stop"
    return done.args[0]


def test_the_picture_sharpens_live_as_its_loss_falls(make_window, qtbot, lenet_run, pictures):
    w, view = open_style(make_window, qtbot, lenet_run)
    assert view.button.isEnabled() and "pick nodes on the canvas" in view.message.text()
    result = stylise(qtbot, w, view, pictures, steps=30)
    assert result.summary["status"] == "finished" and result.summary["steps"] == 30
    # every picture sent arrives in order (a poll draws its newest only): 0, 5, ..., 30
    assert view.steps_shown[-1] == 30 and view.steps_shown == sorted(view.steps_shown)
    assert set(view.steps_shown) <= set(range(0, 31, EVERY)) and len(view.steps_shown) >= 2
    assert len(view.losses) == 30 // EVERY  # every loss sent is shown
    assert view.losses[-1] < view.losses[0]
    assert view.message.text().startswith("Done after 30 steps: loss ")
    content = view.pictures["content"].image()
    after = view.pictures["result"].image()
    assert after is not None and after.size() == content.size() and after != content
    assert view.button.text() == "Stylise"


def test_bad_input_is_a_sentence_not_a_traceback(make_window, qtbot, lenet_run, pictures,
                                                 tmp_path):
    w, view = open_style(make_window, qtbot, lenet_run)
    type_into(view.nodes, "conv1,bogus")
    type_into(view.content[1], str(pictures[0]))
    type_into(view.style[1], str(tmp_path / "missing.png"))
    with qtbot.waitSignal(view.finished, timeout=60_000) as done:
        QTest.mouseClick(view.button, Qt.MouseButton.LeftButton)
    assert "missing.png: cannot read it as a picture" in view.message.text(), done.args
    type_into(view.style[1], str(pictures[1]))
    with qtbot.waitSignal(view.finished, timeout=60_000):
        QTest.mouseClick(view.button, Qt.MouseButton.LeftButton)
    assert "'bogus'" in view.message.text() and "Traceback" not in view.message.text()


@pytest.mark.xwindow
def test_the_style_dock_in_a_real_window(make_window, qtbot, lenet_run, pictures, tmp_path):
    import os
    from pathlib import Path

    from test_real_window import (
        assert_shows_content,
        same_pixels,
        save_window,
        screen_image,
        sized_window,
    )

    w, view = open_style(make_window, qtbot, lenet_run, window=sized_window)
    dock = w.docks["style"]
    w.resizeDocks([dock], [420], Qt.Orientation.Vertical)
    stylise(qtbot, w, view, pictures, steps=60)
    assert view.message.text().startswith("Done after 60 steps")
    assert_shows_content(qtbot, dock)
    for part in (view.pictures["result"], view.message, view.button):  # the last state shown
        qtbot.waitUntil(lambda p=part: same_pixels(screen_image(p), p.grab().toImage(), 1)
                        == 1.0, timeout=20_000)
    shots = Path(os.environ.get("NETBUILDER_SCREENSHOT_DIR") or tmp_path)
    save_window(w, shots / "style-transfer.png")
