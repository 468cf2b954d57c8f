"""Live events: what a training run tells the dashboard, the CLI and the log files.

STABLE INTERFACE. Every event is a small dataclass of numbers, strings, lists/dicts of those, and
numpy arrays: it pickles across the worker process's queue and holds no tensor, module or
callable. The trainer calls ``emit(event)`` (a callable given to ``Trainer``); the ``Runner``
forwards the child's events to ``Runner.poll()``.

Order of a run::

    RunStarted → (Log | StateChanged | Progress | Metrics | Activations | Histograms | Samples
                  | ConfusionMatrix)* → Finished | Failed

Conventions:

- ``epoch`` counts from 1; ``step`` counts optimizer steps from 1 over the whole run (a resumed
  run continues both). ``phase`` names the phase of a multi-phase task ("train" for most; a DBN
  has "pretrain rbm1", ..., "finetune").
- ``Metrics(split="train", epoch_end=False)`` values are means over the steps since the previous
  train Metrics event (the live curve); ``epoch_end=True`` events carry the whole epoch's means
  (train) or the validation results (``split="val"``, always ``epoch_end=True``). Metric names
  have no split prefix (``loss``, ``accuracy``, ``top5``, ``lr``, ``grad_norm``); the history
  files prefix them (``train_loss``, ``val_accuracy``).
- Throttling: Progress+Metrics at most ``events.metrics_hz`` per second; Activations, Samples and
  Histograms at most ``events.images_hz``; epoch-end events are always sent.
- Images are uint8. ``Activations.tiles[name]`` is always 3-D ``(C, H, W)``: a conv map gives
  one tile per channel, a vector of F values is a ``(1, 1, F)`` heat strip, a sequence (T, F) is
  ``(1, T, F)``. The colour levels of a node stay fixed during a run (``levels[name]`` is the
  value range mapped to 0..255), so brightness changes mean real activation changes.
  ``Samples.images`` is ``(N, C, H, W)`` uint8 with C = 1 or 3.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


class Event:
    """Base class of every event (``isinstance(e, Event)``; ``e.event_type`` is the class
    name, also the ``"event"`` key of ``to_dict()``)."""

    @property
    def event_type(self) -> str:
        return type(self).__name__

    def to_dict(self) -> dict:
        """JSON-ready form (numpy arrays become lists)."""
        return {"event": self.event_type, **_jsonable(asdict(self))}


@dataclass
class RunStarted(Event):
    config: dict  # TrainingConfig.summary()
    num_params: int
    device: str
    steps_per_epoch: int
    total_steps: int
    epochs: int = 0
    start_epoch: int = 1  # > 1 when resuming
    task: str = "classify"
    metrics: dict = field(default_factory=dict)  # name -> higher is better (task.metrics_spec)
    phases: list = field(default_factory=list)  # [(name, epochs)]
    dataset: dict = field(default_factory=dict)  # name, n_train, n_val, input_shape, classes
    precision: str = "fp32"
    world_size: int = 1


@dataclass
class StateChanged(Event):
    state: str  # "running" | "paused" | "stopping"
    step: int = 0


@dataclass
class Progress(Event):
    epoch: int
    step: int
    total_steps: int
    samples_per_s: float  # of the whole job (all data-parallel processes)
    eta_s: float
    lr: float
    epochs: int = 0
    step_in_epoch: int = 0
    steps_per_epoch: int = 0
    phase: str = "train"


@dataclass
class Metrics(Event):
    step: int
    epoch: int
    split: str  # "train" | "val"
    values: dict  # name -> float
    epoch_end: bool = False
    phase: str = "train"


@dataclass
class Activations(Event):
    step: int
    tiles: dict  # node name -> uint8 (C, H, W)
    levels: dict = field(default_factory=dict)  # node name -> (low, high) mapped to 0..255
    shapes: dict = field(default_factory=dict)  # node name -> the activation's shape (no batch)
    input: np.ndarray | None = None  # the probe sample as uint8 (C, H, W), when it is an image
    label: str | None = None  # the probe sample's class name, when it has one


@dataclass
class Histograms(Event):
    step: int
    epoch: int
    weights: dict  # layer name -> (counts int64 (B,), edges float32 (B+1,))
    grads: dict = field(default_factory=dict)  # same for gradients (empty before a backward)


@dataclass
class Samples(Event):
    step: int
    epoch: int
    kind: str  # "predictions" | "reconstructions" | "generated" | "dreams"
    images: np.ndarray | None = None  # uint8 (N, C, H, W)
    labels: list | None = None  # true class names (predictions)
    predictions: list | None = None  # predicted class names
    confidences: np.ndarray | None = None  # float32 (N,): probability of the prediction
    targets: np.ndarray | None = None  # float32 (N, k) regression targets
    outputs: np.ndarray | None = None  # float32 (N, k) regression outputs
    inputs: np.ndarray | None = None  # float32 non-image inputs (e.g. (N, T, F) sequences)
    reconstructions: np.ndarray | None = None  # uint8 (N, C, H, W), pairs with ``images``


@dataclass
class ConfusionMatrix(Event):
    epoch: int
    matrix: np.ndarray  # int64 (K, K): rows are true classes, columns predictions
    classes: list
    step: int = 0
    per_class: np.ndarray | None = None  # float64 (K,): accuracy of each true class (NaN: none)


@dataclass
class Log(Event):
    message: str
    level: str = "info"  # "info" | "warning"


@dataclass
class Finished(Event):
    summary: dict  # final metrics, best_epoch, best metric, samples_per_s, weights path, stopped


@dataclass
class Failed(Event):
    message: str
    step: int | None = None
    epoch: int | None = None
    traceback: str = ""


EVENT_TYPES = (RunStarted, StateChanged, Progress, Metrics, Activations, Histograms, Samples,
               ConfusionMatrix, Log, Finished, Failed)
TERMINAL = (Finished, Failed)


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, (np.integer, np.floating)):
        return v.item()
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v


class Throttle:
    """At most ``hz`` openings per second (``hz <= 0``: never, except when forced), and, with a
    ``share``, at most that fraction of the time since the first ``due`` spent in what it
    opens (the cost given to ``mark``).

    NOTE: a rate alone scales with the machine's slowness: on a busy CPU where a step takes
    half a second, 2 Hz pictures came every step and cost 40 % of the run. The share keeps the
    live views' price a fixed part of the training, whatever the machine (the first opening
    is always due: the dashboard shows something at once).
    """

    def __init__(self, hz: float, share: float | None = None):
        self.period = 1.0 / hz if hz > 0 else float("inf")
        self.last = -float("inf")
        self.share = share
        self.spent = 0.0
        self.since: float | None = None

    def due(self, now: float) -> bool:
        if self.period == float("inf") or now - self.last < self.period:
            return False
        if self.share is None:
            return True
        if self.since is None:
            self.since = now
        return self.spent <= self.share * (now - self.since)

    def mark(self, now: float, cost: float = 0.0) -> None:
        self.last = now
        self.spent += cost
