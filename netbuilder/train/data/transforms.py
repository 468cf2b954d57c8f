"""Input normalisation (fitted on the training split) and batch-wise image augmentation."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .core import DataError

NORMALIZE_MODES = ("standard", "minmax", "none")


def _stat_axes(ndim: int) -> tuple[int, ...]:
    """Axes reduced over: all but the channel axis for images (N, C, H, W), all but the
    feature axis for vectors (N, F) and sequences (N, T, F)."""
    if ndim == 4:
        return (0, 2, 3)
    if ndim == 3:
        return (0, 1)
    return (0,)


class Normalizer:
    """``x → (x - shift) / scale`` with per-channel (images) or per-feature statistics."""

    def __init__(self, mode: str = "none", shift: Any = None, scale: Any = None):
        if mode not in NORMALIZE_MODES:
            raise DataError(f"Normalization must be one of {', '.join(NORMALIZE_MODES)}, "
                            f"not {mode!r}.", field="normalize")
        self.mode = mode
        self.shift = None if shift is None else np.asarray(shift, dtype=np.float32)
        self.scale = None if scale is None else np.asarray(scale, dtype=np.float32)
        if mode != "none" and (self.shift is None or self.scale is None):
            raise DataError(f"A '{mode}' normalizer needs its shift and scale statistics: "
                            "create it with Normalizer.fit(train_x).", field="normalize")

    @classmethod
    def fit(cls, train_x: Any, mode: str = "standard") -> Normalizer:
        """Statistics of the training inputs; token ids (integers) are never normalised."""
        if mode not in NORMALIZE_MODES:
            raise DataError(f"Normalization must be one of {', '.join(NORMALIZE_MODES)}, "
                            f"not {mode!r}.", field="normalize")
        if hasattr(train_x, "detach"):
            train_x = train_x.detach().cpu().numpy()
        x = np.asarray(train_x)
        if mode == "none" or x.dtype.kind in "iub" or x.ndim < 2 or len(x) == 0:
            return cls("none")
        axes = _stat_axes(x.ndim)
        keep = [1 if a in axes else x.shape[a] for a in range(x.ndim)][1:]  # broadcast shape
        if x.ndim == 4:
            # One channel at a time keeps the float64 temporaries small (CIFAR is 600 MB).
            chans = [x[:, c] for c in range(x.shape[1])]
            if mode == "standard":
                shift = np.array([c.mean(dtype=np.float64) for c in chans])
                scale = np.array([c.std(dtype=np.float64) for c in chans])
            else:
                shift = np.array([c.min() for c in chans], dtype=np.float64)
                scale = np.array([c.max() for c in chans], dtype=np.float64) - shift
        elif mode == "standard":
            shift = x.mean(axis=axes, dtype=np.float64)
            scale = x.std(axis=axes, dtype=np.float64)
        else:
            shift = x.min(axis=axes).astype(np.float64)
            scale = x.max(axis=axes).astype(np.float64) - shift
        # A constant feature (e.g. the always-black border of digits) must not divide by 0.
        scale = np.where(scale > 1e-8, scale, 1.0)
        return cls(mode, shift.reshape(keep), scale.reshape(keep))

    @property
    def is_identity(self) -> bool:
        return self.mode == "none"

    def _stats_for(self, x: Any) -> tuple[Any, Any]:
        if hasattr(x, "device") and hasattr(x, "dtype") and not isinstance(x, np.ndarray):
            import torch

            dtype = x.dtype if x.is_floating_point() else torch.float32
            return (torch.as_tensor(self.shift, dtype=dtype, device=x.device),
                    torch.as_tensor(self.scale, dtype=dtype, device=x.device))
        return self.shift, self.scale

    def _check(self, x: Any) -> None:
        expected = self.shift.shape  # type: ignore[union-attr]
        got = tuple(x.shape[1:])
        if len(got) != len(expected) or any(e not in (1, g) for e, g in zip(expected, got)):
            raise DataError(f"This normalizer was fitted on samples shaped like {expected} but "
                            f"got samples of shape {got}: fit it again on this dataset.",
                            field="normalize")

    def apply(self, x: Any) -> Any:
        """Normalise a batch (numpy array or torch tensor, on any device)."""
        if self.is_identity or _is_integer(x):
            return x
        self._check(x)
        shift, scale = self._stats_for(x)
        out = (x - shift) / scale
        return out.astype(np.float32, copy=False) if isinstance(out, np.ndarray) else out

    __call__ = apply

    def inverse(self, x: Any) -> Any:
        """Undo ``apply`` (to show normalised images or generated samples)."""
        if self.is_identity or _is_integer(x):
            return x
        self._check(x)
        shift, scale = self._stats_for(x)
        out = x * scale + shift
        return out.astype(np.float32, copy=False) if isinstance(out, np.ndarray) else out

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible description (saved with a run and written into exports)."""
        if self.is_identity:
            return {"mode": "none"}
        return {"mode": self.mode, "shape": list(self.shift.shape),  # type: ignore[union-attr]
                "shift": self.shift.ravel().tolist(),  # type: ignore[union-attr]
                "scale": self.scale.ravel().tolist()}  # type: ignore[union-attr]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Normalizer:
        try:
            mode = data.get("mode", "none")
            if mode == "none":
                return cls("none")
            shape = tuple(int(d) for d in data["shape"])
            return cls(mode, np.reshape(data["shift"], shape), np.reshape(data["scale"], shape))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DataError(f"The saved normalization is damaged ({exc}): expected mode, shape, "
                            "shift and scale.", field="normalize") from None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Normalizer) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"Normalizer(mode={self.mode!r})"


