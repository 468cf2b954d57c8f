"""Weights as tensors: reading a weights file safely, checking it against a model, applying it.

The one answer to "do these weights fit this graph?": every reader (the trainer, export, the
editor's Load weights…, ``check``/``summary``, import) goes through ``read_weights`` and
``fit_weights``. Files are safetensors or ``torch.load(weights_only=True)``; never pickle.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..errors import WeightsError
from .tensor_files import TensorFileError, load_tensor_file

# Where training scripts keep the state dict inside a checkpoint of several things.
_NESTED = ("state_dict", "model_state_dict", "model", "module", "net", "weights")


def read_weights(source: bytes | str | os.PathLike, name: str | None = None
                 ) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file (or its bytes), or of a weights-only ``.pt``/``.pth``
    file (a state dict, or a checkpoint holding one under ``state_dict``/``model``).
    ``name`` is what messages call it. WeightsError names the file and the bad entry."""
    from safetensors.torch import load as load_bytes

    label = name or ("the weights" if isinstance(source, bytes) else str(source))
    if isinstance(source, bytes):
        raw = source
        safetensors = True
    else:
        p = Path(source)
        try:
            raw = p.read_bytes()
        except FileNotFoundError:
            raise WeightsError(f"{label}: the weights file does not exist") from None
        except OSError as exc:
            raise WeightsError(f"{label}: cannot read it ({exc.strerror or exc})") from None
        safetensors = p.suffix == ".safetensors"
    if safetensors:
        try:
            tensors = load_bytes(raw)
        except Exception as exc:  # noqa: BLE001 (a damaged file: one clear sentence)
            raise WeightsError(f"{label}: cannot read the weights: it is not a complete "
                               f"safetensors file ({_first_line(exc)})") from None
    else:
        try:
            tensors = load_tensor_file(raw)
        except TensorFileError as exc:  # our words: never torch's advice on weights_only
            raise WeightsError(f"{label}: cannot read the weights: {exc}") from None
        tensors = _state_dict_in(tensors, label)
    return dict(tensors)


def _state_dict_in(obj, label: str) -> dict:
    if isinstance(obj, dict) and not all(isinstance(v, torch.Tensor) for v in obj.values()):
        for key in _NESTED:
            if isinstance(obj.get(key), dict):
                return _state_dict_in(obj[key], f"{label} [{key!r}]")
    if not isinstance(obj, dict) or not obj:
        raise WeightsError(f"{label}: holds no state dict (a mapping of names to tensors)")
    for k, v in obj.items():
        if not isinstance(k, str) or not isinstance(v, torch.Tensor):
            raise WeightsError(f"{label}: entry {k!r} is a {type(v).__name__}, not a tensor: "
                               f"save model.state_dict()")
    return obj


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


@dataclass
class WeightsFit:
    """How a set of tensors fits a model's state dict.

    NOTE (new layers): a layer the file leaves out entirely (a new head on a pretrained body)
    keeps its fresh initialisation: its keys are ``fresh``, not an error, as with torch's
    ``load_state_dict(strict=False)`` in a transfer-learning script. A layer the file has only
    in part, a tensor the model lacks, a shape that differs, or a file with nothing of the
    model, do not fit.
    """

    missing: list[str] = field(default_factory=list)  # absent, though the file has the layer
    unexpected: list[str] = field(default_factory=list)  # the file's, unknown to the model
    mismatched: list[tuple[str, tuple, tuple]] = field(default_factory=list)  # key, file, model
    fresh: list[str] = field(default_factory=list)  # keys of layers the file leaves out
    matched: int = 0  # the model's tensors the file holds

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched) and self.matched > 0

    @property
    def fresh_layers(self) -> list[str]:
        """The layers (module paths) that keep their initialisation."""
        return list(dict.fromkeys(_layer(k) for k in self.fresh))

    def message(self, label: str, limit: int = 5) -> str:
        """One paragraph naming the file and the tensors that do not fit."""
        if not self.matched and not (self.unexpected or self.mismatched):
            return (f"{label} does not fit the graph: it holds none of the graph's tensors "
                    f"(such as {_listed(self.fresh, 2)})")
        parts = []
        if self.missing:
            parts.append(f"missing {_listed(self.missing, limit)}")
        if self.unexpected:
            parts.append(f"unexpected {_listed(self.unexpected, limit)}")
        if self.mismatched:
            shown = "; ".join(f"'{k}' is {tuple(a)} in the file but {tuple(b)} in the graph"
                              for k, a, b in self.mismatched[:limit])
            more = len(self.mismatched) - limit
            parts.append(f"shapes differ: {shown}" + (f" (and {more} more)" if more > 0 else ""))
        return f"{label} does not fit the graph: " + "; ".join(parts)

    def fresh_note(self) -> str | None:
        """What keeps its initialisation, as a sentence (None: nothing)."""
        layers = self.fresh_layers
        if not layers:
            return None
        shown = ", ".join(f"'{x}'" for x in layers[:5]) + (" …" if len(layers) > 5 else "")
        return f"not in the weights, so freshly initialised: {shown}"


