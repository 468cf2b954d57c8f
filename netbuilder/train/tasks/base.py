"""The task interface: what "learning" means for a graph, without the trainer knowing the task.

STABLE INTERFACE. The trainer never branches on a task's name. It asks the task for tensors,
phases, optimizers, one training step, evaluation and sample pictures; everything else (device,
batching, precision, schedules, NaN watch, throttled events, checkpoints, DDP) is the trainer's.

Writing a task (VAE, GAN, RBM/DBN, ...)::

    from netbuilder.train.tasks import Task, register_task

    @register_task
    class GanTask(Task):
        name = "gan"                      # TrainingConfig.task
        option_defaults = {"latent_dim": 64, "d_steps": 1}   # TrainingConfig.task_options
        default_loss = "bce_logits"       # what loss="auto" means for this task
        monitor = "val_loss"              # metric that picks the best epoch / early stopping
        sample_kind = "generated"

        def prepare(self, data):          # DatasetArrays -> dict of CPU tensors, first dim N
            return {"x": torch.from_numpy(data.x)}
        def optimizers(self, ctx, phase): # one per sub-network
            return [make_optimizer(ctx.module.gen.parameters(), self.config),
                    make_optimizer(ctx.module.disc.parameters(), self.config)]
        def train_step(self, ctx, batch): # alternate D and G: ctx.backward, ctx.optimizer_step
            g_opt, d_opt = ctx.optimizers
            ...
            return {"loss": g_loss.detach(), "d_loss": d_loss.detach()}
        def metrics_spec(self):
            return {"loss": False, "d_loss": False}
        def samples(self, ctx, batch):
            return Samples(step=ctx.step, epoch=ctx.epoch, kind="generated",
                           images=ctx.data.to_images(fake))

Put the module in ``netbuilder/train/tasks/`` (it is found by name on first use, also inside the
worker process) or import it before training. Rules a task must keep:

- ``train_step`` returns detached scalar tensors and never calls ``.item()``/``float()`` on them:
  the trainer accumulates them on the device and syncs only when it emits. It must include
  ``"loss"`` (watched for NaN/Inf). Extra work for the dashboard (e.g. a gradient norm) may be done
  only when ``ctx.detail`` is True (that step's numbers will be shown).
- Use ``ctx.autocast()`` around forward passes, ``ctx.backward(loss)`` (GradScaler aware) and
  ``ctx.optimizer_step(optimizer)`` (unscale, clip, step; returns the gradient norm when it
  computed one); do not call ``scaler.update()``: the trainer does, once per step.
  ``ctx.regularization()`` is the graph's per-layer L1/L2 penalty (0 when none), to add to the
  loss being minimised.
- Call ``ctx.model(...)`` for the whole network (it may be wrapped by DDP or torch.compile);
  ``ctx.module`` is the plain ``nn.Module`` with one attribute per node (``ctx.module.enc``).
  A task that calls sub-modules directly must set ``supports_distributed = False`` unless it
  handles gradient synchronisation itself.
- The default ``train_step`` drives L-BFGS through a closure; a task with its own
  ``train_step`` that steps its optimizers without one sets ``supports_lbfgs = False`` (the
  trainer then refuses ``optimizer="lbfgs"`` before training, with a sentence naming the task).
- ``phases()`` splits a run into named stages (a DBN: ``Phase("pretrain rbm1", 5)``, ...,
  ``Phase("finetune", 10)``). At each phase's start the trainer calls ``begin_phase`` and then
  ``optimizers(ctx, phase)`` again, so a phase may train a subset of the parameters. Events carry
  the phase name.
- ``eval_step`` returns batch-mean metrics (tensors); ``end_eval`` may add metrics computed over
  the whole validation set and return extra events (the confusion matrix).
- Errors meant for the user are ``TrainingError`` with a sentence that says what to change.
"""
from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch

from ...errors import NetbuilderError
from ..events import Event, Samples

if TYPE_CHECKING:
    from ...graph import Graph
    from ..config import TrainingConfig
    from ..data import DatasetArrays, Normalizer
    from ..project.tasks import ScriptSpec, TaskPlan


class TrainingError(NetbuilderError):
    """Training cannot start or go on; the message is advice to a person."""


@dataclass
class Phase:
    """A stage of a run: ``epochs`` epochs under one name (and one set of optimizers)."""

    name: str
    epochs: int
    options: dict = field(default_factory=dict)


