"""What a run tells and keeps: its events, its counters (``RunState``) and its run folder.

The seam of training (see trainer.py): the ``Trainer`` sets a run up and walks its phases, the
``EpochRunner`` (epoch.py) trains and validates one epoch, and the ``RunRecord`` here is what
both report to: it emits events, counts steps and epochs, picks the best epoch's weights,
writes checkpoints, history and the summary, resumes a run from its folder, and ends a run
(finished, stopped or failed). Neither of the other two reaches into it except through the
methods below, and it knows nothing of either.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..graph import Graph, to_json
from . import distributed
from .checkpoint import WEIGHTS, RunFiles, load_weights, state_tensors
from .config import TrainingConfig
from .device import rng_state
from .events import Failed, Finished, Log
from .tasks.base import StepContext, TrainingError


class TrainingFailed(TrainingError):
    """The run stopped with a Failed event; ``result`` holds what was done before (if any)."""

    def __init__(self, message: str, result: RunResult | None = None, field: str | None = None):
        super().__init__(message, field=field)
        self.result = result


@dataclass
class RunResult:
    history: list  # one dict per epoch (train_*, val_* metrics, lr, samples_per_s, ...)
    summary: dict
    model: torch.nn.Module
    best_epoch: int | None
    out_dir: Path | None = None


@dataclass
class RunState:
    epoch: int = 0  # epochs completed
    step: int = 0  # optimizer steps completed
    best_epoch: int | None = None
    best_value: float | None = None
    bad_epochs: int = 0
    history: list = field(default_factory=list)
    stop_reason: str | None = None
    train_time: float = 0.0
    train_cpu: float = 0.0
    train_samples: int = 0
    schedule: dict = field(default_factory=dict)
    phase_name: str = ""


class RunRecord:
    """A run's events, state and files. ``emit`` is None on every rank but the main one (and
    when nobody listens); ``out_dir`` None keeps nothing on disk."""

    def __init__(self, config: TrainingConfig, dist: distributed.DistInfo, *,
                 emit: Callable[[Any], None] | None = None, out_dir: str | Path | None = None,
                 resume: str | Path | None = None):
        self.config = config
        self.dist = dist
        self._emit = emit if (emit is not None and dist.is_main) else None
        self.resume_dir = Path(resume) if resume is not None else None
        if self.resume_dir is not None and out_dir is None:
            out_dir = self.resume_dir
        self.files = RunFiles(out_dir) if out_dir is not None and dist.is_main else None
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.state = RunState()
        self.monitor: str | None = None  # the metric that picks the best epoch (summary.json)
        self._ctx: StepContext | None = None  # the run's device, module and optimizers
        self._augment = None  # its random stream is checkpointed with the others
        self._committed = False  # a checkpoint was written by this run
        self._last_good: dict | None = None  # the weights a NaN/Inf falls back to

    @property
    def main(self) -> bool:
        """Whether events go anywhere (the dashboard's extra work is wasted otherwise)."""
        return self._emit is not None

    @property
    def started(self) -> bool:
        return self._ctx is not None

    # --- events ---------------------------------------------------------------------------

    def emit(self, event) -> None:
        if self._emit is not None:
            self._emit(event)

    def log(self, message: str, level: str = "info") -> None:
        self.emit(Log(message, level))

    # --- the run folder ----------------------------------------------------------------------

    def begin(self, ctx: StepContext, augment) -> None:
        """Training is about to start in ``ctx`` (its optimizers are set per phase)."""
        self._ctx, self._augment = ctx, augment

    def write_snapshot(self, graph: Graph) -> None:
        """The graph and settings the run trains, beside its weights."""
        if self.files is None:
            return
        self.files.ensure()
        graph = graph.copy()
        graph.weights = None  # (the run keeps its own weights; the graph's stay beside it)
        graph.training = self.config.to_dict()
        self.files.write_snapshot(to_json(graph), self.config.to_dict())

    def write_preprocessing(self, record: dict) -> None:
        if self.files is not None:
            self.files.write_preprocessing(record)

    def resume(self, module: torch.nn.Module, total_epochs: int
               ) -> tuple[int, list | None, dict | None]:
        """Load the resumed run's weights and state: ``(first epoch to train, optimizer
        states, random streams)``; ``(1, None, None)`` for a fresh run."""
        if self.resume_dir is None:
            return 1, None, None
        files = RunFiles(self.resume_dir)
        found = files.load_checkpoint()  # verified: a torn set is refused here
        state, opt_states = found.state, found.optimizers
        load_weights(module, files.path(found.state.get("set", ".")) / WEIGHTS, found.tensors)
        s = self.state
        s.epoch = int(state.get("epoch", 0))
        s.step = int(state.get("step", 0))
        s.best_epoch = state.get("best_epoch")
        s.best_value = state.get("best_value")
        s.bad_epochs = int(state.get("bad_epochs", 0))
        s.train_time = float(state.get("train_time", 0.0))
        s.train_cpu = float(state.get("train_cpu", 0.0))
        s.train_samples = int(state.get("train_samples", 0))
        s.schedule = dict(state.get("schedule", {}))
        s.phase_name = str(state.get("phase", ""))
        s.history = (self.files.truncate_history(s.epoch) if self.files is not None
                     else [r for r in files.read_history() if r.get("epoch", 0) <= s.epoch])
        self.log(f"Resuming after epoch {s.epoch} (step {s.step}) from {self.resume_dir}")
        if s.epoch >= total_epochs:
            self.log(f"The run already has {s.epoch} epochs; raise epochs to train further")
        return s.epoch + 1, opt_states, found.rng

    def record_epoch(self, record: dict) -> None:
        """One finished epoch's row of the history (kept and appended to history.jsonl)."""
        self.state.history.append(record)
        if self.files is not None:
            self.files.append_history(record)

    def save_best(self, module: torch.nn.Module) -> dict | None:
        """Keep ``module``'s weights as the best so far; returns them when they were read."""
        if self.files is None:
            return None
        tensors = state_tensors(module)
        self.files.save_best(tensors)
        return tensors

    def keep_good(self, tensors: dict) -> None:
        """Weights a NaN/Inf later in the run falls back to."""
        self._last_good = tensors

    def checkpoint(self, tensors: dict) -> None:
        """Save weights + optimizer state + trainer state (only after a finite epoch)."""
        self._last_good = tensors
        if self.files is None:
            return
        s = self.state
        rng = rng_state(self._ctx.device, self._augment)
        self.files.save_checkpoint(tensors, self._ctx.optimizers, rng=rng, state={
            "epoch": s.epoch, "step": s.step, "best_epoch": s.best_epoch,
            "best_value": s.best_value, "bad_epochs": s.bad_epochs, "train_time": s.train_time,
            "train_cpu": s.train_cpu,
            "train_samples": s.train_samples, "schedule": s.schedule, "phase": s.phase_name,
            "config": self.config.to_dict()})
        self._committed = True

    # --- the end -------------------------------------------------------------------------------

    def fail(self, message: str, tb: str = "", field: str | None = None,
             result: RunResult | None = None):
        """Emit Failed, record it in summary.json and raise ``TrainingFailed``."""
        s = self.state
        step = s.step if self.started else None
        epoch = s.epoch + 1 if self.started else None
        self.emit(Failed(message, step, epoch, tb))
        if self._may_write_summary():
            self.files.write_summary({**self.summary("failed"), "error": message})
        raise TrainingFailed(message, result, field=field)

    def fail_nan(self, what: str, step: int, epoch: int) -> None:
        """Stop with a clear message and restore the last good weights."""
        message = (f"{what} at step {step} (epoch {epoch}): lower the learning rate or enable "
                   f"gradient clipping")
        self.state.stop_reason = "nan"
        module = self._ctx.module
        if self._last_good is not None:
            module.load_state_dict(self._last_good)
        s = self.state
        s_epoch = s.epoch
        self.emit(Failed(message, step, epoch))
        summary = {**self.summary("failed"), "error": message, "epochs_done": s_epoch}
        if self._may_write_summary():
            self.files.write_summary(summary)
        result = RunResult(list(s.history), summary, module, s.best_epoch, self.out_dir)
        raise TrainingFailed(message, result)

    def _may_write_summary(self) -> bool:
        """A failure is recorded in summary.json, except a resume's before it has committed
        a checkpoint of its own: the folder still holds the earlier run, whose summary stays."""
        if self.files is None or not self.files.root.exists():
            return False
        return self.resume_dir is None or self._committed

    def summary(self, status: str) -> dict:
        s = self.state
        last = s.history[-1] if s.history else {}
        return {
            "status": status, "epochs_done": s.epoch, "steps": s.step,
            "final": {k: v for k, v in last.items() if k not in ("epoch", "step", "phase")},
            "best_epoch": s.best_epoch, "monitor": self.monitor, "best_value": s.best_value,
            # every rank trains as many samples as rank 0: the whole job's throughput
            "samples_per_s": (s.train_samples * self.dist.world_size / s.train_time)
            if s.train_time > 0 else None,
            "train_time_s": s.train_time, "train_cpu_s": s.train_cpu,
            "stop_reason": s.stop_reason,
            "weights": str(self.files.path("weights.safetensors")) if self.files else None,
            "best_weights": (str(self.files.path("best.safetensors"))
                             if self.files and s.best_epoch is not None else None),
            "device": str(self._ctx.device) if self._ctx else None,
        }

    def finish(self, module: torch.nn.Module) -> RunResult:
        """The run ended (all epochs, early stopping or a Stop): last checkpoint, summary,
        Finished."""
        s = self.state
        status = "stopped" if s.stop_reason == "user" else "finished"
        if self.files is not None:
            self.checkpoint(state_tensors(module))
        summary = self.summary(status)
        if self.files is not None:
            self.files.write_summary(summary)
        self.emit(Finished(summary))
        return RunResult(list(s.history), summary, module, s.best_epoch, self.out_dir)
