"""ONNX, TorchScript and ``torch.export`` (.pt2) export of a graph's module, checked against
PyTorch's own outputs.

ONNX files are written by the current exporter (``dynamo=True``; the legacy one only when that
fails for a graph, with a warning), have a dynamic batch axis on every input and output and are
checked with onnxruntime at two batch sizes. With a run's preprocessing (``compile.preprocess``)
every format takes raw samples and applies the run's resize and normalisation itself. A Noise
source (a generator's latent input) becomes an explicit input of the exported model, so the file
computes a function and can be checked. Weights come
from a run's ``weights.safetensors`` (or a ``.pt`` state dict, read with ``weights_only``).
"""
from __future__ import annotations

import ast
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..errors import CompileError
from ..graph import Graph
from ..graph.fileformat import atomic_replace
from . import batch_axis
from .analysis import analyze
from .codegen import forward_groups, node_attributes
from .preprocess import with_preprocessing
from .tensor_files import TensorFileError, load_tensor_file

ONNX_OPSET = 18  # the torch.export-based exporter's oldest well-supported opset
TOLERANCE = 1e-5


@dataclass
class ExportReport:
    """What an export wrote and how closely the file reproduces PyTorch."""

    path: Path
    inputs: list[str]
    outputs: list[str]
    max_difference: float | None  # None when the check could not run (no onnxruntime)
    batch_sizes: tuple[int, ...] = ()
    method: str = ""  # ONNX: "dynamo" or "legacy"; TorchScript: "script" or "trace"


def load_weights(module: torch.nn.Module, weights: Any) -> None:
    """Load ``weights`` (None, a state dict, or a .safetensors / .pt file) into ``module``."""
    if weights is None:
        return
    if isinstance(weights, (str, os.PathLike)):
        path = Path(weights)
        if not path.is_file():
            raise CompileError(f"{path}: weights file not found")
        try:
            if path.suffix == ".safetensors":
                from safetensors.torch import load_file

                weights = load_file(str(path))
            else:
                weights = load_tensor_file(path)
        except TensorFileError as exc:  # our words: never torch's advice on weights_only
            raise CompileError(f"{path}: cannot read the weights: {exc}") from None
        except Exception as exc:  # noqa: BLE001 (a damaged file: one clear error)
            raise CompileError(f"{path}: cannot read the weights ({exc})") from None
    if not isinstance(weights, dict):
        raise CompileError("weights must be a state dict or a .safetensors/.pt file")
    try:
        module.load_state_dict(weights, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise CompileError(f"The weights do not fit the graph (were they trained on another "
                           f"version of it?): {' '.join(s.strip() for s in first[:3])}") from None


def model_arguments(graph: Graph, batch: int, seed: int = 0) -> tuple[list[str], list]:
    """``forward``'s argument names and example tensors: each Input, then each Noise source
    (given explicitly, so the result is a function of the arguments)."""
    analysis = analyze(graph)
    by_attr = {a: nid for nid, a in node_attributes(graph, analysis).items()}
    gen = torch.Generator().manual_seed(seed)
    names, values = [], []

    def example(nid: str) -> torch.Tensor:
        shape = batch_axis.place(tuple(analysis.shape(nid)), _batch_dim(graph, nid), batch)
        if graph.node(nid).is_input and graph.node(nid).params["dtype"] == "int64":
            return torch.randint(0, 2, shape, generator=gen)
        return torch.randn(*shape, generator=gen)

    for name in _forward_parameters(graph):
        members = _members(graph, by_attr, name)
        values.append(example(by_attr[name]) if members is None else
                      tuple(example(m) for m in members))
        names.append(name)
    return names, values


def _members(graph: Graph, by_attr: dict, name: str) -> list[str] | None:
    """The Inputs of the tuple argument ``name`` (``arg_groups``); None for a lone one."""
    if name in by_attr:
        return None
    return forward_groups(graph).get(name, [])


def leaf_names(graph: Graph) -> list[str]:
    """ONNX's input names: ``forward``'s arguments, a tuple's parts each by its Input."""
    attrs = node_attributes(graph, analyze(graph))
    by_attr = {a: nid for nid, a in attrs.items()}
    out = []
    for name in _forward_parameters(graph):
        members = _members(graph, by_attr, name)
        out += [name] if members is None else [attrs[m] for m in members]
    return out


def argument_axes(graph: Graph) -> list[int]:
    """Where the batch lies in each of ``forward``'s arguments (an Input's ``batch_dim``)."""
    by_attr = {a: nid for nid, a in node_attributes(graph, analyze(graph)).items()}
    out = []
    for name in _forward_parameters(graph):
        members = _members(graph, by_attr, name)
        out.append(_batch_dim(graph, by_attr[name]) if members is None else
                   tuple(_batch_dim(graph, m) for m in members))
    return out


def _dynamic(axis, batch):
    """torch.export's dynamic shape of an argument: its batch axis, a tuple's per part."""
    return tuple(_dynamic(a, batch) for a in axis) if isinstance(axis, tuple) else {axis: batch}


def _flat_axes(axes: list) -> list[int]:
    return [a for x in axes for a in (x if isinstance(x, tuple) else (x,))]


def _batch_dim(graph: Graph, nid: str) -> int:
    """Where an argument's batch lies: an Input's ``batch_dim``, else first."""
    node = graph.node(nid)
    return int(node.params.get("batch_dim", 0)) if node.is_input else 0


def _forward_parameters(graph: Graph) -> list[str]:
    """Parameter names of the generated ``forward`` (read from the source, not guessed)."""
    from .codegen import generate

    source, cls = generate(graph, None, main=False)
    tree = ast.parse(source)
    cls_node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls)
    fwd = next(n for n in cls_node.body if isinstance(n, ast.FunctionDef) and n.name == "forward")
    return [a.arg for a in fwd.args.args[1:]]


