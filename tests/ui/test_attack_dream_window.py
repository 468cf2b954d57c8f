"""The Attack and Dream docks in a real window (``pytest --xwindow``) on LeNet-5 trained on the
digits: a sample attacked by FGSM at ε = 0.2 beside the robustness curve, and conv2's channels
dreamt from noise. The pictures go to ``tmp_path``, or to ``$NETBUILDER_SCREENSHOT_DIR``
(docs/images) when set."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from test_attack_dream import open_dock
from test_real_window import (  # noqa: F401 (shots: a fixture)
    assert_shows_content,
    same_pixels,
    save_window,
    screen_image,
    shots,
    sized_window,
)
from test_style_view import click_node, type_into
from window_helpers import click_tab

pytestmark = pytest.mark.xwindow


def on_screen(qtbot, view, name: str, parts) -> None:
    """The X server shows the newest pictures and captions (not the previous ones)."""
    assert_shows_content(qtbot, view.window().docks[name])
    for part in parts:
        qtbot.waitUntil(lambda p=part: same_pixels(screen_image(p), p.grab().toImage(), 1)
                        == 1.0, timeout=20_000)


def test_the_attack_dock_in_a_real_window(make_window, qtbot, lenet_run, shots):  # noqa: F811
    w, view = open_dock(make_window, qtbot, lenet_run, "attack", window=sized_window)
    dock = click_tab(qtbot, w, "Attack")
    w.resizeDocks([dock], [420], Qt.Orientation.Vertical)
    w.resizeDocks([dock], [760], Qt.Orientation.Horizontal)  # room for the curve
    type_into(view.sample, "7")
    view.slider.setFocus()
    with qtbot.waitSignal(view.attacked, timeout=30_000):
        for _ in range(20):  # PageUp: +0.01 each
            QTest.keyClick(view.slider, Qt.Key.Key_PageUp)
    assert view.eps_label.text() == "0.230"
    with qtbot.waitSignal(view.curve_drawn, timeout=60_000):
        QTest.mouseClick(view.curve_button, Qt.MouseButton.LeftButton)
    on_screen(qtbot, view, "attack", [view.pictures["after"], view.message, view.plot])
    save_window(w, shots / "attack-fgsm.png")


def test_the_dream_dock_in_a_real_window(make_window, qtbot, lenet_run, shots):  # noqa: F811
    w, view = open_dock(make_window, qtbot, lenet_run, "dream", window=sized_window)
    dock = click_tab(qtbot, w, "Dream")
    w.resizeDocks([dock], [420], Qt.Orientation.Vertical)
    w.resizeDocks([dock], [760], Qt.Orientation.Horizontal)
    click_node(w, "conv2")
    type_into(view.steps, "20")
    with qtbot.waitSignal(view.dreamt, timeout=60_000):
        QTest.mouseClick(view.button, Qt.MouseButton.LeftButton)
    assert len(view.tiles) == 16 and view.message.text().startswith("What excites conv2")
    on_screen(qtbot, view, "dream", [view.picture, view.message])
    save_window(w, shots / "dream-conv2.png")
