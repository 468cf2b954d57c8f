"""``TrainingConfig``: everything a run needs besides the graph, saved in the graph file.

The config is plain data with a JSON form (``to_dict``/``from_dict``) stored in ``graph.training``
and written next to every run as ``config.json``. Reading is strict: an unknown key or a bad value
raises :class:`ConfigError` whose ``field`` names the setting (``"optimizer"``,
``"early_stopping.patience"``), so the UI can point at it and the CLI can print one sentence.

STABLE INTERFACE (the dashboard, the code exporter and the generative tasks read it):

=================  =========================================================================
field              meaning (default)
=================  =========================================================================
dataset            built-in name or file path ("digits")
dataset_options    options for ``load_dataset`` ({}), e.g. {"size": 28}, {"flatten": true}
task               "classify" | "regress" | "autoencode" | any registered task ("classify")
task_options       options the task validates ({}); autoencode: {"denoise": "none"|"gaussian"|
                   "masking", "strength": 0.2}
loss               "auto" (the task's choice) | cross_entropy | nll | mse | l1 | smooth_l1 |
                   bce | bce_logits | contrastive (siamese pairs) ("auto")
optimizer          sgd | rmsprop | adagrad | adadelta | adam | adamw | lbfgs ("adam")
lr                 learning rate (1e-3); weight_decay (0.0); momentum (0.9, sgd only);
                   nesterov (False, sgd); optimizer_options: extra keyword arguments ({})
schedule           none | step | exponential | cosine | one_cycle | plateau ("none");
                   schedule_options ({}): step_size, gamma, min_lr, max_lr, pct_start,
                   factor, patience; warmup_steps: linear warm-up over that many steps (0)
batch_size         64;  epochs: 10;  val_split: 0.2;  seed: 0
device             "auto" (CUDA, then MPS, then CPU) | "cpu" | "cuda" | "cuda:1" | "mps"
precision          "auto" (bf16 autocast on CUDA when supported, else fp32) | fp32 | bf16 | fp16
channels_last      "auto" (on for conv nets on CUDA) | true | false
compile            torch.compile the model (False)
early_stopping     null (off) or {"metric": "auto"|"val_loss"|"val_accuracy"|..., "patience": 5,
                   "mode": "auto"|"min"|"max", "min_delta": 0.0, "target": null}; ``target``
                   stops as soon as the metric reaches that value
grad_clip          clip the global gradient norm to this value (0 = off)
checkpoint_every   save weights + optimizer state every N epochs (1; 0 = only at the end)
normalization      "none" | "standard" | "minmax" (statistics of the training split)
augmentation       {"flip": false, "shift": 0, "rotate": 0.0, "noise": 0.0} (images)
probe              "auto" (every Conv/Linear node) | "none" | [node names] (activations)
adversarial        adversarial training: {"method": "none"|"fgsm"|"pgd", "eps": 0.1 (in pixel
                   units: the data's own scale before normalisation, 0-1 for pictures; PGD's
                   step_size too), "fraction": 0.5 (share of each batch replaced
                   by its adversarial examples), "steps": 7, "step_size": 0.0 (PGD; 0:
                   2.5·eps/steps)} (classify and regress)
events             {"metrics_hz": 10, "images_hz": 2, "activations": true, "histograms": true,
                   "samples": true, "confusion": true}
=================  =========================================================================
"""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ..errors import NetbuilderError

OPTIMIZERS = ("sgd", "rmsprop", "adagrad", "adadelta", "adam", "adamw", "lbfgs")
SCHEDULES = ("none", "step", "exponential", "cosine", "one_cycle", "plateau")
LOSSES = ("auto", "cross_entropy", "nll", "mse", "l1", "smooth_l1", "bce", "bce_logits",
          "contrastive")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