@dataclass
class DataInfo:
    """What the task and the dashboard know of the data (after any automatic resize)."""

    name: str
    kind: str  # "image" | "vector" | "sequence"
    input_shape: tuple
    target_shape: tuple = ()
    classes: list | None = None
    n_train: int = 0
    n_val: int = 0
    normalizer: Normalizer | None = None
    image_shape: tuple | None = None  # (C, H, W) when vectors are flattened images
    source_shape: tuple | None = None  # a sample as the dataset gives it, before any resize
    background: str | None = None  # pictures: "dark" (light strokes on dark) or "light"

    def to_images(self, x: torch.Tensor) -> np.ndarray | None:
        """A batch of inputs (or reconstructions/generations shaped like inputs) as uint8
        ``(N, C, H, W)`` pictures, un-normalised; None when the inputs are not pictures."""
        from ..metrics import to_uint8_images

        return to_uint8_images(x, self.normalizer, self.image_shape)


@dataclass
class StepContext:
    """What a task sees during training; built and updated by the trainer."""

    config: TrainingConfig
    graph: Graph
    model: torch.nn.Module  # call this (may be DDP-wrapped or compiled)
    module: torch.nn.Module  # the plain module: state dict, sub-modules by node name
    device: torch.device
    data: DataInfo
    loss_fn: Callable[[Any, Any], torch.Tensor]
    optimizers: list = field(default_factory=list)
    scaler: Any = None  # torch.amp.GradScaler for fp16, else None
    autocast_dtype: torch.dtype | None = None  # None: no autocast
    grad_clip: float = 0.0
    regularizers: list = field(default_factory=list)  # [(l1, l2, [weight tensors])]
    step: int = 0  # optimizer steps done before this one
    epoch: int = 1
    phase: Phase | None = None
    detail: bool = False  # this step's results will be emitted
    rank: int = 0
    world_size: int = 1
    log: Callable[[str], None] = print

    def autocast(self) -> AbstractContextManager:
        if self.autocast_dtype is None:
            return torch.autocast(self.device.type, enabled=False)
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    def backward(self, loss: torch.Tensor) -> None:
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def optimizer_step(self, optimizer, closure=None) -> torch.Tensor | None:
        """Unscale, clip (when set), step. Returns the global gradient norm when it was
        computed (clipping on, or ``detail``), else None. No host sync."""
        norm = None
        if self.grad_clip > 0 or self.detail:
            if self.scaler is not None:
                self.scaler.unscale_(optimizer)
            params = [p for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
            if params:
                if self.grad_clip > 0:
                    norm = torch.nn.utils.clip_grad_norm_(params, self.grad_clip)
                else:
                    norm = torch.linalg.vector_norm(
                        torch.stack([torch.linalg.vector_norm(p.grad.detach()) for p in params]))
        if self.scaler is not None:
            self.scaler.step(optimizer)
        elif closure is not None:
            optimizer.step(closure)
        else:
            optimizer.step()
        return None if norm is None else norm.detach()

    def regularization(self) -> torch.Tensor | float:
        """The graph's per-layer penalties: sum of l1·|w| + l2·w² over weight tensors."""
        from ..recipe import penalty

        return penalty(self.regularizers)


class Task:
    """Base task; the default ``train_step`` is supervised: forward → loss → backward → step."""

    name: ClassVar[str] = "base"
    option_defaults: ClassVar[dict] = {}
    default_loss: ClassVar[str] = "mse"
    monitor: ClassVar[str] = "val_loss"
    sample_kind: ClassVar[str] = "predictions"
    # What the trained model gives a person (the editor's Try it, ``netbuilder predict``):
    # "classes" (probabilities over the class names), "values" (its output: regressed values,
    # reconstructions) or "samples" (a generator: latent codes → data).
    prediction: ClassVar[str] = "values"
    supports_distributed: ClassVar[bool] = True
    # False for tasks whose train_step steps its optimizers without a closure (L-BFGS needs one)
    supports_lbfgs: ClassVar[bool] = True
    needs_labels: ClassVar[bool] = True
    # How an exported train.py trains this task; None: it has no standalone script
    script: ClassVar[ScriptSpec | None] = None
    # whether ``config.adversarial`` may mix FGSM/PGD examples into its batches (a supervised
    # step whose loss compares the model's output with a target)
    supports_adversarial: ClassVar[bool] = False
    # Inputs the graph has; each gets samples of the one dataset (a siamese pair: 2).
    graph_inputs: ClassVar[int] = 1
    # What this task requires of the drawing (compile's gen_checks.NEEDS: "gan",
    # "reconstruction", "latent"): the check reports their gaps as errors, not warnings.
    graph_needs: ClassVar[frozenset[str]] = frozenset()
    # --- what the dashboard says (read by the window; nothing there names a task) ---
    # metric → (label, what it means in one sentence); merged over the base classes' entries
    metric_labels: ClassVar[dict[str, tuple[str, str]]] = {
        "loss": ("Loss", "the objective the optimizer minimises; lower is better"),
        "lr": ("Learning rate", "the step size the schedule sets for this step"),
        "grad_norm": ("Gradient norm", "the length of the whole gradient before clipping; "
                                       "spikes warn of instability"),
    }
    # metrics drawn together on one plot, first the one shown at a run's start: (title, names)
    metric_groups: ClassVar[tuple[tuple[str, tuple[str, ...]], ...]] = ()
    # dashboard views that have nothing to show for this task → why, in one line
    view_notes: ClassVar[dict[str, str]] = {
        "confusion": "No confusion matrix: this task does not sort samples into classes."}

    def __init__(self, config: TrainingConfig, graph: Graph):
        self.config = config
        self.graph = graph
        self.options = self.validate_options(dict(config.task_options))
        if config.optimizer == "lbfgs" and not self.supports_lbfgs:
            # (here, not in the trainer: an exported training script must refuse it too)
            raise TrainingError(f"The {self.name} task cannot use the L-BFGS optimizer (its "
                                f"updates take no closure): choose adam, adamw or sgd",
                                field="optimizer")
        if config.adversarial.on and not self.supports_adversarial:
            raise TrainingError(f"The {self.name} task cannot train on adversarial examples "
                                f"(they need a loss against labels: classify or regress): set "
                                f"adversarial training's method to none",
                                field="adversarial.method")

    # --- set-up ------------------------------------------------------------------------------

    @classmethod
    def validate_options(cls, options: dict) -> dict:
        """Options merged over ``option_defaults``; unknown keys are an error naming them."""
        unknown = sorted(set(options) - set(cls.option_defaults))
        if unknown:
            known = ", ".join(sorted(cls.option_defaults)) or "none"
            raise TrainingError(f"The {cls.name} task has no option {unknown[0]!r}; its options: "
                                f"{known}", field=f"task_options.{unknown[0]}")
        return {**cls.option_defaults, **options}

    @classmethod
    def inputs_problem(cls, graph) -> str | None:
        """Why the graph's Input nodes do not suit this task; None when they do."""
        inputs = len(graph.inputs())
        if inputs == cls.graph_inputs:
            return None
        advice = ", or choose the siamese task for pairs of samples" if inputs == 2 else ""
        return (f"The {cls.name} task feeds {cls.graph_inputs} Input node"
                f"{'s' if cls.graph_inputs != 1 else ''}, but the graph has {inputs}: keep "
                f"{cls.graph_inputs}{advice}")

    def check(self, data: DatasetArrays, output_shapes: list) -> None:
        """Raise TrainingError when this data or the graph's outputs do not suit the task.
        ``output_shapes`` are the graph outputs' shapes without the batch dimension."""
        problem = self.inputs_problem(self.graph)
        if problem is not None:
            raise TrainingError(problem, field="task")
        if self.needs_labels and data.y is None:
            raise TrainingError(f"The {self.name} task needs labels, but the dataset "
                                f"'{data.name}' has none", field="dataset")

    def prepare(self, data: DatasetArrays) -> dict[str, torch.Tensor]:
        """CPU tensors with one row per sample; the trainer batches every entry alike. Labels
        only where the task uses them (an unlabelled task would carry them for nothing)."""
        out = {"x": torch.from_numpy(np.ascontiguousarray(data.x))}
        if self.needs_labels and data.y is not None:
            out["y"] = torch.from_numpy(np.ascontiguousarray(data.y))
        return out

    def resolve_loss(self) -> str:
        """The loss name: the config's, or this task's choice for ``"auto"``."""
        return self.default_loss if self.config.loss == "auto" else self.config.loss

    def phases(self) -> list[Phase]:
        return [Phase("train", self.config.epochs)]

    def begin_phase(self, ctx: StepContext, phase: Phase) -> None:
        """Called when a phase starts (before ``optimizers``)."""

    def optimizers(self, ctx: StepContext, phase: Phase) -> list:
        from ..optim import make_optimizer

        params = list(ctx.module.parameters())
        if not params:
            raise TrainingError("The model has no trainable parameters: add a layer with "
                                "weights (Linear, Conv2d, ...)")
        return [make_optimizer(params, self.config)]  # (it refuses all-frozen parameters)

    def script_plan(self, plan: TaskPlan, attributes: dict[str, str]) -> None:
        """Add what the exported train.py needs of this graph besides ``script`` (the
        sub-networks' attribute names, ...); ``attributes`` maps node ids to attributes."""

    @property
    def outputs_probabilities(self) -> bool:
        """Whether the network already gives probabilities (it ends in Softmax): an ``nll``
        loss then takes their log."""
        return False

    def metrics_spec(self) -> dict[str, bool]:
        """Metric name → higher is better (the trainer adds ``lr`` and ``grad_norm``)."""
        return {"loss": False}

    @classmethod
    def metric_label(cls, name: str) -> tuple[str, str]:
        """(label, meaning) of metric ``name`` (``val_``/``train_`` prefixes allowed)."""
        for prefix in ("train_", "val_"):
            if name.startswith(prefix):
                name = name[len(prefix):]
        for klass in cls.__mro__:
            entry = vars(klass).get("metric_labels", {}).get(name)
            if entry is not None:
                return entry
        return name.replace("_", " ").capitalize(), ""

    def metric_names(self) -> set[str]:
        """The metrics early stopping may watch: ``train_`` or ``val_`` + a reported metric."""
        return {f"{split}_{m}" for split in ("train", "val") for m in self.metrics_spec()}

    # --- training ---------------------------------------------------------------------------

    def forward(self, ctx: StepContext, batch: dict) -> Any:
        return ctx.model(batch["x"])

    def target(self, ctx: StepContext, batch: dict) -> Any:
        return batch["y"]

    def compute_loss(self, ctx: StepContext, output: Any, batch: dict) -> torch.Tensor:
        return ctx.loss_fn(output, self.target(ctx, batch))

    def step_metrics(self, ctx: StepContext, output: Any, batch: dict) -> dict:
        """Extra per-batch metrics as detached tensors (accuracy, ...)."""
        return {}

    def adversarial(self, ctx: StepContext, batch: dict) -> dict:
        """The batch with a share of its inputs replaced by adversarial examples, when
        ``config.adversarial`` asks for them (the recipe's, as the exported train.py does)."""
        adv = self.config.adversarial
        if not adv.on:
            return batch
        from ..recipe import adversarial_batch

        # ε is in pixel units; the batch is normalised: the recipe divides ε by the std
        norm = ctx.data.normalizer
        x = adversarial_batch(ctx.module, batch["x"], self.target(ctx, batch), ctx.loss_fn,
                              **adv.recipe_options(),
                              scale=None if norm is None else norm.scale)
        return {**batch, "x": x}

    def train_step(self, ctx: StepContext, batch: dict) -> dict[str, torch.Tensor]:
        batch = self.adversarial(ctx, batch)
        opt = ctx.optimizers[0]
        if isinstance(opt, torch.optim.LBFGS):
            return self._lbfgs_step(ctx, batch, opt)
        opt.zero_grad(set_to_none=True)
        with ctx.autocast():
            output = self.forward(ctx, batch)
            loss = self.compute_loss(ctx, output, batch)
        ctx.backward(loss + ctx.regularization())
        norm = ctx.optimizer_step(opt)
        metrics = {"loss": loss.detach(), **self.step_metrics(ctx, output, batch)}
        if norm is not None:
            metrics["grad_norm"] = norm
        return metrics

    def _lbfgs_step(self, ctx: StepContext, batch: dict, opt) -> dict[str, torch.Tensor]:
        """L-BFGS re-evaluates the loss several times per step through a closure."""
        kept: dict = {}

        def closure():
            opt.zero_grad(set_to_none=True)
            output = self.forward(ctx, batch)
            loss = self.compute_loss(ctx, output, batch)
            total = loss + ctx.regularization()
            total.backward()
            if ctx.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(
                    [p for g in opt.param_groups for p in g["params"]], ctx.grad_clip)
            kept.setdefault("output", output)
            kept.setdefault("loss", loss.detach())
            # The line search compares the values it is given with the gradients: both must be
            # those of the objective actually minimised (the loss plus the L1/L2 penalties).
            return total

        opt.step(closure)
        return {"loss": kept["loss"], **self.step_metrics(ctx, kept["output"], batch)}

    # --- evaluation ---------------------------------------------------------------------------

    def begin_eval(self, ctx: StepContext) -> None:
        """Reset whole-validation-set accumulators."""

    def eval_step(self, ctx: StepContext, batch: dict) -> dict[str, torch.Tensor]:
        """Batch-mean metrics under ``torch.no_grad`` and ``model.eval()``."""
        with ctx.autocast():
            output = self.forward(ctx, batch)
            loss = self.compute_loss(ctx, output, batch)
        return {"loss": loss.detach().float(), **self.step_metrics(ctx, output, batch)}

    def end_eval(self, ctx: StepContext) -> tuple[dict[str, float], list[Event]]:
        """Metrics over the whole validation set and extra events (e.g. a confusion matrix)."""
        return {}, []

    def model_output(self, module, x: torch.Tensor) -> torch.Tensor:
        """What a trained model gives a person for model inputs ``x`` (``netbuilder predict``,
        Try it): its first output."""
        out = module(x)
        return out[0] if isinstance(out, (tuple, list)) else out

    def dreams(self, module, n: int, seed: int) -> torch.Tensor | None:
        """``n`` samples the model makes from nothing but its own random draws (an RBM's Gibbs
        chains); None: the task has none (a generator's samples come from latent codes)."""
        return None

    def samples(self, ctx: StepContext, batch: dict) -> Samples | None:
        """A picture of what the model does on a fixed batch (called at most images_hz)."""
        return None
