"""Event consumers for headless runs: the command line's progress (TensorBoard: see
``tensorboard_sink``)."""
from __future__ import annotations

import sys
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
    """What ``netbuilder train`` prints while it runs, by ``verbosity``.

    0 (``-q``): warnings only. 1: a header, one permanent line per epoch and warnings, plus a
    live bar (tqdm) when ``bar`` is on (the command turns it on only when stdout is a terminal).
    2 (``-v``): also the run's settings and every informational message.
    """

    def __init__(self, stream: TextIO | None = None, *, bar: bool = False, verbosity: int = 1):
        self.stream = stream or sys.stderr
        self.use_bar = bar and verbosity > 0
        self.verbosity = verbosity
        self.epochs = 0
        self.train: dict = {}
        self.train_end: Metrics | None = None
        self.has_val = True
        self._bar = None
        self._bar_epoch = None

    def _write(self, text: str) -> None:
        if self._bar is not None:
            from tqdm import tqdm

            tqdm.write(text, file=self.stream)  # above the bar, which stays intact
        else:
            self.stream.write(text + "\n")
            self.stream.flush()

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = self._bar_epoch = None

    def __call__(self, event) -> None:
        if isinstance(event, Log):
            if event.level == "warning":
                self._write(f"warning: {event.message}")
            elif self.verbosity >= 2:
                self._write(event.message)
        elif isinstance(event, (Finished, Failed)):
            self._close_bar()
        elif self.verbosity == 0:
            return
        elif isinstance(event, RunStarted):
            self.epochs = event.epochs
            ds = event.dataset
            self.has_val = bool(ds.get("n_val"))
            self._write(f"training {event.task} on {ds.get('name')} ({ds.get('n_train')} train"
                        f" / {ds.get('n_val')} validation samples), {event.num_params:,} "
                        f"parameters, {event.device}, {event.precision}")
            if self.verbosity >= 2:
                self._write("settings: " + ", ".join(f"{k} {_fmt(v)}"
                                                     for k, v in event.config.items()))
        elif isinstance(event, Progress):
            if self.use_bar:
                self._progress(event)
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

    def _progress(self, event: Progress) -> None:
        from tqdm import tqdm

        if self._bar_epoch != event.epoch:
            self._close_bar()
            self._bar = tqdm(total=event.steps_per_epoch or None, file=self.stream,
                             desc=f"epoch {event.epoch}/{event.epochs}", unit="step",
                             leave=False, dynamic_ncols=True)
            self._bar_epoch = event.epoch
        self._bar.n = event.step_in_epoch
        vals = " ".join(f"{k} {_fmt(v)}" for k, v in self.train.items())
        self._bar.set_postfix_str(f"{vals} | {event.samples_per_s:,.0f} samples/s | ETA "
                                  f"{_clock(event.eta_s)}", refresh=False)
        self._bar.refresh()

    def _epoch_line(self, train: Metrics | None, val: Metrics | None) -> None:
        epoch = (val or train).epoch
        parts = [f"epoch {epoch}/{self.epochs}"]
        if train is not None and train.epoch == epoch:
            parts += [f"train_{k} {_fmt(v)}" for k, v in train.values.items()
                      if k in ("loss", "accuracy", "mae")]
        if val is not None:
            parts += [f"val_{k} {_fmt(v)}" for k, v in val.values.items()]
        self._write("  ".join(parts))
