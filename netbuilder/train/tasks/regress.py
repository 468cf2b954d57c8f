"""Regression: float targets of shape (k,); loss MSE by default, mean absolute error shown."""
from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import torch

from ..events import Samples
from ..project.tasks import ScriptSpec
from . import register_task
from ._shapes import output_layer, shape_text
from .base import Task, TrainingError


@register_task
class RegressTask(Task):
    name = "regress"
    script = ScriptSpec(scores="mae", val_names=("loss", "mae"))
    default_loss = "mse"
    monitor = "val_loss"
    sample_kind = "predictions"
    supports_adversarial = True
    metric_labels: ClassVar[dict] = {
        "mae": ("Mean absolute error", "the average distance between prediction and target, in "
                                       "the target's units"),
    }
    view_notes: ClassVar[dict] = {
        "confusion": "No confusion matrix: regression predicts numbers, not classes (Samples "
                     "plots predictions against targets)."}

    def check(self, data, output_shapes: list) -> None:
        super().check(data, output_shapes)
        if len(output_shapes) != 1:
            raise TrainingError(f"The regress task needs one output, but the graph returns "
                                f"{len(output_shapes)}: keep one Output node", field="task")
        target = tuple(data.y.shape[1:]) or (1,)
        shape = output_shapes[0] or ()
        if math.prod(shape) != math.prod(target):
            kind, name = output_layer(self.graph)
            raise TrainingError(f"{kind} '{name}' gives {shape_text(shape)} but the dataset "
                                f"'{data.name}' has targets of shape {shape_text(target)}: make "
                                f"the last layer output {math.prod(target)} value(s) per sample",
                                field="task")
        if self.resolve_loss() in ("cross_entropy", "nll"):
            raise TrainingError(f"The {self.resolve_loss()} loss needs class labels: use mse, "
                                f"l1 or smooth_l1 for regression", field="loss")

    def prepare(self, data):
        y = np.asarray(data.y, dtype=np.float32).reshape(len(data.y), -1)
        return {"x": torch.from_numpy(np.ascontiguousarray(data.x)),
                "y": torch.from_numpy(np.ascontiguousarray(y))}

    def metrics_spec(self) -> dict[str, bool]:
        return {"loss": False, "mae": False}

    def step_metrics(self, ctx, output, batch) -> dict:
        out = output.detach().float()
        return {"mae": (out - batch["y"].reshape(out.shape)).abs().mean()}

    def samples(self, ctx, batch):
        out = self.forward(ctx, batch).float()
        x = batch["x"]
        images = ctx.data.to_images(x)
        return Samples(step=ctx.step, epoch=ctx.epoch, kind="predictions", images=images,
                       targets=batch["y"].float().cpu().numpy(),
                       outputs=out.reshape(len(out), -1).cpu().numpy(),
                       inputs=None if images is not None else x.float().cpu().numpy())
