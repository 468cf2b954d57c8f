"""The live embedding view: the points shown are ``train.explain.embed_run``'s, computed off the
GUI thread; hovering a point shows its sample; a checkpoint projects again."""
import numpy as np
import pytest
from PySide6.QtCore import QPoint

from netbuilder.train.explain import embed_run
from netbuilder.ui.training.embedding_view import EmbeddingView


@pytest.fixture
def view(qtbot, lenet_run):
    v = EmbeddingView()
    qtbot.addWidget(v)
    v.resize(520, 360)
    v.set_run(lenet_run)
    with qtbot.waitSignal(v.computed, timeout=60000) as first:
        v.show()  # shown: it projects the run's weights
        qtbot.waitExposed(v)
    v.first = first.args[0]
    return v


def test_the_scatter_shows_the_projection_and_hovering_shows_the_sample(qtbot, view,
                                                                         lenet_run):
    names = [view.node.itemText(i) for i in range(view.node.count())]
    assert names[:3] == ["conv1", "tanh1", "pool1"] and {"fc1", "fc2", "fc3"} <= set(names)
    assert view.node.currentText() == "fc2"  # the last weighted node before the output
    points, labels, x = embed_run(lenet_run, "fc2", "pca")
    assert np.allclose(view.first, points, atol=1e-4) and points.shape == (len(x), 2)
    assert view.message.text().startswith(f"{len(x)} validation samples at fc2, PCA")
    xy = view.scatter.screen_points()
    i = int(np.argmax(xy[:, 0]))  # the rightmost point: no other point hides it
    qtbot.mouseMove(view.scatter, QPoint(round(xy[i, 0]), round(xy[i, 1])))
    qtbot.waitUntil(lambda: view.scatter.current == i, timeout=5000)
    assert view.caption.text() == f"Sample {i}, label {int(labels[i])}"
    assert view.sample.has_image() and view.sample.image().width() == 28
    # another node, by keyboard: projected again
    view.node.setFocus()
    with qtbot.waitSignal(view.computed, timeout=60000) as again:
        qtbot.keyClicks(view.node, "fc1")
    assert view.node.currentText() == "fc1"
    assert np.allclose(again.args[0], embed_run(lenet_run, "fc1", "pca")[0], atol=1e-4)


def test_a_checkpoint_projects_again_and_a_hidden_view_waits(qtbot, view, lenet_run):
    with qtbot.waitSignal(view.computed, timeout=60000):
        view.new_weights(lenet_run)
    view.hide()
    with qtbot.assertNotEmitted(view.computed, wait=300):
        view.new_weights(lenet_run)
    with qtbot.waitSignal(view.computed, timeout=60000):
        view.show()


def test_a_folder_that_is_no_run_says_so(qtbot, tmp_path):
    v = EmbeddingView()
    qtbot.addWidget(v)
    v.set_run(tmp_path)
    assert "holds no graph snapshot" in v.message.text() and v.node.count() == 0


def test_the_dashboard_projects_again_at_each_checkpoint(qtbot, make_window, lenet_run):
    from netbuilder.ui.training.controller import _owner_of

    w = make_window(restore_layout=False)
    dash = w.training_dashboard
    c = dash.controller
    c.owner, c.run_dir = _owner_of(w.document), lenet_run  # as a running run of this document
    w.show_dock("embedding")
    qtbot.waitUntil(lambda: dash.panels["embedding"].is_built(), timeout=20000)
    view = dash.built("embedding")
    assert view.run_dir == lenet_run
    qtbot.waitUntil(lambda: view.scatter.points is not None, timeout=60000)
    with qtbot.waitSignal(view.computed, timeout=60000):
        c.checkpoint_saved.emit(lenet_run / "weights.safetensors")  # an epoch ended
