"""The script parts of the supervised tasks (classify, regress, autoencode, vae) and ``main``
for them and for a DBN's fine-tuning: one module trained under DistributedDataParallel."""
from __future__ import annotations

from ...compile.naming import literal
from .tasks import TaskPlan, loss_expression

_VAE_LOSS = '''
def vae_loss(model, out, x):
    """Reconstruction ($recon_name, summed per sample) + BETA × KL, as netbuilder's vae task."""
    out = out.float().reshape(x.shape)$clamp
    recon = $recon / len(x)
    layers = [m for m in model.modules() if type(m).__name__ == "Reparameterize"]
    kl = sum(m.kl.float() for m in layers)
    return recon + BETA * kl, recon, kl
'''

_VAE_EVAL = '''
@torch.no_grad()
def evaluate(model, x):
    """Validation loss, reconstruction, KL and ELBO per sample; z is drawn as in training."""
    model.eval()
    for m in model.modules():
        if type(m).__name__ == "Reparameterize":
            m.train()
    sums = torch.zeros(2, device=x.device)
    for i in range(0, len(x), 256):
        _, recon, kl = vae_loss(model, model(x[i : i + 256]), x[i : i + 256])
        sums += torch.stack([recon, kl]) * len(x[i : i + 256])
    recon, kl = (sums / len(x)).tolist()
    return {
        "val_loss": recon + BETA * kl,
        "val_recon": recon,
        "val_kl": kl,
        "val_elbo": -(recon + kl),
    }
'''


def supervised_parts(parts, task: TaskPlan, config) -> None:
    parts.third |= {"from torch.nn.parallel import DistributedDataParallel",
                    "import torch.nn.functional as F"}
    name = "classify" if task.name == "dbn" else task.name
    if name == "vae":
        recon = {
            "bce": "F.binary_cross_entropy(out, x, reduction=\"sum\")",
            "bce_logits": "F.binary_cross_entropy_with_logits(out, x, reduction=\"sum\")",
            "mse": "F.mse_loss(out, x, reduction=\"sum\")"}[task.loss]
        parts.constants.append(f"BETA = {float(task.options.get('beta', 1.0))!r}")
        clamp = ".clamp(1e-7, 1 - 1e-7)" if task.loss == "bce" else ""
        parts.block(_VAE_LOSS, recon=recon, recon_name=task.loss, clamp=clamp)
    else:
        target = "target"
        parts.functions.append(
            "def loss_fn(out, target):\n"
            f"    return {loss_expression(task.loss, 'out', target, task.probabilities)}")
    if name == "autoencode":
        _corrupt(parts, task.options)
    parts.functions.append(_train_step(name, task, config))
    if config.val_split > 0:
        parts.functions.append(_evaluate(name, task))


def _corrupt(parts, options: dict) -> None:
    kind, s = options.get("denoise", "none"), float(options.get("strength", 0.2))
    if kind == "gaussian" and s > 0:
        body, doc = f"x + {s!r} * torch.randn_like(x)", f"Gaussian noise of std {s:g}"
    elif kind == "masking" and s > 0:
        body, doc = f"x * (torch.rand_like(x) >= {s!r}).to(x.dtype)", f"{s:.0%} of inputs zeroed"
    else:
        return
    parts.functions.append(f'def corrupt(x):\n    """A denoising autoencoder\'s input: {doc}."""'
                           f"\n    return {body}")


def _train_step(name: str, task: TaskPlan, config) -> str:
    amp = task.options.get("_amp")
    denoise = task.options.get("denoise", "none") != "none" and \
        float(task.options.get("strength", 0.2)) > 0
    args = "x" if name in ("autoencode", "vae") else "x, y"
    fed = "corrupt(x)" if name == "autoencode" and denoise else "x"
    forward = [f"out = net({fed})"]
    if amp:
        forward = ["with autocast(x.device):", f"    out = net({fed})"]
    if name == "vae":
        loss = ["loss = vae_loss(getattr(net, \"module\", net), out, x)[0]"]
    else:
        loss = [f"loss = loss_fn(out, {'x' if name == 'autoencode' else 'y'})"]
    backward = "loss.backward()"
    if task.penalties:
        backward = "(loss + penalty(getattr(net, \"module\", net))).backward()"
    lines = ["optimizer.zero_grad(set_to_none=True)", *forward, *loss, backward]
    if config.grad_clip > 0:
        lines.append(f"torch.nn.utils.clip_grad_norm_(net.parameters(), {config.grad_clip!r})")
    lines.append("return loss")
    body = "\n".join(f"        {ln}" for ln in lines)
    return (f"def train_step(net, optimizer, {args}):\n"
            "    \"\"\"One optimizer step on a batch; returns its loss.\"\"\"\n\n"
            f"    def closure():\n{body}\n\n"
            "    return optimizer.step(closure).detach()")


