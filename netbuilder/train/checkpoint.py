"""A run's folder: config, graph snapshot, metric history, summary, weights and checkpoints.

Layout of ``DIR``::

    config.json          the TrainingConfig           graph.json     the graph snapshot
    preprocessing.json   raw sample shape, resize, normalisation statistics, class names
    metrics.jsonl        one line per epoch (appended; a resumed run continues it)
    summary.json         final metrics, best epoch, samples/s, paths, status
    weights.safetensors  the last checkpoint's weights best.safetensors  the best epoch's
    checkpoint.json      the record: trainer state (epoch, step, best, schedule, early
                         stopping), the name of the checkpoint folder and its files' SHA-256
    checkpoint-<epoch>-<id>/   weights.safetensors, optimizer.pt (optimizer states) and
                         rng.pt (random generators), tensors only: read with weights_only=True

Every file is written atomically (temporary file, then rename), and a checkpoint is committed
as one unit (see ``RunFiles.save_checkpoint``): a crash, a kill or a NaN never leaves a torn
checkpoint in force; the last good one stays.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import load_file, save_file
from safetensors.torch import save as save_safetensors

from ..compile.preprocess import PREPROCESSING
from ..compile.tensor_files import TensorFileError, load_tensor_file
from ..graph.atomic import fsync_folder
from ..graph.fileformat import atomic_replace, atomic_write
from .tasks.base import TrainingError

WEIGHTS = "weights.safetensors"
BEST = "best.safetensors"
CHECKPOINT = "checkpoint.json"
OPTIMIZER = "optimizer.pt"
RNG = "rng.pt"
SET_PREFIX = "checkpoint-"
_SET_NAME = re.compile(r"checkpoint-\d{6,}-[0-9a-f]{8}")


@dataclass
class Checkpoint:
    """A verified checkpoint: the record, the weights, optimizer states and RNG states."""

    state: dict
    tensors: dict
    optimizers: list | None
    rng: dict | None


def read_tensor_file(source: bytes | Path, path: Path, what: str) -> Any:
    """A ``.pt`` file of tensors; TrainingError naming ``path`` (never torch's advice)."""
    try:
        return load_tensor_file(source)
    except TensorFileError as exc:
        raise TrainingError(f"{path}: cannot read {what}: {exc}") from None


def _torch_bytes(obj: Any) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


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


def load_weights(module: torch.nn.Module, path: Path, tensors: dict | None = None) -> None:
    """Load safetensors weights (``tensors`` when already read from ``path``); a mismatch
    names the first missing/unexpected key."""
    if tensors is None:
        try:
            tensors = load_file(str(path))
        except Exception as exc:  # noqa: BLE001 (a damaged file: one clear error)
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
        text = p.read_text(encoding="utf-8", errors="replace")
        lines = text.splitlines()
        if lines and not text.endswith("\n"):
            # NOTE: a last line without its newline is an append a kill cut short: its epoch
            # came after the last checkpoint (records are appended before it), so it is dropped.
            lines.pop()
        rows = []
        for i, line in enumerate(lines, 1):
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

    def save_checkpoint(self, tensors: dict, optimizers: list, state: dict,
                        rng: dict | None = None) -> None:
        """Commit weights, optimizer state, RNG state and the record naming them as one set.

        NOTE: the set's files go into a hidden folder that one rename makes visible; then
        ``checkpoint.json`` (holding the files' SHA-256) replaces the previous record. That
        write is the commit: a kill before it leaves the previous set in force, a kill after
        it the new one, and a resume checks every hash before it believes a set.
        """
        blobs = {
            WEIGHTS: save_safetensors(tensors, metadata={"format": "pt",
                                                         "producer": "netbuilder"}),
            OPTIMIZER: _torch_bytes([o.state_dict() for o in optimizers]),
            RNG: _torch_bytes(rng or {}),
        }
        name = f"{SET_PREFIX}{int(state.get('epoch', 0)):06d}-{secrets.token_hex(4)}"
        hidden = self.path(f".{name}.tmp")
        hidden.mkdir()
        for fname, data in blobs.items():
            _write_synced(hidden / fname, data)
        fsync_folder(hidden)
        os.rename(hidden, self.path(name))  # the whole set appears at once
        fsync_folder(self.root)
        files = {fname: hashlib.sha256(data).hexdigest() for fname, data in blobs.items()}
        # (atomic_write syncs the folder after its rename: that makes the record durable)
        atomic_write(self.path(CHECKPOINT), dumps({**state, "set": name, "files": files}) + "\n")
        self._publish_weights(self.path(name) / WEIGHTS)
        self.remove_stale_sets(keep=name)

    def _publish_weights(self, source: Path) -> None:
        """``weights.safetensors`` beside the record: the set's file, linked (or copied)."""
        def link(tmp: Path) -> None:
            tmp.unlink()
            try:
                os.link(source, tmp)
            except OSError:  # a file system without hard links
                shutil.copyfile(source, tmp)
        atomic_replace(self.path(WEIGHTS), link)

    def remove_stale_sets(self, keep: str | None) -> None:
        """Delete sets no record names (superseded ones, or one a kill left unnamed)."""
        for p in self.root.iterdir():
            stale = p.name.startswith(SET_PREFIX) or (p.name.startswith(f".{SET_PREFIX}")
                                                      and p.name.endswith(".tmp"))
            if stale and p.name != keep and p.is_dir():
                shutil.rmtree(p, ignore_errors=True)

    def save_best(self, tensors: dict) -> None:
        save_weights(tensors, self.path(BEST))

    def load_checkpoint(self) -> Checkpoint:
        """The committed set, every file checked against the record's SHA-256; a torn or
        changed set raises TrainingError naming the file."""
        state = self._read_json(CHECKPOINT)
        files = state.get("files")
        if "set" not in state and files is None:
            raise TrainingError(f"{self.path(CHECKPOINT)} records no checkpoint folder and no "
                                f"file hashes (an older netbuilder wrote it): its checkpoint "
                                f"cannot be verified, so the run cannot be resumed; "
                                f"{WEIGHTS} still holds its weights")
        name = state.get("set")
        if not isinstance(name, str) or not _SET_NAME.fullmatch(name) or \
                not isinstance(files, dict):
            raise TrainingError(f"{self.path(CHECKPOINT)} is damaged: it does not name a "
                                f"checkpoint folder and its files' hashes; the run cannot be "
                                f"resumed")
        folder = self.path(name)
        data = {}
        for fname in (WEIGHTS, OPTIMIZER, RNG):
            p = folder / fname
            digest = files.get(fname)
            if not isinstance(digest, str):
                raise TrainingError(f"{self.path(CHECKPOINT)} is damaged: it records no hash "
                                    f"for {fname}; the run cannot be resumed")
            try:
                data[fname] = p.read_bytes()
            except FileNotFoundError:
                raise TrainingError(f"The checkpoint is torn: {p} is missing, so the run "
                                    f"cannot be resumed") from None
            except OSError as exc:
                raise TrainingError(f"{p}: cannot read it ({exc.strerror})") from None
            if hashlib.sha256(data[fname]).hexdigest() != digest:
                raise TrainingError(f"The checkpoint is torn: {p} does not match the SHA-256 "
                                    f"that {CHECKPOINT} records for it (the file was changed "
                                    f"or only partly written), so the run cannot be resumed")
        try:
            tensors = load_safetensors(data[WEIGHTS])
        except Exception as exc:  # noqa: BLE001 (hashed, yet unreadable: one clear error)
            raise TrainingError(f"{folder / WEIGHTS}: cannot read the weights ({exc})") from None
        return Checkpoint(state, tensors, read_tensor_file(data[OPTIMIZER], folder / OPTIMIZER,
                                                           "the optimizer state"),
                          read_tensor_file(data[RNG], folder / RNG, "the random state"))

    def write_preprocessing(self, record: dict) -> None:
        """``preprocessing.json``: what an exported model does to raw samples before its
        Input (see ``batches.preprocessing_record``; exports read it)."""
        atomic_write(self.path(PREPROCESSING), dumps(record) + "\n")

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
