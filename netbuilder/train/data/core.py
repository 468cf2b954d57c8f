"""The dataset container, the data error, and helpers shared by every loader."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ...errors import NetbuilderError

KINDS = ("image", "vector", "sequence")
TASK_HINTS = ("classify", "regress")


class DataError(NetbuilderError, ValueError):
    """A dataset could not be loaded or used; the message says what to do about it."""

    def __init__(self, message: str, *, path: str | None = None, field: str | None = None):
        super().__init__(message, field=field)
        self.path = path


@dataclass
class DatasetArrays:
    """A whole dataset in memory: inputs ``x``, optional labels/targets ``y`` and metadata.

    NOTE: ``x`` is float32 (int64 for token sequences); ``y`` is int64 class indices for
    classification, float32 of shape (N, k) for regression, or None for unlabelled data.
    """

    name: str
    x: np.ndarray
    y: np.ndarray | None
    kind: str
    classes: list[str] | None = None
    task_hint: str = "classify"
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise DataError(f"Dataset '{self.name}': kind must be one of {KINDS}, "
                            f"not {self.kind!r}.", field="kind")
        if self.task_hint not in TASK_HINTS:
            raise DataError(f"Dataset '{self.name}': task_hint must be one of {TASK_HINTS}, "
                            f"not {self.task_hint!r}.", field="task_hint")
        if self.x.ndim < 2:
            raise DataError(f"Dataset '{self.name}': x must hold one row per sample (at least 2 "
                            f"dimensions) but has shape {tuple(self.x.shape)}.", field="x")
        if self.y is not None and len(self.y) != len(self.x):
            raise DataError(f"Dataset '{self.name}' has {len(self.x)} inputs but {len(self.y)} "
                            "labels: both must have one entry per sample.", field="y")

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one sample, without the batch dimension."""
        return tuple(int(d) for d in self.x.shape[1:])

    @property
    def num_classes(self) -> int | None:
        """Number of classes for classification data, None otherwise."""
        if self.classes is not None:
            return len(self.classes)
        if self.y is not None and self.task_hint == "classify" and self.y.size:
            return int(self.y.max()) + 1
        return None

    @property
    def target_shape(self) -> tuple[int, ...]:
        """Shape of one target (empty for class indices)."""
        return () if self.y is None else tuple(int(d) for d in self.y.shape[1:])

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def subset(self, index: np.ndarray | slice, name: str | None = None) -> DatasetArrays:
        """The samples at ``index``, with the same metadata."""
        return replace(self, name=name or self.name, x=self.x[index],
                       y=None if self.y is None else self.y[index], meta=dict(self.meta))


def check_options(source: str, options: dict[str, Any], allowed: set[str]) -> None:
    """Reject options a loader does not know, so a typo is not silently ignored."""
    unknown = sorted(set(options) - allowed)
    if unknown:
        known = ", ".join(sorted(allowed)) or "none"
        raise DataError(f"Unknown option {', '.join(map(repr, unknown))} for dataset '{source}': "
                        f"the options it takes are {known}.", field=unknown[0])


def class_names(count: int) -> list[str]:
    return [str(i) for i in range(count)]


def encode_labels(values: np.ndarray, source: str, task: str | None = None
                  ) -> tuple[np.ndarray, list[str] | None, str]:
    """Turn raw labels into (y, classes, task_hint).

    Text labels become class indices in sorted order; integer labels stay classes (remapped to
    0..K-1 when they are not already); other numbers are regression targets of shape (N, k).
    """
    values = np.asarray(values)
    if task not in (None, "classify", "regress"):
        raise DataError(f"Option task for '{source}' must be 'classify' or 'regress', "
                        f"not {task!r}.", field="task")
    if values.dtype.kind in "USO":
        if task == "regress":
            try:
                values = values.astype(np.float64)
            except ValueError:
                raise DataError(f"The labels of '{source}' hold text, so they cannot be "
                                "regression targets: use task='classify'.", path=source,
                                field="task") from None
        else:
            text = values.astype(str)
            classes = sorted(set(text.tolist()))
            lookup = {c: i for i, c in enumerate(classes)}
            return np.array([lookup[t] for t in text], dtype=np.int64), classes, "classify"
    if values.dtype.kind == "b":
        values = values.astype(np.int64)
    if values.dtype.kind not in "iuf":
        raise DataError(f"The labels of '{source}' have type {values.dtype}, which is neither "
                        "numbers nor text.", path=source, field="y")
    integral = values.dtype.kind in "iu" or (
        task == "classify" and values.size and np.all(np.isfinite(values))
        and np.all(values == np.round(values)))
    if task == "classify" and not integral:
        raise DataError(f"The labels of '{source}' are not whole numbers, so they cannot be "
                        "classes: use task='regress'.", path=source, field="task")
    if integral and task != "regress":
        if values.ndim != 1:
            values = values.reshape(len(values), -1)
            if values.shape[1] != 1:
                raise DataError(f"The class labels of '{source}' have shape {values.shape}: "
                                "classification needs one label per sample.", path=source,
                                field="y")
            values = values[:, 0]
        values = values.astype(np.int64)
        if values.size == 0:
            return values, [], "classify"
        if values.min() >= 0 and values.max() < max(2 * len(np.unique(values)), 10):
            return values, class_names(int(values.max()) + 1), "classify"
        # Sparse or negative ids: map them onto 0..K-1 and keep the originals as names.
        uniques, indices = np.unique(values, return_inverse=True)
        return indices.astype(np.int64), [str(u) for u in uniques.tolist()], "classify"
    y = values.astype(np.float32)
    check_finite(y, source, "targets")
    if y.ndim == 1:
        y = y[:, None]
    return y.reshape(len(y), -1), None, "regress"


