"""Files in the window: save/reopen, Save As, bad files, unsaved-changes prompts, autosave."""
from __future__ import annotations

import errno
import json
import os
import shutil
import struct

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox
from window_helpers import answer_dialog, copy_example, example

import netbuilder as nb
from netbuilder.graph import graph_to_dict
from netbuilder.graph.weights import GraphWeights
from netbuilder.ui import files
from netbuilder.ui.commands import AddNodeCommand, SetParamsCommand
from netbuilder.ui.document import Document
from netbuilder.ui.files import Autosave, read_recovery
from netbuilder.ui.settings import KEY_RECENT, app_settings, read_list
from netbuilder.ui.training.commands import SetWeightsCommand

Button = QMessageBox.StandardButton


def edit(window, name="conv1", **values):
    doc = window.document
    assert doc.push(SetParamsCommand(doc, doc.graph.find(name), values))


def test_ctrl_s_saves_atomically_and_reopening_gives_the_same_graph(make_window, qtbot,
                                                                    tmp_path):
    path = copy_example("lenet5", tmp_path)
    w = make_window()
    assert w.files.open_file(path)
    assert w.document.path == path
    assert w.windowTitle() == "lenet5.json[*] — netbuilder"
    edit(w, out_channels=10)
    assert w.document.dirty and w.isWindowModified()
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
    w.canvas.setFocus()
    qtbot.keyClick(w.canvas, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert not w.document.dirty and not w.isWindowModified()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left
    again = nb.load(path)
    assert graph_to_dict(again) == graph_to_dict(w.document.graph)
    assert again.node(again.find("conv1")).params["out_channels"] == 10
    assert read_list(app_settings(), KEY_RECENT)[0] == str(path.resolve())


def test_save_as_moves_the_document_to_the_new_file(make_window, tmp_path):
    w = make_window(Document(nb.load(example("mlp_spirals"))))
    assert w.document.path is None
    target = tmp_path / "copy"  # the .json suffix is added
    assert w.files.save_as(target)
    assert w.document.path == tmp_path / "copy.json"
    assert w.windowTitle().startswith("copy.json")
    saved = json.loads((tmp_path / "copy.json").read_text())
    assert saved == graph_to_dict(w.document.graph)
    edit(w, name="hidden1", out_features=48)
    assert w.document.dirty
    assert w.files.save()  # Save now writes to the new path without asking
    assert not w.document.dirty
    assert json.loads((tmp_path / "copy.json").read_text())["nodes"][1]["params"][
        "out_features"] == 48


def test_opening_an_example_makes_an_untitled_copy(make_window):
    w = make_window()
    assert w.files.open_file(example("lenet5"))
    assert w.document.path is None
    assert len(w.document.graph) == len(nb.load(example("lenet5")))


def test_a_bad_file_shows_the_loaders_error_and_keeps_the_document(make_window, tmp_path):
    w = make_window(Document(nb.load(example("lenet5"))))
    doc = w.document
    before = graph_to_dict(doc.graph)
    bad = tmp_path / "bad.json"
    bad.write_text('{"format_version": 1, "nodes": [{"id": "a", "type": "Conv9d", '
                   '"name": "x"}]}')
    seen = answer_dialog("open_error")
    assert not w.files.open_file(bad)
    assert seen.get("shown")
    assert "Unknown layer type 'Conv9d'" in seen["informative"]
    assert "nodes[0].type" in seen["informative"]
    assert w.document is doc and graph_to_dict(doc.graph) == before
    notjson = tmp_path / "broken.json"
    notjson.write_text("{nope")
    seen = answer_dialog("open_error")
    assert not w.files.open_file(notjson)
    assert "not valid JSON" in seen["informative"]
    assert w.document is doc


def test_unsaved_changes_prompt_cancel_discard_and_save(make_window, tmp_path):
    path = copy_example("lenet5", tmp_path)
    w = make_window()
    w.files.open_file(path)
    edit(w, out_channels=9)
    doc = w.document
    seen = answer_dialog("unsaved_prompt", Button.Cancel)
    assert not w.files.new_document()
    assert seen.get("shown") and "lenet5.json" in seen["text"]
    assert w.document is doc and doc.dirty
    answer_dialog("unsaved_prompt", Button.Save)
    assert w.files.new_document()
    assert nb.load(path).node(nb.load(path).find("conv1")).params["out_channels"] == 9
    assert len(w.document.graph) == 0 and w.document.path is None
    # Discard: opening another file drops the edits of the new, dirty one.
    w.document.push(AddNodeCommand(w.document, "ReLU", (0, 0)))
    assert w.document.dirty
    answer_dialog("unsaved_prompt", Button.Discard)
    assert w.files.open_file(path)
    assert w.document.path == path and not w.document.dirty


def test_closing_a_dirty_window_asks_first(make_window, tmp_path):
    w = make_window(Document(nb.load(copy_example("lenet5", tmp_path)),
                             tmp_path / "lenet5.json"))
    edit(w, out_channels=7)
    answer_dialog("unsaved_prompt", Button.Cancel)
    assert not w.close()
    assert w.isVisible()
    answer_dialog("unsaved_prompt", Button.Discard)
    assert w.close()
    assert not w.isVisible()
    saved = nb.load(tmp_path / "lenet5.json")
    assert saved.node(saved.find("conv1")).params["out_channels"] == 6  # discarded


def test_autosave_writes_a_recovery_file_and_a_clean_save_removes_it(make_window, qtbot,
                                                                     tmp_path):
    path = copy_example("lenet5", tmp_path)
    w = make_window(autosave_ms=100)
    w.files.open_file(path)
    recovery = w.files.autosave.path
    assert not recovery.exists()
    edit(w, out_channels=11)
    qtbot.waitUntil(recovery.exists, timeout=5000)
    graph, original, _when = read_recovery(recovery)
    assert original == str(path)
    assert graph_to_dict(graph) == graph_to_dict(w.document.graph)
    assert w.files.save()
    assert not recovery.exists()
    w.document.undo_stack.undo()  # dirty again
    qtbot.waitUntil(recovery.exists, timeout=5000)
    answer_dialog("unsaved_prompt", Button.Discard)
    assert w.close()
    assert not recovery.exists()


def test_after_a_crash_the_next_start_offers_to_restore(make_window, tmp_path):
    path = copy_example("lenet5", tmp_path)
    first = make_window()
    first.files.open_file(path)
    edit(first, out_channels=13)
    assert first.files.autosave.save_now()
    # A crash leaves the recovery file behind with nobody holding its lock.
    crashed = first.files.autosave.folder / "autosave-crashed0001.json"
    shutil.copy(first.files.autosave.path, crashed)
    first.document.undo_stack.setClean()
    first.close()
    assert Autosave.orphans(first.files.autosave.folder) == [crashed]

    second = make_window()
    seen = answer_dialog("recovery_prompt", button_name="restore_button")
    assert second.files.offer_recovery()
    assert seen.get("shown") and "lenet5.json" in seen["text"]
    doc = second.document
    assert doc.path == path and doc.dirty
    assert doc.graph.node(doc.graph.find("conv1")).params["out_channels"] == 13
    assert not crashed.exists()
    assert not second.files.offer_recovery()  # offered once


def _held_weights() -> GraphWeights:
    """Weights held by the graph, in no file yet (as Load Weights… or an import leaves them):
    a safetensors blob written by hand (the format: an 8-byte header size, a JSON header,
    the raw little-endian float32 data), so the test needs no torch."""
    header = json.dumps({"fc.weight": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
                         "fc.bias": {"dtype": "F32", "shape": [2], "data_offsets": [24, 32]}})
    header += " " * (-len(header) % 8)
    data = struct.pack("<8f", 1.5, -2.0, 0.25, 3.0, 4.0, -1.0, 0.5, 7.0)
    blob = struct.pack("<Q", len(header)) + header.encode() + data
    return GraphWeights(data=blob, origin="/downloads/pretrained.safetensors")


def test_held_weights_survive_a_crash_and_come_back_with_the_graph(make_window, qtbot,
                                                                   tmp_path):
    g = nb.Graph("net")
    g.connect(g.add("Input", "x", shape=(3,)), g.add("Linear", "fc", out_features=2))
    first = make_window(Document(g), autosave_ms=100)
    doc, autosave = first.document, first.files.autosave
    weights = _held_weights()
    assert doc.push(SetWeightsCommand(doc, weights, "Load weights of pretrained"))
    qtbot.waitUntil(lambda: autosave.path.exists() and autosave.weights_path.exists(),
                    timeout=5000)
    assert autosave.weights_path.read_bytes() == weights.data
    assert "fc.weight" not in autosave.path.read_text()  # the tensors are not in the JSON
    # an edit autosaves the graph again, but not the unchanged weights
    written = autosave.weights_path.stat().st_ino
    with qtbot.waitSignal(autosave.saved, timeout=5000):
        assert doc.push(AddNodeCommand(doc, "ReLU", (300, 0)))
    assert autosave.weights_path.stat().st_ino == written
    # the crash: the recovery file and its weights stay, nobody holds the lock
    crashed = autosave.folder / "autosave-crashed0003.json"
    shutil.copy(autosave.path, crashed)
    shutil.copy(autosave.weights_path, crashed.with_suffix(".safetensors"))
    doc.undo_stack.setClean()
    first.close()
    assert not autosave.weights_path.exists()  # a clean close removes its own

    second = make_window()
    answer_dialog("recovery_prompt", button_name="restore_button")
    assert second.files.offer_recovery()
    back = second.document.graph
    assert back.weights.data == weights.data
    assert back.weights.origin == "/downloads/pretrained.safetensors"
    assert [n.type for n in back.nodes()] == ["Input", "Linear", "ReLU"]
    assert not crashed.exists() and not crashed.with_suffix(".safetensors").exists()
    # restored, they are autosaved again, and a save writes them beside the graph
    assert second.files.autosave.weights_path.read_bytes() == weights.data
    assert second.files.save_as(tmp_path / "net.json")
    assert (tmp_path / "net.safetensors").read_bytes() == weights.data
    assert not second.files.autosave.weights_path.exists()
    assert nb.load(tmp_path / "net.json").weights.read_bytes() == weights.data


def test_recovery_can_wait_for_later_or_be_discarded(make_window, tmp_path):
    first = make_window()
    first.document.push(AddNodeCommand(first.document, "ReLU", (0, 0)))
    assert first.files.autosave.save_now()
    crashed = first.files.autosave.folder / "autosave-crashed0002.json"
    shutil.copy(first.files.autosave.path, crashed)
    second = make_window()
    answer_dialog("recovery_prompt", button_name="later_button")
    assert not second.files.offer_recovery()
    assert crashed.exists() and len(second.document.graph) == 0
    answer_dialog("recovery_prompt", button_name="discard_button")
    assert not second.files.offer_recovery()
    assert not crashed.exists() and len(second.document.graph) == 0


def test_a_live_sessions_recovery_file_is_not_offered(make_window):
    first = make_window()
    first.document.push(AddNodeCommand(first.document, "ReLU", (0, 0)))
    assert first.files.autosave.save_now()
    second = make_window()
    assert first.files.autosave.path not in Autosave.orphans(second.files.autosave.folder)
    assert not second.files.offer_recovery()


def test_export_to_python_writes_the_generated_source(make_window, tmp_path):
    w = make_window(Document(nb.load(example("lenet5"))))
    out = tmp_path / "lenet.py"
    assert w.files.export_python(out)
    assert out.read_text() == w.document.graph.to_python()
    namespace: dict = {}
    exec(compile(out.read_text(), str(out), "exec"), namespace)  # noqa: S102 (our own output)
    assert "Lenet5" in namespace


def test_recent_files_menu_lists_saved_files(make_window, tmp_path):
    a = copy_example("lenet5", tmp_path)
    b = copy_example("mlp_spirals", tmp_path)
    w = make_window()
    w.files.open_file(a)
    w.files.open_file(b)
    w.fill_recent_menu()
    texts = [act.text() for act in w.recent_menu.actions() if act.objectName().startswith(
        "recent_") and act.objectName() != "recent_clear"]
    assert texts == ["&1  mlp_spirals.json", "&2  lenet5.json"]
    w.recent_menu.actions()[1].trigger()
    assert w.document.path == a


# --- saves that fail ------------------------------------------------------------------------------

def _no_space(*_args, **_kw):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _read_only(path, monkeypatch):
    path.chmod(0o444)
    return "the file is read-only"


def _folder_in_the_way(path, monkeypatch):
    path.unlink()
    path.mkdir()
    return "a folder of that name is in the way"


def _folder_gone(path, monkeypatch):
    shutil.rmtree(path.parent)
    return f"the folder {path.parent} does not exist"


def _disk_full(path, monkeypatch):
    monkeypatch.setattr(files, "atomic_write", _no_space)
    return "No space left on device"


def _unserialisable(path, monkeypatch):
    def refuse(graph):
        raise TypeError("Object of type set is not JSON serializable")
    monkeypatch.setattr(files, "to_json", refuse)
    return "cannot be written as JSON: TypeError: Object of type set"


@pytest.mark.parametrize("break_it", [_read_only, _folder_in_the_way, _folder_gone, _disk_full,
                                      _unserialisable])
def test_a_failed_ctrl_s_says_why_and_keeps_the_document(make_window, qtbot, tmp_path,
                                                        monkeypatch, break_it):
    folder = tmp_path / "work"
    folder.mkdir()
    path = copy_example("lenet5", folder)
    before = path.read_bytes()
    w = make_window()
    assert w.files.open_file(path)
    doc = w.document
    edit(w, out_channels=10)
    edit(w, name="fc1", out_features=99)
    reason = break_it(path, monkeypatch)
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
    w.canvas.setFocus()
    seen = answer_dialog("save_error")
    qtbot.keyClick(w.canvas, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: seen.get("shown"), timeout=5000)
    assert "lenet5.json" in seen["text"]
    assert reason in seen["informative"]
    assert w.document is doc and doc.path == path and doc.dirty and w.isWindowModified()
    assert doc.undo_stack.count() == 2 and doc.undo_stack.index() == 2
    assert doc.graph.node(doc.graph.find("fc1")).params["out_features"] == 99
    assert w.isVisible() and "Not saved" in w.statusBar().currentMessage()
    if path.is_file():
        assert path.read_bytes() == before
    if folder.is_dir():
        assert sorted(p.name for p in folder.iterdir()) == ["lenet5.json"]  # no temp left
    doc.undo_stack.undo()  # the history still works
    assert doc.graph.node(doc.graph.find("fc1")).params["out_features"] != 99


def test_closing_after_a_failed_save_keeps_the_window_open(make_window, tmp_path, monkeypatch):
    path = copy_example("lenet5", tmp_path)
    w = make_window()
    assert w.files.open_file(path)
    edit(w, out_channels=7)
    monkeypatch.setattr(files, "atomic_write", _no_space)
    answer_dialog("unsaved_prompt", Button.Save)
    seen = answer_dialog("save_error")
    assert not w.close()
    assert seen.get("shown") and "No space left on device" in seen["informative"]
    assert w.isVisible() and w.document.dirty and w.document.path == path
    monkeypatch.undo()
    answer_dialog("unsaved_prompt", Button.Save)
    assert w.close()
    saved = nb.load(path)
    assert saved.node(saved.find("conv1")).params["out_channels"] == 7


def test_a_failing_autosave_is_reported_once_and_keeps_the_last_recovery_file(
        make_window, tmp_path, monkeypatch):
    path = copy_example("lenet5", tmp_path)
    w = make_window()
    assert w.files.open_file(path)
    autosave = w.files.autosave
    failures = []
    autosave.failed.connect(failures.append)
    edit(w, out_channels=11)
    assert autosave.save_now()
    kept = autosave.path.read_bytes()
    monkeypatch.setattr(files, "atomic_write", _no_space)
    edit(w, out_channels=12)
    assert not autosave.save_now()
    edit(w, out_channels=13)
    assert not autosave.save_now()
    assert len(failures) == 1 and "No space left on device" in failures[0]
    assert str(autosave.path) in failures[0]
    assert w.statusBar().currentMessage().startswith("Autosave failed: ")
    assert QApplication.activeModalWidget() is None
    assert autosave.path.read_bytes() == kept
    graph, _original, _when = read_recovery(autosave.path)
    assert graph.node(graph.find("conv1")).params["out_channels"] == 11
    monkeypatch.undo()
    assert autosave.save_now()
    graph, _original, _when = read_recovery(autosave.path)
    assert graph.node(graph.find("conv1")).params["out_channels"] == 13
    monkeypatch.setattr(files, "atomic_write", _no_space)
    edit(w, out_channels=14)
    assert not autosave.save_now()
    assert len(failures) == 2  # a new failure after a success is reported again


def test_a_failed_save_as_keeps_the_untitled_document_untitled(make_window, tmp_path):
    w = make_window(Document(nb.load(example("mlp_spirals"))))
    w.document.push(AddNodeCommand(w.document, "ReLU", (0, 0)))
    target = tmp_path / "gone" / "copy.json"
    seen = answer_dialog("save_error")
    assert not w.files.save_as(target)
    assert "copy.json" in seen["text"]
    assert f"the folder {target.parent} does not exist" in seen["informative"]
    assert w.document.path is None and w.document.dirty and not target.parent.exists()
    assert w.windowTitle().startswith("mlp_spirals")
