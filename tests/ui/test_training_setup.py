"""The training setup form and the checks before a run (no worker process needed)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from training_helpers import tiny_digits_graph

from netbuilder.graph import load
from netbuilder.ui.commands import SetParamsCommand
from netbuilder.ui.document import Document


def open_tiny(make_window, tmp_path, graph=None):
    path = tmp_path / "tiny.json"
    (graph or tiny_digits_graph()).save(path)
    w = make_window(Document(load(path), path), restore_layout=False)
    w.show_dock("training")
    return w, w.document, w.training_dashboard


def type_into(widget, text: str) -> None:
    widget.setFocus()
    QTest.keyClick(widget, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(widget, text)
    QTest.keyClick(widget, Qt.Key.Key_Return)


def test_setup_edits_are_undoable_and_saved_with_the_graph(make_window, tmp_path):
    w, doc, dash = open_tiny(make_window, tmp_path)
    form = dash.view("training").form
    epochs = form.fields["epochs"]
    assert epochs.value() == 30
    type_into(epochs, "7")
    assert doc.graph.training["epochs"] == 7 and doc.dirty
    doc.undo_stack.undo()
    assert doc.graph.training["epochs"] == 30 and epochs.value() == 30
    doc.undo_stack.redo()
    assert epochs.value() == 7
    lr = form.fields["lr"]
    type_into(lr, "abc")
    assert form.errors["lr"].isVisible() and "'abc' is not a number" in form.errors["lr"].text()
    type_into(lr, "-1")
    assert "lr must be a number above 0" in form.errors["lr"].text()
    assert doc.graph.training["lr"] == 0.01 and lr.text() == "0.01"
    type_into(lr, "0.05")
    assert not form.errors["lr"].isVisible() and doc.graph.training["lr"] == 0.05
    optimizer = form.fields["optimizer"]
    optimizer.setFocus()
    QTest.keyClick(optimizer, Qt.Key.Key_Down)  # adam → adamw
    assert doc.graph.training["optimizer"] == optimizer.currentText() == "adamw"
    assert w.files.save()
    saved = load(doc.path).training
    assert (saved["epochs"], saved["lr"], saved["optimizer"]) == (7, 0.05, "adamw")
    # the whole config is stored, so the file says exactly what a run will use
    assert saved["batch_size"] == 32 and saved["dataset_options"] == {"limit": 600}


def test_dataset_preview_shows_samples_shape_and_classes(make_window, tmp_path, qtbot):
    _, doc, dash = open_tiny(make_window, tmp_path)
    form = dash.view("training").form
    qtbot.waitUntil(lambda: form.preview.info is not None, timeout=10_000)
    assert form.preview.canvas.mode == "images" and len(form.preview.canvas.images) == 16
    assert "600 samples · image (N, 1, 8, 8) · 10 classes" in form.preview.facts.text()
    box = form.fields["dataset"]
    box.setFocus()
    box.lineEdit().selectAll()
    QTest.keyClicks(box.lineEdit(), "spirals")
    QTest.keyClick(box.lineEdit(), Qt.Key.Key_Return)
    assert doc.graph.training["dataset"] == "spirals"
    qtbot.waitUntil(lambda: form.preview.canvas.mode == "points", timeout=10_000)
    assert "image (N" not in form.preview.facts.text() and "2 classes" in form.preview.facts.text()
    type_into(box.lineEdit(), "no_such_set")
    qtbot.waitUntil(lambda: "There is no built-in dataset" in form.preview.facts.text(),
                    timeout=10_000)


def test_a_graph_with_errors_cannot_start(make_window, tmp_path):
    g = tiny_digits_graph()
    g.disconnect(g.in_edges(g.find("fc"))[0])  # fc loses its input
    w, doc, dash = open_tiny(make_window, tmp_path, g)
    controls = dash.view("training").controls
    QTest.mouseClick(controls.start_button, Qt.MouseButton.LeftButton)
    assert dash.controller.state == "idle" and dash.controller.runner is None
    assert controls.message.text().startswith("Cannot train: the graph has")
    assert w.docks["problems"].isVisible()
    assert not (tmp_path / "tiny.runs").exists()
    assert w.actions["train"].isEnabled()


def test_data_that_does_not_fit_the_input_is_a_problem_on_the_input(make_window, tmp_path,
                                                                   qtbot):
    g = tiny_digits_graph()
    g.set_param(g.find("image"), "shape", (3, 8, 8))
    g.set_param(g.find("conv1"), "out_channels", 8)
    w, doc, dash = open_tiny(make_window, tmp_path, g)
    w.actions["train"].trigger()
    assert dash.controller.state == "idle"
    item = w.problems.item_for(doc.graph.find("image"))
    assert item is not None
    text = item.text(0)
    assert text.startswith("Data: The dataset 'digits' gives samples of shape (1, 8, 8) but "
                           "Input 'image' expects (3, 8, 8): change the Input shape to (1, 8, 8)")
    assert "Cannot train" in dash.view("training").controls.message.text()
    # fixing the Input makes the problem go away without pressing Train again
    doc.push(SetParamsCommand(doc, doc.graph.find("image"), {"shape": (1, 8, 8)}))
    qtbot.waitUntil(lambda: w.problems.item_for(doc.graph.find("image")) is None,
                    timeout=10_000)


def test_the_task_decides_how_many_inputs_the_graph_feeds(make_window, tmp_path):
    """The siamese example's two Inputs suit its task; the same graph under classify does not."""
    from netbuilder.ui.files import examples_dir

    w, doc, dash = open_tiny(make_window, tmp_path, load(examples_dir() / "siamese.json"))
    assert dash.controller.check()[0] == []
    config = dash.controller.config().replace(task="classify")
    (problem,) = dash.controller.check(config)[0]
    assert problem.message == ("The classify task feeds 1 Input node, but the graph has 2: "
                               "keep 1, or choose the siamese task for pairs of samples")


