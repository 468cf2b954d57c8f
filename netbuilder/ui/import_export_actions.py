"""File → Import PyTorch Model…, Export Project…, Export ONNX…: the editor's doors to the
PyTorch ecosystem (the headless work is ``model_import``, ``compile.onnx_export`` and
``train.export_project``; this module only asks and reports).

Importing runs the person's Python file, so the editor says so first, then runs it in a child
process (``model_import``) from a thread while the window stays responsive and cancellable.
"""
from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QWidget,
)

from ..errors import ModelImportError, NetbuilderError
from ..model_import import DEFAULT_TIMEOUT, MODULE_WEIGHTS, ImportCancelled

PY_FILTER = "Python files (*.py)"
WEIGHTS_FILTER = "Weights (*.safetensors *.pt *.pth)"
# the dialog's weights choices, in order: none, the instance's own, a file's
WEIGHT_CHOICES = ("None (fresh initialisation)", "The module's own (after its constructor)",
                  "From a file…")
ONNX_FILTER = "ONNX models (*.onnx)"


def install_import_export_actions(window) -> dict[str, QAction]:
    """Add the actions to the window's File menu, after Export to Python (idempotent)."""
    if "import_pytorch" in window.actions:
        return {k: window.actions[k] for k in ("import_pytorch", "export_project",
                                                "export_onnx")}
    specs = (("import_pytorch", "&Import PyTorch Model…",
              "Turn an nn.Module class from a Python file into a graph",
              lambda: import_model_dialog(window)),
             ("export_project", "Export &Project…",
              "Write model.py, train.py, the trained weights and a README to a folder",
              lambda: export_project_dialog(window)),
             ("export_onnx", "Export &ONNX…", "Write the model as ONNX (dynamic batch size)",
              lambda: export_onnx_dialog(window)))
    made = {}
    for name, text, tip, slot in specs:
        action = QAction(text, window)
        action.setObjectName(f"action_{name}")
        action.setStatusTip(tip)
        action.setToolTip(tip)
        action.triggered.connect(slot)
        made[name] = window.actions[name] = action
    menu = getattr(window, "menus", {}).get("file")
    if menu is not None:
        entries = menu.actions()
        anchor = window.actions.get("export")
        at = entries.index(anchor) + 1 if anchor in entries else len(entries)
        before = entries[at] if at < len(entries) else None
        for action in (made["export_project"], made["export_onnx"]):
            menu.insertAction(before, action)
        opening = window.actions.get("save")
        menu.insertAction(opening if opening in entries else before, made["import_pytorch"])
    return made


# --- import --------------------------------------------------------------------------------------

class ImportDialog(QDialog):
    """Which class of the file, its constructor arguments, the input shapes (with dtypes) and
    which weights to keep: the options of ``netbuilder import``."""

    def __init__(self, path: Path, classes: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("import_dialog")
        self.setWindowTitle("Import PyTorch model")
        self.path = path
        form = QFormLayout(self)
        form.addRow(QLabel(f"<b>{path.name}</b>"))
        self.class_box = QComboBox(objectName="import_class")
        self.class_box.addItems(classes)
        self.class_box.setEditable(True)
        self.args_edit = QLineEdit(objectName="import_args")
        self.args_edit.setPlaceholderText('constructor arguments as JSON, e.g. {"hidden": 64}')
        self.shape_edit = QLineEdit(objectName="import_shape")
        self.shape_edit.setPlaceholderText("e.g. 1,28,28 without the batch; inputs split by ; "
                                           "(35:long for token ids)")
        form.addRow("Class", self.class_box)
        form.addRow("Arguments", self.args_edit)
        form.addRow("Input shape", self.shape_edit)
        self.weights_box = QComboBox(objectName="import_weights")
        self.weights_box.addItems(WEIGHT_CHOICES)
        self.weights_file = QLineEdit(objectName="import_weights_file")
        self.weights_file.setPlaceholderText("a .safetensors or weights-only .pt/.pth file "
                                             "by the model's own keys")
        browse = QPushButton("Browse…", objectName="import_weights_browse")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.weights_file, 1)
        row.addWidget(browse)
        self.weights_box.currentIndexChanged.connect(self._weights_changed)
        form.addRow("Weights", self.weights_box)
        form.addRow("Weights file", row)
        self._file_widgets = (self.weights_file, browse)
        self._weights_changed(0)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok |
                                   QDialogButtonBox.StandardButton.Cancel)
        buttons.setObjectName("import_buttons")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _weights_changed(self, index: int) -> None:
        for widget in self._file_widgets:
            widget.setEnabled(index == 2)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Weights to keep", str(self.path.parent),
                                              WEIGHTS_FILTER)
        if path:
            self.weights_file.setText(path)

    def weights(self) -> str | None:
        """None, ``MODULE_WEIGHTS`` or the file named (\"\" when none is named yet)."""
        index = self.weights_box.currentIndex()
        if index == 1:
            return MODULE_WEIGHTS
        return self.weights_file.text().strip() if index == 2 else None

    def values(self) -> tuple[str, str, str, str | None]:
        return (self.class_box.currentText().strip(), self.args_edit.text().strip(),
                self.shape_edit.text().strip(), self.weights())


