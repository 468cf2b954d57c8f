"""The training definition that netbuilder runs and that every exported project carries.

This module is the one place where the numbers of a training run are defined: the order of the
samples in each epoch, the losses, the optimizers (L-BFGS's defaults included, frozen
parameters left out), the learning-rate schedules, how frozen layers run, the images'
augmentation, a denoising autoencoder's corruption, a VAE's terms, a GAN's scores, an RBM's
contrastive-divergence loss and the FGSM/PGD examples of adversarial training. netbuilder's
trainer imports it; the exporter copies this file unchanged beside ``train.py``, which imports
it too. So the app and the exported script cannot drift apart: there is nothing to keep in step
(tests/train/test_parity.py checks the outcome).

NOTE: keep it self-contained: the standard library, numpy and torch only, never netbuilder.
Errors here are plain ``ValueError``s; netbuilder checks settings before it gets here.
"""

from __future__ import annotations

import contextlib
import math
import os

import torch
import torch.distributed as dist
import torch.nn.functional as F

# --- data order ------------------------------------------------------------------------------


class EpochSampler(torch.utils.data.Sampler):
    """The training samples' order in one epoch: a permutation drawn from ``seed`` and the
    epoch number (so a resumed run sees what an uninterrupted one saw). Under torchrun each
    of the ``world`` processes takes its own equal share."""

    def __init__(self, n, seed, rank=0, world=1, device="cpu"):
        self.n, self.seed, self.rank, self.world = n, seed, rank, world
        self.device = torch.device(device)
        self.per_rank = n // world if world > 1 else n
        self.epoch = 1

    def set_epoch(self, epoch):
        self.epoch = epoch

    def order(self):
        """This process's indices for the epoch, as a tensor on ``device``."""
        generator = torch.Generator(device=self.device)
        generator.manual_seed(self.seed + 7919 * self.epoch)
        perm = torch.randperm(self.n, generator=generator, device=self.device)
        if self.world > 1:
            perm = perm[self.rank * self.per_rank : (self.rank + 1) * self.per_rank]
        return perm

    def __iter__(self):
        return iter(self.order().tolist())

    def __len__(self):
        return self.per_rank


@contextlib.contextmanager
def rng_kept(device):
    """Run validation or a side computation without moving the training's random stream, so
    that what training draws next does not depend on what was validated or shown."""
    device = torch.device(device)
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        yield


# --- losses ----------------------------------------------------------------------------------
# Losses compute in float32 even under autocast (log/exp of bf16 lose too much) and take the
# target as prepared: class indices for cross_entropy/nll, same-shaped floats for the others.


def _float(t):
    return t.float() if torch.is_tensor(t) and t.is_floating_point() else t


def _ce(out, y):
    return F.cross_entropy(_float(out), y)


def _nll(out, y):
    return F.nll_loss(_float(out), y)


def _nll_of_probs(out, y):
    # A network ending in Softmax gives probabilities: NLL of their log is cross-entropy.
    return F.nll_loss(torch.log(_float(out).clamp_min(1e-12)), y)


def _mse(out, y):
    return F.mse_loss(_float(out), _float(y).reshape(out.shape))


def _l1(out, y):
    return F.l1_loss(_float(out), _float(y).reshape(out.shape))


def _smooth_l1(out, y):
    return F.smooth_l1_loss(_float(out), _float(y).reshape(out.shape))


def _bce(out, y):
    with torch.autocast(out.device.type, enabled=False):
        p = _float(out).clamp(1e-7, 1 - 1e-7)
        return F.binary_cross_entropy(p, _float(y).reshape(out.shape))


def _bce_logits(out, y):
    return F.binary_cross_entropy_with_logits(_float(out), _float(y).reshape(out.shape))


def contrastive_loss(distance, same, margin=1.0):
    """Hadsell et al.'s contrastive loss: pull pairs of one class together (d²), push other
    pairs at least ``margin`` apart (max(0, margin - d)²). ``same`` is 1 for a same-class pair."""
    d = _float(distance).reshape(-1)
    s = _float(same).reshape(-1)
    return (s * d.pow(2) + (1 - s) * F.relu(margin - d).pow(2)).mean() / 2


LOSSES = {
    "cross_entropy": _ce,
    "nll": _nll,
    "mse": _mse,
    "l1": _l1,
    "smooth_l1": _smooth_l1,
    "bce": _bce,
    "bce_logits": _bce_logits,
    "contrastive": contrastive_loss,
}


