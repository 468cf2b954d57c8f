"""Event consumers for headless runs: a text progress bar and TensorBoard scalars."""
from __future__ import annotations

import sys
import time
from typing import TextIO

from .events import Failed, Finished, Log, Metrics, Progress, RunStarted


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


class ProgressBar:
    """``epoch 3/10 [#########...........] 45% loss 0.123 accuracy 0.95 | 3.2k samples/s | ETA
    0:12`` on one line updated with ``\\r``; one permanent line per epoch."""

    def __init__(self, stream: TextIO | None = None, width: int = 24):
        self.stream = stream or sys.stderr
        self.width = width
        self.epochs = 0
        self.train: dict = {}
        self.train_end: Metrics | None = None
        self.has_val = True
        self.last_len = 0
        self.epoch_start = time.perf_counter()

    def _line(self, text: str) -> None:
        pad = max(0, self.last_len - len(text))
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()
        self.last_len = len(text)

    def _newline(self, text: str) -> None:
        self._line(text)
        self.stream.write("\n")
        self.stream.flush()
        self.last_len = 0

    def __call__(self, event) -> None:
        if isinstance(event, RunStarted):
            self.epochs = event.epochs
            ds = event.dataset
            self.has_val = bool(ds.get("n_val"))
            self._newline(f"training {event.task} on {ds.get('name')} ({ds.get('n_train')} train"
                          f" / {ds.get('n_val')} validation samples), {event.num_params:,} "
                          f"parameters, {event.device}, {event.precision}")
        elif isinstance(event, Progress):
            frac = (event.step_in_epoch / event.steps_per_epoch) if event.steps_per_epoch else 0
            filled = int(round(frac * self.width))
            bar = "#" * filled + "." * (self.width - filled)
            vals = " ".join(f"{k} {_fmt(v)}" for k, v in self.train.items() if k != "lr")
            self._line(f"epoch {event.epoch}/{event.epochs} [{bar}] {frac:4.0%} {vals} | "
                       f"{event.samples_per_s:,.0f} samples/s | ETA {_clock(event.eta_s)}")
        elif isinstance(event, Metrics):
            if event.split == "train" and not event.epoch_end:
                self.train = {k: v for k, v in event.values.items()
                              if k in ("loss", "accuracy", "mae")}
            elif event.split == "train":
                self.train_end = event
                if not self.has_val:
                    self._epoch_line(event, None)
            else:
                self._epoch_line(self.train_end, event)
        elif isinstance(event, Log):
            self._newline(f"{'warning: ' if event.level == 'warning' else ''}{event.message}")
        elif isinstance(event, (Finished, Failed)):
            if self.last_len:
                self._newline("")

    def _epoch_line(self, train: Metrics | None, val: Metrics | None) -> None:
        epoch = (val or train).epoch
        parts = [f"epoch {epoch}/{self.epochs}"]
        if train is not None and train.epoch == epoch:
            parts += [f"train_{k} {_fmt(v)}" for k, v in train.values.items()
                      if k in ("loss", "accuracy", "mae")]
        if val is not None:
            parts += [f"val_{k} {_fmt(v)}" for k, v in val.values.items()]
        self._newline("  ".join(parts))


class TensorBoardSink:
    """Scalars of every Metrics event, when the ``tensorboard`` package is installed."""

    def __init__(self, writer):
        self.writer = writer

    @classmethod
    def create(cls, log_dir) -> TensorBoardSink | None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except Exception:  # tensorboard is optional
            return None
        return cls(SummaryWriter(log_dir=str(log_dir)))

    def __call__(self, event) -> None:
        if isinstance(event, Metrics) and (event.epoch_end or event.split == "train"):
            scope = "epoch" if event.epoch_end else "step"
            for k, v in event.values.items():
                self.writer.add_scalar(f"{event.split}/{k}" + ("" if scope == "step" else
                                                              "_epoch"), v, event.step)
        elif isinstance(event, (Finished, Failed)):
            self.writer.flush()
            self.writer.close()
