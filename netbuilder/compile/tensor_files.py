"""Reading ``.pt`` files of tensors (state dicts, optimizer states) without trusting them.

NOTE: ``torch.load`` runs with ``weights_only=True``: a file holding other Python objects is
refused. Torch's own error then advises ``weights_only=False``, which would run the file's
code; that advice never reaches the user: every failure becomes one sentence of ours.
"""
from __future__ import annotations

import io
import os
from typing import Any


class TensorFileError(ValueError):
    """A ``.pt`` file that cannot be read safely; the message says why, without torch's text."""


def load_tensor_file(source: bytes | str | os.PathLike) -> Any:
    """``torch.load(source, weights_only=True)`` on the CPU; TensorFileError when it fails."""
    import torch

    try:
        stream = io.BytesIO(source) if isinstance(source, bytes) else source
        return torch.load(stream, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise TensorFileError("the file does not exist") from None
    except Exception as exc:  # noqa: BLE001 (any failure: one sentence, never torch's advice)
        raise TensorFileError(explain_load_error(exc)) from None


def explain_load_error(exc: BaseException) -> str:
    """Why ``torch.load(weights_only=True)`` failed, in our words."""
    text = str(exc)
    # By name: this package never imports the pickle module (a test guards that).
    if type(exc).__name__ == "UnpicklingError" or "weights_only" in text \
            or "Unsupported global" in text:
        return ("it holds Python objects besides tensors, which netbuilder does not load "
                "(loading them could run code): save a state dict of tensors instead")
    if isinstance(exc, EOFError) or any(s in text for s in (
            "PytorchStreamReader", "central directory", "zip archive", "truncated",
            "invalid load key", "Ran out of input")):
        return "it is damaged or truncated (not a complete PyTorch file)"
    first = next((line.strip() for line in text.splitlines() if line.strip()), type(exc).__name__)
    return f"it is not a PyTorch file of tensors ({first})"
