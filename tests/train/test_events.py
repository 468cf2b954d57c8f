"""Events are picklable plain data; the emission window syncs only when it is flushed."""
import pickle

import numpy as np
import pytest
import torch

from netbuilder.train import events as ev
from netbuilder.train.emission import EpochTotals, Window

SAMPLES = [
    ev.RunStarted(config={"dataset": "digits"}, num_params=10, device="cpu", steps_per_epoch=3,
                  total_steps=9, metrics={"loss": False}),
    ev.StateChanged("paused", 4),
    ev.Progress(epoch=1, step=2, total_steps=9, samples_per_s=100.0, eta_s=1.5, lr=1e-3),
    ev.Metrics(step=2, epoch=1, split="train", values={"loss": 0.5}),
    ev.Activations(step=2, tiles={"conv1": np.zeros((6, 28, 28), np.uint8)},
                   levels={"conv1": (0.0, 1.0)}, input=np.zeros((1, 28, 28), np.uint8)),
    ev.Histograms(step=2, epoch=1, weights={"fc": (np.ones(4, np.int64),
                                                  np.linspace(0, 1, 5, dtype=np.float32))}),
    ev.Samples(step=2, epoch=1, kind="predictions", images=np.zeros((2, 1, 8, 8), np.uint8),
               labels=["1", "2"], predictions=["1", "3"]),
    ev.ConfusionMatrix(epoch=1, matrix=np.eye(3, dtype=np.int64), classes=["a", "b", "c"]),
    ev.Log("hello"),
    ev.Finished({"best_epoch": 1}),
    ev.Failed("boom", step=3, epoch=1),
]


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
def test_events_pickle_and_hold_no_tensors(event):
    back = pickle.loads(pickle.dumps(event))
    assert type(back) is type(event) and back.event_type == type(event).__name__
    d = event.to_dict()
    assert d["event"] == type(event).__name__

    def walk(v):
        assert not torch.is_tensor(v)
        if isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x)
    walk(vars(event))


def test_throttle_limits_the_rate():
    t = ev.Throttle(10.0)
    opened = 0
    for i in range(1000):  # one simulated second at 1 kHz
        now = i / 1000
        if t.due(now):
            t.mark(now)
            opened += 1
    assert opened == 10
    never = ev.Throttle(0)
    assert not never.due(1e9)


def test_a_throttle_with_a_share_spends_at_most_that_part_of_the_time():
    t = ev.Throttle(1000.0, share=0.01)
    opened = []
    for i in range(1000):  # ten simulated seconds; each opening costs 20 ms
        now = i / 100
        if t.due(now):
            t.mark(now, cost=0.02)
            opened.append(now)
    assert opened[0] == 0.0  # the first is due at once
    assert 4 <= len(opened) <= 6 and t.spent <= 0.01 * 10 + 0.02  # ~2 s apart, not 1 kHz
    assert ev.Throttle(2.0, share=0.5).due(5.0)


class SyncCounter:
    """Counts device→host reads (.item(), .tolist(), float()) on tensors."""

    def __init__(self, monkeypatch):
        self.count = 0
        for name in ("item", "tolist", "__float__", "__bool__"):
            original = getattr(torch.Tensor, name)

            def wrapper(t, *a, _original=original, **k):
                self.count += 1
                return _original(t, *a, **k)
            monkeypatch.setattr(torch.Tensor, name, wrapper)


def test_window_adds_without_sync_and_flushes_once(monkeypatch):
    w = Window()
    counter = SyncCounter(monkeypatch)
    for step in range(1, 51):
        loss = torch.tensor(1.0 / step)
        w.add({"loss": loss, "accuracy": torch.tensor(0.5)}, 64 if step < 50 else 16, step)
    assert counter.count == 0
    flushed = w.flush()
    assert counter.count == 1
    expected = (sum(64 / s for s in range(1, 50)) + 16 / 50) / (49 * 64 + 16)
    assert flushed.means["loss"] == pytest.approx(expected, rel=1e-6)
    assert flushed.means["accuracy"] == pytest.approx(0.5)
    assert flushed.samples == 49 * 64 + 16 and flushed.bad_step is None
    assert len(w) == 0


def test_window_finds_the_first_bad_step():
    w = Window()
    for step, v in enumerate([1.0, 0.5, float("inf"), float("nan")], start=11):
        w.add({"loss": torch.tensor(v)}, 8, step)
    f = w.flush()
    assert f.bad_step == 13 and f.bad_what == "loss became Inf"
    w.add({"loss": torch.tensor(1.0), "grad_norm": torch.tensor(float("nan"))}, 8, 20)
    f = w.flush()
    assert f.bad_step == 20 and "gradients" in f.bad_what


def test_epoch_totals_weight_by_samples():
    totals = EpochTotals()
    for values, n in (([1.0, 1.0], 10), ([3.0], 30)):
        w = Window()
        for i, v in enumerate(values):
            w.add({"loss": torch.tensor(v)}, n // len(values), i)
        totals.add(w.flush())
    assert totals.means()["loss"] == pytest.approx((1.0 * 10 + 3.0 * 30) / 40)
