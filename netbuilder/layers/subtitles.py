"""Node subtitles: a layer's key parameters in a few characters, as a designer jots them
("6@5×5 s1", "→10", "p=0.5"). Each spec's ``subtitle`` is one of these."""
from __future__ import annotations

from collections.abc import Callable

Subtitle = Callable[[dict], str]


def dims(value) -> str:
    """``5`` → ``5``; ``(5, 5)`` → ``5×5``; tuples joined with ×."""
    if isinstance(value, (tuple, list)):
        if len(set(value)) == 1 and len(value) == 2:
            return f"{value[0]}×{value[0]}"
        return "×".join(str(v) for v in value)
    return str(value)


def window(value, n: int) -> str:
    """A window size: an int means a square window in 2-D."""
    if isinstance(value, (tuple, list)):
        return dims(value)
    return f"{value}×{value}" if n == 2 else str(value)


def stride(value) -> str:
    if isinstance(value, (tuple, list)):
        return str(value[0]) if len(set(value)) == 1 else "×".join(str(v) for v in value)
    return str(value)


def num(v: float) -> str:
    return f"{v:g}"


def shape(value) -> str:
    return "×".join(str(d) for d in value)


def conv(n: int) -> Subtitle:
    def text(p: dict) -> str:
        out = f"{p['out_channels']}@{window(p['kernel_size'], n)} s{stride(p['stride'])}"
        if p.get("padding") not in (0, (0,), (0, 0)):
            out += f" p{stride(p['padding'])}"
        if p.get("groups", 1) != 1:
            out += f" g{p['groups']}"
        return out
    return text


def pool(n: int) -> Subtitle:
    def text(p: dict) -> str:
        step = p["stride"] if p["stride"] is not None else p["kernel_size"]
        return f"{window(p['kernel_size'], n)} s{stride(step)}"
    return text


def recurrent(type_: str) -> Subtitle:
    def text(p: dict) -> str:
        out = f"{type_} {p['hidden_size']}"
        if p["num_layers"] > 1:
            out += f" ×{p['num_layers']}"
        if p["bidirectional"]:
            out += " bi"
        if p["output"] == "sequence":
            out += " seq"
        return out
    return text


def param(key: str, template: str = "{}") -> Subtitle:
    """The value of one parameter in a template: ``param("dim", "dim={}")``."""
    return lambda p: template.format(p[key])


def input_shape(p: dict) -> str:
    return shape(p["shape"]) + ("" if p["dtype"] == "float32" else f" {p['dtype']}")
