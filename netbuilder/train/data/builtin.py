"""Built-in datasets that need no download: scikit-learn's digits and synthetic sets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .core import DataError, DatasetArrays, check_options, class_names

DIGIT_CLASSES = class_names(10)

# name → (kind, description); the downloadable sets are described in downloads.py.
BUILTIN = {
    "digits": ("image", ("8×8 handwritten digits from scikit-learn (1,797 images, 10 "
                         "classes); options size, binarize, flatten")),
    "digits_rows": ("sequence", "the digits read row by row: 8 steps of 8 features, 10 classes"),
    "spirals": ("vector", ("2-D interleaved spiral arms (TensorFlow Playground); options "
                           "n_samples, noise, classes, seed")),
    "moons": ("vector", "2-D two half moons; options n_samples, noise, seed"),
    "circles": ("vector", "2-D circle inside a ring; options n_samples, noise, seed"),
    "sine": ("sequence", ("noisy sine waves: predict the next value from the last `length` "
                          "values (regression); options n_samples, length, noise, seed")),
}


def _digits_raw() -> tuple[np.ndarray, np.ndarray]:
    data = _digits_table()
    x = (data[:, :-1].astype(np.float32) / 16.0).reshape(-1, 1, 8, 8)  # in [0, 1]
    return x, data[:, -1].astype(np.int64)


def _digits_table() -> np.ndarray:
    """The 1,797 × 65 table (64 pixels, then the digit) that scikit-learn ships.

    NOTE: read straight from scikit-learn's data folder: importing sklearn to reach it costs
    seconds (scipy comes with it), most of a short run's start-up."""
    import gzip
    import importlib.util

    spec = importlib.util.find_spec("sklearn")  # finds the package without importing it
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            path = Path(folder) / "datasets" / "data" / "digits.csv.gz"
            if path.is_file():
                with gzip.open(path, "rt", encoding="utf-8") as f:
                    return np.loadtxt(f, delimiter=",")
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return np.concatenate([bunch.data, bunch.target[:, None]], axis=1)


def _size_pair(size: Any, source: str) -> tuple[int, int]:
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        pair = (int(size), int(size))
    elif isinstance(size, (tuple, list)) and len(size) == 2:
        pair = (int(size[0]), int(size[1]))
    else:
        raise DataError(f"Option size for '{source}' must be an int such as 28 or a pair "
                        f"(height, width), not {size!r}.", field="size")
    if min(pair) < 1 or max(pair) > 4096:
        raise DataError(f"Option size for '{source}' must be between 1 and 4096, not {size!r}.",
                        field="size")
    return pair


def resize_images(x: np.ndarray, size: Any, source: str) -> np.ndarray:
    """Resize a whole (N, C, H, W) stack at once with bilinear interpolation."""
    import torch
    import torch.nn.functional as F

    hw = _size_pair(size, source)
    if tuple(x.shape[2:]) == hw:
        return x
    with torch.no_grad():
        out = F.interpolate(torch.from_numpy(np.ascontiguousarray(x)), size=hw,
                            mode="bilinear", align_corners=False, antialias=hw[0] < x.shape[2])
    return out.clamp_(0.0, 1.0).numpy()


def load_digits_images(size: Any = None, binarize: bool = False, flatten: bool = False
                       ) -> DatasetArrays:
    x, y = _digits_raw()
    if size is not None:
        x = resize_images(x, size, "digits")
    if binarize:
        x = (x >= 0.5).astype(np.float32)
    kind = "image"
    if flatten:
        x, kind = x.reshape(len(x), -1), "vector"
    return DatasetArrays("digits", np.ascontiguousarray(x), y, kind, list(DIGIT_CLASSES),
                         "classify")


def load_digits_rows() -> DatasetArrays:
    x, y = _digits_raw()
    return DatasetArrays("digits_rows", np.ascontiguousarray(x[:, 0]), y, "sequence",
                         list(DIGIT_CLASSES), "classify")


def _rng(seed: Any) -> np.random.Generator:
    return np.random.default_rng(_check_seed(seed))


def _check_seed(seed: Any) -> int | None:
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                             or seed < 0):
        raise DataError(f"Option seed must be a whole number ≥ 0, not {seed!r}.", field="seed")
    return None if seed is None else int(seed)


