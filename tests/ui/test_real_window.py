"""What people see in a real window: the xcb platform in an X server with a window manager
(``pytest --xwindow``; ``make test`` runs these in a second pass).

A short run is trained from the Train button while every dock tab is clicked with the mouse;
each panel must then show content, in the widget's own pixels and on the X server's screen
(a raised tab once stayed an empty grey panel: raising a tab sends no show event). The
pictures go to ``tmp_path``, or to ``$NETBUILDER_SCREENSHOT_DIR`` (docs/images) when set.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QFontInfo, QGuiApplication, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton
from training_helpers import tiny_digits_graph
from window_helpers import click_tab, dock_tabs, example

from netbuilder.graph import load
from netbuilder.ui.canvas import style
from netbuilder.ui.document import Document

pytestmark = pytest.mark.xwindow

SIZE = (1366, 768)  # the smallest common laptop screen
START_MS = 180_000  # first event: process start + torch import (slow on a busy machine)
STEP_MS = 60_000
TRAINING_TABS = ("Curves", "Feature maps", "Samples", "Confusion", "Histograms", "Try it",
                 "Runs", "Training")
EXAMPLES = sorted(Path(example("lenet5")).parent.glob("*.json"))


def colours(image: QImage, step: int = 3) -> int:
    """How many distinct colours a grid of every ``step``-th pixel holds (a blank panel: 1)."""
    return len({image.pixel(x, y) for x in range(0, image.width(), step)
                for y in range(0, image.height(), step)})


def screen_image(widget) -> QImage:
    """``widget``'s rectangle as the X server shows it (the root window, not Qt's buffer)."""
    at = widget.mapToGlobal(QPoint(0, 0))
    screen = QGuiApplication.primaryScreen()
    return screen.grabWindow(0, at.x(), at.y(), widget.width(), widget.height()).toImage()


def same_pixels(a: QImage, b: QImage, step: int = 4) -> float:
    """The share of a grid of pixels that two images of one size have alike."""
    if a.size() != b.size():
        return 0.0
    points = [(x, y) for x in range(0, a.width(), step) for y in range(0, a.height(), step)]
    return sum(a.pixel(x, y) == b.pixel(x, y) for x, y in points) / len(points)


def assert_shows_content(qtbot, dock, least: int = 12) -> None:
    """The dock's panel draws something, and the X server shows that panel (not the tab
    that was in front before: the screen must match the panel's own pixels)."""
    panel = dock.widget()
    qtbot.waitUntil(lambda: colours(panel.grab().toImage()) >= least, timeout=STEP_MS)
    qtbot.waitUntil(lambda: same_pixels(screen_image(panel), panel.grab().toImage()) > 0.9,
                    timeout=STEP_MS)


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("NETBUILDER_SCREENSHOT_DIR") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_window(window, path: Path) -> None:
    image = window.screen().grabWindow(window.winId()).toImage()
    assert (image.width(), image.height()) == SIZE
    assert image.save(str(path), "PNG")


def sized_window(make_window, qtbot, document=None, **kw):
    w = make_window(document, **kw)
    w.resize(*SIZE)
    qtbot.waitUntil(lambda: (w.width(), w.height()) == SIZE)
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)  # the window manager gave it the focus
    return w


