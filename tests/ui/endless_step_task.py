"""A classify task whose third step never ends (a stuck kernel, one enormous step): the worker
imports this module as a plugin, so that the task exists there too."""
import threading

from netbuilder.train import register_task
from netbuilder.train.tasks.classify import ClassifyTask

STUCK_MESSAGE = "inside a step that does not end"


@register_task
class EndlessStepTask(ClassifyTask):
    name = "test_endless_step"

    def train_step(self, ctx, batch):
        if ctx.step == 2:
            ctx.log(STUCK_MESSAGE)
            threading.Event().wait(120)  # blocks like a kernel that never returns
        return super().train_step(ctx, batch)
