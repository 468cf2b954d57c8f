"""A run's folder: config, graph snapshot, metric history, summary, weights and checkpoints.

Layout of ``DIR``::

    config.json          the TrainingConfig           graph.json     the graph snapshot
    metrics.jsonl        one line per epoch (appended; a resumed run continues it)
    summary.json         final metrics, best epoch, samples/s, paths, status
    weights.safetensors  the last good weights        best.safetensors  the best epoch's
    checkpoint.json      trainer state (epoch, step, best, schedule, early stopping)
    optimizer.pt         optimizer states (tensors only: loaded with weights_only=True)

Every file is written atomically (temporary file, then rename), so a crash or a NaN never leaves
a half-written checkpoint: the last good one stays.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from ..graph.fileformat import atomic_replace, atomic_write
from .tasks.base import TrainingError

WEIGHTS = "weights.safetensors"
BEST = "best.safetensors"


def _clean(v: Any) -> Any:
    """JSON-safe numbers (NaN/Inf become null)."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if hasattr(v, "item") and getattr(v, "ndim", 1) == 0:
        return _clean(v.item())
    return v


def dumps(v: Any, indent: int | None = 2) -> str:
    return json.dumps(_clean(v), indent=indent)


def state_tensors(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A CPU copy of the state dict, contiguous and unshared (what safetensors needs)."""
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in module.state_dict().items()}


def save_weights(tensors: dict[str, torch.Tensor], path: Path) -> None:
    atomic_replace(path, lambda tmp: save_file(tensors, str(tmp), metadata={
        "format": "pt", "producer": "netbuilder"}))


def load_weights(module: torch.nn.Module, path: Path) -> None:
    """Load safetensors weights; a mismatch names the first missing/unexpected key."""
    try:
        tensors = load_file(str(path))
    except Exception as exc:
        raise TrainingError(f"{path}: cannot read the weights ({exc})") from None
    own = module.state_dict()
    missing = [k for k in own if k not in tensors]
    extra = [k for k in tensors if k not in own]
    if missing or extra:
        what = f"missing {missing[0]!r}" if missing else f"unexpected {extra[0]!r}"
        raise TrainingError(f"{path} does not fit this graph ({what}): the graph changed since "
                            f"these weights were saved")
    for k, v in tensors.items():
        if tuple(own[k].shape) != tuple(v.shape):
            raise TrainingError(f"{path}: '{k}' has shape {tuple(v.shape)} but the graph needs "
                                f"{tuple(own[k].shape)}: the graph changed since the weights "
                                f"were saved")
    module.load_state_dict(tensors)


class RunFiles:
    """Reads and writes the files of one run folder."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def ensure(self) -> RunFiles:
        self.root.mkdir(parents=True, exist_ok=True)
        return self

    def path(self, name: str) -> Path:
        return self.root / name

    # --- snapshot --------------------------------------------------------------------------

    def write_snapshot(self, graph_json: str, config: dict) -> None:
        atomic_write(self.path("graph.json"), graph_json)
        atomic_write(self.path("config.json"), dumps(config) + "\n")

    def read_config(self) -> dict:
        return self._read_json("config.json")

    def read_graph_text(self) -> str:
        p = self.path("graph.json")
        if not p.exists():
            raise TrainingError(f"{self.root} is not a run folder to resume: it has no "
                                f"graph.json")
        return p.read_text(encoding="utf-8")

    # --- history ----------------------------------------------------------------------------

    def append_history(self, record: dict) -> None:
        with open(self.path("metrics.jsonl"), "a", encoding="utf-8") as f:
            f.write(dumps(record, indent=None) + "\n")
            f.flush()

    def read_history(self) -> list[dict]:
        p = self.path("metrics.jsonl")
        if not p.exists():
            return []
        rows = []
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                raise TrainingError(f"{p}: line {i} is not valid JSON") from None
        return rows

    def truncate_history(self, last_epoch: int) -> list[dict]:
        """Keep the records up to ``last_epoch`` (epochs after the checkpoint are redone)."""
        rows = [r for r in self.read_history() if int(r.get("epoch", 0)) <= last_epoch]
        atomic_write(self.path("metrics.jsonl"),
                     "".join(dumps(r, indent=None) + "\n" for r in rows))
        return rows

    # --- checkpoints ---------------------------------------------------------------------------

    def save_checkpoint(self, tensors: dict, optimizers: list, state: dict) -> None:
        """Weights, optimizer state, then the JSON state that names them (written last)."""
        save_weights(tensors, self.path(WEIGHTS))
        states = [o.state_dict() for o in optimizers]
        atomic_replace(self.path("optimizer.pt"), lambda tmp: torch.save(states, tmp))
        atomic_write(self.path("checkpoint.json"), dumps(state) + "\n")

    def save_best(self, tensors: dict) -> None:
        save_weights(tensors, self.path(BEST))

    def save_final(self, tensors: dict) -> None:
        save_weights(tensors, self.path(WEIGHTS))

    def load_checkpoint(self) -> tuple[dict, list | None]:
        state = self._read_json("checkpoint.json")
        opt_path = self.path("optimizer.pt")
        opt_states = None
        if opt_path.exists():
            try:
                opt_states = torch.load(opt_path, map_location="cpu", weights_only=True)
            except Exception as exc:
                raise TrainingError(f"{opt_path}: cannot read the optimizer state "
                                    f"({exc})") from None
        return state, opt_states

    def write_summary(self, summary: dict) -> None:
        atomic_write(self.path("summary.json"), dumps(summary) + "\n")

    def _read_json(self, name: str) -> dict:
        p = self.path(name)
        if not p.exists():
            raise TrainingError(f"{self.root} has no {name}: it is not a run folder that can be "
                                f"resumed")
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise TrainingError(f"{p}: cannot read it ({exc})") from None
        if not isinstance(data, dict):
            raise TrainingError(f"{p}: expected a JSON object")
        return data
