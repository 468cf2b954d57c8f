"""Editing in the main window: palette drops, inspector edits, undo, problems, summary, code."""
from __future__ import annotations

import warnings

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QFontInfo
from PySide6.QtWidgets import QApplication, QLineEdit, QSpinBox
from window_helpers import example

import netbuilder as nb
from netbuilder.graph import graph_to_dict
from netbuilder.ui.document import Document
from netbuilder.ui.panels.palette import LAYER_MIME
from netbuilder.ui.panels.summary import NODE_ROLE, VALUE_ROLE


def lenet_window(make_window):
    return make_window(Document(nb.load(example("lenet5"))))


def wire_label(window, src_name: str, dst_name: str) -> str:
    g = window.document.graph
    src, dst = g.find(src_name), g.find(dst_name)
    scene = window.canvas.graph_scene()
    key = next(k for k in scene.wire_items if k[0] == src and k[2] == dst)
    return scene.wire_items[key].label


def test_drag_from_palette_adds_the_layer_where_it_is_dropped(make_window, qtbot):
    w = make_window()
    palette = w.palette_panel
    mime = palette.mimeData([palette.item("Conv2d")])
    assert bytes(mime.data(LAYER_MIME)).decode() == "Conv2d"
    viewport = w.canvas.viewport()
    at = QPointF(viewport.width() / 2, viewport.height() / 2)
    # Qt routes a drop to the widget that accepted the drag's enter (QDragManager's target).
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    with warnings.catch_warnings():  # the QPoint form: deprecated in 6.12, the only one in 6.11
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(at.toPoint(), Qt.DropAction.CopyAction, mime, buttons, mods)
        move = QDragMoveEvent(at.toPoint(), Qt.DropAction.CopyAction, mime, buttons, mods)
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(viewport, move)
    drop = QDropEvent(at, Qt.DropAction.CopyAction, mime, buttons, mods)
    QApplication.sendEvent(viewport, drop)
    assert drop.isAccepted()
    g = w.document.graph
    assert [n.type for n in g.nodes()] == ["Conv2d"]
    node = g.nodes()[0]
    scene_at = w.canvas.mapToScene(at.toPoint())
    item = w.canvas.graph_scene().node_items[node.id]
    assert item.sceneBoundingRect().adjusted(-12, -12, 12, 12).contains(scene_at)
    assert w.canvas.selected_ids() == [node.id]
    qtbot.waitUntil(lambda: w.inspector.title.text() == "Conv2d")
    assert w.actions["undo"].text() == f"Undo Add {node.label}"
    w.actions["undo"].trigger()
    assert len(g) == 0


def test_typing_a_parameter_and_enter_changes_the_graph_and_the_wire_label(make_window, qtbot):
    w = lenet_window(make_window)
    g = w.document.graph
    conv1 = g.find("conv1")
    assert wire_label(w, "conv1", "tanh1") == "(N, 6, 28, 28)"
    w.canvas.select([conv1])
    spin = w.inspector.findChild(QSpinBox, "field_out_channels")
    assert spin is not None and spin.value() == 6
    assert (spin.minimum(), spin.maximum()) == (1, 65536)
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, "12")
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    assert g.node(conv1).params["out_channels"] == 12
    qtbot.waitUntil(lambda: wire_label(w, "conv1", "tanh1") == "(N, 12, 28, 28)")
    assert w.inspector.fact_labels["outputs"].text() == "(N, 12, 28, 28)"
    assert w.document.dirty
    w.canvas.setFocus()
    qtbot.keyClick(w.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert g.node(conv1).params["out_channels"] == 6
    qtbot.waitUntil(lambda: wire_label(w, "conv1", "tanh1") == "(N, 6, 28, 28)")
    qtbot.waitUntil(lambda: spin.value() == 6)
    assert not w.document.dirty


def test_tuple_editor_accepts_one_number_or_a_pair(make_window, qtbot):
    w = lenet_window(make_window)
    g = w.document.graph
    conv1 = g.find("conv1")
    w.canvas.select([conv1])
    edit = w.inspector.findChild(QLineEdit, "field_kernel_size")
    assert edit.text() == "5"
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, "3, 3")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert g.node(conv1).params["kernel_size"] == (3, 3)
    # padding 2: 28 + 4 - 3 + 1 = 30
    qtbot.waitUntil(lambda: wire_label(w, "conv1", "tanh1") == "(N, 6, 30, 30)")
    w.actions["undo"].trigger()
    assert g.node(conv1).params["kernel_size"] == 5


