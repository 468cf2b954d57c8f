"""The dashboard's views fed with real events of a real (in-process) training run."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from training_helpers import tiny_digits_graph

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
    assert (img.width(), img.height()) == (3 * 8 + 2, 3 * 8 + 2)  # 3×3 grid of 8×8, 1 px gaps
    assert view.input_view.has_image()
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


def test_try_it_classifies_a_drawn_digit_and_dropped_files(qtbot, trained, tmp_path):
    from PIL import Image

    from netbuilder.train.data import load_dataset
    from netbuilder.ui.training.try_it import TryItView

    out, _ = trained
    view = TryItView()
    qtbot.addWidget(view)
    view.resize(640, 360)
    view.show()
    qtbot.waitExposed(view)
    view.set_run(out)
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
    assert "Cannot read notes.txt as numbers" in view.message.text()
    view.load_file(tmp_path / "model.bin")
    assert "drop a picture" in view.message.text()
