"""Opening, saving and recovering documents.

Saves are atomic (``atomic_write``: a temporary file renamed over the target). A save that fails,
for whatever reason, is explained in a dialog naming the file and changes nothing: the document
stays open, unsaved, with its path and undo history. A dirty document is written to a recovery
file every minute; the file is removed after a clean save or close. A recovery file whose
lock nobody holds was left by a session that crashed: the next start offers to restore it.
"""
from __future__ import annotations

import errno
import json
import os
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox

from ..errors import NetbuilderError
from ..graph import load, to_json
from ..graph.fileformat import atomic_write
from ..graph.weights import save_weights_beside
from .autosave import (  # noqa: F401 (re-exported: where callers have found them)
    AUTOSAVE_ENV,
    AUTOSAVE_MS,
    RECOVERY_MARK,
    Autosave,
    autosave_interval,
    read_recovery,
)
from .document import Document
from .settings import KEY_LAST_DIR, KEY_RECENT, MAX_RECENT, app_settings, read_list

GRAPH_FILTER = "netbuilder graphs (*.json);;All files (*)"
PYTHON_FILTER = "Python source (*.py);;All files (*)"


def write_text_atomic(path: Path | str, text: str) -> None:
    """Write ``text`` to ``path`` with ``atomic_write``: the old file stays whole until the new
    one is complete. A read-only file is refused, not replaced (the rename would replace it)."""
    p = Path(path)
    # NOTE: the mode bits, not os.access: an administrator may write anything, yet a file
    # someone made read-only should not be overwritten by a Save.
    if p.is_file() and not p.stat().st_mode & 0o222:
        raise PermissionError(errno.EACCES, "the file is read-only", str(p))
    atomic_write(p, text)


def write_failure(path: Path | str, exc: OSError) -> str:
    """Why writing ``path`` failed, as a sentence naming the file."""
    p = Path(path)
    if p.is_dir():
        reason = "a folder of that name is in the way"
    elif not p.parent.is_dir():
        reason = f"the folder {p.parent} does not exist (was it moved or removed?)"
    else:
        reason = exc.strerror or (os.strerror(exc.errno) if exc.errno else str(exc) or
                                  type(exc).__name__)
    return f"Could not write {p}: {reason}."



def examples_dir() -> Path:
    from importlib import resources

    return Path(str(resources.files("netbuilder.resources").joinpath("examples")))


def list_examples() -> list[tuple[Path, str, str]]:
    """``(path, title, description)`` of each example graph, by title."""
    out = []
    folder = examples_dir()
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            meta = data.get("meta", {}) if isinstance(data, dict) else {}
        except (OSError, ValueError):
            continue
        meta = meta if isinstance(meta, dict) else {}
        title = meta.get("title") or _humanize(path.stem)
        out.append((path, str(title), str(meta.get("description", ""))))
    return sorted(out, key=lambda t: t[1].lower())


def _humanize(stem: str) -> str:
    return stem.replace("_", " ").replace("-", " ")


def is_example(path: Path) -> bool:
    try:
        return Path(path).resolve().parent == examples_dir().resolve()
    except OSError:
        return False


