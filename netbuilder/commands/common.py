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


class InputError(CommandError):
    """The files or folders given cannot be used (missing, unreadable, the wrong shape): exit
    status 2, as for a wrong command line."""

    exit_status = 2


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


# --- the commands that look inside a trained run (explain, embed, attack, dream, style) ------

def add_run_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN",
                        help="run folder written by `netbuilder train` or the editor")
    parser.add_argument("--weights", choices=("last", "best"), default="last",
                        help="the last epoch's weights (default) or the best epoch's")


def add_sample_arguments(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--input", metavar="PICTURE",
                       help="a picture file (PNG, JPEG...), resized to the model's Input")
    which.add_argument("--sample", type=int, default=0, metavar="N",
                       help="the N-th validation sample of the run's dataset (default 0)")


def open_run(args: argparse.Namespace):
    """The ``RunModel`` of ``args.run``; a folder that is no run gets a one-line error."""
    from ..train.explain import RunModel

    root = Path(args.run)
    if not root.is_dir():
        raise CommandError(f"{args.run}: no such run folder")
    if not (root / "graph.json").exists():
        raise CommandError(f"{args.run}: not a run folder (it has no graph.json); give the "
                           f"folder `netbuilder train` wrote")
    weights = "best.safetensors" if getattr(args, "weights", "last") == "best" \
        else "weights.safetensors"
    if not (root / weights).exists():
        raise CommandError(f"{args.run}: has no {weights} yet (weights are written at the end "
                           f"of the first epoch)")
    return RunModel(root, weights)


def chosen_sample(run, args: argparse.Namespace):
    """(x (1, *Input), label or None, a description) from ``--input`` or ``--sample``."""
    if getattr(args, "input", None):
        return run.picture(args.input), None, args.input
    x, y = run.validation()
    if not 0 <= args.sample < len(x):
        raise CommandError(f"--sample {args.sample} is out of range: the validation set has "
                           f"{len(x)} samples (0 to {len(x) - 1})")
    label = None if y is None else int(y[args.sample])
    return x[args.sample:args.sample + 1], label, f"validation sample {args.sample}"


def class_name(run, k: int | None) -> str:
    """``3 ('3')`` style: a class index with its name when the run's dataset has names."""
    if k is None:
        return "?"
    names = run.classes
    return f"{k} ({names[k]})" if names and 0 <= k < len(names) and names[k] != str(k) \
        else str(k)


def trained_run(path: str, weights: str = "last"):
    """The ``Predictor`` of RUN_OR_GRAPH: a run folder, or a graph file's newest run whose
    weights fit it; ``weights`` "last" or "best". InputError (exit 2) when there is none."""
    from ..train.export_project import latest_run_weights
    from ..train.predictor import PredictError, Predictor

    p = Path(path)
    if p.is_dir():
        run = p
    elif not p.exists():
        raise InputError(f"{path}: no such run folder or graph file")
    else:
        run = latest_run_weights(p, load_graph(p))
        if run is None:
            raise InputError(f"{path}: no trained run of this graph fits it (looked in runs/ "
                             f"and {p.stem}.runs/ beside it); train it first: netbuilder "
                             f"train {path}")
    name = "best.safetensors" if weights == "best" else "weights.safetensors"
    try:
        predictor = Predictor(run, name)
        predictor.module()  # the weights, checked now: a missing file is said before work
        predictor.preprocessing()
    except PredictError as exc:
        raise InputError(str(exc)) from None
    return predictor
