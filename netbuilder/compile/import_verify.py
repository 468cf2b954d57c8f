"""The import's last step: the graph, holding the original's weights, must compute the
original's outputs.

The recording run that built the graph gave the original's outputs at the full input size.
The graph's output shapes at that size must be theirs (shape analysis, no arithmetic); the
values are then compared at a smaller image size where the model takes one (a ResNet-50 at
64×64 costs a twelfth of 224×224), running the original and the graph there. Where that shows
nothing (the model needs its size, the graph fixed one), the graph runs at the full size and
must give the recorded outputs.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from ..errors import ModelImportError
from ..graph import Graph

SMALL = 64  # image sides above this are cut to it for the comparison
TOLERANCE = 1e-4  # relative to 1 + the largest output value


def small_inputs(args: tuple) -> tuple | None:
    """``args`` with each image's sides (the sizes after batch and channels) cut to ``SMALL``;
    None when no input is larger."""
    out, cut = [], False
    for a in args:
        if isinstance(a, torch.Tensor) and a.is_floating_point() and a.dim() >= 3 and \
                any(d > SMALL for d in a.shape[2:]):
            a = a[(slice(None), slice(None), *[slice(0, SMALL)] * (a.dim() - 2))].contiguous()
            cut = True
        out.append(a)
    return tuple(out) if cut else None


def verify(module: nn.Module, graph: Graph, built: nn.Module, args: tuple, label: str,
           output: Any) -> None:
    """``built`` (``graph``'s module, holding ``module``'s weights) must compute what
    ``module`` computes: ``output`` is the original's on ``args`` (the recording run's,
    seeded as these runs are). Raises ``ModelImportError`` when it does not."""
    small = small_inputs(args)
    if small is not None and _same_shapes(graph, output):
        try:
            want = _run(module, small)
            got = _run(built, _tensors(small))
            if worst_difference(want, got) <= TOLERANCE:
                return
        except Exception:  # noqa: BLE001 (the model needs its own size: checked there)
            pass
    worst = worst_difference(as_list(output), _run(built, _tensors(args)))
    if worst > TOLERANCE:
        raise ModelImportError(f"The imported graph of {label} computes different outputs from "
                               f"the original (relative difference {worst:.3g}): this is a "
                               f"netbuilder bug, please report it with the model")


def _tensors(args: tuple) -> tuple:
    """The graph's inputs: the tensors and tuples of them (a recurrent state); arguments
    traced as constants are not inputs."""
    return tuple(a for a in args if isinstance(a, (torch.Tensor, tuple)))


def _run(module: nn.Module, args: tuple) -> list:
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # the same noise for both (a generator's latent input)
        return as_list(module(*args))


def _same_shapes(graph: Graph, output: Any) -> bool:
    """Whether the graph's outputs, analysed at the full size, have ``output``'s shapes."""
    want = as_list(output)
    outs = graph.outputs()
    if len(want) != len(outs) or not all(isinstance(w, torch.Tensor) for w in want):
        return False
    analysis = graph.analyze()
    for nid, w in zip(outs, want):
        info = analysis.nodes.get(nid)
        shape = info.in_shapes[0] if info is not None and info.in_shapes else None
        if shape is None or tuple(shape) != tuple(w.shape[1:]):
            return False
    return True


def worst_difference(want: list, got: list) -> float:
    """The largest difference between outputs, relative to 1 + the largest value (infinite
    when their numbers or shapes differ)."""
    worst = 0.0 if len(want) == len(got) else math.inf
    for a, b in zip(want, got):
        if a.shape != b.shape:
            worst = math.inf
        elif a.numel():
            scale = 1.0 + float(a.abs().max())
            worst = max(worst, float((a.float() - b.float()).abs().max()) / scale)
    return worst


def built_with(graph: Graph, state: dict) -> nn.Module:
    """The graph's module holding ``state``, in eval mode. Built on the meta device and handed
    the tensors themselves (nothing initialised, nothing copied: a ResNet-50's 25M weights)
    when they are all it holds; else (a Module node's own code, a buffer outside the state
    dict) built and loaded as usual."""
    with torch.device("meta"):
        built = graph.build()
    plain = all(type(m).__module__ == "netbuilder_generated" or
                type(m).__module__.startswith("torch.nn.") for m in built.modules())
    if plain:
        try:
            built.load_state_dict(state, assign=True)
        except RuntimeError:  # missing or unexpected keys: the plain load below says which
            plain = False
    if not plain or any(t.is_meta for t in (*built.parameters(), *built.buffers())):
        built = graph.build()
        built.load_state_dict(state)
    return built.eval()


def as_list(out) -> list:
    """The tensors of a result, nested tuples (an LSTM's (h_n, c_n)) flattened."""
    if isinstance(out, torch.Tensor):
        return [out]
    return [t for o in out for t in as_list(o)]


__all__ = ["SMALL", "small_inputs", "verify", "built_with", "as_list", "worst_difference"]