def check_finite(values: np.ndarray, source: str, what: str) -> None:
    """Refuse NaN or infinite numbers in a dataset's ``what`` ("inputs", "targets"), with their
    count and the first sample holding one: training on them gives a NaN loss whose cause
    would look like a learning rate."""
    if values.dtype.kind != "f" or values.size == 0:
        return
    bad = ~np.isfinite(values)
    if not bad.any():
        return
    nan = int(np.isnan(values).sum())
    inf = int(bad.sum()) - nan
    parts = [f"{n:,} {word}{'' if n == 1 else 's'}"
             for n, word in ((nan, "NaN value"), (inf, "infinite value")) if n]
    first = int(np.argmax(bad.reshape(len(values), -1).any(axis=1)))
    raise DataError(f"{source} holds {' and '.join(parts)} in its {what} (the first in sample "
                    f"{first}): netbuilder cannot train on them; fill them in or remove those "
                    "samples.", path=source, field="x" if what == "inputs" else "y")


def images_from_uint8(images: np.ndarray) -> np.ndarray:
    """uint8 pixels (N, H, W) or (N, C, H, W) → float32 in [0, 1] with a channel axis."""
    x = images.astype(np.float32) / 255.0
    return x[:, None] if x.ndim == 3 else x


def coerce_x(x: np.ndarray, source: str, kind: str | None = None) -> tuple[np.ndarray, str]:
    """Convert a loaded array to the dtype/layout convention and guess its kind.

    uint8 arrays are pictures (scaled to [0, 1]); other integers are token sequences; float
    arrays are vectors (2-D), sequences (3-D) or images (4-D, channels-last is transposed).
    """
    x = np.asarray(x)
    if kind is not None and kind not in KINDS:
        raise DataError(f"Option kind for '{source}' must be one of {', '.join(KINDS)}, "
                        f"not {kind!r}.", field="kind")
    if x.dtype.kind not in "biuf":
        raise DataError(f"{source} holds values of type {x.dtype}: inputs must be numbers.",
                        path=source, field="x")
    if x.ndim < 2:
        raise DataError(f"{source} has shape {tuple(x.shape)}: inputs need one row per sample "
                        "(at least 2 dimensions). For a single feature, reshape it to (N, 1).",
                        path=source, field="x")
    if x.dtype == np.uint8 and (kind in (None, "image")) and x.ndim in (3, 4):
        x = x.astype(np.float32) / 255.0
        kind = kind or "image"
    elif x.dtype.kind in "iu" and kind in (None, "sequence") and x.ndim == 2:
        return x.astype(np.int64), "sequence"
    else:
        x = x.astype(np.float32)
    if kind is None:
        kind = {2: "vector", 3: "sequence"}.get(x.ndim, "image")
    if kind == "image":
        if x.ndim == 3:
            x = x[:, None]
        if x.ndim != 4:
            raise DataError(f"{source} has shape {tuple(x.shape)}, which is not a stack of "
                            "images (N, C, H, W).", path=source, field="x")
        if x.shape[-1] in (1, 3, 4) and x.shape[1] not in (1, 3, 4):
            x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))  # channels-last → NCHW
    check_finite(x, source, "inputs")
    return x, kind
