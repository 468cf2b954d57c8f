"""Running a training in a spawned worker process, controlled from the UI (or a test).

STABLE INTERFACE::

    runner = Runner(graph_json, config_dict, out_dir=None)
    runner.start()
    ...                            # on a timer:
    for event in runner.poll():    # never blocks
        dashboard.show(event)
    runner.pause(); runner.resume(); runner.set_probe(["conv1"]); runner.stop(); runner.kill()
    runner.in_step                 # inside a training step now (a stop there needs the kill)
    runner.is_alive(); runner.wait(timeout)

The worker is *spawned* (CUDA cannot live in a forked child) from a snapshot: the graph file's
JSON text and the config dict, so editing the graph during a run cannot affect it, and a crash,
an out-of-memory kill or a CUDA fault cannot take the editor down. Stop is cooperative (the
trainer checks a shared flag before every step); a worker still alive ``stop_timeout`` seconds
after ``stop()`` is killed. A worker that dies without a Finished/Failed event is reported as
``Failed("the training process exited unexpectedly (exit code N)")``.
"""
from __future__ import annotations

import importlib
import multiprocessing as mp
import queue
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from .events import TERMINAL, Failed, RunStarted
from .trainer import Control


class SharedControl(Control):
    """The worker's view of the Runner's controls: a shared int, a queue of probe lists, and a
    shared int the worker sets while it is inside a training step (step number + 1)."""

    def __init__(self, flag, probes, in_step):
        super().__init__()
        self._flag = flag
        self._probes = probes
        self._in_step = in_step

    def state(self) -> int:
        return self._flag.value

    def step_started(self, step: int) -> None:
        self._in_step.value = step + 1

    def step_ended(self) -> None:
        self._in_step.value = 0

    def take_probe(self) -> Any:
        latest = None
        while True:
            try:
                latest = self._probes.get_nowait()
            except (queue.Empty, OSError, EOFError):
                return latest


def _worker(graph_json: str, config: dict | None, out_dir: str | None, resume: str | None,
            flag, probes, in_step, events, plugins: tuple, trusted: tuple = (),
            weights: bytes | str | None = None) -> None:
    """The child process: import plugins (extra tasks), train, report any escape as Failed.
    ``trusted``: the code targets the parent process was allowed to import; ``weights``:
    what training starts from (safetensors bytes or a file)."""
    from ..graph import trust
    from .trainer import Trainer, TrainingFailed

    trust.allow(trusted)
    try:
        for name in plugins:
            importlib.import_module(name)
        Trainer(graph_json, config, emit=_with_tensorboard(events.put, graph_json,
                                                           out_dir or resume),
                out_dir=out_dir, resume=resume,
                control=SharedControl(flag, probes, in_step), weights=weights).run()
    except TrainingFailed:
        pass  # the trainer has sent its Failed event
    except BaseException as exc:  # noqa: BLE001 (the parent must always hear the end)
        events.put(Failed(f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc()))
    finally:
        events.close()
        events.join_thread()  # everything sent reaches the parent before the process ends


def _with_tensorboard(emit, graph_json: str, folder: str | None):
    """``emit`` that also writes the run's TensorBoard files (when tensorboard is installed).

    The sink is made when training begins (RunStarted), not when the worker starts: a run
    stopped while starting up pays nothing and gets no TensorBoard folder."""
    if folder is None:
        return emit
    sinks: list = []

    def both(event) -> None:
        if isinstance(event, RunStarted) and not sinks:
            from ..graph import from_json
            from .tensorboard_sink import LOG_DIR, TensorBoardSink

            sinks.append(TensorBoardSink.create(Path(folder) / LOG_DIR, from_json(graph_json)))
        sink = sinks[0] if sinks else None
        if sink is None:
            emit(event)
        elif isinstance(event, TERMINAL):
            # NOTE: the files are closed before the parent hears the end: it may take a
            # finished run's folder (and expects the process on its way out) as soon as it does.
            sink(event)
            emit(event)
        else:
            emit(event)
            sink(event)
    return both


