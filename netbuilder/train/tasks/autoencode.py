"""Autoencoding: the target is the input; optionally a denoising autoencoder (corrupted input)."""
from __future__ import annotations

from typing import ClassVar

import torch

from ..events import Samples
from ..project.tasks import ScriptSpec
from ..recipe import corrupt
from . import register_task
from ._shapes import check_float_inputs, check_size, one_output
from .base import Task, TrainingError

DENOISE = ("none", "gaussian", "masking")


@register_task
class AutoencodeTask(Task):
    name = "autoencode"
    graph_needs: ClassVar[frozenset[str]] = frozenset({"reconstruction"})
    script = ScriptSpec(labelled=False, target="x")
    option_defaults = {"denoise": "none", "strength": 0.2}
    default_loss = "mse"
    monitor = "val_loss"
    sample_kind = "reconstructions"
    needs_labels = False
    metric_labels: ClassVar[dict] = {
        "loss": ("Reconstruction loss", "how far each output is from its input; lower is "
                                        "better"),
    }
    view_notes: ClassVar[dict] = {
        "confusion": "No confusion matrix: an autoencoder reconstructs its input and predicts "
                     "no classes (Samples shows the reconstructions)."}

    @classmethod
    def validate_options(cls, options: dict) -> dict:
        opts = super().validate_options(options)
        if opts["denoise"] not in DENOISE:
            raise TrainingError(f"denoise must be one of {', '.join(DENOISE)}, not "
                                f"{opts['denoise']!r}", field="task_options.denoise")
        s = opts["strength"]
        if isinstance(s, bool) or not isinstance(s, (int, float)) or not 0 <= s <= 10:
            raise TrainingError(f"strength must be a number from 0 to 10, not {s!r}",
                                field="task_options.strength")
        if opts["denoise"] == "masking" and s >= 1:
            raise TrainingError("masking strength is the fraction of inputs zeroed: use a value "
                                "below 1", field="task_options.strength")
        return opts

    def check(self, data, output_shapes: list) -> None:
        check_size(self.graph, one_output(self.name, output_shapes), data.input_shape,
                   "an autoencoder must reproduce its input", "make the decoder end with")
        check_float_inputs(data, "An autoencoder reproduces float inputs")

    def corrupt(self, x: torch.Tensor) -> torch.Tensor:
        return corrupt(x, self.options["denoise"], float(self.options["strength"]))

    def forward(self, ctx, batch):
        return ctx.model(self.corrupt(batch["x"]))

    def target(self, ctx, batch):
        return batch["x"]

    def samples(self, ctx, batch):
        x = batch["x"]
        noisy = self.corrupt(x)
        out = ctx.model(noisy).float().reshape(x.shape)
        images = ctx.data.to_images(noisy)
        recon = ctx.data.to_images(out)
        return Samples(step=ctx.step, epoch=ctx.epoch, kind="reconstructions", images=images,
                       reconstructions=recon,
                       inputs=None if images is not None else x.float().cpu().numpy(),
                       outputs=None if recon is not None else out.cpu().numpy())
