"""The trainer: graph + TrainingConfig → a trained module, a history and a stream of events.

``Trainer(graph, config, emit=callback, out_dir=DIR).run()`` builds the module from the graph,
loads and checks the data, then runs the task's phases epoch by epoch. It never branches on the
task: everything task-specific goes through the ``Task`` interface (tasks/base.py).

NOTE (host syncs): a training step reads nothing back from the device. Step results wait in an
``emission.Window`` and are fetched together when an event is due (≤ ``events.metrics_hz``) or at
the epoch end; NaN/Inf losses are found in that same fetch, with the exact step they happened at.
"""
from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..compile import frozen_layers, penalised_layers
from ..compile.weights import apply_weights, load_graph_weights, read_weights
from ..errors import NetbuilderError
from ..graph import Graph, from_json, to_json
from . import distributed
from .batches import Batches, prepare_data, preprocessing_record
from .checkpoint import WEIGHTS, RunFiles, load_weights, state_tensors
from .config import TrainingConfig
from .data import DataError
from .device import convolutional, describe, plan, resolve_device, rng_state, set_rng_state
from .epoch import EpochRunner
from .events import Failed, Finished, Log, RunStarted
from .losses import make_loss
from .memory import memory_warning
from .probe import Prober
from .recipe import freeze
from .tasks.base import Phase, StepContext, TrainingError
from .validation import checked_task


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


class Control:
    """Cooperative control of a running trainer: checked before every step (cheap reads).

    The Runner's worker uses a subclass backed by shared memory; in-process callers (tests,
    scripts, a thread) use this one directly.
    """

    RUN, PAUSE, STOP = 0, 1, 2

    def __init__(self):
        self._state = self.RUN
        self._probe: Any = None

    def state(self) -> int:
        return self._state

    def pause(self) -> None:
        self._state = self.PAUSE

    def resume(self) -> None:
        self._state = self.RUN

    def stop(self) -> None:
        self._state = self.STOP

    def set_probe(self, names) -> None:
        self._probe = list(names) if isinstance(names, (list, tuple)) else names

    def step_started(self, step: int) -> None:
        """The trainer is inside training step ``step`` until ``step_ended`` (a Runner ends a
        stopped worker that stays inside a step; validating or saving, it lets it finish)."""

    def step_ended(self) -> None:
        """The training step has returned."""

    def take_probe(self) -> Any:
        """A new probe setting since the last call, or None."""
        p, self._probe = self._probe, None
        return p


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


