"""File → Load Weights…: a run's or a file's weights become the graph's weights, for the next
run and for export (written beside the graph file when it is saved).

The reading and checking is ``compile.weights`` (the one answer to "do these weights fit?");
this module only asks, reports and pushes one undoable command.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QFileDialog

from ..errors import NetbuilderError

WEIGHTS_FILTER = ("Weights (*.safetensors *.pt *.pth);;Run checkpoints (weights.safetensors);;"
                  "All files (*)")
RUN_WEIGHTS = "weights.safetensors"  # what a run folder holds (its last checkpoint's)


def install_weights_action(window) -> QAction:
    """Add File → Load Weights… before Save (idempotent)."""
    if "load_weights" in window.actions:
        return window.actions["load_weights"]
    action = QAction("Load &Weights…", window)
    action.setObjectName("action_load_weights")
    tip = ("Use a run's or a file's weights (.safetensors, or a .pt/.pth of tensors) as the "
           "graph's: the next run starts from them and exports carry them")
    action.setStatusTip(tip)
    action.setToolTip(tip)
    action.triggered.connect(lambda: load_weights_dialog(window))
    window.actions["load_weights"] = action
    menu = getattr(window, "menus", {}).get("file")
    if menu is not None:
        entries = menu.actions()
        save = window.actions.get("save")
        menu.insertAction(save if save in entries else None, action)
    return action


def load_weights_dialog(window, path: str | Path | None = None) -> bool:
    """Ask for a weights file (or take ``path``: a file or a run folder) and load it."""
    if path is None:
        start = _start_folder(window)
        path, _ = QFileDialog.getOpenFileName(window, "Load weights", start, WEIGHTS_FILTER)
        if not path:
            return False
    return load_weights_into(window, Path(path))


def load_weights_into(window, path: Path, run_name: str | None = None,
                      quiet: bool = False) -> bool:
    """Check ``path``'s tensors against the graph as drawn now; when they fit, make them the
    graph's weights (one undo step). A mismatch is explained, naming the tensors (in a
    dialog; ``quiet``: in the status bar)."""
    from ..compile.weights import fit_weights, read_weights, to_safetensors
    from ..graph.weights import GraphWeights
    from .training.commands import SetWeightsCommand

    doc = window.document
    source = path / RUN_WEIGHTS if path.is_dir() else path
    label = run_name or source.name
    QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        tensors = read_weights(source, str(source))
        fit = fit_weights(doc.graph.build().state_dict(), tensors)
    except NetbuilderError as exc:
        QGuiApplication.restoreOverrideCursor()
        _error(window, f"The weights of {label} could not be read.", str(exc), label, quiet)
        return False
    QGuiApplication.restoreOverrideCursor()
    if not fit.ok:
        _error(window, f"The weights of {label} do not fit the graph as it is drawn now.",
               fit.message(str(source), limit=8), label, quiet)
        return False
    weights = GraphWeights(data=to_safetensors(tensors), origin=str(source))
    if not doc.push(SetWeightsCommand(doc, weights, f"Load weights of {label}")):
        return False
    n = sum(t.numel() for t in tensors.values())
    note = fit.fresh_note()
    window.show_message(f"Loaded the weights of {label} into the graph ({len(tensors)} tensors, "
                        f"{n:,} values): the next run starts from them; saving the graph "
                        f"writes them beside it" + (f" ({note})" if note else ""), 10000)
    return True


def _start_folder(window) -> str:
    """The document's runs folder when it has one, else the last folder used."""
    doc = window.document
    try:
        from .training.run_store import runs_root

        root = runs_root(doc.path, doc.graph.name)
        if Path(root).is_dir():
            return str(root)
    except (ImportError, OSError):
        pass
    files = getattr(window, "files", None)
    last = getattr(files, "_last_dir", None)
    return last() if callable(last) else str(Path.home())


def _error(window, text: str, detail: str, label: str, quiet: bool) -> None:
    if quiet:
        window.show_message(f"Cannot load the weights of {label}: {detail}", 15000)
        return
    window.files.show_error("Cannot load the weights", text, detail, "load_weights_error")


__all__ = ["install_weights_action", "load_weights_dialog", "load_weights_into"]