def loss_function(name, probabilities=False):
    """The loss ``name`` as ``f(output, target) -> scalar``; ``probabilities``: the network
    ends in Softmax, so ``nll`` takes the log first."""
    if name == "nll" and probabilities:
        return _nll_of_probs
    if name not in LOSSES:
        raise ValueError(
            f"there is no loss {name!r}; the losses are: {', '.join(LOSSES)}"
        )
    return LOSSES[name]


def penalty(layers):
    """The layers' L1/L2 weight penalties: ``layers`` holds ``(l1, l2, [weight tensors])``."""
    total = 0.0
    for l1, l2, weights in layers:
        for w in weights:
            if l1:
                total = total + l1 * w.abs().sum()
            if l2:
                total = total + l2 * w.pow(2).sum()
    return total


def penalised_weights(model, layers):
    """``(l1, l2, [weights])`` rows for ``penalty`` from ``(layer path, l1, l2)`` rows."""
    rows = []
    for path, l1, l2 in layers:
        params = model.get_submodule(path).named_parameters()
        rows.append(
            (l1, l2, [p for n, p in params if n.split(".")[-1].startswith("weight")])
        )
    return rows


def corrupt(x, kind, strength):
    """A denoising autoencoder's input: Gaussian noise of std ``strength``, or a ``strength``
    share of the values zeroed (``masking``); ``x`` itself for ``none``."""
    if kind == "gaussian" and strength > 0:
        return x + strength * torch.randn_like(x)
    if kind == "masking" and strength > 0:
        return x * (torch.rand_like(x) >= strength).to(x.dtype)
    return x


def augment(x, generator, flip=False, shift=0, rotate=0.0, noise=0.0):
    """Random augmentation of a float batch: horizontal flips (half the samples), shifts by
    up to ``shift`` whole pixels and rotations by up to ``rotate`` degrees (zero-padded), then
    Gaussian noise of std ``noise``. Flips, shifts and rotations need images (N, C, H, W).

    NOTE: the draws come from ``generator`` in this fixed order (flip mask, angles, shifts,
    noise), so a run and its exported train.py, seeded alike, augment alike."""
    n, dev = x.shape[0], x.device
    if flip:
        mask = torch.rand(n, generator=generator, device=dev) < 0.5
        x = torch.where(mask.view(n, 1, 1, 1), x.flip(-1), x)
    if shift or rotate:
        x = _shift_rotate(x, generator, int(shift), float(rotate))
    if noise:
        x = x + noise * torch.randn(
            x.shape, generator=generator, device=dev, dtype=x.dtype
        )
    return x


def _shift_rotate(x, generator, shift, rotate):
    n, _, h, w = x.shape
    dev = x.device
    theta = torch.zeros(n, 2, 3, device=dev, dtype=torch.float32)
    angle = (torch.rand(n, generator=generator, device=dev) * 2 - 1) * math.radians(
        rotate
    )
    cos, sin = torch.cos(angle), torch.sin(angle)
    # NOTE: normalised coordinates stretch x and y differently on non-square images, so the
    # rotation is scaled by the aspect ratio to stay a true rotation in pixels.
    theta[:, 0, 0], theta[:, 0, 1] = cos, -sin * h / w
    theta[:, 1, 0], theta[:, 1, 1] = sin * w / h, cos
    if shift:
        d = torch.randint(
            -shift, shift + 1, (n, 2), generator=generator, device=dev
        ).float()
        # grid_sample reads the input at theta·(output position): a shift of +d pixels reads
        # from d pixels back, i.e. -2d/size in normalised units.
        theta[:, 0, 2] = -2 * d[:, 0] / w
        theta[:, 1, 2] = -2 * d[:, 1] / h
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(
        x.float(), grid, mode="bilinear", padding_mode="zeros", align_corners=False
    )
    return out.to(x.dtype)


def vae_reconstruction(out, x, loss):
    """A VAE's reconstruction loss per sample: ``bce``, ``bce_logits`` or ``mse`` summed over
    each sample's values."""
    out = out.float().reshape(x.shape)
    target = x.float()
    with torch.autocast(out.device.type, enabled=False):
        if loss == "bce":
            recon = F.binary_cross_entropy(
                out.clamp(1e-7, 1 - 1e-7), target, reduction="sum"
            )
        elif loss == "bce_logits":
            recon = F.binary_cross_entropy_with_logits(out, target, reduction="sum")
        else:
            recon = F.mse_loss(out, target, reduction="sum")
    return recon / x.shape[0]


def latent_kl(model, class_names):
    """The sum of the KL terms kept by the model's latent-sampling layers."""
    return sum(
        m.kl.float()
        for m in model.modules()
        if type(m).__name__ in class_names and hasattr(m, "kl")
    )


