"""``netbuilder sweep FILE``: many trainings of a graph with settings and node parameters varied.

    netbuilder sweep lenet.json --param conv1.out_channels=8,16,32 --param lr=1e-4..1e-2:log \\
        --trials 20 --jobs 2 --strategy tpe --objective val_accuracy:max --objective params:min
    netbuilder sweep lenet.json --sweep-file lenet.sweep.toml
    netbuilder sweep lenet.json --show            the stored sweep's trials and Pareto front

The study and each trial's run folder live in ``<graph stem>.runs/sweeps/<name>/``; running a
sweep whose name exists continues it (``--resume`` continues it as it was defined).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import positive_int
from .train import dataset_option

NAME = "sweep"
HELP = "train a graph many times over varied settings (grid, random, TPE); a Pareto front"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="graph file (.json)")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUES",
                        help="what to vary, repeatable: conv1.out_channels=8,16,32 (a node "
                             "parameter), lr=1e-4..1e-2:log or optimizer=adam,sgd (a setting)")
    parser.add_argument("--objective", action="append", default=[], metavar="METRIC[:min|max]",
                        help="what to optimise, repeatable: val_accuracy:max, val_loss, params, "
                             "macs, latency (ms) (default: the task's monitored metric)")
    parser.add_argument("--strategy", choices=("grid", "random", "tpe"),
                        help="how trials are chosen (default: tpe; grid tries every combination)")
    parser.add_argument("--trials", type=positive_int, metavar="N",
                        help="trials in total, counting finished ones (grid: all by default)")
    parser.add_argument("--jobs", type=positive_int, metavar="N",
                        help="trials trained at once, each in its own process with its share "
                             "of the cores (default 1)")
    parser.add_argument("--sweep-file", metavar="SWEEP.json|toml",
                        help="the sweep's settings in a file (options given here win)")
    parser.add_argument("--name", help="the sweep's name (default: the graph file's stem)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the stored sweep as it was defined")
    parser.add_argument("--show", action="store_true", help="list the stored sweep and exit")
    parser.add_argument("--epochs", type=positive_int, metavar="N", help="epochs of each trial")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"))
    parser.add_argument("--dataset-option", action="append", default=[], type=dataset_option,
                        metavar="KEY=VALUE", dest="dataset_options",
                        help="a dataset option for every trial, repeatable: limit=500")
    parser.add_argument("--seed", type=int, default=None, help="the sampler's seed (default 0)")
    parser.add_argument("--ray", metavar="ADDRESS",
                        help="run the trials on a Ray cluster (needs ray[tune]); 'auto' finds "
                             "a running one, 'local' starts one here with --jobs CPUs")
    parser.add_argument("--quiet", action="store_true", help="no line per finished trial")


def run(args: argparse.Namespace) -> int:
    from ..train.config import TrainingConfig
    from ..train.sweep import (
        SweepDefinition,
        graph_store,
        load_sweep_file,
        parse_objectives,
        parse_params,
        run_sweep,
        sweep_dir,
    )
    from .common import CommandError, load_graph

    graph = load_graph(args.file)
    settings = load_sweep_file(args.sweep_file) if args.sweep_file else {}
    name = args.name or settings.get("name") or Path(args.file).stem
    folder = sweep_dir(graph_store(args.file), name)
    if args.show:
        from ..train.sweep.study import load_records

        definition, trials = load_records(folder, name)
        print_trials(trials, definition)
        print_front(trials, definition)
        return 0
    config = TrainingConfig.from_graph(graph)
    changes = {k: v for k, v in (("epochs", args.epochs), ("device", args.device)) if v}
    if args.dataset_options:
        changes["dataset_options"] = {**config.dataset_options, **dict(args.dataset_options)}
    config = config.replace(**changes)
    params = [*settings.get("params", []), *args.param]
    definition = None
    if params or not args.resume:
        if not params:
            raise CommandError("give what to vary: --param NAME=VALUES (such as "
                               "lr=1e-4..1e-2:log), or --resume a stored sweep")
        definition = SweepDefinition(
            parse_params(params),
            parse_objectives(args.objective or settings.get("objectives"), config),
            args.strategy or settings.get("strategy", "tpe"),
            args.trials or settings.get("trials"),
            args.seed if args.seed is not None else settings.get("seed", 0))
    jobs = args.jobs or settings.get("jobs", 1)
    if args.ray:
        from ..train.sweep.ray_tune import run_on_ray

        trials = run_on_ray(args.ray, graph, config, definition, folder=folder, name=name,
                            jobs=args.jobs or settings.get("jobs"))
    else:
        on_trial = None if args.quiet else (
            lambda r: print(trial_line(r), file=sys.stderr, flush=True))
        run_sweep(graph, config, definition, folder=folder, name=name, jobs=jobs,
                  on_trial=on_trial)
        from ..train.sweep.study import load_records

        definition, trials = load_records(folder, name)
    print_trials(trials, definition)
    print_front(trials, definition)
    print(f"sweep {name!r}: {folder}")
    return 0


def trial_line(t) -> str:
    """One finished trial, as printed while a sweep runs."""
    params = " ".join(f"{k}={_num(v)}" for k, v in t.params.items())
    values = " ".join(f"{k}={_num(v)}" for k, v in t.values.items())
    tail = f": {t.error}" if t.error else ""
    return f"trial {t.number} {t.state}{tail}  {params}  {values}".rstrip()


def print_trials(trials, definition) -> None:
    from .common import format_table

    names = [d.name for d in definition.params]
    objectives = [o.name for o in definition.objectives]
    headers = ["#", "state", *names, *objectives, "time"]
    rows = [[str(t.number), t.state, *(_num(t.params.get(n, "")) for n in names),
             *(_num(t.values[o]) if o in t.values else "" for o in objectives),
             f"{t.duration_s:.1f}s" if t.duration_s is not None else ""] for t in trials]
    right = [True, False, *(True for _ in names), *(True for _ in objectives), True]
    print("\n".join(format_table(headers, rows, right)))
    counts = {s: sum(t.state == s for t in trials) for s in ("complete", "pruned", "failed")}
    print(", ".join(f"{n} {s}" for s, n in counts.items()) + f" of {len(trials)} trials")


def print_front(trials, definition) -> None:
    from ..train.sweep.study import front

    best = front(trials, definition)
    if not best:
        print("no trial has finished yet")
        return
    what = ", ".join(o.text() for o in definition.objectives)
    title = "best trial" if len(definition.objectives) == 1 else "Pareto front"
    print(f"{title} ({what}):")
    for t in best:
        print("  " + trial_line(t))


def _num(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)

