"""Loss functions by name: ``make_loss("cross_entropy")`` → ``f(output, target) -> scalar``.

The losses themselves are defined in recipe.py, which exported projects carry too.
"""
from __future__ import annotations

from collections.abc import Callable

from .recipe import LOSSES, contrastive_loss
from .tasks.base import TrainingError

LOSS_NAMES = tuple(LOSSES)
CLASS_LOSSES = ("cross_entropy", "nll")


def make_loss(name: str, *, probabilities: bool = False) -> Callable:
    """The loss called ``name``. ``probabilities``: the model outputs probabilities (it ends
    in Softmax), so ``nll`` takes their log first."""
    from .recipe import loss_function

    if name not in LOSSES:
        raise TrainingError(f"There is no loss {name!r}; the losses are: "
                            f"{', '.join(LOSS_NAMES)}", field="loss")
    return loss_function(name, probabilities)


__all__ = ["make_loss", "LOSS_NAMES", "CLASS_LOSSES", "contrastive_loss"]
