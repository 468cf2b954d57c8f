"""The Experiments dock in the window: a value swept from the inspector's context menu, a
training setting from Add setting, the sweep run in the background with its trials appearing
live, Stop, parameter importance, the selected trials' curves, and a trial opened as a graph.

Trials that train are real spawned processes: waits are on the view's contents, never sleeps.
"""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit
from training_helpers import click_point, tiny_digits_graph

from netbuilder.graph import load
from netbuilder.train.sweep.study import STOPPED, load_records
from netbuilder.ui.document import Document

TRAIN_S = 300_000  # two trials: process start + torch import on a busy machine


@pytest.fixture
def window(make_window, tmp_path):
    def make(epochs: int = 1):
        path = tmp_path / "tiny.json"
        tiny_digits_graph(epochs=epochs, limit=160).save(path)
        w = make_window(Document(load(path), path), restore_layout=False)
        return w

    made = []

    def factory(epochs: int = 1):
        made.append(make(epochs))
        return made[-1]

    yield factory
    for w in made:
        panel = w.training_dashboard.built("experiments")
        if panel is not None:
            panel.shutdown()
        w.training_dashboard.controller.shutdown()


def click_node(window, name: str) -> None:
    canvas = window.canvas
    canvas.frame_all()
    item = canvas.graph_scene().node_items[window.document.graph.find(name)]
    pos = canvas.mapFromScene(item.sceneBoundingRect().center())
    QTest.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def choose_in_popup(text: str) -> None:
    """Click menu entry ``text`` of the popup menu that opens next (a context menu runs its
    own event loop, so the click is queued before the menu opens)."""
    def click() -> None:
        menu = QApplication.activePopupWidget()
        if menu is None:
            QTimer.singleShot(20, click)
            return
        action = next(a for a in menu.actions() if a.text() == text)
        QTest.mouseClick(menu, Qt.MouseButton.LeftButton,
                         pos=menu.actionGeometry(action).center())

    QTimer.singleShot(20, click)


def right_click(widget) -> None:
    """The context-menu event a right-click sends (QTest's clicks do not make one)."""
    centre = widget.rect().center()
    QApplication.sendEvent(widget, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, centre,
                                                     widget.mapToGlobal(centre)))


def type_cell(qtbot, table, row: int, col: int, text: str) -> None:
    """Click the cell, F2 to edit it, type ``text`` over its value, Return."""
    rect = table.visualItemRect(table.item(row, col))
    QTest.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: table.currentRow() == row and table.currentColumn() == col)
    QTest.keyClick(table, Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: table.viewport().findChild(QLineEdit) is not None)
    editor = table.viewport().findChild(QLineEdit)
    editor.selectAll()
    QTest.keyClicks(editor, text)
    QTest.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: table.item(row, col).text() == text)


def column(view, header: str) -> list[str]:
    t = view.table
    headers = [t.horizontalHeaderItem(c).text() for c in range(t.columnCount())]
    c = headers.index(header)
    return [t.item(r, c).text() for r in range(t.rowCount())]


def click_tab(qtbot, tabs, title: str) -> None:
    bar = tabs.tabBar()
    index = next(i for i in range(bar.count()) if bar.tabText(i) == title)
    QTest.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    qtbot.waitUntil(lambda: tabs.currentIndex() == index)