NORMALIZATIONS = ("none", "standard", "minmax")
AUGMENT_KEYS = ("flip", "shift", "rotate", "noise")
# optimizer_options each optimizer accepts, and what each value must be ("pair": two numbers;
# a tuple: the allowed values). The keys are the torch classes' own keyword names.
OPTIMIZER_OPTIONS: dict[str, dict[str, Any]] = {
    "sgd": {"dampening": "float"},
    "rmsprop": {"alpha": "float", "eps": "float", "momentum": "float", "centered": "bool"},
    "adagrad": {"lr_decay": "float", "eps": "float", "initial_accumulator_value": "float"},
    "adadelta": {"rho": "float", "eps": "float"},
    "adam": {"betas": "pair", "eps": "float", "amsgrad": "bool"},
    "adamw": {"betas": "pair", "eps": "float", "amsgrad": "bool"},
    "lbfgs": {"max_iter": "int", "history_size": "int", "line_search_fn": ("strong_wolfe", None),
              "tolerance_grad": "float", "tolerance_change": "float"},
}
# the TrainingConfig settings each optimizer uses (the setup form shows only these)
OPTIMIZER_SETTINGS: dict[str, tuple[str, ...]] = {
    **{name: ("lr", "weight_decay") for name in OPTIMIZER_OPTIONS},
    "sgd": ("lr", "momentum", "weight_decay"),
    "lbfgs": ("lr",),  # no weight decay: the layers' l2 setting instead
}
SCHEDULE_OPTION_KEYS = ("step_size", "gamma", "min_lr", "max_lr", "pct_start", "factor",
                        "patience", "div_factor", "final_div_factor")


class ConfigError(NetbuilderError):
    """A training setting is invalid; ``field`` names it (dotted for nested settings)."""


@dataclass
class EarlyStopping:
    """Stop when ``metric`` has not improved for ``patience`` epochs, or reached ``target``."""

    metric: str = "auto"  # "auto": the task's monitor metric (val_accuracy / val_loss)
    patience: int = 5
    mode: str = "auto"  # "auto": from the task's metrics_spec (accuracy: max, loss: min)
    min_delta: float = 0.0
    target: float | None = None

    def validate(self) -> None:
        _check_int("early_stopping.patience", self.patience, 0)
        _check_choice("early_stopping.mode", self.mode, ("auto", "min", "max"))
        _check_float("early_stopping.min_delta", self.min_delta, 0.0)
        if not isinstance(self.metric, str) or not self.metric:
            raise ConfigError("early_stopping.metric must be a metric name such as 'val_loss'",
                              field="early_stopping.metric")
        if self.target is not None:
            _check_float("early_stopping.target", self.target, None)


ADVERSARIAL_METHODS = ("none", "fgsm", "pgd")


@dataclass
class AdversarialTraining:
    """FGSM/PGD examples mixed into every training batch (``recipe.adversarial_batch``)."""

    method: str = "none"
    eps: float = 0.1
    fraction: float = 0.5
    steps: int = 7  # PGD only
    step_size: float = 0.0  # PGD only; 0: 2.5 * eps / steps

    def validate(self) -> None:
        _check_choice("adversarial.method", self.method, ADVERSARIAL_METHODS)
        _check_float("adversarial.eps", self.eps, 0.0)
        _check_float("adversarial.fraction", self.fraction, 0.0)
        if self.fraction > 1:
            raise ConfigError(f"adversarial.fraction is a share of the batch, from 0 to 1, not "
                              f"{self.fraction}", field="adversarial.fraction")
        _check_int("adversarial.steps", self.steps, 1)
        _check_float("adversarial.step_size", self.step_size, 0.0)

    @property
    def on(self) -> bool:
        return self.method != "none" and self.eps > 0 and self.fraction > 0

    def recipe_options(self) -> dict:
        """The keywords of ``recipe.adversarial_batch``."""
        return {"method": self.method, "eps": float(self.eps), "fraction": float(self.fraction),
                "steps": int(self.steps), "step_size": float(self.step_size) or None}


