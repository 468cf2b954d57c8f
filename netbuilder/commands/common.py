"""What the subcommands share: reading a graph file, tables, numbers people can read."""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import NetbuilderError


class CommandError(NetbuilderError):
    """A command cannot do what was asked; the message is the one line the user sees."""


def positive_int(text: str) -> int:
    """An argparse ``type``: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def positive_float(text: str) -> float:
    """An argparse ``type``: a finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


def load_graph(path: str | Path, trust: bool = False):
    """The graph in ``path``; a bad file raises a ``FileFormatError`` naming file and field.
    Code it names (Module nodes) may be imported only with ``trust`` (remembered for the
    file as it is now) or when the file was trusted before."""
    from ..graph import load
    from ..graph.trust import grant

    p = Path(path)
    if p.is_dir():
        raise CommandError(f"{path}: is a folder, not a graph file")
    graph = load(p)
    grant(graph, p, trust)
    return graph


def add_trust_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trust", action="store_true",
                        help="trust the graph file: let it import the Python code its Module "
                             "nodes name (remembered for this file as it is now)")


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


def _in_thousands(n: float, units: tuple[str, ...], sep: str) -> str:
    value = float(n)
    for unit in units:
        if abs(value) < 999.95 or unit == units[-1]:
            number = f"{int(value)}" if unit == units[0] else f"{value:.1f}"
            return f"{number}{sep}{unit}"
        value /= 1000.0
    raise AssertionError("unreachable")


def human_count(n: float) -> str:
    """``61706`` → ``61.7K``; ``416520`` → ``416.5K``; ``1234567`` → ``1.2M``."""
    return _in_thousands(n, ("", "K", "M", "G", "T"), "")


def human_bytes(n: float) -> str:
    """``1234567`` → ``1.2 MB`` (powers of 1000, as torchinfo prints them)."""
    return _in_thousands(n, ("B", "KB", "MB", "GB", "TB"), " ")


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
