"""The training process: thread sizing, the body of one run, and the warm worker that serves
runs one after another.

A cold start costs seconds (Python, torch, the trainer, the data set); the editor keeps one
``WarmWorker`` so that its next run pays none of it: the process has imported everything, run
one optimizer step and holds the last data set it loaded. ``Runner(..., worker=w)`` hands it a
run; a worker killed (Stop that did not end, Kill, a crash) is gone and a new one is made.

NOTE: a worker serves one run at a time, and a run is handed over only once the previous one
has sent its last event (Finished or Failed) and the worker has marked it done: the events
queue therefore never carries one run's events into the next run's Runner.
"""
from __future__ import annotations

import importlib
import json
import multiprocessing as mp
import os
import queue
import time
import traceback
from pathlib import Path
from typing import Any

from .events import TERMINAL, Failed, RunStarted

UI_RESERVED_BELOW = 4  # on this many cores or fewer, one core is left to the window


def available_cores() -> int:
    """The cores this process may run on (its affinity mask, which containers and ``taskset``
    narrow), not the machine's count."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def worker_threads(cores: int) -> tuple[int, int]:
    """(intra-op, inter-op) torch threads for a training process that shares ``cores`` cores
    with the editor's window.

    NOTE: OpenMP threads that outnumber free cores spin against each other and the GUI (a 6 s
    run became a minute on a busy 2-core machine): on 4 cores or fewer one is left to the
    window; the inter-op pool (unused by eager training on the CPU) keeps one thread."""
    cores = max(1, int(cores))
    intra = max(1, cores - 1) if cores <= UI_RESERVED_BELOW else cores
    return intra, 1 if cores <= UI_RESERVED_BELOW else 2


def passive_waits() -> None:
    """Have OpenMP's threads sleep while they wait, unless the user chose otherwise; called
    before torch is imported (OpenMP reads it once, when it starts).

    NOTE: spinning threads burn their core for nothing on a busy machine: ``netbuilder train``
    of LeNet-5 (2 epochs of digits, 2 cores at load ~5.5) took 17-28 s of CPU and 28-56 s
    with spinning threads, 8 s of CPU and 10-17 s with passive ones."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def size_threads(cores: int | None = None) -> tuple[int, int]:
    """Apply ``worker_threads`` to torch in this process; returns what was set."""
    import torch

    intra, inter = worker_threads(available_cores() if cores is None else cores)
    torch.set_num_threads(intra)
    try:
        torch.set_num_interop_threads(inter)
    except RuntimeError:  # already set, or parallel work already ran: keep what is there
        pass
    return intra, inter


# --- one run ---------------------------------------------------------------------------------

def run_job(graph_json: str, config: dict | None, out_dir: str | None, resume: str | None,
            control, events, plugins: tuple, trusted: tuple = (),
            weights: bytes | str | None = None, dataset=None) -> None:
    """Train one run in this process, sending its events to ``events``; any escape becomes
    a Failed event (the parent must always hear the end)."""
    from ..graph import trust
    from .trainer import Trainer, TrainingFailed

    trust.allow(trusted)
    try:
        for name in plugins:
            importlib.import_module(name)
        Trainer(graph_json, config, emit=_with_tensorboard(events.put, graph_json,
                                                           out_dir or resume),
                out_dir=out_dir, resume=resume, control=control, weights=weights,
                dataset=dataset).run()
    except TrainingFailed:
        pass  # the trainer has sent its Failed event
    except BaseException as exc:  # noqa: BLE001
        events.put(Failed(f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc()))


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


# --- the warm worker -------------------------------------------------------------------------

class DataCache:
    """The last data set loaded, by name, options and (for files) size and time: the next run
    on the same data does not read it again."""

    def __init__(self, loads=None):
        self._key: Any = None
        self._data = None
        self.loads = loads  # a shared counter of the data sets read (tests and benchmarks)

    @staticmethod
    def key(config: dict | None) -> str | None:
        if not config:
            return None
        from .config import TrainingConfig

        try:
            cfg = TrainingConfig.from_dict(config)
        except Exception:  # noqa: BLE001 (the trainer reports a bad setup itself)
            return None
        try:
            st = os.stat(Path(cfg.dataset).expanduser())
            stamp = (st.st_size, st.st_mtime_ns)
        except (OSError, ValueError):
            stamp = None
        return json.dumps([cfg.dataset, cfg.dataset_options, stamp], sort_keys=True,
                          default=str)

    def get(self, config: dict | None):
        """The data set of ``config`` (cached), or None to let the trainer load it (and report
        its errors, naming the field)."""
        key = self.key(config)
        if key is None:
            return None
        if key != self._key:
            from .data import load_dataset

            self._key = self._data = None
            cfg = json.loads(key)
            try:
                self._data = load_dataset(cfg[0], **dict(cfg[1]))
            except Exception:  # noqa: BLE001 (the trainer loads it again and says what failed)
                return None
            self._key = key
            if self.loads is not None:
                self.loads.value += 1
        return self._data