def import_model_dialog(window, path: str | Path | None = None) -> bool:
    """Ask for a file and a class, import it, open the graph as a new untitled document."""
    from ..compile.import_source import module_classes

    if path is None:
        path, _ = QFileDialog.getOpenFileName(window, "Import PyTorch model", _folder(window),
                                              PY_FILTER)
        if not path:
            return False
    path = Path(path)
    try:
        classes = module_classes(path)
    except NetbuilderError as exc:
        _error(window, "Cannot import", f"{path.name} cannot be read.", str(exc))
        return False
    dialog = ImportDialog(path, classes, window)
    accepted = dialog.exec() == QDialog.DialogCode.Accepted
    values = dialog.values()
    dialog.deleteLater()
    if not accepted or not confirm_running(window, path):
        return False
    return import_model(window, path, *values)


def confirm_running(window, path: Path, timeout: float = DEFAULT_TIMEOUT) -> bool:
    """Say that importing runs the file; True when the person goes on."""
    box = QMessageBox(QMessageBox.Icon.Warning, "Run this file?",
                      f"Importing runs the Python file {path.name}.",
                      QMessageBox.StandardButton.NoButton, window)
    box.setObjectName("import_confirm")
    box.setInformativeText(
        f"To read the model, netbuilder runs {path} in a separate process (stopped after "
        f"{timeout:g} s). Its code can do anything you can do: import only files you trust.")
    run = box.addButton("Run and Import", QMessageBox.ButtonRole.AcceptRole)
    run.setObjectName("import_run_button")
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    cancel.setObjectName("import_cancel_button")
    box.setDefaultButton(run)
    box.setEscapeButton(cancel)
    box.exec()
    chosen = box.clickedButton()
    box.deleteLater()
    return chosen is run


