"""The script parts of the GAN, RBM and DBN tasks: alternating generator/discriminator updates,
greedy contrastive-divergence pre-training of RBMs (then fine-tuning, for a DBN)."""
from __future__ import annotations

from string import Template
from textwrap import dedent

from ...compile.naming import literal
from .supervised import batch_lines, data_lines, finish_lines, lr_line, stepped
from .tasks import TaskPlan


def _block(text: str, **values) -> str:
    return Template(dedent(text).strip("\n")).substitute(values)


_GAN_STEP = '''
def train_step(model, opt_g, opt_d, real, world):
    """D_STEPS discriminator updates, then one generator update (non-saturating loss)."""
    gen, disc = model.$gen, model.$disc
    for _ in range(D_STEPS):
        opt_d.zero_grad(set_to_none=True)
$d_forward        loss_d = bce(p_real, REAL_LABEL) + bce(p_fake, 0.0)
        $d_backward
        average_gradients(disc, world)
$d_clip        opt_d.step()
    opt_g.zero_grad(set_to_none=True)
    disc.requires_grad_(False)  # the generator's step needs no discriminator gradients
$g_forward    loss_g = bce(p_gen, 1.0)
    $g_backward
    disc.requires_grad_(True)
    average_gradients(gen, world)
$g_clip    opt_g.step()
    scores = [loss_d + loss_g, loss_d, loss_g, prob(p_real), prob(p_fake)]
    return torch.stack(scores).detach()
'''

_GAN_EVAL = '''
@torch.no_grad()
def evaluate(model, x):
    """Validation losses and mean scores D(x), D(G(z)) (in batches of 256)."""
    model.eval()
    gen, disc = model.$gen, model.$disc
    sums = torch.zeros(5, device=x.device)
    for i in range(0, len(x), 256):
        real = x[i : i + 256]
        p_real, p_fake = disc(real), disc(gen(noise(len(real), real.device)))
        loss_d, loss_g = bce(p_real, 1.0) + bce(p_fake, 0.0), bce(p_fake, 1.0)
        scores = [loss_d + loss_g, loss_d, loss_g, prob(p_real), prob(p_fake)]
        sums += torch.stack(scores) * len(real)
    return {f"val_{k}": v for k, v in zip(NAMES, (sums / len(x)).tolist())}
'''

_VISIBLE = '''
class StopForwardError(Exception):
    """Raised by the hook in `visible`: the layers after the RBM need not run."""


def visible(model, x, rbm):
    """What reaches `rbm`: the layers before it run on x, the ones after it do not."""
    seen = {}

    def hook(module, args):
        seen["v"] = args[0]
        raise StopForwardError

    handle = rbm.register_forward_pre_hook(hook)
    try:
        with torch.no_grad(), contextlib.suppress(StopForwardError):
            model(x)
    finally:
        handle.remove()
    return seen["v"].float().reshape(len(x), -1)
'''

_CD_STEP = '''
def cd_step(rbm, v0, optimizer, world):
    """One contrastive-divergence update: F(v0) - F(v_k) has the CD-k update as gradient."""
    $start
    with torch.no_grad():
        for _ in range(CD_K or rbm.k):
            pv, v = rbm.gibbs_step(v)
$keep    optimizer.zero_grad(set_to_none=True)
    loss = rbm.free_energy(v0).mean() - rbm.free_energy(pv).mean()
    loss.backward()
    average_gradients(rbm, world)
    optimizer.step()
    with torch.no_grad():
        return (rbm.visible_probs(rbm.hidden_probs(v0)) - v0).pow(2).mean()
'''

_PRETRAIN = '''
def pretrain(model, name, x, epochs, lr, args, rank, world):
    """Greedy contrastive-divergence training of the RBM `name` for `epochs` epochs."""
    rbm = getattr(model, name)
    optimizer = make_optimizer(rbm.parameters(), lr)
    shuffle = torch.Generator(device=x.device).manual_seed(SEED)
    n = len(x) // world
$steps    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        model.train()
        perm = torch.randperm(len(x), generator=shuffle, device=x.device)
        perm = perm[rank * n : (rank + 1) * n]
        total = torch.zeros((), device=x.device)
        for start in range(0, n, args.batch_size):
            v0 = visible(model, x[perm[start : start + args.batch_size]], rbm)
$lr            total += cd_step(rbm, v0, optimizer, world) * len(v0)
$step        if rank == 0:
            seconds = time.perf_counter() - started
            error = total.item() / n
            print(f"{name} {epoch}/{epochs}  recon_error {error:.4f}  {seconds:.1f} s")
'''