def _warm_up() -> None:
    """Import what a run needs and take one optimizer step (the first of each pays for lazy
    imports and set-up inside torch), so that the first run starts at once."""
    import torch

    from . import trainer  # noqa: F401 (the trainer, the compiler, the data loaders)
    from .tasks import get_task  # noqa: F401
    from .tensorboard_sink import TensorBoardSink  # noqa: F401

    try:  # every run writes TensorBoard files: its import is a second on a busy machine
        importlib.import_module("torch.utils.tensorboard")
    except ImportError:  # (an optional extra)
        pass

    importlib.import_module(".tasks.classify", __package__)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Flatten(),
                                torch.nn.Linear(8, 2))
    opt = torch.optim.Adam(model.parameters())
    loss = torch.nn.functional.cross_entropy(model(torch.zeros(2, 1, 4, 4)),
                                             torch.zeros(2, dtype=torch.long))
    loss.backward()
    opt.step()


def _prefetch(cache: DataCache, config: dict, graph_json: str | None) -> None:
    cache.get(config)
    if graph_json is None:
        return
    try:  # (shape analysis on meta tensors, code generation, the layers' builders: their
        # first use costs seconds of imports and set-up; a broken graph is the run's to report)
        from ..graph import from_json, trust

        graph = from_json(graph_json)
        if not trust.code_targets(graph):  # a graph naming code is built by its run alone
            graph.analyze()
            graph.build()
    except Exception:  # noqa: BLE001
        pass


def _serve(jobs, flag, probes, in_step, events, done, ready, loads, prefetched,
           cores: int | None = None) -> None:
    """The warm worker's process: size threads (for ``cores`` cores, else all it may use),
    warm up (then ``ready`` is set), then run each job from ``jobs`` until None arrives;
    ``done`` holds the number of the last job finished. A ``("prefetch", config)`` job loads
    that data set into the cache and is not counted."""
    passive_waits()
    size_threads(cores)
    _warm_up()
    ready.value = 1
    from .runner import SharedControl

    cache = DataCache(loads)
    control = SharedControl(flag, probes, in_step)
    parent = os.getppid()
    while True:
        try:
            job = jobs.get(timeout=1.0)
        except queue.Empty:
            if os.getppid() != parent:
                break  # the editor is gone (killed): nobody will send a run again
            continue
        if job is None:
            break
        if job[0] == "prefetch":
            _prefetch(cache, *job[1:])
            prefetched.value += 1
            continue
        number, kwargs = job
        try:
            run_job(**kwargs, control=control, events=events,
                    dataset=cache.get(kwargs["config"]))
        finally:
            in_step.value = 0
            done.value = number
    events.close()
    events.join_thread()