def test_the_optimizer_form_shows_only_the_settings_that_optimizer_has(make_window, tmp_path):
    from netbuilder.train.config import OPTIMIZER_OPTIONS

    w, doc, dash = open_tiny(make_window, tmp_path)
    form = dash.view("training").form

    def shown(key):
        form_layout, row = form.rows[key]
        return form_layout.isRowVisible(row)

    def choose(name):
        box = form.fields["optimizer"]
        box.setFocus()
        while box.currentText() != name:  # real key presses through the list
            QTest.keyClick(box, Qt.Key.Key_Down if box.currentIndex() < box.findText(name)
                           else Qt.Key.Key_Up)
        assert doc.graph.training["optimizer"] == name

    assert form.fields["optimizer"].currentText() == "adam"  # the default
    assert not shown("momentum") and shown("weight_decay")
    assert shown("optimizer_options.betas") and shown("optimizer_options.amsgrad")
    assert not shown("optimizer_options.dampening")
    type_into(form.fields["optimizer_options.betas"], "0.5, 0.9")
    assert doc.graph.training["optimizer_options"] == {"betas": [0.5, 0.9]}
    type_into(form.fields["optimizer_options.eps"], "x")
    assert "'x' is not a number" in form.errors["optimizer_options.eps"].text()
    choose("sgd")  # adam's options go with it; SGD has momentum and dampening
    assert doc.graph.training["optimizer_options"] == {}
    assert shown("momentum") and shown("optimizer_options.dampening")
    assert not shown("optimizer_options.betas")
    choose("lbfgs")
    visible = {k for k in form.rows if k.startswith("optimizer_options.") and shown(k)}
    assert visible == {f"optimizer_options.{k}" for k in OPTIMIZER_OPTIONS["lbfgs"]}
    assert not shown("momentum") and not shown("weight_decay") and shown("lr")
    doc.undo_stack.undo()  # back to the optimizer passed on the way: the form follows
    before = doc.graph.training["optimizer"]
    assert before != "lbfgs" and form.fields["optimizer"].currentText() == before
    assert shown("weight_decay") and not shown("optimizer_options.max_iter")


def test_the_dataset_preview_shows_what_each_builtin_dataset_feeds(make_window, tmp_path,
                                                                   qtbot):
    g = tiny_digits_graph()
    g.set_param(g.inputs()[0], "shape", (1, 16, 16))  # the digits (8×8) are resized to it
    w, doc, dash = open_tiny(make_window, tmp_path, g)
    form = dash.view("training").form
    preview = form.preview
    qtbot.waitUntil(lambda: preview.info is not None, timeout=10_000)
    assert preview.canvas.mode == "images" and len(preview.canvas.images) == 16
    assert {(im.width(), im.height()) for im in preview.canvas.images} == {(16, 16)}
    assert "image (N, 1, 16, 16)" in preview.facts.text()
    assert "from 8×8 to 16×16" in preview.facts.text()
    # every dataset that comes with netbuilder shows a picture of what it feeds
    want = {"digits_rows": "images", "spirals": "points", "moons": "points",
            "circles": "points", "sine": "sequences"}
    for name, mode in want.items():
        form._commit("dataset", name)
        qtbot.waitUntil(lambda n=name: preview.info is not None and preview.info["name"] == n,
                        timeout=20_000)
        assert preview.canvas.mode == mode, name
        preview.canvas.grab()  # paints without error
    assert "sequence (N, 20, 1)" in preview.facts.text()
    form._commit("dataset", "digits_rows")
    qtbot.waitUntil(lambda: preview.info["name"] == "digits_rows", timeout=20_000)
    # a sequence of 8 steps of 8 features: one 8×8 picture (steps down, features across)
    assert (preview.canvas.images[0].height(), preview.canvas.images[0].width()) == (8, 8)
    image = preview.canvas.grab().toImage()  # the pictures are drawn, not blank
    colours = {image.pixel(x, y) for x in range(0, image.width(), 3)
               for y in range(0, image.height(), 3)}
    assert len(colours) > 8