def generative_parts(parts, task: TaskPlan, config) -> None:
    if task.name == "gan":
        _gan_parts(parts, task, config)
        return
    parts.stdlib.add("import contextlib")
    rows = "".join(f"    {literal(name)},\n" for name in task.rbms)
    parts.constants.append(f"RBMS = [\n{rows}]  # trained one after another (greedy)")
    k = task.options.get("cd_k")
    parts.constants.append(
        f"CD_K = {literal(k)}  # Gibbs steps per update (None: each RBM's own k)")
    if task.name == "dbn":
        lr = task.options.get("pretrain_lr")
        parts.constants.append(f"PRETRAIN_EPOCHS = {int(task.options.get('pretrain_epochs', 5))}")
        parts.constants.append(
            f"PRETRAIN_LR = {literal(lr)}  # None: the fine-tuning learning rate")
    parts.block(_VISIBLE)
    if task.options.get("persistent"):
        parts.constants.append("CHAINS = {}  # persistent CD: each RBM's Gibbs chain")
        start = ("v = CHAINS.get(id(rbm))\n    if v is None or v.shape[1] != v0.shape[1]:\n"
                 "        v = torch.bernoulli(torch.full_like(v0, 0.5))\n    pv = v")
        keep = "    CHAINS[id(rbm)] = v\n"
    else:
        start, keep = "pv = v = v0", ""
    parts.functions.append(_block(_CD_STEP, start=start, keep=keep))
    lr, steps = lr_line(config, "[optimizer]", "epochs"), stepped(config)
    parts.functions.append(_block(
        _PRETRAIN, steps="    steps_per_epoch, step = -(-n // args.batch_size), 0\n" if steps
        else "", lr="".join(f"            {ln}\n" for ln in lr),
        step="            step += 1\n" if steps else ""))


def _gan_parts(parts, task: TaskPlan, config) -> None:
    parts.third.add("import torch.nn.functional as F")
    o = task.options
    parts.constants += [f"LR_G = {float(o.get('lr_g', 2e-4))!r}",
                        f"LR_D = {float(o.get('lr_d', 2e-4))!r}",
                        f"D_STEPS = {int(o.get('d_steps', 1))}",
                        f"REAL_LABEL = {1.0 - float(o.get('label_smoothing', 0.0))!r}",
                        'NAMES = ["loss", "loss_d", "loss_g", "d_x", "d_g_z"]']
    dims = ", ".join(str(int(d)) for d in task.latent)
    draw = (f"torch.rand(n, {dims}, device=device) * 2 - 1" if task.uniform else
            f"torch.randn(n, {dims}, device=device)")
    what = "uniform in [-1, 1]" if task.uniform else "normal"
    parts.functions.append(
        "def noise(n, device):\n"
        f"    \"\"\"The generator's input z: {what} noise of shape (n, {dims}).\"\"\"\n"
        f"    return {draw}")
    if task.loss == "bce_logits":
        bce = "F.binary_cross_entropy_with_logits(score, target)"
        prob = "torch.sigmoid(score.detach().float()).mean()"
    else:
        bce = "F.binary_cross_entropy(score.clamp(1e-7, 1 - 1e-7), target)"
        prob = "score.detach().float().mean()"
    parts.functions.append(
        "def bce(score, label):\n    score = score.float().reshape(-1)\n"
        f"    target = torch.full_like(score, label)\n    return {bce}")
    parts.functions.append(f"def prob(score):\n    return {prob}")
    amp = task.options.get("_amp")
    d_fwd = ["z = noise(len(real), real.device)", "fake = gen(z)",
             "p_real, p_fake = disc(real), disc(fake.detach())"]
    g_fwd = ["p_gen = disc(fake)"]
    if amp:
        d_fwd = ["with autocast(real.device):", *[f"    {ln}" for ln in d_fwd]]
        g_fwd = ["with autocast(real.device):", *[f"    {ln}" for ln in g_fwd]]
    reg = " + penalty(model)" if task.penalties else ""
    clip = config.grad_clip

    def clip_line(net: str, indent: str) -> str:
        return (f"{indent}torch.nn.utils.clip_grad_norm_({net}.parameters(), {clip!r})\n"
                if clip > 0 else "")

    parts.functions.append(_block(
        _GAN_STEP, gen=task.generator, disc=task.discriminator,
        d_forward="".join(f"        {ln}\n" for ln in d_fwd),
        g_forward="".join(f"    {ln}\n" for ln in g_fwd),
        d_backward=f"(loss_d{reg}).backward()" if reg else "loss_d.backward()",
        g_backward=f"(loss_g{reg}).backward()" if reg else "loss_g.backward()",
        d_clip=clip_line("disc", "        "), g_clip=clip_line("gen", "    ")))
    if config.val_split > 0:
        parts.functions.append(_block(_GAN_EVAL, gen=task.generator, disc=task.discriminator))


