"""Optimizers and learning-rate schedules built from a ``TrainingConfig``.

Schedules are computed here rather than with ``torch.optim.lr_scheduler`` so that one object
covers step-wise (cosine, one-cycle, warm-up) and epoch-wise (step, exponential, plateau) kinds,
composes with linear warm-up, and saves its state as plain JSON in a checkpoint. The learning
rate is written into the optimizers' param groups before every step (a Python float: no sync).
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import torch

from .config import ConfigError, TrainingConfig


def make_optimizer(params: Iterable, config: TrainingConfig, lr: float | None = None):
    """The optimizer ``config.optimizer`` over ``params`` (tensors or param groups)."""
    name = config.optimizer
    lr = config.lr if lr is None else lr
    config.validate_optimizer_options()
    extra = dict(config.optimizer_options)
    if "betas" in extra:
        extra["betas"] = tuple(extra["betas"])
    wd = config.weight_decay
    # Frozen parameters (requires_grad False) never reach an optimizer: no step, no decay.
    params = [p for p in params if not isinstance(p, torch.Tensor) or p.requires_grad]
    if not params:
        raise ConfigError("nothing to train here: every parameter is frozen (switch "
                          "'trainable' on for a node in the inspector)", field="optimizer")
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=config.momentum, weight_decay=wd,
                               nesterov=config.nesterov, **extra)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, weight_decay=wd, **extra)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, weight_decay=wd, **extra)
    if name == "adadelta":
        return torch.optim.Adadelta(params, lr=lr, weight_decay=wd, **extra)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=wd, **extra)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd, **extra)
    if name == "lbfgs":
        if wd:
            raise ConfigError("L-BFGS has no weight decay: set it to 0 and use the layers' l2 "
                              "setting instead", field="weight_decay")
        extra.setdefault("max_iter", 5)
        extra.setdefault("history_size", 20)
        extra.setdefault("line_search_fn", "strong_wolfe")
        return torch.optim.LBFGS(params, lr=lr, **extra)
    raise ConfigError(f"unknown optimizer {name!r}", field="optimizer")


class Schedule:
    """Learning rate of every param group as ``base_lr × warm-up × schedule factor``.

    ``step`` counts optimizer steps within the schedule's phase (0 before the first step).
    """

    def __init__(self, optimizers: list, config: TrainingConfig, steps_per_epoch: int,
                 epochs: int):
        self.optimizers = optimizers
        self.kind = config.schedule
        self.opts = dict(config.schedule_options)
        self.warmup = config.warmup_steps
        self.steps_per_epoch = max(1, steps_per_epoch)
        self.epochs = max(1, epochs)
        self.total = self.steps_per_epoch * self.epochs
        self.base = [[g["lr"] for g in opt.param_groups] for opt in optimizers]
        self.top = max((lr for group in self.base for lr in group), default=config.lr)
        # plateau state
        self.plateau_factor = 1.0
        self.best: float | None = None
        self.bad_epochs = 0
        self.lr = self.top

    def _opt(self, key: str, default: float) -> float:
        return float(self.opts.get(key, default))

    def factor(self, step: int) -> float:
        """Multiplier of the base learning rate for optimizer step ``step`` (0-based)."""
        epoch = step // self.steps_per_epoch
        kind = self.kind
        if kind == "step":
            size = max(1, int(self._opt("step_size", max(1, self.epochs // 3))))
            f = self._opt("gamma", 0.1) ** (epoch // size)
        elif kind == "exponential":
            f = self._opt("gamma", 0.95) ** epoch
        elif kind == "cosine":
            lo = self._opt("min_lr", 0.0) / self.top
            t = min(step, self.total) / self.total
            f = lo + (1 - lo) * 0.5 * (1 + math.cos(math.pi * t))
        elif kind == "one_cycle":
            f = self._one_cycle(step)
        elif kind == "plateau":
            f = self.plateau_factor
        else:
            f = 1.0
        if self.warmup and step < self.warmup:
            f *= (step + 1) / self.warmup
        return f

    def _one_cycle(self, step: int) -> float:
        peak = self._opt("max_lr", self.top) / self.top
        start = peak / self._opt("div_factor", 25.0)
        end = start / self._opt("final_div_factor", 1e4)
        up = max(1, int(self._opt("pct_start", 0.3) * self.total))
        t = min(step, self.total)

        def cos_anneal(a, b, frac):
            return b + (a - b) * 0.5 * (1 + math.cos(math.pi * frac))

        if t <= up:
            return cos_anneal(start, peak, t / up)
        return cos_anneal(peak, end, (t - up) / max(1, self.total - up))

    def apply(self, step: int) -> float:
        """Set the learning rates for step ``step``; returns the largest one."""
        f = self.factor(step)
        for opt, bases in zip(self.optimizers, self.base):
            for group, base in zip(opt.param_groups, bases):
                group["lr"] = base * f
        self.lr = self.top * f
        return self.lr

    def end_epoch(self, metric: float | None, higher_is_better: bool = False) -> None:
        """Reduce-on-plateau bookkeeping after a validation."""
        if self.kind != "plateau" or metric is None or not math.isfinite(metric):
            return
        score = -metric if higher_is_better else metric
        if self.best is None or score < self.best - 1e-12:
            self.best, self.bad_epochs = score, 0
            return
        self.bad_epochs += 1
        if self.bad_epochs > int(self._opt("patience", 3)):
            floor = self._opt("min_lr", 0.0) / self.top
            self.plateau_factor = max(self.plateau_factor * self._opt("factor", 0.1), floor)
            self.bad_epochs = 0

    def state_dict(self) -> dict:
        return {"plateau_factor": self.plateau_factor, "best": self.best,
                "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict) -> None:
        self.plateau_factor = float(state.get("plateau_factor", 1.0))
        self.best = state.get("best")
        self.bad_epochs = int(state.get("bad_epochs", 0))