def _check_number(value: Any, name: str, source: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise DataError(f"Option {name} for '{source}' must be a number, not {value!r}.",
                        field=name)
    return float(value)


def _check_count(n_samples: Any, source: str) -> int:
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) \
            or n_samples < 2:
        raise DataError(f"Option n_samples for '{source}' must be a whole number of at least 2, "
                        f"not {n_samples!r}.", field="n_samples")
    return int(n_samples)


def _check_noise(noise: Any, source: str) -> float:
    if not isinstance(noise, (int, float)) or isinstance(noise, bool) or noise < 0:
        raise DataError(f"Option noise for '{source}' must be a number ≥ 0, not {noise!r}.",
                        field="noise")
    return float(noise)


def make_spirals(n_samples: int = 1000, noise: float = 0.05, classes: int = 2, seed: int = 0,
                 turns: float = 1.5) -> DatasetArrays:
    """Interleaved spiral arms, one per class, radius growing from 0 to 1 along each arm."""
    n = _check_count(n_samples, "spirals")
    noise = _check_noise(noise, "spirals")
    if isinstance(classes, bool) or not isinstance(classes, (int, np.integer)) \
            or not 2 <= classes <= 10:
        raise DataError(f"Option classes for 'spirals' must be 2 to 10, not {classes!r}.",
                        field="classes")
    turns = _check_number(turns, "turns", "spirals")
    rng = _rng(seed)
    y = np.arange(n, dtype=np.int64) % classes
    t = rng.uniform(0.0, 1.0, n)
    r = 0.05 + 0.95 * t
    angle = 2 * np.pi * (turns * t + y / classes)
    x = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)
    x += rng.normal(0.0, noise, x.shape)
    return DatasetArrays("spirals", x.astype(np.float32), y, "vector", class_names(classes),
                         "classify")


def make_moons(n_samples: int = 1000, noise: float = 0.1, seed: int = 0) -> DatasetArrays:
    from sklearn.datasets import make_moons as sk_moons

    x, y = sk_moons(n_samples=_check_count(n_samples, "moons"),
                    noise=_check_noise(noise, "moons"), random_state=_check_seed(seed))
    return DatasetArrays("moons", x.astype(np.float32), y.astype(np.int64), "vector",
                         class_names(2), "classify")


def make_circles(n_samples: int = 1000, noise: float = 0.05, seed: int = 0,
                 factor: float = 0.5) -> DatasetArrays:
    from sklearn.datasets import make_circles as sk_circles

    x, y = sk_circles(n_samples=_check_count(n_samples, "circles"),
                      noise=_check_noise(noise, "circles"),
                      factor=_check_number(factor, "factor", "circles"),
                      random_state=_check_seed(seed))
    return DatasetArrays("circles", x.astype(np.float32), y.astype(np.int64), "vector",
                         class_names(2), "classify")


def make_sine(n_samples: int = 1000, length: int = 20, noise: float = 0.05, seed: int = 0
              ) -> DatasetArrays:
    """Windows of sine waves with random phase, amplitude and frequency.

    The inputs carry Gaussian noise; the target is the clean next value, so the best
    possible mean squared error is 0 whatever the noise.
    """
    n = _check_count(n_samples, "sine")
    noise = _check_noise(noise, "sine")
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 2:
        raise DataError(f"Option length for 'sine' must be a whole number ≥ 2, not {length!r}.",
                        field="length")
    rng = _rng(seed)
    step = 2 * np.pi / 16 * rng.uniform(0.7, 1.3, (n, 1))  # radians per time step
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    amplitude = rng.uniform(0.5, 1.0, (n, 1))
    t = np.arange(length + 1)[None, :]
    wave = amplitude * np.sin(step * t + phase)
    x = wave[:, :length] + rng.normal(0.0, noise, (n, length))
    return DatasetArrays("sine", x[:, :, None].astype(np.float32),
                         wave[:, length:].astype(np.float32), "sequence", None, "regress",
                         meta={"length": int(length)})


LOADERS = {
    "digits": (load_digits_images, {"size", "binarize", "flatten"}),
    "digits_rows": (load_digits_rows, set()),
    "spirals": (make_spirals, {"n_samples", "noise", "classes", "seed", "turns"}),
    "moons": (make_moons, {"n_samples", "noise", "seed"}),
    "circles": (make_circles, {"n_samples", "noise", "seed", "factor"}),
    "sine": (make_sine, {"n_samples", "length", "noise", "seed"}),
}


def load_builtin(name: str, **options: Any) -> DatasetArrays:
    loader, allowed = LOADERS[name]
    check_options(name, options, allowed)
    return loader(**options)
