"""How a block is called: its call's arguments bound to its ``forward``'s parameters.

Tensors become the block's inputs, a list or tuple of tensors (``layer(features)`` in a
DenseNet, or the tuple another block returned: DPN's dual paths) one input per tensor, and
anything else (``scale=2``, a default ``None``) a constant the block is traced with.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import torch
from torch import fx, nn


@dataclass
class BlockCall:
    """A block's call: the traced tensors it takes (flattened, in ``forward``'s order; a part
    of a traced tuple as ``(node, index)``), the arguments to trace as constants (``fx.PH``
    marks a tensor inside a list), and the real values of one run, one per parameter, to run
    the traced block on."""

    tensors: list[fx.Node | tuple[fx.Node, int]]
    concrete: dict[str, Any]
    values: tuple


def bind(module: nn.Module, args: tuple, kwargs: dict, real_args: tuple, real_kwargs: dict
         ) -> BlockCall | str:
    """The call ``module(*args, **kwargs)`` of a traced graph (``real_*``: the same call in the
    recorded run), or why it cannot be a block's call, in words."""
    try:
        sig = inspect.signature(module.forward)
        traced = sig.bind(*args, **kwargs)
        real = sig.bind(*real_args, **real_kwargs)
    except (TypeError, ValueError) as exc:
        return f"cannot be called as traced ({exc})"
    traced.apply_defaults()
    real.apply_defaults()
    tensors, concrete, values = [], {}, []
    for name, param in sig.parameters.items():
        value = traced.arguments.get(name)
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            if value:
                return f"is called with *args or **kwargs ({name})"
            continue
        real_value = real.arguments.get(name)
        if isinstance(value, fx.Node) and isinstance(real_value, (tuple, list)) and \
                real_value and all(isinstance(t, torch.Tensor) for t in real_value):
            # a tuple of tensors from another call (``isinstance(x, tuple)`` in the block
            # must see a tuple): traced as one, each part an input
            tensors.extend((value, i) for i in range(len(real_value)))
            concrete[name] = (tuple if isinstance(real_value, tuple) else list)(
                fx.PH for _ in real_value)
        elif isinstance(value, fx.Node):
            tensors.append(value)
        elif isinstance(value, (list, tuple)) and any(_holds_node(v) for v in value):
            if not all(isinstance(v, fx.Node) for v in value):
                return f"is called with a {type(value).__name__} mixing tensors and other " \
                       f"values ({name})"
            tensors.extend(value)
            concrete[name] = (tuple if isinstance(value, tuple) else list)(
                fx.PH for _ in value)  # (a list fx handed over is immutable: a plain one)
        elif _holds_node(value):
            return f"is called with tensors inside a {type(value).__name__} ({name})"
        else:
            concrete[name] = value
        values.append(real.arguments.get(name))
    return BlockCall(tensors, concrete, tuple(values))


def _holds_node(value: Any) -> bool:
    if isinstance(value, fx.Node):
        return True
    if isinstance(value, (list, tuple)):
        return any(_holds_node(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_node(v) for v in value.values())
    return False


def sizes_source(b, n: fx.Node) -> fx.Node:
    """The tensor whose sizes a layer is called with (``self.pos_embd((B, H, W))`` with
    ``B, C, H, W = x.shape``): ``x``, when the sizes are its batch and its last dims in order.
    Raises ``Unsupported`` otherwise."""
    from .fx_map import Unsupported

    sizes = n.args[0] if len(n.args) == 1 and not n.kwargs else None
    infos = [getattr(b.values.get(s), "info", {}) if isinstance(s, fx.Node) else {}
             for s in (sizes if isinstance(sizes, (tuple, list)) else ())]
    source = infos[0].get("batch_of") if infos else None
    values = b.rec.values.get(source) if source is not None else None
    dims = [i.get("dim_of", (None, None)) for i in infos[1:]]
    if not isinstance(values, torch.Tensor) or any(x is not source for x, _ in dims) or \
            [d % values.dim() for _, d in dims] != list(range(values.dim() - len(dims),
                                                              values.dim())):
        raise Unsupported("sizes other than the batch and last sizes of one tensor")
    return source
