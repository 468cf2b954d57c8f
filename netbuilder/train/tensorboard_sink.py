"""TensorBoard event files for a run (when the ``tensorboard`` extra is installed).

Every run writes them into ``DIR/tensorboard`` (the command line and the editor's worker both
add this sink): per-step training scalars; at each epoch's end train and validation on the same
chart (``add_scalars``: ``loss`` shows both curves); weight histograms and sample images once per
epoch; the model's graph; and the hyperparameters with the final metrics (``add_hparams``).
``tensorboard --logdir runs`` shows them.
"""
from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .events import Failed, Finished, Histograms, Log, Metrics, RunStarted, Samples

LOG_DIR = "tensorboard"


class TensorBoardSink:
    """Writes the events of one run with a ``SummaryWriter``."""

    def __init__(self, writer, graph=None):
        self.writer = writer
        self.graph = graph
        self.has_val = True
        self.train_end: dict = {}
        self.config: dict = {}
        self.hist_epoch: int | None = None
        self.sample_epochs: dict[str, int] = {}
        self.closed = False
        self.graph_written = False

    @classmethod
    def create(cls, log_dir: str | Path, graph=None) -> TensorBoardSink | None:
        """A sink writing into ``log_dir``; None when tensorboard is not installed."""
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # tensorboard is an optional extra
            return None
        return cls(SummaryWriter(log_dir=str(log_dir)), graph)

    def __call__(self, event) -> None:
        if self.closed:
            return
        try:
            self._write(event)
        except Exception as exc:  # noqa: BLE001 (a logging failure must never stop training)
            self.closed = True
            print(f"netbuilder: warning: TensorBoard logging stopped: {exc}", file=sys.stderr)

    def _write(self, event) -> None:
        w = self.writer
        if isinstance(event, RunStarted):
            self.has_val = bool(event.dataset.get("n_val"))
            self.config = dict(event.config)
            w.add_text("run", f"{event.task} on {event.dataset.get('name')}, "
                              f"{event.num_params:,} parameters, {event.device}", 0)
        elif isinstance(event, Metrics):
            self._metrics(event)
            if event.epoch_end:
                # NOTE: after the first epoch, not at the start: tracing the model would
                # delay the first training step by as long.
                self._add_graph()
        elif isinstance(event, Histograms) and event.epoch != self.hist_epoch:
            self.hist_epoch = event.epoch
            for name, (counts, edges) in event.weights.items():
                _histogram(w, f"weights/{name}", counts, edges, event.epoch)
        elif isinstance(event, Samples) and event.images is not None and \
                self.sample_epochs.get(event.kind) != event.epoch:
            self.sample_epochs[event.kind] = event.epoch
            images = np.asarray(event.images)
            if images.ndim == 4 and images.shape[1] in (1, 3):
                w.add_images(f"samples/{event.kind}", images[:16], event.step,
                             dataformats="NCHW")
        elif isinstance(event, Log) and event.level == "warning":
            w.add_text("warnings", event.message)
        elif isinstance(event, Finished):
            self._add_graph()
            self._hparams(event.summary)
            self.close()
        elif isinstance(event, Failed):
            self._add_graph()
            w.add_text("failed", event.message)
            self.close()

    def _metrics(self, event: Metrics) -> None:
        w = self.writer
        values = {k: float(v) for k, v in event.values.items() if _finite(v)}
        if not event.epoch_end:
            for k, v in values.items():
                w.add_scalar(f"{event.split}/{k}", v, event.step)
            return
        if event.split == "train":
            self.train_end = values
            if self.has_val:
                return
            val: dict = {}
        else:
            val = values
        train = self.train_end
        for k in sorted(set(train) | set(val)):
            if k == "lr":
                w.add_scalar("lr", train[k], event.step)
                continue
            both = {s: d[k] for s, d in (("train", train), ("val", val)) if k in d}
            w.add_scalars(k, both, event.step)  # one chart, one curve per split
        self.train_end = {}

    def _add_graph(self) -> None:
        """The model's graph, once."""
        if self.graph is None or self.graph_written:
            return
        self.graph_written = True
        import torch

        from ..compile.onnx_export import model_arguments

        try:
            # NOTE: building and feeding the copy draws random numbers; the run's own stream
            # must not see them, or a resumed run would part from the one it continues.
            with torch.random.fork_rng(devices=[]), torch.no_grad():
                module = self.graph.build().eval()
                _, args = model_arguments(self.graph, batch=1)
                # NOTE: traced once, without torch's check (a second trace compared output by
                # output, most of the cost); add_graph takes the traced module as it is.
                traced = torch.jit.trace(module, tuple(args), check_trace=False)
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", "The input to trace is already a "
                                                      "ScriptModule")
                    self.writer.add_graph(traced, tuple(args))
        except Exception as exc:  # noqa: BLE001 (a graph trace cannot follow: skip the picture)
            self.writer.add_text("warnings", f"the model graph could not be traced: {exc}")

    def _hparams(self, summary: dict) -> None:
        hparams = {k: v if isinstance(v, (int, float, str, bool)) else str(v)
                   for k, v in self.config.items()}
        final = summary.get("final") or {}
        metrics = {f"hparam/{k}": float(v) for k, v in final.items()
                   if _finite(v) and k not in ("lr", "time_s", "samples_per_s")}
        if hparams and metrics:
            self.writer.add_hparams(hparams, metrics, run_name="hparams")

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.writer.flush()
            self.writer.close()


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _histogram(writer, tag: str, counts, edges, step: int) -> None:
    """A histogram the trainer already binned (counts over edges), as TensorBoard stores one."""
    counts = np.asarray(counts, dtype=np.float64)
    edges = np.asarray(edges, dtype=np.float64)
    if counts.size == 0 or counts.sum() <= 0 or edges.size != counts.size + 1:
        return
    centers = (edges[:-1] + edges[1:]) / 2
    writer.add_histogram_raw(tag, min=float(edges[0]), max=float(edges[-1]),
                             num=float(counts.sum()), sum=float((centers * counts).sum()),
                             sum_squares=float((centers ** 2 * counts).sum()),
                             bucket_limits=edges[1:].tolist(), bucket_counts=counts.tolist(),
                             global_step=step)


__all__ = ["LOG_DIR", "TensorBoardSink"]