class FileController(QObject):
    """File menu behaviour for one main window: New, Open, Save, Save As, Export, Recent."""

    recent_changed = Signal()
    status = Signal(str)

    def __init__(self, window, autosave_ms: int | None = None):
        super().__init__(window)
        self.window = window
        self.autosave = Autosave(self, autosave_ms)
        self.autosave.failed.connect(
            lambda reason: self.status.emit(f"Autosave failed: {reason} Save your work."))

    @property
    def doc(self) -> Document:
        return self.window.document

    # --- commands -----------------------------------------------------------------------------

    def new_document(self) -> bool:
        if not self.maybe_save():
            return False
        self.window.set_document(Document())
        self.status.emit("New graph")
        return True

    def open_file(self, path: str | os.PathLike | None = None) -> bool:
        """Open a graph file. A bad file is explained in a dialog; the open document stays."""
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self.window, "Open graph", self._last_dir(),
                                                  GRAPH_FILTER)
            if not path:
                return False
        path = Path(path)
        try:
            graph = load(path)
        except NetbuilderError as exc:
            self.show_error("Cannot open the file", f"{path.name} could not be opened.",
                            str(exc), "open_error")
            return False
        if not self.maybe_save():
            return False
        self._ask_trust(graph, path)
        as_template = is_example(path)
        self.window.set_document(Document(graph, None if as_template else path))
        if not as_template:
            self.add_recent(path)
            self._remember_dir(path)
        self.status.emit(f"Opened {path.name}" + (" (an example: Save asks where to keep your "
                                                  "copy)" if as_template else ""))
        return True

    def _ask_trust(self, graph, path: Path) -> None:
        """A graph naming Python code imports it only if the person trusts the file (now,
        or before: remembered by path and content)."""
        from ..graph.trust import grant
        from .trust_dialog import ask_trust

        untrusted = grant(graph, path)
        if untrusted and ask_trust(self.window, path.name, untrusted):
            grant(graph, path, trust=True)

    def save(self) -> bool:
        if self.doc.path is None:
            return self.save_as()
        return self._write(self.doc.path)

    def save_as(self, path: str | os.PathLike | None = None) -> bool:
        if path is None:
            start = str(self.doc.path) if self.doc.path else str(
                Path(self._last_dir()) / f"{self.doc.graph.name or 'untitled'}.json")
            path, _ = QFileDialog.getSaveFileName(self.window, "Save graph as", start,
                                                  GRAPH_FILTER)
            if not path:
                return False
        path = Path(path)
        if not path.suffix:
            path = path.with_suffix(".json")
        return self._write(path)

    def _write(self, path: Path) -> bool:
        """Save to ``path``; on failure explain why and leave the document as it was. The
        graph's weights go beside it first (the file never names a missing one)."""
        graph = self.doc.graph
        if graph.weights is not None:
            try:
                graph.weights = save_weights_beside(graph.weights, path)
            except OSError as exc:
                return self._save_failed(path, write_failure(path.with_suffix(".safetensors"),
                                                             exc))
            except NetbuilderError as exc:
                return self._save_failed(path, str(exc))
        try:
            text = to_json(self.doc.graph)
        except Exception as exc:  # noqa: BLE001 (a value JSON cannot hold, whatever its kind)
            return self._save_failed(path, f"The graph cannot be written as JSON: "
                                           f"{type(exc).__name__}: {exc}")
        try:
            write_text_atomic(path, text)
        except OSError as exc:
            return self._save_failed(path, write_failure(path, exc))
        self.doc.mark_saved(path)
        self.autosave.discard()
        self.add_recent(path)
        self._remember_dir(path)
        self.status.emit(f"Saved {path.name}")
        return True

    def _save_failed(self, path: Path, reason: str) -> bool:
        self.status.emit(f"Not saved: {reason}")
        self.show_error("Cannot save", f"The graph could not be saved to {path.name}. It is "
                        f"still open with its changes: save it elsewhere (Save As).", reason,
                        "save_error")
        return False

    def export_python(self, path: str | os.PathLike | None = None) -> bool:
        """Write ``graph.to_python()`` (standalone PyTorch source) to a .py file."""
        try:
            source = self.doc.graph.to_python()
        except NetbuilderError as exc:
            self.show_error("Cannot export", "The graph has errors, so it has no code yet.",
                            str(exc), "export_error")
            return False
        if path is None:
            stem = (self.doc.path.stem if self.doc.path else self.doc.graph.name) or "model"
            path, _ = QFileDialog.getSaveFileName(
                self.window, "Export to Python", str(Path(self._last_dir()) / f"{stem}.py"),
                PYTHON_FILTER)
            if not path:
                return False
        path = Path(path)
        try:
            write_text_atomic(path, source)
        except OSError as exc:
            self.show_error("Cannot export", f"Could not write {path.name}.",
                            write_failure(path, exc), "export_error")
            return False
        self.status.emit(f"Exported {path.name}")
        return True

    def maybe_save(self) -> bool:
        """Ask about unsaved changes: Save, Discard or Cancel. True when it is fine to go on."""
        if not self.doc.dirty:
            return True
        name = self.doc.path.name if self.doc.path else (self.doc.graph.name or "untitled")
        box = QMessageBox(QMessageBox.Icon.Warning, "Unsaved changes",
                          f"Save the changes to “{name}” before closing it?",
                          QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard |
                          QMessageBox.StandardButton.Cancel, self.window)
        box.setObjectName("unsaved_prompt")
        box.setInformativeText("Your changes are lost if you don't save them.")
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        answer = box.exec()
        box.deleteLater()
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    # --- recovery -----------------------------------------------------------------------------

    def offer_recovery(self) -> bool:
        """Offer to restore what a crashed session left; True when a document was restored."""
        restored = False
        for path in Autosave.orphans(self.autosave.folder):
            if path == self.autosave.path:
                continue
            try:
                graph, original, when = read_recovery(path)
            except NetbuilderError:
                Autosave.remove_orphan(path)
                continue
            if restored:
                continue  # one window restores one document; the rest stay for later
            name = Path(original).name if original else (graph.name or "untitled")
            box = QMessageBox(QMessageBox.Icon.Question, "Restore unsaved work?",
                              f"netbuilder did not close properly. Restore the unsaved changes "
                              f"to “{name}”" + (f" from {when}?" if when else "?"),
                              QMessageBox.StandardButton.NoButton, self.window)
            box.setObjectName("recovery_prompt")
            restore = box.addButton("Restore", QMessageBox.ButtonRole.AcceptRole)
            restore.setObjectName("restore_button")
            discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
            discard.setObjectName("discard_button")
            later = box.addButton("Later", QMessageBox.ButtonRole.RejectRole)
            later.setObjectName("later_button")
            later.setToolTip("Keep the recovered work and ask again at the next start")
            box.setDefaultButton(restore)
            box.setEscapeButton(later)
            box.exec()
            chosen = box.clickedButton()
            box.deleteLater()
            if chosen is not restore and chosen is not discard:
                continue  # Later (or closed): the file stays for the next start
            if chosen is restore:
                doc = Document(graph, original)
                doc.undo_stack.resetClean()  # restored work is unsaved work
                self.window.set_document(doc)
                self.status.emit(f"Restored unsaved changes to {name}")
                restored = True
            Autosave.remove_orphan(path)
        if restored:
            self.autosave.save_now()
        return restored

    # --- recent files -------------------------------------------------------------------------

    def recent_files(self) -> list[str]:
        return read_list(app_settings(), KEY_RECENT)

    def add_recent(self, path: Path | str) -> None:
        p = str(Path(path).resolve())
        files = [p] + [f for f in self.recent_files() if f != p]
        app_settings().setValue(KEY_RECENT, files[:MAX_RECENT])
        self.recent_changed.emit()

    def clear_recent(self) -> None:
        app_settings().setValue(KEY_RECENT, [])
        self.recent_changed.emit()

    def _last_dir(self) -> str:
        value = app_settings().value(KEY_LAST_DIR)
        return str(value) if value and Path(str(value)).is_dir() else str(Path.home())

    def _remember_dir(self, path: Path) -> None:
        app_settings().setValue(KEY_LAST_DIR, str(Path(path).resolve().parent))

    # --- dialogs ------------------------------------------------------------------------------

    def show_error(self, title: str, text: str, detail: str, name: str) -> None:
        """A modal error with the loader's (or writer's) own sentence as its informative text."""
        box = QMessageBox(QMessageBox.Icon.Critical, title, text, QMessageBox.StandardButton.Ok,
                          self.window)
        box.setObjectName(name)
        box.setInformativeText(detail)
        box.exec()
        box.deleteLater()
