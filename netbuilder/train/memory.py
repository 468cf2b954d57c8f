"""How much memory training a model needs, and how much this machine has (no torch, no psutil).

The estimate counts what every step keeps whatever the batch: the weights, their gradients and
the optimizer's per-parameter state, in fp32. Activations come on top (they scale with the
batch; the analysis estimates them separately).
"""
from __future__ import annotations

import os

from .config import stored_setting

BYTES_PER_VALUE = 4  # fp32: weights, gradients and optimizer states are kept in full precision
# Per-parameter tensors each optimizer keeps (momentum buffers, running averages, histories).
OPTIMIZER_STATES = {"sgd": 1, "rmsprop": 2, "adagrad": 1, "adadelta": 2, "adam": 2, "adamw": 2,
                    "lbfgs": 2}
_GIB = 1024 ** 3


def available_memory() -> int | None:
    """Bytes of RAM available to a new process now (MemAvailable), or None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def decompression_limit() -> int:
    """The most bytes a compressed data file may expand to: what memory can hold (8 GiB when
    that is unknown). A file that claims more is refused before it is decompressed."""
    return available_memory() or 8 * _GIB


def training_bytes(parameters: int, optimizer: str = "adam") -> int:
    """Weights + gradients + optimizer state of ``parameters`` values."""
    per_value = 2 + OPTIMIZER_STATES.get(optimizer, 2)
    return int(parameters) * BYTES_PER_VALUE * per_value


def size_text(n: int) -> str:
    """``149.0 GiB``, ``2.5 KiB``, ``900 bytes`` (powers of 1024, as memory is counted)."""
    for unit, size in (("GiB", _GIB), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def memory_warning(parameters: int, optimizer: str = "adam", device: str = "cpu",
                   available: int | None = None) -> str | None:
    """A sentence when the model's training state cannot fit in the memory of ``device``
    ("cpu" or "cuda"), else None. ``available`` overrides the measured free memory."""
    if available is None:
        available = cuda_free_memory() if device.startswith("cuda") else available_memory()
    if available is None:
        return None
    need = training_bytes(parameters, optimizer)
    if need <= available:
        return None
    where = "the GPU has" if device.startswith("cuda") else "this machine has"
    return (f"the model's {parameters:,} parameters need about {size_text(need)} for weights, "
            f"gradients and {optimizer} state, but {where} {size_text(available)} of memory "
            f"available: training will run out of memory (use a smaller model)")


def cuda_free_memory() -> int | None:
    """Free bytes on the current CUDA device, or None without one (torch imported here only)."""
    try:
        import torch

        if not torch.cuda.is_available():
            return None
        free, _total = torch.cuda.mem_get_info()
        return int(free)
    except Exception:  # noqa: BLE001 (a driver fault: no estimate rather than no check)
        return None


def settings_memory_warning(parameters: int, training: dict | None) -> str | None:
    """``memory_warning`` for a graph's saved training settings (its optimizer and device)."""
    optimizer = str(stored_setting(training, "optimizer"))
    device = str(stored_setting(training, "device"))
    if device == "auto" and cuda_free_memory() is not None:
        device = "cuda"
    return memory_warning(parameters, optimizer, device)
