"""Task registry: ``get_task(name)`` finds a task class; ``register_task`` adds one.

Task modules placed in this package (``netbuilder/train/tasks/*.py``) are imported on the first
lookup of an unknown name, so a new task registers itself without editing this file, also inside
the spawned worker process.
"""
from __future__ import annotations

import importlib
import pkgutil

from .base import DataInfo, Phase, StepContext, Task, TrainingError

_REGISTRY: dict[str, type[Task]] = {}
_scanned = False


def register_task(cls: type[Task]) -> type[Task]:
    """Class decorator: make ``cls`` available as ``TrainingConfig.task == cls.name``."""
    if not (isinstance(cls, type) and issubclass(cls, Task)):
        raise TypeError("register_task expects a Task subclass")
    other = _REGISTRY.get(cls.name)
    if other is not None and other is not cls and (other.__module__, other.__qualname__) != (
            cls.__module__, cls.__qualname__):
        raise ValueError(f"a task named {cls.name!r} is already registered ({other.__module__})")
    _REGISTRY[cls.name] = cls
    return cls


def _scan() -> None:
    global _scanned
    _scanned = True
    for info in pkgutil.iter_modules(__path__):
        if info.name != "base":
            importlib.import_module(f"{__name__}.{info.name}")


def get_task(name: str) -> type[Task]:
    """The task class called ``name``; TrainingError listing the known tasks otherwise."""
    if name not in _REGISTRY and not _scanned:
        _scan()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise TrainingError(f"There is no task {name!r}; the tasks are: "
                            f"{', '.join(task_names())}", field="task") from None


def graph_check(graph) -> list:
    """``graph.check()`` with what the graph's training task needs of the drawing (a GAN task:
    a wired Discriminator): the gaps a half-drawn graph may have become errors. An unknown
    task is the settings check's to report: then nothing is needed."""
    name = (graph.training or {}).get("task") or "classify"
    try:
        needs = get_task(name).graph_needs if isinstance(name, str) else frozenset()
    except TrainingError:
        needs = frozenset()
    return graph.check(needs)


def task_names() -> list[str]:
    if not _scanned:
        _scan()
    return sorted(_REGISTRY)


from . import autoencode, classify, regress  # noqa: E402,F401  (the built-in tasks register)

__all__ = ["Task", "Phase", "StepContext", "DataInfo", "TrainingError", "register_task",
           "get_task", "graph_check", "task_names"]
