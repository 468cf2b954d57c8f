"""Training: datasets, tasks, the trainer loop, events and the worker process (no Qt).

    from netbuilder.train import TrainingConfig, train
    result = train(graph, TrainingConfig(dataset="digits", epochs=5), emit=print)
    result.history[-1]["val_accuracy"], result.summary["best_epoch"], result.model

Interfaces others build on: ``TrainingConfig`` (config.py), the events (events.py), the task
interface and registry (tasks/), ``Trainer``/``train`` (trainer.py) and ``Runner`` (runner.py).
"""
from . import events
from .config import ConfigError, EarlyStopping, EventSettings, TrainingConfig
from .runner import Runner
from .tasks import (
    DataInfo,
    Phase,
    StepContext,
    Task,
    TrainingError,
    get_task,
    register_task,
    task_names,
)
from .trainer import Control, RunResult, Trainer, TrainingFailed, train

__all__ = [
    "TrainingConfig", "EarlyStopping", "EventSettings", "ConfigError", "train", "Trainer",
    "RunResult", "Control", "TrainingFailed", "Runner", "events", "Task", "Phase",
    "StepContext", "DataInfo", "TrainingError", "get_task", "register_task", "task_names",
]
