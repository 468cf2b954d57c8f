"""``netbuilder export FILE --project DIR | --onnx OUT.onnx | --torchscript OUT.pt``: the export
formats beyond the Python file (an extension of ``netbuilder export``; see its EXTENSIONS)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("other formats")
    group.add_argument("--project", metavar="DIR",
                       help="write a runnable project: model.py, train.py, weights, README.md")
    group.add_argument("--onnx", metavar="OUT.onnx",
                       help="write ONNX (dynamic batch axis), checked with onnxruntime")
    group.add_argument("--torchscript", metavar="OUT.pt", help="write TorchScript")
    group.add_argument("--weights", metavar="RUN|FILE",
                       help="trained weights: a run folder or a .safetensors/.pt file (default: "
                            "the newest run of FILE that fits the graph)")
    group.add_argument("--no-weights", action="store_true",
                       help="leave the weights out (untrained, freshly initialised)")


def run(args: argparse.Namespace, graph) -> int | None:
    if not (args.project or args.onnx or args.torchscript):
        return None
    from .common import CommandError

    # Every target is checked before anything is written: no half-done export.
    for target, suffix in ((args.onnx, ".onnx"), (args.torchscript, ".pt")):
        if target:
            _folder_exists(Path(target), CommandError, suffix)
    weights = _weights(args, graph)
    if args.project:
        from ..train.export_project import export_project

        report = export_project(graph, args.project, weights)
        extra = f" (weights from {weights})" if weights is not None else ""
        print(f"wrote {report.folder}: {', '.join(report.files)}{extra}")
        from .common import one_line

        for warning in report.warnings:
            print(f"netbuilder: warning: {one_line(warning)}", file=sys.stderr)
    if args.onnx:
        from ..compile.onnx_export import export_onnx

        r = export_onnx(graph, args.onnx, _weights_file(weights))
        checked = (f"; onnxruntime matches PyTorch within {r.max_difference:.1g} at batch sizes "
                   f"{' and '.join(map(str, r.batch_sizes))}" if r.max_difference is not None
                   else "; not checked (onnxruntime is not installed)")
        print(f"wrote {args.onnx} (ONNX, inputs {', '.join(r.inputs)} with a dynamic batch "
              f"axis{checked})")
    if args.torchscript:
        from ..compile.onnx_export import export_torchscript

        r = export_torchscript(graph, args.torchscript, _weights_file(weights))
        print(f"wrote {args.torchscript} (TorchScript by torch.jit.{r.method})")
    return 0


def _folder_exists(path: Path, error, suffix: str) -> None:
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise error(f"{path}: the folder {folder} does not exist")
    if path.is_dir():
        raise error(f"{path}: is a folder; give a file name such as {path / ('model' + suffix)}")


def _weights(args: argparse.Namespace, graph) -> Path | None:
    if args.no_weights:
        return None
    if args.weights:
        return Path(args.weights)
    from ..train.export_project import latest_run_weights

    return latest_run_weights(args.file, graph)


def _weights_file(weights: Path | None) -> Path | None:
    if weights is not None and weights.is_dir():
        return weights / "weights.safetensors"
    return weights
