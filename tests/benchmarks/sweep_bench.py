"""Sweep wall time: a 16-trial LeNet-5 sweep on digits (conv1 channels × learning rate) with
``--jobs 2`` against the same 16 trainings as sequential ``netbuilder train`` runs.

    python tests/benchmarks/sweep_bench.py [--epochs 1] [--jobs 2] [--keep DIR]

``--keep DIR`` leaves the graph and its sweep (``DIR/lenet5.runs/sweeps/lenet5``) there, for
the Experiments view's screenshots.

Run on purpose (not in the test suite); prints both wall times and the speed-up.
Measured on a shared 2-core machine (load average about 8): sweep --jobs 2 386.7 s, sequential
556.5 s (1.44x); an earlier run, with other tests beside the sequential half, 381.1 s / 745.0 s.
A later run under a load average of 10 to 16 (other tests beside both halves): sweep --jobs 2
1,358 s; the sequential runs took 118 s and 156 s each and were cut off after two (about
2,200 s projected for 16).
With warm workers (each of the 2 jobs keeps one process for its 8 trials), on the same shared
2-core machine, load average 15.3 at the start, 14.5 after the sweep, 7.7 at the end (other
tests beside both halves): sweep --jobs 2 222.5 s, sequential 1,518.2 s (6.82x).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

CHANNELS = (4, 6, 8, 12)
LRS = (5e-4, 1e-3, 2e-3, 4e-3)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="a folder to keep the graph and its sweep in")
    args = parser.parse_args()

    import netbuilder as nb
    from netbuilder.train.config import TrainingConfig
    from netbuilder.train.sweep.space import apply

    example = resources.files("netbuilder") / "resources" / "examples" / "lenet5.json"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        home = args.keep or tmp
        home.mkdir(parents=True, exist_ok=True)
        graph = nb.load(str(example))
        config = TrainingConfig.from_graph(graph).replace(epochs=args.epochs, device="cpu")
        graph.training = config.to_dict()
        graph_file = home / "lenet5.json"
        graph.save(graph_file)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}

        print(f"load average before: {Path('/proc/loadavg').read_text().strip()}", flush=True)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "netbuilder", "sweep", str(graph_file),
                        "--param", f"conv1.out_channels={','.join(map(str, CHANNELS))}",
                        "--param", f"lr={','.join(map(str, LRS))}", "--strategy", "grid",
                        "--objective", "val_accuracy:max", "--objective", "params:min",
                        "--jobs", str(args.jobs), "--quiet"], env=env, check=True)
        swept = time.perf_counter() - t0
        print(f"sweep --jobs {args.jobs}: {swept:.1f} s; load average "
              f"{Path('/proc/loadavg').read_text().strip()}", flush=True)

        t0 = time.perf_counter()
        for channels in CHANNELS:
            for lr in LRS:
                g, cfg = apply(graph, config, {"conv1.out_channels": channels, "lr": lr})
                g.training = cfg.to_dict()
                path = tmp / f"lenet5-{channels}-{lr}.json"
                g.save(path)
                subprocess.run([sys.executable, "-m", "netbuilder", "train", str(path),
                                "--out", str(tmp / path.stem), "--quiet"], env=env,
                               check=True, stdout=subprocess.DEVNULL)
        sequential = time.perf_counter() - t0
        print(f"load average after: {Path('/proc/loadavg').read_text().strip()}", flush=True)
    n = len(CHANNELS) * len(LRS)
    print(f"{n} trials, {args.epochs} epoch(s) each, {os.cpu_count()} cores: sweep --jobs "
          f"{args.jobs} {swept:.1f} s; sequential netbuilder train {sequential:.1f} s; "
          f"speed-up {sequential / swept:.2f}x")


if __name__ == "__main__":
    main()
