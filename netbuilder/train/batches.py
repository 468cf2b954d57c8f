"""Getting a dataset ready for a graph and cutting it into batches without per-sample work.

The whole dataset becomes tensors once; small datasets live on the training device, and a batch
is an index into them (a permutation drawn on the device), so an epoch is a handful of tensor
ops and never touches a DataLoader or Python per sample. Normalisation is applied once to the
stored inputs, except when augmentation is on: then it runs per batch after augmenting, so that
rotations and shifts pad with true zeros.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from .config import TrainingConfig
from .data import (
    Augment,
    DatasetArrays,
    Normalizer,
    check_input_shape,
    load_dataset,
    resize_images,
    split_dataset,
)
from .recipe import EpochSampler
from .tasks.base import DataInfo, Task, TrainingError

# Datasets up to this size are copied to the GPU once; larger ones stay in (pinned) host memory.
DEVICE_RESIDENT_BYTES = 2 << 30


@dataclass
class PreparedData:
    info: DataInfo
    train: dict  # name -> tensor, one row per sample
    val: dict
    augment: Augment | None
    normalize_batches: Normalizer | None  # per-batch normalisation (augmentation on)
    resident: bool  # the tensors live on the training device

    @property
    def n_train(self) -> int:
        return _rows(self.train)

    @property
    def n_val(self) -> int:
        return _rows(self.val)


def _rows(tensors: dict) -> int:
    return int(next(iter(tensors.values())).shape[0]) if tensors else 0


def graph_input(graph) -> tuple[str, tuple, str]:
    """(name, shape, dtype) of the graph's Input; several Inputs (the two sides of a siamese
    pair) must take samples of one shape, as the one dataset feeds them all."""
    inputs = [graph.node(i) for i in graph.inputs()]
    if not inputs:
        raise TrainingError("The graph has no Input; training feeds the dataset into an Input "
                            "node", field="dataset")
    first = inputs[0]
    for other in inputs[1:]:
        if (tuple(other.params["shape"]), other.params["dtype"]) != (
                tuple(first.params["shape"]), first.params["dtype"]):
            raise TrainingError(f"The graph has {len(inputs)} Inputs of different shapes "
                                f"({first.label}, {other.label}); training feeds one dataset "
                                f"into one Input, or into Inputs of one shape (siamese pairs)",
                                field="dataset")
    return first.name, tuple(first.params["shape"]), first.params["dtype"]


def fit_to_input(ds: DatasetArrays, graph, log: Callable[[str], None]
                 ) -> tuple[DatasetArrays, tuple | None]:
    """Adapt the data to the Input when only the image size or flattening differs (and say so);
    otherwise raise the data layer's one-sentence explanation. Returns (data, image_shape)."""
    name, shape, _ = graph_input(graph)
    problem = check_input_shape(ds.input_shape, shape, name, ds.name, ds.kind)
    if problem is None:
        return ds, None
    have = ds.input_shape
    if ds.kind == "image" and len(have) == 3 and len(shape) == 3 and have[0] == shape[0] \
            and all(isinstance(d, int) and d > 0 for d in shape):
        x = resize_images(ds.x, (shape[1], shape[2]), ds.name)
        log(f"Resized the '{ds.name}' images from {have[1]}×{have[2]} to {shape[1]}×{shape[2]} "
            f"to fit Input '{name}' (set the dataset's size option to choose this yourself)")
        return _with_x(ds, x), None
    if len(shape) == 1 and len(have) > 1 and math.prod(have) == shape[0]:
        x = ds.x.reshape(len(ds.x), -1)
        log(f"Flattened the '{ds.name}' samples from {have} to ({shape[0]},) to fit Input "
            f"'{name}'")
        return _with_x(ds, x, kind="vector"), (have if ds.kind == "image" else None)
    raise TrainingError(problem, field="dataset")


def _with_x(ds: DatasetArrays, x: np.ndarray, kind: str | None = None) -> DatasetArrays:
    return DatasetArrays(ds.name, np.ascontiguousarray(x), ds.y, kind or ds.kind, ds.classes,
                         ds.task_hint, dict(ds.meta))


def prepare_data(config: TrainingConfig, graph, task: Task, output_shapes: list,
                 device: torch.device, channels_last: bool, log: Callable[[str], None],
                 dataset: DatasetArrays | None = None) -> PreparedData:
    ds = dataset if dataset is not None else load_dataset(config.dataset,
                                                          **dict(config.dataset_options))
    source_shape = ds.input_shape
    ds, image_shape = fit_to_input(ds, graph, log)
    if image_shape is None and ds.kind == "image":
        image_shape = ds.input_shape
    task.check(ds, output_shapes)
    train, val = split_dataset(ds, config.val_split, config.seed)
    if len(train) == 0:
        raise TrainingError(f"The dataset '{ds.name}' has no training samples left after the "
                            f"validation split: lower val_split", field="val_split")
    normalizer = Normalizer.fit(train.x, config.normalization)
    aug_cfg = {k: v for k, v in config.augmentation.items() if v}
    augment = Augment(**aug_cfg, seed=config.seed) if aug_cfg else None
    if augment is not None and augment.geometric and ds.kind != "image":
        raise TrainingError("Flip, shift and rotate augment images, but this dataset holds "
                            f"{ds.kind}s: use only noise", field="augmentation")
    info = DataInfo(name=ds.name, kind=ds.kind, input_shape=ds.input_shape,
                    target_shape=ds.target_shape, classes=ds.classes, n_train=len(train),
                    n_val=len(val), normalizer=None if normalizer.is_identity else normalizer,
                    image_shape=image_shape, source_shape=source_shape,
                    background=_background(image_shape, train.x))
    tr, va = task.prepare(train), task.prepare(val) if len(val) else {}
    size = sum(t.numel() * t.element_size() for t in [*tr.values(), *va.values()])
    resident = device.type == "cpu" or size <= DEVICE_RESIDENT_BYTES
    per_batch = augment is not None and info.normalizer is not None
    tr = _place(tr, device, resident, channels_last, None if per_batch else info.normalizer)
    va = _place(va, device, resident, channels_last, info.normalizer)
    return PreparedData(info, tr, va, augment, info.normalizer if per_batch else None, resident)


