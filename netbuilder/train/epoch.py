"""One epoch of training and validation, with throttled events, early stopping and checkpoints.

Split from trainer.py, which sets the run up; this is the hot loop. The only per-step work
beyond the task's own step is a control-flag read, a clock read, the schedule's Python float
and one ``torch.stack`` of the step's metrics (see emission.py).
"""
from __future__ import annotations

import dataclasses
import math
import time

import torch

from . import distributed
from .checkpoint import state_tensors
from .emission import EpochTotals, Window
from .evaluation import batch_size_of, evaluate_batches
from .events import Metrics, Progress, StateChanged, Throttle
from .optim import Schedule
from .recipe import rng_kept
from .record import RunRecord

# The most of the training time that live events may take: metrics (progress, curves) and
# pictures (activations, samples, histograms) each. The hand-written script they are measured
# against shows nothing (issue 16: within 3 % of it, events on).
METRICS_SHARE = 0.01
IMAGES_SHARE = 0.01


class EpochRunner:
    """Trains and validates epochs of one run; reports to ``record`` (record.py), obeys
    ``control`` (pause, stop, probe changes)."""

    def __init__(self, record: RunRecord, control, task, ctx, data, train_batches, val_batches,
                 probe, prober, steps_per_epoch: int, total_epochs: int):
        self.record, self.control = record, control
        self.task, self.ctx, self.data = task, ctx, data
        self.train_batches, self.val_batches = train_batches, val_batches
        self.probe, self.prober = probe, prober
        self.steps_per_epoch, self.total_epochs = steps_per_epoch, total_epochs
        cfg = record.config
        self.cfg = cfg
        self.metrics_t = Throttle(cfg.events.metrics_hz, METRICS_SHARE)
        self.images_t = Throttle(cfg.events.images_hz, IMAGES_SHARE)
        self.hist_t = Throttle(cfg.events.images_hz / 4)
        self.eval_events_t = Throttle(cfg.events.images_hz)  # confusion matrices of fast epochs
        self.held_events: list = []  # the newest validation's, when the throttle held them
        self.window = Window(watch_grads=ctx.scaler is None)
        self.main = record.main
        self.spec = task.metrics_spec()
        self.monitor, self.higher = self._monitor()
        record.monitor = self.monitor
        self.session_steps = 0
        self.bad: tuple[str, int] | None = None
        self.session_time = 0.0
        self.lr = cfg.lr
        self.label = None
        if "y" in probe and data.info.classes and probe["y"].ndim == 1 and len(probe["y"]):
            self.label = data.info.classes[int(probe["y"][0])]

    def _monitor(self) -> tuple[str, bool]:
        es = self.cfg.early_stopping
        name = es.metric if es is not None and es.metric != "auto" else self.task.monitor
        if not self.data.n_val and name.startswith("val_"):
            name = "train_" + name[4:]
        base = name.split("_", 1)[1] if "_" in name else name
        higher = self.spec.get(base, False)
        if es is not None and es.mode != "auto":
            higher = es.mode == "max"
        return name, higher

    def make_schedule(self, phase) -> Schedule:
        return Schedule(self.ctx.optimizers, self.cfg, self.steps_per_epoch, phase.epochs)

    # --- control ------------------------------------------------------------------------------

    def _go_on(self) -> bool:
        """False when a stop was asked; blocks while paused (the pause is not timed)."""
        control, state = self.control, self.record.state
        while True:
            st = control.state()
            if st == control.RUN:
                return True
            if st == control.STOP:
                self._note_stop()
                return False
            self.record.emit(StateChanged("paused", state.step))
            paused = time.perf_counter()
            while control.state() == control.PAUSE:
                time.sleep(0.05)
            self._pause_time += time.perf_counter() - paused
            if control.state() == control.RUN:
                self.record.emit(StateChanged("running", state.step))

    def _note_stop(self) -> None:
        state = self.record.state
        if state.stop_reason is None:
            state.stop_reason = "user"
            self.record.emit(StateChanged("stopping", state.step))

    def _stop_asked(self) -> bool:
        control = self.control
        if control.state() != control.STOP:
            return False
        self._note_stop()
        return True

    # --- training -------------------------------------------------------------------------------

    def run_epoch(self, epoch: int, phase, schedule: Schedule, phase_first: int) -> None:
        ctx, s, module = self.ctx, self.record.state, self.ctx.module
        control = self.control
        ctx.epoch = epoch
        self.train_batches.set_epoch(epoch)
        module.train()
        totals = EpochTotals()
        self._pause_time = 0.0
        start = time.perf_counter()
        cpu_start = time.process_time()  # CPU seconds: steadier than wall time on a busy host
        window_start, window_pause = start, 0.0
        step0 = (epoch - phase_first) * self.steps_per_epoch
        i = 0
        for batch in self.train_batches:
            if not self._go_on():
                break
            now = time.perf_counter()
            ctx.detail = self.main and self.metrics_t.due(now)
            ctx.step = s.step
            self.lr = schedule.apply(step0 + i)
            control.step_started(s.step)
            metrics = self.task.train_step(ctx, batch)
            if ctx.scaler is not None:
                ctx.scaler.update()
            control.step_ended()
            s.step += 1
            i += 1
            self.window.add(metrics, batch_size_of(batch), s.step)
            if ctx.detail:
                now = time.perf_counter()
                elapsed = now - window_start - (self._pause_time - window_pause)
                flushed = self._flush(totals, epoch)
                self._emit_progress(epoch, phase, i, flushed, elapsed, start)
                self.metrics_t.mark(now, time.perf_counter() - now)
                window_start, window_pause = now, self._pause_time
            if self.main and self.images_t.due(now):
                self._emit_images(now, epoch)
        ctx.detail = False
        elapsed = time.perf_counter() - start - self._pause_time
        s.train_cpu += time.process_time() - cpu_start
        self._flush(totals, epoch, at_end=True)
        if s.stop_reason == "user" and i < self.steps_per_epoch:
            s.train_time += elapsed
            s.train_samples += totals.samples
            return  # a partial epoch is neither validated nor recorded
        s.train_time += elapsed
        s.train_samples += totals.samples
        self.session_steps += i
        self.session_time += elapsed
        self._end_epoch(epoch, phase, schedule, totals, elapsed)

    def _flush(self, totals: EpochTotals, epoch: int, at_end: bool = False):
        """Fetch pending step results; a NaN/Inf loss ends the run (under DDP all ranks agree
        at the epoch's end, the one point where every rank takes part in the decision)."""
        flushed = self.window.flush()
        if flushed.bad_step is not None and self.bad is None:
            self.bad = (flushed.bad_what, flushed.bad_step)
        record = self.record
        if self.bad is not None and not record.dist.enabled:
            record.fail_nan(self.bad[0], self.bad[1], epoch)
        if at_end and distributed.any_true(self.bad is not None, record.dist, self.ctx.device):
            what, step = self.bad or ("loss became NaN/Inf in another process", record.state.step)
            record.fail_nan(what, step, epoch)
        totals.add(flushed)
        return flushed

    def _emit_progress(self, epoch, phase, i, flushed, elapsed, start) -> None:
        s = self.record.state
        total = self.steps_per_epoch * self.total_epochs
        done_time = self.session_time + (time.perf_counter() - start - self._pause_time)
        done_steps = self.session_steps + i
        rate = done_time / done_steps if done_steps else 0.0
        eta = max(0, total - s.step) * rate
        sps = flushed.samples * self.record.dist.world_size / elapsed if elapsed > 0 else 0.0
        self.record.emit(Progress(epoch=epoch, step=s.step, total_steps=total, samples_per_s=sps,
                             eta_s=eta, lr=self.lr, epochs=self.total_epochs, step_in_epoch=i,
                             steps_per_epoch=self.steps_per_epoch, phase=phase.name))
        values = {**flushed.means, "lr": self.lr}
        self.record.emit(Metrics(step=s.step, epoch=epoch, split="train", values=values,
                            phase=phase.name))

    def _emit_images(self, now: float, epoch: int, force: bool = False) -> None:
        # Pictures never change what training draws next (the exported script shows none).
        began = time.perf_counter()
        with rng_kept(self.ctx.device):
            self._images(now, epoch, force)
        self.images_t.mark(now, time.perf_counter() - began)

    def _images(self, now: float, epoch: int, force: bool) -> None:
        ev, ctx, s = self.cfg.events, self.ctx, self.record.state
        new_probe = self.control.take_probe()
        if new_probe is not None:
            self.prober.set_probe(new_probe)
        module = ctx.module
        was = module.training
        module.eval()
        try:
            with torch.no_grad():
                if ev.activations:
                    act = self.prober.activations(s.step, self.probe, self.data.info, self.label)
                    if act is not None:
                        self.record.emit(act)
                if ev.samples:
                    # The plain module: a DDP wrapper would wait for the other ranks.
                    local = dataclasses.replace(ctx, model=module)
                    with local.autocast():
                        sample = self.task.samples(local, self.probe)
                    if sample is not None:
                        self.record.emit(sample)
        finally:
            module.train(was)
        if ev.histograms and (force or self.hist_t.due(now)):
            self.hist_t.mark(now)
            self.record.emit(self.prober.histograms(s.step, epoch))

    # --- validation and the epoch's end ---------------------------------------------------------

    def evaluate(self) -> tuple[dict | None, list]:
        """Validation metrics and events; ``(None, [])`` when a Stop cut the validation short.
        Its random draws (a VAE's z) leave the training's stream as it was (as in train.py)."""
        if not self.data.n_val:
            return {}, []
        with rng_kept(self.ctx.device):
            return self._evaluate()

    def _evaluate(self) -> tuple[dict | None, list]:
        module = self.ctx.module
        module.eval()
        try:
            return evaluate_batches(self.task, self.ctx, self.val_batches, self._stop_asked)
        finally:
            module.train()

    def _end_epoch(self, epoch, phase, schedule: Schedule, totals: EpochTotals, elapsed) -> None:
        record = self.record
        s = record.state
        train = {**totals.means(), "lr": self.lr}
        val, events = self.evaluate()
        if val is None:
            return  # stopped while validating: like a partial epoch, neither shown nor recorded
        record.emit(Metrics(step=s.step, epoch=epoch, split="train", values=train,
                            epoch_end=True, phase=phase.name))
        if val:
            record.emit(Metrics(step=s.step, epoch=epoch, split="val", values=val,
                                epoch_end=True, phase=phase.name))
        s.epoch = epoch
        row = {"epoch": epoch, "step": s.step, "phase": phase.name, "lr": self.lr,
               "time_s": round(s.train_time, 3),
               "samples_per_s": totals.samples / elapsed if elapsed > 0 else None}
        row.update({f"train_{k}": v for k, v in totals.means().items()})
        row.update({f"val_{k}": v for k, v in val.items()})
        self.record.record_epoch(row)
        value = row.get(self.monitor)
        improved = self._improved(value)
        tensors = None
        if improved:
            s.best_epoch, s.best_value, s.bad_epochs = epoch, value, 0
            tensors = record.save_best(self.ctx.module)
        else:
            s.bad_epochs += 1
        self._early_stop(value)
        stop = distributed.from_main(s.stop_reason is not None, record.dist, self.ctx.device)
        if stop and s.stop_reason is None:
            s.stop_reason = "early_stopping"
        plateau_on = row.get("val_loss", row.get("train_loss"))
        schedule.end_epoch(plateau_on)
        s.schedule = schedule.state_dict()
        every = self.cfg.checkpoint_every
        if every and epoch % every == 0:
            record.checkpoint(tensors if tensors is not None else state_tensors(self.ctx.module))
        last = epoch == self.total_epochs or s.stop_reason is not None
        now = time.perf_counter()
        # NOTE: the validation's pictures (a confusion matrix) are throttled like the other
        # images: epochs of a few milliseconds would send hundreds a second. The last epoch's
        # always goes. Every epoch's numbers go (Metrics above): they are the run's record.
        self.held_events = events
        if events and (last or self.eval_events_t.due(now)):
            self.eval_events_t.mark(now)
            self.send_held_events()
        if self.main and (last or self.images_t.due(now)):
            self._emit_images(now, epoch, force=last)

    def send_held_events(self) -> None:
        """Send the newest validation's pictures if the throttle held them back (the run ends:
        a Stop is seen only after the epoch that was the last)."""
        for e in self.held_events:
            self.record.emit(e)
        self.held_events = []

    def _improved(self, value) -> bool:
        if value is None or not math.isfinite(value):
            return False
        best = self.record.state.best_value
        if best is None:
            return True
        delta = self.cfg.early_stopping.min_delta if self.cfg.early_stopping else 0.0
        return value > best + delta if self.higher else value < best - delta

    def _early_stop(self, value) -> None:
        es, s = self.cfg.early_stopping, self.record.state
        if es is None or value is None or s.stop_reason is not None:
            return
        if es.target is not None and (value >= es.target if self.higher else value <= es.target):
            s.stop_reason = "target"
            self.record.log(f"{self.monitor} reached {value:.4g} (target {es.target:g}): stopping")
        elif es.patience and s.bad_epochs >= es.patience:
            s.stop_reason = "patience"
            self.record.log(f"{self.monitor} has not improved for {es.patience} epochs: stopping "
                       f"(best {s.best_value:.4g} at epoch {s.best_epoch})")
