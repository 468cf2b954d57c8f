"""The dashboard's views fed with real events of a real (in-process) training run."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from training_helpers import tiny_digits_graph
from window_helpers import click_tab

from netbuilder.train import events as ev


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny digits CNN trained for 3 epochs in this process: (run folder, events)."""
    from netbuilder.train import train

    out = tmp_path_factory.mktemp("run")
    g = tiny_digits_graph(epochs=3)
    g.training["events"] = {"metrics_hz": 1000, "images_hz": 1000}  # an event at every step
    seen: list = []
    train(g, g.training, emit=seen.append, out_dir=out)
    return out, seen


def of(events, kind):
    return [e for e in events if isinstance(e, kind)]


def test_curves_hold_every_point_and_read_out_values(qtbot, trained):
    from netbuilder.ui.training.curves import CurvesView
    from netbuilder.ui.training.history import RunHistory

    _, events = trained
    started = of(events, ev.RunStarted)[0]
    h = RunHistory(started.steps_per_epoch, started.metrics)
    for e in of(events, ev.Metrics):
        h.add_event(e)
    view = CurvesView()
    qtbot.addWidget(view)
    view.resize(900, 300)
    view.show()
    view.reset(h)
    live = [e for e in of(events, ev.Metrics) if e.split == "train" and not e.epoch_end]
    assert view.point_count("train_loss") == len(live) > 10
    assert view.point_count("val_loss") == 3 == view.point_count("val_metric")
    x, y = view.items["val_metric"].getOriginalDataset()
    vals = [e.values["accuracy"] for e in of(events, ev.Metrics) if e.split == "val"]
    assert np.allclose(y, vals)
    best = int(np.argmax(vals)) + 1
    assert view.best_summary[0] == best
    bx, _ = view.items["best_metric"].getOriginalDataset()
    assert bx[0] == x[best - 1]
    text = view.readout_at(float(x[-1]))
    assert f"{vals[-1]:.4g}" in text and "val accuracy" in text
    # the views hold all their data, and a loss or an accuracy never shows below zero
    for plot in (view.loss_plot, view.metric_plot):
        (_, _), (y0, y1) = plot.getPlotItem().getViewBox().viewRange()
        for item in plot.getPlotItem().listDataItems():
            _, ys = item.getOriginalDataset()
            if ys is not None and len(ys):
                assert y0 <= float(np.min(ys)) and float(np.max(ys)) < y1
        assert y0 == 0.0 or y0 > 0  # the axis of a loss or an accuracy starts at 0 or above
    view.axis_box.setCurrentIndex(1)  # epochs
    x2, _ = view.items["val_metric"].getOriginalDataset()
    assert x2.tolist() == [1.0, 2.0, 3.0]
    view.log_box.click()
    assert view.loss_plot.getPlotItem().ctrl.logYCheck.isChecked()


def test_feature_maps_draw_one_tile_per_channel_and_filters(qtbot, trained):
    from netbuilder.ui.training.feature_maps import FeatureMapView, load_conv_weight

    out, events = trained
    act = of(events, ev.Activations)[-1]
    view = FeatureMapView()
    qtbot.addWidget(view)
    view.resize(700, 300)
    view.show()
    with qtbot.waitSignal(view.grid_updated) as sig:
        view.set_node("conv1", "Conv2d")
        view.show_activations(act)
    assert sig.args == ["conv1"]
    assert view.tile_count == 8
    img = view.grid.image()
    assert (img.width(), img.height()) == (3 * 24 + 2, 3 * 24 + 2)  # 3×3 grid, 8×8 maps ×3
    assert view.input_view.has_image()
    # the header clips at the dock's edge: what the maps are comes first, the full text in its tip
    assert view.detail.text().startswith("Conv2d · (N, 8, 8, 8) · step ")
    assert view.detail.toolTip() == view.detail.text()
    view.set_node("fc", "Linear")
    assert view.tile_count == 10  # a vector: ten heat-strip cells
    view.set_node("conv1", "Conv2d")
    weight = load_conv_weight(out / "weights.safetensors", (out / "graph.json").read_text(),
                              "conv1")
    assert weight.shape == (8, 1, 3, 3)
    view.filter_button.click()
    view.show_filters(weight)
    assert view.mode == "filters" and view.tile_count == 8
    assert "8 filters × 1 input channels" in view.legend.text()


