"""The task half of an exported ``train.py``: its settings, training step and validation.

Every formula comes from ``recipe.py`` (the module netbuilder's trainer runs, copied beside the
script), so what is written here is the plain PyTorch around it: zero the gradients, call the
model, backward, clip, step. Supervised tasks (classify, regress, autoencode, vae, a DBN's
fine-tuning) train one module under DistributedDataParallel; GAN and RBM steps call parts of the
model, so their script averages gradients over the processes itself.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from string import Template
from textwrap import dedent

from ...compile.naming import literal


@dataclass(frozen=True)
class ScriptSpec:
    """How an exported train.py trains a task: each exportable task declares one
    (``Task.script``), so nothing here asks which task it is."""

    # the fitting loop: "supervised" (one network, train_step(net, optimizer, ...)),
    # "adversarial" (a generator and a discriminator) or None (layer-wise training only)
    step: str | None = "supervised"
    labelled: bool = True  # batches hold (x, y); else x alone
    target: str = "y"  # what a supervised step's loss compares the output with: "y" or "x"
    objective: str = "loss"  # "loss": LOSS(out, target); "elbo": reconstruction + BETA·KL
    # validation scores: "accuracy", "mae", "loss", "elbo", "adversarial"
    scores: str = "loss"
    train_names: tuple = ("loss",)  # what train_step returns, in order
    val_names: tuple | None = None  # what scores() returns (None: train_names)
    validates: bool = True  # after each epoch, when the settings hold data out
    layerwise: bool = False  # RBMs trained one after another by contrastive divergence
    pretrains: bool = False  # ...as pretraining, PRETRAIN_EPOCHS each, before the fitting


@dataclass
class TaskPlan:
    """What the script needs to know of the task (resolved by the exporter)."""

    name: str
    loss: str
    spec: ScriptSpec
    options: dict = field(default_factory=dict)
    probabilities: bool = False  # classify: the graph ends in Softmax
    penalties: list = field(default_factory=list)  # [(attribute, l1, l2)]
    generator: str = ""  # gan: attributes and noise
    discriminator: str = ""
    latent: tuple = ()
    uniform: bool = False
    scale: bool = False  # gan: data mapped to [-1, 1] for a Tanh generator
    rbms: list = field(default_factory=list)  # rbm/dbn: attributes in training order
    latent_classes: tuple = ()  # vae: class names of the layers that keep a KL term
    monitor: str = "val_loss"
    higher: bool = False
    unused_parameters: bool = False  # the forward leaves some out (an RBM's visible bias)
    frozen: list = field(default_factory=list)  # module paths of frozen nodes (FROZEN)
    start_weights: str | None = None  # the weights file --weights defaults to (the graph's)
    adversarial: dict | None = None  # recipe.adversarial_batch's settings, when it trains so

    @property
    def labelled(self) -> bool:
        return self.spec.labelled

    @property
    def denoise(self) -> bool:
        o = self.options
        return "denoise" in o and o["denoise"] != "none" and float(o["strength"]) > 0

    def train_names(self) -> list[str]:
        """The scores ``train_step`` returns, in order."""
        return list(self.spec.train_names)

    def val_names(self) -> list[str]:
        return list(self.spec.val_names or self.spec.train_names)


def exportable_tasks() -> tuple[str, ...]:
    """The tasks that declare a ``script`` (the others have no standalone train.py)."""
    from ..tasks import get_task, task_names  # (the tasks import ScriptSpec from here)

    return tuple(n for n in task_names() if get_task(n).script is not None)


def __getattr__(name: str):
    if name == "EXPORTABLE":  # the registry is read when asked: tasks may register late
        return exportable_tasks()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def validates(task: TaskPlan, config) -> bool:
    """Whether the script validates after each epoch (an RBM's script reports training only)."""
    return config.val_split > 0 and task.spec.validates


def block(text: str, **values) -> str:
    return Template(dedent(text).strip("\n")).substitute(values)


def task_parts(parts, task: TaskPlan, config) -> None:
    """Add the task's settings, ``train_step``/``cd_step`` and ``evaluate`` to ``parts``."""
    amp = config.precision in ("auto", "bf16") and config.optimizer != "lbfgs"
    task.options = {**task.options, "_amp": amp}
    _settings(parts, task, config)
    if task.penalties:
        rows = "".join(f"    ({literal(a)}, {float(l1)!r}, {float(l2)!r}),\n"
                       for a, l1, l2 in task.penalties)
        parts.constants.append(f"PENALTIES = [\n{rows}]")
        parts.block(_PENALTY)
    parts.block(_OPTIMIZER)
    if task.spec.step == "adversarial":
        _gan_step(parts, task, config)
    elif task.spec.step == "supervised":
        parts.functions.append(_supervised_step(task, config))
    if task.spec.layerwise:
        _cd_step(parts, task, config)
    if validates(task, config):
        parts.functions.append(_scores(task))
        parts.block(_EVALUATE)


def _settings(parts, task: TaskPlan, config) -> None:
    o = task.options
    betas = {"betas": list(o["betas"])} if "betas" in o and \
        config.optimizer in ("adam", "adamw") and "betas" not in config.optimizer_options \
        else {}
    optimizer = {"name": config.optimizer, "momentum": config.momentum,
                 "nesterov": config.nesterov, "weight_decay": config.weight_decay,
                 "options": {**config.optimizer_options, **betas}}
    schedule = {"kind": config.schedule, "options": dict(config.schedule_options),
                "warmup": config.warmup_steps}
    c = parts.constants
    rows = "".join(f"    {literal(k)}: {literal(v)},\n" for k, v in optimizer.items())
    c += [f"OPTIMIZER = {{\n{rows}}}", f"SCHEDULE = {literal(schedule)}",
          f"GRAD_CLIP = {float(config.grad_clip)!r}"]
    if task.spec.step == "supervised":
        c.append(f"LOSS = recipe.loss_function({literal(task.loss)}, "
                 f"probabilities={task.probabilities!r})")
    if task.frozen:
        c.append(f"FROZEN = {literal(tuple(task.frozen))}")
    if task.adversarial:
        rows = "".join(f"    {literal(k)}: {literal(v)},\n" for k, v in task.adversarial.items())
        c.append(f"# adversarial training: a share of each batch replaced by its attacks\n"
                 f"ADVERSARIAL = {{\n{rows}}}")
    if task.denoise:
        c += [f"DENOISE = {literal(o['denoise'])}", f"STRENGTH = {float(o['strength'])!r}"]
    if task.spec.objective == "elbo":
        c += [f"BETA = {float(o['beta'])!r}", f"RECONSTRUCTION = {literal(task.loss)}",
              f"LATENT = {literal(sorted(task.latent_classes))}  # layers that keep a KL term"]
    if task.spec.step == "adversarial":
        c += [f"LR_G = {float(o['lr_g'])!r}", f"LR_D = {float(o['lr_d'])!r}",
              f"D_STEPS = {int(o['d_steps'])}",
              f"REAL_LABEL = {1.0 - float(o['label_smoothing'])!r}",
              f"LOGITS = {task.loss == 'bce_logits'!r}  # the discriminator gives logits",
              f"LATENT = {literal(list(task.latent))}  # the generator's input z",
              f"UNIFORM = {task.uniform!r}  # z uniform in [-1, 1], else normal"]
    if task.spec.layerwise:
        rows = "".join(f"    {literal(name)},\n" for name in task.rbms)
        c += [f"RBMS = [\n{rows}]  # trained one after another (greedy)",
              f"CD_K = {literal(o['cd_k'])}  # Gibbs steps per update (None: each RBM's k)"]
    if task.spec.pretrains:
        c += [f"PRETRAIN_EPOCHS = {int(o['pretrain_epochs'])}",
              f"PRETRAIN_LR = {literal(o['pretrain_lr'])}  # None: the fine-tuning lr"]
    es = config.early_stopping
    monitor, higher = task.monitor, task.higher
    if es is not None and es.metric != "auto":
        monitor = es.metric
    if es is not None and es.mode != "auto":
        higher = es.mode == "max"
    if config.val_split == 0 and monitor.startswith("val_"):
        monitor = "train_" + monitor[4:]
    c += [f"MONITOR = {literal(monitor)}  # picks the best epoch",
          f"HIGHER = {higher!r}  # whether a higher {monitor} is better"]
    if es is not None:
        c += [f"PATIENCE = {int(es.patience)}  # early stopping: epochs without progress",
              f"MIN_DELTA = {float(es.min_delta)!r}", f"TARGET = {literal(es.target)}"]


_PENALTY = '''
def penalty(net):
    """The layers' L1/L2 weight penalties, added to the loss."""
    model = getattr(net, "module", net)
    return recipe.penalty(recipe.penalised_weights(model, PENALTIES))
'''

_OPTIMIZER = '''
def make_optimizer(params, lr):
    return recipe.make_optimizer(params=params, lr=lr, **OPTIMIZER)


def make_schedulers(optimizers, steps_per_epoch, epochs):
    """Warm-up, the schedule and reduce-on-plateau as one LambdaLR per optimizer, stepped
    after every optimizer step."""
    top = max(g["lr"] for optimizer in optimizers for g in optimizer.param_groups)
    rate = recipe.LearningRate(
        **SCHEDULE, steps_per_epoch=steps_per_epoch, epochs=epochs, top=top
    )
    return rate, [LambdaLR(optimizer, rate.factor) for optimizer in optimizers]
'''

_EVALUATE = '''
@torch.no_grad()
def evaluate(model, loader, device):
    """Validation scores, sample-weighted over the validation set (random draws, such as a
    VAE's z, leave the training's random stream as it was)."""
    model.eval()
    sums, n = 0.0, 0
    with recipe.rng_kept(device):
        for batch in loader:
            batch = [t.to(device) for t in batch]
            sums = sums + scores(model, *batch) * len(batch[0])
            n += len(batch[0])
    return {f"val_{k}": v for k, v in zip(VAL_NAMES, (sums / n).tolist())}
'''


def _indent(lines: list[str], pad: str) -> str:
    return "".join(f"{pad}{ln}\n" if ln else "\n" for ln in lines)


def _supervised_step(task: TaskPlan, config) -> str:
    args = "x, y" if task.labelled else "x"
    fed = "recipe.corrupt(x, DENOISE, STRENGTH)" if task.denoise else "x"
    reg = " + penalty(net)" if task.penalties else ""
    if task.spec.objective == "elbo":
        body = [f"out = net({fed})", "recon = recipe.vae_reconstruction(out, x, RECONSTRUCTION)",
                "kl = recipe.latent_kl(net, LATENT)", "loss = recon + BETA * kl"]
        result = "torch.stack([loss, recon, kl, -(recon + kl)]).detach()"
    else:
        target = task.spec.target
        body = [f"loss = LOSS(net({fed}), {target})"]
        result = "loss.detach()"
    if task.options.get("_amp"):
        body = ["with recipe.autocast(x.device):", *[f"    {ln}" for ln in body]]
    clip = ["if GRAD_CLIP:", "    torch.nn.utils.clip_grad_norm_(net.parameters(), GRAD_CLIP)"]
    backward = f"(loss{reg}).backward()" if reg else "loss.backward()"
    head = f"def train_step(net, optimizer, {args}):\n"
    # adversarial examples: made once per step (before L-BFGS's closure too)
    adv = ["plain = net.module if isinstance(net, DistributedDataParallel) else net",
           "x = recipe.adversarial_batch(plain, x, y, LOSS, **ADVERSARIAL)"] \
        if task.adversarial else []
    if config.optimizer == "lbfgs":
        lines = ["optimizer.zero_grad(set_to_none=True)", *body, backward, *clip, "return loss"]
        return (head + '    """One L-BFGS step on a batch (it re-evaluates the loss through a '
                'closure)."""\n' + _indent(adv, "    ") + '\n    def closure():\n' +
                _indent(lines, "        ") +
                "\n    return optimizer.step(closure).detach()")
    lines = [*adv, "optimizer.zero_grad(set_to_none=True)", *body, backward, *clip,
             "optimizer.step()", f"return {result}"]
    return head + '    """One optimizer step on a batch; returns its scores."""\n' + \
        _indent(lines, "    ").rstrip("\n")


def _scores(task: TaskPlan) -> str:
    doc = '    """The validation scores of one batch (VAL_NAMES)."""\n'
    kind = task.spec.scores
    if kind == "accuracy":
        lines = ["out = model(x)", "hits = (out.argmax(1) == y).float().mean()",
                 "return torch.stack([LOSS(out, y), hits])"]
        return "def scores(model, x, y):\n" + doc + _indent(lines, "    ").rstrip("\n")
    if kind == "mae":
        lines = ["out = model(x).float()", "mae = (out - y.reshape(out.shape)).abs().mean()",
                 "return torch.stack([LOSS(out, y), mae])"]
        return "def scores(model, x, y):\n" + doc + _indent(lines, "    ").rstrip("\n")
    if kind == "loss":
        fed = "recipe.corrupt(x, DENOISE, STRENGTH)" if task.denoise else "x"
        return "def scores(model, x):\n" + doc + f"    return LOSS(model({fed}), x).reshape(1)"
    if kind == "elbo":
        lines = ["for m in model.modules():  # z is drawn as in training",
                 "    if type(m).__name__ in LATENT:", "        m.train()",
                 "recon = recipe.vae_reconstruction(model(x), x, RECONSTRUCTION)",
                 "kl = recipe.latent_kl(model, LATENT)",
                 "return torch.stack([recon + BETA * kl, recon, kl, -(recon + kl)])"]
        return "def scores(model, x):\n" + doc + _indent(lines, "    ").rstrip("\n")
    if kind == "adversarial":
        lines = [f"gen, disc = model.{task.generator}, model.{task.discriminator}",
                 "fake = gen(recipe.noise(len(x), LATENT, UNIFORM, x.device))",
                 "p_real, p_fake = disc(x), disc(fake)",
                 "loss_d = bce(p_real, 1.0) + bce(p_fake, 0.0)", "loss_g = bce(p_fake, 1.0)",
                 "probs = [recipe.gan_prob(p, LOGITS) for p in (p_real, p_fake)]",
                 "return torch.stack([loss_d + loss_g, loss_d, loss_g, *probs])"]
        return "def scores(model, x):\n" + doc + _indent(lines, "    ").rstrip("\n")
    raise ValueError(f"no validation scores for the {task.name} task")


_GAN_STEP = '''
def bce(score, label):
    return recipe.gan_bce(score, label, LOGITS)


def train_step(model, opt_g, opt_d, world, real):
    """D_STEPS discriminator updates, then one generator update (non-saturating loss)."""
    gen, disc = model.$gen, model.$disc
    for _ in range(D_STEPS):
        z = recipe.noise(len(real), LATENT, UNIFORM, real.device)
        opt_d.zero_grad(set_to_none=True)
$d_forward        loss_d = bce(p_real, REAL_LABEL) + bce(p_fake, 0.0)
        $d_backward
        recipe.average_gradients(disc, world)
        if GRAD_CLIP:
            torch.nn.utils.clip_grad_norm_(disc.parameters(), GRAD_CLIP)
        opt_d.step()
    opt_g.zero_grad(set_to_none=True)
    disc.requires_grad_(False)  # the generator's step needs no discriminator gradients
$g_forward    loss_g = bce(p_gen, 1.0)
    $g_backward
    disc.requires_grad_(True)
    recipe.average_gradients(gen, world)
    if GRAD_CLIP:
        torch.nn.utils.clip_grad_norm_(gen.parameters(), GRAD_CLIP)
    opt_g.step()
    probs = [recipe.gan_prob(p, LOGITS) for p in (p_real, p_fake)]
    return torch.stack([loss_d + loss_g, loss_d, loss_g, *probs]).detach()
'''


def _gan_step(parts, task: TaskPlan, config) -> None:
    d_fwd = ["fake = gen(z)", "p_real, p_fake = disc(real), disc(fake.detach())"]
    g_fwd = ["p_gen = disc(fake)"]
    if task.options.get("_amp"):
        d_fwd = ["with recipe.autocast(real.device):", *[f"    {ln}" for ln in d_fwd]]
        g_fwd = ["with recipe.autocast(real.device):", *[f"    {ln}" for ln in g_fwd]]
    reg = " + penalty(model)" if task.penalties else ""
    parts.block(_GAN_STEP, gen=task.generator, disc=task.discriminator,
                d_forward=_indent(d_fwd, "        "), g_forward=_indent(g_fwd, "    "),
                d_backward=f"(loss_d{reg}).backward()" if reg else "loss_d.backward()",
                g_backward=f"(loss_g{reg}).backward()" if reg else "loss_g.backward()")


_CD_STEP = '''
def cd_step(model, rbm, optimizer, world, x, *labels):
    """One contrastive-divergence update of `rbm`; returns its reconstruction error."""
    v0 = recipe.rbm_visible(model, x, rbm)
    optimizer.zero_grad(set_to_none=True)
$start    loss, _, $chain = recipe.cd_loss(rbm, v0, CD_K or rbm.k$start_arg)
$keep    $backward
    recipe.average_gradients(rbm, world)
    if GRAD_CLIP:
        torch.nn.utils.clip_grad_norm_(rbm.parameters(), GRAD_CLIP)
    optimizer.step()
    return recipe.rbm_recon_error(rbm, v0)
'''


def _cd_step(parts, task: TaskPlan, config) -> None:
    if task.options.get("persistent"):
        parts.constants.append("CHAINS = {}  # persistent CD: each RBM's Gibbs chain")
        start = ("    chain = CHAINS.get(rbm)\n"
                 "    if chain is None or chain.shape[1] != v0.shape[1]:\n"
                 "        chain = torch.bernoulli(torch.full_like(v0, 0.5))\n")
        keep, chain, start_arg = "    CHAINS[rbm] = chain\n", "chain", ", chain"
    else:
        start, keep, chain, start_arg = "", "", "_", ""
    backward = "(loss + penalty(model)).backward()" if task.penalties else "loss.backward()"
    parts.block(_CD_STEP, start=start, keep=keep, chain=chain, start_arg=start_arg,
                backward=backward)


__all__ = ["ScriptSpec", "TaskPlan", "task_parts", "block", "validates", "exportable_tasks"]