def _output_names(graph: Graph) -> list[str]:
    names = []
    for o in graph.outputs():
        node = graph.node(o)
        ports = [p.name for p in graph.output_ports(o)] if not node.is_output else ["out"]
        names += [node.name if len(ports) == 1 else f"{node.name}_{p}" for p in ports]
    return names


def _as_list(out) -> list[torch.Tensor]:
    """The tensors of a result (or arguments), nested tuples flattened as ONNX lists them."""
    if isinstance(out, torch.Tensor):
        return [out]
    return [t for o in out for t in _as_list(o)]


def prepared_module(graph: Graph, weights: Any = None) -> torch.nn.Module:
    module = graph.build()
    load_weights(module, weights)
    return module.eval()


@dataclass
class _Exportable:
    """The module an export writes (the model, or ``Pipeline(model)`` with a run's
    preprocessing) and example arguments for it."""

    module: torch.nn.Module
    graph: Graph
    preprocessing: dict | None

    @property
    def names(self) -> list[str]:
        return leaf_names(self.graph)

    def arguments(self, batch: int, seed: int = 0) -> list:
        if self.preprocessing is None:
            return model_arguments(self.graph, batch=batch, seed=seed)[1]
        gen = torch.Generator().manual_seed(seed)  # raw samples: pixel-like values in [0, 1]
        raw = torch.rand(batch, *self.preprocessing["raw_shape"], generator=gen)
        # The Input comes first, then any Noise sources (see model_arguments).
        return [raw, *model_arguments(self.graph, batch=batch, seed=seed)[1][1:]]


def _exportable(graph: Graph, weights: Any, preprocessing: dict | None) -> _Exportable:
    module = prepared_module(graph, weights)
    if preprocessing is not None:
        if len(graph.inputs()) != 1:
            raise CompileError(f"'{graph.name}' has {len(graph.inputs())} Inputs: a run's "
                               f"preprocessing applies to a graph with one Input")
        module = with_preprocessing(module, preprocessing,
                                    tuple(model_arguments(graph, batch=1)[0][1:]))
    return _Exportable(module, graph, preprocessing)


def export_onnx(graph: Graph, path: str | os.PathLike, weights: Any = None, *,
                opset: int = ONNX_OPSET, check: bool = True,
                preprocessing: dict | None = None) -> ExportReport:
    """Write ``graph`` as ONNX (dynamic batch axis) and check it with onnxruntime. With a run's
    ``preprocessing`` the file takes raw samples (see ``compile.preprocess``)."""
    path = Path(path)
    ex = _exportable(graph, weights, preprocessing)
    in_names, args = ex.names, ex.arguments(batch=2)
    # a run's preprocessing takes raw samples, batch first
    axes = argument_axes(graph) if preprocessing is None else [0] * len(args)
    out_names = _output_names(graph)
    method: list[str] = []

    def write(tmp: Path) -> None:
        # NOTE: not under no_grad: TransformerEncoderLayer would take its inference fast path,
        # a fused kernel that has no ONNX form.
        batch = torch.export.Dim("batch")
        try:
            torch.onnx.export(ex.module, tuple(args), str(tmp), input_names=in_names,
                              output_names=out_names, opset_version=opset, dynamo=True,
                              dynamic_shapes=tuple(_dynamic(a, batch) for a in axes),
                              verbose=False)
            method.append("dynamo")
            return
        except Exception as exc:  # noqa: BLE001 (a graph torch.export cannot capture)
            reason = _first_line(exc.__cause__ or exc)
        warnings.warn(f"'{graph.name}': the ONNX exporter (torch.export) failed ({reason}); "
                      f"falling back to the legacy TorchScript-based exporter", stacklevel=3)
        named = {**{n: {0: "batch"} for n in out_names},
                 **{n: {a: "batch"} for n, a in zip(in_names, _flat_axes(axes))}}
        torch.onnx.export(ex.module, tuple(args), str(tmp), input_names=in_names,
                          output_names=out_names, dynamic_axes=named, opset_version=opset,
                          dynamo=False, do_constant_folding=True)
        method.append("legacy")

    try:
        atomic_replace(path, write)
    except Exception as exc:  # noqa: BLE001 (the exporter's own error, in one sentence)
        text = " ".join(str(exc).strip().splitlines()[:2])
        raise CompileError(f"'{graph.name}' cannot be exported to ONNX: {text}") from None
    report = ExportReport(path, in_names, out_names, None, method=method[0])
    if check:
        report.batch_sizes = (1, 5)
        report.max_difference = check_onnx(ex, path, report.batch_sizes)
    return report


