"""Diagnostics written as advice: what is wrong with a node and what to do about it."""
from __future__ import annotations

import re

from ..graph import Diagnostic, Graph, Node, fmt_shape


def missing_input_error(graph: Graph, node: Node, wired_ports: list[str]) -> str | None:
    for port in graph.input_ports(node.id):
        if port.optional or port.name in wired_ports:
            continue
        where = ""
        if node.inner is not None:
            where = f" on '{port.doc or port.name}'"
        elif len(graph.input_ports(node.id)) > 1:
            where = f" on port '{port.name}'"
        return f"{node.label} has no input{where}: connect a wire into it"
    if node.spec.merge and len(wired_ports) < 2:
        return f"{node.label} merges two or more inputs but has {len(wired_ports)}: wire another"
    return None


def rank_error(node: Node, shapes: list) -> str | None:
    rule = node.spec.rank
    if rule is None or not shapes or (rule.unless and node.params.get(rule.unless)):
        return None
    shape = shapes[0]
    if len(shape) in rule.ranks:
        return None
    advice = rule.hint(len(shape)) if rule.hint else "reshape its input"
    return f"{node.label} expects {rule.expects} but receives {fmt_shape(shape)}: {advice}"


def merge_error(node: Node, shapes: list) -> str | None:
    if not node.spec.merge or len(shapes) < 2:
        return None
    first = shapes[0]
    for other in shapes[1:]:
        if node.spec.merge == "concat":
            dim = node.params["dim"]
            rank = len(first) + 1
            d = dim if dim >= 0 else rank + dim
            if d < 1 or d >= rank:
                return (f"{node.label} joins along dim {dim}, which is not a sample dimension of "
                        f"{fmt_shape(first)}: use 1 to {rank - 1}")
            if len(other) != len(first) or any(a != b for i, (a, b) in
                                               enumerate(zip(first, other)) if i != d - 1):
                return (f"{node.label} receives incompatible shapes {fmt_shape(first)} and "
                        f"{fmt_shape(other)}: all sizes except dim {dim} must match")
        elif other != first:
            fix = ("make the channel counts match (e.g. a 1×1 Conv2d on the shortcut)"
                   if len(first) == len(other) == 3 and first[1:] == other[1:] else
                   "make the shapes match (e.g. a Linear or a 1×1 Conv2d on one side)")
            return (f"{node.label} receives incompatible shapes {fmt_shape(first)} and "
                    f"{fmt_shape(other)}: {fix}")
    return None


def dtype_error(node: Node, dtypes: list) -> str | None:
    """Token ids (int64) where values are needed, or values where token ids are needed.

    NOTE: meta tensors skip dtype checks (a Linear runs on int64 there), so this is ours.
    """
    if node.spec.input_dtype == "int64":
        if dtypes and dtypes[0] not in (None, "int64"):
            return (f"{node.label} looks up integer token ids but receives {dtypes[0]} values: "
                    f"set the Input's dtype to int64")
        return None
    if node.spec.input_dtype == "any" or node.inner is not None:
        return None
    if "int64" in dtypes:
        return (f"{node.label} computes on float values but receives int64 (token ids): put "
                f"an Embedding before it, or set the Input's dtype to float32")
    return None


def layer_error(node: Node, shapes: list) -> str | None:
    """Settings that do not fit the incoming shape, said before torch says it less clearly
    (each layer's spec words its own ``shape_check``)."""
    check = node.spec.shape_check
    if check is None or not shapes or shapes[0] is None:
        return None
    advice = check(node.params, shapes)
    return f"{node.label} {advice}" if advice else None


def translate_torch_error(node: Node, shapes: list, exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = re.sub(r"\s+", " ", text)
    got = " and ".join(fmt_shape(s) for s in shapes)
    if not shapes:  # a node without inputs (a Parameter): its own settings are wrong
        return f"{node.label}: {text}"
    if "Kernel size can't be greater" in text or "Output size is too small" in text:
        return (f"{node.label} cannot run on {got}: the input is smaller than the window; "
                f"reduce kernel_size/stride, add padding, or remove a pooling layer before it")
    if "divisible" in text or "divide" in text:
        return f"{node.label} cannot run on {got}: {text}"
    return f"{node.label} cannot run on {got}: {text}"


def structural(graph: Graph) -> list[Diagnostic]:
    """Problems visible without shapes: no input, unreachable nodes, unused results."""
    out: list[Diagnostic] = []
    if not len(graph):
        return [Diagnostic("error", None, "The graph is empty: drag an Input and some layers "
                                          "onto the canvas")]
    sources = [n.id for n in graph.nodes() if n.spec.source]
    if not sources:
        out.append(Diagnostic("error", None, "The graph has no Input node: add one "
                                             "(Input/Output) and set its shape"))
    elif not graph.outputs():
        out.append(Diagnostic("error", None, "The graph computes nothing: add layers after "
                                             "the Input (its last layer is what the model "
                                             "returns)"))
    # Nodes without input ports (learned Parameters) start values too, as Inputs do.
    roots = sources + [n.id for n in graph.nodes() if not n.spec.source and
                       n.inner is None and not graph.input_ports(n.id)]
    reach: set[str] = set(roots)
    for s in roots:
        reach |= graph.descendants(s)
    for n in graph.nodes():
        if n.id not in reach and graph.in_edges(n.id):
            out.append(Diagnostic("warning", n.id, f"{n.label} is not reachable from any Input: "
                                                   f"it is left out of the model"))
    explicit = [n.id for n in graph.nodes() if n.is_output]
    if explicit:
        used: set[str] = set(explicit)
        for o in explicit:
            used |= graph.ancestors(o)
        for n in graph.nodes():
            if n.id not in used and n.id in reach and not n.spec.source:
                out.append(Diagnostic("warning", n.id, f"{n.label} reaches no Output: its result "
                                                       f"is computed for nothing"))
    return out