def _evaluate(name: str, task: TaskPlan) -> str:
    if name == "vae":
        from string import Template
        from textwrap import dedent

        return Template(dedent(_VAE_EVAL).strip("\n")).substitute()
    args = "x" if name == "autoencode" else "x, y"
    fed = "x[i : i + 256]"
    if name == "autoencode" and task.options.get("denoise", "none") != "none" and \
            float(task.options.get("strength", 0.2)) > 0:
        fed = f"corrupt({fed})"
    lines = [f"out = torch.cat([model({fed}) for i in range(0, len(x), 256)])"]
    if name == "classify":
        what = "loss and accuracy"
        lines += ["hits = (out.argmax(1) == y).float().mean()",
                  'return {"val_loss": loss_fn(out, y).item(), "val_accuracy": hits.item()}']
    elif name == "regress":
        what = "loss and mean absolute error"
        lines += ["mae = (out.float() - y.reshape(out.shape)).abs().mean()",
                  'return {"val_loss": loss_fn(out, y).item(), "val_mae": mae.item()}']
    else:
        what = "reconstruction loss"
        lines += ['return {"val_loss": loss_fn(out, x).item()}']
    body = "\n".join(f"    {ln}" for ln in lines)
    return ("@torch.no_grad()\n"
            f"def evaluate(model, {args}):\n"
            f"    \"\"\"Validation {what} (in batches of 256).\"\"\"\n"
            f"    model.eval()\n{body}")


# --- main --------------------------------------------------------------------------------------

def data_lines(task: TaskPlan, data, config, labelled: bool, keep_val: bool = True
               ) -> list[str]:
    """Load, split, normalise and place the data: ``train_set`` and ``val_set`` (lists)."""
    lines = ["x, y = load_data(args.limit)"]
    val = config.val_split > 0
    if val:
        lines.append("train, val = split(x, y)")
    norm = config.normalization != "none" and not data.tokens
    per_batch = norm and bool({k: v for k, v in config.augmentation.items() if v})
    if norm:
        where = "x[train]" if val else "x"
        lines.append(f"shift, scale = fit_normalizer({where})")
        if per_batch:
            lines.append("stats = [torch.from_numpy(a).to(device) for a in (shift, scale)]")
        else:
            lines.append("x = ((x - shift) / scale).astype(np.float32)")
    if task.name == "gan" and task.scale:
        lines.append("x = x * 2 - 1  # the generator ends in Tanh: real data in [-1, 1] too")
    tensors = "torch.from_numpy(x), torch.from_numpy(y)" if labelled else "torch.from_numpy(x)"
    lines.append(f"data = [{tensors}]")
    if val:
        lines += ["train, val = torch.from_numpy(train), torch.from_numpy(val)",
                  "train_set = [t[train].to(device) for t in data]"]
        if keep_val:
            lines.append("val_set = [t[val].to(device) for t in data]")
        if per_batch and keep_val:
            lines.append("val_set[0] = (val_set[0] - stats[0]) / stats[1]")
    else:
        lines.append("train_set = [t.to(device) for t in data]")
    return lines


def batch_lines(config, data) -> list[str]:
    """The batch loop's first lines: indices of this process's share, augmentation."""
    lines = ["idx = perm[start : start + args.batch_size]",
             "batch = [t[idx] for t in train_set]"]
    if any(v for v in config.augmentation.values()):
        lines.append("batch[0] = augment(batch[0], shuffle)")
        if config.normalization != "none" and not data.tokens:
            lines.append("batch[0] = (batch[0] - stats[0]) / stats[1]")
    return lines


def epoch_end_lines(task: TaskPlan, config, evaluate: str) -> list[str]:
    """Report on rank 0; early stopping and reduce-on-plateau decided there, then shared."""
    es, plateau = config.early_stopping, config.schedule == "plateau"
    lines = ["if rank == 0:",
             f"    metrics = {{\"loss\": total.item() / n{evaluate}}}",
             "    text = \"  \".join(f\"{k} {v:.4f}\" for k, v in metrics.items())",
             "    seconds = time.perf_counter() - started",
             "    print(f\"epoch {epoch}/{args.epochs}  {text}  ({seconds:.1f} s)\", flush=True)"]
    if not es and not plateau:
        return lines
    if es:
        monitor, higher = task.monitor, task.higher
        if es.metric != "auto":
            monitor = es.metric
        if es.mode != "auto":
            higher = es.mode == "max"
        if config.val_split == 0:
            monitor, higher = "loss", False
        monitor = "loss" if monitor == "train_loss" else monitor
        cmp = f"> best + {es.min_delta!r}" if higher else f"< best - {es.min_delta!r}"
        lines += [f"    value = metrics[{literal(monitor)}]",
                  f"    if best is None or value {cmp}:",
                  "        best, bad = value, 0",
                  "    else:",
                  "        bad += 1",
                  f"    decision[0] = float(bad >= {int(es.patience)}"
                  + (f" or value {'>=' if higher else '<='} {es.target!r})"
                     if es.target is not None else ")")]
    if plateau:
        o = config.schedule_options
        watch = "val_loss" if config.val_split > 0 else "loss"
        lines += [f"    if low is None or metrics[{literal(watch)}] < low - 1e-12:",
                  f"        low, waited = metrics[{literal(watch)}], 0",
                  "    else:",
                  "        waited += 1",
                  f"    if waited > {int(o.get('patience', 3))}:",
                  f"        floor = {float(o.get('min_lr', 0.0))!r} / args.lr",
                  f"        decision[1] = max(decision[1] * {float(o.get('factor', 0.1))!r}, "
                  "floor)",
                  "        waited = 0"]
    lines += ["if world > 1:", "    dist.broadcast(decision, 0)"]
    if es:
        lines += ["if decision[0]:", "    break"]
    return lines


