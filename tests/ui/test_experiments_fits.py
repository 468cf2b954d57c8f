"""The dashboard's labels and the Experiments dock fit a laptop's screen (1366×768) and a
desktop's (1920×1080) in the Training workspace: every button shows its whole text, and the
trials table's columns of numbers lie inside its viewport, whole, with no scrolling (a long
parameter name is elided in its header instead)."""
from __future__ import annotations

from PySide6.QtWidgets import QAbstractButton, QLabel
from test_experiments_panel import click_tab

from netbuilder.train.sweep import SweepDefinition, TrialRecord, parse_objectives, parse_params
from netbuilder.ui.document import Document
from netbuilder.ui.training.experiments import _NumberItem

SIZES = [(1366, 768), (1920, 1080)]
LONG = "layer1.0.conv1.out_channels"  # a node inside a block: the longest names people sweep
DEFINITION = SweepDefinition(parse_params([f"{LONG}=16,32,64", "lr=1e-4..1e-2:log"]),
                             parse_objectives(["val_accuracy:max", "params:min"], None),
                             "tpe", 4)
TRIALS = [TrialRecord(i, "complete", {LONG: c, "lr": lr},
                      {"val_accuracy": acc, "params": float(p)}, duration_s=d)
          for i, (c, lr, acc, p, d) in enumerate([(16, 1.2345e-3, 0.912345, 11_689_512, 93.25),
                                                  (32, 4.5e-4, 0.93751, 21_797_672, 187.5),
                                                  (64, 9.87e-3, 0.8875, 25_557_032, 240.125),
                                                  (16, 1e-4, 0.7, 11_689_512, 61.0)])]


def graph():
    import netbuilder as nb

    g = nb.Graph("tiny")
    g.training = {"dataset": "spirals"}  # a preview that needs no scikit-learn import
    x = g.add("Input", "x", (0, 0), shape=(2,))
    g.connect(x, g.add("Linear", "fc", (0, 150), out_features=2))
    return g


def cut_labels(dock) -> list[str]:
    """The shown one-line labels (rich text too: the curves' legend) narrower than their text."""
    return [f"{label.objectName() or label.text()[:30]!r}: {label.width()} of "
            f"{label.minimumSizeHint().width()} px"
            for label in dock.widget().findChildren(QLabel)
            if label.isVisible() and not label.wordWrap() and label.text()
            and label.width() < label.minimumSizeHint().width()]


def cut_buttons(dock) -> list[str]:
    """The shown buttons narrower than their text and icon need."""
    return [f"{b.objectName() or b.text()!r}: {b.width()} of {b.sizeHint().width()} px"
            for b in dock.findChildren(QAbstractButton)
            if b.isVisible() and b.width() < b.sizeHint().width()]


def test_the_dashboard_and_the_experiments_dock_fit_both_screens(make_window, qtbot):
    w = make_window(Document(graph()), restore_layout=False)
    w.workspaces.switch("training")
    curves = w.training_dashboard.view("curves")  # built, as a run builds it
    panel = w.training_dashboard.view("experiments")
    try:
        panel.editor.add_param(LONG, "16,32,64")
        panel.editor.add_param("lr", "1e-4..1e-2:log")
        panel.view.set_trials(DEFINITION, TRIALS)
        for size in SIZES:  # one window, resized: a second window would double the cost
            w.resize(*size)
            qtbot.waitUntil(lambda s=size: w.size().toTuple() == s)
            w.workspaces.reset()
            qtbot.waitUntil(curves.legend.isVisible)
            qtbot.wait(50)  # the docks' sizes settle on the next turns of the loop
            for name in ("training", "curves", "feature_maps"):  # the front docks
                assert cut_labels(w.docks[name]) == [], (size, name)
            w.show_dock("experiments")
            click_tab(qtbot, panel.view.tabs, "Define")
            assert cut_buttons(w.docks["experiments"]) == [], size  # the editor's buttons
            click_tab(qtbot, panel.view.tabs, "Trials")
            assert cut_buttons(w.docks["experiments"]) == [], size
            assert numbers_whole_in_view(panel.view.table) == 6, size
    finally:
        panel.shutdown()
        w.training_dashboard.controller.shutdown()


def numbers_whole_in_view(table) -> int:
    """Check that each column of numbers lies whole inside the viewport (no scrolling) and is
    as wide as its widest value; return how many there are."""
    header = table.horizontalHeader()
    room = table.viewport().width()
    numbers = [c for c in range(table.columnCount())
               if isinstance(table.item(0, c), _NumberItem)]
    for c in numbers:
        name = table.horizontalHeaderItem(c).text()
        start = header.sectionViewportPosition(c)
        assert start >= 0 and start + header.sectionSize(c) <= room, (name, start, room)
        assert header.sectionSize(c) >= table.sizeHintForColumn(c), name
    assert table.horizontalScrollBar().value() == 0
    assert table.horizontalHeaderItem(2).toolTip() == LONG  # elided; whole in the tooltip
    return len(numbers)
