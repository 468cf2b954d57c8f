"""The dark theme covers the whole window, and quitting is quick."""
from __future__ import annotations

import time

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QTabBar, QToolBar
from test_window_editing import lenet_window

from netbuilder.ui import theme


def mean_luminance(widget) -> float:
    """The widget's drawn pixels, averaged as perceived brightness (0 black … 255 white)."""
    image = widget.grab().toImage()
    total = n = 0
    step = max(1, image.width() // 60)
    for x in range(0, image.width(), step):
        for y in range(0, image.height(), max(1, image.height() // 8)):
            c = QColor(image.pixel(x, y))
            total += 0.299 * c.red() + 0.587 * c.green() + 0.114 * c.blue()
            n += 1
    return total / n


def test_the_dark_theme_darkens_menus_toolbar_status_bar_docks_and_tabs(make_window, qtbot):
    w = lenet_window(make_window)
    try:
        theme.apply_theme("light", save=False)
        light = mean_luminance(w.menuBar())
        theme.apply_theme("dark", save=False)
        qtbot.waitUntil(lambda: mean_luminance(w.menuBar()) < 80)
        menu = w.menuBar().actions()[0].menu()
        parts = {"menu bar": w.menuBar(), "status bar": w.statusBar(),
                 "toolbar": w.findChildren(QToolBar)[0], "menu": menu,
                 "dock title": w.docks["inspector"]}
        tabs = [t for t in w.findChildren(QTabBar) if t.isVisible()]
        assert tabs, "the docks are tabbed somewhere"
        parts["tab bar"] = tabs[0]
        menu.ensurePolished()
        menu.adjustSize()
        bright = {name: round(mean_luminance(widget)) for name, widget in parts.items()}
        assert {k: v for k, v in bright.items() if v >= 80} == {}, bright
        assert light > 200
    finally:
        theme.apply_theme("light", save=False)


def test_quitting_takes_under_a_second(make_window, qtbot):
    w = lenet_window(make_window)
    w.document.undo_stack.setClean()
    start = time.perf_counter()
    assert w.close()
    w.training_dashboard.controller.shutdown()  # what aboutToQuit runs
    took = time.perf_counter() - start
    assert not w.isVisible()
    print(f"closing took {took:.3f} s")
    assert took < 2.0, f"closing took {took:.2f} s"
