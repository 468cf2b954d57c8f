"""``netbuilder import module.py:ClassName -o FILE``: a PyTorch model as a netbuilder graph.

The file runs in a child process with a time limit (``netbuilder.model_import``): whatever it
does (exit, crash, hang, raise), this process reports it and exits with 1, writing no file.
"""
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
    parser.add_argument("--input-shape", metavar="SHAPE[:DTYPE]", action="append", default=None,
                        help="input shape without the batch dimension, e.g. 1,28,28, once per "
                             "forward argument in order; a dtype after a colon: 35:long for "
                             "35 token ids, 3,32,32:float (default: long where the input "
                             "feeds an Embedding, else float; a Linear input is guessed)")
    parser.add_argument("--name", help="graph name (default: the class name)")
    parser.add_argument("--weights", metavar="FILE|module",
                        help="keep weights with the graph (written beside it): a .safetensors "
                             "file or a weights-only .pt/.pth by the original model's keys, or "
                             "'module' for the instance's own weights after its constructor")
    parser.add_argument("--timeout", metavar="SECONDS", type=float, default=None,
                        help="stop the import when the file takes longer than this to load and "
                             "trace (default: 60)")


def run(args: argparse.Namespace) -> int:
    from ..errors import ModelImportError
    from ..model_import import DEFAULT_TIMEOUT, import_in_child, parse_args_json, parse_input

    path, _, class_name = args.source.rpartition(":")
    if not path or not class_name.isidentifier():
        raise CommandError(f"{args.source!r}: give the file and the class as FILE.py:CLASS, "
                           f"e.g. models.py:LeNet")
    out = Path(args.output)
    if out.is_dir():
        raise CommandError(f"{out}: is a folder; give a file name such as {out / 'model.json'}")
    if not (out.parent if str(out.parent) else Path(".")).is_dir():
        raise CommandError(f"{out}: the folder {out.parent} does not exist")
    timeout = DEFAULT_TIMEOUT if args.timeout is None else args.timeout
    if not timeout > 0:
        raise CommandError(f"--timeout {args.timeout:g}: give a positive number of seconds")
    try:
        inputs = [parse_input(s) for s in args.input_shape or ()]
        shapes = [shape for shape, _ in inputs] or None
        dtypes = [dtype for _, dtype in inputs] if any(d for _, d in inputs) else None
        result = import_in_child(path, class_name, parse_args_json(args.args), shapes,
                                 args.name, timeout=timeout, input_dtypes=dtypes,
                                 weights=args.weights)
    except ModelImportError as exc:
        # The list of unsupported operations reads best one per line.
        print(f"netbuilder: error: {exc}", file=sys.stderr)
        return 1
    kept = ""
    if result.weights is not None:
        from ..graph.fileformat import save

        graph = result.keep_weights(args.weights)
        save(graph, out)  # the weights beside it first, then the graph naming them
        kept = f" (weights: {graph.weights.name})"
    else:
        from ..graph.fileformat import atomic_write

        atomic_write(out, result.text)
    print(f"imported {class_name}: {result.nodes} nodes, {grouped(result.params)} parameters "
          f"→ {out}{kept}")
    if result.report:
        print("import report (placeholders and fallbacks):")
        print("\n".join(result.report))
    return 0