def test_samples_mark_errors_and_confusion_counts_agree(qtbot, trained):
    from netbuilder.ui.training.confusion import ConfusionView
    from netbuilder.ui.training.samples import SamplesView

    _, events = trained
    s = [e for e in of(events, ev.Samples) if e.kind == "predictions"][-1]
    samples = SamplesView()
    qtbot.addWidget(samples)
    samples.show_event(s)
    assert samples.grid.cells == []  # hidden: stored, not drawn
    samples.show()
    qtbot.waitExposed(samples)
    wrong = sum(t != p for t, p in zip(s.labels, s.predictions))
    assert samples.grid.error_count() == wrong
    assert f"{len(s.labels) - wrong} of {len(s.labels)} right" in samples.caption.text()
    cm = of(events, ev.ConfusionMatrix)[-1]
    view = ConfusionView()
    qtbot.addWidget(view)
    view.show_event(cm)
    acc = np.trace(cm.matrix) / cm.matrix.sum()
    assert f"accuracy {100 * acc:.1f}%" in view.summary.text()
    assert view.canvas.shares().sum(axis=1).max() == pytest.approx(1.0)


def test_confusion_percentages_never_show_a_nonzero_count_as_0():
    from netbuilder.ui.training.confusion import _percent

    assert [_percent(s) for s in (0.0, 0.004, 0.005, 0.009, 0.42, 1.0)] == \
        ["0", "<1", "<1", "<1", "42", "100"]


def test_histograms_list_weight_layers(qtbot, trained):
    from netbuilder.ui.training.histograms import HistogramsView

    _, events = trained
    h = of(events, ev.Histograms)[-1]
    view = HistogramsView()
    qtbot.addWidget(view)
    view.show_event(h)
    assert [view.layers.item(i).text() for i in range(view.layers.count())] == ["conv1", "fc"]
    assert view.select_layer("fc") and view.current_layer() == "fc"
    assert "gradients: mean" in view.caption.text()


def shown_try_it(qtbot, run_dir):
    """A Try it view on screen with the weights of the run in ``run_dir``."""
    from netbuilder.ui.training.try_it import TryItView

    view = TryItView()
    qtbot.addWidget(view)
    view.resize(640, 360)
    view.show()
    qtbot.waitExposed(view)
    view.set_run(run_dir)
    return view


def test_try_it_classifies_a_drawn_digit_and_dropped_files(qtbot, trained, tmp_path):
    from PIL import Image

    from netbuilder.train.data import load_dataset

    view = shown_try_it(qtbot, trained[0])
    pad = view.pad
    with qtbot.waitSignal(view.predicted, timeout=10_000) as sig:
        r = pad._square()
        top = QPoint(int(r.center().x()), int(r.top() + r.height() * 0.2))
        QTest.mousePress(pad, Qt.MouseButton.LeftButton, pos=top)
        for k in range(1, 11):
            QTest.mouseMove(pad, top + QPoint(0, int(r.height() * 0.06 * k)))
        QTest.mouseRelease(pad, Qt.MouseButton.LeftButton,
                           pos=top + QPoint(0, int(r.height() * 0.6)))
    probs = sig.args[0]
    assert probs.shape == (10,) and probs.sum() == pytest.approx(1.0, abs=1e-5)
    assert view.verdict.text().split()[0] in [str(i) for i in range(10)]
    assert view.seen.has_image()
    # real digits from the dataset, dropped as a .npy data file and as a picture
    ds = load_dataset("digits")
    np.save(tmp_path / "rows.npy", ds.x[:50].reshape(50, -1))
    probs_rows = view.predictor.probabilities(ds.x[:200])
    accuracy = float(np.mean(probs_rows.argmax(axis=1) == ds.y[:200]))
    assert accuracy > 0.5  # trained weights, not random ones (chance is 0.1)
    view.load_file(tmp_path / "rows.npy")
    assert np.allclose(view.last_probs, view.predictor.probabilities(ds.x[:1])[0], atol=1e-5)
    assert "50 samples" in view.message.text()
    Image.fromarray((255 - ds.x[0, 0] * 255).astype(np.uint8)).resize((64, 64)).save(
        tmp_path / "digit.png")  # dark ink on white: inverted to the training look
    view.load_file(tmp_path / "digit.png")
    assert view.last_probs is not None and view.message.isHidden()
    (tmp_path / "notes.txt").write_text("not numbers\n")
    view.load_file(tmp_path / "notes.txt")
    assert "notes.txt: cannot read it as numbers" in view.message.text()
    view.load_file(tmp_path / "model.bin")
    assert "drop a picture" in view.message.text()


