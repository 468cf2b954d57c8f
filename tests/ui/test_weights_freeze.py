"""Freezing from the canvas and the inspector, and File → Load Weights…, with real events."""
from __future__ import annotations

import torch
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog
from safetensors.torch import save_file
from ui_helpers import lenet_graph, node_point
from window_helpers import answer_dialog

import netbuilder as nb
from netbuilder.compile.weights import graph_weights
from netbuilder.ui.document import Document


def _click_menu_action(qtbot, menu, name: str) -> None:
    action = next(a for a in menu.actions() if a.objectName() == name)
    qtbot.waitUntil(lambda: menu.isVisible() and not menu.actionGeometry(action).isEmpty())
    QTest.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center())


def test_freeze_from_the_context_menu_and_the_inspector(qtbot, make_window):
    w = make_window(Document(lenet_graph()))
    view, g, doc = w.canvas, w.document.graph, w.document
    conv = g.find("conv1")
    item = view.graph_scene().node_items[conv]
    assert not item.frozen
    # a right-click: the press selects, then Qt delivers the context-menu event
    at = node_point(view, conv)
    QTest.mouseClick(view.viewport(), Qt.MouseButton.RightButton, pos=at)
    QApplication.sendEvent(view.viewport(), QContextMenuEvent(
        QContextMenuEvent.Reason.Mouse, at, view.viewport().mapToGlobal(at)))
    qtbot.waitUntil(lambda: view.context_menu is not None and view.context_menu.isVisible())
    menu = view.context_menu
    assert [a.text() for a in menu.actions() if a.objectName() == "menu_freeze"] == \
        ["Freeze node"]
    _click_menu_action(qtbot, menu, "menu_freeze")
    assert not g.node(conv).trainable
    qtbot.waitUntil(lambda: "frozen" in w.totals_label.text())
    assert item.frozen and item._lines[-1] == ("small", "156 params · frozen")
    assert "11,926 parameters   ·   trainable 11.8 K / frozen 156" in w.totals_label.text()
    # the inspector shows the switch off; clicking it unfreezes (one undo step each)
    assert view.selected_ids() == [conv]
    box = w.inspector.trainable
    qtbot.waitUntil(lambda: box.isVisible() and not box.isChecked())
    QTest.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))
    assert g.node(conv).trainable and not item.frozen
    qtbot.waitUntil(lambda: "frozen" not in w.totals_label.text())
    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not g.node(conv).trainable and item.frozen
    # a frozen node is saved frozen
    doc.undo_stack.undo()
    doc.undo_stack.redo()
    assert '"trainable": false' in nb.graph.to_json(g)


def test_load_weights_from_the_file_menu(qtbot, make_window, tmp_path, monkeypatch):
    w = make_window(Document(lenet_graph()))
    g = w.document.graph
    torch.manual_seed(4)
    state = {k: torch.randn_like(v) for k, v in g.build().state_dict().items()}
    save_file(state, str(tmp_path / "pretrained.safetensors"))
    chosen = [str(tmp_path / "pretrained.safetensors")]
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (chosen[0], ""))

    def load_from_menu():
        bar = w.menuBar()
        file_menu = w.menus["file"]
        QTest.mouseClick(bar, Qt.MouseButton.LeftButton,
                         pos=bar.actionGeometry(file_menu.menuAction()).center())
        _click_menu_action(qtbot, file_menu, "action_load_weights")

    load_from_menu()
    qtbot.waitUntil(lambda: g.weights is not None)
    loaded = graph_weights(g)
    assert set(loaded) == set(state) and all(torch.equal(loaded[k], state[k]) for k in state)
    assert "Loaded the weights of pretrained.safetensors" in w.statusBar().currentMessage()
    # saving writes them beside the graph; the file names them
    assert w.files.save_as(tmp_path / "lenet.json")
    assert (tmp_path / "lenet.safetensors").is_file()
    back = nb.load(tmp_path / "lenet.json")
    assert torch.equal(graph_weights(back)["fc1.weight"], state["fc1.weight"])
    # a file for another graph: explained, naming the tensors; the graph keeps its weights
    bad = dict(state)
    bad["fc1.weight"] = torch.zeros(3, 1176)
    del bad["conv1.bias"]
    bad["head.weight"] = torch.zeros(2)
    save_file(bad, str(tmp_path / "other.safetensors"))
    chosen[0] = str(tmp_path / "other.safetensors")
    seen = answer_dialog("load_weights_error")
    load_from_menu()
    qtbot.waitUntil(lambda: seen.get("shown"))
    detail = seen["informative"]
    assert "other.safetensors does not fit the graph" in detail
    assert "missing 'conv1.bias'" in detail and "unexpected 'head.weight'" in detail
    assert "'fc1.weight' is (3, 1176) in the file but (10, 1176) in the graph" in detail
    assert g.weights.name == "lenet.safetensors"