def test_every_dock_tab_shows_its_panel_during_and_after_a_run(make_window, qtbot, tmp_path,
                                                              shots):
    path = tmp_path / "tiny.json"
    tiny_digits_graph(epochs=100_000).save(path)  # far longer than the test: stopped by it
    w = sized_window(make_window, qtbot, Document(load(path), path), restore_layout=False)
    dash = w.training_dashboard
    c = dash.controller
    QTest.mouseClick(w.toolbar.widgetForAction(w.actions["train"]), Qt.MouseButton.LeftButton)
    try:
        qtbot.waitUntil(lambda: c.state == "running" and c.last_progress is not None,
                        timeout=START_MS)
        # an epoch ends: a confusion matrix and prediction samples exist to show
        confusion = dash.panels["confusion"]
        click_tab(qtbot, w, "Confusion")
        qtbot.waitUntil(lambda: confusion.is_built() and
                        confusion.content().canvas.matrix is not None, timeout=STEP_MS)
        for title in TRAINING_TABS:
            assert_shows_content(qtbot, click_tab(qtbot, w, title))
            if title != "Training":  # on screen beside every other one
                save_window(w, shots / f"training-{title.lower().replace(' ', '-')}.png")
        assert c.state == "running"
        assert confusion.content().canvas.matrix.shape == (10, 10)
        assert dash.built("samples").kind == "predictions"
        assert dash.built("try_it").run_dir == c.run_dir

        QTest.mouseClick(w.toolbar.widgetForAction(w.actions["stop"]),
                         Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: c.state == "stopped", timeout=STEP_MS)
        for title in dock_tabs(w):  # the editor's docks too
            assert_shows_content(qtbot, click_tab(qtbot, w, title), least=4)
        assert [r.status for r in dash.built("runs").runs] == ["stopped"]
    finally:
        c.shutdown()


def test_a_panel_floated_closed_reopened_or_restored_is_built_and_drawn(make_window, qtbot):
    w = sized_window(make_window, qtbot, Document(tiny_digits_graph()), restore_layout=False)
    panels = w.training_dashboard.panels
    # float it with its title bar's button, and dock it back the same way
    dock = click_tab(qtbot, w, "Runs")
    assert_shows_content(qtbot, dock, least=4)
    float_button = dock.findChild(QAbstractButton, "qt_dockwidget_floatbutton")
    QTest.mouseClick(float_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dock.isFloating() and dock.isVisible())
    assert_shows_content(qtbot, dock, least=4)
    QTest.mouseClick(float_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dock.isFloating())  # back in its tab group, in front or not
    assert_shows_content(qtbot, click_tab(qtbot, w, "Runs"), least=4)
    assert panels["runs"].on_screen()
    # closed with its button, opened again from View ▸ Panels
    dock = click_tab(qtbot, w, "Histograms")
    assert not panels["samples"].is_built()  # the tabs behind are left unbuilt
    QTest.mouseClick(dock.findChild(QAbstractButton, "qt_dockwidget_closebutton"),
                     Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dock.isVisible())
    assert not panels["histograms"].on_screen()
    dock.toggleViewAction().trigger()
    qtbot.waitUntil(lambda: panels["histograms"].on_screen())
    assert_shows_content(qtbot, dock, least=4)
    # the layout saved at closing brings the Try it tab up front in the next window
    click_tab(qtbot, w, "Try it")
    w.close()
    again = sized_window(make_window, qtbot, Document(tiny_digits_graph()))
    panel = again.training_dashboard.panels["try_it"]
    qtbot.waitUntil(lambda: panel.is_built() and panel.on_screen())
    assert_shows_content(qtbot, again.docks["try_it"], least=4)


@pytest.mark.xfail(strict=True, reason="a graph opens framed whole, below a readable zoom at "
                   "1366×768: the canvas's framing on open (auto-layout work) must change")
def test_every_example_opens_with_node_text_at_a_readable_size(make_window, qtbot):
    w = sized_window(make_window, qtbot, restore_layout=False)
    readable = QFontInfo(w.palette_panel.font()).pixelSize()
    small = {}
    for path in EXAMPLES:
        assert w.files.open_file(str(path)), path
        canvas = w.canvas
        role = "lod" if canvas.lod() == "low" else "title"  # zoomed out: names in bold, bigger
        shown = canvas.zoom() * style.font(role).pixelSize()
        assert canvas.lod() != "tiny" and colours(screen_image(canvas.viewport())) >= 12
        if shown < readable:
            small[path.stem] = round(shown, 1)
        w.document.undo_stack.setClean()
    assert small == {}, f"node names drawn smaller than {readable} px: {small}"