@dataclass
class EventSettings:
    """How much live information the trainer sends, and how often."""

    metrics_hz: float = 10.0  # progress + metrics events per second, at most
    images_hz: float = 2.0  # activations / samples / histograms events per second, at most
    activations: bool = True
    histograms: bool = True
    samples: bool = True
    confusion: bool = True

    def validate(self) -> None:
        _check_float("events.metrics_hz", self.metrics_hz, 0.0)
        _check_float("events.images_hz", self.images_hz, 0.0)
        for k in ("activations", "histograms", "samples", "confusion"):
            _check_bool(f"events.{k}", getattr(self, k))


@dataclass
class TrainingConfig:
    """The training setup of a graph; see the module docstring for every field."""

    dataset: str = "digits"
    dataset_options: dict = field(default_factory=dict)
    task: str = "classify"
    task_options: dict = field(default_factory=dict)
    loss: str = "auto"
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9
    nesterov: bool = False
    optimizer_options: dict = field(default_factory=dict)
    schedule: str = "none"
    schedule_options: dict = field(default_factory=dict)
    warmup_steps: int = 0
    batch_size: int = 64
    epochs: int = 10
    val_split: float = 0.2
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"
    channels_last: Any = "auto"
    compile: bool = False
    early_stopping: EarlyStopping | None = None
    grad_clip: float = 0.0
    checkpoint_every: int = 1
    normalization: str = "none"
    augmentation: dict = field(default_factory=dict)
    probe: Any = "auto"
    adversarial: AdversarialTraining = field(default_factory=AdversarialTraining)
    events: EventSettings = field(default_factory=EventSettings)

    def __post_init__(self) -> None:
        if isinstance(self.early_stopping, dict):
            self.early_stopping = _nested(EarlyStopping, self.early_stopping, "early_stopping")
        if isinstance(self.events, dict):
            self.events = _nested(EventSettings, self.events, "events")
        if isinstance(self.adversarial, dict):
            self.adversarial = _nested(AdversarialTraining, self.adversarial, "adversarial")

    # --- JSON ------------------------------------------------------------------------------

    def to_dict(self) -> dict:
        """A JSON-ready dict (the form stored in ``graph.training`` and ``config.json``)."""
        d = asdict(self)
        if isinstance(d["probe"], tuple):
            d["probe"] = list(d["probe"])
        return d

    @classmethod
    def from_dict(cls, data: dict | None) -> TrainingConfig:
        """Strict reading: unknown keys and bad values raise ConfigError naming the field."""
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError("the training settings must be a JSON object", field="training")
        known = {f.name for f in fields(cls)}
        for key in data:
            if key not in known:
                raise ConfigError(f"unknown training setting {key!r}; the settings are: "
                                  f"{', '.join(sorted(known))}", field=str(key))
        cfg = cls(**data)
        cfg.validate()
        return cfg

    @classmethod
    def from_graph(cls, graph) -> TrainingConfig:
        """The config stored in ``graph.training`` (defaults when it holds none)."""
        return cls.from_dict(dict(graph.training or {}))

    def replace(self, **changes) -> TrainingConfig:
        """A validated copy with some settings changed (``cfg.replace(epochs=3)``)."""
        d = self.to_dict()
        d.update(changes)
        return TrainingConfig.from_dict(d)

    def with_settings(self, pairs, source: str = "") -> TrainingConfig:
        """A validated copy with ``(key, value)`` settings applied; a dotted key reaches into a
        group (``early_stopping.patience``, ``augmentation.flip``, ``dataset_options.size``).
        Errors are ConfigErrors that name the key (and the valid keys, for an unknown one)."""
        d = self.to_dict()
        groups = {f.name for f in fields(self) if isinstance(d[f.name], dict)
                  or f.name == "early_stopping"}
        prefix = f"{source} " if source else ""
        for key, value in pairs:
            top, dot, sub = str(key).partition(".")
            if top not in d:
                raise ConfigError(f"{prefix}{key}: unknown training setting {top!r}; the "
                                  f"settings are: {', '.join(sorted(d))}", field=top)
            if not dot:
                d[top] = value
                continue
            if top not in groups or not sub:
                raise ConfigError(f"{prefix}{key}: {top!r} is not a group of settings; the "
                                  f"groups are: {', '.join(sorted(groups))}", field=top)
            d[top] = {**(d[top] or {}), sub: value}
        try:
            return TrainingConfig.from_dict(d)
        except ConfigError as exc:
            where = f"{prefix}{exc.field}: " if exc.field else prefix
            raise ConfigError(f"{where}{exc.message}", field=exc.field) from None
        except TypeError as exc:  # a group given a value that is not an object
            raise ConfigError(f"{prefix}{exc}", field=None) from None

    def summary(self) -> dict:
        """The few settings a dashboard header shows."""
        return {k: getattr(self, k) for k in ("dataset", "task", "loss", "optimizer", "lr",
                                              "schedule", "batch_size", "epochs", "device",
                                              "precision")}

    # --- validation ------------------------------------------------------------------------

    def validate(self) -> TrainingConfig:
        """Raise ConfigError naming the first bad field; return self when all is well."""
        if not isinstance(self.dataset, str) or not self.dataset.strip():
            raise ConfigError("dataset must be a built-in dataset name or a file path",
                              field="dataset")
        for name in ("dataset_options", "task_options", "optimizer_options", "schedule_options",
                     "augmentation"):
            if not isinstance(getattr(self, name), dict):
                raise ConfigError(f"{name} must be an object of settings", field=name)
        if not isinstance(self.task, str) or not self.task:
            raise ConfigError("task must be a task name such as 'classify'", field="task")
        _check_choice("loss", self.loss, LOSSES)
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_float("lr", self.lr, 0.0, strict=True)
        _check_float("weight_decay", self.weight_decay, 0.0)
        _check_float("momentum", self.momentum, 0.0)
        _check_bool("nesterov", self.nesterov)
        if self.nesterov and self.optimizer == "sgd" and self.momentum <= 0:
            raise ConfigError("Nesterov momentum needs a momentum above 0", field="momentum")
        self.validate_optimizer_options()
        _check_choice("schedule", self.schedule, SCHEDULES)
        for key, value in self.schedule_options.items():
            if key not in SCHEDULE_OPTION_KEYS:
                raise ConfigError(f"unknown schedule option {key!r}; the options are: "
                                  f"{', '.join(SCHEDULE_OPTION_KEYS)}",
                                  field=f"schedule_options.{key}")
            _check_float(f"schedule_options.{key}", value, 0.0)
        _check_int("warmup_steps", self.warmup_steps, 0)
        _check_int("batch_size", self.batch_size, 1)
        _check_int("epochs", self.epochs, 1)
        _check_float("val_split", self.val_split, 0.0)
        if self.val_split >= 1.0:
            raise ConfigError(f"val_split must be below 1 (a fraction of the data), not "
                              f"{self.val_split}", field="val_split")
        _check_int("seed", self.seed, 0)
        if not isinstance(self.device, str) or not (
                self.device in ("auto", "cpu", "cuda", "mps")
                or re.fullmatch(r"cuda:\d+", self.device)):
            raise ConfigError(f"device must be auto, cpu, cuda (or cuda:N) or mps, not "
                              f"{self.device!r}", field="device")
        _check_choice("precision", self.precision, PRECISIONS)
        if self.channels_last not in ("auto", True, False):
            raise ConfigError(f"channels_last must be 'auto', true or false, not "
                              f"{self.channels_last!r}", field="channels_last")
        _check_bool("compile", self.compile)
        if self.early_stopping is not None:
            if not isinstance(self.early_stopping, EarlyStopping):
                raise ConfigError("early_stopping must be null or an object",
                                  field="early_stopping")
            self.early_stopping.validate()
        _check_float("grad_clip", self.grad_clip, 0.0)
        _check_int("checkpoint_every", self.checkpoint_every, 0)
        _check_choice("normalization", self.normalization, NORMALIZATIONS)
        for key, value in self.augmentation.items():
            if key not in AUGMENT_KEYS:
                raise ConfigError(f"unknown augmentation {key!r}; the augmentations are: "
                                  f"{', '.join(AUGMENT_KEYS)}", field=f"augmentation.{key}")
            if key == "flip":
                _check_bool("augmentation.flip", value)
            else:
                _check_float(f"augmentation.{key}", value, 0.0)
        if isinstance(self.probe, (list, tuple)):
            if not all(isinstance(p, str) for p in self.probe):
                raise ConfigError("probe must list node names", field="probe")
            self.probe = list(self.probe)
        elif self.probe not in ("auto", "none"):
            raise ConfigError(f"probe must be 'auto', 'none' or a list of node names, not "
                              f"{self.probe!r}", field="probe")
        if not isinstance(self.events, EventSettings):
            raise ConfigError("events must be an object", field="events")
        self.events.validate()
        if not isinstance(self.adversarial, AdversarialTraining):
            raise ConfigError("adversarial must be an object", field="adversarial")
        self.adversarial.validate()
        return self


    def validate_optimizer_options(self) -> None:
        """Each optimizer option is one the optimizer's torch class takes, with a valid value."""
        accepted = OPTIMIZER_OPTIONS.get(self.optimizer, {})
        for key, value in self.optimizer_options.items():
            where = f"optimizer_options.{key}"
            kind = accepted.get(key)
            if kind is None:
                raise ConfigError(f"{self.optimizer} has no option {key!r}; it accepts "
                                  f"{', '.join(sorted(accepted))}", field=where)
            if kind == "float":
                _check_float(where, value, 0.0)
            elif kind == "int":
                _check_int(where, value, 1)
            elif kind == "bool":
                _check_bool(where, value)
            elif kind == "pair":
                if not (isinstance(value, (list, tuple)) and len(value) == 2 and all(
                        isinstance(v, (int, float)) and not isinstance(v, bool)
                        and 0 <= v < 1 for v in value)):
                    raise ConfigError(f"{where} must be two numbers in [0, 1), such as "
                                      f"[0.9, 0.999], not {value!r}", field=where)
            elif value not in kind:
                raise ConfigError(f"{where} must be one of "
                                  f"{', '.join(repr(k) for k in kind)}, not {value!r}",
                                  field=where)


