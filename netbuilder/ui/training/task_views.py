"""The dashboard speaks the task: the curves name its metrics as the task does, and a view
with nothing to show for it says why in one line. All of it is read from the task
(``Task.metric_labels``, ``metric_groups``, ``view_notes``); nothing here names a task.

NOTE: looking a task up imports torch, so this runs only once a training view is on screen
(the editor starts without torch).
"""
from __future__ import annotations

from ...errors import NetbuilderError


def task_class(name: str | None):
    """The task class called ``name``; the base Task when it is unknown here (a plug-in)."""
    from ...train.tasks import Task, get_task

    try:
        return get_task(name) if name else Task
    except NetbuilderError:
        return Task


def shown_task_name(controller) -> str | None:
    """The task of what the views show: the document's run, else the document's setup."""
    if controller.shows_run() and controller.started_event is not None:
        return controller.started_event.task
    if controller.document is None:
        return None
    try:
        return controller.config().task
    except NetbuilderError:
        return None


def apply_task(dashboard) -> None:
    """Give each built training view the shown task's words (its panels' notes included)."""
    task = task_class(shown_task_name(dashboard.controller))
    for name, panel in dashboard.panels.items():
        panel.set_note(task.view_notes.get(name))
    curves = dashboard.built("curves")
    if curves is not None:
        curves.set_task(task.metric_label, task.metric_groups)