def test_an_invalid_value_is_refused_beside_the_field_and_changes_nothing(make_window, qtbot):
    w = lenet_window(make_window)
    g = w.document.graph
    conv1 = g.find("conv1")
    before = graph_to_dict(g)
    w.canvas.select([conv1])
    spin = w.inspector.findChild(QSpinBox, "field_out_channels")
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, "0")
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    error = w.inspector.rows["out_channels"].error
    assert error.isVisible()
    assert "out_channels = 0 is not valid" in error.text()
    assert "[1, 65536]" in error.text()
    assert QApplication.activeModalWidget() is None  # never a pop-up
    edit = w.inspector.findChild(QLineEdit, "field_kernel_size")
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, "3, 3, 3")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    kernel_error = w.inspector.rows["kernel_size"].error
    assert kernel_error.isVisible() and "2 entries" in kernel_error.text()
    edit.selectAll()
    qtbot.keyClicks(edit, "3, x")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert "kernel_size = '3, x' is not valid" in kernel_error.text()
    assert "integer or tuple of integers" in kernel_error.text()
    assert graph_to_dict(g) == before
    assert not w.document.dirty
    # A good value afterwards clears the reason.
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, "8")
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    assert g.node(conv1).params["out_channels"] == 8
    assert not error.isVisible()


def test_renaming_in_the_inspector_is_undoable_and_refuses_a_taken_name(make_window, qtbot):
    w = lenet_window(make_window)
    g = w.document.graph
    conv1 = g.find("conv1")
    w.canvas.select([conv1])
    name = w.inspector.name_edit
    name.setFocus()
    name.selectAll()
    qtbot.keyClicks(name, "conv2")
    qtbot.keyClick(name, Qt.Key.Key_Return)
    assert g.node(conv1).name == "conv1"
    assert "taken" in w.inspector.name_error.text() and w.inspector.name_error.isVisible()
    name.selectAll()
    qtbot.keyClicks(name, "features")
    qtbot.keyClick(name, Qt.Key.Key_Return)
    assert g.node(conv1).name == "features"
    assert not w.inspector.name_error.isVisible()
    w.actions["undo"].trigger()
    assert g.node(conv1).name == "conv1"


def missing_flatten(fc_pos: tuple) -> tuple[nb.Graph, str]:
    """Input(1, 28, 28) → Linear 'fc' at ``fc_pos``: one error, on 'fc' (no Flatten)."""
    g = nb.Graph("broken")
    x = g.add("Input", "image", (0, 0), shape=(1, 28, 28))
    fc = g.add("Linear", "fc", fc_pos, out_features=10)
    g.connect(x, fc)
    return g, fc


def test_clicking_a_problem_selects_and_frames_its_node(make_window, qtbot):
    g, fc = missing_flatten((3000, 2000))
    w = make_window(Document(g))
    tree = w.problems.tree
    qtbot.waitUntil(lambda: w.problems.item_for(fc) is not None)
    item = w.problems.item_for(fc)
    assert "expects (N, features)" in item.text(0)
    assert w.problems_button.text() == "1 error"
    w.canvas.centerOn(-20000, -20000)
    node_item = w.canvas.graph_scene().node_items[fc]
    assert not w.canvas.viewport().rect().contains(
        w.canvas.mapFromScene(node_item.sceneBoundingRect().center()))
    w.show_dock("problems")
    rect = tree.visualItemRect(item)
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert w.canvas.selected_ids() == [fc]
    centre = w.canvas.mapFromScene(node_item.sceneBoundingRect().center())
    assert w.canvas.viewport().rect().contains(centre)
    assert w.inspector.title.text() == "Linear"


def test_a_graph_opened_with_errors_shows_problems_with_the_whole_advice(make_window, qtbot):
    g, fc = missing_flatten((300, 0))
    w = make_window(Document(g))
    w.resize(1400, 900)
    w.show()
    qtbot.waitUntil(lambda: w.problems.item_for(fc) is not None)
    dock = w.docks["problems"]
    qtbot.waitUntil(lambda: dock.isVisible() and not dock.visibleRegion().isEmpty())
    tree = w.problems.tree
    tree.setColumnWidth(0, 300)  # narrower than the sentence: it wraps, nothing is cut off
    item = w.problems.item_for(fc)
    assert item.text(0).endswith("add a Flatten before it")
    qtbot.waitUntil(lambda: tree.visualItemRect(item).height()
                    >= 2 * tree.fontMetrics().height())


