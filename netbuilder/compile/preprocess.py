"""What a trained model needs besides its weights, as code: a run's preprocessing.

Every run writes ``preprocessing.json`` (see ``netbuilder.train.checkpoint``): the shape of a raw
sample, the resize and flattening that fitted the data to the Input, the normalisation statistics
of the training split, the class names and whether its pictures are light on dark
(``background``). ``preprocess_source`` turns it into a ``Preprocess``
module (statistics as the buffers ``mean`` and ``std``), a ``Pipeline`` wrapper, a
``preprocess()`` function and ``CLASS_NAMES``: source appended to the exported ``model.py``.
ONNX, TorchScript and ``.pt2`` exports run the same source (``with_preprocessing``), so every
exported artefact takes raw inputs and scores as the app does.

NOTE: numbers and names reach the source only through ``repr`` (the file is data from a run
folder, which may come from a stranger).
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from ..errors import CompileError

PREPROCESSING = "preprocessing.json"
FORMAT = 1


def read_preprocessing(folder: str | os.PathLike) -> dict | None:
    """The checked preprocessing record of a run folder; None when the run has none."""
    path = Path(folder) / PREPROCESSING
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CompileError(f"{path}: cannot read the preprocessing record ({exc})") from None
    return check_preprocessing(data, str(path))


def check_preprocessing(data: Any, where: str = PREPROCESSING) -> dict:
    """``data`` with every field checked; CompileError naming the bad field otherwise."""
    def bad(field: str, want: str) -> CompileError:
        return CompileError(f"{where}: '{field}' must be {want}")

    if not isinstance(data, dict):
        raise CompileError(f"{where}: expected a JSON object")
    out: dict = {}
    for key in ("raw_shape", "input_shape"):
        shape = data.get(key)
        if not isinstance(shape, list) or not shape or not all(
                isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape):
            raise bad(key, "a list of positive whole numbers")
        out[key] = [int(d) for d in shape]
    resize = data.get("resize")
    if resize is not None and not (isinstance(resize, list) and len(resize) == 2 and all(
            isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in resize)):
        raise bad("resize", "null or [height, width]")
    out["resize"] = resize
    if not isinstance(data.get("flatten", False), bool):
        raise bad("flatten", "true or false")
    out["flatten"] = bool(data.get("flatten", False))
    norm = data.get("normalization") or {"mode": "none"}
    if not isinstance(norm, dict) or norm.get("mode") not in ("none", "standard", "minmax"):
        raise bad("normalization", "an object whose mode is none, standard or minmax")
    if norm["mode"] != "none":
        shape = norm.get("shape")
        if not isinstance(shape, list) or not all(isinstance(d, int) and d > 0 for d in shape):
            raise bad("normalization.shape", "a list of positive whole numbers")
        size = math.prod(shape)
        for key in ("shift", "scale"):
            values = norm.get(key)
            if not isinstance(values, list) or len(values) != size or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                    for v in values):
                raise bad(f"normalization.{key}", f"a list of {size} finite numbers")
        if any(v == 0 for v in norm["scale"]):
            raise bad("normalization.scale", "non-zero numbers")
    out["normalization"] = norm
    names = data.get("class_names")
    if names is not None and not (isinstance(names, list)
                                  and all(isinstance(n, str) for n in names)):
        raise bad("class_names", "null or a list of texts")
    out["class_names"] = names
    for key in ("task", "dataset"):
        out[key] = str(data.get(key, ""))
    if data.get("background") not in (None, "dark", "light"):
        raise bad("background", 'null, "dark" or "light"')
    out["background"] = data.get("background")
    return out


def _tensor(values: list, shape: list) -> str:
    numbers = ", ".join(repr(float(v)) for v in values)
    return f"torch.tensor([{numbers}]).reshape({', '.join(str(int(d)) for d in shape)})"


def _steps(spec: dict) -> list[str]:
    steps = []
    if spec["resize"]:
        steps.append(f"bilinear resize to {spec['resize'][0]}×{spec['resize'][1]}")
    if spec["flatten"]:
        steps.append("flatten")
    mode = spec["normalization"]["mode"]
    if mode != "none":
        steps.append(f"{mode} normalisation with the training split's statistics")
    return steps


def describe(spec: dict) -> str:
    """One line: what ``Preprocess`` does (for messages and READMEs)."""
    return ", ".join(_steps(spec)) or "nothing (the model takes raw inputs as they are)"


def preprocess_source(spec: dict, more: tuple[str, ...] = ()) -> str:
    """``CLASS_NAMES``, ``Preprocess``, ``Pipeline`` and ``preprocess()`` as Python source (it
    needs only ``torch`` and ``nn`` from the model file's imports). ``more``: the model's
    further ``forward`` parameters (a generator's noise), passed through by ``Pipeline``."""
    if not all(name.isidentifier() for name in more):
        raise CompileError(f"not Python identifiers: {more!r}")
    params = "".join(f", {name}" for name in more)
    raw = ", ".join(str(d) for d in spec["raw_shape"])
    norm = spec["normalization"]
    body = []
    if spec["resize"]:
        h, w = spec["resize"]
        antialias = h < spec["raw_shape"][-2]  # training resizes with antialiasing only down
        body.append(f"        x = torch.nn.functional.interpolate(x, size=({h}, {w}), "
                    f"mode=\"bilinear\", align_corners=False, antialias={antialias})")
        body.append("        x = x.clamp(0.0, 1.0)")
    if spec["flatten"]:
        body.append("        x = x.flatten(1)")
    body.append("        return (x - self.mean) / self.std")
    if norm["mode"] == "none":
        mean, std = "torch.zeros(())", "torch.ones(())"
    else:
        mean, std = _tensor(norm["shift"], norm["shape"]), _tensor(norm["scale"], norm["shape"])
    what = ("minimum and range" if norm["mode"] == "minmax" else "mean and standard deviation")
    lines = [
        "# --- What the model needs besides its weights (from the run it was trained in) ----",
        "",
        f"CLASS_NAMES = {spec['class_names']!r}",
        "",
        "",
        "class Preprocess(nn.Module):",
        f'    """Raw samples (N, {raw}) as the dataset gives them → model inputs.',
        "",
        f'    Steps: {describe(spec)}.',
        '    """',
        "",
        "    def __init__(self):",
        "        super().__init__()",
        f"        # The training split's {what} per channel (images) or feature:",
        "        # buffers, saved and moved with the module, never trained.",
        f"        self.register_buffer(\"mean\", {mean})",
        f"        self.register_buffer(\"std\", {std})",
        "",
        "    def forward(self, x):",
        *body,
        "",
        "",
        "class Pipeline(nn.Module):",
        '    """``Preprocess`` then the model: give it raw samples, as the app does."""',
        "",
        "    def __init__(self, model):",
        "        super().__init__()",
        "        self.preprocess = Preprocess()",
        "        self.model = model",
        "",
        f"    def forward(self, x{params}):",
        f"        return self.model(self.preprocess(x){params})",
        "",
        "",
        "def preprocess(x):",
        f'    """Raw samples (N, {raw}) → what the model takes (see ``Preprocess``)."""',
        "    return Preprocess().to(x.device)(x)",
        "",
    ]
    return "\n".join(lines)


def _namespace(spec: dict, more: tuple[str, ...] = ()) -> dict:
    """The names ``preprocess_source`` defines, executed: the code that ships is what runs."""
    import torch
    from torch import nn

    namespace: dict = {"torch": torch, "nn": nn, "__name__": "netbuilder_preprocess"}
    exec(compile(preprocess_source(spec, more), "<preprocessing>", "exec"), namespace)  # noqa: S102
    return namespace


def with_preprocessing(model, spec: dict, more: tuple[str, ...] = ()):
    """``Pipeline(model)`` built from ``preprocess_source`` (exports wrap the model in it)."""
    return _namespace(spec, more)["Pipeline"](model).eval()


def preprocess_module(spec: dict):
    """The ``Preprocess`` module of ``preprocess_source``: raw samples → model inputs. The
    editor's Try it, ``netbuilder predict`` and ``evaluate`` run it, as exports do."""
    return _namespace(spec)["Preprocess"]().eval()


def add_to_source(source: str, spec: dict, more: tuple[str, ...] = ()) -> str:
    """The model file's source with the preprocessing placed before its demo block."""
    marker = '\nif __name__ == "__main__":'
    block = preprocess_source(spec, more)
    head, sep, tail = source.partition(marker)
    if not sep:
        return source.rstrip("\n") + "\n\n\n" + block
    return head.rstrip("\n") + "\n\n\n" + block + "\n" + sep + tail


__all__ = ["PREPROCESSING", "add_to_source", "check_preprocessing", "describe",
           "preprocess_module", "preprocess_source", "read_preprocessing", "with_preprocessing"]
