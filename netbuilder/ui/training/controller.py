"""The training controller: one run of the current document at a time, from Start to the end.

Start checks the setup, the graph's diagnostics and the data shape (``preflight``),
snapshots the graph file text and the config (so editing during a run never touches it), and
starts the engine's ``Runner`` (a spawned worker process). A ~40 ms timer drains the worker's
events; one table says what each event type does here (``_handlers``), and the events the
views show go out on one signal, ``event_received`` (views route them with ``route`` and a
table of their own). Images (activations, samples, histograms) and progress are coalesced to
the newest of each kind per tick, so a slow frame never builds a backlog. How a run ended
(finished, stopped, failed) and what the panel says of it is ``run_end``'s.

NOTE: the engine (``netbuilder.train``) pulls in torch; it is imported on first use, not when
the window installs the dashboard, so opening the editor stays fast.

Runs go to one warm worker process (``netbuilder.train.worker``): made by ``warm_up`` (the
window calls it once shown) or by the first run, it stays up between runs, so the next Train
starts training at once; a worker killed or crashed is replaced, and ``shutdown`` ends it.
"""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from ...errors import NetbuilderError
from ...graph import Diagnostic, to_json
from ...train import events as ev
from ...train.run_store import begin_run, end_run, new_run_dir, write_run_meta
from .history import RunHistory
from .preflight import Preflight
from .run_end import STOPPED, verdict
from .run_store import runs_root

POLL_MS = 40
STOP_ACK_S = 0.4  # the worker leaves its step within this after Stop, or it is ended (so a
# Stop always takes effect within half a second, the kill and its report included)
STOP_TIMEOUT_S = 2.0  # after leaving its step, the worker saves and exits within this
SETUP_STOP_TIMEOUT_S = 0.3  # a stop asked before the first step: end the process now
IDLE, STARTING, RUNNING, PAUSED, STOPPING = "idle", "starting", "running", "paused", "stopping"
ACTIVE = (STARTING, RUNNING, PAUSED, STOPPING)


