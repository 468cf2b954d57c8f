"""Classification: class indices as targets; accuracy, top-5, a confusion matrix per validation."""
from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from ...layers import get_spec
from ..events import ConfusionMatrix, Samples
from ..metrics import accuracy, confusion_update, per_class_accuracy, top_k_accuracy
from ..project.tasks import ScriptSpec
from . import register_task
from ._shapes import one_output, output_layer, shape_text
from .base import Task, TrainingError


@register_task
class ClassifyTask(Task):
    name = "classify"
    script = ScriptSpec(scores="accuracy", val_names=("loss", "accuracy"))
    default_loss = "cross_entropy"
    monitor = "val_accuracy"
    sample_kind = "predictions"
    prediction = "classes"
    supports_adversarial = True
    metric_labels: ClassVar[dict] = {
        "loss": ("Loss", "cross-entropy of the predicted class probabilities; lower is better"),
        "accuracy": ("Accuracy", "the share of samples whose most likely class is the true one"),
        "top5": ("Top-5 accuracy", "the share of samples whose true class is among the five "
                                   "most likely"),
    }
    view_notes: ClassVar[dict] = {}

    def __init__(self, config, graph):
        super().__init__(config, graph)
        self.num_classes = 0
        self.classes: list = []
        self._matrix: torch.Tensor | None = None
        self._last_type, self._last_name = output_layer(graph)
        self._last_range = get_spec(self._last_type).output_range if self._last_type else ""

    def resolve_loss(self) -> str:
        if self.config.loss != "auto":
            return self.config.loss
        # A graph ending in (Log)Softmax already normalised its scores: NLL is the right loss.
        normalised = self._last_range in ("probabilities", "log_probabilities")
        return "nll" if normalised else "cross_entropy"

    @property
    def outputs_probabilities(self) -> bool:
        return self._last_range == "probabilities"

    def check(self, data, output_shapes: list) -> None:
        super().check(data, output_shapes)
        if data.y.dtype.kind not in "iu" or data.y.ndim != 1:
            raise TrainingError(f"The dataset '{data.name}' has continuous targets of shape "
                                f"{shape_text(data.y.shape[1:])}, not class labels: use the "
                                f"regress task", field="task")
        shape = one_output(self.name, output_shapes)
        k = data.num_classes or int(data.y.max()) + 1
        self.num_classes = k
        self.classes = list(data.classes) if data.classes else [str(i) for i in range(k)]
        who = f"{self._last_type} '{self._last_name}'"
        if len(shape) != 1:
            raise TrainingError(f"{who} gives {shape_text(shape)} per batch, but "
                                f"classification needs (N, {k}) scores: end the network with a "
                                f"Flatten and a Linear with out_features={k}", field="task")
        if shape[0] < k:
            raise TrainingError(f"{who} gives {shape[0]} scores per sample but the dataset "
                                f"'{data.name}' has {k} classes: set the last layer's "
                                f"out_features to {k}", field="task")
        loss = self.resolve_loss()
        if loss not in ("cross_entropy", "nll"):
            raise TrainingError(f"The {loss} loss does not take class labels: use "
                                f"cross_entropy or nll for classification", field="loss")

    def prepare(self, data):
        return {"x": torch.from_numpy(np.ascontiguousarray(data.x)),
                "y": torch.from_numpy(np.ascontiguousarray(data.y.astype(np.int64)))}

    def metrics_spec(self) -> dict[str, bool]:
        spec = {"loss": False, "accuracy": True}
        if self.num_classes > 5:
            spec["top5"] = True
        return spec

    def metric_names(self) -> set[str]:
        # top-5 accuracy is reported with more than 5 classes, known only once data is read
        return super().metric_names() | {"train_top5", "val_top5"}

    def step_metrics(self, ctx, output, batch) -> dict:
        return {"accuracy": accuracy(output.detach(), batch["y"])}

    def begin_eval(self, ctx) -> None:
        k = max(self.num_classes, 1)
        self._matrix = torch.zeros((k, k), dtype=torch.int64, device=ctx.device)

    def eval_step(self, ctx, batch) -> dict:
        with ctx.autocast():
            output = self.forward(ctx, batch)
            loss = self.compute_loss(ctx, output, batch)
        out = output.detach()[:, : self.num_classes]
        metrics = {"loss": loss.detach().float(), "accuracy": accuracy(out, batch["y"])}
        if self.num_classes > 5:
            metrics["top5"] = top_k_accuracy(out, batch["y"], 5)
        if self._matrix is not None:
            confusion_update(self._matrix, out, batch["y"])
        return metrics

    def end_eval(self, ctx):
        if self._matrix is None or not self.config.events.confusion:
            return {}, []
        matrix = self._matrix.cpu().numpy()
        per_class = per_class_accuracy(matrix)
        event = ConfusionMatrix(epoch=ctx.epoch, matrix=matrix, classes=list(self.classes),
                                step=ctx.step, per_class=per_class)
        return {}, [event]

    def samples(self, ctx, batch):
        output = self.forward(ctx, batch).float()[:, : self.num_classes]
        probs = output if self.outputs_probabilities else (
            output.exp() if self._last_range == "log_probabilities" else torch.softmax(output, -1))
        conf, pred = probs.max(dim=-1)
        names = self.classes
        x = batch["x"]
        images = ctx.data.to_images(x)
        return Samples(step=ctx.step, epoch=ctx.epoch, kind="predictions", images=images,
                       labels=[names[i] for i in batch["y"].tolist()],
                       predictions=[names[i] for i in pred.tolist()],
                       confidences=conf.cpu().numpy().astype(np.float32),
                       inputs=None if images is not None else x.float().cpu().numpy())
