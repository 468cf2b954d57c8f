"""The Experiments view in a real window (``pytest --xwindow``): a stored sweep of the tiny
digits CNN (channels × learning rate, trained) shown in the Training workspace, with two
trials selected, at 1366×768 and 1920×1080; the pictures go to ``$NETBUILDER_SCREENSHOT_DIR``
(docs/images) when set.

``$NETBUILDER_SWEEP_GRAPH`` names a graph file whose run store holds a trained sweep (the
16-trial LeNet-5 one ``tests/benchmarks/sweep_bench.py --keep DIR`` leaves): that sweep is
shown instead of one trained here.
"""
from __future__ import annotations

import os
from pathlib import Path

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


def _stored_or_tiny_sweep(tmp_path) -> tuple[Path, int]:
    """A graph file whose run store holds a trained sweep, and its number of trials."""
    given = os.environ.get("NETBUILDER_SWEEP_GRAPH")
    if given:
        from netbuilder.train.sweep import graph_store
        from netbuilder.train.sweep.study import load_records, sweep_dir

        path = Path(given)  # its sweep is named after it, as netbuilder sweep names it
        _definition, trials = load_records(sweep_dir(graph_store(path), path.stem), path.stem)
        return path, len(trials)
    path = tmp_path / "tiny.json"
    graph = tiny_digits_graph(epochs=2, limit=400)
    graph.save(path)
    nb.sweep(graph, params=["conv1.out_channels=4,8", "lr=0.03,0.1"], strategy="grid",
             objectives=["val_accuracy:max", "params:min"], jobs=2,
             store=tmp_path / "tiny.runs", name="channels-lr")
    return path, 4


def test_the_experiments_view_shows_a_trained_sweep(make_window, qtbot, tmp_path, shots):  # noqa: F811
    from test_window_fits import SIZES

    from netbuilder.ui import theme

    theme.apply_theme("light", save=False)  # the whole window in one theme, whatever was saved
    path, count = _stored_or_tiny_sweep(tmp_path)
    w = sized_window(make_window, qtbot, Document(load(path), path), restore_layout=False)
    w.workspaces.switch("training")
    dock = click_tab(qtbot, w, "Experiments")
    qtbot.waitUntil(lambda: w.training_dashboard.built("experiments") is not None)
    panel = w.training_dashboard.built("experiments")
    assert panel.sweeps.currentText() != ""  # the stored sweep, shown at once
    view = panel.view
    qtbot.waitUntil(lambda: view.table.rowCount() == count)
    assert_shows_content(qtbot, dock)
    for row, mods in ((0, Qt.KeyboardModifier.NoModifier),
                      (2, Qt.KeyboardModifier.ControlModifier)):
        rect = view.table.visualItemRect(view.table.item(row, 0))
        QTest.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, mods, rect.center())
    qtbot.waitUntil(lambda: len(view.selected_trials()) == 2)
    for size in SIZES:
        if size != SIZE:
            fit_on_screen(qtbot, w, size)
        got = (w.width(), w.height())
        w.resizeDocks([dock], [int(got[1] * 0.55)], Qt.Orientation.Vertical)
        qtbot.waitUntil(lambda h=got[1]: dock.height() >= h * 0.45)
        suffix = "" if size == SIZE else f"-{size[0]}x{size[1]}"
        for tab, name in (("Pareto", "experiments"), ("Curves", "experiments-curves"),
                          ("Parallel", "experiments-parallel")):
            bar = view.tabs.tabBar()
            index = next(i for i in range(bar.count()) if bar.tabText(i) == tab)
            QTest.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
            qtbot.waitUntil(lambda i=index: view.tabs.currentIndex() == i)
            assert_shows_content(qtbot, dock)
            image = w.screen().grabWindow(w.winId()).toImage()
            assert image.save(str(shots / f"{name}{suffix}.png"), "PNG")
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
