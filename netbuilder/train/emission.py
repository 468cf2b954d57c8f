"""Step results held on the device until an event needs them, then fetched in one sync.

NOTE: this is what keeps training free of host syncs: a step appends one stacked tensor of its
metrics; nothing is read back until ``flush`` (an emission or an epoch end), which copies every
pending row at once and also finds the first step whose loss was NaN/Inf.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch


@dataclass
class Flushed:
    means: dict  # metric -> mean over the flushed steps (sample-weighted)
    samples: int
    steps: int
    bad_step: int | None = None  # first step whose loss (or gradient norm) was not finite
    bad_what: str = ""  # "loss became NaN" ...


@dataclass
class Window:
    """Pending per-step metrics of training (``grad_norm`` kept aside: not every step has it)."""

    watch_grads: bool = True
    keys: list | None = None
    rows: list = field(default_factory=list)
    ns: list = field(default_factory=list)
    steps: list = field(default_factory=list)
    grads: list = field(default_factory=list)  # (step, tensor)

    def add(self, metrics: dict, n: int, step: int) -> None:
        if self.keys is None:
            self.keys = [k for k in metrics if k != "grad_norm"]
        nan = None
        row = []
        for k in self.keys:
            v = metrics.get(k)
            if v is None:
                nan = nan if nan is not None else torch.tensor(math.nan)
                v = nan
            row.append(v.detach().float().reshape(()))
        dev = row[0].device if row else None
        self.rows.append(torch.stack([r.to(dev) for r in row]) if row else None)
        self.ns.append(n)
        self.steps.append(step)
        g = metrics.get("grad_norm")
        if g is not None:
            self.grads.append((step, g.detach().float().reshape(())))

    def __len__(self) -> int:
        return len(self.rows)

    def flush(self) -> Flushed:
        """Copy everything pending to the host (one transfer) and reset."""
        rows = [r for r in self.rows if r is not None]
        if not rows:
            out = Flushed({}, sum(self.ns), len(self.ns))
            self._reset()
            return out
        parts = [torch.stack(rows).flatten()]
        if self.grads:
            parts.append(torch.stack([g.to(rows[0].device) for _, g in self.grads]))
        values = torch.cat(parts).tolist()
        k = len(self.keys)
        table = [values[i * k:(i + 1) * k] for i in range(len(rows))]
        grads = values[len(rows) * k:]
        out = Flushed({}, sum(self.ns), len(rows))
        total = sum(self.ns)
        for j, key in enumerate(self.keys):
            pairs = [(r[j], n) for r, n in zip(table, self.ns) if not math.isnan(r[j]) or
                     key == "loss"]
            weight = sum(n for _, n in pairs)
            out.means[key] = (sum(v * n for v, n in pairs) / weight) if weight else math.nan
        if grads:
            out.means["grad_norm"] = grads[-1]
        li = self.keys.index("loss") if "loss" in self.keys else None
        if li is not None:
            for r, s in zip(table, self.steps):
                if not math.isfinite(r[li]):
                    out.bad_step = s
                    out.bad_what = f"loss became {'NaN' if math.isnan(r[li]) else 'Inf'}"
                    break
        if self.watch_grads and out.bad_step is None:
            for (s, _), g in zip(self.grads, grads):
                if not math.isfinite(g):
                    out.bad_step, out.bad_what = s, "gradients became NaN/Inf"
                    break
        out.samples = total
        self._reset()
        return out

    def _reset(self) -> None:
        self.rows, self.ns, self.steps, self.grads = [], [], [], []


class EpochTotals:
    """Sample-weighted sums of flushed windows over one epoch (host floats)."""

    def __init__(self):
        self.sums: dict = {}
        self.samples = 0
        self.last_grad: float | None = None

    def add(self, f: Flushed) -> None:
        for k, v in f.means.items():
            if k == "grad_norm":
                self.last_grad = v
                continue
            self.sums[k] = self.sums.get(k, 0.0) + v * f.samples
        self.samples += f.samples

    def means(self) -> dict:
        out = {k: v / self.samples for k, v in self.sums.items()} if self.samples else {}
        if self.last_grad is not None:
            out["grad_norm"] = self.last_grad
        return out
