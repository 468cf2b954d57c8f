"""The Experiments view in a real window (``pytest --xwindow``): a stored sweep of the tiny
digits CNN (channels × learning rate, trained) shown in the Training workspace, with two
trials selected; the pictures go to ``$NETBUILDER_SCREENSHOT_DIR`` (docs/images) when set."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from test_real_window import SIZE, assert_shows_content, shots, sized_window  # noqa: F401
from training_helpers import tiny_digits_graph
from window_helpers import click_tab

import netbuilder as nb
from netbuilder.graph import load
from netbuilder.ui.document import Document

pytestmark = pytest.mark.xwindow


def test_the_experiments_view_shows_a_trained_sweep(make_window, qtbot, tmp_path, shots):  # noqa: F811
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