def test_try_it_takes_a_real_file_drop(qtbot, trained, tmp_path):
    """A picture dragged from a file manager: enter, move and drop events carrying its URL."""
    from PIL import Image
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    from netbuilder.train.data import load_dataset

    view = shown_try_it(qtbot, trained[0])
    ds = load_dataset("digits")
    Image.fromarray((ds.x[0, 0] * 255).astype(np.uint8)).resize((32, 32)).save(
        tmp_path / "digit.png")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "digit.png"))])
    at = QPointF(view.width() / 2, view.height() / 2)
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier)
    enter = QDragEnterEvent(at.toPoint(), *args)
    QApplication.sendEvent(view, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(view, QDragMoveEvent(at.toPoint(), *args))
    drop = QDropEvent(at, *args)
    with qtbot.waitSignal(view.predicted, timeout=10_000) as sig:
        QApplication.sendEvent(view, drop)
    assert drop.isAccepted()
    assert sig.args[0].shape == (10,) and view.last_probs is not None
    assert view.seen.has_image()


def test_try_it_uses_the_runs_recorded_normalisation_not_the_live_settings(qtbot, trained,
                                                                           tmp_path):
    """The run's preprocessing.json decides the normalisation: a record with other statistics
    changes what Try it shows, and the graph's own (live) settings do not."""
    import json
    import shutil

    import torch

    from netbuilder.train.data import load_dataset

    run = tmp_path / "run"
    shutil.copytree(trained[0], run)
    record = json.loads((run / "preprocessing.json").read_text())
    assert record["normalization"] == {"mode": "none"}  # how the tiny run trained
    record["normalization"] = {"mode": "standard", "shape": [1, 1, 1], "shift": [0.5],
                               "scale": [0.25]}
    (run / "preprocessing.json").write_text(json.dumps(record))
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "normalization": "minmax"}))
    rows = load_dataset("digits").x[:2]
    np.save(tmp_path / "rows.npy", rows)
    view = shown_try_it(qtbot, run)
    with qtbot.waitSignal(view.predicted, timeout=10_000) as sig:
        view.load_file(tmp_path / "rows.npy")
    model = view.predictor.module()
    with torch.no_grad():
        recorded = torch.softmax(model(torch.from_numpy((rows[:1] - 0.5) / 0.25)), -1)[0]
        raw = torch.softmax(model(torch.from_numpy(rows[:1])), -1)[0]
    np.testing.assert_allclose(sig.args[0], recorded.numpy(), atol=1e-5)
    assert np.abs(sig.args[0] - raw.numpy()).max() > 1e-3  # the statistics made a difference
    assert view.verdict.text().split()[0] == str(int(recorded.argmax()))


def test_try_it_for_a_vae_moves_latent_sliders_through_the_decoder(qtbot, tmp_path):
    import json

    from window_helpers import example

    import netbuilder as nb
    from netbuilder.graph import to_json
    from netbuilder.train.checkpoint import save_weights, state_tensors
    from netbuilder.ui.training.try_it import TryItView

    g = nb.load(example("vae_conv"))
    (tmp_path / "graph.json").write_text(to_json(g))
    (tmp_path / "config.json").write_text(json.dumps(g.training))
    save_weights(state_tensors(g.build()), tmp_path / "weights.safetensors")
    view = TryItView()
    qtbot.addWidget(view)
    view.set_run(tmp_path)
    assert view.pages.currentIndex() == 1 and len(view.sliders) == 8  # 16 latents, 8 sliders
    first = view.generated.image().copy()
    assert (first.width(), first.height()) == (28, 28)
    with qtbot.waitSignal(view.predicted) as sig:
        view.sliders[0].setValue(250)
    assert sig.args[0].shape == (1, 28, 28)
    assert view.generated.image() != first


def test_a_run_made_by_the_command_line_is_listed_in_the_editors_runs_panel(make_window,
                                                                             tmp_path, capsys):
    from netbuilder.cli import main
    from netbuilder.graph import load
    from netbuilder.ui.document import Document

    path = tmp_path / "tiny.json"
    tiny_digits_graph(epochs=1, limit=100).save(path)
    assert main(["train", str(path), "--quiet"]) == 0
    [made] = (tmp_path / "tiny.runs").iterdir()

    w = make_window(Document(load(path), path), restore_layout=False)
    w.show_dock("runs")
    runs = w.training_dashboard.view("runs")
    assert [(r.path, r.status, r.epochs_done) for r in runs.runs] == [(made, "finished", 1)]
    assert runs.tree.topLevelItemCount() == 1
    assert runs.tree.topLevelItem(0).text(0) == runs.runs[0].label


