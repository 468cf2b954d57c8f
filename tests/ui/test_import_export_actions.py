"""File → Import PyTorch Model… and Export Project…/ONNX… in the editor."""
from __future__ import annotations

import textwrap

from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog, QDialogButtonBox, QPushButton
from window_helpers import answer_dialog, copy_example

import netbuilder as nb
from netbuilder.ui import import_export_actions as io
from netbuilder.ui.files import read_recovery

MODEL = textwrap.dedent('''
    import torch
    from torch import nn


    class Tiny(nn.Module):
        def __init__(self, hidden=8):
            super().__init__()
            self.fc1 = nn.Linear(4, hidden)
            self.fc2 = nn.Linear(hidden, 2)

        def forward(self, x):
            return self.fc2(torch.relu(self.fc1(x)))


    class Odd(nn.Module):
        def __init__(self):
            super().__init__()
            self.s = nn.Parameter(torch.ones(4))

        def forward(self, x):
            return x + self.s  # a (4,) tensor added: no node holds that
''')


def _fill_import_dialog(class_name: str, args: str, shape: str) -> dict:
    seen: dict = {}

    def poll(left: int = 500) -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QDialog) or box.objectName() != "import_dialog":
            if left:
                QTimer.singleShot(10, lambda: poll(left - 1))
            return
        seen["classes"] = [box.class_box.itemText(i) for i in range(box.class_box.count())]
        box.class_box.setCurrentText(class_name)
        box.args_edit.setText(args)
        box.shape_edit.setText(shape)
        box.accept()

    QTimer.singleShot(0, poll)
    return seen


def test_file_menu_has_the_actions(make_window):
    w = make_window()
    names = [a.objectName() for a in w.menus["file"].actions()]
    export = names.index("action_export")
    assert names[export + 1:export + 3] == ["action_export_project", "action_export_onnx"]
    assert names.index("action_import_pytorch") < names.index("action_save")


def test_import_says_the_file_runs_then_opens_the_model_as_a_new_graph(make_window, tmp_path):
    (tmp_path / "tiny.py").write_text(MODEL)
    w = make_window()
    seen = _fill_import_dialog("Tiny", '{"hidden": 5}', "4")
    confirm = answer_dialog("import_confirm", button_name="import_run_button", tries=2000)
    progress: dict = {}

    def watch() -> None:  # the window keeps handling events while the child runs
        box = QApplication.activeModalWidget()
        if box is not None and box.objectName() == "import_progress":
            progress["shown"] = True
            progress["text"] = box.labelText()
        progress["ticks"] = progress.get("ticks", 0) + 1

    ticker = QTimer(interval=20)
    ticker.timeout.connect(watch)
    ticker.start()
    assert io.import_model_dialog(w, tmp_path / "tiny.py")
    ticker.stop()
    assert seen["classes"] == ["Tiny", "Odd"]
    assert confirm.get("shown") and "runs the Python file tiny.py" in confirm["text"]
    assert str(tmp_path / "tiny.py") in confirm["informative"]
    assert progress.get("shown") and "Importing Tiny from tiny.py" in progress["text"]
    assert progress["ticks"] >= 3
    graph = w.document.graph
    assert graph.name == "Tiny" and w.document.path is None
    assert graph.node(graph.find("fc1")).params["out_features"] == 5
    assert w.statusBar().currentMessage() == "imported Tiny: 3 nodes, 37 parameters, 0 placeholders"


def test_cancelling_the_warning_runs_nothing(make_window, tmp_path):
    marker = tmp_path / "ran"
    (tmp_path / "tiny.py").write_text(MODEL + f"\nopen({str(marker)!r}, 'w').close()\n")
    w = make_window()
    before = w.document
    _fill_import_dialog("Tiny", "", "4")
    confirm = answer_dialog("import_confirm", button_name="import_cancel_button", tries=2000)
    assert not io.import_model_dialog(w, tmp_path / "tiny.py")
    assert confirm.get("shown")
    assert not marker.exists() and w.document is before