def test_summary_table_equals_the_analysis(make_window):
    w = lenet_window(make_window)
    analysis = w.document.graph.analyze()
    model = w.summary.model
    assert model.rowCount() == len(analysis.order) + 1
    for row, nid in enumerate(analysis.order):
        info = analysis.nodes[nid]
        assert model.data(model.index(row, 0), NODE_ROLE) == nid
        assert model.data(model.index(row, 0)) == w.document.graph.node(nid).name
        assert model.data(model.index(row, 2), VALUE_ROLE) == info.out_shapes[0]
        assert model.data(model.index(row, 3), VALUE_ROLE) == info.params
        assert model.data(model.index(row, 4), VALUE_ROLE) == info.macs
    total = len(analysis.order)
    assert model.data(model.index(total, 3), VALUE_ROLE) == analysis.total_params == 61706
    assert model.data(model.index(total, 4), VALUE_ROLE) == analysis.total_macs
    assert model.data(model.index(1, 2)) == "(N, 6, 28, 28)"
    assert model.data(model.index(total, 3)) == "61,706"
    assert "61,706 parameters" in w.totals_label.text()
    assert "at batch 64" in w.totals_label.text()


def test_code_panel_shows_to_python_live_and_the_compile_error(make_window, qtbot):
    w = lenet_window(make_window)
    g = w.document.graph
    w.code.flush()
    assert w.code.text() == g.to_python()
    assert w.code.editor.isReadOnly()
    assert QFontInfo(w.code.editor.font()).fixedPitch()
    from netbuilder.ui.commands import SetParamsCommand

    w.document.push(SetParamsCommand(w.document, g.find("fc1"), {"out_features": 100}))
    qtbot.waitUntil(lambda: "nn.Linear(400, 100)" in w.code.text(), timeout=3000)
    assert w.code.text() == g.to_python()
    w.document.push(SetParamsCommand(w.document, g.find("image"), {"shape": (1, 4, 4)}))
    # NOTE: torch imports its compiler stack the first time a meta op fails (seconds, once).
    qtbot.waitUntil(lambda: w.code.banner.isVisible(), timeout=20000)
    assert "cannot be compiled" in w.code.text()
    assert not w.code.ok
    w.code.copy_button.click()
    assert QApplication.clipboard().text() == w.code.text()


def test_double_clicking_a_palette_layer_adds_it_after_the_selection(make_window, qtbot):
    w = lenet_window(make_window)
    g = w.document.graph
    logits = g.find("logits")
    fc3 = g.find("fc3")
    w.canvas.select([fc3])
    before = len(g)
    w.palette_panel.layer_activated.emit("Dropout")
    assert len(g) == before + 1
    new = w.canvas.selected_ids()[0]
    assert g.node(new).type == "Dropout"
    assert [e.src for e in g.in_edges(new)] == [fc3]
    assert logits in g


def test_a_narrow_summary_keeps_its_numbers_in_view_and_elides_long_names(qtbot):
    from netbuilder.ui.panels.summary import SummaryPanel

    g = nb.Graph("long")
    x = g.add("Input", "x", shape=(8,))
    fc = g.add("Linear", "a_very_long_layer_name_from_an_imported_library_block", out_features=4)
    g.connect(x, fc)
    doc = Document(g)
    panel = SummaryPanel()
    qtbot.addWidget(panel)
    panel.set_document(doc)
    panel.resize(460, 200)  # about the Summary dock at 1366×768
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_analysis(g.analyze())
    table, header = panel.table, panel.table.horizontalHeader()
    macs_right = header.sectionViewportPosition(4) + header.sectionSize(4)
    assert macs_right <= table.viewport().width()  # the MACs column is whole, unscrolled
    name_width = header.sectionSize(0)
    full = table.fontMetrics().horizontalAdvance(g.node(fc).name)
    assert name_width < full  # the name column gave way...
    row = 1
    assert panel.model.data(panel.model.index(row, 0), Qt.ItemDataRole.ToolTipRole) \
        == g.node(fc).name  # ...and the whole name is in its tooltip
