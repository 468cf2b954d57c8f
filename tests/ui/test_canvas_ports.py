"""A node's output ports on the canvas follow the parameters typed in the inspector."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSpinBox

import netbuilder as nb
from netbuilder.ui.document import Document


def chunk_window(make_window):
    g = nb.Graph("parts")
    c = g.add("Chunk", "qkv", chunks=2, dim=1)
    g.connect(g.add("Input", shape=(6, 4)), c)
    w = make_window(Document(g))
    w.canvas.select([c])
    return w, g, c


def out_ports(w, nid: str) -> list[str]:
    return [p.name for p in w.canvas.graph_scene().node_items[nid].out_slots]


def type_chunks(w, qtbot, text: str) -> QSpinBox:
    spin = w.inspector.findChild(QSpinBox, "field_chunks")
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, text)
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    return spin


def test_typing_chunks_redraws_the_output_ports_and_undo_restores_them(make_window, qtbot):
    w, g, c = chunk_window(make_window)
    assert out_ports(w, c) == ["part0", "part1"]
    type_chunks(w, qtbot, "3")
    assert g.node(c).params["chunks"] == 3
    qtbot.waitUntil(lambda: out_ports(w, c) == ["part0", "part1", "part2"])
    w.canvas.setFocus()
    qtbot.keyClick(w.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: out_ports(w, c) == ["part0", "part1"])


def test_a_wired_port_cannot_be_taken_away_from_the_inspector(make_window, qtbot):
    w, g, c = chunk_window(make_window)
    type_chunks(w, qtbot, "3")
    qtbot.waitUntil(lambda: len(out_ports(w, c)) == 3)
    g.connect(c, g.add("Output", "y"), src_port="part2")
    type_chunks(w, qtbot, "2")
    error = w.inspector.rows["chunks"].error
    qtbot.waitUntil(error.isVisible)
    assert error.text() == ("Chunk 'qkv': chunks = 2 removes output 'part2', which is wired to "
                            "Output 'y'; disconnect that wire first")
    assert g.node(c).params["chunks"] == 3
    assert out_ports(w, c) == ["part0", "part1", "part2"]
