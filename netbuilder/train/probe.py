"""Looking inside the model while it trains: activations of chosen nodes and weight histograms.

Node names map to the module's attributes through code generation's own naming, so a probe
follows the node the user clicked. Hooks exist only during the probe's own forward pass (one
fixed sample, ``eval`` mode, no grad): training steps never pay for them.
"""
from __future__ import annotations

from collections.abc import Callable

import torch

from ..compile import node_attributes
from .events import Activations, Histograms
from .metrics import activation_levels, activation_tile, histogram, to_uint8_images


def auto_probe_names(graph) -> list[str]:
    """The nodes probed by default: the top level's convolutions and dense layers (their spec's
    ``probe`` is "auto") and blocks (an Encoder, a Generator: what a graph of blocks computes)."""
    return [n.name for n in graph.nodes() if n.spec.probe == "auto" or n.inner is not None]


def node_modules(graph, module: torch.nn.Module) -> dict[str, tuple[str, str, torch.nn.Module]]:
    """Top-level node name → (type, attribute, sub-module) for nodes that own a module."""
    out = {}
    for nid, attr in node_attributes(graph).items():
        sub = getattr(module, attr, None)
        if isinstance(sub, torch.nn.Module):
            node = graph.node(nid)
            out[node.name] = (node.type, attr, sub)
    return out


class Prober:
    """Makes the ``Activations`` and ``Histograms`` events of a run from its live module."""

    def __init__(self, graph, module: torch.nn.Module, probe, log: Callable[[str], None]):
        self.graph = graph
        self.module = module
        self.log = log
        self.nodes = node_modules(graph, module)
        self.levels: dict[str, tuple[float, float]] = {}
        self.names: list[str] = []
        self.set_probe(probe)
        self.weight_layers = {
            n.name: self.nodes[n.name][2] for n in graph.nodes()
            if n.name in self.nodes and n.spec.weight_layer}

    def set_probe(self, probe) -> None:
        """``"auto"`` (see ``auto_probe_names``), ``"none"``, or a list of node names."""
        if probe == "auto":
            self.names = [n for n in auto_probe_names(self.graph) if n in self.nodes]
        elif probe in ("none", None):
            self.names = []
        else:
            unknown = [n for n in probe if n not in self.nodes]
            if unknown:
                self.log(f"Cannot show the activations of {', '.join(map(repr, unknown))}: only "
                         f"nodes with a layer module can be probed")
            self.names = [n for n in probe if n in self.nodes]

    @torch.no_grad()
    def activations(self, step: int, batch: dict, data_info, label: str | None
                    ) -> Activations | None:
        if not self.names:
            return None
        captured: dict[str, torch.Tensor] = {}
        hooks = []
        for name in self.names:
            sub = self.nodes[name][2]

            def hook(_m, _inp, out, name=name):
                if isinstance(out, (tuple, list)):
                    out = out[0]
                if torch.is_tensor(out):
                    captured[name] = out[0].detach()

            hooks.append(sub.register_forward_hook(hook))
        was_training = self.module.training
        self.module.eval()
        try:
            # one sample into every Input (both sides of a siamese pair see the same one)
            self.module(*[batch["x"][:1]] * max(1, len(self.graph.inputs())))
        finally:
            for h in hooks:
                h.remove()
            self.module.train(was_training)
        tiles, shapes = {}, {}
        for name, a in captured.items():
            lv = self.levels.get(name)
            new = activation_levels(a)
            # NOTE: levels stay fixed so brightness means something; they only widen when the
            # activations outgrow them by 2× (otherwise the picture would saturate).
            if lv is None or max(abs(new[0]), abs(new[1])) > 2 * max(abs(lv[0]), abs(lv[1])):
                lv = new
                self.levels[name] = lv
            tiles[name] = activation_tile(a, lv)
            shapes[name] = tuple(a.shape)
        image = to_uint8_images(batch["x"][:1], data_info.normalizer, data_info.image_shape)
        return Activations(step=step, tiles=tiles, levels=dict(self.levels), shapes=shapes,
                           input=None if image is None else image[0], label=label)

    @torch.no_grad()
    def histograms(self, step: int, epoch: int) -> Histograms:
        weights, grads = {}, {}
        for name, sub in self.weight_layers.items():
            ws = [p for n, p in sub.named_parameters() if n.split(".")[-1].startswith("weight")]
            if not ws:
                continue
            weights[name] = histogram(torch.cat([w.detach().flatten() for w in ws]))
            gs = [w.grad.flatten() for w in ws if w.grad is not None]
            if gs:
                grads[name] = histogram(torch.cat(gs))
        return Histograms(step=step, epoch=epoch, weights=weights, grads=grads)
