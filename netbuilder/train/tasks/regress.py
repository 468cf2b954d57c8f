"""Regression: float targets of shape (k,); loss MSE by default, mean absolute error shown."""
from __future__ import annotations

from typing import ClassVar

from ..events import Samples
from ..project.tasks import ScriptSpec
from . import register_task
from ._shapes import check_size, one_output
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
        target = tuple(data.y.shape[1:]) or (1,)
        check_size(self.graph, one_output(self.name, output_shapes), target,
                   f"the dataset '{data.name}' has targets of shape", "make the last layer output")
        if self.resolve_loss() in ("cross_entropy", "nll"):
            raise TrainingError(f"The {self.resolve_loss()} loss needs class labels: use mse, "
                                f"l1 or smooth_l1 for regression", field="loss")

    def prepare(self, data):
        out = super().prepare(data)
        out["y"] = out["y"].float().reshape(len(data.y), -1)
        return out

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