def test_a_value_swept_from_the_inspector_runs_in_the_background(window, qtbot):
    w = window()
    click_node(w, "fc")
    caption = w.inspector.findChild(QLabel, "caption_out_features")
    qtbot.waitUntil(caption.isVisible)
    choose_in_popup("Sweep this value…")
    right_click(caption)
    qtbot.waitUntil(lambda: w.training_dashboard.built("experiments") is not None)
    panel = w.training_dashboard.built("experiments")
    editor = panel.editor
    qtbot.waitUntil(lambda: editor.texts() == ["fc.out_features=5,10,20"])  # from its 10
    qtbot.waitUntil(lambda: w.docks["experiments"].isVisible())
    type_cell(qtbot, editor.table, 0, 1, "4,8,12")
    QTest.keyClicks(editor.objectives, "params:min")
    assert editor.error.isHidden()
    with qtbot.waitSignal(panel.sweep_ended, timeout=60_000) as ended:
        QTest.mouseClick(editor.run_button, Qt.MouseButton.LeftButton)
        assert not editor.run_button.isEnabled()  # the window goes on while it runs
    assert ended.args == [None]
    view = panel.view
    qtbot.waitUntil(lambda: column(view, "state") == ["complete"] * 3)
    assert column(view, "fc.out_features") == ["4", "8", "12"]
    # fc: 128 inputs (8 maps × 4 × 4) → N outputs: 129·N parameters, + conv1's 80
    assert column(view, "params") == [str(80 + 129 * n) for n in (4, 8, 12)]
    assert column(view, "front") == ["★", "", ""]
    assert view.hover_text(1) == "trial 1 (complete): fc.out_features=8; params 1112"
    assert panel.folder == w.document.path.parent / "tiny.runs" / "sweeps" / "tiny_digits"
    click_tab(qtbot, view.tabs, "Importance")
    qtbot.waitUntil(lambda: view.importance.shown_scores() != {}, timeout=60_000)
    assert view.importance.shown_scores() == pytest.approx({"fc.out_features": 1.0})
    click_tab(qtbot, view.tabs, "Parallel")
    assert sorted(view.parallel.lines) == [0, 1, 2]


def test_a_value_inside_a_shared_block_is_swept_in_that_use_only(make_window, qtbot):
    """Inside a block whose definition two block nodes use, the menu and the sweep say that
    only this use varies; the sweep names the node by its dotted path."""
    import netbuilder as nb

    inner = nb.Graph("Mlp")
    chain = [inner.add("Input", "x", (0, 0), shape=(6,)),
             inner.add("Linear", "fc", (0, 150), out_features=6),
             inner.add("Output", "y", (0, 300))]
    inner.connect(chain[0], chain[1])
    inner.connect(chain[1], chain[2])
    g = nb.Graph("blocks")
    g.training = {"dataset": "spirals"}  # a preview that needs no scikit-learn import
    g.define_block("Mlp", inner)
    x = g.add("Input", "x", (0, 0), shape=(6,))
    a, b = g.add_block("Mlp", "a", pos=(0, 150)), g.add_block("Mlp", "b", pos=(0, 300))
    g.connect(x, a)
    g.connect(a, b)
    w = make_window(Document(g), restore_layout=False)
    try:
        canvas = w.canvas
        item = canvas.graph_scene().node_items[g.find("a")]
        QTest.mouseDClick(canvas.viewport(), Qt.MouseButton.LeftButton,
                          Qt.KeyboardModifier.NoModifier,
                          canvas.mapFromScene(item.sceneBoundingRect().center()))
        qtbot.waitUntil(lambda: canvas.path == [g.find("a")])
        canvas.frame_all()
        fc = canvas.graph_scene().node_items[canvas.graph.find("fc")]
        QTest.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton,
                         pos=canvas.mapFromScene(fc.sceneBoundingRect().center()))
        qtbot.waitUntil(lambda: w.inspector.node_id == fc.node_id)
        caption = w.inspector.findChild(QLabel, "caption_out_features")
        qtbot.waitUntil(caption.isVisible)
        choose_in_popup("Sweep this value (this use of Mlp only)…")
        right_click(caption)
        qtbot.waitUntil(lambda: w.training_dashboard.built("experiments") is not None)
        panel = w.training_dashboard.built("experiments")
        qtbot.waitUntil(lambda: panel.editor.texts() == ["a.fc.out_features=3,6,12"])
        note = "only this use of Mlp varies; the other use keeps its value"
        assert panel.editor.table.item(0, 0).toolTip() == note
        assert note in panel.message.text()
    finally:
        panel = w.training_dashboard.built("experiments")
        if panel is not None:
            panel.shutdown()
        w.training_dashboard.controller.shutdown()