class WarmWorker:
    """A spawned training process that serves runs one at a time (see the module docstring);
    its torch threads are sized for ``cores`` cores (default: all this process may use)."""

    def __init__(self, cores: int | None = None):
        # NOTE: no torch here: the window makes its worker right after it shows, and importing
        # the trainer would freeze it for seconds (``submit`` sets the flag to Control.RUN).
        self._ctx = mp.get_context("spawn")
        self.flag = self._ctx.RawValue("i")
        self.in_step = self._ctx.RawValue("i", 0)
        self.done = self._ctx.RawValue("i", 0)  # the last job it finished
        self.ready = self._ctx.RawValue("i", 0)  # it has warmed up
        self.loads = self._ctx.RawValue("i", 0)  # data sets it has read (its cache's misses)
        self.prefetched = self._ctx.RawValue("i", 0)  # prefetch requests it has carried out
        self.probes = self._ctx.Queue()
        self.events = self._ctx.Queue()
        self._jobs = self._ctx.Queue()
        self.submitted = 0  # the last job handed to it
        self.process = self._ctx.Process(
            target=_serve, name="netbuilder-training", daemon=True,
            args=(self._jobs, self.flag, self.probes, self.in_step, self.events, self.done,
                  self.ready, self.loads, self.prefetched, cores))
        self._closed = False

    def start(self) -> WarmWorker:
        self.process.start()
        return self

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def is_alive(self) -> bool:
        return not self._closed and self.process.is_alive()

    def idle(self) -> bool:
        """Alive and done with every run it was given."""
        return self.is_alive() and self.done.value == self.submitted

    def wait_idle(self, timeout: float) -> bool:
        """Wait (briefly: a run's last event arrives just before the worker marks it done)."""
        deadline = time.monotonic() + timeout
        while not self.idle():
            if not self.is_alive() or time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        return True

    def submit(self, **kwargs) -> int:
        """Hand it a run (``run_job``'s arguments but control and events); its number."""
        from .trainer import Control

        if not self.idle():
            raise RuntimeError("the training worker is busy or gone")
        self.flag.value = Control.RUN
        self.in_step.value = 0
        while True:  # probe requests left from the previous run
            try:
                self.probes.get_nowait()
            except (queue.Empty, OSError, EOFError):
                break
        self.submitted += 1
        self._jobs.put((self.submitted, kwargs))
        return self.submitted

    def prefetch(self, config: dict, graph_json: str | None = None) -> None:
        """Load the data set of ``config`` (a TrainingConfig dict) once warmed up and idle, and
        build ``graph_json``'s model once, so that a run on them starts without reading the
        data or importing its layers (the first run after opening a graph paid both: seconds
        of the 1.5 s allowed to its first step)."""
        self._jobs.put(("prefetch", config, graph_json))

    def finished(self, number: int) -> bool:
        return self.done.value >= number

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()

    def close(self, timeout: float = 2.0) -> None:
        """End the process (asked to leave when idle and warmed up, else killed) and release
        the queues."""
        if self._closed:
            return
        if self.process.pid is not None:
            if self.idle() and self.ready.value:
                self._jobs.put(None)
                self.process.join(timeout)
            if self.process.is_alive():
                self.process.kill()
            self.process.join(timeout)
        self._closed = True
        for q in (self.events, self.probes, self._jobs):
            q.cancel_join_thread()
            q.close()


class WorkerKeeper:
    """The editor's one warm worker: ready for each run, replaced when it dies, ended when
    the window closes. No Qt: the controller calls ``reap`` on its own timer. A sweep keeps
    one per parallel job, each worker sized for that job's ``cores``."""

    def __init__(self, cores: int | None = None):
        self.cores = cores
        self.worker: WarmWorker | None = None
        self.keep_warm = False  # replace a worker that died at once (else at the next run)
        self.release_after_run = False  # end it once the run in progress ends
        self._dead: list[WarmWorker] = []  # killed workers, closed once their process is gone

    def warm_up(self, config: dict | None = None, graph_json: str | None = None) -> None:
        """Start the worker now, and from now on replace it as soon as it dies; ``config`` and
        ``graph_json``: the setup and graph it prepares in advance (``WarmWorker.prefetch``)."""
        self.keep_warm = True
        self._start()
        if config is not None:
            self.worker.prefetch(config, graph_json)

    def _start(self) -> None:
        self.release_after_run = False
        if self.worker is None or not self.worker.is_alive():
            if self.worker is not None:
                self.worker.close()
            self.worker = WarmWorker(self.cores).start()

    def for_run(self) -> WarmWorker:
        """The worker, idle and ready for a run (a new one when it is gone or stuck)."""
        if self.worker is not None and not self.worker.wait_idle(1.0):
            self.worker.close()
            self.worker = None
        self._start()
        return self.worker

    def run_ended(self, runner) -> None:
        """After a run's last event: a worker whose process ended is replaced; one to be
        released is ended."""
        if runner.worker is self.worker and runner.exitcode is not None:
            self._dead.append(self.worker)
            self.worker = None
            if self.keep_warm and not self.release_after_run:
                self._start()
        if self.release_after_run:
            self.release(running=False)

    def release(self, running: bool) -> None:
        """End the worker (the window closes): now, or after the run in progress."""
        self.release_after_run = True
        if not running and self.worker is not None:
            self.worker.close()
            self.worker = None

    def reap(self) -> bool:
        """Close dead workers whose process has gone; True while some remain."""
        for worker in list(self._dead):
            if not worker.process.is_alive():
                self._dead.remove(worker)
                worker.close()
        return bool(self._dead)

    def close(self) -> None:
        for worker in [self.worker, *self._dead]:
            if worker is not None:
                worker.close()
        self.worker = None
        self._dead.clear()
