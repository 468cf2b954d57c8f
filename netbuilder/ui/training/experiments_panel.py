"""The Experiments dock: define a sweep of the shown graph (SweepEditor), run it in the
background (trials train in worker processes; the window stays live; Stop ends it), and look
at its trials as they finish (ExperimentsView). Any trial opens as a graph with its values
applied and its trained weights, to train further or export.

The sweep lives in the graph's run store (``<stem>.runs/sweeps/<name>/``), as with
``netbuilder sweep``: a sweep of the same name continues where it stopped.
"""
from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...errors import NetbuilderError
from ...train.sweep.space import node_at, sweep_scope
from .experiments import ExperimentsView
from .sweep_editor import SweepEditor, suggest_values
from .sweep_job import Background, SweepJob

POLL_MS = 1000  # how often the study is read while a sweep runs (running trials appear)


def default_name(graph_name: str) -> str:
    """A sweep name from the graph's name (the characters ``sweep_dir`` accepts)."""
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in graph_name)
    return safe.strip(".-") or "sweep"


class ExperimentsPanel(QWidget):
    """Sweep editor + trials view for one main window."""

    sweep_ended = Signal(object)  # None | the reason it failed

    def __init__(self, window, controller, load_weights=None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("experiments")
        self.window, self.controller = window, controller
        self.load_weights = load_weights  # RunInfo → bool: the dashboard's Load weights
        self.job: SweepJob | None = None
        self.folder: Path | None = None
        self.name: str | None = None
        self._reading: Background | None = None
        self._again = False
        self._rating: Background | None = None
        self._rated_for: tuple | None = None
        self.editor = SweepEditor()
        self.editor.config_source = self._config
        self.editor.run_requested.connect(self.run_sweep)
        self.editor.stop_requested.connect(self.stop)
        self.view = ExperimentsView()
        self.view.open_requested.connect(self.open_trial)
        self.view.selection_changed.connect(lambda _n: self._update_buttons())
        self.view.importance.evaluator_changed.connect(lambda _e: self.rate(force=True))
        self.view.tabs.currentChanged.connect(lambda _i: self.rate())
        self.open_button = QPushButton("Open as graph", objectName="experiments_open")
        self.open_button.setToolTip("Open the selected trial's graph (its values applied, its "
                                    "weights loaded) to train further or export")
        self.open_button.clicked.connect(lambda: self.open_trial(self.view.selected_trial()))
        self.further_button = QPushButton("Train further", objectName="experiments_further")
        self.further_button.setToolTip("Open the selected trial and continue its training")
        self.further_button.clicked.connect(
            lambda: self.train_further(self.view.selected_trial()))
        self.message = QLabel(objectName="experiments_message", wordWrap=True)
        self.message.setProperty("role", "muted")
        self.sweeps = QComboBox(objectName="experiments_sweeps")
        self.sweeps.setToolTip("The sweeps of this graph (from the editor or netbuilder sweep)")
        self.sweeps.setMinimumContentsLength(12)
        self.sweeps.activated.connect(lambda _i: self._sweep_chosen())
        actions = QHBoxLayout()
        actions.addWidget(QLabel("Sweep"))
        actions.addWidget(self.sweeps)
        actions.addWidget(self.open_button)
        actions.addWidget(self.further_button)
        actions.addWidget(self.message, 1)
        # NOTE: the editor is the first of the view's tabs, not a pane beside them: the dock
        # is ~600 px wide on a 1366×768 screen, room for the editor or the trials, not both.
        self.view.tabs.insertTab(0, self.editor, "Define")
        self.view.tabs.setCurrentWidget(self.editor)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(actions)
        layout.addWidget(self.view, 1)
        self.poll = QTimer(self, interval=POLL_MS)
        self.poll.timeout.connect(self.refresh)
        self._update_buttons()
        window.document_changed.connect(lambda _d: self.list_sweeps())
        self.list_sweeps()

    # --- defining -------------------------------------------------------------------------------

    def _config(self):
        return self.controller.config()

    def sweep_value(self, node_name: str, param: str) -> None:
        """Add node ``node_name``'s parameter ``param`` to the sweep, with a first list or
        range from its current value (the inspector's Sweep this value…). ``node_name`` is
        dotted for a node inside a block (``layer1.0.conv1``)."""
        name = f"{node_name}.{param}"
        graph, node_id, _ = node_at(self.window.document.graph, name)
        node = graph.node(node_id)
        spec = node.spec.param(param)
        value = node.params.get(param, spec.default)
        note = sweep_scope(self.window.document.graph, name)
        self.editor.add_param(name, suggest_values(spec.kind, value, spec.choices, spec.min,
                                                   spec.max), note)
        self.view.tabs.setCurrentWidget(self.editor)
        self.say(f"Added {name}{': ' + note if note else ''}. Edit its values, then Run sweep")

    # --- running --------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.job is not None and self.job.running()

    def run_sweep(self) -> bool:
        """Start the defined sweep in the background; False (the reason shown) when it
        cannot start."""
        from ...graph import from_json, to_json
        from ...train.sweep import SweepError, sweep_dir

        if self.running or self.window.document is None:
            return False
        doc = self.window.document
        try:
            config = self._config()
            definition = self.editor.definition(config)
            name = self.editor.name.text().strip() or default_name(doc.graph.name)
            folder = sweep_dir(self.controller.runs_root(), name)
        except (SweepError, NetbuilderError) as exc:
            self.editor.show_problem(str(exc))
            return False
        self.editor.show_problem("")
        self.folder, self.name = folder, name
        self._rated_for = None
        graph = from_json(to_json(doc.graph))  # a snapshot: editing goes on meanwhile
        self.job = SweepJob(graph, config, definition, folder, name, self.editor.jobs.value(),
                            self)
        self.job.opened.connect(self._opened)
        self.job.trial_done.connect(lambda _r: self.refresh())
        self.job.ended.connect(self._ended)
        self.job.start()
        self.editor.set_running(True)
        self.view.tabs.setCurrentWidget(self.view.trials_tab)
        self.say(f"Sweep {name!r} starting: {definition.strategy}, "
                 f"{definition.trials or 'all'} trials, {self.editor.jobs.value()} at a time")
        return True

    def _opened(self) -> None:
        """The study exists (a new one was made in the sweep's thread): read it from now on."""
        if self.running:
            self.poll.start()
        self.list_sweeps()
        self.refresh()

    def stop(self) -> None:
        if self.job is not None and self.running:
            self.job.stop()
            self.say("Stopping the sweep: the running trials end within a step…")

    def _ended(self, error) -> None:
        self.poll.stop()
        stopped = self.job is not None and self.job.stopping
        self.editor.set_running(False)
        if error:
            self.editor.show_problem(error)
            self.say("The sweep stopped with an error")
        else:
            self.say(f"Sweep {self.name!r} " + ("stopped: Run sweep continues it" if stopped
                                                else "finished"))
        self.refresh()
        self.sweep_ended.emit(error)

    def shutdown(self) -> None:
        """The window closes: end a running sweep (its finished trials are kept)."""
        if self.job is not None and self.running:
            self.job.stop()
            self.job.join(30)

    # --- showing ----------------------------------------------------------------------------

    def stored_sweeps(self) -> list[str]:
        """The names of the sweeps in the shown graph's run store, newest first."""
        from ...train.sweep.study import STUDY_FILE

        root = self.controller.runs_root() / "sweeps"
        if not root.is_dir():
            return []
        found = [p for p in root.iterdir() if (p / STUDY_FILE).exists()]
        return [p.name for p in sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)]

    def list_sweeps(self) -> None:
        """Fill the sweep chooser; show the newest stored sweep when none is shown yet."""
        names = self.stored_sweeps()
        self.sweeps.blockSignals(True)
        self.sweeps.clear()
        self.sweeps.addItems(names)
        if self.name in names:
            self.sweeps.setCurrentText(self.name)
        self.sweeps.blockSignals(False)
        if names and not self.running and (self.folder is None or self.name not in names):
            self._sweep_chosen()

    def _sweep_chosen(self) -> None:
        from ...train.sweep import SweepError, sweep_dir

        name = self.sweeps.currentText()
        if not name or self.running and name == self.name:
            return
        try:
            self.show_sweep(sweep_dir(self.controller.runs_root(), name), name)
        except (SweepError, NetbuilderError) as exc:
            self.say(str(exc))

    def show_sweep(self, folder, name: str) -> None:
        """Show stored sweep ``name`` (read now)."""
        self.folder, self.name = Path(folder), name
        self._rated_for = None
        self.view.show_sweep(folder, name)
        self.view.tabs.setCurrentWidget(self.view.trials_tab)
        if not self.running:  # its definition in the editor: Run sweep continues it
            d = self.view.definition
            self.editor.apply_settings({
                "params": [p.text() for p in d.params], "strategy": d.strategy,
                "trials": d.trials, "objectives": [o.text() for o in d.objectives],
                "name": name, "jobs": self.editor.jobs.value()})
        self.rate()

    def refresh(self) -> None:
        """Read the study again (off the GUI thread) and show its trials."""
        if self.folder is None:
            return
        if self._reading is not None:
            self._again = True  # read once more when this read is done: it may be stale
            return
        from ...train.sweep.study import STUDY_FILE, load_records

        if not (self.folder / STUDY_FILE).exists():
            return
        folder, name = self.folder, self.name
        self._reading = Background(lambda: load_records(folder, name), self)
        self._reading.done.connect(self._records_read)
        self._reading.failed.connect(self._read_failed)
        self._reading.start()

    def _records_read(self, result) -> None:
        self._reading = None
        if self._again:
            self._again = False
            self.refresh()
        definition, trials = result
        self.view.set_trials(definition, trials)
        self._update_buttons()
        self.rate()

    def _read_failed(self, text: str) -> None:
        self._reading = None
        self.say(text)

    def rate(self, force: bool = False) -> None:
        """Parameter importance, when its tab shows and the complete trials changed."""
        if self.view.tabs.currentWidget() is not self.view.importance or self.folder is None \
                or self._rating is not None:
            return
        key = tuple(t.number for t in self.view.trials if t.state == "complete")
        if key == self._rated_for and not force:
            return
        from ...train.sweep.importance import importances

        folder, name = self.folder, self.name
        evaluator = self.view.importance.evaluator.currentData()
        self._rated_for = key
        self.view.importance.set_busy()
        self._rating = Background(lambda: importances(folder, name, evaluator), self)
        self._rating.done.connect(self._rated)
        self._rating.failed.connect(self._rating_failed)
        self._rating.start()

    def _rated(self, scores) -> None:
        self._rating = None
        self.view.importance.set_scores(scores)

    def _rating_failed(self, text: str) -> None:
        self._rating = None
        self.view.importance.set_failed(text)

    # --- trials ------------------------------------------------------------------------------

    def _update_buttons(self) -> None:
        trial = self.view.trial(self.view.selected_trial()) \
            if self.view.selected_trial() is not None else None
        has_run = trial is not None and trial.run_dir is not None and \
            (Path(trial.run_dir) / "graph.json").exists()
        self.open_button.setEnabled(has_run)
        self.further_button.setEnabled(has_run and not self.controller.running)

    def trial_graph(self, number: int):
        """Trial ``number``'s graph as it trained (its values applied, its setup in it)."""
        from ...graph import from_json

        trial = self.view.trial(number)
        if trial is None or not trial.run_dir:
            raise NetbuilderError(f"trial {number} has no run folder (it did not train)")
        folder = Path(trial.run_dir)
        try:
            graph = from_json((folder / "graph.json").read_text(encoding="utf-8"))
            config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise NetbuilderError(f"trial {number}: cannot read its run in {folder} "
                                  f"({exc})") from None
        graph.training = config
        graph.name = f"{graph.name}-trial-{number}"
        return graph

    def open_trial(self, number: int | None) -> bool:
        """Open trial ``number`` as the window's document (asking to save the one shown)."""
        from ..document import Document
        from .run_store import read_run

        if number is None:
            return False
        try:
            graph = self.trial_graph(number)
        except NetbuilderError as exc:
            self.say(str(exc))
            return False
        if not self.window.files.maybe_save():
            return False
        self.window.set_document(Document(graph, None))
        self.view.select_trial(number)
        run = read_run(Path(self.view.trial(number).run_dir))
        if self.load_weights is not None and run is not None and run.has_weights:
            self.load_weights(run)
        self.say(f"Opened trial {number} as {graph.name!r}: train it further, or export it")
        return True

    def train_further(self, number: int | None) -> bool:
        """Open trial ``number`` and continue its training for as many epochs again."""
        if not self.open_trial(number):
            return False
        run_dir = Path(self.view.trial(number).run_dir)
        config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
        state = {}
        if (run_dir / "checkpoint.json").exists():
            state = json.loads((run_dir / "checkpoint.json").read_text(encoding="utf-8"))
        done = int(state.get("epoch", 0))
        return self.controller.resume_run(run_dir, done + max(1, int(config.get("epochs", 1))))

    def say(self, text: str) -> None:
        self.message.setText(text)
