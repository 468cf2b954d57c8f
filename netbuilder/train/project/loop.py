"""The loop half of an exported ``train.py``: the data sets, ``train_epoch`` and ``main``.

``main`` reads like the PyTorch examples: a DataLoader whose sampler is netbuilder's epoch order
(``recipe.EpochSampler``), a ``torch.optim.lr_scheduler`` per optimizer, one line per epoch,
the best weights and the history (full-precision losses, ``history.json``) saved at the end.
Phases follow the task's: a DBN pre-trains its RBMs one after another, then fine-tunes.
"""
from __future__ import annotations

from ...compile.naming import literal
from .tasks import TaskPlan, validates


def datasets_source(task: TaskPlan, data, config) -> str:
    """``datasets(limit)``: the training and validation sets as netbuilder prepares them."""
    val = config.val_split > 0
    norm = config.normalization != "none" and not data.tokens
    per_batch = norm and any(v for v in config.augmentation.values())
    lines = ["x, y = load_data(limit)"]
    if val:
        lines.append("train, val = split(x, y)")
    if norm:
        lines.append(f"shift, scale = fit_normalizer({'x[train]' if val else 'x'})")
        if task.adversarial:
            lines.append("ADVERSARIAL[\"scale\"] = scale  # eps is in pixel units: the attack "
                         "divides it by the std")
        if not per_batch:
            lines.append("x = ((x - shift) / scale).astype(np.float32)")
    if task.scale:
        lines.append("x = x * 2 - 1  # the generator ends in Tanh: real data in [-1, 1] too")
    labelled = "torch.from_numpy(x), torch.from_numpy(y)" if task.labelled else \
        "torch.from_numpy(x)"
    lines.append(f"tensors = [{labelled}]")
    if val:
        lines += ["train, val = torch.from_numpy(train), torch.from_numpy(val)",
                  "train_set = TensorDataset(*[t[train] for t in tensors])",
                  "val_set = TensorDataset(*[t[val] for t in tensors])"]
        if per_batch:
            lines.append("val_set.tensors[0][:] = (val_set.tensors[0] - shift) / scale")
    else:
        lines += ["train_set, val_set = TensorDataset(*tensors), None"]
    stats = ", (shift, scale)" if per_batch else ""
    lines.append(f"return train_set, val_set{stats}")
    doc = "The training and validation sets: loaded, split and normalised as netbuilder does."
    return "def datasets(limit=None):\n" + f'    """{doc}"""\n' + \
        "".join(f"    {ln}\n" for ln in lines).rstrip("\n")


_TRAIN_EPOCH = '''
def train_epoch(step, loader, schedulers, device, world$aug_arg):
    """One pass over the training set; the sample-weighted means of the step's scores."""
    sums, n = 0.0, 0
    for batch in loader:
        batch = [t.to(device) for t in batch]
$augment        sums = sums + step(*batch) * len(batch[0])
        n += len(batch[0])
        for scheduler in schedulers:
            scheduler.step()
    totals = torch.cat([sums.reshape(-1), sums.new_tensor([n])])
    if world > 1:
        dist.all_reduce(totals)
    return (totals[:-1] / totals[-1]).tolist()


def report(label, metrics, history, rank, started):
    history.append({"epoch": label, **metrics})
    if rank == 0:
        text = "  ".join(f"{k} {v:.4f}" for k, v in metrics.items())
        seconds = time.perf_counter() - started
        print(f"{label}  {text}  ({seconds:.1f} s)", flush=True)
'''


def loop_parts(parts, task: TaskPlan, data, config) -> None:
    """``datasets``, ``train_epoch`` and ``report`` for the script ``parts``."""
    parts.functions.append(datasets_source(task, data, config))
    aug = any(v for v in config.augmentation.values())
    norm = config.normalization != "none" and not data.tokens
    lines = []
    if aug:
        lines.append("batch[0] = recipe.augment(batch[0], augmenter, **AUGMENT)")
        if norm:
            lines.append("batch[0] = (batch[0] - stats[0]) / stats[1]")
    parts.block(_TRAIN_EPOCH, aug_arg=", augmenter, stats" if aug else "",
                augment="".join(f"        {ln}\n" for ln in lines))
    names = task.train_names()
    parts.constants.append(f"NAMES = {literal(names)}  # what a training step returns")
    if validates(task, config):
        parts.constants.append(f"VAL_NAMES = {literal(task.val_names())}")