def stored_setting(training: dict | None, key: str) -> Any:
    """Setting ``key`` of stored training settings (a graph's ``training``, a run's
    config.json), or its ``TrainingConfig`` default when they leave it out or hold null. For
    readers that use one setting and must not refuse an old or partial file (``from_dict``
    refuses)."""
    value = training.get(key) if isinstance(training, dict) else None
    if value is not None:
        return value
    return getattr(TrainingConfig(), key)


def _nested(cls, data: dict, name: str):
    if not isinstance(data, dict):
        raise ConfigError(f"{name} must be an object", field=name)
    known = {f.name for f in fields(cls)}
    for key in data:
        if key not in known:
            raise ConfigError(f"unknown setting {key!r} in {name}; the settings are: "
                              f"{', '.join(sorted(known))}", field=f"{name}.{key}")
    return cls(**data)


def _check_choice(name: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, not {value!r}",
                          field=name)


def _check_bool(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, not {value!r}", field=name)


def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be a whole number of at least {minimum}, not {value!r}",
                          field=name)


def _check_float(name: str, value: Any, minimum: float | None, strict: bool = False) -> None:
    ok = (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
          and (minimum is None or (value > minimum if strict else value >= minimum)))
    if not ok:
        bound = "" if minimum is None else (f" above {minimum:g}" if strict else
                                            f" of at least {minimum:g}")
        raise ConfigError(f"{name} must be a number{bound}, not {value!r}", field=name)