def _place(tensors: dict, device: torch.device, resident: bool, channels_last: bool,
           normalizer: Normalizer | None) -> dict:
    out = {}
    for k, t in tensors.items():
        t = t.to(device) if resident else (t.pin_memory() if device.type == "cuda" else t)
        if k == "x" and normalizer is not None:
            t = normalizer.apply(t)
        if k == "x" and channels_last and t.ndim == 4:
            t = t.contiguous(memory_format=torch.channels_last)
        out[k] = t
    return out


def _background(image_shape: tuple | None, x: np.ndarray) -> str | None:
    # Only grey pictures: a photo's colours say nothing of ink and paper.
    return image_background(x) if image_shape is not None and image_shape[0] == 1 else None


def image_background(x: np.ndarray) -> str:
    """"dark" when pictures are mostly dark (light strokes on black, as digits are), else
    "light": where their mean lies within their value range."""
    x = np.asarray(x[:1000], dtype=np.float32)
    lo, hi = float(x.min()), float(x.max())
    return "dark" if hi <= lo or (float(x.mean()) - lo) / (hi - lo) < 0.5 else "light"


def preprocessing_record(info: DataInfo, config: TrainingConfig) -> dict:
    """What an exported model must do to a raw sample before its Input, as training did (the
    run's ``preprocessing.json``; ``netbuilder.compile.preprocess`` turns it into code)."""
    raw = tuple(info.source_shape or info.input_shape)
    shape = tuple(info.input_shape)
    resize = None
    if len(raw) == 3 and len(shape) == 3 and raw[1:] != shape[1:]:
        resize = [int(shape[1]), int(shape[2])]
    return {"format": 1, "raw_shape": [int(d) for d in raw],
            "input_shape": [int(d) for d in shape], "resize": resize,
            "flatten": len(shape) == 1 and len(raw) > 1,
            "normalization": (info.normalizer.to_dict() if info.normalizer is not None
                              else {"mode": "none"}),
            "class_names": None if info.classes is None else [str(c) for c in info.classes],
            "task": config.task, "dataset": config.dataset, "background": info.background}


class Batches:
    """Yields batches (dicts of tensors on the device) of one split.

    With ``world_size`` > 1 each rank takes its own equal share of every epoch's permutation.
    """

    def __init__(self, data: PreparedData, split: str, batch_size: int, device: torch.device,
                 seed: int = 0, rank: int = 0, world_size: int = 1):
        self.tensors = data.train if split == "train" else data.val
        self.train = split == "train"
        self.data = data
        self.batch_size = batch_size
        self.device = device
        self.rank, self.world = rank, world_size
        self.n = _rows(self.tensors)
        self.per_rank = self.n // world_size if world_size > 1 else self.n
        where = device if data.resident else torch.device("cpu")
        self.sampler = EpochSampler(self.n, seed, rank, world_size, where)
        self.where = where

    def __len__(self) -> int:
        return math.ceil(self.per_rank / self.batch_size) if self.per_rank else 0

    def _order(self) -> torch.Tensor | None:
        if not self.train:
            return None if self.world == 1 else torch.arange(self.n, device=self.where)
        return self.sampler.order()  # this rank's share already

    def set_epoch(self, epoch: int) -> None:
        """The training order of epoch ``epoch`` (recipe.EpochSampler, as train.py's)."""
        self.sampler.set_epoch(epoch)

    def __iter__(self) -> Iterator[dict]:
        order = self._order()
        if self.world > 1 and not self.train:
            order = order[self.rank * self.per_rank:(self.rank + 1) * self.per_rank]
        for start in range(0, self.per_rank, self.batch_size):
            if order is None:
                batch = {k: t[start:start + self.batch_size] for k, t in self.tensors.items()}
            else:
                idx = order[start:start + self.batch_size]
                batch = {k: t[idx] for k, t in self.tensors.items()}
            yield self._finish(batch)

    def _finish(self, batch: dict) -> dict:
        if not self.data.resident:
            batch = {k: t.to(self.device, non_blocking=True) for k, t in batch.items()}
        if self.train and "x" in batch:
            x = batch["x"]
            if self.data.augment is not None:
                x = self.data.augment(x)
            if self.data.normalize_batches is not None:
                x = self.data.normalize_batches.apply(x)
            batch["x"] = x
        return batch

    def probe(self, n: int) -> dict:
        """The first ``n`` samples (fixed for the whole run), on the device."""
        batch = {k: t[:n] for k, t in self.tensors.items()}
        if not self.data.resident:
            batch = {k: t.to(self.device) for k, t in batch.items()}
        if self.train and "x" in batch and self.data.normalize_batches is not None:
            batch["x"] = self.data.normalize_batches.apply(batch["x"])
        return batch
