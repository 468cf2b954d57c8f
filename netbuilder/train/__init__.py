"""Training: datasets, tasks, the trainer loop, events and the worker process (no Qt).

    from netbuilder.train import TrainingConfig, train
    result = train(graph, TrainingConfig(dataset="digits", epochs=5), emit=print)
    result.history[-1]["val_accuracy"], result.summary["best_epoch"], result.model

Interfaces others build on: ``TrainingConfig`` (config.py), the events (events.py), the task
interface and registry (tasks/), ``Trainer``/``train`` (trainer.py) and ``Runner`` (runner.py).
"""
from importlib import import_module

from . import events
from .config import ConfigError, EarlyStopping, EventSettings, TrainingConfig

# NOTE: the trainer, runner and tasks import torch (seconds on a cold start). They load on first
# use, so that reading or editing a TrainingConfig (the editor's setup form) stays instant.
_LAZY = {
    "Runner": ".runner",
    **{name: ".tasks" for name in ("DataInfo", "Phase", "StepContext", "Task", "TrainingError",
                                   "get_task", "register_task", "task_names")},
    **{name: ".trainer" for name in ("Control", "RunResult", "Trainer", "TrainingFailed",
                                     "train")},
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "TrainingConfig", "EarlyStopping", "EventSettings", "ConfigError", "train", "Trainer",
    "RunResult", "Control", "TrainingFailed", "Runner", "events", "Task", "Phase",
    "StepContext", "DataInfo", "TrainingError", "get_task", "register_task", "task_names",
]
