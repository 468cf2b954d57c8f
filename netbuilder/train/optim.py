"""Optimizers and learning-rate schedules built from a ``TrainingConfig``.

What they compute is defined in recipe.py (shared with exported projects); this module checks
the settings and adapts the config. The learning rate is written into the optimizers' param
groups before every step (a Python float: no sync).
"""
from __future__ import annotations

from collections.abc import Iterable

from . import recipe
from .config import ConfigError, TrainingConfig


def make_optimizer(params: Iterable, config: TrainingConfig, lr: float | None = None):
    """The optimizer ``config.optimizer`` over ``params`` (tensors or param groups)."""
    name = config.optimizer
    config.validate_optimizer_options()
    if name not in recipe.OPTIMIZERS:
        raise ConfigError(f"unknown optimizer {name!r}", field="optimizer")
    if name == "lbfgs" and config.weight_decay:
        raise ConfigError("L-BFGS has no weight decay: set it to 0 and use the layers' l2 "
                          "setting instead", field="weight_decay")
    try:
        return recipe.make_optimizer(name, params, config.lr if lr is None else lr,
                                     momentum=config.momentum, nesterov=config.nesterov,
                                     weight_decay=config.weight_decay,
                                     options=config.optimizer_options)
    except recipe.NothingToTrain as exc:
        raise ConfigError(f"{exc} (switch 'trainable' on for a node in the inspector)",
                          field="optimizer") from None


class Schedule:
    """Learning rate of every param group as ``base_lr × recipe.LearningRate.factor(step)``.

    ``step`` counts optimizer steps within the schedule's phase (0 before the first step).
    """

    def __init__(self, optimizers: list, config: TrainingConfig, steps_per_epoch: int,
                 epochs: int):
        self.optimizers = optimizers
        self.base = [[g["lr"] for g in opt.param_groups] for opt in optimizers]
        top = max((lr for group in self.base for lr in group), default=config.lr)
        self.rate = recipe.LearningRate(config.schedule, config.schedule_options,
                                        config.warmup_steps, steps_per_epoch, epochs, top)
        self.lr = top

    def factor(self, step: int) -> float:
        return self.rate.factor(step)

    def apply(self, step: int) -> float:
        """Set the learning rates for step ``step``; returns the largest one."""
        f = self.rate.factor(step)
        for opt, bases in zip(self.optimizers, self.base):
            for group, base in zip(opt.param_groups, bases):
                group["lr"] = base * f
        self.lr = self.rate.top * f
        return self.lr

    def end_epoch(self, metric: float | None) -> None:
        """Reduce-on-plateau bookkeeping after a validation (lower is better)."""
        self.rate.end_epoch(metric)

    def state_dict(self) -> dict:
        return self.rate.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.rate.load_state_dict(state)
