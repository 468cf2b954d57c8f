"""The Experiments view in a real window (``pytest --xwindow``): a stored sweep of the tiny
digits CNN (channels × learning rate, trained) shown in the Training workspace, with two
trials selected; the pictures go to ``$NETBUILDER_SCREENSHOT_DIR`` (docs/images) when set."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from test_real_window import SIZE, assert_shows_content, shots, sized_window  # noqa: F401
from training_helpers import tiny_digits_graph
from window_helpers import click_tab, fit_on_screen

import netbuilder as nb
from netbuilder.graph import load
from netbuilder.ui.document import Document

pytestmark = pytest.mark.xwindow


def test_the_experiments_view_shows_a_trained_sweep(make_window, qtbot, tmp_path, shots):  # noqa: F811
    from netbuilder.ui import theme

    theme.apply_theme("light", save=False)  # the whole window in one theme, whatever was saved
    path = tmp_path / "tiny.json"
    graph = tiny_digits_graph(epochs=2, limit=400)
    graph.save(path)
    nb.sweep(graph, params=["conv1.out_channels=4,8", "lr=0.03,0.1"], strategy="grid",
             objectives=["val_accuracy:max", "params:min"], jobs=2,
             store=tmp_path / "tiny.runs", name="channels-lr")
    w = sized_window(make_window, qtbot, Document(load(path), path), restore_layout=False)
    w.workspaces.switch("training")
    dock = click_tab(qtbot, w, "Experiments")
    qtbot.waitUntil(lambda: w.training_dashboard.built("experiments") is not None)
    panel = w.training_dashboard.built("experiments")
    assert panel.sweeps.currentText() == "channels-lr"  # the stored sweep, shown at once
    view = panel.view
    qtbot.waitUntil(lambda: view.table.rowCount() == 4)
    assert_shows_content(qtbot, dock)
    for row, mods in ((0, Qt.KeyboardModifier.NoModifier),
                      (2, Qt.KeyboardModifier.ControlModifier)):
        rect = view.table.visualItemRect(view.table.item(row, 0))
        QTest.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, mods, rect.center())
    qtbot.waitUntil(lambda: len(view.selected_trials()) == 2)
    w.resizeDocks([dock], [int(SIZE[1] * 0.55)], Qt.Orientation.Vertical)
    qtbot.waitUntil(lambda: dock.height() >= SIZE[1] * 0.45)
    for tab, name in (("Pareto", "experiments"), ("Curves", "experiments-curves"),
                      ("Parallel", "experiments-parallel")):
        bar = view.tabs.tabBar()
        index = next(i for i in range(bar.count()) if bar.tabText(i) == tab)
        QTest.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
        qtbot.waitUntil(lambda i=index: view.tabs.currentIndex() == i)
        assert_shows_content(qtbot, dock)
        image = w.screen().grabWindow(w.winId()).toImage()
        assert image.save(str(shots / f"{name}.png"), "PNG")
    assert len(view.curves.curves.overlays) == 2


def test_the_experiments_dock_fits_both_screens(make_window, qtbot, shots):  # noqa: F811
    """The editor, the trials table and the Pareto plot as the real window shows them at
    1366×768 and 1920×1080: buttons whole, the numbers' columns in view (no training: the
    trials are records)."""
    from test_experiments_fits import (
        DEFINITION,
        LONG,
        TRIALS,
        cut_buttons,
        graph,
        numbers_whole_in_view,
    )
    from test_window_fits import SIZES, sized

    from netbuilder.ui import theme
    from netbuilder.ui.training.experiments_panel import ExperimentsPanel

    theme.apply_theme("light", save=False)  # the whole window in one theme, whatever was saved
    w = sized(make_window, qtbot, SIZES[0], Document(graph()))
    w.workspaces.switch("training")
    dock = click_tab(qtbot, w, "Experiments")
    panel = w.training_dashboard.view("experiments")
    assert isinstance(panel, ExperimentsPanel)
    try:
        panel.editor.add_param(LONG, "16,32,64")
        panel.editor.add_param("lr", "1e-4..1e-2:log")
        panel.view.set_trials(DEFINITION, TRIALS)
        for size in SIZES:
            if size != SIZES[0]:
                fit_on_screen(qtbot, w, size)
                w.workspaces.reset()
                dock = click_tab(qtbot, w, "Experiments")
            for tab in ("Define", "Trials", "Pareto"):
                bar = panel.view.tabs.tabBar()
                index = next(i for i in range(bar.count()) if bar.tabText(i) == tab)
                QTest.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
                qtbot.waitUntil(lambda i=index: panel.view.tabs.currentIndex() == i)
                assert_shows_content(qtbot, dock)
                assert cut_buttons(dock) == [], (size, tab)
                if tab == "Trials":
                    assert numbers_whole_in_view(panel.view.table) == 6
                image = w.screen().grabWindow(w.winId()).toImage()
                name = f"experiments-{tab.lower()}-{size[0]}x{size[1]}.png"
                assert image.save(str(shots / name), "PNG")
    finally:
        panel.shutdown()
        w.training_dashboard.controller.shutdown()
