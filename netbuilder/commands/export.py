"""``netbuilder export FILE -o model.py``: the graph as standalone PyTorch source."""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from .common import CommandError, add_trust_argument, grouped, load_graph

NAME = "export"
HELP = "write the graph as standalone PyTorch code (model.py)"

# --- Extension hook ---------------------------------------------------------------------------
# Other export formats (a runnable project, ONNX, TorchScript) live in their own modules and plug
# in by being listed here. Each such module exposes
#     add_arguments(parser)          adds its own options (e.g. --project DIR, --onnx FILE)
#     run(args, graph) -> int | None acts when its options are given; None when they are not
# NOTE: its top level must stay light (no torch): `netbuilder export --help` imports it.
# The Python file below is written when -o is given, or when no extension acted.
EXTENSIONS: tuple[str, ...] = ("netbuilder.commands.export_formats",)


def _extensions() -> list:
    return [importlib.import_module(name) for name in EXTENSIONS]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="graph file (.json)")
    parser.add_argument("-o", "--output", metavar="OUT.py",
                        help="where to write the Python file ('-' or none: standard output)")
    parser.add_argument("--class-name", metavar="NAME",
                        help="name of the model class (default: from the graph's name)")
    parser.add_argument("--no-main", action="store_true",
                        help="leave out the `if __name__ == \"__main__\":` demo block")
    add_trust_argument(parser)
    for extension in _extensions():
        extension.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from ..errors import CompileError

    graph = load_graph(args.file, args.trust)
    status, acted = 0, False
    for extension in _extensions():
        result = extension.run(args, graph)
        if result is not None:
            acted, status = True, max(status, int(result))
    if args.output is None and acted:
        return status
    if args.class_name is not None and not args.class_name.isidentifier():
        raise CommandError(f"--class-name {args.class_name!r} is not a Python identifier")
    try:
        source = graph.to_python(class_name=args.class_name, main=not args.no_main)
    except CompileError as exc:
        raise CommandError(f"{args.file}: {exc.message}") from None
    if args.output in (None, "-"):
        sys.stdout.write(source)
        return status
    _write(Path(args.output), source)
    n_params = graph.analyze().total_params
    print(f"wrote {args.output} ({grouped(n_params)} parameters)")
    return status


def _write(out: Path, source: str) -> None:
    from ..graph.fileformat import atomic_write

    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise CommandError(f"{out}: the folder {folder} does not exist")
    if out.is_dir():
        raise CommandError(f"{out}: is a folder; give a file name such as {out / 'model.py'}")
    atomic_write(out, source)
