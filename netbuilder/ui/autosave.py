"""The recovery file: a dirty document written aside every minute, offered back after a crash.

Weights the graph holds but no file has yet (Load Weights…, an import with weights) are written
beside the recovery file (``autosave-….safetensors``, once per set of weights, before the file
that names them) and come back with the graph; weights already in a file beside the graph are
found there again.
"""
from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, QTimer, Signal

from ..errors import FileFormatError
from ..graph import graph_from_dict, graph_to_dict, strict_json
from ..graph.weights import SUFFIX, GraphWeights
from .document import Document
from .settings import data_dir

AUTOSAVE_ENV = "NETBUILDER_AUTOSAVE_MS"
AUTOSAVE_MS = 60_000
RECOVERY_MARK = "netbuilder_recovery"


def held_weights_path(recovery: Path) -> Path:
    """Where the weights held by a recovery file's graph lie: beside it, named after it."""
    return Path(recovery).with_suffix(SUFFIX)


class Autosave(QObject):
    """Writes the document to a recovery file while it has unsaved changes.

    NOTE: the lock beside the recovery file is held for the session's life. On the next start a
    recovery file whose lock can be taken belonged to a process that is gone (QLockFile knows a
    dead owner), so it is offered for restoring; a live session's file is left alone.
    A failed write is announced once (``failed``) until a write succeeds again, and never
    touches the recovery file already there.
    """

    saved = Signal(str)  # the recovery file written
    failed = Signal(str)  # why the recovery file could not be written

    def __init__(self, parent: QObject | None = None, interval_ms: int | None = None):
        super().__init__(parent)
        self.folder = data_dir() / "recovery"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            pass  # reported by the first autosave that cannot write
        self.path = self.folder / f"autosave-{uuid.uuid4().hex[:12]}.json"
        self._lock = QLockFile(str(self.path) + ".lock")
        self._lock.setStaleLockTime(0)
        self._lock.tryLock(0)
        self.doc: Document | None = None
        self._written_index = None
        self._written_weights: GraphWeights | None = None  # the held weights on disk now
        self._failing = False
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms if interval_ms is not None else autosave_interval())
        self.timer.timeout.connect(self.save_now)
        self.timer.start()

    @property
    def weights_path(self) -> Path:
        return held_weights_path(self.path)

    def set_document(self, doc: Document) -> None:
        self.doc = doc
        self._written_index = None
        self.discard()

    def save_now(self) -> bool:
        """Write the recovery file if the document has changes not yet written there."""
        # (lazily: files imports this module)
        from .files import atomic_write, write_failure, write_text_atomic

        doc = self.doc
        if doc is None or not doc.dirty:
            return False
        index = (id(doc), doc.undo_stack.index(), doc.graph.version)
        if index == self._written_index and self.path.exists():
            return False
        weights = doc.graph.weights
        held = weights is not None and weights.data is not None
        payload = {RECOVERY_MARK: 1, "path": str(doc.path) if doc.path else None,
                   "saved": time.strftime("%Y-%m-%d %H:%M"), "pid": os.getpid(),
                   "graph": graph_to_dict(doc.graph)}
        if held:
            payload["held_weights"] = {"origin": weights.origin}
        elif weights is not None and weights.folder is not None:
            payload["weights_folder"] = str(weights.folder)  # (a document without a path)
        try:
            # NOTE: the weights first: a recovery file never names weights not yet written.
            # Megabytes each: written once per set of weights, not at every autosave.
            if held and (self._written_weights is not weights or
                         not self.weights_path.exists()):
                atomic_write(self.weights_path, weights.data)
                self._written_weights = weights
            write_text_atomic(self.path, json.dumps(payload, indent=1))
        except (OSError, TypeError, ValueError) as exc:
            # A failed autosave must never disturb the person's work: one message, no dialog.
            if not self._failing:
                self._failing = True
                reason = write_failure(self.path, exc) if isinstance(exc, OSError) else str(exc)
                self.failed.emit(reason)
            return False
        if not held:
            self._drop_weights()
        self._failing = False
        self._written_index = index
        self.saved.emit(str(self.path))
        return True

    def _drop_weights(self) -> None:
        self._written_weights = None
        try:
            self.weights_path.unlink(missing_ok=True)
        except OSError:
            pass  # left behind: removed with its recovery file, or harmless

    def discard(self) -> None:
        """Remove the recovery file (after a clean save, a close, or a restore)."""
        self._written_index = None
        try:
            self.path.unlink(missing_ok=True)
        except OSError:
            pass  # a recovery file that cannot be removed is offered again: harmless
        self._drop_weights()

    def shutdown(self) -> None:
        self.timer.stop()
        self.discard()
        self._lock.unlock()

    @staticmethod
    def orphans(folder: Path | None = None) -> list[Path]:
        """Recovery files left by sessions that ended without cleaning up (crashes)."""
        folder = folder or data_dir() / "recovery"
        out = []
        for path in sorted(folder.glob("autosave-*.json")) if folder.is_dir() else []:
            lock = QLockFile(str(path) + ".lock")
            lock.setStaleLockTime(0)
            if lock.tryLock(0):
                lock.unlock()
                out.append(path)
        return out

    @staticmethod
    def remove_orphan(path: Path) -> None:
        """Remove a recovery file that was restored or discarded, with what lies beside it."""
        for p in (Path(path), Path(str(path) + ".lock"), held_weights_path(path)):
            p.unlink(missing_ok=True)


def read_recovery(path: Path) -> tuple[object, str | None, str]:
    """``(graph, original path, when)`` from a recovery file; raises FileFormatError.

    The graph comes back with its weights: those held beside the recovery file (none when
    that file is gone), else the file the graph names, in its own folder."""
    try:
        data = strict_json.loads(Path(path).read_text(encoding="utf-8"), str(path))
    except FileFormatError:
        raise
    except (OSError, ValueError) as exc:
        raise FileFormatError(f"unreadable recovery file ({exc})", path=str(path)) from None
    if not isinstance(data, dict) or data.get(RECOVERY_MARK) != 1:
        raise FileFormatError("not a netbuilder recovery file", path=str(path))
    graph = graph_from_dict(data.get("graph"), str(path))
    original = data.get("path")
    original = original if isinstance(original, str) else None
    held = data.get("held_weights")
    if isinstance(held, dict):
        try:
            blob = held_weights_path(path).read_bytes()
        except OSError:
            blob = None  # gone (removed by hand): the graph is still worth restoring
        origin = held.get("origin")
        graph.weights = GraphWeights(data=blob, origin=origin if isinstance(origin, str)
                                     else "recovered weights") if blob else None
    elif graph.weights is not None:  # named beside the graph's own file, not the recovery's
        folder = data.get("weights_folder")
        folder = folder if isinstance(folder, str) else \
            str(Path(original).parent) if original else None
        graph.weights = GraphWeights(graph.weights.name, folder) if folder else None
    return graph, original, str(data.get("saved", ""))


def autosave_interval() -> int:
    try:
        return max(100, int(os.environ.get(AUTOSAVE_ENV, AUTOSAVE_MS)))
    except ValueError:
        return AUTOSAVE_MS


__all__ = ["AUTOSAVE_ENV", "AUTOSAVE_MS", "RECOVERY_MARK", "Autosave", "autosave_interval",
           "held_weights_path", "read_recovery"]
