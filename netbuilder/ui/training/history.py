"""Full-resolution metric history of a run, kept in growable numpy arrays (no Qt).

The curves draw views of these arrays (pyqtgraph downsamples only what it paints); the Runs
panel fills one from a finished run's ``metrics.jsonl``.
"""
from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np


class Series:
    """Points (step, epoch, value) appended in amortised O(1); ``x(axis)``/``y`` are views."""

    def __init__(self, capacity: int = 256) -> None:
        self._data = np.empty((capacity, 3), dtype=np.float64)
        self.n = 0

    def append(self, step: float, epoch: float, value: float) -> None:
        if self.n == len(self._data):
            grown = np.empty((2 * len(self._data), 3), dtype=np.float64)
            grown[:self.n] = self._data[:self.n]
            self._data = grown
        self._data[self.n] = (step, epoch, value)
        self.n += 1

    def __len__(self) -> int:
        return self.n

    @property
    def steps(self) -> np.ndarray:
        return self._data[:self.n, 0]

    @property
    def epochs(self) -> np.ndarray:
        return self._data[:self.n, 1]

    @property
    def y(self) -> np.ndarray:
        return self._data[:self.n, 2]

    def x(self, axis: str) -> np.ndarray:
        return self.steps if axis == "step" else self.epochs

    def last(self) -> float | None:
        return float(self._data[self.n - 1, 2]) if self.n else None


class RunHistory:
    """Every metric of one run, keyed ``"<split>_<name>"`` (``train_loss``, ``val_accuracy``).

    Live train points (means since the previous event) go to ``train_<name>``; whole-epoch means
    go to ``epoch_<name>``; validation results to ``val_<name>``. ``epoch`` coordinates of live
    points are fractional (step / steps_per_epoch), so both x axes place every point.
    """

    def __init__(self, steps_per_epoch: int = 0, higher_is_better: dict | None = None) -> None:
        self.series: dict[str, Series] = {}
        self.steps_per_epoch = steps_per_epoch
        self.higher_is_better = dict(higher_is_better or {})
        self.version = 0  # bumped on every append (the curves redraw only when it moved)

    def add(self, split: str, step: int, epoch: float, values: dict,
            epoch_end: bool = False) -> None:
        """Record one Metrics event's values."""
        key_split = "epoch" if (split == "train" and epoch_end) else split
        if split == "train" and not epoch_end and self.steps_per_epoch:
            epoch = step / self.steps_per_epoch
        for name, value in values.items():
            try:
                v = float(value)
            except (TypeError, ValueError):
                continue
            key = f"{key_split}_{name}"
            s = self.series.get(key)
            if s is None:
                s = self.series[key] = Series()
            s.append(step, epoch, v)
        self.version += 1

    def add_event(self, event) -> None:
        self.add(event.split, event.step, event.epoch, event.values, event.epoch_end)

    def get(self, key: str) -> Series | None:
        return self.series.get(key)

    def metric_names(self) -> list[str]:
        """Metric names without split prefix, loss first."""
        names = {k.split("_", 1)[1] for k in self.series}
        return sorted(names, key=lambda n: (n != "loss", n))

    def monitor(self) -> str | None:
        """The key that decides the best epoch: val accuracy when there is one, else val loss."""
        for key in ("val_accuracy", "val_loss", "epoch_loss"):
            if key in self.series and len(self.series[key]):
                return key
        vals = [k for k in self.series if k.startswith("val_") and len(self.series[k])]
        return vals[0] if vals else None

    def best(self) -> tuple[int, float, float, str] | None:
        """(epoch, step, value, key) of the best monitored value, or None."""
        key = self.monitor()
        if key is None:
            return None
        s = self.series[key]
        y = s.y
        finite = np.isfinite(y)
        if not finite.any():
            return None
        name = key.split("_", 1)[1]
        higher = self.higher_is_better.get(name, name not in ("loss", "mse", "mae")
                                           and not name.endswith("loss"))
        masked = np.where(finite, y, -math.inf if higher else math.inf)
        i = int(np.argmax(masked) if higher else np.argmin(masked))
        return round(s.epochs[i]), float(s.steps[i]), float(y[i]), key

    @classmethod
    def from_jsonl(cls, path: str | Path, steps_per_epoch: int = 0) -> RunHistory:
        """Read a run's ``metrics.jsonl`` (Metrics events written one JSON object a line).

        Lines that are not Metrics records (or are damaged by a crash mid-write) are skipped.
        """
        h = cls(steps_per_epoch)
        try:
            lines: Iterable[str] = Path(path).read_text(encoding="utf-8").splitlines()
        except OSError:
            return h
        for line in lines:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if not isinstance(rec, dict):
                continue
            values = rec.get("values")
            split = rec.get("split")
            if isinstance(values, dict) and split in ("train", "val"):
                h.add(split, int(rec.get("step", 0)), float(rec.get("epoch", 0)), values,
                      bool(rec.get("epoch_end", split == "val")))
            elif "epoch" in rec and any(k.startswith(("train_", "val_")) for k in rec):
                # a flat per-epoch record: {"epoch": 3, "step": 120, "train_loss": .., ...}
                step, epoch = int(rec.get("step", 0)), float(rec["epoch"])
                train = {k[6:]: v for k, v in rec.items() if k.startswith("train_")}
                val = {k[4:]: v for k, v in rec.items() if k.startswith("val_")}
                if train:
                    h.add("train", step, epoch, train, True)
                if val:
                    h.add("val", step, epoch, val, True)
        return h