def _layer(key: str) -> str:
    return key.rsplit(".", 1)[0] if "." in key else key


def _listed(keys: list[str], limit: int) -> str:
    shown = ", ".join(f"'{k}'" for k in keys[:limit])
    more = len(keys) - limit
    return f"{shown} (and {more} more)" if more > 0 else shown


def fit_weights(own: dict, tensors: dict) -> WeightsFit:
    """Compare ``tensors`` with a model's state dict ``own`` (or ``{key: shape}``)."""
    fit = WeightsFit()
    covered = {_layer(k) for k in tensors}
    for k, v in own.items():
        if k not in tensors:
            (fit.missing if _layer(k) in covered else fit.fresh).append(k)
            continue
        fit.matched += 1
        want = tuple(v.shape) if hasattr(v, "shape") else tuple(v)
        if tuple(tensors[k].shape) != want:
            fit.mismatched.append((k, tuple(tensors[k].shape), want))
    fit.unexpected = [k for k in tensors if k not in own]
    return fit


def apply_weights(module: torch.nn.Module, tensors: dict, label: str) -> WeightsFit:
    """Load ``tensors`` into ``module`` (layers they leave out keep their initialisation),
    else WeightsError naming the file and the tensors."""
    fit = fit_weights(module.state_dict(), tensors)
    if not fit.ok:
        raise WeightsError(fit.message(label))
    module.load_state_dict(tensors, strict=False)
    return fit


def to_safetensors(tensors: dict) -> bytes:
    """The tensors as safetensors bytes (contiguous CPU copies; shared storage unshared)."""
    from safetensors.torch import save

    clean = {k: v.detach().to("cpu", copy=True).contiguous() for k, v in tensors.items()}
    return save(clean, metadata={"format": "pt", "producer": "netbuilder"})


def graph_weights(graph) -> dict[str, torch.Tensor] | None:
    """The graph's own weights as tensors (None when it has none)."""
    if graph.weights is None:
        return None
    return read_weights(graph.weights.read_bytes(), graph.weights.label())


def graph_state(graph) -> dict[str, torch.Tensor] | None:
    """The whole state dict of the graph's model with its weights in (layers they leave out
    freshly initialised), for export; None when the graph has no weights."""
    if graph.weights is None:
        return None
    module = graph.build()
    load_graph_weights(graph, module)
    return {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}


def load_graph_weights(graph, module: torch.nn.Module) -> WeightsFit | None:
    """Put the graph's weights into ``module`` (its build); None when it has none."""
    tensors = graph_weights(graph)
    if tensors is None:
        return None
    return apply_weights(module, tensors, graph.weights.label())




@dataclass
class WeightsStatus:
    """What ``check`` and ``summary`` say of a graph's weights."""

    file: str  # the file (or where held weights came from)
    tensors: int = 0
    values: int = 0
    problem: str | None = None  # missing, unreadable, or not fitting the graph
    fresh: list[str] = field(default_factory=list)  # layers it leaves out (new ones)

    def as_dict(self) -> dict:
        return {"file": self.file, "tensors": self.tensors, "values": self.values,
                "ok": self.problem is None, "problem": self.problem, "fresh": self.fresh}



def weights_status(graph) -> WeightsStatus | None:
    """The graph's weights read and checked against its model (None: it has none). A graph
    that cannot be built (untrusted code, errors) has its file read, not matched."""
    from ..errors import NetbuilderError

    if graph.weights is None:
        return None
    status = WeightsStatus(graph.weights.label())
    try:
        tensors = graph_weights(graph)
    except NetbuilderError as exc:
        status.problem = str(exc)
        return status
    status.tensors = len(tensors)
    status.values = sum(t.numel() for t in tensors.values())
    try:
        own = graph.build().state_dict()
    except NetbuilderError:
        return status
    fit = fit_weights(own, tensors)
    status.fresh = fit.fresh_layers
    if not fit.ok:
        status.problem = fit.message(status.file)
    return status


__all__ = ["read_weights", "fit_weights", "apply_weights", "WeightsFit", "to_safetensors",
           "graph_weights", "graph_state", "load_graph_weights", "weights_status",
           "WeightsStatus"]