def test_runs_panel_compares_runs_and_loads_weights_into_the_graph(make_window, trained,
                                                                    tmp_path):
    import json
    import shutil

    from netbuilder.graph import from_json, load, to_json
    from netbuilder.ui.commands import SetParamsCommand
    from netbuilder.ui.document import Document

    out, _ = trained
    path = tmp_path / "tiny.json"
    tiny_digits_graph(epochs=3).save(path)
    root = tmp_path / "tiny.runs"
    a, b = root / "run-20250101-100000", root / "run-20250101-110000"
    shutil.copytree(out, a)
    shutil.copytree(out, b)
    (a / "run.json").write_text(json.dumps({"name": a.name, "started": 1.0}))
    (b / "run.json").write_text(json.dumps({"name": b.name, "started": 2.0}))
    g = from_json((b / "graph.json").read_text())
    g.set_param(g.find("conv1"), "out_channels", 12)
    (b / "graph.json").write_text(to_json(g))
    config = json.loads((b / "config.json").read_text())
    (b / "config.json").write_text(json.dumps({**config, "lr": 0.1}))

    w = make_window(Document(load(path), path), restore_layout=False)
    dash = w.training_dashboard
    w.show_dock("runs")
    runs = dash.view("runs")
    runs.refresh()
    assert [r.path for r in runs.runs] == [b, a]
    assert runs.tree.topLevelItem(0).text(0) == "2025-01-01 11:00:00"
    runs.select_runs([a, b])
    html = runs.changes.toPlainText()
    assert "1 parameter changed, 1 setting changed" in html
    assert "Conv2d 'conv1': out_channels 8 → 12" in html and "training lr: 0.01 → 0.1" in html
    assert len(runs.curves._overlay_items) >= 4  # loss and metric of each run
    assert not runs.resume_button.isEnabled()  # two runs selected

    doc = w.document
    runs.select_runs([a])
    QTest.mouseClick(runs.weights_button, Qt.MouseButton.LeftButton)
    assert doc.graph.weights.origin.endswith(
        "tiny.runs/run-20250101-100000/weights.safetensors")
    assert dash.view("try_it").run_dir == a
    doc.undo_stack.undo()
    assert doc.graph.weights is None
    doc.push(SetParamsCommand(doc, doc.graph.find("conv1"), {"out_channels": 16}))
    QTest.mouseClick(runs.weights_button, Qt.MouseButton.LeftButton)
    assert doc.graph.weights is None  # 8 trained filters do not fit the 16 drawn now
    message = w.statusBar().currentMessage()
    assert message.startswith("Cannot load the weights of run-20250101-100000")
    assert "'conv1.bias' is (8,) in the file but (16,) in the graph" in message


def test_views_follow_a_theme_switch(qtbot, trained):
    from netbuilder.ui import theme
    from netbuilder.ui.training.curves import CurvesView
    from netbuilder.ui.training.history import RunHistory
    from netbuilder.ui.training.plots import SERIES

    _, events = trained
    h = RunHistory()
    for e in of(events, ev.Metrics):
        h.add_event(e)
    view = CurvesView()
    qtbot.addWidget(view)
    view.reset(h)
    count = view.point_count("train_loss")
    try:
        theme.apply_theme("dark", save=False)
        qtbot.waitUntil(lambda: view.items["train_loss"].opts["pen"].color().name()
                        == SERIES["dark"]["train"])
        assert view.point_count("train_loss") == count
    finally:
        theme.apply_theme("light", save=False)


def test_a_dock_tab_clicked_with_the_mouse_builds_its_panel_with_the_newest_event(
        make_window, qtbot, trained):
    from netbuilder.ui.document import Document

    _, events = trained
    w = make_window(Document(tiny_digits_graph()), restore_layout=False)
    w.workspaces.switch("training")  # the live views' tabs (design hides them)
    dash = w.training_dashboard
    cm = of(events, ev.ConfusionMatrix)[-1]
    dash.controller.event_received.emit(cm)  # it arrives while the tab is behind
    confusion, histograms = dash.panels["confusion"], dash.panels["histograms"]
    assert not confusion.is_built() and not confusion.on_screen()
    click_tab(qtbot, w, "Confusion")
    # NOTE: a dock raised by its tab gets no show event: only its visibility signal says it
    qtbot.waitUntil(lambda: confusion.is_built() and confusion.on_screen())
    assert np.array_equal(confusion.content().canvas.matrix, cm.matrix)
    assert not histograms.is_built()  # still behind: not built
    hist = of(events, ev.Histograms)[-1]
    dash.controller.event_received.emit(hist)
    click_tab(qtbot, w, "Histograms")
    qtbot.waitUntil(lambda: histograms.is_built() and not confusion.on_screen())
    assert histograms.content().latest is hist  # handed over once it came on screen
