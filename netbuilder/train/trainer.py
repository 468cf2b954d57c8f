"""The trainer: graph + TrainingConfig → a trained module, a history and a stream of events.

``Trainer(graph, config, emit=callback, out_dir=DIR).run()`` builds the module from the graph,
loads and checks the data, then runs the task's phases epoch by epoch. It never branches on the
task: everything task-specific goes through the ``Task`` interface (tasks/base.py).

Three objects, one responsibility each, public methods only between them: the ``Trainer`` sets
the run up (module, data, step context, resume) and walks its phases; the ``EpochRunner``
(epoch.py) trains and validates one epoch under the ``Control``; the ``RunRecord``
(record.py) is what both report to: events, the run's counters, checkpoints, the end.

NOTE (host syncs): a training step reads nothing back from the device. Step results wait in an
``emission.Window`` and are fetched together when an event is due (≤ ``events.metrics_hz``) or at
the epoch end; NaN/Inf losses are found in that same fetch, with the exact step they happened at.
"""
from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..compile import frozen_layers, penalised_layers
from ..compile.weights import apply_weights, load_graph_weights, read_weights
from ..errors import NetbuilderError
from ..graph import Graph, from_json
from . import distributed
from .batches import Batches, prepare_data, preprocessing_record
from .checkpoint import state_tensors
from .config import TrainingConfig
from .data import DataError
from .device import convolutional, describe, plan, resolve_device, set_rng_state
from .epoch import EpochRunner
from .events import RunStarted
from .losses import make_loss
from .memory import memory_warning
from .probe import Prober
from .recipe import freeze
from .record import RunRecord, RunResult, TrainingFailed
from .tasks.base import Phase, StepContext, TrainingError
from .validation import checked_task


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
        self.record = RunRecord(self.config, self.dist, emit=emit, out_dir=out_dir,
                                resume=resume)
        self.control = control or Control()
        self.dataset = dataset  # a DatasetArrays to use instead of loading config.dataset
        # the weights training starts from: given (bytes or a file), else the graph's own
        self.weights = weights
        self.ctx: StepContext | None = None
        self.module: torch.nn.Module | None = None

    def log(self, message: str, level: str = "info") -> None:
        self.record.log(message, level)

    # --- the run ----------------------------------------------------------------------------

    def run(self) -> RunResult:
        record = self.record
        try:
            return self._run()
        except TrainingFailed:
            raise
        except (NetbuilderError, DataError) as exc:
            record.fail(str(exc), field=getattr(exc, "field", None))
        except torch.cuda.OutOfMemoryError:
            record.fail("the GPU ran out of memory: lower the batch size, or choose bf16 "
                        "precision")
        except Exception as exc:  # a bug or a torch error mid-run: report it, keep the trace
            record.fail(f"{type(exc).__name__}: {exc}", tb=traceback.format_exc())
        raise AssertionError("unreachable")

    def _run(self) -> RunResult:
        cfg, record, state = self.config, self.record, self.record.state
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
                            probabilities=task.outputs_probabilities)
        ctx = StepContext(
            config=cfg, graph=self.graph, model=module, module=module, device=device,
            data=data.info, loss_fn=loss_fn, autocast_dtype=dp.autocast_dtype,
            scaler=torch.amp.GradScaler(device.type) if dp.use_scaler else None,
            grad_clip=cfg.grad_clip, regularizers=self._regularizers(module, analysis),
            rank=self.dist.rank, world_size=self.dist.world_size, log=self.log)
        self.ctx = ctx
        record.begin(ctx, data.augment)
        train_batches = Batches(data, "train", cfg.batch_size, device, cfg.seed,
                                self.dist.rank, self.dist.world_size)
        val_batches = Batches(data, "val", max(cfg.batch_size, 256), device)
        probe_src = val_batches if data.n_val else train_batches
        probe = probe_src.probe(16)
        ctx.model = self._callable_model(module, probe, ctx)
        phases = task.phases()
        total_epochs = sum(p.epochs for p in phases)
        steps_per_epoch = len(train_batches)
        start_epoch, opt_states, rng = record.resume(module, total_epochs)
        record.write_snapshot(self.graph)
        record.write_preprocessing(preprocessing_record(data.info, cfg))
        prober = Prober(self.graph, module, cfg.probe, self.log)
        spec = {**task.metrics_spec(), "lr": False, "grad_norm": False}
        record.emit(RunStarted(
            config=cfg.summary(), num_params=sum(p.numel() for p in module.parameters()),
            device=describe(device), steps_per_epoch=steps_per_epoch,
            total_steps=steps_per_epoch * total_epochs, epochs=total_epochs,
            start_epoch=start_epoch, task=task.name, metrics=spec,
            phases=[(p.name, p.epochs) for p in phases],
            dataset={"name": data.info.name, "kind": data.info.kind,
                     "n_train": data.n_train, "n_val": data.n_val,
                     "input_shape": list(data.info.input_shape), "classes": data.info.classes},
            precision=dp.precision, world_size=self.dist.world_size))
        runner = EpochRunner(record, self.control, task, ctx, data, train_batches, val_batches,
                             probe, prober, steps_per_epoch, total_epochs)
        record.keep_good(state_tensors(module))
        epoch = start_epoch
        if rng:
            set_rng_state(rng, device, data.augment)  # last: setting up drew random numbers
        for phase, first, last in _phase_ranges(phases):
            if epoch > last:
                continue
            ctx.phase = phase
            task.begin_phase(ctx, phase)
            ctx.optimizers = task.optimizers(ctx, phase)
            schedule = runner.make_schedule(phase)
            if opt_states is not None and state.phase_name == phase.name:
                for opt, st in zip(ctx.optimizers, opt_states):
                    opt.load_state_dict(st)
                schedule.load_state_dict(state.schedule)
            opt_states = None
            state.phase_name = phase.name
            while epoch <= last and state.stop_reason is None:
                runner.run_epoch(epoch, phase, schedule, first)
                if state.stop_reason in ("nan",):
                    break
                epoch += 1
            if state.stop_reason is not None:
                break
        runner.send_held_events()
        return record.finish(module)

    # --- pieces -----------------------------------------------------------------------------

    def _start_weights(self, module) -> None:
        """Load the weights the run starts from (a resume takes its checkpoint's instead)."""
        if self.record.resume_dir is not None:
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

