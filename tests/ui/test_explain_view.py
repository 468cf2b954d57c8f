"""The Explain view: keys and clicks choose a method, a node and a sample; the heat map shown
is the one ``netbuilder.train.explain`` computes."""
import numpy as np
import pytest
from PySide6.QtCore import Qt

from netbuilder.train.explain import RunModel, explain
from netbuilder.ui.training.explain_view import ExplainView


@pytest.fixture
def view(qtbot, lenet_run):
    v = ExplainView()
    qtbot.addWidget(v)
    v.resize(360, 520)
    v.show()
    qtbot.waitExposed(v)
    v.set_run(lenet_run)
    return v


def test_gradcam_of_a_chosen_sample_is_shown(qtbot, view, lenet_run):
    assert view.button.isEnabled() and not view.node.isEnabled()  # saliency needs no node
    assert [view.node.itemText(i) for i in range(view.node.count())] == [
        "conv1", "tanh1", "pool1", "conv2", "tanh2", "pool2"]  # the (C, H, W) feature maps
    assert view.node.currentText() == "conv2"
    view.method.setFocus()
    qtbot.keyClicks(view.method, "Grad")  # the combo's keyboard search
    assert view.method.currentData() == "gradcam" and view.node.isEnabled()
    view.sample.setFocus()
    qtbot.keyClick(view.sample, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(view.sample, "3")
    assert view.sample.value() == 3
    with qtbot.waitSignal(view.explained, timeout=20000) as shown:
        qtbot.mouseClick(view.button, Qt.MouseButton.LeftButton)
    model = RunModel(lenet_run)
    x, y = model.validation()
    want = explain(model.net, x[3:4], "gradcam", layer=model.node("conv2"))
    assert np.allclose(shown.args[0], want, atol=1e-5) and want.shape == (28, 28)
    assert view.message.text().startswith("Grad-CAM of sample 3: predicted ")
    assert view.message.text().endswith(f"label {int(y[3])}")
    image = view.picture.image()
    assert image is not None and image.height() == 224 and image.width() > 224


def test_occlusion_and_no_run(qtbot, view):
    view.method.setFocus()
    qtbot.keyClicks(view.method, "Occ")
    with qtbot.waitSignal(view.explained, timeout=20000) as shown:
        qtbot.mouseClick(view.button, Qt.MouseButton.LeftButton)
    assert shown.args[0].shape == (28, 28) and np.abs(shown.args[0]).max() > 0
    view.set_run(None)
    assert not view.button.isEnabled() and not view.picture.has_image()


def test_a_folder_that_is_no_run_says_so(qtbot, view, tmp_path):
    view.set_run(tmp_path)
    assert "holds no graph snapshot" in view.message.text()
    assert not view.button.isEnabled()


def test_the_explain_dock_opens_on_the_last_run(qtbot, make_window, lenet_run):
    w = make_window(restore_layout=False)
    dash = w.training_dashboard
    dash.controller.last_run_dir = lenet_run  # as a finished run leaves it
    w.show_dock("explain")
    qtbot.waitUntil(lambda: dash.panels["explain"].is_built(), timeout=20000)
    view = dash.built("explain")
    assert isinstance(view, ExplainView) and view.run_dir == lenet_run
    assert view.isVisible() and view.button.isEnabled()
    with qtbot.waitSignal(view.explained, timeout=20000):
        qtbot.mouseClick(view.button, Qt.MouseButton.LeftButton)
    assert view.picture.has_image()


def test_the_gallery_puts_confident_mistakes_first_and_opens_them(qtbot, view, lenet_run):
    import torch

    model = RunModel(lenet_run)
    x, y = model.validation()
    with torch.no_grad():
        probs = torch.softmax(model.net(x), 1)
    conf, pred = probs.max(1)
    wrong = (pred != y).nonzero().flatten().tolist()
    right = (pred == y).nonzero().flatten().tolist()
    assert wrong  # one epoch of training leaves mistakes to show
    shown = view.gallery.shown_indices()
    assert len(shown) == len(x)
    first = shown[:len(wrong)]
    assert sorted(first) == sorted(wrong)
    assert [float(conf[i]) for i in first] == sorted((float(conf[i]) for i in wrong),
                                                      reverse=True)
    rest = shown[len(wrong):]
    assert [float(conf[i]) for i in rest] == sorted(float(conf[i]) for i in right)
    # only the right answers of class 3
    view.gallery.which.setFocus()
    qtbot.keyClicks(view.gallery.which, "R")
    assert view.gallery.which.currentText() == "Right"
    view.gallery.label.setCurrentIndex(view.gallery.label.findData(3))
    threes = view.gallery.shown_indices()
    assert threes and all(int(y[i]) == 3 and int(pred[i]) == 3 for i in threes)
    assert len(threes) == int(((y == 3) & (pred == 3)).sum())
    # a click on a thumbnail explains it
    qtbot.keyClick(view.gallery.which, Qt.Key.Key_Up)
    assert view.gallery.which.currentText() == "Wrong"
    view.gallery.label.setCurrentIndex(0)
    lst = view.gallery.list
    assert view.gallery.shown_indices() == first
    lst.doItemsLayout()  # icon mode lays out lazily: the rectangles are known after this
    rect = lst.visualItemRect(lst.item(0))
    with qtbot.waitSignal(view.explained, timeout=20000):
        qtbot.mouseClick(lst.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert view.sample.value() == first[0]
    assert view.message.text().startswith(f"Saliency of sample {first[0]}: predicted "
                                          f"{int(pred[first[0]])}")
    assert lst.item(0).toolTip().startswith(f"Sample {first[0]}: predicted ")
