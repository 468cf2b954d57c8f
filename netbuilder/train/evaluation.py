"""Scoring a model on a data set with its task's metrics: the validation pass of every epoch, and
``netbuilder evaluate`` on a finished run (through the run's own preprocessing).

Both go through ``evaluate_batches``: the task's ``begin_eval``/``eval_step``/``end_eval``,
batch means weighted by batch size; so what ``evaluate`` prints is what the editor showed.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch

from .events import ConfusionMatrix
from .predictor import PredictError, Predictor

SPLITS = ("auto", "validation", "all")


def batch_size_of(batch: dict) -> int:
    """The number of samples in a batch (its ``x``, else its first entry)."""
    first = batch.get("x")
    if first is None:
        first = next(iter(batch.values()))
    return int(first.shape[0])


@torch.no_grad()
def evaluate_batches(task, ctx, batches: Iterable[dict],
                     stop_asked: Callable[[], bool] | None = None) -> tuple[dict | None, list]:
    """The task's metrics over ``batches`` and its extra events (a confusion matrix); ``(None,
    [])`` when ``stop_asked`` says stop. The caller puts the model in eval mode."""
    task.begin_eval(ctx)
    keys, rows, ns = None, [], []
    for batch in batches:
        if stop_asked is not None and stop_asked():
            return None, []
        m = task.eval_step(ctx, batch)
        keys = keys or list(m)
        rows.append(torch.stack([m[k].detach().float().reshape(()) for k in keys]))
        ns.append(batch_size_of(batch))
    if not rows:
        return {}, []
    table = torch.stack(rows).tolist()
    total = sum(ns)
    values = {k: sum(r[j] * n for r, n in zip(table, ns)) / total for j, k in enumerate(keys)}
    extra, events = task.end_eval(ctx)
    values.update(extra)
    return values, events


@dataclass
class Evaluation:
    """A run's model scored on a data set."""

    dataset: str
    split: str  # "validation" (the run's held-out part) or "all"
    samples: int
    metrics: dict[str, float]
    classes: list[str] | None = None
    confusion: np.ndarray | None = None  # int64 (K, K): rows are true classes

    def to_dict(self) -> dict:
        out = {"dataset": self.dataset, "split": self.split, "samples": self.samples,
               "metrics": dict(self.metrics)}
        if self.confusion is not None:
            out["classes"] = list(self.classes or [])
            out["confusion"] = self.confusion.tolist()
        return out


def evaluate_run(predictor: Predictor, dataset: str | None = None, options: dict | None = None,
                 split: str = "auto", batch_size: int = 256) -> Evaluation:
    """Score the run's model on ``dataset`` (a built-in name or a path; None: the run's own,
    with its options) with the task's metrics. ``split``: "validation" takes the part the run
    held out (same seed, same cut), "all" every sample; "auto" is validation for the run's
    own data set and all for another."""
    from .batches import Batches, PreparedData, _with_x
    from .config import TrainingConfig
    from .data import load_dataset, split_dataset
    from .losses import make_loss
    from .tasks import DataInfo, StepContext, get_task

    if split not in SPLITS:
        raise PredictError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    config = dict(predictor.config)
    own = dataset is None
    name = str(config.get("dataset", "digits")) if own else dataset
    if options is None:
        options = dict(config.get("dataset_options") or {}) if own else {}
    cfg = TrainingConfig.from_dict({**config, "events": {"confusion": True}})
    ds = load_dataset(name, **options)
    if split == "auto":
        split = "validation" if own else "all"
    if split == "validation":
        _, ds = split_dataset(ds, cfg.val_split, cfg.seed)
        if not len(ds):
            raise PredictError(f"The data set '{ds.name}' has no validation samples "
                               f"(val_split is {cfg.val_split}): evaluate --split all")
    raw = predictor.as_raw(ds.x, f"the data set '{name}'")
    x = torch.cat([predictor.prepare(raw[i:i + 4096]) for i in range(0, len(raw), 4096)])
    classes = predictor.classes or ds.classes
    fitted = _with_x(ds, x.numpy(), kind="vector" if predictor.preprocessing()["flatten"]
                     else None)
    fitted.classes = classes
    graph = predictor.graph
    task = get_task(cfg.task)(cfg, graph)
    analysis = graph.analyze()
    task.check(fitted, [analysis.shape(o) for o in graph.outputs()])
    info = DataInfo(name=ds.name, kind=fitted.kind, input_shape=predictor.input_shape,
                    target_shape=ds.target_shape, classes=classes, n_val=len(ds),
                    normalizer=predictor.normalizer, source_shape=predictor.raw_shape)
    data = PreparedData(info, {}, task.prepare(fitted), None, None, True)
    module = predictor.module()
    device = next((p.device for p in module.parameters()), torch.device("cpu"))
    ctx = StepContext(config=cfg, graph=graph, model=module, module=module, device=device,
                      data=info, loss_fn=make_loss(task.resolve_loss(), probabilities=bool(
                          getattr(task, "outputs_probabilities", False))), log=lambda _m: None)
    torch.manual_seed(cfg.seed)  # a VAE's validation draws its z: the same every time
    module.eval()
    values, events = evaluate_batches(task, ctx, Batches(data, "val", batch_size, device))
    matrix = next((e for e in events if isinstance(e, ConfusionMatrix)), None)
    return Evaluation(dataset=ds.name, split=split, samples=len(ds), metrics=values or {},
                      classes=None if matrix is None else [str(c) for c in matrix.classes],
                      confusion=None if matrix is None else matrix.matrix)


__all__ = ["Evaluation", "SPLITS", "batch_size_of", "evaluate_batches", "evaluate_run"]
