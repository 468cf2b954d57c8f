"""Splitting a dataset, summarising it for the UI, and checking it fits the model's Input."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .core import DataError, DatasetArrays


def split_dataset(ds: DatasetArrays, val_fraction: float = 0.2, seed: int = 0,
                  stratify: bool = True) -> tuple[DatasetArrays, DatasetArrays]:
    """Deterministic (train, validation) split; stratified by class when labels are classes.

    Both parts keep the original sample order, so the same seed always gives the same split.
    """
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, (int, float)) \
            or not 0.0 <= val_fraction < 1.0:
        raise DataError(f"The validation fraction must be at least 0 and below 1, not "
                        f"{val_fraction!r}.", field="val_fraction")
    n = len(ds)
    rng = np.random.default_rng(seed)
    if val_fraction == 0 or n < 2:
        val_index = np.array([], dtype=np.int64)
    elif stratify and ds.y is not None and ds.task_hint == "classify" and ds.y.ndim == 1:
        picks = []
        for label in np.unique(ds.y):
            members = np.flatnonzero(ds.y == label)
            take = round(len(members) * val_fraction)
            # why: every class with 2+ samples gets a validation sample, or its
            # accuracy could never be measured.
            if take == 0 and len(members) >= 2:
                take = 1
            take = min(take, len(members) - 1) if len(members) > 1 else 0
            picks.append(rng.permutation(members)[:take])
        val_index = np.concatenate(picks) if picks else np.array([], dtype=np.int64)
    else:
        take = min(max(round(n * val_fraction), 1), n - 1)
        val_index = rng.permutation(n)[:take]
    is_val = np.zeros(n, dtype=bool)
    is_val[val_index] = True
    return ds.subset(np.flatnonzero(~is_val)), ds.subset(np.flatnonzero(is_val))


def preview(ds: DatasetArrays, n: int = 8) -> dict[str, Any]:
    """What the dataset panel shows: shapes, classes, value range and the first samples."""
    counts = None
    if ds.y is not None and ds.task_hint == "classify" and ds.y.ndim == 1:
        k = max(ds.num_classes or 0, int(ds.y.max()) + 1 if len(ds.y) else 0)
        raw = np.bincount(ds.y, minlength=k)
        names = ds.classes if ds.classes is not None and len(ds.classes) == k \
            else [str(i) for i in range(k)]
        counts = {name: int(c) for name, c in zip(names, raw)}
    x_min = float(ds.x.min()) if ds.x.size else math.nan
    x_max = float(ds.x.max()) if ds.x.size else math.nan
    return {
        "name": ds.name,
        "kind": ds.kind,
        "task_hint": ds.task_hint,
        "input_shape": ds.input_shape,
        "target_shape": ds.target_shape,
        "num_samples": len(ds),
        "classes": list(ds.classes) if ds.classes is not None else None,
        "class_counts": counts,
        "x_min": x_min,
        "x_max": x_max,
        "samples": np.array(ds.x[:n]),
        "labels": None if ds.y is None else np.array(ds.y[:n]),
    }


def _fmt(shape: tuple) -> str:
    shape = tuple("N" if d is None else d for d in shape)
    return f"({shape[0]},)" if len(shape) == 1 else f"({', '.join(str(d) for d in shape)})"


def _matches(data: tuple, expected: tuple) -> bool:
    return len(data) == len(expected) and all(
        e is None or (isinstance(e, int) and e < 0) or int(e) == int(d)
        for d, e in zip(data, expected))


def check_input_shape(data_shape: tuple, input_shape: tuple, input_name: str = "input",
                      dataset_name: str | None = None, kind: str | None = None) -> str | None:
    """None when the dataset's sample shape fits the Input node, else advice in one sentence.

    ``input_shape`` may hold None or -1 for a free dimension (e.g. a sequence length).
    """
    data, expected = tuple(data_shape), tuple(input_shape)
    if _matches(data, expected):
        return None
    who = f"The dataset '{dataset_name}'" if dataset_name else "The dataset"
    head = (f"{who} gives samples of shape {_fmt(data)} but Input '{input_name}' expects "
            f"{_fmt(expected)}")
    known = all(isinstance(e, int) and e >= 0 for e in expected)
    is_image = kind == "image" or (kind is None and len(data) == 3)
    if is_image and len(expected) == 3 and known:
        if data[0] == expected[0]:
            h, w = expected[1], expected[2]
            size = str(h) if h == w else f"({h}, {w})"
            return (f"{head}: set the dataset's size option to {size} or change the Input "
                    "shape.")
        hint = ""
        if expected[0] in (1, 3) and data[0] in (1, 3):
            mode = "grayscale" if expected[0] == 1 else "colour (RGB)"
            hint = f", or load the images as {mode} (image folders: grayscale={expected[0] == 1})"
        return f"{head}: change the Input shape to {_fmt(data)}{hint}."
    if known and math.prod(data) == math.prod(expected):
        if len(expected) == 1:
            return (f"{head}: set the dataset's flatten option, or change the Input shape to "
                    f"{_fmt(data)} and add a Flatten after it.")
        return (f"{head}: change the Input shape to {_fmt(data)} and add a Reshape to "
                f"{_fmt(expected)} after it.")
    if len(data) != len(expected):
        return (f"{head}: the samples have {len(data)} dimension{'s' if len(data) != 1 else ''}"
                f", the Input {len(expected)}: change the Input shape to {_fmt(data)}.")
    return f"{head}: change the Input shape to {_fmt(data)}."
