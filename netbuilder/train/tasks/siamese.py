"""Siamese / contrastive learning: one encoder applied to two samples, a distance between them.

The graph has two Inputs of one shape (each gets one sample of a pair) and returns either the
distance of the pair, one value per sample, or the two embeddings (the task then takes their
Euclidean distance). The two branches use one encoder through shared modules (a node's
``shares``). Pairs are drawn within each batch from the class labels, half of one class and half
at random, so any labelled dataset trains it. The loss is contrastive (Hadsell, Chopra and LeCun
2006): same-class pairs pulled together, others pushed at least ``margin`` apart; the accuracy
is that of calling a pair "same" when its distance is below half the margin.
"""
from __future__ import annotations

import math
from typing import ClassVar

import torch

from ..losses import contrastive_loss
from . import register_task
from ._shapes import shape_text
from .base import Task, TrainingError


@register_task
class SiameseTask(Task):
    name = "siamese"
    option_defaults = {"margin": 1.0}
    default_loss = "contrastive"
    monitor = "val_accuracy"
    metric_labels: ClassVar[dict] = {
        "loss": ("Contrastive loss", "same-class pairs pulled together, others pushed at least "
                                     "the margin apart; lower is better"),
        "accuracy": ("Pair accuracy", "the share of pairs judged rightly as same or different "
                                      "class (distance below half the margin: same)"),
    }
    view_notes: ClassVar[dict] = {
        "confusion": "No confusion matrix: the siamese task compares pairs; it predicts no "
                     "class for a sample."}
    sample_kind = "predictions"
    graph_inputs = 2

    def __init__(self, config, graph):
        super().__init__(config, graph)
        margin = self.options["margin"]
        if isinstance(margin, bool) or not isinstance(margin, (int, float)) or \
                not 0 < margin < math.inf:
            raise TrainingError(f"The siamese task's margin must be a positive number, not "
                                f"{margin!r}", field="task_options.margin")
        self.margin = float(margin)
        self._generator: torch.Generator | None = None
        self._drawn: tuple | None = None

    def check(self, data, output_shapes: list) -> None:
        super().check(data, output_shapes)
        if data.y is None or data.y.dtype.kind not in "iu" or data.y.ndim != 1:
            raise TrainingError(f"The siamese task pairs samples by their class, but the dataset "
                                f"'{data.name}' has no class labels", field="dataset")
        if self.resolve_loss() != "contrastive":
            raise TrainingError(f"The siamese task trains with the contrastive loss, not "
                                f"{self.resolve_loss()}: set the loss to auto", field="loss")
        shapes = [tuple(s or ()) for s in output_shapes]
        one_distance = len(shapes) == 1 and math.prod(shapes[0]) == 1
        two_embeddings = len(shapes) == 2 and shapes[0] == shapes[1]
        if not (one_distance or two_embeddings):
            got = ", ".join(shape_text(s) for s in shapes) or "nothing"
            raise TrainingError(f"The siamese task needs the distance of each pair (N, 1) or the "
                                f"two embeddings of the same shape, but the graph returns {got}: "
                                f"end the two branches in Outputs, or in one distance node",
                                field="task")

    # --- pairs ----------------------------------------------------------------------------

    def pairs(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(first samples, their partners, 1 where a pair is of one class): the even rows get a
        partner of their own class where the batch has one, the odd rows a random one."""
        x, y = batch["x"], batch["y"]
        n = len(y)
        if self._generator is None or self._generator.device != y.device:
            self._generator = torch.Generator(device=y.device)
            self._generator.manual_seed(self.config.seed)
        ys, order = torch.sort(y, stable=True)
        pos = torch.arange(n, device=y.device)
        start = torch.searchsorted(ys, ys)  # where each sample's class begins (sorted)
        last = torch.ones_like(ys, dtype=torch.bool)
        last[:-1] = ys[1:] != ys[:-1]
        following = torch.where(last, start, pos + 1)  # the next of its class, cyclically
        nxt = torch.empty_like(order)
        nxt[order] = order[following]
        rand = torch.randperm(n, generator=self._generator, device=y.device)
        even = torch.arange(n, device=y.device) % 2 == 0
        partner = torch.where(even, nxt, rand)
        return x, x[partner], (y == y[partner]).float()

    def distance(self, output) -> torch.Tensor:
        if isinstance(output, (tuple, list)):
            a, b = (o.float().reshape(len(o), -1) for o in output)
            return torch.linalg.vector_norm(a - b + 1e-9, dim=1)
        return output.float().reshape(-1)

    # --- training ---------------------------------------------------------------------------

    def _pairs_of(self, batch: dict) -> tuple:
        # NOTE: forward, the loss and the metrics of one batch must see the same pairs; the
        # batch dict is new for every step, so it keys the draw.
        if self._drawn is None or self._drawn[0] is not batch:
            self._drawn = (batch, self.pairs(batch))
        return self._drawn[1]

    def forward(self, ctx, batch: dict):
        x1, x2, _ = self._pairs_of(batch)
        return ctx.model(x1, x2)

    def compute_loss(self, ctx, output, batch: dict) -> torch.Tensor:
        return contrastive_loss(self.distance(output), self._pairs_of(batch)[2], self.margin)

    def metrics_spec(self) -> dict[str, bool]:
        return {"loss": False, "accuracy": True}

    def step_metrics(self, ctx, output, batch) -> dict:
        with torch.no_grad():
            said_same = (self.distance(output) < self.margin / 2).float()
            return {"accuracy": (said_same == self._pairs_of(batch)[2]).float().mean()}
