"""The documentation's screenshot matrix, taken in a real window (xcb platform, openbox):
``python scripts/window_screenshots.py`` (or ``pytest --xwindow --screenshots`` on this file).

Every view at 1366×768 and 1920×1080, light and dark, saved as ``<view>-<W>x<H>-<theme>.png``
into ``$NETBUILDER_SCREENSHOT_DIR`` (the tool sets docs/images/window): the welcome page,
LeNet-5, the drawn ResNet, an imported ResNet-50, a LeNet-5 run with each dashboard tab raised
by a mouse click on its tab, and a GAN and a VAE run. Each picture is checked as it is taken
(the panel draws, the screen shows it, nothing is clipped); what fails is collected and reported
at the end, so that one defect does not hide the rest of the matrix.

These tests run only on purpose (``--screenshots``): they take minutes, and CI is at its limit.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from test_generative_runs import RUNS, screen_lightness, shoot
from test_real_window import START_MS, STEP_MS, assert_shows_content, shots  # noqa: F401
from test_window_fits import CORPUS, SIZES, clipped
from window_helpers import click_tab, dock_tabs, example, fit_on_screen

from netbuilder.graph import load
from netbuilder.ui import theme
from netbuilder.ui.document import Document

pytestmark = [pytest.mark.xwindow, pytest.mark.screenshots]

THEMES = ("light", "dark")
# the generative runs: example → (short name in the file names, the tabs that speak the task)
GENERATIVE = {"dcgan_digits": ("gan", ("Curves", "Samples", "Confusion")),
              "vae_conv": ("vae", ("Curves", "Samples", "Confusion"))}


def slug(title: str) -> str:
    return title.lower().replace(" ", "-")


def at_size(w, qtbot, size) -> None:
    """The window as large as a screen of ``size`` lets it be, in its default arrangement."""
    fit_on_screen(qtbot, w, size)
    w.workspaces.reset()
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    qtbot.wait(100)  # the docks settle into the new arrangement


def in_theme(w, qtbot, look: str) -> None:
    """Switch to ``look`` and wait until the screen shows it: the status bar's lightness, or
    on the welcome page (no status bar) its thumbnails drawn again in the new colours."""
    theme.apply_theme(look, save=False)
    if w.welcome.showing:
        qtbot.waitUntil(w.welcome.page.thumbnails_done, timeout=STEP_MS)
        qtbot.wait(100)  # the last thumbnail reaches the screen
        return
    qtbot.waitUntil(lambda: (screen_lightness(w) < 100) == (look == "dark"), timeout=STEP_MS)


def take(w, shots, defects: list, view: str, size, look: str) -> None:  # noqa: F811
    """Save ``view`` as the screen shows it; what is cut off is noted in ``defects``."""
    for what in clipped(w):
        defects.append(f"{view} {size[0]}x{size[1]} {look}: {what}")
    shoot(w, shots / f"{view}-{size[0]}x{size[1]}-{look}.png")


def both_looks(w, qtbot, shots, defects, view, size) -> None:  # noqa: F811
    for look in THEMES:
        in_theme(w, qtbot, look)
        take(w, shots, defects, view, size, look)


def long_run(tmp_path: Path, name: str, **training) -> Path:
    """A copy of example ``name`` that trains far longer than the pictures take, on the CPU."""
    g = load(example(name))
    g.training = {**g.training, "dataset_options": {"size": 28, "limit": 480}, "epochs": 1000,
                  "device": "cpu", **training}
    path = tmp_path / f"{name}.json"
    g.save(path)
    return path


@pytest.fixture
def defects():
    found: list[str] = []
    yield found
    theme.apply_theme("light", save=False)
    assert found == [], "\n".join(found)


def test_welcome_lenet5_and_resnet(make_window, qtbot, shots, defects, tmp_path):  # noqa: F811
    theme.apply_theme("light", save=False)  # as the app does before its first window
    w = make_window(restore_layout=False)
    for size in SIZES:
        at_size(w, qtbot, size)
        w.welcome.show()
        qtbot.waitUntil(lambda: w.welcome.showing and w.welcome.page.isVisible())
        qtbot.waitUntil(w.welcome.page.thumbnails_done, timeout=60_000)
        both_looks(w, qtbot, shots, defects, "welcome", size)
    for name, view in (("lenet5", "lenet5"), ("resnet_small", "resnet")):
        assert w.files.open_file(str(example(name)))
        qtbot.waitUntil(lambda: not w.welcome.showing)
        w.flush()  # the code panel shows this graph's code, not the one before
        for size in SIZES:
            at_size(w, qtbot, size)
            w.canvas.frame_for_reading()
            both_looks(w, qtbot, shots, defects, view, size)


def test_an_imported_resnet50(make_window, qtbot, shots, defects):  # noqa: F811
    from netbuilder.ui.import_export_actions import import_model

    w = make_window(restore_layout=False)
    at_size(w, qtbot, SIZES[0])
    assert import_model(w, CORPUS / "resnet.py", "ResNet50", "", "3,224,224", timeout=120)
    qtbot.waitUntil(lambda: not w.welcome.showing)
    w.flush()
    qtbot.waitUntil(lambda: "class ResNet50" in w.code.text())
    for size in SIZES:
        at_size(w, qtbot, size)
        w.canvas.frame_for_reading()
        both_looks(w, qtbot, shots, defects, "resnet50-import", size)


def every_tab(w, qtbot, shots, defects, view: str, tabs=None) -> list[str]:  # noqa: F811
    """Raise each training tab with the mouse, at each size and in each theme, and shoot it."""
    raised = []
    for size in SIZES:
        at_size(w, qtbot, size)
        titles = tabs or [t for t in dock_tabs(w) if t != "Training"]
        for look in THEMES:
            in_theme(w, qtbot, look)
            for title in titles:
                assert_shows_content(qtbot, click_tab(qtbot, w, title),
                                     least=2 if title == "Confusion" else 12)
                qtbot.wait(250)  # a panel built on this click reaches the screen
                take(w, shots, defects, f"{view}-{slug(title)}", size, look)
                raised.append(title)
    return raised


def test_a_lenet5_run_with_each_tab_raised(make_window, qtbot, shots, defects, tmp_path):  # noqa: F811
    path = long_run(tmp_path, "lenet5")
    w = make_window(Document(load(path), path), restore_layout=False)
    at_size(w, qtbot, SIZES[0])
    dash, c = w.training_dashboard, w.training_dashboard.controller
    QTest.mouseClick(w.toolbar.widgetForAction(w.actions["train"]), Qt.MouseButton.LeftButton)
    try:
        qtbot.waitUntil(lambda: c.state == "running" and c.history is not None and
                        dash.view("curves").point_count("train_loss") >= 5, timeout=START_MS)
        click_tab(qtbot, w, "Confusion")  # an epoch ends: a matrix to show
        qtbot.waitUntil(lambda: dash.panels["confusion"].is_built() and
                        dash.panels["confusion"].content().canvas.matrix is not None,
                        timeout=STEP_MS)
        raised = every_tab(w, qtbot, shots, defects, "training")
        assert {"Curves", "Feature maps", "Confusion", "Samples", "Runs", "Try it"} <= set(raised)
        assert c.state == "running"
    finally:
        c.shutdown()


@pytest.mark.parametrize("name", sorted(GENERATIVE))
def test_a_generative_run(make_window, qtbot, shots, defects, tmp_path, name):  # noqa: F811
    view, tabs = GENERATIVE[name]
    path = long_run(tmp_path, name, batch_size=32)
    w = make_window(Document(load(path), path), restore_layout=False)
    at_size(w, qtbot, SIZES[0])
    dash, c = w.training_dashboard, w.training_dashboard.controller
    QTest.mouseClick(w.toolbar.widgetForAction(w.actions["train"]), Qt.MouseButton.LeftButton)
    try:
        curves, samples = dash.view("curves"), dash.view("samples")
        qtbot.waitUntil(lambda: c.state == "running" and curves.point_count("train_metric_1")
                        >= 3 and curves.point_count("val_loss") >= 1, timeout=START_MS)
        qtbot.waitUntil(lambda: samples.kind in ("generated", "reconstructions"), timeout=STEP_MS)
        assert curves.metric_box.currentText() == RUNS[name][0]
        every_tab(w, qtbot, shots, defects, view, tabs)
        assert c.state == "running"
    finally:
        c.shutdown()
