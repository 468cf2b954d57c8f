"""The Experiments view: a sweep's trials table (sortable by clicking its header) and the
scatter with the Pareto front."""
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from training_helpers import click_point

import netbuilder as nb
from netbuilder.train.sweep import SweepDefinition, TrialRecord, parse_objectives, parse_params
from netbuilder.ui.training.experiments import ExperimentsView

DEFINITION = SweepDefinition(parse_params(["conv1.out_channels=4,8,16", "lr=1e-4..1e-2:log"]),
                             parse_objectives(["val_accuracy:max", "params:min"], None),
                             "tpe", 5)
TRIALS = [
    TrialRecord(0, "complete", {"conv1.out_channels": 8, "lr": 1e-3},
                {"val_accuracy": 0.90, "params": 1000.0}, duration_s=3.0),
    TrialRecord(1, "complete", {"conv1.out_channels": 16, "lr": 2e-3},
                {"val_accuracy": 0.95, "params": 5000.0}, duration_s=9.0),
    TrialRecord(2, "complete", {"conv1.out_channels": 8, "lr": 1e-4},
                {"val_accuracy": 0.85, "params": 1000.0}, duration_s=2.0),
    TrialRecord(3, "complete", {"conv1.out_channels": 4, "lr": 5e-3},
                {"val_accuracy": 0.80, "params": 500.0}, duration_s=10.0),
    TrialRecord(4, "failed", {"conv1.out_channels": 16, "lr": 1e-2}, {},
                error="the loss became NaN at step 3"),
]


def make_view(qtbot):
    view = ExperimentsView()
    qtbot.addWidget(view)
    view.resize(1000, 480)
    view.set_trials(DEFINITION, TRIALS)
    view.show()
    qtbot.waitExposed(view)
    return view


def column(view, header: str) -> list[str]:
    headers = [view.table.horizontalHeaderItem(c).text() for c in range(view.table.columnCount())]
    c = headers.index(header)
    return [view.table.item(r, c).text() for r in range(view.table.rowCount())]


def click_header(qtbot, view, header: str) -> None:
    headers = [view.table.horizontalHeaderItem(c).text() for c in range(view.table.columnCount())]
    bar = view.table.horizontalHeader()
    c = headers.index(header)
    x = bar.sectionViewportPosition(c) + bar.sectionSize(c) // 2
    QTest.mouseClick(bar.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, bar.height() // 2))


def test_table_lists_trials_and_sorts_by_number(qtbot):
    view = make_view(qtbot)
    assert column(view, "#") == ["0", "1", "2", "3", "4"]
    assert column(view, "state")[4] == "failed"
    assert column(view, "front") == ["★", "★", "", "★", ""]
    assert view.status.text() == "5 trials, 4 complete; 3 on the Pareto front"
    click_header(qtbot, view, "params")
    qtbot.waitUntil(lambda: column(view, "params")[0] == "500")
    # numbers, not text: 1000 sorts after 500; the failed trial (no value) last
    assert column(view, "params") == ["500", "1000", "1000", "5000", ""]
    click_header(qtbot, view, "params")
    qtbot.waitUntil(lambda: column(view, "params")[-1] == "500")


def test_scatter_shows_points_and_the_front(qtbot):
    view = make_view(qtbot)
    assert (view.x_axis.currentText(), view.y_axis.currentText()) == ("params",
                                                                     "val_accuracy")
    xs, ys = view.points.getData()
    assert sorted(zip(xs, ys)) == [(500, 0.80), (1000, 0.85), (1000, 0.90), (5000, 0.95)]
    fx, fy = view.front_line.getData()
    assert list(zip(fx, fy)) == [(500, 0.80), (1000, 0.90), (5000, 0.95)]


def test_selecting_a_row_marks_its_point(qtbot):
    view = make_view(qtbot)
    rect = view.table.visualItemRect(view.table.item(1, 0))
    with qtbot.waitSignal(view.trial_selected) as blocker:
        QTest.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == [1]
    mx, my = view.marker.getData()
    assert [list(mx), list(my)] == [[5000.0], [0.95]]


def test_shows_a_stored_sweep(qtbot, tmp_path):
    g = nb.Graph("tiny")
    x = g.add("Input", "x", shape=(8,))
    fc = g.add("Linear", "fc", out_features=4)
    g.connect(x, fc)
    nb.sweep(g, params=["fc.out_features=2,4,6"], strategy="grid",
             objectives=["params:min", "macs:min"], store=tmp_path, name="s")
    view = ExperimentsView()
    qtbot.addWidget(view)
    view.show_sweep(tmp_path / "sweeps" / "s", "s")
    assert column(view, "fc.out_features") == ["2", "4", "6"]
    assert column(view, "params") == ["18", "36", "54"]
    assert column(view, "front") == ["★", "", ""]


def test_clicking_a_point_selects_its_trial_and_asks_to_open_it(qtbot):
    view = make_view(qtbot)
    with qtbot.waitSignal(view.open_requested) as blocker:
        click_point(qtbot, view, 5000, 0.95)
    assert blocker.args == [1]
    assert view.selected_trials() == [1]
    assert view.hover_text(1) == ("trial 1 (complete): conv1.out_channels=16, lr=0.002; "
                                  "val_accuracy 0.95, params 5000")


def test_the_filter_keeps_the_rows_holding_every_word(qtbot):
    view = make_view(qtbot)
    QTest.keyClicks(view.filter, "complete 1000")
    qtbot.waitUntil(lambda: view.visible_trials() == [0, 2])
    view.filter.clear()
    QTest.keyClicks(view.filter, "failed")
    qtbot.waitUntil(lambda: view.visible_trials() == [4])


def test_parallel_coordinates_draw_one_line_per_complete_trial(qtbot):
    from netbuilder.ui.training.experiments_plots import normalise

    view = make_view(qtbot)
    assert sorted(view.parallel.lines) == [0, 1, 2, 3]
    assert view.parallel.keys == ["conv1.out_channels", "lr", "val_accuracy", "params"]
    xs, ys = view.parallel.lines[3].getData()  # 4 channels, lr 5e-3, 0.80, 500 params
    assert list(xs) == [0, 1, 2, 3]
    assert list(ys) == pytest.approx([0.0, (5e-3 - 1e-4) / (5e-3 - 1e-4), 0.0, 0.0])
    assert normalise(["adam", "sgd", None, "adam"]) == ([0.0, 1.0, None, 0.0],
                                                       [(0.0, "adam"), (1.0, "sgd")])
