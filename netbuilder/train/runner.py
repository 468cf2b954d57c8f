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

    Runner(graph_json, config_dict, out_dir, worker=warm)   # run in a WarmWorker (worker.py)

The worker is *spawned* (CUDA cannot live in a forked child) from a snapshot: the graph file's
JSON text and the config dict, so editing the graph during a run cannot affect it, and a crash,
an out-of-memory kill or a CUDA fault cannot take the editor down. Stop is cooperative (the
trainer checks a shared flag before every step); a worker still alive ``stop_timeout`` seconds
after ``stop()`` is killed. A worker that dies without a Finished/Failed event is reported as
``Failed("the training process exited unexpectedly (exit code N)")``. With a ``WarmWorker`` the
run goes to that waiting process instead of a new one; it stays up for the next run unless it
had to be killed.
"""
from __future__ import annotations

import multiprocessing as mp
import queue
import signal
import threading
import time
from pathlib import Path
from typing import Any

from .events import TERMINAL, Failed
from .trainer import Control
from .worker import WarmWorker, passive_waits, run_job, size_threads


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
    """The child process of a one-run Runner: size threads, train, flush the events."""
    try:
        size_threads()
        run_job(graph_json, config, out_dir, resume, SharedControl(flag, probes, in_step),
                events, plugins, trusted, weights)
    finally:
        events.close()
        events.join_thread()  # everything sent reaches the parent before the process ends


class Runner:
    """A training in a spawned process; see the module docstring."""

    def __init__(self, graph_json: str, config: Any = None, out_dir: str | Path | None = None,
                 *, resume: str | Path | None = None, plugins: tuple | list = (),
                 stop_timeout: float = 5.0, weights: bytes | str | Path | None = None,
                 worker: WarmWorker | None = None):
        if hasattr(config, "to_dict"):
            config = config.to_dict()
        self.graph_json = graph_json
        self.config = config
        self.out_dir = None if out_dir is None else str(out_dir)
        self.resume_dir = None if resume is None else str(resume)
        self.plugins = tuple(plugins)
        self.weights = str(weights) if isinstance(weights, Path) else weights
        self.stop_timeout = stop_timeout
        self.worker = worker
        self._job = 0  # its number in the worker
        if worker is None:
            self._ctx = mp.get_context("spawn")
            self._flag = self._ctx.RawValue("i", Control.RUN)
            self._in_step = self._ctx.RawValue("i", 0)
            self._probes = self._ctx.Queue()
            self._events = self._ctx.Queue()
        else:
            self._flag, self._in_step = worker.flag, worker.in_step
            self._probes, self._events = worker.probes, worker.events
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
        if self.worker is not None:
            self._job = self.worker.submit(
                graph_json=self.graph_json, config=self.config, out_dir=self.out_dir,
                resume=self.resume_dir, plugins=self.plugins, trusted=tuple(allowed()),
                weights=self.weights)
            self._process = self.worker.process
            return
        self._process = self._ctx.Process(
            target=_worker, name="netbuilder-training", daemon=True,
            args=(self.graph_json, self.config, self.out_dir, self.resume_dir, self._flag,
                  self._probes, self._in_step, self._events, self.plugins, tuple(allowed()),
                  self.weights))
        # (the child imports torch as it unpickles its target: too late to set it there)
        passive_waits()
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
        if self.is_alive():
            self._killed = True
            self._process.kill()

    # --- state --------------------------------------------------------------------------------

    @property
    def in_step(self) -> bool:
        """The worker is inside a training step (not setting up, validating or saving)."""
        return bool(self._in_step.value)

    def is_alive(self) -> bool:
        """The run is going: its process is alive and (in a warm worker) not done with it."""
        if self._process is None or not self._process.is_alive():
            return False
        return self.worker is None or not self.worker.finished(self._job)

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def finished(self) -> bool:
        """A Finished or Failed event has been handed out by ``poll``/``wait``."""
        return self._done

    def poll(self, max_events: int = 1000) -> list:
        """Events received so far (at most ``max_events``); never blocks."""
        out: list = []
        if self._done and self.worker is not None:
            return out  # the worker's queue belongs to its next run now
        while len(out) < max_events:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                break
            out.append(event)
            if isinstance(event, TERMINAL):
                self._done = True
        # NOTE: a process killed here counts as ended at once: the kernel may take most of a
        # second to tear a big process down on a busy machine, and Stop must not wait for it.
        if not out and not self._done and self._process is not None \
                and (self._killed or not self._process.is_alive()):
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
            self._process.join(0.05 if self._killed else 1.0)
            self.exitcode = self._process.exitcode
            if self.exitcode is None:  # killed, still being torn down
                self.exitcode = -signal.SIGKILL
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
            if self.worker is None or not self._process.is_alive():
                self._process.join(self.stop_timeout + 1)
                self.exitcode = self._process.exitcode
            else:  # the warm worker stays; it marks the run done right after its last event
                self.worker.wait_idle(self.stop_timeout + 1)
            if self._timer is not None:
                self._timer.cancel()
        return out

    def close(self) -> None:
        """Stop the worker (if any) and release the queues (a warm worker's stay open for
        its next run)."""
        if self.is_alive():
            self.stop()
            self.wait(self.stop_timeout + 2)
        if self._timer is not None:
            self._timer.cancel()
        if self.worker is not None:
            if self.is_alive():  # it did not finish the run: the process cannot serve again
                self.worker.kill()
            return
        if self._process is not None and self._process.is_alive():
            self._process.kill()
            self._process.join(2)
        for q in (self._events, self._probes):
            q.cancel_join_thread()
            q.close()
