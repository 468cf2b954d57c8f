"""What the subcommands share: reading a graph file, tables, numbers people can read."""
from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import NetbuilderError


class CommandError(NetbuilderError):
    """A command cannot do what was asked; the message is the one line the user sees."""


def load_graph(path: str | Path):
    """The graph in ``path``; a bad file raises a ``FileFormatError`` naming file and field."""
    from ..graph import load

    p = Path(path)
    if p.is_dir():
        raise CommandError(f"{path}: is a folder, not a graph file")
    return load(p)


def one_line(text: str) -> str:
    """A message on one line: ``"g cannot be compiled:\\n  - a\\n  - b"`` becomes
    ``"g cannot be compiled: a; b"``."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    if not lines:
        return ""
    rest = [line.removeprefix("- ") for line in lines[1:]]
    if not rest:
        return lines[0]
    return f"{lines[0]} {'; '.join(rest)}"


def human_count(n: float) -> str:
    """``61706`` → ``61.7K``; ``416520`` → ``416.5K``; ``1234567`` → ``1.2M``."""
    value = float(n)
    for unit in ("", "K", "M", "G", "T"):
        if abs(value) < 999.95 or unit == "T":
            return f"{int(value)}" if unit == "" else f"{value:.1f}{unit}"
        value /= 1000.0
    raise AssertionError("unreachable")


def human_bytes(n: float) -> str:
    """``1234567`` → ``1.2 MB`` (powers of 1000, as torchinfo prints them)."""
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(value) < 999.95 or unit == "TB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000.0
    raise AssertionError("unreachable")


def grouped(n: int) -> str:
    """``61706`` → ``61,706``."""
    return f"{n:,}"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool],
                 gap: int = 2) -> list[str]:
    """Aligned text columns with a rule under the header; ``right`` marks numeric columns."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right)]
        return (" " * gap).join(parts).rstrip()

    rule = "-" * (sum(widths) + gap * (len(widths) - 1))
    return [line(headers), rule, *(line(r) for r in rows), rule]


def diagnostic_dict(graph, diag) -> dict[str, Any]:
    """A diagnostic as JSON: severity, node id, node name (when it names one), message."""
    name = graph.node(diag.node).name if diag.node is not None and diag.node in graph else None
    return {"severity": diag.severity, "node": diag.node, "node_name": name,
            "message": diag.message}


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
