"""The task half of an exported ``train.py``: loss, training step, validation and ``main``.

Supervised tasks (classify, regress, autoencode, vae) train one module under
DistributedDataParallel. GAN, RBM and DBN call parts of the model separately (the generator, the
discriminator, one RBM at a time), so their script averages gradients over the processes itself.
Every formula follows the netbuilder task it comes from (``netbuilder/train/tasks``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from string import Template
from textwrap import dedent

from ...compile.naming import literal

SUPERVISED = ("classify", "regress", "autoencode", "vae")
EXPORTABLE = (*SUPERVISED, "gan", "rbm", "dbn")


@dataclass
class TaskPlan:
    """What the script needs to know of the task (resolved by the exporter)."""

    name: str
    loss: str
    options: dict = field(default_factory=dict)
    probabilities: bool = False  # classify: the graph ends in Softmax
    penalties: list = field(default_factory=list)  # [(attribute, l1, l2)]
    generator: str = ""  # gan: attributes and noise
    discriminator: str = ""
    latent: tuple = ()
    uniform: bool = False
    scale: bool = False  # gan: data mapped to [-1, 1] for a Tanh generator
    rbms: list = field(default_factory=list)  # rbm/dbn: attributes in training order
    monitor: str = "val_loss"
    higher: bool = False
    unused_parameters: bool = False  # the forward leaves some out (an RBM's visible bias)
    frozen: list = field(default_factory=list)  # module paths of frozen nodes (FROZEN)
    start_weights: str | None = None  # the weights file --weights defaults to (the graph's)

    @property
    def labelled(self) -> bool:
        return self.name in ("classify", "regress", "dbn")

    def main(self, cls: str, data, config) -> str:
        return _main(self, cls, data, config)


def _block(text: str, **values) -> str:
    return Template(dedent(text).strip("\n")).substitute(values)


def loss_expression(name: str, out: str, target: str, probabilities: bool = False) -> str:
    """netbuilder's loss ``name`` as one expression (float32, target shaped like the output)."""
    shaped = f"{target}.reshape({out}.shape)"
    return {
        "cross_entropy": f"F.cross_entropy({out}.float(), {target})",
        "nll": (f"F.nll_loss(torch.log({out}.float().clamp_min(1e-12)), {target})"
                if probabilities else f"F.nll_loss({out}.float(), {target})"),
        "mse": f"F.mse_loss({out}.float(), {shaped})",
        "l1": f"F.l1_loss({out}.float(), {shaped})",
        "smooth_l1": f"F.smooth_l1_loss({out}.float(), {shaped})",
        "bce": f"F.binary_cross_entropy({out}.float().clamp(1e-7, 1 - 1e-7), {shaped})",
        "bce_logits": f"F.binary_cross_entropy_with_logits({out}.float(), {shaped})",
    }[name]


# --- shared pieces -----------------------------------------------------------------------------

def optimizer_source(config, betas=None, frozen: bool = False) -> str:
    """``make_optimizer(params, lr)`` for the config's optimizer and its settings."""
    name = config.optimizer
    cls = {"sgd": "SGD", "rmsprop": "RMSprop", "adagrad": "Adagrad", "adadelta": "Adadelta",
           "adam": "Adam", "adamw": "AdamW", "lbfgs": "LBFGS"}[name]
    kw = {}
    if name == "sgd":
        kw["momentum"] = config.momentum
        if config.nesterov:
            kw["nesterov"] = True
    if config.weight_decay and name != "lbfgs":
        kw["weight_decay"] = config.weight_decay
    extra = dict(config.optimizer_options)
    if betas is not None and name in ("adam", "adamw") and "betas" not in extra:
        extra["betas"] = list(betas)
    if name == "lbfgs":
        extra = {"max_iter": 5, "history_size": 20, "line_search_fn": "strong_wolfe", **extra}
    kw.update({k: tuple(v) if k == "betas" else v for k, v in extra.items()})
    from ..config import OPTIMIZER_OPTIONS
    from .script import call

    for k in kw:  # keyword names from the file: only those the optimizer takes (validated)
        if k not in {*OPTIMIZER_OPTIONS[name], "momentum", "nesterov", "weight_decay"}:
            raise ValueError(f"{name} takes no option {k!r}")
    args = ["params", "lr=lr", *(f"{k}={literal(v)}" for k, v in kw.items())]
    head = f"optimizer = torch.optim.{cls}("
    keep = "    params = [p for p in params if p.requires_grad]  # not the frozen ones\n" \
        if frozen else ""
    return (f"def make_optimizer(params, lr):\n{keep}"
            f"{call(4, head, args)}\n"
            f"    for group in optimizer.param_groups:\n"
            f"        group[\"initial_lr\"] = lr\n"
            f"    return optimizer")


