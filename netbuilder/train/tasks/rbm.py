"""Restricted Boltzmann machines and deep belief networks.

``rbm``: every RBM node of the graph is trained by contrastive divergence (CD-k, or persistent
CD), greedily one after another when there are several (phase "pretrain <name>" each). The
visible units of an RBM are whatever reaches it (the data, or the hidden probabilities of the
RBM before it), captured with a forward pre-hook, so layers between them (a Flatten) just work.

``dbn``: the same greedy pretraining, then a phase "finetune" that trains the whole network as
a feed-forward classifier with backpropagation (an RBM's forward is p(h|v), a sigmoid layer).

CD is written as a loss, F(v₀) − F(v_k) with the free energy F, whose gradient is the CD
update (positive minus negative statistics), so any optimizer of the config applies.
Metrics: ``recon_error`` (mean squared error of the mean-field reconstruction p(v|p(h|v₀))),
``free_energy`` of the data, and on validation ``pseudo_likelihood`` (per sample, one random
unit flipped: n_visible · log σ(F(ṽ) − F(v))). Samples are "dreams": Gibbs chains from noise,
carried down through the RBMs below to the pixels.
"""
from __future__ import annotations

import math
from typing import ClassVar

import torch

from ..events import Samples
from ..project.tasks import ScriptSpec
from ..recipe import cd_loss, rbm_recon_error, rbm_visible
from . import register_task
from ._generative import Submodules, nodes_where, seeded
from ._shapes import check_float_inputs
from .base import Phase, Task, TrainingError
from .classify import ClassifyTask

RBM_OPTIONS = {"cd_k": None, "persistent": False, "gibbs_steps": 200, "n_samples": 64}


class ContrastiveDivergence:
    """Greedy CD training of a graph's RBM nodes (shared by the rbm and dbn tasks)."""

    def __init__(self, graph, options: dict):
        self.graph = graph
        self.options = options
        self.rbms = nodes_where(graph, lambda spec: spec.pretrained_layerwise)
        self._submodule = Submodules(graph)
        self.index = 0
        self._chain: torch.Tensor | None = None

    def check(self, task_name: str) -> None:
        if not self.rbms:
            raise TrainingError(f"The {task_name} task trains RBM nodes, but the graph has none: "
                                f"add an RBM (Generative) after the Input (and a Flatten for "
                                f"images)", field="task")

    def script_names(self, attributes: dict[str, str]) -> list[str]:
        """The RBMs' module attributes in training order (for an exported train.py)."""
        return [attributes[n.id] for n in self.rbms]

    def rbm(self, module, index: int | None = None) -> torch.nn.Module:
        return self._submodule(module, self.rbms[self.index if index is None else index].id)

    def begin(self, index: int) -> None:
        self.index = index
        self._chain = None

    def k(self, rbm) -> int:
        return int(self.options["cd_k"] or rbm.k)

    def visible(self, module, x: torch.Tensor, index: int | None = None) -> torch.Tensor:
        """What reaches the RBM: the graph's layers before it run, the ones after do not."""
        return rbm_visible(module, x, self.rbm(module, index))

    def loss(self, rbm, v0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """F(v₀) − F(v_k), whose gradient is the CD-k (or PCD) update, and F(v₀)."""
        start = None
        if self.options["persistent"]:
            if self._chain is None or self._chain.shape[1] != v0.shape[1]:
                self._chain = torch.bernoulli(torch.full_like(v0, 0.5))
            start = self._chain
        loss, data, end = cd_loss(rbm, v0, self.k(rbm), start)
        if self.options["persistent"]:
            self._chain = end
        return loss, data

    @staticmethod
    def recon_error(rbm, v0: torch.Tensor) -> torch.Tensor:
        return rbm_recon_error(rbm, v0)

    @staticmethod
    def pseudo_likelihood(rbm, v0: torch.Tensor) -> torch.Tensor:
        """Stochastic pseudo-log-likelihood per sample (one random unit flipped per sample)."""
        v = (v0 >= 0.5).to(v0.dtype)
        idx = torch.randint(0, v.shape[1], (v.shape[0],), device=v.device)
        flipped = v.clone()
        rows = torch.arange(v.shape[0], device=v.device)
        flipped[rows, idx] = 1 - flipped[rows, idx]
        gap = rbm.free_energy(flipped) - rbm.free_energy(v)
        return v.shape[1] * torch.nn.functional.logsigmoid(gap).mean()

    def train_step(self, ctx, batch) -> dict:
        rbm = self.rbm(ctx.module)
        v0 = self.visible(ctx.module, batch["x"])
        opt = ctx.optimizers[0]
        opt.zero_grad(set_to_none=True)
        loss, free_energy = self.loss(rbm, v0)
        ctx.backward(loss + ctx.regularization())
        norm = ctx.optimizer_step(opt)
        recon = self.recon_error(rbm, v0)
        metrics = {"loss": recon, "recon_error": recon, "free_energy": free_energy.detach()}
        if norm is not None:
            metrics["grad_norm"] = norm
        return metrics

    @torch.no_grad()
    def eval_metrics(self, ctx, batch) -> dict:
        rbm = self.rbm(ctx.module)
        v0 = self.visible(ctx.module, batch["x"])
        return {"recon_error": self.recon_error(rbm, v0),
                "free_energy": rbm.free_energy(v0).mean(),
                "pseudo_likelihood": self.pseudo_likelihood(rbm, v0)}

    def chained_below(self, index: int) -> bool:
        """Whether RBMs 0..index are wired directly one into the next (dreams can descend)."""
        for i in range(1, index + 1):
            if not any(e.src == self.rbms[i - 1].id for e in self.graph.in_edges(self.rbms[i].id)):
                return False
        return True

    @torch.no_grad()
    def dream(self, module, n: int, steps: int, seed: int, index: int | None = None
              ) -> torch.Tensor | None:
        """Gibbs chains from noise in RBM ``index``, carried down to its lowest visible layer;
        None when RBMs below are not directly chained (the dream would not be pixels)."""
        index = self.index if index is None else index
        if not self.chained_below(index):
            return None
        rbm = self.rbm(module, index)
        device = rbm.weight.device
        with seeded(seed, device):
            v = rbm.sample(n, steps=steps)
            for j in range(index - 1, -1, -1):
                v = self.rbm(module, j).visible_probs(v)
        return v

    def samples(self, ctx, n: int) -> Samples | None:
        v = self.dream(ctx.module, n, self.options["gibbs_steps"], ctx.config.seed + 2)
        if v is None:
            return None
        images = ctx.data.to_images(v.float())
        if images is None:
            return None
        return Samples(step=ctx.step, epoch=ctx.epoch, kind="dreams", images=images)


def _validate_rbm_options(name: str, opts: dict) -> dict:
    k = opts["cd_k"]
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 1000):
        raise TrainingError(f"cd_k must be a whole number from 1 to 1000 (or null: each RBM's "
                            f"own cd_k), not {k!r}", field="task_options.cd_k")
    if not isinstance(opts["persistent"], bool):
        raise TrainingError("persistent must be true (persistent CD) or false (CD-k)",
                            field="task_options.persistent")
    for key, hi in (("gibbs_steps", 100_000), ("n_samples", 1024)):
        v = opts[key]
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= hi:
            raise TrainingError(f"{key} must be a whole number from 1 to {hi}, not {v!r}",
                                field=f"task_options.{key}")
    return opts


