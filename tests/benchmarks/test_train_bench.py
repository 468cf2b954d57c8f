"""Training throughput: the netbuilder Trainer against a hand-written PyTorch loop, and the cost
of the live event stream. Run on purpose: ``pytest tests/benchmarks/test_train_bench.py -s``.

Both sides train the same LeNet-5 on the same tensors (digits resized to 28×28), batch 64, Adam
1e-3, one thread; measurements are interleaved (A B A B ...) so that a noisy machine hurts both
sides alike, and the medians are compared. Only training steps are timed on both sides (the
trainer's own ``train_time_s`` excludes set-up and validation).
"""
from __future__ import annotations

import statistics
import time

import pytest
import torch
from torch import nn

import netbuilder as nb
from netbuilder.train import TrainingConfig, train
from netbuilder.train.data import DatasetArrays, load_dataset, split_dataset

ROUNDS = 7
EPOCHS = 6  # long enough that the first steps (allocator warm-up) weigh little


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def lenet_graph() -> nb.Graph:
    g = nb.Graph("lenet5")
    x = g.add("Input", "image", shape=(1, 28, 28))
    layers = [("Conv2d", dict(out_channels=6, kernel_size=5, padding=2)), ("Tanh", {}),
              ("AvgPool2d", dict(kernel_size=2)), ("Conv2d", dict(out_channels=16, kernel_size=5)),
              ("Tanh", {}), ("AvgPool2d", dict(kernel_size=2)), ("Flatten", {}),
              ("Linear", dict(out_features=120)), ("Tanh", {}), ("Linear", dict(out_features=84)),
              ("Tanh", {}), ("Linear", dict(out_features=10))]
    prev = x
    for t, p in layers:
        n = g.add(t, **p)
        g.connect(prev, n)
        prev = n
    return g


def lenet_by_hand() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2), nn.Conv2d(6, 16, 5), nn.Tanh(),
        nn.AvgPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84),
        nn.Tanh(), nn.Linear(84, 10))


def hand_loop(x: torch.Tensor, y: torch.Tensor, epochs: int) -> tuple[float, float]:
    """(wall, CPU-time) samples/s of the plain PyTorch loop a good engineer writes."""
    torch.manual_seed(0)
    model = lenet_by_hand()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    n, seen = len(x), 0
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(epochs):
        perm = torch.randperm(n)
        for i in range(0, n, 64):
            idx = perm[i:i + 64]
            xb, yb = x[idx], y[idx]
            opt.zero_grad(set_to_none=True)
            loss = nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            seen += len(idx)
    return seen / (time.perf_counter() - start), seen / (time.process_time() - cpu)


def trainer_run(ds: DatasetArrays, events_on: bool) -> tuple[float, float]:
    cfg = TrainingConfig(epochs=EPOCHS, batch_size=64, lr=1e-3, optimizer="adam",
                         checkpoint_every=0)
    if not events_on:
        cfg = cfg.replace(events={"metrics_hz": 0, "images_hz": 0, "activations": False,
                                  "histograms": False, "samples": False, "confusion": False})
    received = []
    result = train(lenet_graph(), cfg, emit=received.append, dataset=ds)
    assert received, "the trainer sent no events"
    s = result.summary
    return s["samples_per_s"], s["samples_per_s"] * s["train_time_s"] / s["train_cpu_s"]


@pytest.fixture(scope="module")
def data():
    ds = load_dataset("digits", size=28)
    train_part, _ = split_dataset(ds, 0.2, 0)
    return ds, torch.from_numpy(train_part.x), torch.from_numpy(train_part.y)


def _report(label_a, a, label_b, b) -> tuple[float, float]:
    wall = statistics.median(x for x, _ in a) / statistics.median(x for x, _ in b)
    cpu = statistics.median(c for _, c in a) / statistics.median(c for _, c in b)
    print(f"  wall clock: {label_a} {statistics.median(x for x, _ in a):.0f} samples/s, "
          f"{label_b} {statistics.median(x for x, _ in b):.0f} samples/s, ratio {wall:.3f}")
    print(f"  CPU time:   {label_a} {statistics.median(c for _, c in a):.0f} samples/s, "
          f"{label_b} {statistics.median(c for _, c in b):.0f} samples/s, ratio {cpu:.3f}")
    return wall, cpu


def test_trainer_matches_hand_written_loop(data):
    ds, x, y = data
    hand, ours = [], []
    for _ in range(ROUNDS):
        hand.append(hand_loop(x, y, EPOCHS))
        ours.append(trainer_run(ds, events_on=True))
    print("\nLeNet-5, digits 28x28, batch 64, Adam, CPU, 1 thread (netbuilder with events on):")
    _, cpu = _report("netbuilder", ours, "hand-written", hand)
    # CPU seconds are the steady measure on a shared machine; wall time is printed too.
    assert cpu >= 0.9


def test_event_stream_costs_little(data):
    ds, _, _ = data
    on, off = [], []
    for _ in range(ROUNDS):
        off.append(trainer_run(ds, events_on=False))
        on.append(trainer_run(ds, events_on=True))
    print("\nLeNet-5 trainer, live events on vs off:")
    _, cpu = _report("events on", on, "events off", off)
    assert cpu >= 0.9
