"""Variational autoencoder: reconstruction loss (BCE or MSE, summed over each sample's values)
plus β·KL read from the graph's Reparameterize node(s); samples from the prior N(0, I) decoded by
the Decoder block show what the model has learned to generate.

Metrics: ``loss`` = recon + β·kl, ``recon``, ``kl`` and ``elbo`` = -(recon + kl), all per sample.
NOTE: validation draws z like training does (Reparameterize kept in sampling mode), so the
validation ELBO is a true one-sample estimate, not the deterministic z = mu reconstruction.
"""
from __future__ import annotations

import contextlib
import math
from typing import ClassVar

import numpy as np
import torch

from ...compile import analyze
from ...layers import all_specs
from ..events import Samples
from ..project.tasks import ScriptSpec
from ..recipe import latent_kl, vae_reconstruction
from . import register_task
from ._generative import (
    Submodules,
    check_n_samples,
    nodes_where,
    output_range,
    role_blocks,
    seeded,
)
from ._shapes import check_size, one_output
from .base import Task, TrainingError

RECONSTRUCTION_LOSSES = ("bce", "bce_logits", "mse")


@register_task
class VaeTask(Task):
    name = "vae"
    graph_needs: ClassVar[frozenset[str]] = frozenset({"reconstruction", "latent"})
    script = ScriptSpec(labelled=False, target="x", objective="elbo", scores="elbo",
                        train_names=("loss", "recon", "kl", "elbo"))
    option_defaults: ClassVar[dict] = {"beta": 1.0, "n_samples": 64}
    default_loss = "bce"
    monitor = "val_loss"
    sample_kind = "generated"
    prediction = "samples"
    needs_labels = False
    supports_lbfgs = False
    metric_labels: ClassVar[dict] = {
        "loss": ("Loss (reconstruction + β·KL)", "what the optimizer minimises, per sample"),
        "recon": ("Reconstruction", "how far the decoded sample is from its input, summed over "
                                    "its values (lower: sharper reconstructions)"),
        "kl": ("KL divergence", "how far the encoder's distribution of z is from the prior "
                                "N(0, I) (lower: the latent space is easier to sample)"),
        "elbo": ("ELBO", "the evidence lower bound, -(reconstruction + KL); higher is better"),
    }
    metric_groups: ClassVar[tuple] = (("Reconstruction and KL", ("recon", "kl")),)
    view_notes: ClassVar[dict] = {
        "confusion": "No confusion matrix: a VAE learns to reconstruct and generate, not to "
                     "classify (Samples shows reconstructions and samples of the prior)."}

    def __init__(self, config, graph):
        super().__init__(config, graph)
        self._submodule = Submodules(graph)
        self._reparams: list | None = None
        self._prior_z: torch.Tensor | None = None
        self._calls = 0

    @classmethod
    def validate_options(cls, options: dict) -> dict:
        opts = super().validate_options(options)
        beta = opts["beta"]
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not \
                0 <= beta <= 1000 or not math.isfinite(beta):
            raise TrainingError(f"beta (the weight of the KL term) must be a number from 0 to "
                                f"1000, not {beta!r}", field="task_options.beta")
        check_n_samples(opts)
        return opts

    def resolve_loss(self) -> str:
        if self.config.loss != "auto":
            return self.config.loss
        return "bce" if output_range(self.graph) == "unit_interval" else "mse"

    # --- checks -------------------------------------------------------------------------------

    def script_plan(self, plan, attributes: dict[str, str]) -> None:
        plan.latent_classes = tuple(sorted(LATENT_CLASSES))

    def check(self, data, output_shapes: list) -> None:
        if not _has_reparameterize(self.graph):
            raise TrainingError("The vae task needs a Reparameterize node between the Encoder "
                                "and the Decoder (fed by two Linear layers, mu and logvar); "
                                "for a plain autoencoder choose the autoencode task",
                                field="task")
        check_size(self.graph, one_output(self.name, output_shapes, " (the reconstruction)"),
                   data.input_shape, "a VAE must reproduce its input", "make the Decoder end with")
        loss = self.resolve_loss()
        if loss not in RECONSTRUCTION_LOSSES:
            raise TrainingError(f"A VAE's reconstruction loss is bce, bce_logits or mse, not "
                                f"{loss}", field="loss")
        if loss == "bce":
            if output_range(self.graph) != "unit_interval":
                raise TrainingError("The bce loss needs outputs in (0, 1): end the Decoder with "
                                    "a Sigmoid, or choose bce_logits or mse", field="loss")
            lo, hi = float(np.min(data.x)), float(np.max(data.x))
            if (lo < 0 or hi > 1) and self.config.normalization != "minmax":
                raise TrainingError(f"The bce loss compares values in [0, 1], but the data "
                                    f"ranges over [{lo:.3g}, {hi:.3g}]: choose mse, or "
                                    f"normalization 'minmax'", field="loss")
            if self.config.normalization == "standard":
                raise TrainingError("The bce loss compares values in [0, 1], which standard "
                                    "normalization takes them out of: choose normalization "
                                    "'none' or 'minmax', or the mse loss", field="normalization")

    # --- the loss -----------------------------------------------------------------------------

    def reparameterize_modules(self, module: torch.nn.Module) -> list:
        if self._reparams is None:
            self._reparams = [m for m in module.modules()
                              if type(m).__name__ in LATENT_CLASSES and hasattr(m, "kl")]
        return self._reparams

    def terms(self, ctx, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-sample reconstruction loss and KL of one batch (model called once)."""
        x = batch["x"]
        recon = vae_reconstruction(ctx.model(x), x, self.resolve_loss())
        return recon, latent_kl(ctx.module, LATENT_CLASSES)

    def _metrics(self, recon, kl) -> dict:
        loss = recon + self.options["beta"] * kl
        return {"loss": loss.detach(), "recon": recon.detach(), "kl": kl.detach(),
                "elbo": -(recon + kl).detach()}

    def train_step(self, ctx, batch):
        opt = ctx.optimizers[0]
        opt.zero_grad(set_to_none=True)
        with ctx.autocast():
            recon, kl = self.terms(ctx, batch)
        ctx.backward(recon + self.options["beta"] * kl + ctx.regularization())
        norm = ctx.optimizer_step(opt)
        metrics = self._metrics(recon, kl)
        if norm is not None:
            metrics["grad_norm"] = norm
        return metrics

    def eval_step(self, ctx, batch):
        with _sampling(self.reparameterize_modules(ctx.module)), ctx.autocast():
            recon, kl = self.terms(ctx, batch)
        return self._metrics(recon, kl)

    def metrics_spec(self) -> dict[str, bool]:
        return {"loss": False, "recon": False, "kl": False, "elbo": True}

    # --- sampling -----------------------------------------------------------------------------

    def prior_decoder(self, module: torch.nn.Module) -> tuple[torch.nn.Module, tuple] | None:
        """The Decoder block fed by a Reparameterize node, and the latent shape; None when
        the graph has no such Decoder (then only reconstructions are shown)."""
        decoders = {d.id for d in role_blocks(self.graph, "decoder")}
        for z in nodes_where(self.graph, lambda spec: spec.samples_latent):
            for e in self.graph.out_edges(z.id):
                if e.dst in decoders:
                    shape = analyze(self.graph).shape(z.id)
                    return self._submodule(module, e.dst), tuple(shape)
        return None

    @torch.no_grad()
    def generate(self, module: torch.nn.Module, n: int, seed: int = 0) -> torch.Tensor | None:
        """``n`` new samples: z ~ N(0, I) decoded by the Decoder (None without a Decoder)."""
        found = self.prior_decoder(module)
        if found is None:
            return None
        decoder, shape = found
        device = next(module.parameters()).device
        with seeded(seed, device):
            z = torch.randn(n, *shape, device=device)
        return decoder(z)

    def samples(self, ctx, batch):
        # Alternate: reconstructions beside their inputs, then decoded draws from the prior.
        self._calls += 1
        if self._calls % 2 == 0:
            fake = self.generate(ctx.module, self.options["n_samples"], self.config.seed)
            if fake is not None:
                images = ctx.data.to_images(fake.float())
                if images is not None:
                    return Samples(step=ctx.step, epoch=ctx.epoch, kind="generated",
                                   images=images)
        x = batch["x"]
        out = ctx.model(x).float().reshape(x.shape)
        return Samples(step=ctx.step, epoch=ctx.epoch, kind="reconstructions",
                       images=ctx.data.to_images(x), reconstructions=ctx.data.to_images(out))


# Class names of the modules that sample z and keep the KL term (generated code defines them).
LATENT_CLASSES = frozenset(s.torch_class.rsplit(".", 1)[-1] for s in all_specs()
                            if s.samples_latent and s.torch_class)


def _has_reparameterize(graph) -> bool:
    for n in graph.nodes():
        if n.spec.samples_latent or (n.inner is not None and _has_reparameterize(n.inner)):
            return True
    return False


@contextlib.contextmanager
def _sampling(modules: list):
    """Put the Reparameterize modules in training mode (they draw z), whatever the rest is."""
    was = [m.training for m in modules]
    for m in modules:
        m.train(True)
    try:
        yield
    finally:
        for m, w in zip(modules, was):
            m.train(w)