def main_source(task: TaskPlan, cls: str, data, config) -> str:
    aug = any(v for v in config.augmentation.values())
    norm = config.normalization != "none" and not data.tokens
    per_batch = aug and norm
    val_name = "val_set" if validates(task, config) else "_"
    lines = ["args = parse_args()", "rank, world, device = recipe.setup(args.device)",
             "torch.manual_seed(args.seed)", f"model = {cls}().to(device)", "if args.weights:",
             "    model.load_state_dict(recipe.load_weights(args.weights))",
             *(["recipe.freeze(model, FROZEN)"] if task.frozen else []),
             f"train_set, {val_name}, stats = datasets(args.limit)" if per_batch else
             f"train_set, {val_name} = datasets(args.limit)"]
    if per_batch:
        lines.append("stats = [torch.from_numpy(a).to(device) for a in stats]")
    lines += ["sampler = recipe.EpochSampler(len(train_set), args.seed, rank, world)",
              "# (a generator of its own: by default each pass would draw from torch's)",
              "loader = DataLoader(",
              "    train_set, args.batch_size, sampler=sampler, generator=torch.Generator()",
              ")"]
    if validates(task, config):
        lines.append("val_loader = DataLoader(val_set, batch_size=max(args.batch_size, 256))")
    extra = ""
    if aug:
        lines.append("augmenter = torch.Generator(device=device).manual_seed(args.seed)")
        extra = ", augmenter, stats" if per_batch else ", augmenter, None"
    lines += ["history, epoch0 = [], 0  # epoch0: epochs of the phases before"]
    if task.spec.layerwise:
        lines += _pretrain(task, extra)
    if task.spec.step is not None:
        lines += _fit(task, config, extra)
    lines += ["if rank == 0:", "    print(f\"saved {recipe.save_weights(model, args.out)}\")",
              "    with open(os.path.join(args.out, \"history.json\"), \"w\") as f:",
              "        json.dump(history, f, indent=1)",
              "if world > 1:", "    dist.barrier()"]
    if task.spec.step == "supervised":
        lines.append("    del net  # DDP uses the process group: release it first")
    lines.append("    dist.destroy_process_group()")
    return "def main():\n" + "".join(f"    {ln}\n" if ln else "\n" for ln in lines).rstrip("\n")


def _pretrain(task: TaskPlan, extra: str) -> list[str]:
    """Greedy contrastive-divergence training of the RBMs, one after another."""
    if task.spec.pretrains:
        epochs, lr, what = "PRETRAIN_EPOCHS", "PRETRAIN_LR or args.lr", "name"
    else:
        epochs, lr, what = "args.epochs", "args.lr", "name if len(RBMS) > 1 else \"epoch\""
    step = "partial(cd_step, model, rbm, optimizer, world)"
    return ["for name in RBMS:",
            "    rbm, epochs = getattr(model, name), " + epochs,
            f"    what = {what}",
            f"    optimizer = make_optimizer(rbm.parameters(), {lr})",
            "    rate, schedulers = make_schedulers([optimizer], len(loader), epochs)",
            "    for epoch in range(1, epochs + 1):",
            "        started = time.perf_counter()",
            "        sampler.set_epoch(epoch0 + epoch)",
            "        model.train()",
            f"        step = {step}",
            f"        loss = train_epoch(step, loader, schedulers, device, world{extra})[0]",
            "        label = f\"{what} {epoch}/{epochs}\"",
            "        report(label, {\"loss\": loss}, history, rank, started)",
            "        rate.end_epoch(loss)",
            "    epoch0 += epochs"]


def _fit(task: TaskPlan, config, extra: str) -> list[str]:
    if task.spec.step == "adversarial":
        lines = [f"opt_g = make_optimizer(model.{task.generator}.parameters(), args.lr or LR_G)",
                 f"opt_d = make_optimizer(model.{task.discriminator}.parameters(), "
                 "args.lr or LR_D)",
                 "rate, schedulers = make_schedulers([opt_g, opt_d], len(loader), args.epochs)"]
        net, step = "model", "partial(train_step, model, opt_g, opt_d, world)"
    else:
        ddp = "DistributedDataParallel(model)"
        if task.unused_parameters:  # an RBM's visible bias takes no part in the forward pass
            ddp = "DistributedDataParallel(model, find_unused_parameters=True)"
        lines = ["net = model", "if world > 1:", f"    net = {ddp}",
                 "optimizer = make_optimizer(model.parameters(), args.lr)",
                 "rate, schedulers = make_schedulers([optimizer], len(loader), args.epochs)"]
        net, step = "net", "partial(train_step, net, optimizer)"
    val = config.val_split > 0
    es = config.early_stopping
    plateau = '"val_loss"' if val else '"loss"'
    lines += ["best, bad = None, 0", "for epoch in range(1, args.epochs + 1):",
              "    started = time.perf_counter()", "    sampler.set_epoch(epoch0 + epoch)",
              f"    {net}.train()", f"    step = {step}",
              f"    scores = train_epoch(step, loader, schedulers, device, world{extra})",
              "    metrics = dict(zip(NAMES, scores))"]
    if val:
        lines.append("    metrics.update(evaluate(model, val_loader, device))")
    lines += ["    report(f\"epoch {epoch}/{args.epochs}\", metrics, history, rank, started)",
              f"    rate.end_epoch(metrics[{plateau}])",
              "    value = metrics[MONITOR.removeprefix(\"train_\")]"]
    if es is not None:
        lines += ["    if best is None or (value > best + MIN_DELTA if HIGHER "
                  "else value < best - MIN_DELTA):"]
    else:
        lines += ["    if best is None or (value > best if HIGHER else value < best):"]
    lines += ["        best, bad = value, 0",
              "        if rank == 0:",
              "            recipe.save_weights(model, args.out, \"best\")",
              "    else:",
              "        bad += 1"]
    if es is not None:
        stop = "PATIENCE and bad >= PATIENCE"
        if es.target is not None:
            stop += " or (value >= TARGET if HIGHER else value <= TARGET)"
        lines += [f"    if {stop}:", "        break  # early stopping"]
    return lines


__all__ = ["loop_parts", "main_source", "datasets_source"]
