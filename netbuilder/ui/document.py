"""A document: one graph, the file it lives in, its undo history and its latest analysis."""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from ..errors import GraphError, NetbuilderError
from ..graph import Diagnostic, Graph


class Document(QObject):
    """Graph + path + ``QUndoStack`` + dirty flag + the analysis that follows every edit.

    NOTE: ``graph`` keeps its identity for the document's whole life (New/Open make a new
    Document), so the scene and panels may hold on to it. Analysis after an edit is coalesced
    with a 0-ms timer: a burst of mutations (a paste, an undo of a group) analyses once.
    """

    dirty_changed = Signal(bool)
    path_changed = Signal(object)  # Path | None
    analysis_updated = Signal(object)  # Analysis
    error_reported = Signal(str)  # a refused edit, for the status bar (never a pop-up)

    def __init__(self, graph: Graph | None = None, path: Path | str | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.graph = graph if graph is not None else Graph("untitled")
        self.path = Path(path) if path is not None else None
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._clean_changed)
        self._analysis = None
        self._analysis_version = -1
        self._emitted_version = -1
        self._structural: list[Diagnostic] | None = None
        # Findings from outside the graph (the training data check), listed after the graph's.
        self.extra_diagnostics: list[Diagnostic] = []
        # Editing inside a block whose definition several blocks use: a view sets the question
        # ``ask_shared_edit(definition, uses) -> "all" | "one" | None``; the answer is kept
        # per opened block, so it is asked once (see shared_edit.py). None: no question.
        self.ask_shared_edit = None
        self.shared_edit_choices: dict = {}
        # NOTE: the main window holds the first analysis until its first paint (analysis imports
        # torch, which takes seconds); see analysis_pending / release_analysis.
        self.analysis_held = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._reanalyze)
        self.graph.changed.connect(self._graph_changed)

    # --- state ------------------------------------------------------------------------------

    @property
    def dirty(self) -> bool:
        return not self.undo_stack.isClean()

    def mark_saved(self, path: Path | str | None = None) -> None:
        """Record that the graph now matches the file (optionally a new one)."""
        if path is not None:
            self.set_path(path)
        self.undo_stack.setClean()

    def _clean_changed(self, clean: bool) -> None:
        self.dirty_changed.emit(not clean)

    def set_path(self, path: Path | str | None) -> None:
        new = Path(path) if path is not None else None
        if new != self.path:
            self.path = new
            self.path_changed.emit(new)

    def title(self) -> str:
        """What a window title shows: the file name (or graph name) and ``*`` when unsaved."""
        base = self.path.name if self.path is not None else (self.graph.name or "untitled")
        return base + (" *" if self.dirty else "")

    # --- edits ------------------------------------------------------------------------------

    def push(self, cmd: QUndoCommand) -> bool:
        """Run ``cmd`` and record it; a refused edit changes nothing and is reported.

        NOTE: the first ``redo`` runs here, not inside ``QUndoStack.push``: an exception raised
        from a virtual call inside Qt cannot propagate, and the stack would keep a command that
        never happened. Commands skip the redo that ``push`` makes right after.
        """
        from . import shared_edit

        try:
            others = shared_edit.plan(self, cmd)
            if others is False:
                return False
            own = others if isinstance(others, shared_edit.OwnDefinition) else None
            if own is not None:
                own.apply(self)
                others = None
            try:
                cmd.redo()
            except NetbuilderError:
                if own is not None:
                    own.revert(self)
                raise
        except NetbuilderError as exc:
            self.error_reported.emit(str(exc))
            return False
        if own is not None:
            cmd = shared_edit.OwnDefinitionCommand(self, cmd, own)
        if others:
            try:
                cmd = shared_edit.AllUsesCommand.after_first(self, cmd, others)
            except NetbuilderError as exc:
                cmd.undo()
                self.error_reported.emit(str(exc))
                return False
        cmd.skip_next_redo = True
        self.undo_stack.push(cmd)
        return True

    def graph_at(self, path: Iterable[str] = ()) -> Graph:
        """The graph shown when the blocks along ``path`` (ids from the root) are opened."""
        g = self.graph
        for block_id in path:
            inner = g.node(block_id).inner
            if inner is None:
                raise GraphError(f"{g.node(block_id).label} is not a block", node=block_id)
            g = inner
        return g

    # --- analysis ---------------------------------------------------------------------------

    def analysis(self):
        """The latest analysis of the whole graph, computed now if an edit made it stale."""
        if self._analysis is None or self._analysis_version != self.graph.version:
            from ..compile import analyze

            self._analysis = analyze(self.graph)
            self._analysis_version = self.graph.version
            self._structural = None
        return self._analysis

    def analysis_pending(self) -> bool:
        """True while analysis is held and none is cached: views show the graph without shapes
        and fill them in on ``analysis_updated``."""
        fresh = self._analysis is not None and self._analysis_version == self.graph.version
        return self.analysis_held and not fresh

    def release_analysis(self, now: bool = False) -> None:
        """Stop holding analysis: it runs on the next event-loop turn (or ``now``) and is
        announced with ``analysis_updated``."""
        self.analysis_held = False
        self._emitted_version = -1
        if now:
            self._timer.stop()
            self._reanalyze()
        else:
            self._timer.start()

    def analysis_at(self, path: Iterable[str] = ()):
        """The analysis of the graph at ``path`` (a block's inner analysis), or None when the
        block's inputs are not wired so its inside has no shapes yet."""
        a = self.analysis()
        for block_id in path:
            info = a.nodes.get(block_id) if a is not None else None
            a = info.inner if info is not None else None
        return a

    def diagnostics(self) -> list[Diagnostic]:
        """Everything ``Graph.check()`` reports: structural findings, then each node's."""
        a = self.analysis()
        if self._structural is None:
            from ..compile.checks import structural

            self._structural = structural(self.graph)
        return self._structural + list(a.diagnostics) + list(self.extra_diagnostics)

    def _graph_changed(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def _reanalyze(self) -> None:
        # Someone may have asked for analysis() in between; panels still need to hear of it.
        a = self.analysis()
        if self._emitted_version != self._analysis_version:
            self._emitted_version = self._analysis_version
            self.analysis_updated.emit(a)
