"""The Attack and Dream docks on a trained LeNet-5: ε moved with the keyboard on the slider
(the perturbed picture stays within ε and the "after" prediction is the model's own on it),
the robustness curve off the UI thread, a node clicked on the canvas dreamt channel by channel
and deep dreamt on the sample picked in the Explain gallery."""
from __future__ import annotations

import numpy as np
import torch
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QPushButton
from test_style_view import click_node, type_into
from window_helpers import example

from netbuilder.graph import load
from netbuilder.train.explain import RunModel
from netbuilder.ui.document import Document
from netbuilder.ui.training.attack_view import CURVE_EPS, EPS_STEPS, eps_of


def open_dock(make_window, qtbot, lenet_run, name: str, window=None):
    path = example("lenet5")
    w = window(make_window, qtbot, Document(load(path), path), restore_layout=False) \
        if window else make_window(Document(load(path), path), restore_layout=False)
    dash = w.training_dashboard
    dash.controller.last_run_dir = lenet_run  # as a finished run leaves it
    w.show_dock(name)
    qtbot.waitUntil(lambda: dash.panels[name].is_built(), timeout=60_000)
    return w, dash.built(name)


def press(qtbot, view, signal, key) -> None:
    view.slider.setFocus()
    with qtbot.waitSignal(signal, timeout=30_000):
        QTest.keyClick(view.slider, key)


def test_the_attack_moves_pixels_by_at_most_eps(make_window, qtbot, lenet_run):
    w, view = open_dock(make_window, qtbot, lenet_run, "attack")
    assert view.message.text().startswith("FGSM at ε = 0.030 on sample 0, label ")  # at once
    run = RunModel(lenet_run)
    x, _ = run.validation()
    for key, tick in ((Qt.Key.Key_PageUp, 40), (Qt.Key.Key_End, EPS_STEPS)):
        press(qtbot, view, view.attacked, key)
        assert view.slider.value() == tick and view.eps_label.text() == f"{eps_of(tick):.3f}"
        moved = np.abs(view.adv - x[view.sample.value()].numpy()).max()
        assert 0 < moved <= eps_of(tick) + 1e-6
        with torch.no_grad():
            probs = torch.softmax(run.net(torch.from_numpy(view.adv)[None]).reshape(-1), 0)
        assert view.after == (int(probs.argmax()), float(probs.max()))
        name = run.classes[view.after[0]] if run.classes else str(view.after[0])
        assert view.captions["after"].text() == \
            f"After: {name} ({float(probs.max()):.0%})"
    assert view.pictures["after"].image() != view.pictures["before"].image()
    press(qtbot, view, view.attacked, Qt.Key.Key_Home)  # ε = 0: nothing moves
    assert np.array_equal(view.adv, x[view.sample.value()].numpy())
    assert view.pictures["after"].image() == view.pictures["before"].image()
    # PGD on the sample the Explain gallery opens
    view.method.setCurrentIndex(view.method.findData("pgd"))
    explain = w.training_dashboard.view("explain")
    qtbot.waitUntil(lambda: explain.gallery.list.count() > 1, timeout=60_000)
    target = explain.gallery.shown_indices()[1]
    with qtbot.waitSignal(view.attacked, timeout=30_000):
        explain.gallery.opened.emit(target)
    assert view.sample.value() == target
    assert f"on sample {target}" in view.message.text()


def test_the_robustness_curve_falls_with_eps(make_window, qtbot, lenet_run):
    _w, view = open_dock(make_window, qtbot, lenet_run, "attack")
    with qtbot.waitSignal(view.curve_drawn, timeout=60_000) as done:
        QTest.mouseClick(view.curve_button, Qt.MouseButton.LeftButton)
        assert not view.curve_button.isEnabled()  # the window answers while it works
    curve = done.args[0]
    assert [e for e, _ in curve] == list(CURVE_EPS)
    run = RunModel(lenet_run)
    x, y = run.validation()
    with torch.no_grad():
        clean = float((run.net(x).argmax(1) == y).float().mean())
    assert abs(curve[0][1] - clean) < 1e-6 and curve[-1][1] < curve[0][1]
    assert view.message.text().startswith(f"FGSM: accuracy {clean:.0%} at ε = 0")
    assert view.curve_button.isEnabled()


def test_dream_grid_has_a_tile_per_channel(make_window, qtbot, lenet_run):
    w, view = open_dock(make_window, qtbot, lenet_run, "dream")
    click_node(w, "conv1")
    assert view.node.currentText() == "conv1" and view.channel.text() == "all"
    type_into(view.steps, "8")
    with qtbot.waitSignal(view.dreamt, timeout=60_000):
        QTest.mouseClick(view.button, Qt.MouseButton.LeftButton)
    run = RunModel(lenet_run)
    lo, hi = run.x_range
    noise = lo + (hi - lo) * (0.5 + 0.1 * torch.randn((1, *run.input_shape),
                                                      generator=torch.Generator().manual_seed(0)))
    assert view.channels_shown == list(range(6)) and len(view.tiles) == 6  # conv1: 6 channels
    for tile in view.tiles:
        assert tile.shape == tuple(run.input_shape)
        assert np.abs(tile - noise[0].numpy()).max() > 0.05
    assert not np.allclose(view.tiles[0], view.tiles[1])
    image = view.picture.image()  # a 3 × 2 grid of scaled-up tiles
    assert image.width() > image.height() > 0
    assert view.message.text().startswith("What excites conv1: channels 0–5")
    grid = view.tiles
    # one channel: one tile, the same picture as its tile in the grid (the same seeded noise)
    type_into(view.channel, "2")
    with qtbot.waitSignal(view.dreamt, timeout=60_000):
        QTest.mouseClick(view.button, Qt.MouseButton.LeftButton)
    assert view.channels_shown == [2] and len(view.tiles) == 1
    assert np.allclose(view.tiles[0], grid[2], atol=1e-5)
    assert view.message.text().startswith("What excites conv1: channel 2 (8 steps")


def test_deep_dream_changes_the_sample(make_window, qtbot, lenet_run):
    w, view = open_dock(make_window, qtbot, lenet_run, "dream")
    click_node(w, "conv2")
    type_into(view.sample, "3")
    type_into(view.steps, "8")
    with qtbot.waitSignal(view.dreamt, timeout=60_000):
        QTest.mouseClick(view.deep_button, Qt.MouseButton.LeftButton)
    x, _ = RunModel(lenet_run).validation()
    start, dreamt = view.tiles
    assert np.array_equal(start, x[3].numpy())
    assert np.abs(dreamt - start).max() > 0.01
    assert view.message.text().startswith("Deep dream of sample 3 at conv2 (all channels")


def test_a_folder_without_a_run_is_a_sentence(qtbot, tmp_path):
    from netbuilder.ui.training.attack_view import AttackView
    from netbuilder.ui.training.dream_view import DreamView

    for view in (AttackView(), DreamView()):
        qtbot.addWidget(view)
        view.set_run(tmp_path)
        text = view.message.text()
        assert str(tmp_path.name) in text and "Traceback" not in text, text
        assert not view.findChild(QPushButton, "attack_curve_button" if isinstance(
            view, AttackView) else "dream_button").isEnabled()