class Runner:
    """A training in a spawned process; see the module docstring."""

    def __init__(self, graph_json: str, config: Any = None, out_dir: str | Path | None = None,
                 *, resume: str | Path | None = None, plugins: tuple | list = (),
                 stop_timeout: float = 5.0, weights: bytes | str | Path | None = None):
        if hasattr(config, "to_dict"):
            config = config.to_dict()
        self.graph_json = graph_json
        self.config = config
        self.out_dir = None if out_dir is None else str(out_dir)
        self.resume_dir = None if resume is None else str(resume)
        self.plugins = tuple(plugins)
        self.weights = str(weights) if isinstance(weights, Path) else weights
        self.stop_timeout = stop_timeout
        self._ctx = mp.get_context("spawn")
        self._flag = self._ctx.RawValue("i", Control.RUN)
        self._in_step = self._ctx.RawValue("i", 0)
        self._probes = self._ctx.Queue()
        self._events = self._ctx.Queue()
        self._process: mp.process.BaseProcess | None = None
        self._done = False  # a terminal event was delivered
        self._killed = False
        self._kill_asked = False  # kill() was called (not the stop timeout)
        self._stop_at: float | None = None
        self._timer: threading.Timer | None = None
        self.exitcode: int | None = None

    # --- control -----------------------------------------------------------------------------

    def start(self) -> None:
        from ..graph.trust import allowed

        if self._process is not None:
            raise RuntimeError("this Runner was already started; make a new one")
        self._process = self._ctx.Process(
            target=_worker, name="netbuilder-training", daemon=True,
            args=(self.graph_json, self.config, self.out_dir, self.resume_dir, self._flag,
                  self._probes, self._in_step, self._events, self.plugins, tuple(allowed()),
                  self.weights))
        self._process.start()

    def pause(self) -> None:
        if self._flag.value != Control.STOP:
            self._flag.value = Control.PAUSE

    def resume(self) -> None:
        if self._flag.value != Control.STOP:
            self._flag.value = Control.RUN

    def stop(self) -> None:
        """Ask the worker to stop after its current step; kill it if it has not ended within
        ``stop_timeout`` seconds."""
        self._flag.value = Control.STOP
        if self._stop_at is None and self.is_alive():
            self._stop_at = time.monotonic()
            self._timer = threading.Timer(self.stop_timeout, self._kill_if_alive)
            self._timer.daemon = True
            self._timer.start()

    def set_probe(self, names) -> None:
        """Nodes whose activations the worker sends from now on (``"auto"``, ``"none"``, names)."""
        self._probes.put(list(names) if isinstance(names, (list, tuple)) else names)

    def kill(self) -> None:
        """End the worker now, without waiting for it to stop by itself."""
        self._kill_asked = True
        self._kill_if_alive()

    def _kill_if_alive(self) -> None:
        p = self._process
        if p is not None and p.is_alive():
            self._killed = True
            p.kill()

    # --- state --------------------------------------------------------------------------------

    @property
    def in_step(self) -> bool:
        """The worker is inside a training step (not setting up, validating or saving)."""
        return bool(self._in_step.value)

    def is_alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    @property
    def finished(self) -> bool:
        """A Finished or Failed event has been handed out by ``poll``/``wait``."""
        return self._done

    def poll(self, max_events: int = 1000) -> list:
        """Events received so far (at most ``max_events``); never blocks."""
        out: list = []
        while len(out) < max_events:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                break
            out.append(event)
            if isinstance(event, TERMINAL):
                self._done = True
        if not out and not self._done and self._process is not None \
                and not self._process.is_alive():
            out = self._drain_dead(max_events)
        return out

    def _drain_dead(self, max_events: int) -> list:
        """The process is gone: take what it managed to send, then report how it ended."""
        out: list = []
        while len(out) < max_events:
            try:
                # (all it sent is in the pipe already: no need to wait long for more)
                event = self._events.get(timeout=0.01)
            except queue.Empty:
                break
            out.append(event)
            if isinstance(event, TERMINAL):
                self._done = True
                return out
        if len(out) < max_events and not self._done:
            self._process.join(1.0)
            self.exitcode = self._process.exitcode
            self._done = True
            if self._kill_asked:
                msg = "the training process was ended on request, inside a training step"
            elif self._killed:
                msg = (f"the training did not stop within {self.stop_timeout:g} s and was "
                       f"killed")
            else:
                msg = f"the training process exited unexpectedly (exit code {self.exitcode})"
            out.append(Failed(msg))
        return out

    def wait(self, timeout: float | None = None) -> list:
        """Block until the run has ended (or ``timeout`` seconds); return the events meanwhile."""
        deadline = None if timeout is None else time.monotonic() + timeout
        out: list = []
        while not self._done:
            batch = self.poll()
            out += batch
            if self._done:
                break
            if deadline is not None and time.monotonic() >= deadline:
                break
            if not batch:
                try:
                    event = self._events.get(timeout=0.05)
                except queue.Empty:
                    continue
                out.append(event)
                if isinstance(event, TERMINAL):
                    self._done = True
        if self._done and self._process is not None:
            self._process.join(self.stop_timeout + 1)
            self.exitcode = self._process.exitcode
            if self._timer is not None:
                self._timer.cancel()
        return out

    def close(self) -> None:
        """Stop the worker (if any) and release the queues."""
        if self.is_alive():
            self.stop()
            self.wait(self.stop_timeout + 2)
        if self._process is not None and self._process.is_alive():
            self._process.kill()
            self._process.join(2)
        for q in (self._events, self._probes):
            q.cancel_join_thread()
            q.close()
