"""``netbuilder export FILE --project DIR | --onnx OUT.onnx | --torchscript OUT.pt | --pt2
OUT.pt2``: the export formats beyond the Python file (an extension of ``netbuilder export``; see
its EXTENSIONS). With a run's weights every format also carries the run's preprocessing (resize,
normalisation, class names), so the artefact takes raw samples as the app does."""
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
    group.add_argument("--pt2", metavar="OUT.pt2",
                       help="write a torch.export program (dynamic batch axis; load it with "
                            "torch.export.load)")
    group.add_argument("--weights", metavar="RUN|FILE",
                       help="trained weights: a run folder or a .safetensors/.pt file (default: "
                            "the graph's own weights, else the newest run of FILE that fits "
                            "the graph)")
    group.add_argument("--no-weights", action="store_true",
                       help="leave the weights out (untrained, freshly initialised)")
    group.add_argument("--no-preprocessing", action="store_true",
                       help="leave the run's preprocessing out: the model then takes inputs "
                            "already resized and normalised as in training")


def run(args: argparse.Namespace, graph) -> int | None:
    if not (args.project or args.onnx or args.torchscript or args.pt2):
        return None
    from .common import CommandError

    # Every target is checked before anything is written: no half-done export.
    for target, suffix in ((args.onnx, ".onnx"), (args.torchscript, ".pt"), (args.pt2, ".pt2")):
        if target:
            _folder_exists(Path(target), CommandError, suffix)
    weights = _weights(args, graph)
    prep = _preprocessing(args, weights)
    own = weights is None and not args.no_weights and graph.weights is not None
    if args.project:
        from ..train.export_project import export_project

        report = export_project(graph, args.project, weights, graph_weights=not args.no_weights)
        extra = f" (weights from {weights})" if weights is not None else \
            f" (the graph's weights, {graph.weights.label()})" if own else ""
        print(f"wrote {report.folder}: {', '.join(report.files)}{extra}")
        from .common import one_line

        for warning in report.warnings:
            print(f"netbuilder: warning: {one_line(warning)}", file=sys.stderr)
    if args.onnx:
        from ..compile.onnx_export import export_onnx

        r = export_onnx(graph, args.onnx, _weights_file(weights, graph, own),
                        preprocessing=prep)
        if r.method == "legacy":
            print("netbuilder: warning: written by the legacy ONNX exporter (torch.export "
                  "could not capture this graph)", file=sys.stderr)
        checked = (f"; onnxruntime matches PyTorch within {r.max_difference:.1g} at batch sizes "
                   f"{' and '.join(map(str, r.batch_sizes))}" if r.max_difference is not None
                   else "; not checked (onnxruntime is not installed)")
        print(f"wrote {args.onnx} (ONNX, inputs {', '.join(r.inputs)} with a dynamic batch "
              f"axis{_raw(prep)}{checked})")
    if args.torchscript:
        from ..compile.onnx_export import export_torchscript

        r = export_torchscript(graph, args.torchscript, _weights_file(weights, graph, own),
                               preprocessing=prep)
        print(f"wrote {args.torchscript} (TorchScript by torch.jit.{r.method}{_raw(prep)})")
    if args.pt2:
        from ..compile.onnx_export import export_pt2

        r = export_pt2(graph, args.pt2, _weights_file(weights, graph, own), preprocessing=prep)
        print(f"wrote {args.pt2} (torch.export program, dynamic batch axis{_raw(prep)}; "
              f"matches PyTorch within {r.max_difference:.1g})")
    return 0


def _raw(prep: dict | None) -> str:
    if prep is None:
        return ""
    from ..compile.preprocess import describe

    return f"; takes raw samples (N, {', '.join(map(str, prep['raw_shape']))}): {describe(prep)}"


def python_preprocessing(args: argparse.Namespace, graph) -> dict | None:
    """The run preprocessing that ``-o model.py`` appends (the same run the weights come
    from); None with --no-weights / --no-preprocessing or when there is no run."""
    if not hasattr(args, "weights") or args.no_weights or args.no_preprocessing:
        return None  # (no "weights": this extension is not plugged in, nor its options)
    return _preprocessing(args, _weights(args, graph))


def _preprocessing(args: argparse.Namespace, weights: Path | None) -> dict | None:
    """The run's ``preprocessing.json`` beside the weights (a run folder or a file in one)."""
    if weights is None or args.no_preprocessing:
        return None
    from ..compile.preprocess import read_preprocessing

    prep = read_preprocessing(weights if weights.is_dir() else weights.parent)
    if prep is None and weights.is_dir():
        print(f"netbuilder: warning: {weights} has no preprocessing.json (an older run): the "
              f"export takes inputs already normalised as in training", file=sys.stderr)
    return prep


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
    if graph.weights is not None:
        return None  # the graph's own weights (an explicit choice) before its newest run
    from ..train.export_project import latest_run_weights

    return latest_run_weights(args.file, graph)


def _weights_file(weights: Path | None, graph, own: bool):
    """The weights file (or, ``own``, the graph's own weights as a state dict)."""
    if own:
        from ..compile.weights import graph_state

        return graph_state(graph)
    if weights is not None and weights.is_dir():
        return weights / "weights.safetensors"
    return weights
