"""A GAN and a VAE training in a real window (``pytest --xwindow``): each dashboard tab raised
in turn shows its panel, in the task's words, at 1366×768 and 1920×1080, light and dark.

The pictures go to ``tmp_path``, or to ``$NETBUILDER_SCREENSHOT_DIR`` (docs/images) when set.
"""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtTest import QTest
from test_real_window import (
    START_MS,
    STEP_MS,
    assert_shows_content,
    colours,
    shots,  # noqa: F401 (the fixture)
)
from window_helpers import click_tab, example, fit_on_screen, on_screen

from netbuilder.graph import load
from netbuilder.ui import theme
from netbuilder.ui.document import Document

pytestmark = pytest.mark.xwindow

TABS = ("Curves", "Samples", "Feature maps", "Histograms", "Confusion")
# example → (the curves' first group, the loss plot's title, the Confusion tab's note)
RUNS = {"dcgan_digits": ("D and G losses", "D + G loss", "a GAN"),
        "vae_conv": ("Reconstruction and KL", "Loss (reconstruction + β·KL)", "a VAE")}


def shoot(w, path) -> None:
    """The window as the X server shows it, status bar included, saved as PNG."""
    image = w.screen().grabWindow(w.winId()).toImage()
    assert (image.width(), image.height()) == (w.width(), w.height())
    assert on_screen(w.statusBar())
    # the status bar is in the picture, drawn (its text and frame, not an empty strip)
    bar = QRect(w.statusBar().mapTo(w, QPoint(0, 0)), w.statusBar().size())
    assert colours(image.copy(bar), step=1) > 2
    assert image.save(str(path), "PNG")


def screen_lightness(w) -> int:
    """How light the window's status bar is on the screen (0 black … 255 white)."""
    image = w.screen().grabWindow(w.winId()).toImage()
    bar = w.statusBar()
    at = bar.mapTo(w, QPoint(bar.width() // 2, 2))
    return image.pixelColor(at).lightness()


@pytest.mark.parametrize("name", sorted(RUNS))
def test_a_generative_run_speaks_its_task_in_every_tab(make_window, qtbot, tmp_path, shots,  # noqa: F811
                                                       name):
    group, loss_title, who = RUNS[name]
    g = load(example(name))
    g.training = {**g.training, "dataset_options": {"size": 28, "limit": 256}, "epochs": 1000,
                  "batch_size": 32, "device": "cpu"}
    path = tmp_path / f"{name}.json"
    g.save(path)
    w = make_window(Document(load(path), path), restore_layout=False)
    size = fit_on_screen(qtbot, w, (1366, 768))
    w.workspaces.reset()
    dash, c = w.training_dashboard, w.training_dashboard.controller
    QTest.mouseClick(w.toolbar.widgetForAction(w.actions["train"]), Qt.MouseButton.LeftButton)
    try:
        curves = dash.view("curves")
        qtbot.waitUntil(lambda: c.state == "running" and curves.point_count("train_metric_1")
                        >= 3 and curves.point_count("val_loss") >= 1, timeout=START_MS)
        samples = dash.view("samples")
        qtbot.waitUntil(lambda: samples.kind in ("generated", "reconstructions"), timeout=STEP_MS)
        assert curves.metric_box.currentText() == group
        assert loss_title in curves.loss_plot.getPlotItem().titleLabel.text
        assert curves.metric_plot.getPlotItem().legend.isVisible()
        for title in TABS:
            dock = click_tab(qtbot, w, title)
            assert_shows_content(qtbot, dock, least=2 if title == "Confusion" else 12)
            shoot(w, shots / f"{name}-{title.lower().replace(' ', '-')}-1366x768-light.png")
        note = dash.panels["confusion"].note
        assert note.isVisible() and who in note.text()  # says why, in one line
        click_tab(qtbot, w, "Samples")
        theme.apply_theme("dark", save=False)
        qtbot.waitUntil(lambda: screen_lightness(w) < 100)  # repainted dark on the screen
        shoot(w, shots / f"{name}-samples-{size[0]}x{size[1]}-dark.png")
        big = fit_on_screen(qtbot, w, (1920, 1080))
        w.workspaces.reset()
        for look in ("dark", "light"):
            theme.apply_theme(look, save=False)
            qtbot.waitUntil(lambda dark=look == "dark": (screen_lightness(w) < 100) == dark)
            assert_shows_content(qtbot, click_tab(qtbot, w, "Samples"))
            assert_shows_content(qtbot, click_tab(qtbot, w, "Curves"))
            shoot(w, shots / f"{name}-1920x1080-{look}.png")
        assert big[1] < 1080  # the frame's title bar takes its part of the screen
        assert c.state == "running"
    finally:
        theme.apply_theme("light", save=False)
        c.shutdown()
