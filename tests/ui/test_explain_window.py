"""The Explain dock in a real window (``pytest --xwindow``) on LeNet-5 trained on the digits:
the gallery's first thumbnail (the surest mistake) explained by Grad-CAM and by occlusion. The
pictures go to ``tmp_path``, or to ``$NETBUILDER_SCREENSHOT_DIR`` (docs/images) when set."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from test_real_window import (  # noqa: F401 (shots: a fixture)
    assert_shows_content,
    same_pixels,
    save_window,
    screen_image,
    shots,
    sized_window,
)
from window_helpers import click_tab, example

from netbuilder.graph import load
from netbuilder.ui.document import Document

pytestmark = pytest.mark.xwindow


def test_the_explain_dock_on_a_trained_lenet(make_window, qtbot, lenet_run, shots):  # noqa: F811
    path = example("lenet5")
    w = sized_window(make_window, qtbot, Document(load(path), path), restore_layout=False)
    dash = w.training_dashboard
    dash.controller.last_run_dir = lenet_run  # as a finished run leaves it
    w.show_dock("explain")  # the dashboard's docks are hidden until a run or this
    dock = click_tab(qtbot, w, "Explain")
    w.resizeDocks([dock], [420], Qt.Orientation.Vertical)  # room for the map in the picture
    qtbot.waitUntil(lambda: dash.panels["explain"].is_built(), timeout=60_000)
    view = dash.built("explain")
    qtbot.waitUntil(lambda: view.gallery.list.count() > 0, timeout=60_000)
    lst = view.gallery.list
    lst.doItemsLayout()
    first = view.gallery.shown_indices()[0]
    assert not view.gallery.ranked[0].correct  # a mistake leads the gallery
    view.method.setCurrentIndex(view.method.findData("gradcam"))
    with qtbot.waitSignal(view.explained, timeout=60_000):
        QTest.mouseClick(lst.viewport(), Qt.MouseButton.LeftButton,
                         pos=lst.visualItemRect(lst.item(0)).center())
    assert view.sample.value() == first
    assert view.message.text().startswith(f"Grad-CAM of sample {first}: predicted ")
    on_screen(qtbot, view)
    save_window(w, shots / "explain-gradcam.png")
    # the wrong answers of one class only, explained by occlusion
    view.gallery.which.setCurrentIndex(view.gallery.which.findData(False))
    view.method.setCurrentIndex(view.method.findData("occlusion"))
    with qtbot.waitSignal(view.explained, timeout=60_000):
        QTest.mouseClick(view.button, Qt.MouseButton.LeftButton)
    assert all(not v.correct for v in view.gallery.ranked[:lst.count()])
    on_screen(qtbot, view)
    save_window(w, shots / "explain-occlusion.png")


def on_screen(qtbot, view) -> None:
    """The X server shows the new map and its caption (not the previous ones)."""
    assert_shows_content(qtbot, view.window().docks["explain"])
    for part in (view.picture, view.message):
        qtbot.waitUntil(lambda p=part: same_pixels(screen_image(p), p.grab().toImage(), 1)
                        == 1.0, timeout=60_000)


def test_the_embedding_dock_on_a_trained_lenet(make_window, qtbot, lenet_run, shots):  # noqa: F811
    import numpy as np
    from PySide6.QtCore import QPoint

    path = example("lenet5")
    w = sized_window(make_window, qtbot, Document(load(path), path), restore_layout=False)
    dash = w.training_dashboard
    dash.controller.last_run_dir = lenet_run
    w.show_dock("embedding")
    dock = click_tab(qtbot, w, "Embedding")
    w.resizeDocks([dock], [420], Qt.Orientation.Vertical)
    qtbot.waitUntil(lambda: dash.panels["embedding"].is_built(), timeout=60_000)
    view = dash.built("embedding")
    view.node.setCurrentIndex(view.node.findText("fc1"))
    with qtbot.waitSignal(view.computed, timeout=120_000) as done:
        view.method.setCurrentIndex(view.method.findData("tsne"))
    assert done.args[0].shape == (len(view.scatter.labels), 2)
    xy = view.scatter.screen_points()
    i = int(np.argmax(xy[:, 1]))  # the lowest point
    QTest.mouseMove(view.scatter, QPoint(round(xy[i, 0]), round(xy[i, 1])))
    qtbot.waitUntil(lambda: view.caption.text().startswith(f"Sample {i}, label "),
                    timeout=10_000)
    assert_shows_content(qtbot, dock)
    for part in (view.scatter, view.sample, view.caption):
        qtbot.waitUntil(lambda p=part: same_pixels(screen_image(p), p.grab().toImage(), 1)
                        == 1.0, timeout=60_000)
    save_window(w, shots / "embedding-tsne.png")
