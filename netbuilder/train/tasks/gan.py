"""Generative adversarial network: alternating discriminator and generator updates.

The graph is drawn Noise → Generator → Discriminator with the data Input on the Discriminator's
"real" port (see ``netbuilder.graph.templates.make_gan``). Each step:

1. discriminator (``d_steps`` times): minimise BCE(D(x), real label) + BCE(D(G(z)), 0), the
   generator's samples detached; the real label is ``1 - label_smoothing`` (one-sided smoothing);
2. generator: minimise BCE(D(G(z)), 1), the non-saturating loss of Goodfellow et al.

Each network has its own optimizer and learning rate (Adam, 2e-4, betas (0.5, 0.999) by
default, as in DCGAN; ``TrainingConfig.lr`` is not used). Metrics: ``d_x`` = mean D(x),
``d_g_z`` = mean D(G(z)) before the discriminator's update, ``loss_d``, ``loss_g`` and ``loss``
= their sum (watched for NaN). Sample grids decode one fixed batch of noise, so successive
grids are comparable.

NOTE: the task calls the Generator and Discriminator modules directly (``ctx.module``), so it
does not run data-parallel (``supports_distributed = False``).
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from ...compile import analyze, gen_checks
from ...layers.catalog_gen import noise_shape
from ..events import Samples
from ..project.tasks import ScriptSpec
from ..recipe import gan_bce, gan_prob, noise
from . import register_task
from ._generative import Submodules, check_n_samples, output_range_of, role_blocks, seeded
from ._shapes import shape_text
from .base import Task, TrainingError


@register_task
class GanTask(Task):
    name = "gan"
    graph_needs: ClassVar[frozenset[str]] = frozenset({"gan"})
    script = ScriptSpec(step="adversarial", labelled=False, scores="adversarial",
                        train_names=("loss", "loss_d", "loss_g", "d_x", "d_g_z"))
    option_defaults: ClassVar[dict] = {
        "lr_g": 2e-4, "lr_d": 2e-4, "betas": [0.5, 0.999], "d_steps": 1, "label_smoothing": 0.0,
        "n_samples": 64, "scale": "auto"}
    default_loss = "bce"
    monitor = "val_loss"
    sample_kind = "generated"
    prediction = "samples"
    needs_labels = False
    supports_distributed = False
    supports_lbfgs = False
    metric_labels: ClassVar[dict] = {
        "loss": ("D + G loss", "the two networks' losses added (watched for NaN); each falls "
                               "only while the other does not keep up"),
        "loss_d": ("D loss", "the discriminator's loss, BCE of D on real images (label 1) plus "
                             "generated ones (label 0): low while D tells them apart"),
        "loss_g": ("G loss", "the generator's loss, BCE(D(G(z)), 1): low while its images pass "
                             "as real"),
        "d_x": ("D(x)", "the mean probability D gives real images of being real: near 1 "
                        "while D recognises them, towards 0.5 at balance"),
        "d_g_z": ("D(G(z))", "the mean probability D gives generated images of being real, "
                             "before its update: rises as the generator improves, towards 0.5 "
                             "at balance"),
    }
    metric_groups: ClassVar[tuple] = (
        ("D and G losses", ("loss_d", "loss_g")),
        ("D(x) and D(G(z))", ("d_x", "d_g_z")),
    )
    view_notes: ClassVar[dict] = {
        "confusion": "No confusion matrix: a GAN generates images and sorts none into classes "
                     "(Samples shows what the generator makes)."}

    def __init__(self, config, graph):
        super().__init__(config, graph)
        self._submodule = Submodules(graph)
        gens, discs = role_blocks(graph, "generator"), role_blocks(graph, "discriminator")
        self.generator_id = gens[0].id if gens else None
        self.discriminator_id = discs[0].id if discs else None
        self._scale = False
        self._fixed_z: torch.Tensor | None = None

    @classmethod
    def validate_options(cls, options: dict) -> dict:
        opts = super().validate_options(options)
        for key in ("lr_g", "lr_d"):
            v = opts[key]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 10:
                raise TrainingError(f"{key} must be a learning rate above 0, not {v!r}",
                                    field=f"task_options.{key}")
        b = opts["betas"]
        if not (isinstance(b, (list, tuple)) and len(b) == 2 and
                all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < 1
                    for v in b)):
            raise TrainingError(f"betas must be two numbers in [0, 1) such as [0.5, 0.999], not "
                                f"{b!r}", field="task_options.betas")
        d = opts["d_steps"]
        if isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= 100:
            raise TrainingError(f"d_steps (discriminator updates per generator update) must be "
                                f"a whole number from 1 to 100, not {d!r}",
                                field="task_options.d_steps")
        s = opts["label_smoothing"]
        if isinstance(s, bool) or not isinstance(s, (int, float)) or not 0 <= s < 0.5:
            raise TrainingError(f"label_smoothing must be a number in [0, 0.5) (0.1 makes the "
                                f"real label 0.9), not {s!r}", field="task_options.label_smoothing")
        check_n_samples(opts)
        if opts["scale"] not in ("auto", "none", "tanh"):
            raise TrainingError(f"scale must be auto, none or tanh (data mapped from [0, 1] to "
                                f"[-1, 1]), not {opts['scale']!r}", field="task_options.scale")
        return opts

    # --- the networks -----------------------------------------------------------------------------

    def _block_range(self, node_id: str) -> str:
        inner = self.graph.node(node_id).inner
        outs = inner.outputs()
        return output_range_of(inner, outs[0]) if outs else ""

    @property
    def d_outputs_probabilities(self) -> bool:
        """Whether the Discriminator ends in a Sigmoid (else it gives logits)."""
        return self._block_range(self.discriminator_id) == "unit_interval"

    def resolve_loss(self) -> str:
        if self.config.loss != "auto":
            return self.config.loss
        if self.discriminator_id is None:
            return "bce"
        return "bce" if self.d_outputs_probabilities else "bce_logits"

    def networks(self, module: torch.nn.Module) -> tuple[torch.nn.Module, torch.nn.Module]:
        """(generator, discriminator) modules of the built graph."""
        return (self._submodule(module, self.generator_id),
                self._submodule(module, self.discriminator_id))

    def script_plan(self, plan, attributes: dict[str, str]) -> None:
        plan.generator = attributes[self.generator_id]
        plan.discriminator = attributes[self.discriminator_id]
        latent, distribution = self.latent()
        plan.latent, plan.uniform = tuple(latent), distribution == "uniform"
        plan.scale = self.scales_data

    def latent(self) -> tuple[tuple, str]:
        """(shape of z without the batch, distribution): from the Noise node feeding the
        Generator, else from the Generator's input shape (normal noise)."""
        for e in self.graph.in_edges(self.generator_id):
            src = self.graph.node(e.src)
            if src.is_drawn_source:
                return noise_shape(src.params), src.params["distribution"]
        info = analyze(self.graph).nodes[self.generator_id]
        return tuple(info.in_shapes[0]), "normal"

    def noise(self, n: int, device: torch.device) -> torch.Tensor:
        shape, dist = self.latent()
        return noise(n, shape, dist == "uniform", device)

    # --- checks and data --------------------------------------------------------------------------

    @property
    def scales_data(self) -> bool:
        """Whether real data is mapped from [0, 1] to the Tanh Generator's [-1, 1] (decided by
        ``check``)."""
        return self._scale

    def check(self, data, output_shapes: list) -> None:
        errors = [d for d in gen_checks(self.graph, needs=self.graph_needs) if d.is_error]
        if errors:
            raise TrainingError(errors[0].message, field="task")
        analysis = analyze(self.graph)
        fake = analysis.shape(self.generator_id)
        if fake is not None and tuple(fake) != tuple(data.input_shape):
            raise TrainingError(f"The Generator makes {shape_text(fake)} but the data is "
                                f"{shape_text(data.input_shape)}: set the Input's shape and the "
                                f"Generator's last layer to the data's shape", field="task")
        loss = self.resolve_loss()
        if loss not in ("bce", "bce_logits"):
            raise TrainingError(f"A GAN's loss is bce (the Discriminator ends in a Sigmoid) or "
                                f"bce_logits (it gives logits), not {loss}", field="loss")
        if loss == "bce" and not self.d_outputs_probabilities:
            raise TrainingError("The bce loss needs probabilities: end the Discriminator with a "
                                "Sigmoid, or choose bce_logits", field="loss")
        scale = self.options["scale"]
        tanh = self._block_range(self.generator_id) == "signed_unit"
        in_unit = float(np.min(data.x)) >= 0 and float(np.max(data.x)) <= 1
        self._scale = scale == "tanh" or (scale == "auto" and tanh and in_unit and
                                          self.config.normalization == "none")

    def prepare(self, data):
        x = torch.from_numpy(np.ascontiguousarray(data.x))
        if self._scale:  # the Generator ends in Tanh: real data in the same [-1, 1]
            x = x * 2 - 1
        return {"x": x}

    @torch.no_grad()
    def model_output(self, module, x):
        # For pictures, a GAN's answer is its discriminator's: how real each one looks (the
        # model's own first output is a generated sample, unrelated to them).
        _, disc = self.networks(module)
        tanh = self._block_range(self.generator_id) == "signed_unit"
        in_unit = float(x.min()) >= 0 and float(x.max()) <= 1
        if self.options["scale"] == "tanh" or (self.options["scale"] == "auto" and tanh and
                                               in_unit and self.config.normalization == "none"):
            x = x * 2 - 1  # as training scaled real data (see ``check``)
        score = disc(x).float().reshape(len(x), -1)
        return score if self.d_outputs_probabilities else torch.sigmoid(score)

    def optimizers(self, ctx, phase) -> list:
        from ..optim import make_optimizer

        cfg = self.config
        if cfg.optimizer in ("adam", "adamw") and "betas" not in cfg.optimizer_options:
            cfg = cfg.replace(optimizer_options={**cfg.optimizer_options,
                                                 "betas": list(self.options["betas"])})
        gen, disc = self.networks(ctx.module)
        return [make_optimizer(gen.parameters(), cfg, lr=float(self.options["lr_g"])),
                make_optimizer(disc.parameters(), cfg, lr=float(self.options["lr_d"]))]

    # --- training ---------------------------------------------------------------------------------

    def _bce(self, score: torch.Tensor, label: float) -> torch.Tensor:
        return gan_bce(score, label, self.resolve_loss() == "bce_logits")

    def _prob(self, score: torch.Tensor) -> torch.Tensor:
        return gan_prob(score, self.resolve_loss() == "bce_logits")

    def train_step(self, ctx, batch):
        g_opt, d_opt = ctx.optimizers
        gen, disc = self.networks(ctx.module)
        real = batch["x"]
        n = real.shape[0]
        real_label = 1.0 - float(self.options["label_smoothing"])
        for _ in range(self.options["d_steps"]):
            z = self.noise(n, real.device)
            d_opt.zero_grad(set_to_none=True)
            with ctx.autocast():
                fake = gen(z)
                p_real = disc(real)
                p_fake = disc(fake.detach())
            loss_d = self._bce(p_real, real_label) + self._bce(p_fake, 0.0)
            ctx.backward(loss_d + ctx.regularization())
            ctx.optimizer_step(d_opt)
        g_opt.zero_grad(set_to_none=True)
        disc.requires_grad_(False)  # the generator's step needs no discriminator gradients
        try:
            with ctx.autocast():
                p_gen = disc(fake)
            loss_g = self._bce(p_gen, 1.0)
            ctx.backward(loss_g + ctx.regularization())
            norm = ctx.optimizer_step(g_opt)
        finally:
            disc.requires_grad_(True)
        metrics = {"loss": (loss_d + loss_g).detach(), "loss_d": loss_d.detach(),
                   "loss_g": loss_g.detach(), "d_x": self._prob(p_real),
                   "d_g_z": self._prob(p_fake)}
        if norm is not None:
            metrics["grad_norm"] = norm
        return metrics

    def eval_step(self, ctx, batch):
        gen, disc = self.networks(ctx.module)
        real = batch["x"]
        with ctx.autocast():
            fake = gen(self.noise(real.shape[0], real.device))
            p_real, p_fake = disc(real), disc(fake)
        loss_d = self._bce(p_real, 1.0) + self._bce(p_fake, 0.0)
        loss_g = self._bce(p_fake, 1.0)
        return {"loss": loss_d + loss_g, "loss_d": loss_d, "loss_g": loss_g,
                "d_x": self._prob(p_real), "d_g_z": self._prob(p_fake)}

    def metrics_spec(self) -> dict[str, bool]:
        return {"loss": False, "loss_d": False, "loss_g": False, "d_x": True, "d_g_z": True}

    # --- samples ----------------------------------------------------------------------------------

    @torch.no_grad()
    def generate(self, module: torch.nn.Module, n: int, seed: int = 0) -> torch.Tensor:
        """``n`` samples from noise drawn with ``seed`` (in the data's range: [-1, 1] when the
        task scaled the data for a Tanh generator)."""
        gen = self._submodule(module, self.generator_id)
        device = next(gen.parameters()).device
        with seeded(seed, device):
            z = self.noise(n, device)
        return gen(z)

    def samples(self, ctx, batch):
        gen, _ = self.networks(ctx.module)
        if self._fixed_z is None:
            with seeded(self.config.seed + 1, ctx.device):
                self._fixed_z = self.noise(self.options["n_samples"], ctx.device)
        fake = gen(self._fixed_z).float()
        return Samples(step=ctx.step, epoch=ctx.epoch, kind="generated",
                       images=ctx.data.to_images(fake))