def gan_bce(score, label, logits):
    """A discriminator score's binary cross-entropy against the constant ``label``."""
    score = score.float().reshape(-1)
    target = torch.full_like(score, label)
    with torch.autocast(score.device.type, enabled=False):
        if logits:
            return F.binary_cross_entropy_with_logits(score, target)
        return F.binary_cross_entropy(score.clamp(1e-7, 1 - 1e-7), target)


def gan_prob(score, logits):
    """The mean probability the discriminator gives (D(x) or D(G(z)))."""
    score = score.detach().float()
    return (torch.sigmoid(score) if logits else score).mean()


def noise(n, shape, uniform, device):
    """A generator's input z: normal, or uniform in [-1, 1]."""
    if uniform:
        return torch.rand(n, *shape, device=device) * 2 - 1
    return torch.randn(n, *shape, device=device)


class _StopForward(Exception):
    """Raised by the hook in ``rbm_visible``: the layers after the RBM need not run."""


@torch.no_grad()
def rbm_visible(model, x, rbm):
    """What reaches ``rbm``: the model's layers before it run on ``x``, the ones after do not."""
    seen = {}

    def hook(module, args):
        seen["v"] = args[0]
        raise _StopForward

    handle = rbm.register_forward_pre_hook(hook)
    try:
        model(x)
    except _StopForward:
        pass
    finally:
        handle.remove()
    return seen["v"].float().reshape(x.shape[0], -1)


def cd_loss(rbm, v0, k, start=None):
    """Contrastive divergence as a loss: F(v0) - F(vk), whose gradient is the CD-k update
    (persistent CD when ``start`` is the chain's last state). Returns the loss, F(v0) and
    the chain's new state."""
    v = v0 if start is None else start
    with torch.no_grad():
        pv = v
        for _ in range(k):
            pv, v = rbm.gibbs_step(v)
    data = rbm.free_energy(v0).mean()
    return data - rbm.free_energy(pv).mean(), data, v


@torch.no_grad()
def rbm_recon_error(rbm, v0):
    """Mean squared error of one up-down pass: how well the RBM reproduces its input."""
    return (rbm.visible_probs(rbm.hidden_probs(v0)) - v0).pow(2).mean()


# --- adversarial examples --------------------------------------------------------------------
# One FGSM/PGD implementation: adversarial training here and in train.py, and netbuilder's
# attack views and `netbuilder attack` (train/explain/adversarial.py) call these.


def input_gradient(model, x, y, loss_fn):
    """The gradient of ``loss_fn(model(x), y)`` with respect to the input ``x`` (the model's
    parameters get no gradient)."""
    x = x.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(loss_fn(model(x), y), x)
    return grad


def _into(x, x_range):
    return x if x_range is None else x.clamp(x_range[0], x_range[1])


def fgsm(model, x, y, eps, loss_fn, x_range=None):
    """Goodfellow et al.'s fast gradient sign method: ``x + eps * sign(grad_x loss)``, clamped
    into ``x_range`` when given."""
    return _into(
        x.detach() + eps * input_gradient(model, x, y, loss_fn).sign(), x_range
    )


def pgd(
    model,
    x,
    y,
    eps,
    loss_fn,
    steps=10,
    step_size=None,
    x_range=None,
    random_start=True,
    generator=None,
):
    """Madry et al.'s projected gradient descent: ``steps`` signed-gradient steps of
    ``step_size`` (default 2.5 * eps / steps), each projected back into the L-infinity ball of
    radius ``eps`` around ``x`` (and into ``x_range``). ``eps`` and ``step_size`` may be
    tensors broadcasting against ``x`` (a radius per channel). The random start draws from
    ``generator`` (torch's own stream when None)."""
    x = x.detach()
    step = 2.5 * eps / steps if step_size is None else step_size
    adv = x.clone()
    if random_start and bool(
        torch.any(torch.as_tensor(eps) > 0)
    ):  # ε: a number or tensor
        noise = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        adv = _into(adv + (noise * 2 - 1) * eps, x_range)
    for _ in range(steps):
        adv = adv + step * input_gradient(model, adv, y, loss_fn).sign()
        adv = _into(torch.max(torch.min(adv, x + eps), x - eps), x_range)
    return adv.detach()


