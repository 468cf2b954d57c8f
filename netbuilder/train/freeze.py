"""Frozen nodes in training: their parameters keep their values, their layers run as in
inference.

NOTE (BatchNorm of frozen nodes): a frozen node runs in eval mode for the whole run, so a
frozen BatchNorm normalises with its running statistics and never updates them, and a Dropout
inside a frozen block is off. This is what Keras does (a ``BatchNormalization`` with
``trainable = False`` runs in inference mode, and its transfer-learning guide calls the frozen
base with ``training=False``) and what torchvision's detection backbones do with
``FrozenBatchNorm2d``: statistics of a small new dataset must not overwrite those the
pretrained weights were learned with. The exported ``train.py`` does the same (its ``freeze``).
"""
from __future__ import annotations

from collections.abc import Iterable

from torch import nn


def _under(name: str, paths: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in paths)


def freeze(module: nn.Module, paths: Iterable[str]) -> int:
    """Freeze what lies under ``paths`` (``compile.frozen_layers``); the number of frozen
    parameter values."""
    paths = tuple(paths)
    if not paths:
        return 0
    frozen = 0
    for name, p in module.named_parameters():
        if _under(name, paths):
            p.requires_grad_(False)
            frozen += p.numel()
    for path in paths:
        try:
            sub = module.get_submodule(path)
        except AttributeError:
            continue  # a learned tensor (a Parameter node), not a module
        _stay_in_eval(sub)
    return frozen


def _stay_in_eval(sub: nn.Module) -> None:
    """Keep ``sub`` (and what it holds) in eval mode whatever ``model.train()`` says."""
    def train(mode: bool = True) -> nn.Module:
        return nn.Module.train(sub, False)

    # NOTE: an instance attribute, found before the class's method: the parent's
    # ``train(mode)`` reaches every child through ``child.train(mode)``.
    sub.train = train
    sub.eval()


__all__ = ["freeze"]
