"""The words drawn on a node: key parameters in short ("6@5×5 s1"), shape, parameter count,
and the tooltip. Pure functions of the node and its analysis (no Qt)."""
from __future__ import annotations

from ...graph import fmt_shape


def _dims(value) -> str:
    """``5`` → ``5×5`` for 2-D layers' square windows; tuples joined with ×."""
    if isinstance(value, (tuple, list)):
        if len(set(value)) == 1 and len(value) == 2:
            return f"{value[0]}×{value[0]}"
        return "×".join(str(v) for v in value)
    return str(value)


def _window(value, dims: int) -> str:
    if isinstance(value, (tuple, list)):
        return _dims(value)
    return f"{value}×{value}" if dims == 2 else str(value)


def _stride(value) -> str:
    if isinstance(value, (tuple, list)):
        return str(value[0]) if len(set(value)) == 1 else "×".join(str(v) for v in value)
    return str(value)


def _num(v: float) -> str:
    return f"{v:g}"


def _shape(shape) -> str:
    return "×".join(str(d) for d in shape)


def param_summary(node) -> str:
    """The key parameters of a layer in a few characters, as a designer would jot them."""
    t, p = node.type, node.params
    if node.inner is not None:
        n = sum(1 for m in node.inner.nodes() if m.type not in ("Input", "Output"))
        return f"{n} layer" + ("s" if n != 1 else "")
    if t in ("Conv1d", "Conv2d", "ConvTranspose2d"):
        dims = 1 if t == "Conv1d" else 2
        text = f"{p['out_channels']}@{_window(p['kernel_size'], dims)} s{_stride(p['stride'])}"
        if p.get("padding") not in (0, (0,), (0, 0)):
            text += f" p{_stride(p['padding'])}"
        if p.get("groups", 1) != 1:
            text += f" g{p['groups']}"
        return text
    if t in ("MaxPool1d", "MaxPool2d", "AvgPool2d"):
        dims = 1 if t.endswith("1d") else 2
        stride = p["stride"] if p["stride"] is not None else p["kernel_size"]
        return f"{_window(p['kernel_size'], dims)} s{_stride(stride)}"
    if t in ("AdaptiveAvgPool2d", "AdaptiveMaxPool2d"):
        return f"→{_window(p['output_size'], 2)}"
    if t == "Linear":
        return f"→{p['out_features']}"
    if t in ("Dropout", "Dropout2d"):
        return f"p={_num(p['p'])}"
    if t in ("RNN", "LSTM", "GRU"):
        text = f"{t} {p['hidden_size']}"
        if p["num_layers"] > 1:
            text += f" ×{p['num_layers']}"
        if p["bidirectional"]:
            text += " bi"
        if p["output"] == "sequence":
            text += " seq"
        return text
    if t == "Input":
        return f"{_shape(p['shape'])}" + ("" if p["dtype"] == "float32" else f" {p['dtype']}")
    if t in ("Reshape", "Unflatten"):
        return f"→{_shape(p['shape'])}"
    if t == "Embedding":
        return f"{p['num_embeddings']}→{p['embedding_dim']}"
    if t == "GroupNorm":
        return f"{p['num_groups']} groups"
    if t == "LeakyReLU":
        return f"slope {_num(p['negative_slope'])}"
    if t == "ELU":
        return f"α={_num(p['alpha'])}"
    if t in ("Softmax", "LogSoftmax", "Concat"):
        return f"dim={p['dim']}"
    if t == "Upsample":
        return f"×{_num(p['scale_factor'])} {p['mode']}"
    if t == "ZeroPad2d":
        return f"pad {_stride(p['padding'])}"
    if t == "MultiheadAttention":
        return f"{p['num_heads']} heads"
    if t == "TransformerEncoderLayer":
        return f"{p['nhead']} heads ff{p['dim_feedforward']}"
    if t == "PositionalEncoding":
        return p["kind"]
    if t == "RBM":
        return f"→{p['n_hidden']} CD-{p['cd_k']}"
    if t == "GELU" and p.get("approximate") != "none":
        return "tanh approx."
    return ""


def regularization(node) -> str:
    p = node.params
    parts = [f"L{k[1]} {_num(p[k])}" for k in ("l1", "l2") if p.get(k)]
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


def params_text(info) -> str:
    if info is None or not info.params:
        return ""
    return f"{count(info.params)} param" + ("s" if info.params != 1 else "")


def tooltip(node, info, problems: list[tuple[str, str]]) -> str:
    """Problems first (what the red outline is about), then the layer's doc and numbers."""
    lines = []
    for severity, message in problems:
        lines.append(f"{'Error' if severity == 'error' else severity.capitalize()}: {message}")
    if lines:
        lines.append("")
    lines.append(f"{node.label}")
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