class TrainingController(QObject):
    """Owns the Runner of the current document; see the module docstring.

    ``start(window)`` and ``stop()`` (plus ``running_changed``) are what the main window's Train
    and Stop actions call.
    """

    running_changed = Signal(bool)
    state_changed = Signal(str)
    message_changed = Signal(str, str)  # text, level: "info" | "warning" | "error" | ""
    run_started = Signal(object)  # RunStarted, once the controller has taken it in
    # Progress, Metrics (also recorded in ``history``), Log, and the newest Activations,
    # Histograms, ConfusionMatrix and Samples (of each kind) of a poll
    event_received = Signal(object)
    checkpoint_saved = Signal(object)  # Path of weights.safetensors (after each epoch's val)
    run_ended = Signal(object)  # the terminal event: Finished or Failed
    runs_changed = Signal()
    probe_changed = Signal(list)
    # (from the preloading thread) what Train needs in this process is imported: views may
    # be made now without waiting for their modules
    preloaded = Signal()

    def __init__(self, document=None, parent: QObject | None = None,
                 poll_ms: int = POLL_MS) -> None:
        super().__init__(parent)
        self.document = document
        self.runner = None
        self.state = IDLE
        self.run_dir: Path | None = None
        self.last_run_dir: Path | None = None
        self.snapshot: tuple[str, dict] | None = None
        self.owner = None  # the latest run's graph: its file, or its document when unsaved
        self.history = RunHistory()
        self.started_event = None
        self.last_progress = None
        self.ended_event = None
        self.followed: str | None = None  # node name whose activations the user wants
        self.base_probe: list[str] | str = "auto"
        self.message: tuple[str, str] = ("", "")  # the panel's current message and level
        self.logs: list = []  # the run's Log events
        self.events_seen = 0
        self.poll_count = 0  # timer ticks that polled a live runner (tests count on them)
        self.worker_state: str | None = None  # the worker's own word: running/paused/stopping
        self.stop_requested_at: float | None = None
        self.stop_latency_s: float | None = None  # Stop → the run's end, as measured here
        self.runs_root_override: Path | None = None
        self.plugins: tuple[str, ...] = ()  # modules the worker imports first (extra tasks)
        self.preflight = Preflight()
        self.workers = None  # the WorkerKeeper of the warm worker runs go to (made on use)
        # what each event does here: (only the newest of a poll counts, handler)
        show = self.event_received.emit
        self._handlers = {
            ev.Metrics: (False, self._metrics), ev.Log: (False, self._log),
            ev.RunStarted: (False, self._run_started), ev.StateChanged: (False, self._state_event),
            ev.Progress: (True, self._progress), ev.Activations: (True, show),
            ev.Histograms: (True, show), ev.ConfusionMatrix: (True, show),
            ev.Samples: (True, show), ev.Finished: (True, self._ended),
            ev.Failed: (True, self._ended)}
        self._timer = QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self.poll)
        self._retiring: list = []
        self._reaper = QTimer(self)
        self._reaper.setInterval(200)
        self._reaper.timeout.connect(self._reap)

    # --- document ---------------------------------------------------------------------------

    def set_document(self, doc) -> None:
        """Follow another document (a run in progress keeps going; it owns its snapshot)."""
        self.document = doc

    def shows_run(self) -> bool:
        """Whether the latest run belongs to the document shown (that graph's file opened
        again included): the views show a document's own run only."""
        return self.owner is not None and self.owner == _owner_of(self.document)

    def runs_root(self) -> Path:
        if self.runs_root_override is not None:
            return Path(self.runs_root_override)
        doc = self.document
        return runs_root(doc.path if doc is not None else None,
                         doc.graph.name if doc is not None else "untitled")

    @property
    def running(self) -> bool:
        return self.state in ACTIVE

    # --- before a run -----------------------------------------------------------------------

    def config(self):
        """The document's TrainingConfig (ConfigError when the saved setup is invalid)."""
        return self.preflight.config(self.document)

    def load_dataset(self, config):
        """The run's dataset, cached by name and options (the check reads it at every Start)."""
        return self.preflight.load_dataset(config)

    def check(self, config=None) -> tuple[list[Diagnostic], list[str]]:
        """(problems that block a run, notes) for the current document and setup."""
        return self.preflight.check(self.document, config)

    # --- control ----------------------------------------------------------------------------

    def start(self, window=None) -> bool:
        """Check, snapshot and start a run; False (with a message) when it cannot start."""
        if self.running or self.document is None:
            return False
        from ...train.config import ConfigError

        try:
            config = self.config()
        except ConfigError as exc:
            self._say(f"The training setup is invalid: {exc}", "error")
            return False
        problems, notes = self.check(config)
        self.preflight.show_problems(self.document, problems, window)
        if problems:
            n = len(problems)
            self._say(f"Cannot train: the graph has {n} problem{'s' if n > 1 else ''} — "
                      f"{problems[0].message}" + (" (see Problems)" if n > 1 else ""), "error")
            return False
        graph = self.document.graph
        try:  # the run starts from the graph's weights (held, or the file beside the graph)
            weights = graph.weights.source() if graph.weights is not None else None
        except NetbuilderError as exc:
            self._say(f"Cannot train: {exc}", "error")
            return False
        return self._launch(to_json(graph), config.to_dict(), None, notes, weights)

    def resume_run(self, run_dir: Path, epochs: int | None = None) -> bool:
        """Continue the run in ``run_dir`` from its last checkpoint (its own graph snapshot),
        up to ``epochs`` epochs in all (default: the larger of the run's and the setup's)."""
        if self.running:
            return False
        run_dir = Path(run_dir)
        try:
            graph_json = (run_dir / "graph.json").read_text(encoding="utf-8")
            config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
            state = json.loads((run_dir / "checkpoint.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self._say(f"{run_dir.name} cannot be resumed: it has no complete checkpoint "
                      f"(graph.json, config.json, checkpoint.json)", "error")
            return False
        done = int(state.get("epoch", 0))
        want = epochs
        if want is None:
            try:
                want = max(int(config.get("epochs", 0)), self.config().epochs)
            except NetbuilderError:
                want = int(config.get("epochs", 0))
        if want <= done:
            self._say(f"{run_dir.name} has already trained {done} epochs: raise Epochs in the "
                      f"setup above {done} to train it further", "warning")
            return False
        config["epochs"] = want
        return self._launch(graph_json, config, run_dir, [(f"Resuming {run_dir.name} after "
                                                          f"epoch {done}")])

    def _launch(self, graph_json: str, config: dict, resume_dir: Path | None,
                notes: list[str], weights=None) -> bool:
        from ...train.runner import Runner

        self.snapshot = (graph_json, json.loads(json.dumps(config)))
        self.owner = _owner_of(self.document)
        if resume_dir is not None:
            run_dir = Path(resume_dir)
            write_run_meta(run_dir, status="running", resumed=time.time())
        else:
            run_dir = new_run_dir(self.runs_root())
            begin_run(run_dir, self.document.graph.name, self.document.path, "editor")
        self.run_dir = run_dir
        self.history = RunHistory()
        self.started_event = self.last_progress = self.ended_event = None
        self.events_seen = 0
        self.logs = []
        self.worker_state = None
        self.stop_requested_at = self.stop_latency_s = None
        self.runner = Runner(graph_json, config, run_dir, resume=resume_dir,
                             plugins=self.plugins, stop_timeout=STOP_TIMEOUT_S, weights=weights,
                             worker=self._workers().for_run())
        self.runner.start()
        self._send_probe()
        self._set_state(STARTING)
        self._say(" · ".join(notes) if notes else "Starting the training process…", "info")
        self._timer.start()
        self.runs_changed.emit()
        return True

    def warm_up(self) -> None:
        """Start the worker process now (in the background), so that Train need not wait for
        it to import torch; from now on one that dies is replaced at once."""
        config = self._shown_config()
        self._workers().warm_up(None if config is None else config.to_dict(),
                                None if config is None else to_json(self.document.graph))
        # what Train needs in this process (torch comes with it), loaded beside the GUI;
        # the shown graph's data set too (Start's check reads it)
        threading.Thread(target=_preload, args=(self, config), name="netbuilder-preload",
                         daemon=True).start()

    def _shown_config(self):
        """The shown document's TrainingConfig, or None (none shown, or a setup Start would
        refuse: it says why then)."""
        from ...train.config import ConfigError

        try:
            return self.config() if self.document is not None else None
        except ConfigError:
            return None

    def release_worker(self) -> None:
        """End the warm worker once no run needs it (the window closes)."""
        if self.workers is not None:
            self.workers.release(self.running)

    def _workers(self):
        if self.workers is None:
            from ...train.worker import WorkerKeeper

            self.workers = WorkerKeeper()
        return self.workers

    @property
    def worker(self):
        """The warm worker (None before the first run or ``warm_up``)."""
        return None if self.workers is None else self.workers.worker

    def pause(self) -> None:
        if self.runner is not None and self.state == RUNNING:
            self.runner.pause()
            self._set_state(PAUSED)

    def resume(self) -> None:
        if self.runner is not None and self.state == PAUSED:
            self.runner.resume()
            self._set_state(RUNNING)

    def stop(self) -> None:
        """Ask the worker to stop after its current step (killed if it does not end soon)."""
        if self.runner is not None and self.running and self.state != STOPPING:
            self.stop_requested_at = time.monotonic()
            if self.last_progress is None:
                # Still starting up (importing torch, loading data, building optimizers): the
                # worker checks the flag only between steps, and there is nothing to save yet,
                # so do not wait for it.
                self.runner.stop_timeout = SETUP_STOP_TIMEOUT_S
            self.runner.stop()
            self._set_state(STOPPING)
            self._say("Stopping…", "info")
            # NOTE: Stop takes effect within STOP_ACK_S: a worker still inside the same
            # training step by then (one huge step, a stuck kernel) is ended; its last
            # checkpoint stays intact. Validating or saving, it is left to finish (it checks
            # for Stop between validation batches; the Runner's own timeout is the backstop).
            runner = self.runner
            QTimer.singleShot(int(STOP_ACK_S * 1000), self, lambda: self._enforce_stop(runner))

    def _enforce_stop(self, runner) -> None:
        if runner is not self.runner or self.state != STOPPING:
            return  # that run has ended meanwhile
        self.poll()  # the acknowledgement may be waiting in the queue
        if runner is self.runner and runner.in_step and runner.is_alive():
            runner.kill()

    def shutdown(self) -> None:
        """Stop the run, take in its last events and release the worker (blocks for up to a
        few seconds: the window is closing, a screenshot was taken, a test ends)."""
        self._timer.stop()
        if self.runner is not None and self.running:
            self.stop()
            self._dispatch(self.runner.wait(STOP_TIMEOUT_S + 2))
        self._reaper.stop()
        for runner in [self.runner, *self._retiring]:
            if runner is not None:
                runner.close()
        self.runner = None
        self._retiring.clear()
        if self.workers is not None:
            self.workers.close()
        if self.running:
            self._set_state(STOPPED)

    # --- probes -----------------------------------------------------------------------------

    def follow_node(self, name: str | None) -> None:
        """Stream the activations of node ``name`` (the canvas selection) from now on."""
        if name == self.followed:
            return
        self.followed = name
        self._send_probe()

    def set_base_probe(self, names) -> None:
        """Nodes probed whatever the selection ("auto", "none" or names: the canvas badges)."""
        self.base_probe = list(names) if isinstance(names, (list, tuple)) else names
        self._send_probe()

    def probe_names(self):
        base = self.base_probe
        if self.followed is None:
            return base
        if base == "auto" and self.snapshot is not None:
            from ...graph import from_json
            from ...train.probe import auto_probe_names

            base = auto_probe_names(from_json(self.snapshot[0]))
        elif base in ("auto", "none"):
            base = []
        return list(dict.fromkeys([*base, self.followed]))

    def _send_probe(self) -> None:
        if self.runner is not None and self.running:
            names = self.probe_names()
            self.runner.set_probe(names)
            self.probe_changed.emit(names if isinstance(names, list) else [names])

    # --- events -----------------------------------------------------------------------------

    def poll(self) -> int:
        """Drain the worker's events and dispatch them; returns how many arrived."""
        if self.runner is None:
            self._timer.stop()
            return 0
        self.poll_count += 1
        return self._dispatch(self.runner.poll(max_events=2000))

    def _dispatch(self, batch: list) -> int:
        if not batch:
            return 0
        self.events_seen += len(batch)
        newest: dict = {}
        for e in batch:
            coalesce, handler = self._handlers.get(type(e), (False, None))
            if coalesce:  # the newest of each kind (samples: of each sample kind)
                newest[(type(e), getattr(e, "kind", None))] = (handler, e)
            elif handler is not None:
                handler(e)
        for handler, e in sorted(newest.values(), key=lambda he: he[0] == self._ended):
            handler(e)  # the run's end last
        return len(batch)

    def _progress(self, e) -> None:
        self.last_progress = e
        self.event_received.emit(e)

    def _metrics(self, e) -> None:
        self.history.add_event(e)
        self.event_received.emit(e)
        if e.split == "val" or (e.epoch_end and self.started_event is not None
                                and not self.started_event.dataset.get("n_val")):
            self.checkpoint_saved.emit(self.run_dir / "weights.safetensors")

    def _log(self, e) -> None:
        self.logs.append(e)
        self.event_received.emit(e)

    def _run_started(self, e) -> None:
        self.started_event = e
        self.history = RunHistory(e.steps_per_epoch, e.metrics)
        if self.run_dir is not None and e.start_epoch > 1:
            # a resumed run: show the epochs it already had
            prior = RunHistory.from_jsonl(self.run_dir / "metrics.jsonl", e.steps_per_epoch)
            prior.higher_is_better = dict(e.metrics)
            self.history = prior
        if self.state == STARTING:
            self._set_state(RUNNING)
        self._say("", "")
        self.run_started.emit(e)

    def _state_event(self, e) -> None:
        self.worker_state = e.state
        if e.state == "paused" and self.state in (RUNNING, PAUSED):
            self._set_state(PAUSED)
        elif e.state == "running" and self.state in (RUNNING, PAUSED, STARTING):
            self._set_state(RUNNING)
        elif e.state == "stopping":
            self._set_state(STOPPING)

    def _ended(self, e) -> None:
        self._timer.stop()
        self.ended_event = e
        if self.stop_requested_at is not None:
            self.stop_latency_s = time.monotonic() - self.stop_requested_at
        runner, self.runner = self.runner, None
        if runner is not None:
            self._retire(runner)
        killed = (self.stop_requested_at is not None and runner is not None
                  and runner.exitcode is not None and runner.exitcode < 0)
        status, text, level = verdict(e, killed_on_stop=killed,
                                      began=self.last_progress is not None, run_dir=self.run_dir)
        self._say(text, level)
        if self.run_dir is not None:
            end_run(self.run_dir, status)
            self.last_run_dir = self.run_dir
        self._set_state(status)
        self.run_ended.emit(e)
        self.runs_changed.emit()
        if runner is not None and self.workers is not None:
            self.workers.run_ended(runner)  # a dead worker is replaced, a released one ended

    def _retire(self, runner) -> None:
        """Release a finished runner once its process has exited, without blocking the GUI.

        NOTE: the worker sends its last event before it flushes its queue and exits; joining
        it here would freeze the window for that long, so a timer checks back instead.
        """
        self._retiring.append(runner)
        if not self._reaper.isActive():
            self._reaper.start()

    def _reap(self) -> None:
        for runner in list(self._retiring):
            if not runner.is_alive():
                self._retiring.remove(runner)
                runner.close()
        dead_left = self.workers is not None and self.workers.reap()
        if not self._retiring and not dead_left:
            self._reaper.stop()

    # --- state ------------------------------------------------------------------------------

    def _set_state(self, state: str) -> None:
        was = self.running
        self.state = state
        self.state_changed.emit(state)
        if was != self.running:
            self.running_changed.emit(self.running)

    def _say(self, text: str, level: str) -> None:
        self.message = (text, level)
        self.message_changed.emit(text, level)


DASHBOARD_MODULES = ("training_panel", "curves", "feature_maps", "samples", "confusion",
                     "histograms")


def _preload(controller: TrainingController, config) -> None:
    """Import the modules a Start uses here (the run's check and Runner: torch) and read the
    shown graph's data set, so that the first Train does not wait seconds for them."""
    import importlib

    for name in ("runner", "batches", "data"):
        importlib.import_module(f"...train.{name}", __package__)
    # the dashboard's views are made on the first Train: their modules (pyqtgraph: a second
    # on a busy machine) are imported here, so the window does not stop for them then
    for name in DASHBOARD_MODULES:
        importlib.import_module(f".{name}", __package__)
    if config is not None:
        try:
            controller.load_dataset(config)
        except Exception:  # noqa: BLE001 (Start's check reads it again and says what is wrong)
            pass
    try:
        controller.preloaded.emit()
    except RuntimeError:  # the window closed meanwhile
        pass


def _owner_of(doc):
    """What identifies a run's graph across reopening: its file; an unsaved one, itself."""
    if doc is None:
        return None
    return str(Path(doc.path).resolve()) if doc.path is not None else doc


def route(table: dict, event) -> None:
    """Call ``table[type(event)]`` with ``event``, if the table has its type (a view's table:
    only the events it shows)."""
    handler = table.get(type(event))
    if handler is not None:
        handler(event)
