"""``netbuilder import module.py:ClassName -o FILE``: a PyTorch model as a netbuilder graph."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import CommandError, grouped

NAME = "import"
HELP = "import a PyTorch nn.Module class from a Python file as a graph file"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="FILE.py:CLASS",
                        help="the Python file and the model class in it, e.g. models.py:LeNet")
    parser.add_argument("-o", "--output", metavar="OUT.json", required=True,
                        help="where to write the graph file")
    parser.add_argument("--args", metavar="JSON",
                        help="constructor arguments as a JSON object, e.g. '{\"hidden\": 64}'")
    parser.add_argument("--input-shape", metavar="SHAPE", action="append", default=None,
                        help="input shape without the batch dimension, e.g. 1,28,28 (once per "
                             "forward argument; a Linear input is guessed)")
    parser.add_argument("--name", help="graph name (default: the class name)")


def run(args: argparse.Namespace) -> int:
    from ..compile.import_source import import_file, parse_args_json, parse_shape
    from ..errors import ModelImportError
    from ..graph.fileformat import atomic_write, to_json

    path, _, class_name = args.source.rpartition(":")
    if not path or not class_name.isidentifier():
        raise CommandError(f"{args.source!r}: give the file and the class as FILE.py:CLASS, "
                           f"e.g. models.py:LeNet")
    out = Path(args.output)
    if out.is_dir():
        raise CommandError(f"{out}: is a folder; give a file name such as {out / 'model.json'}")
    if not (out.parent if str(out.parent) else Path(".")).is_dir():
        raise CommandError(f"{out}: the folder {out.parent} does not exist")
    try:
        shapes = [parse_shape(s) for s in args.input_shape] if args.input_shape else None
        graph = import_file(path, class_name, parse_args_json(args.args), shapes, args.name)
    except ModelImportError as exc:
        # The list of unsupported operations reads best one per line.
        print(f"netbuilder: error: {exc}", file=sys.stderr)
        return 1
    atomic_write(out, to_json(graph))
    layers = sum(1 for n in graph.nodes() if not n.is_boundary)
    params = graph.analyze().total_params
    print(f"imported {class_name}: {layers} nodes, {grouped(params)} parameters → {out}")
    return 0
