"""Everything on screen belongs to its document: another graph opened while a run goes on shows
its own (empty) training state, never the run of the graph before; going back shows it again."""
from __future__ import annotations

from test_training_live import START_S, click, live  # noqa: F401 (the fixture)
from training_helpers import tiny_digits_graph

from netbuilder.ui.document import Document


def test_another_graph_never_shows_the_previous_graphs_run(live, qtbot):  # noqa: F811
    w, doc, dash = live
    c = dash.controller
    panel = dash.view("training")
    click(panel.controls.start_button)
    curves = dash.view("curves")
    qtbot.waitUntil(lambda: curves.point_count("train_loss") >= 3, timeout=START_S)
    qtbot.waitUntil(lambda: "parameters" in panel.log.toPlainText(), timeout=START_S)
    other = Document(tiny_digits_graph())
    w.set_document(other)
    assert c.running  # the first graph's run goes on
    assert curves.point_count("train_loss") == 0
    assert panel.log.toPlainText() == ""
    assert panel.controls.numbers.text() == "Another graph is training (one run at a time)"
    assert panel.controls.progress.value() == 0
    seen = c.events_seen
    qtbot.waitUntil(lambda: c.events_seen > seen + 3, timeout=START_S)
    assert curves.point_count("train_loss") == 0 and panel.log.toPlainText() == ""
    assert w.files.open_file(str(doc.path))  # the first graph again: its run shows
    assert curves.point_count("train_loss") >= 3
    qtbot.waitUntil(lambda: panel.controls.numbers.text().startswith("Epoch"), timeout=START_S)
    c.stop()
    qtbot.waitUntil(lambda: not c.running, timeout=START_S)