def adversarial_batch(
    model,
    x,
    y,
    loss_fn,
    method="fgsm",
    eps=0.1,
    fraction=0.5,
    steps=7,
    step_size=None,
    scale=None,
):
    """Adversarial training's batch: its first ``round(fraction * N)`` samples replaced by
    their FGSM or PGD examples against ``model`` (the samples are in random order already).

    NOTE: the examples are made with the model in inference mode, so making them neither
    moves BatchNorm's running statistics nor draws dropout masks; ``model`` is the plain
    module (not a DistributedDataParallel wrapper, whose forward expects a backward through
    the parameters).

    ``eps`` and ``step_size`` are in pixel units: the inputs' own scale before normalisation
    (0-1 for pictures). ``x`` arrives normalised, divided by ``scale`` (the normalisation's
    per-channel or per-feature std, shaped like one sample's statistics; None: not
    normalised), so the attack moves it by ``eps / scale``: each pixel by at most ``eps``."""
    k = round(fraction * len(x))
    if method == "none" or k == 0 or eps <= 0:
        return x
    if method not in ("fgsm", "pgd"):
        raise ValueError(
            f"unknown adversarial method {method!r}; the methods are fgsm, pgd"
        )
    if scale is not None:
        scale = torch.as_tensor(scale, dtype=x.dtype, device=x.device)
        eps = eps / scale
        step_size = None if step_size is None else step_size / scale
    training = model.training
    model.eval()
    try:
        with torch.autocast(x.device.type, enabled=False):
            if method == "fgsm":
                adv = fgsm(model, x[:k], y[:k], eps, loss_fn)
            else:
                adv = pgd(model, x[:k], y[:k], eps, loss_fn, steps, step_size)
    finally:
        model.train(training)
    return torch.cat([adv.to(x.dtype), x[k:]]) if k < len(x) else adv.to(x.dtype)


# --- optimizers and schedules ----------------------------------------------------------------

OPTIMIZERS = {
    "sgd": "SGD",
    "rmsprop": "RMSprop",
    "adagrad": "Adagrad",
    "adadelta": "Adadelta",
    "adam": "Adam",
    "adamw": "AdamW",
    "lbfgs": "LBFGS",
}
LBFGS_DEFAULTS = {"max_iter": 5, "history_size": 20, "line_search_fn": "strong_wolfe"}


class NothingToTrain(ValueError):
    """Every parameter given to an optimizer is frozen."""


def make_optimizer(
    name, params, lr, momentum=0.9, nesterov=False, weight_decay=0.0, options=None
):
    """The torch optimizer ``name`` over ``params``; ``options`` are its other keywords.
    Frozen parameters (``requires_grad`` False) are left out: no step, no weight decay."""
    extra = dict(options or {})
    if "betas" in extra:
        extra["betas"] = tuple(extra["betas"])
    given = list(params)
    params = [p for p in given if not isinstance(p, torch.Tensor) or p.requires_grad]
    if given and not params:
        raise NothingToTrain("Nothing to train: every parameter is frozen")
    if name == "sgd":
        return torch.optim.SGD(
            params,
            lr=lr,
            momentum=momentum,
            weight_decay=weight_decay,
            nesterov=nesterov,
            **extra,
        )
    if name == "lbfgs":
        return torch.optim.LBFGS(params, lr=lr, **{**LBFGS_DEFAULTS, **extra})
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}")
    return getattr(torch.optim, OPTIMIZERS[name])(
        params, lr=lr, weight_decay=weight_decay, **extra
    )