@register_task
class RbmTask(Task):
    name = "rbm"
    script = ScriptSpec(step=None, labelled=False, validates=False, layerwise=True)
    option_defaults: ClassVar[dict] = dict(RBM_OPTIONS)
    default_loss = "mse"
    monitor = "val_recon_error"
    sample_kind = "dreams"
    prediction = "samples"  # its dreams; for inputs, their reconstructions
    metric_labels: ClassVar[dict] = {
        "loss": ("Loss", "the reconstruction error of one Gibbs step; lower is better"),
        "recon_error": ("Reconstruction error", "mean squared difference between the visible "
                                                "units and their reconstruction"),
        "free_energy": ("Free energy", "the model's energy of the data, summed over the hidden "
                                       "units; lower means more probable"),
        "pseudo_likelihood": ("Pseudo-likelihood", "log-probability of each visible unit given "
                                                   "the others; higher is better"),
    }
    view_notes: ClassVar[dict] = {
        "confusion": "No confusion matrix: an RBM models its inputs without labels (Samples "
                     "shows its dreams)."}
    needs_labels = False
    supports_distributed = False
    supports_lbfgs = False

    def __init__(self, config, graph):
        super().__init__(config, graph)
        self.cd = ContrastiveDivergence(graph, self.options)

    @classmethod
    def validate_options(cls, options: dict) -> dict:
        return _validate_rbm_options(cls.name, super().validate_options(options))

    def script_plan(self, plan, attributes: dict[str, str]) -> None:
        plan.rbms = self.cd.script_names(attributes)

    def check(self, data, output_shapes: list) -> None:
        self.cd.check(self.name)
        check_float_inputs(data, "RBM visible units are values in [0, 1]", field="dataset")

    def phases(self) -> list[Phase]:
        if len(self.cd.rbms) == 1:
            return [Phase("train", self.config.epochs)]
        return [Phase(f"pretrain {r.name}", self.config.epochs, {"rbm": i})
                for i, r in enumerate(self.cd.rbms)]

    def begin_phase(self, ctx, phase) -> None:
        self.cd.begin(phase.options.get("rbm", 0))

    def optimizers(self, ctx, phase) -> list:
        from ..optim import make_optimizer

        return [make_optimizer(self.cd.rbm(ctx.module).parameters(), self.config)]

    def train_step(self, ctx, batch):
        return self.cd.train_step(ctx, batch)

    def eval_step(self, ctx, batch):
        m = self.cd.eval_metrics(ctx, batch)
        return {"loss": m["recon_error"], **m}

    def metrics_spec(self) -> dict[str, bool]:
        return {"loss": False, "recon_error": False, "free_energy": False,
                "pseudo_likelihood": True}

    def samples(self, ctx, batch):
        return self.cd.samples(ctx, self.options["n_samples"])

    @torch.no_grad()
    def model_output(self, module, x):
        # The network's output is the hidden units; a person wants the input reconstructed
        # (one up-down pass of the first RBM, as its reconstruction error measures).
        rbm = self.cd.rbm(module, 0)
        v0 = self.cd.visible(module, x, 0)
        out = rbm.visible_probs(rbm.hidden_probs(v0))
        return out.reshape(x.shape) if out.numel() == x.numel() else out

    def dreams(self, module, n, seed):
        top = len(self.cd.rbms) - 1
        v = self.cd.dream(module, n, self.options["gibbs_steps"], seed, index=top)
        return v if v is not None else self.cd.dream(module, n, self.options["gibbs_steps"],
                                                     seed, index=0)


