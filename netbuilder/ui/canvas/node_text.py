"""The words drawn on a node: key parameters in short ("6@5×5 s1"), shape, parameter count,
and the tooltip. Pure functions of the node and its analysis (no Qt)."""
from __future__ import annotations

from ...graph import fmt_shape
from ...layers.subtitles import num


def param_summary(node) -> str:
    """The key parameters of a layer in a few characters (its spec's ``subtitle``)."""
    if node.inner is not None:
        n = sum(1 for m in node.inner.nodes() if not m.is_boundary)
        text = f"{n} layer" + ("s" if n != 1 else "")
        if node.definition:
            text = f"{node.definition} · {text}"
        repeat = node.params.get("repeat", 1)
        return f"{text} ×{repeat}" if repeat > 1 else text
    subtitle = node.spec.subtitle
    return subtitle(node.params) if subtitle else ""


def sharing(owner) -> str:
    """The badge of a node that uses ``owner``'s module (weight sharing)."""
    return f"⇄ shares {owner.name}"


def regularization(node) -> str:
    p = node.params
    parts = [f"L{k[1]} {num(p[k])}" for k in ("l1", "l2") if p.get(k)]
    return " ".join(parts)


def shape_text(info) -> str:
    """``(N, 6, 28, 28)``; several outputs joined; ``?`` while unknown."""
    if info is None or not info.out_shapes or all(s is None for s in info.out_shapes):
        return "(N, ?)"
    return ", ".join(shape_texts(info))


def shape_texts(info) -> list[str]:
    """Each output's shape; ``(1, ...)`` for a learned tensor's; ports without a result left
    out (a Chunk into 3 fills 3 of its ports)."""
    batches = list(info.out_batches) + [None] * len(info.out_shapes)
    return [fmt_shape(s, "1" if b == 1 else "N")
            for s, b in zip(info.out_shapes, batches) if s is not None]


def count(n: int) -> str:
    """``156``, ``61,706``, ``1.2 M``: exact while it stays short."""
    if n >= 10_000_000:
        return f"{n / 1e6:.1f} M"
    return f"{n:,}"


def params_text(info, frozen: bool = False) -> str:
    if info is None or not info.params:
        return ""
    text = f"{count(info.params)} param" + ("s" if info.params != 1 else "")
    return f"{text} · frozen" if frozen else text


def tooltip(node, info, problems: list[tuple[str, str]], frozen: bool = False) -> str:
    """Problems first (what the red outline is about), then the layer's doc and numbers."""
    lines = []
    for severity, message in problems:
        lines.append(f"{'Error' if severity == 'error' else severity.capitalize()}: {message}")
    if lines:
        lines.append("")
    lines.append(f"{node.label}")
    if frozen:
        lines.append("Frozen: its parameters stay as they are in training (inference mode)")
    doc = node.spec.doc
    if doc:
        lines.append(doc)
    if info is not None:
        if info.in_shapes:
            lines.append("in: " + ", ".join(fmt_shape(s) for s in info.in_shapes))
        lines.append("out: " + shape_text(info))
        if info.params:
            trainable = "" if info.trainable == info.params else f" ({info.trainable:,} trainable)"
            lines.append(f"parameters: {info.params:,}{trainable}")
        if info.macs:
            lines.append(f"MACs per sample: {info.macs:,}")
    return "\n".join(lines)