def _first_line(exc: BaseException) -> str:
    """The first line of an error without terminal colour codes."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def check_onnx(ex: _Exportable, path: Path, batch_sizes: tuple[int, ...] = (1, 5)
               ) -> float | None:
    """Largest difference between onnxruntime and PyTorch over the batch sizes (None when
    onnxruntime is not installed); raises CompileError beyond the tolerance."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = [i.name for i in session.get_inputs()]
    worst = 0.0
    for batch in batch_sizes:
        args = ex.arguments(batch=batch, seed=batch)
        with torch.no_grad():
            want = _as_list(ex.module(*args))
        got = session.run(None, {n: a.numpy() for n, a in zip(feeds, _as_list(args))})
        for w, g in zip(want, got):
            if tuple(w.shape) != tuple(g.shape):
                raise CompileError(f"{path}: ONNX output shape {tuple(g.shape)} differs from "
                                   f"PyTorch's {tuple(w.shape)} at batch size {batch}")
            worst = max(worst, float((w - torch.from_numpy(g)).abs().max()) if w.numel() else 0)
    if worst > TOLERANCE * 10:
        raise CompileError(f"{path}: ONNX outputs differ from PyTorch's by {worst:.3g}")
    return worst


def export_torchscript(graph: Graph, path: str | os.PathLike, weights: Any = None, *,
                       preprocessing: dict | None = None) -> ExportReport:
    """Write ``graph`` as TorchScript: ``torch.jit.script`` where it compiles and saves, else a
    trace (Noise sources then become explicit arguments). The file is loaded back and checked."""
    path = Path(path)
    ex = _exportable(graph, weights, preprocessing)
    args = ex.arguments(batch=2)
    done: list = []  # (method, worst difference) of the way that worked

    def write(tmp: Path) -> None:
        failure = ""
        for method in ("script", "trace"):
            try:
                if method == "script":
                    compiled = torch.jit.script(ex.module)
                else:
                    with torch.no_grad():
                        compiled = torch.jit.trace(ex.module, tuple(args))
                torch.jit.save(compiled, str(tmp))
                loaded = torch.jit.load(str(tmp))
                done.append((method, _compare(ex, loaded, "TorchScript")))
                return
            except Exception as exc:  # noqa: BLE001 (Python-only constructs: try the next way)
                failure = " ".join(str(exc).strip().splitlines()[:1])
        raise CompileError(f"'{graph.name}' cannot be exported to TorchScript: {failure}")

    atomic_replace(path, write)  # the file is replaced only once it loads and matches
    method, worst = done[0]
    return ExportReport(path, ex.names, _output_names(graph), worst, (1, 5), method)


def export_pt2(graph: Graph, path: str | os.PathLike, weights: Any = None, *,
               preprocessing: dict | None = None) -> ExportReport:
    """Write ``graph`` as a ``torch.export`` program (``.pt2``, dynamic batch axis), loaded back
    with ``torch.export.load`` and checked against the module."""
    path = Path(path)
    ex = _exportable(graph, weights, preprocessing)
    args = ex.arguments(batch=2)
    done: list = []

    def write(tmp: Path) -> None:
        batch = torch.export.Dim("batch")
        program = torch.export.export(ex.module, tuple(args),
                                      dynamic_shapes=tuple({0: batch} for _ in args))
        torch.export.save(program, str(tmp))
        loaded = torch.export.load(str(tmp)).module()
        done.append(_compare(ex, loaded, "The .pt2 program's"))

    try:
        atomic_replace(path, write)
    except CompileError:
        raise
    except Exception as exc:  # noqa: BLE001 (torch.export's own error, in one sentence)
        text = " ".join(str(exc).strip().splitlines()[:2])
        raise CompileError(f"'{graph.name}' cannot be exported with torch.export: {text}"
                           ) from None
    return ExportReport(path, ex.names, _output_names(graph), done[0], (1, 5), "export")


def _compare(ex: _Exportable, loaded, what: str) -> float:
    worst = 0.0
    for batch in (1, 5):
        args = ex.arguments(batch=batch, seed=batch)
        with torch.no_grad():
            for w, g in zip(_as_list(ex.module(*args)), _as_list(loaded(*args))):
                worst = max(worst, float((w - g).abs().max()) if w.numel() else 0.0)
    if worst > TOLERANCE * 10:
        raise CompileError(f"{what} outputs differ from PyTorch's by {worst:.3g}")
    return worst


__all__ = [
    "ONNX_OPSET",
    "ExportReport",
    "check_onnx",
    "export_onnx",
    "export_pt2",
    "export_torchscript",
    "load_weights",
    "model_arguments",
]
