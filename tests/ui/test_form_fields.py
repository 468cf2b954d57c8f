"""Form fields in the inspector and the training setup: the wheel scrolls the form, and a
refusal shown beside a field goes away as soon as the field holds a valid value."""
from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QSpinBox
from test_training_setup import open_tiny
from test_window_editing import lenet_window


def wheel(widget, steps: int = -3) -> None:
    """Turn the wheel over the middle of ``widget`` (negative: towards the person, down)."""
    at = QPointF(widget.rect().center())
    event = QWheelEvent(at, QPointF(widget.mapToGlobal(at.toPoint())), QPoint(0, 0),
                        QPoint(0, 120 * steps), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def scroll_area_of(widget) -> QAbstractScrollArea:
    parent = widget.parentWidget()
    while not isinstance(parent, QAbstractScrollArea):
        parent = parent.parentWidget()
    return parent


def test_the_wheel_scrolls_the_setup_form_and_changes_a_field_only_with_focus(make_window,
                                                                               tmp_path, qtbot):
    w, doc, dash = open_tiny(make_window, tmp_path)
    w.resize(1000, 500)  # the setup form is taller than its dock: it scrolls
    form = dash.view("training").form
    epochs = form.fields["epochs"]
    optimizer = form.fields["optimizer"]
    bar = scroll_area_of(epochs).verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0)
    bar.setValue(0)
    w.canvas.setFocus()
    wheel(epochs)
    wheel(optimizer)
    assert epochs.value() == 30 and optimizer.currentText() == "adam"
    assert bar.value() > 0  # the form scrolled instead
    assert epochs.focusPolicy() == Qt.FocusPolicy.StrongFocus
    epochs.setFocus()
    qtbot.waitUntil(epochs.hasFocus)
    scrolled = bar.value()
    wheel(epochs, steps=1)
    assert epochs.value() == 31 and bar.value() == scrolled


def test_the_wheel_over_an_unfocused_inspector_field_changes_nothing(make_window, qtbot):
    w = lenet_window(make_window)
    g = w.document.graph
    conv1 = g.find("conv1")
    w.canvas.select([conv1])
    spin = w.inspector.findChild(QSpinBox, "field_out_channels")
    w.canvas.setFocus()
    wheel(spin, steps=2)
    assert spin.value() == g.node(conv1).params["out_channels"] == 6
    assert not w.document.dirty
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus)
    wheel(spin, steps=2)
    assert g.node(conv1).params["out_channels"] == 8


def test_an_inspector_refusal_goes_as_soon_as_the_text_is_valid(make_window, qtbot):
    w = lenet_window(make_window)
    conv1 = w.document.graph.find("conv1")
    w.canvas.select([conv1])
    spin = w.inspector.findChild(QSpinBox, "field_out_channels")
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, "0")
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    error = w.inspector.rows["out_channels"].error
    assert error.isVisible() and "out_channels = 0 is not valid" in error.text()
    qtbot.keyClick(spin, Qt.Key.Key_Backspace)
    assert error.isVisible()  # empty is no value yet
    qtbot.keyClicks(spin, "1")
    assert not error.isVisible()  # no Enter needed
    kernel = w.inspector.rows["kernel_size"]
    kernel.editor.setFocus()
    kernel.editor.selectAll()
    qtbot.keyClicks(kernel.editor, "3, x")
    qtbot.keyClick(kernel.editor, Qt.Key.Key_Return)
    assert kernel.error.isVisible()
    qtbot.keyClick(kernel.editor, Qt.Key.Key_Backspace)
    assert kernel.error.isVisible()  # "3, " is still not a value
    qtbot.keyClicks(kernel.editor, "3")
    assert not kernel.error.isVisible()


def test_a_setup_refusal_goes_as_soon_as_the_text_is_valid(make_window, tmp_path, qtbot):
    w, doc, dash = open_tiny(make_window, tmp_path)
    form = dash.view("training").form
    lr = form.fields["lr"]
    lr.setFocus()
    lr.selectAll()
    qtbot.keyClicks(lr, "-1")
    qtbot.keyClick(lr, Qt.Key.Key_Return)
    assert form.errors["lr"].isVisible()
    lr.selectAll()
    qtbot.keyClicks(lr, "-")
    assert form.errors["lr"].isVisible()
    qtbot.keyClicks(lr, "0")  # "-0": still not above 0
    assert form.errors["lr"].isVisible()
    lr.selectAll()
    qtbot.keyClicks(lr, "0.5")
    assert not form.errors["lr"].isVisible()
    assert doc.graph.training["lr"] == 0.01  # nothing is committed before Enter