class LearningRate:
    """The learning-rate multiplier at each optimizer step: warm-up × the schedule (step,
    exponential, cosine, one_cycle) × reduce-on-plateau. ``factor`` suits
    ``torch.optim.lr_scheduler.LambdaLR`` stepped once per optimizer step; ``end_epoch``
    takes the epoch's validation loss (plateau)."""

    def __init__(
        self, kind="none", options=None, warmup=0, steps_per_epoch=1, epochs=1, top=1.0
    ):
        self.kind, self.opts, self.warmup = kind, dict(options or {}), warmup
        self.steps_per_epoch = max(1, steps_per_epoch)
        self.epochs = max(1, epochs)
        self.total = self.steps_per_epoch * self.epochs
        self.top = (
            top  # the largest base learning rate (cosine's floor, one-cycle's peak)
        )
        self.plateau, self.best, self.bad_epochs = 1.0, None, 0

    def _opt(self, key, default):
        return float(self.opts.get(key, default))

    def factor(self, step):
        """Multiplier of the base learning rate for optimizer step ``step`` (0-based)."""
        epoch = step // self.steps_per_epoch
        kind = self.kind
        if kind == "step":
            size = max(1, int(self._opt("step_size", max(1, self.epochs // 3))))
            f = self._opt("gamma", 0.1) ** (epoch // size)
        elif kind == "exponential":
            f = self._opt("gamma", 0.95) ** epoch
        elif kind == "cosine":
            lo = self._opt("min_lr", 0.0) / self.top
            f = lo + (1 - lo) * 0.5 * (
                1 + math.cos(math.pi * min(step, self.total) / self.total)
            )
        elif kind == "one_cycle":
            f = self._one_cycle(step)
        elif kind == "plateau":
            f = self.plateau
        else:
            f = 1.0
        if self.warmup and step < self.warmup:
            f *= (step + 1) / self.warmup
        return f

    def _one_cycle(self, step):
        peak = self._opt("max_lr", self.top) / self.top
        start = peak / self._opt("div_factor", 25.0)
        end = start / self._opt("final_div_factor", 1e4)
        up = max(1, int(self._opt("pct_start", 0.3) * self.total))
        t = min(step, self.total)
        a, b, frac = (
            (start, peak, t / up)
            if t <= up
            else (peak, end, (t - up) / max(1, self.total - up))
        )
        return b + (a - b) * 0.5 * (1 + math.cos(math.pi * frac))

    def end_epoch(self, metric):
        """Reduce-on-plateau bookkeeping after an epoch (``metric``: lower is better)."""
        if self.kind != "plateau" or metric is None or not math.isfinite(metric):
            return
        if self.best is None or metric < self.best - 1e-12:
            self.best, self.bad_epochs = metric, 0
            return
        self.bad_epochs += 1
        if self.bad_epochs > int(self._opt("patience", 3)):
            floor = self._opt("min_lr", 0.0) / self.top
            self.plateau = max(self.plateau * self._opt("factor", 0.1), floor)
            self.bad_epochs = 0

    def state_dict(self):
        return {
            "plateau_factor": self.plateau,
            "best": self.best,
            "bad_epochs": self.bad_epochs,
        }

    def load_state_dict(self, state):
        self.plateau = float(state.get("plateau_factor", 1.0))
        self.best = state.get("best")
        self.bad_epochs = int(state.get("bad_epochs", 0))


# --- frozen layers ---------------------------------------------------------------------------


def freeze(model, paths):
    """Freeze the parameters under the module paths ``paths`` and keep those modules in
    inference mode; returns the number of frozen parameter values.

    NOTE: a frozen BatchNorm normalises with its running statistics and never updates them,
    and a Dropout inside a frozen block is off, as Keras does with ``trainable = False`` and
    torchvision's detection backbones with ``FrozenBatchNorm2d``: statistics of a small new
    dataset must not overwrite those the pretrained weights were learned with.
    """
    paths = tuple(paths)
    frozen = 0
    for name, p in model.named_parameters():
        if any(name == f or name.startswith(f + ".") for f in paths):
            p.requires_grad_(False)
            frozen += p.numel()
    for path in paths:
        try:
            sub = model.get_submodule(path)
        except AttributeError:
            continue  # a learned tensor (a Parameter node), not a module
        _stay_in_eval(sub)
    return frozen


def _stay_in_eval(sub):
    """Keep ``sub`` (and what it holds) in eval mode whatever ``model.train()`` says."""

    def train(mode=True):
        return torch.nn.Module.train(sub, False)

    # NOTE: an instance attribute, found before the class's method: the parent's
    # ``train(mode)`` reaches every child through ``child.train(mode)``.
    sub.train = train
    sub.eval()


# --- processes and files (what an exported train.py needs; netbuilder has its own run store) ---


def autocast(device):
    """bf16 mixed precision on GPUs that have it (netbuilder's "auto" precision)."""
    bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)


def average_gradients(module, world):
    """Average gradients over the processes (this task trains parts of the model in turn, so
    it syncs them itself instead of through DistributedDataParallel)."""
    if world > 1:
        for p in module.parameters():
            if p.grad is not None:
                dist.all_reduce(p.grad)
                p.grad /= world


def setup(device_name):
    """Rank, number of processes and device; joins the process group under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device_name == "auto":
        device_name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(device_name)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", local_rank)
    if world > 1:
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return rank, world, device


def load_weights(path):
    """A state dict from .safetensors (needs the safetensors package) or a .pt file."""
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file

        return load_file(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 (unreadable, damaged or refused by weights_only: all one answer)
        # damaged, or Python objects that could run code: never loaded unsafely
        raise SystemExit(
            f"{path}: cannot read the weights: it is damaged, or it holds Python "
            "objects besides tensors (not loaded: they could run code)"
        ) from None


def save_weights(model, folder, name="weights"):
    """NAME.safetensors when safetensors is installed, else NAME.pt."""
    os.makedirs(folder, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    try:
        from safetensors.torch import save_file
    except ImportError:
        path = os.path.join(folder, f"{name}.pt")
        torch.save(state, path)
        return path
    path = os.path.join(folder, f"{name}.safetensors")
    save_file(state, path)
    return path
