"""Values whose batch is, for a moment, not their first dimension.

timm's attention permutes ``qkv`` of shape (N, L, 3, heads, d) to (3, N, heads, L, d) and
unbinds the first dimension into q, k and v. A graph keeps the batch first: the permutation
becomes one that keeps it (N, 3, heads, L, d), a *moved* value, and each part taken from it
an Index node (``qkv[:, 0]``), which is exactly the original's part.
"""
from __future__ import annotations

import operator
from typing import Any

import torch
from torch import fx

from .fx_names import assigned_name, describe
from .fx_tensors import scale_use


def held(b, n: fx.Node):
    """The handler of a value that waits for its use to say what it is, when ``n`` uses
    one: a learned gamma (a LayerScale once multiplied), a tensor whose batch a
    permutation moved (Index nodes once taken apart)."""
    kinds = {getattr(b.values.get(a), "kind", None) for a in n.all_input_nodes}
    if "scale" in kinds:
        return scale_use
    if kinds & {"moved", "moved_tuple"}:
        return use
    return None


def _unbinds_first(u: fx.Node) -> bool:
    """``x.unbind(0)`` / ``torch.unbind(x)``: the parts along dim 0."""
    if (u.op, u.target) not in (("call_method", "unbind"), ("call_function", torch.unbind)):
        return False
    dim = u.args[1] if len(u.args) > 1 else u.kwargs.get("dim", 0)
    return dim == 0


def _takes_first(u: fx.Node) -> bool:
    """``x[0]``: one part along dim 0."""
    return u.op == "call_function" and u.target is operator.getitem and \
        isinstance(u.args[1], int)


def permute(b, n: fx.Node, dims: Any):
    """A permutation that moves the batch and whose result is only taken apart along its
    first dimension: the batch-keeping permutation, as a moved value; else None."""
    from .fx_builder import BAD, Value

    if not isinstance(dims, (tuple, list)) or not dims or dims[0] == 0 or 0 not in dims:
        return None
    if not n.users or not all(_unbinds_first(u) or _takes_first(u) for u in n.users):
        return None
    at = list(dims).index(0)
    keep = list(dims)
    keep[0], keep[at] = 0, dims[0]  # (2, 0, 3, 1, 4) -> (0, 2, 3, 1, 4): part k is [:, k]
    value = b.layer(n, "Permute", {"dims": tuple(keep)}, [n.args[0]])
    if value.kind != "tensor":
        return value if value is BAD else BAD
    return Value("moved", value.node, value.port, info={"at": at})


def use(b, n: fx.Node):
    """A call on a moved value: its unbinding waits for the parts; a part is an Index node."""
    from .fx_builder import BAD, Value

    v = next(b.values[a] for a in n.all_input_nodes if b.values.get(a).kind in ("moved",
                                                                                "moved_tuple"))
    if v.kind == "moved" and _unbinds_first(n):
        return Value("moved_tuple", v.node, v.port, info=v.info)
    if _takes_first(n) and n.args[0] is not None:
        index = "[" + ":, " * v.info["at"] + f"{n.args[1]}]"
        nid = b.add("Index", assigned_name(n) or n.name, {"index": index}, n)
        if nid is None:
            return BAD
        b.g.connect(v.node, nid, v.port)
        return Value("tensor", nid, "out")
    b.s.problem(f"{describe(n, b.module)} on a tensor whose batch is not first (a "
                f"permutation moved it)", n)
    return BAD


def sequence_axis(module, n: fx.Node, depth: int = 6) -> int:
    """Where the batch of the model input ``n`` lies: 1 when it reaches a sequence-first
    recurrent layer (torch's default, ``batch_first=False``) as its sequence, or any
    recurrent layer as its initial state ``(layers, N, hidden)``; else 0 (first)."""
    from torch import nn

    frontier = [n]
    for _ in range(depth):
        nxt = []
        for x in frontier:
            for u in x.users:
                mod = module.get_submodule(u.target) if u.op == "call_module" else None
                if isinstance(mod, nn.RNNBase):
                    first = bool(u.args) and u.args[0] is x
                    return 0 if first and mod.batch_first else 1
                nxt.append(u)
        frontier = nxt
    return 0
