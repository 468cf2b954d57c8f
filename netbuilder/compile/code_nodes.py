"""Nodes that name Python code (Module nodes): analysed by importing and running it, but only
once the graph is trusted; until then a placeholder with the shape the file saved."""
from __future__ import annotations

import warnings

import torch
from torch import nn

from ..errors import CompileError
from ..graph import trust
from ..layers.catalog_module import TargetError, parse_arguments, parse_target
from ..layers.spec import EmitContext


def untrusted_code(node) -> None:
    """CompileError when ``node`` names code that may not be imported (or names it badly)."""
    if node.spec.code_target is None:
        return
    target = node.spec.code_target(node.params)
    try:
        parse_target(target)
        parse_arguments(node.params.get("arguments", "{}"))
    except TargetError as exc:
        raise CompileError(f"{node.label}: {exc}", node=node.id) from None
    if not trust.is_allowed(target):
        raise CompileError(f"{node.label} names code that is not trusted ({target!r}): trust "
                           f"the graph file first (--trust on the command line)", node=node.id)


def analyze_code_node(node, info, namespace: dict):
    """Fill ``info`` (a NodeInfo) for a Module node; the node keeps the shape and parameter
    count it gets, so that its file can show them while untrusted."""
    target = node.spec.code_target(node.params)
    try:
        untrusted_code(node)
    except CompileError as exc:
        saved = node.params.get("out_shape")
        if trust.is_allowed(target) or saved is None:
            info.error = exc.message if trust.is_allowed(target) else (
                f"{exc.message}; its file saves no output shape to stand in until then")
            return info
        info.out_shapes, info.out_dtypes = [tuple(saved)], ["float32"]
        info.params = info.trainable = int(node.params.get("n_params") or 0)
        return info
    ctx = EmitContext(name="m", params=node.params, in_vars=["x"], in_shapes=info.in_shapes,
                      out_vars=["o"])
    em = node.spec.emit(ctx)
    scope = dict(namespace)
    try:
        for statement in em.imports:
            exec(statement, scope)  # noqa: S102 (trusted: the person said so)
        cls = eval(em.init.split("(", 1)[0], scope)  # noqa: S307 (a checked dotted name)
        if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
            info.error = f"{node.label}: {target!r} is not an nn.Module class"
            return info
        out, module = _run(em.init, scope, info.in_shapes, node.params.get("item"),
                           info.in_dtypes)
    except Exception as exc:  # noqa: BLE001 (the user's code: its error, said about the node)
        info.error = f"{node.label} ({target}) fails: {type(exc).__name__}: {exc}"
        return info
    info.out_shapes = [tuple(out.shape[1:])]
    info.out_dtypes = [str(out.dtype).replace("torch.", "")]
    info.params = sum(p.numel() for p in module.parameters())
    info.trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    node.params["out_shape"] = info.out_shapes[0]  # NOTE: the file keeps what was last seen
    node.params["n_params"] = info.params
    return info


def _run(init: str, scope: dict, shapes: list, item=None, dtypes=()):
    """The module's output (element ``item`` of a tuple) on meta tensors, or on a real batch
    of one where it cannot run on meta (data-dependent code, ``.item()``, numpy)."""
    kinds = [torch.int64 if d == "int64" else torch.float32 for d in dtypes] or \
        [torch.float32] * len(shapes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with torch.device("meta"):
                module = eval(init, scope).eval()  # noqa: S307 (checked names and literals)
                out = module(*[torch.empty((1, *s), dtype=k, device="meta")
                               for s, k in zip(shapes, kinds)])
        except Exception:  # noqa: BLE001 (some code cannot run on meta: run it for real)
            module = eval(init, scope).eval()  # noqa: S307
            with torch.no_grad():
                out = module(*[torch.zeros((1, *s), dtype=k) for s, k in zip(shapes, kinds)])
    if isinstance(out, (tuple, list)):
        out = out[item or 0]
    return out, module


__all__ = ["untrusted_code", "analyze_code_node"]
