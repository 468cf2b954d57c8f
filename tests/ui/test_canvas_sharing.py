"""Shared modules in the editor: the canvas badges a node that uses another node's module, the
inspector's Module field links and unlinks it with real key presses, and parameter edits on
one node reach the other; every step undoes exactly."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QComboBox
from ui_helpers import graph_json
from window_helpers import example

import netbuilder as nb
from netbuilder.ui.commands import SetParamsCommand
from netbuilder.ui.document import Document


def _badge(w, node_id: str) -> list[str]:
    item = w.canvas.graph_scene().node_items[node_id]
    return [text for _role, text in item._lines if "shares" in text]


def test_sharing_is_shown_linked_unlinked_and_undone(make_window, qtbot):
    w = make_window(Document(nb.load(example("siamese"))))
    g = w.document.graph
    left, right = g.find("left_embed1"), g.find("right_embed1")
    assert _badge(w, right) == ["⇄ shares left_embed1"] and _badge(w, left) == []
    w.canvas.select([right])
    field = w.inspector.findChild(QComboBox, "inspector_shares")
    qtbot.waitUntil(lambda: field.isVisible() and field.currentText() == "left_embed1")
    linked = graph_json(g)

    # Up on the closed field picks "its own": the node gets a module of its own.
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
    field.setFocus()
    qtbot.keyClick(field, Qt.Key.Key_Up)
    qtbot.waitUntil(lambda: g.node(right).shares is None)
    assert _badge(w, right) == []
    assert w.document.analysis().total_params == 2 * (64 * 32 + 32) + 32 * 16 + 16
    # Down links it again; Ctrl+Z and Ctrl+Y walk through both steps exactly.
    qtbot.keyClick(field, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: g.node(right).shares == left)
    assert graph_json(g) == linked
    w.canvas.setFocus()
    qtbot.keyClick(w.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: g.node(right).shares is None)
    qtbot.keyClick(w.canvas, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: g.node(right).shares == left)
    assert _badge(w, right) == ["⇄ shares left_embed1"]


def test_an_edit_of_one_shared_node_edits_both_and_undoes(make_window, qtbot):
    w = make_window(Document(nb.load(example("siamese"))))
    g = w.document.graph
    left, right = g.find("left_embed1"), g.find("right_embed1")
    before = graph_json(g)
    w.document.push(SetParamsCommand(w.document, right, {"out_features": 40}))
    assert g.node(left).params["out_features"] == 40 == g.node(right).params["out_features"]
    item = w.canvas.graph_scene().node_items[left]
    qtbot.waitUntil(lambda: ("body", "→40") in item._lines)
    w.canvas.setFocus()
    qtbot.keyClick(w.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: g.node(left).params["out_features"] == 32)
    assert g.node(right).params["out_features"] == 32
    assert graph_json(g) == before


def test_undoing_a_link_gives_back_the_node_its_own_settings(make_window, qtbot):
    from netbuilder.ui.commands import ShareCommand

    w = make_window(Document(nb.load(example("siamese"))))
    g = w.document.graph
    left, right = g.find("left_embed2"), g.find("right_embed2")
    w.document.push(ShareCommand(w.document, right, None))
    w.document.push(SetParamsCommand(w.document, right, {"out_features": 8}))
    before = graph_json(g)
    w.document.push(ShareCommand(w.document, right, left))
    assert g.node(right).params["out_features"] == 16  # it takes the owner's settings
    w.canvas.setFocus()
    qtbot.keyClick(w.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: g.node(right).shares is None)
    assert g.node(right).params["out_features"] == 8
    assert g.node(left).params["out_features"] == 16
    assert graph_json(g) == before
