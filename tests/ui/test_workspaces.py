"""Design and Training workspaces: a toggle (Ctrl+1, Ctrl+2), a run starting brings Training,
View ▸ Reset Layout, and each arrangement remembered across sessions."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from test_window_editing import lenet_window

from netbuilder.ui.workspaces import SHOWN


def shown(w) -> set[str]:
    return {name for name, dock in w.docks.items() if not dock.isHidden()}


def press(qtbot, w, key) -> None:
    """Ctrl+key as a person presses it: in the active window, on the canvas."""
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
    w.canvas.setFocus()
    QTest.keyClick(w.canvas, key, Qt.KeyboardModifier.ControlModifier)


def test_design_and_training_workspaces_toggle_with_the_keyboard(make_window, qtbot):
    w = lenet_window(make_window)
    assert shown(w) == set(SHOWN["design"])
    view_menu = [a.text() for a in w.menus["view"].actions()]
    assert {"&Design Workspace", "&Training Workspace", "&Reset Layout"} <= set(view_menu)
    press(qtbot, w, Qt.Key.Key_2)
    qtbot.waitUntil(lambda: shown(w) == set(SHOWN["training"]))
    assert w.workspaces.current == "training"
    assert w.workspaces.actions["training"].isChecked()
    press(qtbot, w, Qt.Key.Key_1)
    qtbot.waitUntil(lambda: shown(w) == set(SHOWN["design"]))


def test_a_run_starting_brings_the_training_workspace(make_window, qtbot):
    w = lenet_window(make_window)
    w.training_dashboard.controller.state_changed.emit("starting")
    qtbot.waitUntil(lambda: w.workspaces.current == "training")
    assert {"curves", "feature_maps", "training"} <= shown(w)
    assert "palette" not in shown(w)


def test_reset_layout_puts_the_panels_back(make_window, qtbot):
    w = lenet_window(make_window)
    w.docks["palette"].close()
    w.docks["code"].setFloating(True)
    assert "palette" not in shown(w)
    w.workspaces.reset_action.trigger()
    qtbot.waitUntil(lambda: shown(w) == set(SHOWN["design"]))
    assert not w.docks["code"].isFloating()


def test_each_workspace_is_remembered_across_sessions(make_window, qtbot):
    w = lenet_window(make_window)
    w.docks["code"].close()  # the person's design arrangement: no code panel
    press(qtbot, w, Qt.Key.Key_2)
    qtbot.waitUntil(lambda: w.workspaces.current == "training")
    w.docks["samples"].close()
    w.save_layout()
    again = make_window(None, restore_layout=True)
    assert again.workspaces.current == "training"
    assert "samples" not in shown(again) and "curves" in shown(again)
    press(qtbot, again, Qt.Key.Key_1)
    qtbot.waitUntil(lambda: again.workspaces.current == "design")
    assert shown(again) == set(SHOWN["design"]) - {"code"}