def _is_integer(x: Any) -> bool:
    if isinstance(x, np.ndarray):
        return x.dtype.kind in "iub"
    return hasattr(x, "is_floating_point") and not x.is_floating_point()


class Augment:
    """Random flips, shifts, rotations and noise for a whole image batch (N, C, H, W).

    Everything runs on the batch's device in a few tensor operations: there is no loop over
    samples. With all settings at zero the batch is returned unchanged.
    """

    def __init__(self, flip: bool = False, shift: int = 0, rotate: float = 0.0,
                 noise: float = 0.0, seed: int = 0):
        for name, value in (("shift", shift), ("rotate", rotate), ("noise", noise)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 \
                    or not math.isfinite(value):
                raise DataError(f"Augmentation {name} must be a number ≥ 0, not {value!r}.",
                                field=name)
        if shift != int(shift):
            raise DataError(f"Augmentation shift is a whole number of pixels, not {shift!r}.",
                            field="shift")
        self.flip, self.shift, self.rotate = bool(flip), int(shift), float(rotate)
        self.noise, self.seed = float(noise), int(seed)
        self._generators: dict[str, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        # Generators stay behind: the copy in a worker process starts afresh from the seed.
        return {**self.__dict__, "_generators": {}}

    @property
    def is_identity(self) -> bool:
        return not (self.flip or self.shift or self.rotate or self.noise)

    @property
    def geometric(self) -> bool:
        return bool(self.flip or self.shift or self.rotate)

    def to_dict(self) -> dict[str, Any]:
        return {"flip": self.flip, "shift": self.shift, "rotate": self.rotate,
                "noise": self.noise, "seed": self.seed}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Augment:
        known = {"flip", "shift", "rotate", "noise", "seed"}
        return cls(**{k: v for k, v in data.items() if k in known})

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items())
        return f"Augment({args})"

    def rng_state(self) -> dict[str, Any]:
        """The generators' states by device (a checkpoint keeps them)."""
        return {key: gen.get_state() for key, gen in self._generators.items()}

    def set_rng_state(self, states: dict[str, Any]) -> None:
        for key, value in states.items():
            self._generator(key).set_state(value)

    def _generator(self, device: Any) -> Any:
        import torch

        key = str(device)
        if key not in self._generators:
            gen = torch.Generator(device=device)
            gen.manual_seed(self.seed)
            self._generators[key] = gen
        return self._generators[key]

    def __call__(self, batch: Any, generator: Any = None) -> Any:
        if self.is_identity:
            return batch
        if self.geometric and batch.ndim != 4:
            raise DataError(f"Flip, shift and rotate augment images (N, C, H, W), but this "
                            f"batch has shape {tuple(batch.shape)}: use only noise for it.",
                            field="augment")
        if not batch.is_floating_point():
            raise DataError("Augmentation needs float inputs, not token ids "
                            f"({batch.dtype}).", field="augment")
        gen = generator if generator is not None else self._generator(batch.device)
        # NOTE: the one definition of the random draws, which the exported train.py shares.
        from ..recipe import augment

        return augment(batch, gen, self.flip, self.shift, self.rotate, self.noise)
