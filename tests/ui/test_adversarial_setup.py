"""Adversarial training in the training setup form: choosing an attack shows its settings and
stores them with the graph (undoably)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from test_training_setup import open_tiny, type_into


def test_choosing_pgd_shows_its_settings_and_stores_them(make_window, tmp_path):
    _, doc, dash = open_tiny(make_window, tmp_path)
    form = dash.view("training").form
    method = form.fields["adversarial.method"]
    eps = form.fields["adversarial.eps"]
    steps = form.fields["adversarial.steps"]
    assert method.currentText() == "none" and not eps.isVisibleTo(form)
    method.setFocus()
    QTest.keyClick(method, Qt.Key.Key_Down)  # none → fgsm
    assert doc.graph.training["adversarial"]["method"] == "fgsm"
    assert eps.isVisibleTo(form) and not steps.isVisibleTo(form)  # FGSM takes no steps
    QTest.keyClick(method, Qt.Key.Key_Down)  # fgsm → pgd
    assert steps.isVisibleTo(form)
    type_into(eps, "0.05")
    type_into(steps, "3")
    assert doc.graph.training["adversarial"] == {"method": "pgd", "eps": 0.05, "fraction": 0.5,
                                                 "steps": 3, "step_size": 0.0}
    type_into(eps, "-1")
    assert "adversarial.eps must be a number of at least 0" in \
        form.errors["adversarial.eps"].text()
    assert doc.graph.training["adversarial"]["eps"] == 0.05 and eps.text() == "0.05"
    doc.undo_stack.undo()  # the steps
    doc.undo_stack.undo()  # ε
    assert doc.graph.training["adversarial"]["eps"] == 0.1 and eps.text() == "0.1"