# --- main --------------------------------------------------------------------------------------

def gan_main(task: TaskPlan, cls: str, data, config) -> str:
    from .script import model_lines

    lines = ["args = parse_args()", "rank, world, device = setup(args.device)",
             "torch.manual_seed(SEED)", *data_lines(task, data, config, False),
             *model_lines(cls, task),
             f"opt_g = make_optimizer(model.{task.generator}.parameters(), args.lr or LR_G)",
             f"opt_d = make_optimizer(model.{task.discriminator}.parameters(), args.lr or LR_D)",
             "shuffle = torch.Generator(device=device).manual_seed(SEED)",
             "n = len(train_set[0]) // world"]
    lr = lr_line(config, "[opt_g, opt_d]")
    if stepped(config):
        lines.append("steps_per_epoch, step = -(-n // args.batch_size), 0")
    inner = [*batch_lines(config, data), *lr,
             "total += train_step(model, opt_g, opt_d, batch[0], world) * len(idx)"]
    if stepped(config):
        inner.append("step += 1")
    evaluate = ["    metrics.update(evaluate(model, *val_set))"] if config.val_split > 0 else []
    loop = ["started = time.perf_counter()", "model.train()",
            "perm = torch.randperm(len(train_set[0]), generator=shuffle, device=device)",
            "perm = perm[rank * n : (rank + 1) * n]",
            "total = torch.zeros(5, device=device)",
            "for start in range(0, n, args.batch_size):", *[f"    {ln}" for ln in inner],
            "if rank == 0:", "    metrics = dict(zip(NAMES, (total / n).tolist()))", *evaluate,
            "    text = \"  \".join(f\"{k} {v:.4f}\" for k, v in metrics.items())",
            "    seconds = time.perf_counter() - started",
            "    print(f\"epoch {epoch}/{args.epochs}  {text}  ({seconds:.1f} s)\", flush=True)"]
    lines += ["for epoch in range(1, args.epochs + 1):", *[f"    {ln}" for ln in loop]]
    lines += finish_lines()
    return "def main():\n" + "\n".join(f"    {ln}" for ln in lines)


def pretrain_lines(task: TaskPlan, config) -> list[str]:
    """A DBN's greedy pre-training, before fine-tuning the whole network."""
    return ["for name in RBMS:",
            "    lr = args.lr if PRETRAIN_LR is None else PRETRAIN_LR",
            "    pretrain(model, name, train_set[0], PRETRAIN_EPOCHS, lr, args, rank, world)"]


def rbm_main(task: TaskPlan, cls: str, data, config) -> str:
    from .script import model_lines

    lines = ["args = parse_args()", "rank, world, device = setup(args.device)",
             "torch.manual_seed(SEED)", *data_lines(task, data, config, False, False),
             *model_lines(cls, task),
             "for name in RBMS:",
             "    pretrain(model, name, train_set[0], args.epochs, args.lr, args, rank, world)"]
    lines += finish_lines()
    return "def main():\n" + "\n".join(f"    {ln}" for ln in lines)


__all__ = ["generative_parts", "gan_main", "rbm_main", "pretrain_lines"]