def import_model(window, path: str | Path, class_name: str, args: str = "",
                 shapes: str = "", weights: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT) -> bool:
    """Import ``class_name`` of ``path`` (in a child process) as a new document keeping the
    ``weights`` asked for (None, ``MODULE_WEIGHTS`` or a file), its report in Problems; errors
    (with every unsupported operation, or what the file did) in a box."""
    from ..model_import import import_in_child, parse_args_json, parse_input
    from .document import Document

    path = Path(path)
    try:
        inputs = [parse_input(s) for s in shapes.split(";") if s.strip()]
        shape_list = [shape for shape, _ in inputs] or None
        dtypes = [dtype for _, dtype in inputs] if any(d for _, d in inputs) else None
        arguments = parse_args_json(args)
        if weights is not None and not weights:
            raise ModelImportError("Weights from a file: name the weights file (a .safetensors "
                                   "or weights-only .pt/.pth), or choose another option")
    except NetbuilderError as exc:
        _error(window, "Cannot import", f"{class_name} from {path.name} cannot be imported.",
               str(exc))
        return False
    outcome = _in_background(
        window, f"Importing {class_name} from {path.name}…\nThe file runs in a separate process.",
        lambda cancel: import_in_child(path, class_name, arguments, shape_list,
                                       timeout=timeout, cancel=cancel, input_dtypes=dtypes,
                                       weights=weights))
    if isinstance(outcome, ImportCancelled):
        _status(window, f"Import of {class_name} from {path.name} cancelled")
        return False
    if isinstance(outcome, NetbuilderError):
        _error(window, "Cannot import", f"{class_name} from {path.name} cannot be imported.",
               str(outcome))
        return False
    graph = outcome.keep_weights(weights)
    files = getattr(window, "files", None)
    if files is not None and not files.maybe_save():
        return False
    doc = Document(graph)
    doc.undo_stack.resetClean()  # an import is unsaved work: autosaved, asked about at close
    window.set_document(doc)
    rows = report_rows(graph)
    problems = getattr(window, "problems", None)
    if problems is not None:
        problems.set_import_report(rows)
        if rows and hasattr(window, "show_dock"):
            window.show_dock("problems")
    placeholders = sum(g.get("count", 1)
                       for g in graph.meta.get("imported", {}).get("placeholders") or [])
    _status(window, f"imported {class_name}: {outcome.nodes} nodes, {outcome.params:,} "
                    f"parameters, {placeholders} placeholder{'s' if placeholders != 1 else ''}")
    return True


def report_rows(graph) -> list[tuple[str, str | None]]:
    """The import report of ``graph`` as Problems rows: one per placeholder group (with the
    node it names, when one at the top level does) and per fallback, with its file:line."""
    from ..compile.import_report import meta_lines

    meta = graph.meta.get("imported", {})
    rows = []
    for group in meta.get("placeholders") or []:
        text = meta_lines({"placeholders": [group]})[0].removeprefix("  - ")
        rows.append((text, _placeholder_node(graph, group)))
    for fallback in meta.get("fallbacks") or []:
        text = meta_lines({"fallbacks": [fallback]})[0].removeprefix("  - ")
        where = fallback.get("where")
        rows.append((text + (f" at {where}" if where else ""), None))
    return rows


def _placeholder_node(graph, group: dict) -> str | None:
    """The first top-level Function or Module node standing for the group's operation."""
    what = group["what"]
    for node in graph.nodes():
        if node.type != group["kind"]:
            continue
        if node.params.get("function") == what or \
                str(node.params.get("target", "")).rpartition(":")[2] == what:
            return node.id
    return None


def _in_background(window, text: str, job):
    """``job(cancel_event)`` on a thread while a cancellable progress dialog keeps the window
    responsive; its result, or the ``NetbuilderError`` it raised."""
    cancel = threading.Event()
    outcome: list = []

    def work() -> None:
        try:
            outcome.append(job(cancel))
        except NetbuilderError as exc:
            outcome.append(exc)
        except Exception as exc:  # noqa: BLE001 (a temporary folder that cannot be made, ...)
            outcome.append(ModelImportError(f"The import could not run: {exc}"))

    thread = threading.Thread(target=work, name="model-import", daemon=True)
    progress = QProgressDialog(text, "Cancel", 0, 0, window)
    progress.setObjectName("import_progress")
    progress.setWindowTitle("Import PyTorch model")
    progress.setWindowModality(Qt.WindowModality.WindowModal)
    progress.setMinimumDuration(0)
    progress.canceled.connect(cancel.set)
    loop = QEventLoop()
    # NOTE: polled rather than signalled from the thread: the job is plain Python, and a poll
    # cannot miss an end that came before the loop started.
    poll = QTimer(interval=30)
    poll.timeout.connect(lambda: thread.is_alive() or loop.quit())
    thread.start()
    poll.start()
    progress.show()
    loop.exec()
    poll.stop()
    progress.canceled.disconnect(cancel.set)
    progress.close()
    progress.deleteLater()
    thread.join()
    return outcome[0]


# --- export --------------------------------------------------------------------------------------

