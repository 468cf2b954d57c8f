"""Which validation samples does the model get wrong, and how sure is it? The order of the
validation gallery: mistakes first, the most confident first (the most telling ones), then the
right answers, the least confident first (those closest to being wrong)."""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Verdict:
    """The model's answer on one validation sample."""

    index: int  # in the validation set
    predicted: int
    label: int | None
    confidence: float  # softmax probability of the predicted class

    @property
    def correct(self) -> bool | None:
        return None if self.label is None else self.predicted == self.label


@torch.no_grad()
def verdicts(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor | None = None,
             batch: int = 512) -> list[Verdict]:
    """Every sample's prediction and confidence, in gallery order (see the module's text)."""
    probs = torch.cat([torch.softmax(model(x[i:i + batch]).reshape(len(x[i:i + batch]), -1)
                                     .float(), 1) for i in range(0, len(x), batch)])
    conf, pred = probs.max(1)
    labels = None if y is None else y.long().numpy()
    out = [Verdict(i, int(pred[i]), None if labels is None else int(labels[i]), float(conf[i]))
           for i in range(len(x))]
    # wrong (0) before right (1); among the wrong the surest first, among the right the least
    return sorted(out, key=lambda v: (v.correct is True,
                                      -v.confidence if not v.correct else v.confidence, v.index))


def select(ranked: list[Verdict], label: int | None = None, correct: bool | None = None
           ) -> list[Verdict]:
    """The verdicts of one class (by label, None: all) that are right or wrong (None: both)."""
    return [v for v in ranked if (label is None or v.label == label)
            and (correct is None or v.correct is correct)]
