"""Block definitions in the editor: the node shows its definition and ×N, the inspector edits
repeat, a block opens with its breadcrumb, and an edit inside a block whose definition others
use asks once whether to change all uses or only this one; each step undoes exactly."""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit, QPushButton, QSpinBox
from ui_helpers import graph_json, node_point

from netbuilder.ui.document import Document

from ..graph.block_graphs import net

CTRL = Qt.KeyboardModifier.ControlModifier


def _lines(w, node_id: str) -> list[str]:
    return [text for _role, text in w.canvas.graph_scene().node_items[node_id]._lines]


def _answer(qtbot, button: str, seen: list) -> None:
    """Click ``button`` of the question once it is shown (it runs its own event loop)."""
    def click():
        box = QApplication.activeModalWidget()
        if box is None or box.objectName() != "shared_edit_dialog":
            QTimer.singleShot(20, click)
            return
        seen.append(box.text())
        target = box.findChild(QPushButton, button)
        QTest.mouseClick(target, Qt.MouseButton.LeftButton)
    QTimer.singleShot(0, click)


def _type_into(qtbot, editor, text: str) -> None:
    editor.setFocus()
    editor.selectAll()
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, Qt.Key.Key_Return)


def _inner(g, block: str, node: str):
    inner = g.node(g.find(block)).inner
    return inner.node(inner.find(node))


def test_repeat_is_edited_in_the_inspector_and_shown_on_the_node(make_window, qtbot):
    w = make_window(Document(net()))
    g = w.document.graph
    layer1 = g.find("layer1")
    assert "BasicBlock · 3 layers" in _lines(w, layer1)
    before = graph_json(g)
    w.canvas.select([layer1])
    spin = w.inspector.findChild(QSpinBox, "field_repeat")
    qtbot.waitUntil(lambda: spin is not None and spin.isVisible() and spin.value() == 1)
    _type_into(qtbot, spin, "3")
    assert g.node(layer1).params["repeat"] == 3
    qtbot.waitUntil(lambda: "BasicBlock · 3 layers ×3" in _lines(w, layer1))
    # parameter counts follow: the two later repetitions take 16 channels in, not 3
    conv = 16 * 16 * 9 + 16
    assert w.document.analysis().nodes[layer1].params == (3 * 16 * 9 + 16 + conv) + 4 * conv
    w.canvas.setFocus()
    qtbot.keyClick(w.canvas, Qt.Key.Key_Z, CTRL)
    assert g.node(layer1).params["repeat"] == 1 and graph_json(g) == before


def test_an_edit_inside_a_shared_block_changes_all_uses_once_asked(make_window, qtbot):
    w = make_window(Document(net()))
    g = w.document.graph
    before = graph_json(g)
    layer1 = g.find("layer1")
    QTest.mouseDClick(w.canvas.viewport(), Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier, node_point(w.canvas, layer1))
    assert w.canvas.path == [layer1]
    assert w.canvas.breadcrumb() == ["net", "layer1"]
    conv2 = w.canvas.graph.find("conv2")
    w.canvas.select([conv2])
    edit = w.inspector.findChild(QLineEdit, "field_kernel_size")
    qtbot.waitUntil(lambda: edit is not None and edit.isVisible())
    seen: list = []
    _answer(qtbot, "shared_edit_all", seen)
    _type_into(qtbot, edit, "5")
    assert seen == ["Change all 2 uses of BasicBlock, or only this one?"]
    assert _inner(g, "layer1", "conv2").params["kernel_size"] == 5
    assert _inner(g, "layer2", "conv2").params["kernel_size"] == 5
    assert w.document.undo_stack.text(0).endswith("(all 2 uses)")
    # asked once: the next edit in this block goes to all uses without a question
    _type_into(qtbot, edit, "1")
    assert seen == ["Change all 2 uses of BasicBlock, or only this one?"]
    assert _inner(g, "layer2", "conv2").params["kernel_size"] == 1
    # still one definition in the code: its classes follow the edit
    src = g.to_python(main=False)
    assert src.count("class BasicBlock") == 1 and "kernel_size=1" in src
    w.canvas.setFocus()
    qtbot.keyClick(w.canvas, Qt.Key.Key_Z, CTRL)
    qtbot.keyClick(w.canvas, Qt.Key.Key_Z, CTRL)
    assert _inner(g, "layer2", "conv2").params["kernel_size"] == 3
    assert graph_json(g) == before
    QTest.keyClick(w.canvas, Qt.Key.Key_Escape)
    assert w.canvas.path == [] and w.canvas.breadcrumb() == ["net"]


def test_only_this_one_gives_the_block_its_own_definition(make_window, qtbot):
    w = make_window(Document(net()))
    g = w.document.graph
    layer2 = g.find("layer2")
    w.canvas.open_block(layer2)
    w.canvas.select([w.canvas.graph.find("conv2")])
    edit = w.inspector.findChild(QLineEdit, "field_kernel_size")
    qtbot.waitUntil(lambda: edit is not None and edit.isVisible())
    seen: list = []
    _answer(qtbot, "shared_edit_one", seen)
    _type_into(qtbot, edit, "5")
    assert len(seen) == 1
    assert _inner(g, "layer2", "conv2").params["kernel_size"] == 5
    assert _inner(g, "layer1", "conv2").params["kernel_size"] == 3
    assert g.node(layer2).definition == "BasicBlock2"
    assert g.node(g.find("layer1")).definition == "BasicBlock"
    w.canvas.close_block()
    qtbot.waitUntil(lambda: "BasicBlock2 · 3 layers" in _lines(w, layer2))
    # undo takes back the edit and the definition of its own; redo makes both again
    w.canvas.setFocus()
    qtbot.keyClick(w.canvas, Qt.Key.Key_Z, CTRL)
    assert g.node(layer2).definition == "BasicBlock" and set(g.definitions) == {"BasicBlock"}
    assert _inner(g, "layer2", "conv2").params["kernel_size"] == 3
    qtbot.keyClick(w.canvas, Qt.Key.Key_Z, CTRL | Qt.KeyboardModifier.ShiftModifier)
    assert g.node(layer2).definition == "BasicBlock2"
    assert _inner(g, "layer2", "conv2").params["kernel_size"] == 5