def test_a_bad_value_is_refused_with_the_parameter_named(window, qtbot):
    w = window()
    panel = w.training_dashboard.view("experiments")
    panel.editor.add_param("lr", "1e-3")
    type_cell(qtbot, panel.editor.table, 0, 1, "1e-2..1e-4")
    assert "sweep parameter 'lr': the range '1e-2..1e-4' must go from low to high" in \
        panel.editor.error.text()
    QTest.mouseClick(panel.editor.run_button, Qt.MouseButton.LeftButton)
    assert not panel.running


def test_stop_ends_the_running_trial_and_starts_no_more(window, qtbot):
    w = window(epochs=200)
    panel = w.training_dashboard.view("experiments")
    w.show_dock("experiments")
    panel.editor.add_param("lr", "0.01,0.02,0.03")
    QTest.mouseClick(panel.editor.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "1 running" in panel.view.status.text(), timeout=60_000)
    with qtbot.waitSignal(panel.sweep_ended, timeout=60_000):
        QTest.mouseClick(panel.editor.stop_button, Qt.MouseButton.LeftButton)
    _definition, trials = load_records(panel.folder, panel.name)
    # the grid's other points stay queued for when the sweep continues; none of them ran
    assert [(t.state, t.error) for t in trials] == [("failed", STOPPED), ("waiting", None),
                                                    ("waiting", None)]
    assert panel.editor.run_button.isEnabled()
    assert "stopped" in panel.message.text()


def test_trained_trials_overlay_their_curves_and_one_opens_as_a_graph(window, qtbot):
    w = window()
    panel = w.training_dashboard.view("experiments")
    w.show_dock("experiments")
    editor = panel.editor
    choose_in_popup("lr")
    QTest.mouseClick(editor.settings_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: editor.table.rowCount() == 1)
    type_cell(qtbot, editor.table, 0, 1, "0.01,0.05")
    editor.jobs.setValue(2)
    with qtbot.waitSignal(panel.sweep_ended, timeout=TRAIN_S) as ended:
        QTest.mouseClick(editor.run_button, Qt.MouseButton.LeftButton)
    assert ended.args == [None]
    view = panel.view
    qtbot.waitUntil(lambda: column(view, "state") == ["complete", "complete"])
    # both rows: the first by a click, the second by Ctrl+click
    for row, mods in ((0, Qt.KeyboardModifier.NoModifier),
                      (1, Qt.KeyboardModifier.ControlModifier)):
        rect = view.table.visualItemRect(view.table.item(row, 0))
        QTest.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, mods, rect.center())
    qtbot.waitUntil(lambda: view.selected_trials() == [0, 1])
    assert [label for label, _h in view.curves.curves.overlays] == ["trial-0000", "trial-0001"]
    # what differs, from the older run to the newer (parallel trials: either may be older)
    changes = view.curves.changes.toPlainText()
    assert "lr: 0.01 → 0.05" in changes or "lr: 0.05 → 0.01" in changes
    # a click on trial 1's point in the scatter opens it as the graph
    click_tab(qtbot, view.tabs, "Pareto")
    view.x_axis.setCurrentText("lr")
    xs, ys = view.points.getData()
    i = list(xs).index(0.05)
    click_point(qtbot, view, xs[i], ys[i])
    qtbot.waitUntil(lambda: w.document.graph.name == "tiny_digits-trial-1")
    assert w.document.graph.training["lr"] == 0.05
    assert "trial-0001" in w.document.graph.weights.origin  # its trained weights, loaded
    assert w.document.path is None  # a new graph: Save asks where
    assert "def forward" in w.document.graph.to_python()  # it exports as any graph