def export_project_dialog(window, folder: str | Path | None = None) -> bool:
    """Write the project to a folder (the newest fitting run's weights included)."""
    from ..train.export_project import export_project

    graph = window.document.graph
    if folder is None:
        folder = QFileDialog.getExistingDirectory(window, "Export project to folder",
                                                  _folder(window))
        if not folder:
            return False
    # the graph's own weights (loaded, imported) before its newest run
    weights = None if graph.weights is not None else latest_weights(window)
    QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        report = export_project(graph, folder, weights)
    except NetbuilderError as exc:
        QGuiApplication.restoreOverrideCursor()
        _error(window, "Cannot export", "The project could not be written.", str(exc))
        return False
    except OSError as exc:
        QGuiApplication.restoreOverrideCursor()
        _error(window, "Cannot export", f"Could not write to {folder}.", str(exc))
        return False
    QGuiApplication.restoreOverrideCursor()
    _status(window, f"Exported the project to {report.folder}: {', '.join(report.files)}")
    if report.warnings:
        box = QMessageBox(QMessageBox.Icon.Warning, "Project exported",
                          f"The project was written to {report.folder}, without a training "
                          f"script.", QMessageBox.StandardButton.Ok, window)
        box.setObjectName("export_project_warning")
        box.setInformativeText("\n".join(report.warnings))
        box.exec()
        box.deleteLater()
    return True


def export_onnx_dialog(window, path: str | Path | None = None) -> bool:
    from ..compile.onnx_export import export_onnx

    doc = window.document
    if path is None:
        stem = (doc.path.stem if doc.path else doc.graph.name) or "model"
        path, _ = QFileDialog.getSaveFileName(window, "Export ONNX",
                                              str(Path(_folder(window)) / f"{stem}.onnx"),
                                              ONNX_FILTER)
        if not path:
            return False
    weights = None if doc.graph.weights is not None else latest_weights(window)
    QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        if doc.graph.weights is not None:
            from ..compile.weights import graph_state

            state = graph_state(doc.graph)
        else:
            state = weights / "weights.safetensors" if weights is not None else None
        report = export_onnx(doc.graph, path, state)
    except (NetbuilderError, OSError) as exc:
        QGuiApplication.restoreOverrideCursor()
        _error(window, "Cannot export", "The ONNX file could not be written.", str(exc))
        return False
    QGuiApplication.restoreOverrideCursor()
    checked = (f", checked with onnxruntime (difference {report.max_difference:.1g})"
               if report.max_difference is not None else "")
    _status(window, f"Exported {Path(path).name}{checked}")
    return True


def latest_weights(window) -> Path | None:
    """The newest run of the document whose weights fit its graph (None when there is none):
    the editor's runs folder, then the command line's ``runs/`` beside the file."""
    from ..train.export_project import latest_run_weights, newest_fitting_run

    doc = window.document
    try:
        from .training.run_store import runs_root

        found = newest_fitting_run([runs_root(doc.path, doc.graph.name)], doc.graph)
    except ImportError:
        found = None
    if found is None and doc.path is not None:
        found = latest_run_weights(doc.path, doc.graph)
    return found


# --- small helpers -------------------------------------------------------------------------------

def _folder(window) -> str:
    files = getattr(window, "files", None)
    last = getattr(files, "_last_dir", None)
    return last() if callable(last) else str(Path.home())


def _status(window, text: str) -> None:
    window.statusBar().showMessage(text, 8000)


def _error(window, title: str, text: str, detail: str) -> None:
    files = getattr(window, "files", None)
    if files is not None and hasattr(files, "show_error"):
        files.show_error(title, text, detail, "import_export_error")
        return
    box = QMessageBox(QMessageBox.Icon.Critical, title, text, QMessageBox.StandardButton.Ok,
                      window)
    box.setObjectName("import_export_error")
    box.setInformativeText(detail)
    box.exec()
    box.deleteLater()


__all__ = ["install_import_export_actions", "import_model_dialog", "import_model",
           "confirm_running",
           "export_project_dialog", "export_onnx_dialog", "latest_weights", "ImportDialog"]