def schedule_source(config) -> str | None:
    """``lr_factor(step, steps_per_epoch, epochs)`` as netbuilder's Schedule computes it."""
    kind, o, warm = config.schedule, config.schedule_options, config.warmup_steps
    if kind in ("none", "plateau") and not warm:
        return None
    body = []
    if kind in ("step", "exponential"):
        body.append("    epoch = step // steps_per_epoch")
    if kind == "step":
        size = f"{int(o['step_size'])}" if "step_size" in o else "max(1, epochs // 3)"
        body.append(f"    f = {float(o.get('gamma', 0.1))!r} ** (epoch // {size})")
    elif kind == "exponential":
        body.append(f"    f = {float(o.get('gamma', 0.95))!r} ** epoch")
    elif kind == "cosine":
        body += ["    total = steps_per_epoch * epochs",
                 f"    low = {float(o.get('min_lr', 0.0))!r} / LR",
                 "    f = low + (1 - low) * 0.5 * (1 + math.cos(math.pi * min(step, total) / "
                 "total))"]
    elif kind == "one_cycle":
        peak = f"{float(o['max_lr'])!r} / LR" if "max_lr" in o else "1.0"
        body += ["    total = steps_per_epoch * epochs",
                 f"    peak = {peak}",
                 f"    start = peak / {float(o.get('div_factor', 25.0))!r}",
                 f"    end = start / {float(o.get('final_div_factor', 1e4))!r}",
                 f"    up = max(1, int({float(o.get('pct_start', 0.3))!r} * total))",
                 "    t = min(step, total)",
                 "    if t <= up:",
                 "        a, b, frac = start, peak, t / up",
                 "    else:",
                 "        a, b, frac = peak, end, (t - up) / max(1, total - up)",
                 "    f = b + (a - b) * 0.5 * (1 + math.cos(math.pi * frac))"]
    else:
        body.append("    f = 1.0")
    if warm:
        body += [f"    if step < {warm}:", f"        f *= (step + 1) / {warm}"]
    what = kind if kind not in ("none", "plateau") else "constant"
    return ("def lr_factor(step, steps_per_epoch, epochs):\n"
            f"    \"\"\"The learning-rate multiplier at optimizer step `step` ({what}"
            f"{f', {warm} warm-up steps' if warm else ''}).\"\"\"\n"
            + "\n".join(body) + "\n    return f")


_SET_LR = '''
def set_lr(optimizers, factor):
    for optimizer in optimizers:
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"] * factor
'''

_AUTOCAST = '''
def autocast(device):
    """bf16 mixed precision on GPUs that have it (netbuilder's "auto" precision)."""
    bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)
'''

_PENALTY = '''
def penalty(model):
    """The layers' L1/L2 weight penalties, added to the loss."""
    total = 0.0
    for layer, l1, l2 in PENALTIES:
        for name, w in model.get_submodule(layer).named_parameters():
            if name.split(".")[-1].startswith("weight"):
                total = total + l1 * w.abs().sum() + l2 * w.pow(2).sum()
    return total
'''

_AVERAGE = '''
def average_gradients(module, world):
    """Average gradients over the processes (this task trains parts of the model in turn, so
    it syncs them itself instead of through DistributedDataParallel)."""
    if world > 1:
        for p in module.parameters():
            if p.grad is not None:
                dist.all_reduce(p.grad)
                p.grad /= world
'''


def task_parts(parts, task: TaskPlan, config) -> None:
    """Add the task's functions and constants to the script ``parts``."""
    amp = config.precision in ("auto", "bf16") and config.optimizer != "lbfgs"
    task.options = {**task.options, "_amp": amp}
    if amp:
        parts.block(_AUTOCAST)
    if task.penalties:
        rows = "".join(f"    ({literal(a)}, {float(l1)!r}, {float(l2)!r}),\n"
                       for a, l1, l2 in task.penalties)
        parts.constants.append(f"PENALTIES = [\n{rows}]")
        parts.block(_PENALTY)
    if task.name == "gan":
        betas = task.options.get("betas", (0.5, 0.999))
        parts.functions.append(optimizer_source(config, betas, bool(task.frozen)))
    else:
        parts.functions.append(optimizer_source(config, frozen=bool(task.frozen)))
    sched = schedule_source(config)
    if sched:
        parts.stdlib.add("import math")
        parts.functions.append(sched)
    if sched or config.schedule == "plateau":
        parts.block(_SET_LR)
    if task.name in SUPERVISED or task.name == "dbn":
        from .supervised import supervised_parts

        supervised_parts(parts, task, config)
    if task.name in ("gan", "rbm", "dbn"):
        parts.block(_AVERAGE)
        from .generative import generative_parts

        generative_parts(parts, task, config)


def _main(task: TaskPlan, cls: str, data, config) -> str:
    if task.name == "gan":
        from .generative import gan_main

        return gan_main(task, cls, data, config)
    if task.name == "rbm":
        from .generative import rbm_main

        return rbm_main(task, cls, data, config)
    from .supervised import supervised_main

    return supervised_main(task, cls, data, config)


__all__ = ["TaskPlan", "task_parts", "loss_expression", "EXPORTABLE", "SUPERVISED"]
