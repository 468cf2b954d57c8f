"""File → Import PyTorch Model… and Export Project…/ONNX… in the editor."""
from __future__ import annotations

import textwrap

from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog, QPushButton
from window_helpers import answer_dialog, copy_example

import netbuilder as nb
from netbuilder.ui import import_export_actions as io

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
        def forward(self, x):
            return x.sort()[0]
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
    assert "Imported Tiny from tiny.py" in w.statusBar().currentMessage()


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
    assert "Tensor.sort()" in seen["informative"] and "tiny.py:" in seen["informative"]
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