@register_task
class DbnTask(ClassifyTask):
    """Greedy RBM pretraining (``pretrain_epochs`` per RBM), then supervised fine-tuning
    (``TrainingConfig.epochs``) of the whole network as a classifier."""

    name = "dbn"
    script = ScriptSpec(scores="accuracy", val_names=("loss", "accuracy"), layerwise=True,
                        pretrains=True)
    option_defaults: ClassVar[dict] = {**RBM_OPTIONS, "pretrain_epochs": 5, "pretrain_lr": None}
    sample_kind = "dreams"
    supports_distributed = False
    supports_lbfgs = False
    metric_labels: ClassVar[dict] = {**ClassifyTask.metric_labels,
                                     **{k: v for k, v in RbmTask.metric_labels.items()
                                        if k != "loss"}}

    def __init__(self, config, graph):
        super().__init__(config, graph)
        self.cd = ContrastiveDivergence(graph, self.options)
        self.pretraining = True

    @classmethod
    def validate_options(cls, options: dict) -> dict:
        opts = _validate_rbm_options(cls.name, super().validate_options(options))
        e = opts["pretrain_epochs"]
        if isinstance(e, bool) or not isinstance(e, int) or not 0 <= e <= 10_000:
            raise TrainingError(f"pretrain_epochs (per RBM) must be a whole number from 0, not "
                                f"{e!r}", field="task_options.pretrain_epochs")
        lr = opts["pretrain_lr"]
        if lr is not None and (isinstance(lr, bool) or not isinstance(lr, (int, float)) or
                               not 0 < lr <= 10 or not math.isfinite(lr)):
            raise TrainingError(f"pretrain_lr must be a learning rate above 0 (or null: the "
                                f"config's lr), not {lr!r}", field="task_options.pretrain_lr")
        return opts

    def script_plan(self, plan, attributes: dict[str, str]) -> None:
        plan.rbms = self.cd.script_names(attributes)

    def check(self, data, output_shapes: list) -> None:
        self.cd.check(self.name)
        super().check(data, output_shapes)

    def phases(self) -> list[Phase]:
        pre = [Phase(f"pretrain {r.name}", self.options["pretrain_epochs"], {"rbm": i})
               for i, r in enumerate(self.cd.rbms) if self.options["pretrain_epochs"] > 0]
        return pre + [Phase("finetune", self.config.epochs)]

    def begin_phase(self, ctx, phase) -> None:
        self.pretraining = "rbm" in phase.options
        if self.pretraining:
            self.cd.begin(phase.options["rbm"])

    def optimizers(self, ctx, phase) -> list:
        from ..optim import make_optimizer

        if not self.pretraining:
            return super().optimizers(ctx, phase)
        return [make_optimizer(self.cd.rbm(ctx.module).parameters(), self.config,
                               lr=self.options["pretrain_lr"])]

    def train_step(self, ctx, batch):
        # NOTE: both phases report the same metric names (NaN where one does not apply): the
        # trainer fixes a run's metric names at its first step.
        nan = torch.full((), math.nan, device=batch["x"].device)
        if self.pretraining:
            return {**self.cd.train_step(ctx, batch), "accuracy": nan}
        return {**super().train_step(ctx, batch), "recon_error": nan, "free_energy": nan}

    def eval_step(self, ctx, batch):
        out = super().eval_step(ctx, batch)
        if self.pretraining:
            out.update(self.cd.eval_metrics(ctx, batch))
        return out

    def metrics_spec(self) -> dict[str, bool]:
        return {**super().metrics_spec(), "recon_error": False, "free_energy": False,
                "pseudo_likelihood": True}

    def samples(self, ctx, batch):
        if self.pretraining:
            return self.cd.samples(ctx, self.options["n_samples"])
        return super().samples(ctx, batch)