def loop_state(config) -> list[str]:
    lines = []
    if config.early_stopping or config.schedule == "plateau":
        lines.append("decision = torch.tensor([0.0, 1.0], device=device)  # stop, lr factor")
    if config.early_stopping:
        lines.append("best, bad = None, 0")
    if config.schedule == "plateau":
        lines.append("low, waited = None, 0")
    return lines


def stepped(config) -> bool:
    """Whether the learning rate changes step by step (a schedule or warm-up)."""
    from .tasks import schedule_source

    return schedule_source(config) is not None


def lr_line(config, optimizers: str, epochs: str = "args.epochs") -> list[str]:
    from .tasks import schedule_source

    factor = []
    if schedule_source(config):
        factor.append(f"lr_factor(step, steps_per_epoch, {epochs})")
    if config.schedule == "plateau":
        factor.append("decision[1].item()")
    return [f"set_lr({optimizers}, {' * '.join(factor)})"] if factor else []


def supervised_main(task: TaskPlan, cls: str, data, config) -> str:
    from .generative import pretrain_lines
    from .script import model_lines

    labelled = task.labelled
    lines = ["args = parse_args()", "rank, world, device = setup(args.device)",
             "torch.manual_seed(SEED)", *data_lines(task, data, config, labelled),
             *model_lines(cls, task)]
    if task.name == "dbn":
        lines += pretrain_lines(task, config)
    ddp = "DistributedDataParallel(model)"
    if task.unused_parameters:  # an RBM's visible bias takes no part in the forward pass
        ddp = "DistributedDataParallel(model, find_unused_parameters=True)"
    lines += ["net = model", "if world > 1:", f"    net = {ddp}",
              "optimizer = make_optimizer(model.parameters(), args.lr)",
              "shuffle = torch.Generator(device=device).manual_seed(SEED)",
              "n = len(train_set[0]) // world"]
    lr = lr_line(config, "[optimizer]")
    if stepped(config):
        lines += ["steps_per_epoch, step = -(-n // args.batch_size), 0"]
    lines += loop_state(config)
    evaluate = ", **evaluate(model, *val_set)" if config.val_split > 0 else ""
    inner = [*batch_lines(config, data), *lr,
             "total += train_step(net, optimizer, *batch) * len(idx)"]
    if stepped(config):
        inner.append("step += 1")
    loop = ["started = time.perf_counter()", "net.train()",
            "perm = torch.randperm(len(train_set[0]), generator=shuffle, device=device)",
            "perm = perm[rank * n : (rank + 1) * n]",
            "total = torch.zeros((), device=device)",
            "for start in range(0, n, args.batch_size):",
            *[f"    {ln}" for ln in inner],
            *epoch_end_lines(task, config, evaluate)]
    lines += ["for epoch in range(1, args.epochs + 1):", *[f"    {ln}" for ln in loop]]
    lines += finish_lines(ddp_wrapper="net")
    return "def main():\n" + "\n".join(f"    {ln}" if ln else "" for ln in lines)


def finish_lines(ddp_wrapper: str | None = None) -> list[str]:
    """Save on rank 0, then leave the process group. NOTE: a DistributedDataParallel wrapper
    still alive when its group is destroyed can abort the process at exit (seen with gloo on
    a busy machine), so the wrapper named ``ddp_wrapper`` is released first."""
    lines = ["if rank == 0:", "    print(f\"saved {save_weights(model, args.out)}\")",
             "if world > 1:", "    dist.barrier()"]
    if ddp_wrapper:
        lines.append(f"    del {ddp_wrapper}  # DDP uses the process group: release it first")
    return [*lines, "    dist.destroy_process_group()"]


__all__ = ["supervised_parts", "supervised_main", "data_lines", "batch_lines", "finish_lines",
           "epoch_end_lines", "loop_state", "lr_line", "stepped"]