def test_a_file_that_exits_is_explained_and_the_document_stays(make_window, tmp_path):
    path = tmp_path / "script.py"
    path.write_text(MODEL + "\nimport sys\nsys.exit(4)\n")
    w = make_window()
    before = w.document
    seen = answer_dialog("import_export_error", tries=3000)
    assert not io.import_model(w, path, "Tiny", "", "4")
    assert seen.get("shown") and "Tiny from script.py cannot be imported" in seen["text"]
    line = MODEL.count("\n") + 3
    assert f"{path}:{line} (`sys.exit(4)`) calls sys.exit(4)" in seen["informative"]
    assert w.document is before and w.isVisible()


def test_an_unsupported_model_is_explained_and_the_document_stays(make_window, tmp_path):
    (tmp_path / "tiny.py").write_text(MODEL)
    w = make_window()
    before = w.document
    seen = answer_dialog("import_export_error", tries=3000)
    assert not io.import_model(w, tmp_path / "tiny.py", "Odd", "", "4")
    assert seen.get("shown")
    assert "forward uses the tensor 's' of shape (4,) direct" in seen["informative"]
    assert "tiny.py:" in seen["informative"]
    assert w.document is before


def test_export_project_writes_the_folder(make_window, tmp_path):
    w = make_window()
    assert w.files.open_file(copy_example("lenet5", tmp_path))
    out = tmp_path / "project"
    assert io.export_project_dialog(w, out)
    assert {"model.py", "train.py", "README.md"} <= {p.name for p in out.iterdir()}
    assert "Exported the project to" in w.statusBar().currentMessage()


def test_export_onnx_writes_a_checked_file(make_window, tmp_path):
    w = make_window()
    assert w.files.open_file(copy_example("mlp_spirals", tmp_path))
    assert io.export_onnx_dialog(w, tmp_path / "m.onnx")
    assert (tmp_path / "m.onnx").stat().st_size > 0
    assert "checked with onnxruntime" in w.statusBar().currentMessage()
    assert nb.load(tmp_path / "mlp_spirals.json").name


def test_cancel_in_the_progress_dialog_stops_the_import(make_window, tmp_path):
    path = tmp_path / "slow.py"
    path.write_text("import time\n\ntime.sleep(600)\n")
    w = make_window()
    before = w.document
    clicked: dict = {}

    def poll(left: int = 3000) -> None:
        box = QApplication.activeModalWidget()
        if box is None or box.objectName() != "import_progress":
            if left:
                QTimer.singleShot(10, lambda: poll(left - 1))
            return
        clicked["text"] = box.labelText()
        QTest.mouseClick(box.findChild(QPushButton), Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, poll)
    assert not io.import_model(w, path, "Net", "", "4", timeout=60)
    assert "Importing Net from slow.py" in clicked["text"]
    assert w.statusBar().currentMessage() == "Import of Net from slow.py cancelled"
    assert w.document is before and QApplication.activeModalWidget() is None


SPECTRAL = textwrap.dedent('''
    import torch
    from torch import nn


    class Spectral(nn.Module):
        def __init__(self, width=8):
            super().__init__()
            self.fc = nn.Linear(width, width)
            with torch.no_grad():  # known values, to compare with the weights kept
                self.fc.weight.copy_(torch.arange(float(width * width)).reshape(width, width) / 10)
                self.fc.bias.fill_(0.5)

        def forward(self, x):
            return torch.fft.fft(self.fc(x)).real
''')


def _type_into_import_dialog(class_name: str, shape: str, weights_down: int) -> dict:
    """Fill the import dialog with key presses (``weights_down`` presses of Down in the
    weights box) and click OK."""
    seen: dict = {}

    def poll(left: int = 500) -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QDialog) or box.objectName() != "import_dialog":
            if left:
                QTimer.singleShot(10, lambda: poll(left - 1))
            return
        seen["shown"] = True
        box.class_box.lineEdit().selectAll()
        QTest.keyClicks(box.class_box.lineEdit(), class_name)
        QTest.keyClicks(box.shape_edit, shape)
        box.weights_box.setFocus()
        for _ in range(weights_down):
            QTest.keyClick(box.weights_box, Qt.Key.Key_Down)
        seen["file_enabled"] = box.weights_file.isEnabled()
        buttons = box.findChild(QDialogButtonBox, "import_buttons")
        ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        QTest.mouseClick(ok, Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, poll)
    return seen