class Trainer:
    """Runs one training. ``emit`` receives events; files go to ``out_dir`` when given."""

    def __init__(self, graph: Graph | str, config: TrainingConfig | dict | None = None, *,
                 emit: Callable[[Any], None] | None = None, out_dir: str | Path | None = None,
                 resume: str | Path | None = None, control: Control | None = None,
                 dist: distributed.DistInfo | None = None, dataset=None,
                 weights: bytes | str | Path | None = None):
        if isinstance(graph, str):
            graph = from_json(graph)
        self.graph = graph
        if config is None:
            config = TrainingConfig.from_graph(graph)
        elif isinstance(config, dict):
            config = TrainingConfig.from_dict(config)
        self.config = config.validate()
        self.dist = dist or distributed.from_env()
        self._emit = emit if (emit is not None and self.dist.is_main) else None
        self.resume_dir = Path(resume) if resume is not None else None
        if self.resume_dir is not None and out_dir is None:
            out_dir = self.resume_dir
        self.files = RunFiles(out_dir) if out_dir is not None and self.dist.is_main else None
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.control = control or Control()
        self.dataset = dataset  # a DatasetArrays to use instead of loading config.dataset
        # the weights training starts from: given (bytes or a file), else the graph's own
        self.weights = weights
        self.state = RunState()
        self._committed = False  # a checkpoint was written by this trainer
        self._augment = None
        self.ctx: StepContext | None = None
        self.module: torch.nn.Module | None = None

    # --- events ---------------------------------------------------------------------------

    def emit(self, event) -> None:
        if self._emit is not None:
            self._emit(event)

    def log(self, message: str, level: str = "info") -> None:
        self.emit(Log(message, level))

    # --- the run ----------------------------------------------------------------------------

    def run(self) -> RunResult:
        try:
            return self._run()
        except TrainingFailed:
            raise
        except (NetbuilderError, DataError) as exc:
            self._fail(str(exc), field=getattr(exc, "field", None))
        except torch.cuda.OutOfMemoryError:
            self._fail("the GPU ran out of memory: lower the batch size, or choose bf16 "
                       "precision")
        except Exception as exc:  # a bug or a torch error mid-run: report it, keep the trace
            self._fail(f"{type(exc).__name__}: {exc}", tb=traceback.format_exc())
        raise AssertionError("unreachable")

    def _fail(self, message: str, tb: str = "", field: str | None = None,
              result: RunResult | None = None):
        s = self.state
        step = s.step if self.ctx is not None else None
        epoch = s.epoch + 1 if self.ctx is not None else None
        self.emit(Failed(message, step, epoch, tb))
        if self._may_write_summary():
            self.files.write_summary({**self._summary("failed"), "error": message})
        raise TrainingFailed(message, result, field=field)

    def _run(self) -> RunResult:
        cfg = self.config
        # Analysed before seeding: a graph's first analysis may draw random numbers (first
        # imports, shape probes), and the weights must not depend on whether it ran already
        # (an exported model.py, seeded alike, starts from the same weights).
        analysis = self.graph.analyze()
        torch.manual_seed(cfg.seed)
        np.random.seed(cfg.seed)
        device = resolve_device(cfg.device, self.dist.local_rank if self.dist.enabled else None)
        distributed.init(self.dist, device)
        task = checked_task(self.graph, cfg)  # what check and export check, too
        if self.dist.enabled and not task.supports_distributed:
            raise TrainingError(f"The {task.name} task cannot run data-parallel: run it in one "
                                f"process", field="task")
        module = self.graph.build()  # CompileError names the broken nodes
        self._start_weights(module)
        frozen = freeze(module, frozen_layers(self.graph, analysis))
        if frozen:
            total = sum(p.numel() for p in module.parameters())
            self.log(f"{frozen:,} of {total:,} parameters are frozen (their layers run in "
                     f"inference mode)")
        outputs = [analysis.shape(o) for o in self.graph.outputs()]
        dp = plan(cfg, device, convolutional(self.graph))
        memory = memory_warning(analysis.total_params, cfg.optimizer, device.type)
        if memory is not None:
            self.log(memory, "warning")
        for note in dp.notes:
            self.log(note)
        data = prepare_data(cfg, self.graph, task, outputs, device, dp.channels_last, self.log,
                            dataset=self.dataset)
        module.to(device)
        if dp.channels_last:
            module.to(memory_format=torch.channels_last)
        self.module = module
        loss_fn = make_loss(task.resolve_loss(),
                            probabilities=bool(getattr(task, "outputs_probabilities", False)))
        ctx = StepContext(
            config=cfg, graph=self.graph, model=module, module=module, device=device,
            data=data.info, loss_fn=loss_fn, autocast_dtype=dp.autocast_dtype,
            scaler=torch.amp.GradScaler(device.type) if dp.use_scaler else None,
            grad_clip=cfg.grad_clip, regularizers=self._regularizers(module, analysis),
            rank=self.dist.rank, world_size=self.dist.world_size, log=self.log)
        self.ctx = ctx
        train_batches = Batches(data, "train", cfg.batch_size, device, cfg.seed,
                                self.dist.rank, self.dist.world_size)
        val_batches = Batches(data, "val", max(cfg.batch_size, 256), device)
        probe_src = val_batches if data.n_val else train_batches
        probe = probe_src.probe(16)
        ctx.model = self._callable_model(module, probe, ctx)
        phases = task.phases()
        total_epochs = sum(p.epochs for p in phases)
        steps_per_epoch = len(train_batches)
        self._augment = data.augment
        start_epoch, opt_states, rng = self._prepare_resume(module, total_epochs)
        self._write_snapshot()
        if self.files is not None:
            self.files.write_preprocessing(preprocessing_record(data.info, cfg))
        prober = Prober(self.graph, module, cfg.probe, self.log)
        spec = {**task.metrics_spec(), "lr": False, "grad_norm": False}
        self.emit(RunStarted(
            config=cfg.summary(), num_params=sum(p.numel() for p in module.parameters()),
            device=describe(device), steps_per_epoch=steps_per_epoch,
            total_steps=steps_per_epoch * total_epochs, epochs=total_epochs,
            start_epoch=start_epoch, task=task.name, metrics=spec,
            phases=[(p.name, p.epochs) for p in phases],
            dataset={"name": data.info.name, "kind": data.info.kind,
                     "n_train": data.n_train, "n_val": data.n_val,
                     "input_shape": list(data.info.input_shape), "classes": data.info.classes},
            precision=dp.precision, world_size=self.dist.world_size))
        runner = EpochRunner(self, task, ctx, data, train_batches, val_batches, probe, prober,
                             steps_per_epoch, total_epochs)
        self._last_good = state_tensors(module)
        epoch = start_epoch
        current: Phase | None = None
        if rng:
            set_rng_state(rng, device, self._augment)  # last: setting up drew random numbers
        for phase, first, last in _phase_ranges(phases):
            if epoch > last:
                continue
            current = phase
            ctx.phase = phase
            task.begin_phase(ctx, phase)
            ctx.optimizers = task.optimizers(ctx, phase)
            schedule = runner.make_schedule(phase)
            if opt_states is not None and self.state.phase_name == phase.name:
                for opt, st in zip(ctx.optimizers, opt_states):
                    opt.load_state_dict(st)
                schedule.load_state_dict(self.state.schedule)
            opt_states = None
            self.state.phase_name = phase.name
            while epoch <= last and self.state.stop_reason is None:
                runner.run_epoch(epoch, phase, schedule, first)
                if self.state.stop_reason in ("nan",):
                    break
                epoch += 1
            if self.state.stop_reason is not None:
                break
        runner.send_held_events()
        return self._finish(module, current)

    # --- pieces -----------------------------------------------------------------------------

    def _start_weights(self, module) -> None:
        """Load the weights the run starts from (a resume takes its checkpoint's instead)."""
        if self.resume_dir is not None:
            return
        if self.weights is not None:
            label = "the given weights" if isinstance(self.weights, bytes) else str(self.weights)
            fit = apply_weights(module, read_weights(self.weights, label), label)
        else:
            fit = load_graph_weights(self.graph, module)
            label = f"the graph's weights ({self.graph.weights.label()})" if fit else ""
        if fit is not None:
            note = fit.fresh_note()
            self.log(f"Starting from {label}" + (f"; {note}" if note else ""))

    def _regularizers(self, module, analysis=None) -> list:
        """``(l1, l2, [weight tensors])`` of every layer with a penalty, inside blocks too."""
        out = []
        for path, l1, l2 in penalised_layers(self.graph, analysis):
            sub = module.get_submodule(path)
            ws = [p for n, p in sub.named_parameters() if n.split(".")[-1].startswith("weight")]
            out.append((l1, l2, ws))
        return out

    def _callable_model(self, module, probe: dict, ctx: StepContext) -> torch.nn.Module:
        model = module
        if self.config.compile:
            try:
                compiled = torch.compile(module)
                with torch.no_grad(), ctx.autocast():
                    compiled(probe["x"][:2])  # compile now: a missing compiler shows up here
                model = compiled
                self.log("compiled the model with torch.compile")
            except Exception as exc:
                self.log(f"torch.compile is not available here ({type(exc).__name__}): "
                         f"training without it", "warning")
        return distributed.wrap(model, self.dist, ctx.device)

    def _prepare_resume(self, module, total_epochs: int) -> tuple[int, list | None, dict | None]:
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

    def _write_snapshot(self) -> None:
        if self.files is None:
            return
        self.files.ensure()
        graph = self.graph.copy()
        graph.weights = None  # (the run keeps its own weights; the graph's stay beside it)
        graph.training = self.config.to_dict()
        self.files.write_snapshot(to_json(graph), self.config.to_dict())

    def checkpoint(self, tensors: dict) -> None:
        """Save weights + optimizer state + trainer state (only after a finite epoch)."""
        self._last_good = tensors
        if self.files is None:
            return
        s = self.state
        rng = rng_state(self.ctx.device, self._augment)
        self.files.save_checkpoint(tensors, self.ctx.optimizers, rng=rng, state={
            "epoch": s.epoch, "step": s.step, "best_epoch": s.best_epoch,
            "best_value": s.best_value, "bad_epochs": s.bad_epochs, "train_time": s.train_time,
            "train_cpu": s.train_cpu,
            "train_samples": s.train_samples, "schedule": s.schedule, "phase": s.phase_name,
            "config": self.config.to_dict()})
        self._committed = True

    def fail_nan(self, what: str, step: int, epoch: int) -> None:
        """Stop with a clear message and restore the last good weights."""
        message = (f"{what} at step {step} (epoch {epoch}): lower the learning rate or enable "
                   f"gradient clipping")
        self.state.stop_reason = "nan"
        if self._last_good is not None:
            self.module.load_state_dict(self._last_good)
        s = self.state
        s_epoch = s.epoch
        self.emit(Failed(message, step, epoch))
        summary = {**self._summary("failed"), "error": message, "epochs_done": s_epoch}
        if self._may_write_summary():
            self.files.write_summary(summary)
        result = RunResult(list(s.history), summary, self.module, s.best_epoch, self.out_dir)
        raise TrainingFailed(message, result)

    def _may_write_summary(self) -> bool:
        """A failure is recorded in summary.json, except a resume's before it has committed
        a checkpoint of its own: the folder still holds the earlier run, whose summary stays."""
        if self.files is None or not self.files.root.exists():
            return False
        return self.resume_dir is None or self._committed

    def _summary(self, status: str) -> dict:
        s = self.state
        last = s.history[-1] if s.history else {}
        monitor = getattr(self, "monitor", None)
        return {
            "status": status, "epochs_done": s.epoch, "steps": s.step,
            "final": {k: v for k, v in last.items() if k not in ("epoch", "step", "phase")},
            "best_epoch": s.best_epoch, "monitor": monitor, "best_value": s.best_value,
            # every rank trains as many samples as rank 0: the whole job's throughput
            "samples_per_s": (s.train_samples * self.dist.world_size / s.train_time)
            if s.train_time > 0 else None,
            "train_time_s": s.train_time, "train_cpu_s": s.train_cpu,
            "stop_reason": s.stop_reason,
            "weights": str(self.files.path("weights.safetensors")) if self.files else None,
            "best_weights": (str(self.files.path("best.safetensors"))
                             if self.files and s.best_epoch is not None else None),
            "device": str(self.ctx.device) if self.ctx else None,
        }

    def _finish(self, module, phase: Phase | None) -> RunResult:
        s = self.state
        status = "stopped" if s.stop_reason == "user" else "finished"
        if self.files is not None:
            self.checkpoint(state_tensors(module))
        summary = self._summary(status)
        if self.files is not None:
            self.files.write_summary(summary)
        self.emit(Finished(summary))
        return RunResult(list(s.history), summary, module, s.best_epoch, self.out_dir)


def _phase_ranges(phases: list[Phase]):
    """(phase, first epoch, last epoch) with epochs counted over the whole run from 1."""
    first = 1
    for p in phases:
        yield p, first, first + p.epochs - 1
        first += p.epochs


def train(graph: Graph | str | Path, config: TrainingConfig | dict | None = None, *,
          emit: Callable[[Any], None] | None = None, out_dir: str | Path | None = None,
          resume: str | Path | None = None, control: Control | None = None,
          dataset=None, weights: bytes | str | Path | None = None) -> RunResult:
    """Train ``graph`` (a Graph, a graph file path, or its JSON text) and return the result.

    ``config`` defaults to the graph's stored settings; ``weights`` (safetensors bytes or a
    weights file) to the graph's own weights. Raises ``TrainingFailed`` (with the
    same sentence as the Failed event) when the run cannot start or goes wrong.
    """
    if isinstance(graph, Path) or (isinstance(graph, str) and not graph.lstrip().startswith("{")):
        from ..graph import load

        graph = load(graph)
    return Trainer(graph, config, emit=emit, out_dir=out_dir, resume=resume, control=control,
                   dataset=dataset, weights=weights).run()

