"""A run's model seen from outside: raw inputs in, nodes by name, validation samples."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from ..predictor import Predictor


class OnRawInput(torch.nn.Module):
    """``model(normalise(x))``, first output only: gradients and ε live in the input's units."""

    def __init__(self, model: torch.nn.Module, normalizer=None) -> None:
        super().__init__()
        self.model = model
        self.normalizer = normalizer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.normalizer is not None:
            x = self.normalizer.apply(x)
        out = self.model(x)
        return out[0] if isinstance(out, (tuple, list)) else out


class RunModel:
    """The trained model of a run folder, for the explain/embed/attack/dream/style functions."""

    def __init__(self, run_dir: str | Path, weights: str = "weights.safetensors") -> None:
        self.predictor = Predictor(run_dir, weights)
        self.net = OnRawInput(self.predictor.module(), self.predictor.normalizer).eval()
        for p in self.net.parameters():
            p.requires_grad_(False)  # only inputs are optimised here

    @property
    def graph(self):
        return self.predictor.graph

    @property
    def classes(self) -> list[str] | None:
        return self.predictor.classes

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.predictor.input_shape

    @property
    def x_range(self) -> tuple[float, float]:
        """The range of the training inputs (pictures are kept inside it)."""
        return 0.0, float(self.predictor.data_meta()["x_max"])

    def node(self, name: str) -> torch.nn.Module:
        return self.predictor.node_module(name)

    def layer_nodes(self) -> list[tuple[str, tuple[int, ...], bool]]:
        """(name, output shape, has weights) of the nodes with a layer module, in the order
        the model runs them: the nodes whose outputs can be looked at."""
        from ...compile.codegen import used_nodes
        from ..probe import node_modules

        owners = node_modules(self.graph, self.predictor.module())
        nodes = self.graph.analyze().nodes
        out = []
        for nid in used_nodes(self.graph):
            name, info = self.graph.node(nid).name, nodes.get(nid)
            if name in owners and info is not None and info.shape is not None:
                out.append((name, tuple(info.shape), info.params > 0))
        return out

    def spatial_nodes(self) -> list[tuple[str, bool]]:
        """(name, has weights) of the layer nodes with (C, H, W) feature maps: the nodes
        Grad-CAM can look at."""
        return [(name, weighted) for name, shape, weighted in self.layer_nodes()
                if len(shape) == 3]

    def validation(self, limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The validation samples (raw, shaped like the Input) and their targets."""
        x, y = self.predictor.validation_set()
        if limit is not None:
            x, y = x[:limit], None if y is None else y[:limit]
        return torch.from_numpy(np.ascontiguousarray(x)), \
            None if y is None else torch.from_numpy(np.asarray(y))

    def picture(self, path: str | Path) -> torch.Tensor:
        """An image file as one input (1, *Input shape), scaled like the training pictures."""
        from ..predict_inputs import read_picture

        raw = self.predictor.image_input(read_picture(path))[None]
        return torch.from_numpy(self.predictor.model_input(raw, normalized=False))

    def image_shape(self) -> tuple[int, int, int] | None:
        """(C, H, W) of the Input when it is a picture (a flat square counts), else None."""
        shape = self.input_shape
        if len(shape) == 3:
            return shape
        side = round(float(np.sqrt(shape[0]))) if len(shape) == 1 else 0
        return (1, side, side) if side > 1 and side * side == shape[0] else None


@contextlib.contextmanager
def capture(modules: Sequence[torch.nn.Module]) -> Iterator[list]:
    """Record the outputs of ``modules`` during forward passes: ``found[i]`` is the latest
    output of ``modules[i]`` (its first element when it returns several)."""
    found: list = [None] * len(modules)
    handles = []
    for i, m in enumerate(modules):
        def hook(_m, _inp, out, i=i):
            found[i] = out[0] if isinstance(out, (tuple, list)) else out
        handles.append(m.register_forward_hook(hook))
    try:
        yield found
    finally:
        for h in handles:
            h.remove()
