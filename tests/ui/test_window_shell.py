"""The main window's shell: docks, toolbar, menus, status bar, theme, settings, dialogs."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QLineEdit
from window_helpers import EXAMPLES, example

import netbuilder as nb
from netbuilder.ui import theme
from netbuilder.ui.commands import AddNodeCommand
from netbuilder.ui.document import Document
from netbuilder.ui.settings import KEY_THEME, app_settings

TOOLBAR = ("new", "open", "save", "undo", "redo", "check", "train", "stop", "export")


def test_docks_sit_where_a_person_expects_them(make_window):
    w = make_window()
    area = w.dockWidgetArea
    assert set(w.docks) >= {"palette", "inspector", "problems", "summary", "code"}
    assert area(w.docks["palette"]) == Qt.DockWidgetArea.LeftDockWidgetArea
    assert area(w.docks["inspector"]) == Qt.DockWidgetArea.RightDockWidgetArea
    assert area(w.docks["problems"]) == Qt.DockWidgetArea.BottomDockWidgetArea
    assert w.docks["summary"] in w.tabifiedDockWidgets(w.docks["problems"])
    assert area(w.docks["code"]) == Qt.DockWidgetArea.BottomDockWidgetArea
    assert w.centralWidget() is w.canvas
    for name, dock in w.docks.items():
        assert dock.objectName() == f"{name}_dock"
        assert dock.toggleViewAction() in w.panels_menu.actions()
    assert 160 <= w.docks["palette"].width() <= 320
    assert 220 <= w.docks["inspector"].width() <= 420


def test_toolbar_actions_have_tooltips_shortcuts_and_icons(make_window):
    w = make_window()
    in_toolbar = w.toolbar.actions()
    for name in TOOLBAR:
        a = w.actions[name]
        assert a in in_toolbar, name
        assert a.toolTip() and a.statusTip(), name
        assert a.shortcuts(), name
        assert not a.icon().isNull(), name
        key = a.shortcuts()[0].toString()
        assert key in a.toolTip(), name
    assert w.actions["save"].shortcut().toString() == "Ctrl+S"
    assert [k.toString() for k in w.actions["redo"].shortcuts()] == ["Ctrl+Shift+Z", "Ctrl+Y"]


def test_menus_list_every_example_with_its_description(make_window):
    w = make_window()
    titles = [m.title().replace("&", "") for m in w.menuBar().findChildren(type(w.menus["file"]))
              if m.parent() is w.menuBar()]
    assert titles[:5] == ["File", "Edit", "View", "Model", "Help"]
    files = sorted(EXAMPLES.glob("*.json"))
    entries = {a.data(): a for a in w.examples_menu.actions()}
    assert len(entries) == len(files)
    for path in files:
        meta = json.loads(path.read_text()).get("meta", {})
        a = entries[str(path)]
        assert a.statusTip() == meta.get("description", "")
    entries[str(example("lenet5"))].trigger()
    assert len(w.document.graph) == len(nb.load(example("lenet5")))


def test_undo_menu_entries_are_named_after_the_edit(make_window):
    w = make_window()
    w.document.push(AddNodeCommand(w.document, "ReLU", (0, 0), name="act"))
    assert w.actions["undo"].text() == "Undo Add ReLU 'act'"
    assert w.actions["undo"] in w.menus["edit"].actions()
    w.actions["undo"].trigger()
    assert w.actions["redo"].text() == "Redo Add ReLU 'act'"
    assert len(w.document.graph) == 0


def test_status_bar_shows_the_totals_of_the_analysis(make_window, qtbot):
    g = nb.load(example("lenet5"))
    g.training = {"batch_size": 128}
    w = make_window(Document(g))
    a = g.analyze()
    text = w.totals_label.text()
    assert f"{a.total_params:,} parameters" in text
    assert "417 K MACs" in text
    assert "at batch 128" in text
    mb = a.activation_bytes(128) / 1024 ** 2
    assert f"{mb:.3g} MB" in text
    assert w.problems_button.text() == "No problems"


def _pixel(widget, x: int, y: int) -> QColor:
    return widget.grab().toImage().pixelColor(x, y)


def test_theme_switch_changes_the_pixels_and_is_remembered(make_window, qtbot):
    w = make_window()
    w.set_theme("light")
    qtbot.waitUntil(lambda: theme.current_theme() == "light")
    tree = w.palette_panel.tree
    light_tree = _pixel(tree.viewport(), tree.viewport().width() - 4,
                        tree.viewport().height() - 4)
    light_canvas = _pixel(w.canvas.viewport(), 3, 3)
    assert light_tree.lightness() > 200
    try:
        w.actions["theme_dark"].trigger()
        assert theme.current_theme() == "dark"
        assert app_settings().value(KEY_THEME) == "dark"
        assert w.actions["theme_dark"].isChecked() and not w.actions["theme_light"].isChecked()
        dark_tree = _pixel(tree.viewport(), tree.viewport().width() - 4,
                           tree.viewport().height() - 4)
        dark_canvas = _pixel(w.canvas.viewport(), 3, 3)
        assert dark_tree.lightness() < 60
        assert dark_tree == QColor(theme.COLORS["dark"]["base"])
        assert dark_canvas.lightness() < light_canvas.lightness() - 100
        assert QApplication.palette().color(QApplication.palette().ColorRole.Window) == \
            QColor(theme.COLORS["dark"]["window"])
    finally:
        w.set_theme("light")
    assert _pixel(tree.viewport(), tree.viewport().width() - 4,
                  tree.viewport().height() - 4) == light_tree


def test_window_layout_is_saved_and_restored(make_window):
    w = make_window()
    screen = QApplication.primaryScreen().availableGeometry()
    size = QSize(screen.width() - 16, screen.height() - 60)  # fits the (offscreen) screen
    w.resize(size)
    w.docks["code"].hide()
    w.close()
    again = make_window()
    assert again.size() == size
    assert not again.docks["code"].isVisible()
    assert again.docks["palette"].isVisible()


def test_question_mark_opens_the_shortcuts_sheet(make_window, qtbot):
    from netbuilder.ui.shortcuts import ShortcutsDialog

    w = make_window()
    shown = []

    def on_exec(dialog):
        shown.append(dialog)
        return 0

    original = ShortcutsDialog.exec
    ShortcutsDialog.exec = on_exec
    try:
        w.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
        w.canvas.setFocus()
        qtbot.keyClick(w.canvas, Qt.Key.Key_Question)
        qtbot.keyClick(w.canvas, Qt.Key.Key_F1)
    finally:
        ShortcutsDialog.exec = original
    assert len(shown) == 2
    sheet = shown[0]
    assert sheet.keys_for("Duplicate") == "Ctrl+D"
    assert sheet.keys_for("Save") == "Ctrl+S"
    assert sheet.keys_for("Frame All") == "F"
    assert sheet.keys_for("Quick-add a layer at the cursor") == "Tab / double-click"
    listed = {text for _g, text, _k in sheet.rows}
    assert {"Undo", "Redo", "Train", "Stop", "Check", "Export to Python"} <= listed
    sheet.search.setText("ctrl+g")
    visible = [sheet.tree.topLevelItem(i).child(j).text(0)
               for i in range(sheet.tree.topLevelItemCount())
               for j in range(sheet.tree.topLevelItem(i).childCount())
               if not sheet.tree.topLevelItem(i).child(j).isHidden()]
    assert visible == ["Group into Block"]
    for dialog in shown:
        dialog.deleteLater()


def test_about_names_versions_and_the_device(make_window):
    import torch

    from netbuilder.ui.about import AboutDialog

    w = make_window()
    about = AboutDialog(w)
    rows = dict(about.rows)
    assert rows["netbuilder"] == nb.__version__
    assert rows["PyTorch"] == torch.__version__
    from PySide6.QtCore import qVersion

    assert rows["Qt"] == qVersion()
    help_menu = w.menus["help"].actions()
    assert w.actions["about"] in help_menu and w.actions["shortcuts"] in help_menu
    assert rows["Device"].startswith(("CUDA: ", "Apple MPS", "CPU ("))
    if torch.cuda.is_available():
        assert torch.cuda.get_device_name(0) in rows["Device"]
    about.copy_details()
    assert f"PyTorch: {torch.__version__}" in QApplication.clipboard().text()
    about.deleteLater()


class FakeTrainer(QObject):
    """Records what Train and Stop ask of a controller (the dashboard's real one plugs in)."""

    running_changed = Signal(bool)

    def __init__(self):
        super().__init__()
        self.calls = []

    def start(self, window):
        self.calls.append(("start", window))
        self.running_changed.emit(True)

    def stop(self):
        self.calls.append(("stop",))
        self.running_changed.emit(False)


def test_train_and_stop_call_the_plugged_controller(make_window):
    w = make_window()
    w.set_train_controller(None)
    assert not w.actions["train"].isEnabled() and not w.actions["stop"].isEnabled()
    trainer = FakeTrainer()
    w.set_train_controller(trainer)
    assert w.actions["train"].isEnabled() and not w.actions["stop"].isEnabled()
    w.actions["train"].trigger()
    assert trainer.calls == [("start", w)]
    assert not w.actions["train"].isEnabled() and w.actions["stop"].isEnabled()
    w.actions["stop"].trigger()
    assert trainer.calls[-1] == ("stop",)
    assert w.actions["train"].isEnabled()


def test_check_reports_in_the_status_bar_and_shows_problems(make_window):
    w = make_window(Document(nb.load(example("lenet5"))))
    w.actions["check"].trigger()
    assert w.statusBar().currentMessage().startswith("Check passed: the graph compiles")
    g = nb.Graph("broken")
    g.add("Linear", "fc", out_features=3)
    w.set_document(Document(g))
    w.docks["problems"].hide()
    w.actions["check"].trigger()
    assert "error" in w.statusBar().currentMessage()
    assert w.docks["problems"].isVisible()
    assert w.problems.tree.topLevelItemCount() >= 2  # no Input; fc has no input


def test_editing_keys_in_text_fields_do_not_edit_the_canvas(make_window, qtbot):
    w = make_window(Document(nb.load(example("lenet5"))))
    g = w.document.graph
    conv1 = g.find("conv1")
    w.canvas.select([conv1])
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
    name = w.inspector.findChild(QLineEdit, "inspector_name")
    name.setFocus()
    name.end(False)
    qtbot.keyClick(name, Qt.Key.Key_Backspace)
    qtbot.keyClick(name, Qt.Key.Key_Delete)
    assert conv1 in g and name.text() == "conv"
    search = w.palette_panel.search_box
    search.setFocus()
    qtbot.keyClicks(search, "f")
    assert search.text() == "f"
    # On the canvas the same keys act on the graph.
    w.canvas.setFocus()
    qtbot.keyClick(w.canvas, Qt.Key.Key_Delete)
    assert conv1 not in g


def test_two_windows_keep_their_own_documents_and_histories(make_window):
    a = make_window(Document(nb.load(example("lenet5"))))
    b = make_window()
    assert a.document is not b.document and len(b.document.graph) == 0
    b.document.push(AddNodeCommand(b.document, "ReLU", (0, 0)))
    assert b.actions["undo"].isEnabled()
    assert not a.actions["undo"].isEnabled()
    assert not a.document.dirty and b.document.dirty


def test_the_window_paints_before_the_first_analysis(qtbot):
    """Analysis imports torch (seconds): the graph is drawn first, its shapes right after."""
    from netbuilder.ui.main_window import MainWindow

    w = MainWindow(Document(nb.load(example("lenet5"))), autosave_ms=3_600_000)
    try:
        doc = w.document
        assert doc.analysis_pending()
        scene = w.canvas.graph_scene()
        assert len(scene.node_items) == len(doc.graph)
        assert all(wire.label == "" for wire in scene.wire_items.values())
        with qtbot.waitSignal(doc.analysis_updated, timeout=60_000):
            w.show()
        assert not doc.analysis_pending()
        g = doc.graph
        key = next(k for k in scene.wire_items if k[0] == g.find("conv1"))
        assert scene.wire_items[key].label == "(N, 6, 28, 28)"
        assert "61,706 parameters" in w.totals_label.text()
    finally:
        w.close()
        w.deleteLater()


def test_importing_the_window_does_not_import_torch():
    code = ("import sys, netbuilder.ui.main_window, netbuilder.ui.app; "
            "print('torch' in sys.modules, 'pyqtgraph' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.stdout.split() == ["False", "False"], done.stderr


def test_minimap_menu_entry_follows_the_canvas(make_window, qtbot):
    w = make_window()
    minimap = w.canvas.minimap
    w.actions["minimap"].setChecked(False)
    assert minimap.isHidden() and not minimap.wanted
    w.actions["minimap"].setChecked(True)
    assert minimap.wanted
    w.canvas.setFocus()
    qtbot.keyClick(w.canvas, Qt.Key.Key_M)  # the canvas's own key
    assert minimap.isHidden() and not minimap.wanted
    w.menus["view"].aboutToShow.emit()
    assert not w.actions["minimap"].isChecked()


def _contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two colours."""
    def lum(c: QColor) -> float:
        ch = [v / 255 for v in (c.red(), c.green(), c.blue())]
        ch = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in ch]
        return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2]

    hi, lo = sorted((lum(QColor(a)), lum(QColor(b))), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_the_code_error_banner_is_readable_in_both_themes(make_window, qtbot):
    from PySide6.QtWidgets import QLabel

    for name in theme.THEMES:
        c = theme.COLORS[name]
        assert _contrast(c["error_text"], c["error"]) >= 4.5, name
    g = nb.Graph("broken")
    g.add("Linear", "fc", out_features=3)
    w = make_window(Document(g))
    try:
        w.set_theme("dark")
        qtbot.waitUntil(lambda: w.code.banner.isVisible(), timeout=20_000)
        label = w.code.banner.findChild(QLabel)
        assert label.palette().color(label.foregroundRole()) == \
            QColor(theme.COLORS["dark"]["error_text"])
    finally:
        w.set_theme("light")
