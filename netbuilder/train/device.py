"""Choosing the device and the speed settings (precision, channels_last) for a run."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .config import ConfigError, TrainingConfig


@dataclass
class DevicePlan:
    device: torch.device
    autocast_dtype: torch.dtype | None  # None: full fp32, no autocast
    use_scaler: bool  # fp16 needs a GradScaler
    channels_last: bool
    precision: str  # what actually runs: "fp32" | "bf16" | "fp16"
    notes: list  # sentences for Log events (why a setting was not applied)


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_device(name: str = "auto", local_rank: int | None = None) -> torch.device:
    """``auto`` → CUDA, then MPS, then CPU. An explicit device that is missing is an error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank or 0)
        if mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError("device is set to cuda but no CUDA GPU is available here: choose "
                              "auto or cpu", field="device")
        dev = torch.device(name)
        if dev.index is None:
            dev = torch.device("cuda", local_rank or 0)
        if dev.index >= torch.cuda.device_count():
            raise ConfigError(f"device {name} does not exist: this machine has "
                              f"{torch.cuda.device_count()} GPU(s)", field="device")
        return dev
    if name == "mps":
        if not mps_available():
            raise ConfigError("device is set to mps but Apple's Metal backend is not available: "
                              "choose auto or cpu", field="device")
        return torch.device("mps")
    return torch.device("cpu")


def bf16_supported(device: torch.device) -> bool:
    return device.type == "cuda" and torch.cuda.is_bf16_supported()


def convolutional(graph) -> bool:
    """Whether the network convolves images (a spec with 2-D ``conv_dims``), inside blocks too:
    the case where the channels_last memory format pays."""
    return any(n.spec.conv_dims == 2 or (n.inner is not None and convolutional(n.inner))
               for n in graph.nodes())


def plan(config: TrainingConfig, device: torch.device, is_conv_net: bool) -> DevicePlan:
    """Precision and memory format for ``device``. Autocast runs only on CUDA."""
    notes: list[str] = []
    want = config.precision
    dtype, scaler, precision = None, False, "fp32"
    if device.type == "cuda":
        if want == "auto":
            want = "bf16" if bf16_supported(device) else "fp32"
        if want == "bf16":
            if bf16_supported(device):
                dtype, precision = torch.bfloat16, "bf16"
            else:
                notes.append("this GPU has no bf16 support: training in fp32 (choose fp16 for "
                             "mixed precision)")
        elif want == "fp16":
            dtype, scaler, precision = torch.float16, True, "fp16"
    elif want in ("bf16", "fp16"):
        notes.append(f"{want} autocast runs only on CUDA GPUs: training in fp32 on "
                     f"{device.type}")
    if precision != "fp32" and config.optimizer == "lbfgs":
        notes.append("L-BFGS runs in fp32 (its line search needs exact losses)")
        dtype, scaler, precision = None, False, "fp32"
    cl = config.channels_last
    channels_last = (device.type == "cuda" and is_conv_net) if cl == "auto" else bool(cl)
    return DevicePlan(device, dtype, scaler, channels_last, precision, notes)


def describe(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)


def rng_state(device: torch.device, augment=None) -> dict:
    """Every random generator a run draws from (torch's, CUDA's, NumPy's, the augmentation's),
    as tensors and numbers: a resume restores it and continues exactly."""
    import numpy as np

    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {"torch": torch.get_rng_state(),
             "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                       "has_gauss": int(has_gauss), "gauss": float(gauss)}}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    if augment is not None:
        state["augment"] = augment.rng_state()
    return state


def set_rng_state(state: dict, device: torch.device, augment=None) -> None:
    """Restore what ``rng_state`` saved (parts a resumed run cannot use are skipped)."""
    import numpy as np

    if "torch" in state:
        torch.set_rng_state(state["torch"])
    n = state.get("numpy")
    if n:
        np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"],
                             n["has_gauss"], n["gauss"]))
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)
    if augment is not None and state.get("augment"):
        augment.set_rng_state(state["augment"])