def test_import_keeps_the_modules_weights_and_reports_placeholders_in_problems(
        make_window, tmp_path, qtbot):
    import torch
    from safetensors.torch import load

    path = tmp_path / "spectral.py"
    path.write_text(SPECTRAL)
    w = make_window()
    seen = _type_into_import_dialog("Spectral", "8", weights_down=1)
    answer_dialog("import_confirm", button_name="import_run_button", tries=2000)
    assert io.import_model_dialog(w, path)
    assert seen["shown"] and not seen["file_enabled"]
    graph = w.document.graph
    # the module's own weights, kept with the new document
    assert graph.weights is not None and graph.weights.origin == "module"
    tensors = load(graph.weights.data)
    expected = torch.arange(64.0).reshape(8, 8) / 10
    weight = [t for k, t in tensors.items() if k.endswith("weight")]
    bias = [t for k, t in tensors.items() if k.endswith("bias")]
    assert len(weight) == 1 and torch.equal(weight[0], expected)
    assert len(bias) == 1 and torch.equal(bias[0], torch.full((8,), 0.5))
    # an import is unsaved work: the recovery file keeps it, weights included
    assert w.document.dirty and w.files.autosave.save_now()
    recovered = read_recovery(w.files.autosave.path)[0]
    assert recovered.weights.data == graph.weights.data
    assert recovered.weights.origin == "module"
    # the report in Problems: one row per placeholder group, with its file and line
    line = SPECTRAL.splitlines().index("        return torch.fft.fft(self.fc(x)).real") + 1
    tree = w.problems.tree
    rows = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    texts = [r.text(0) for r in rows]
    fft = [r for r in rows if r.text(0).startswith("torch.fft.fft in the top level")]
    assert len(fft) == 1, texts
    assert f"→ Function node (no node type stands for it) at {path}:{line}" in fft[0].text(0)
    assert any(t.startswith("Tensor.real in the top level") for t in texts), texts
    assert "placeholder or fallback groups" in w.problems.summary.text()
    # clicking the row selects the node it names
    node_id = fft[0].data(0, Qt.ItemDataRole.UserRole)
    assert graph.node(node_id).params["function"] == "torch.fft.fft"
    w.canvas.select([])
    qtbot.waitUntil(lambda: w.docks["problems"].isVisible())
    tree.scrollToItem(fft[0])
    rect = tree.visualItemRect(fft[0])
    QTest.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: w.canvas.selected_ids() == [node_id])
    params = 8 * 8 + 8
    assert w.statusBar().currentMessage() == \
        f"imported Spectral: {graph_nodes(graph)} nodes, {params} parameters, 2 placeholders"


def graph_nodes(graph) -> int:
    return sum(1 for n in graph.nodes() if not n.is_boundary)


def test_a_missing_weights_file_is_a_clear_error_and_the_document_stays(make_window, tmp_path):
    path = tmp_path / "spectral.py"
    path.write_text(SPECTRAL)
    w = make_window()
    before = w.document
    seen = answer_dialog("import_export_error", tries=3000)
    assert not io.import_model(w, path, "Spectral", "", "8", str(tmp_path / "nope.pt"))
    assert seen.get("shown") and "Spectral from spectral.py cannot be imported" in seen["text"]
    assert f"{tmp_path / 'nope.pt'}: weights file not found" in seen["informative"]
    seen = answer_dialog("import_export_error", tries=3000)
    assert not io.import_model(w, path, "Spectral", "", "8", "")
    assert "name the weights file" in seen["informative"]
    assert w.document is before
