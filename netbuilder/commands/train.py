"""``netbuilder train FILE``: train a graph headless, with a progress bar and a run folder.

Writes ``DIR/metrics.jsonl``, ``summary.json``, ``weights.safetensors``, ``graph.json``,
``config.json``, ``preprocessing.json`` and ``run.json`` (TensorBoard event files in
``DIR/tensorboard`` too when ``tensorboard`` is installed). DIR is by default a new folder in the
graph's run store (``<graph stem>.runs/`` beside it), where the editor's Runs panel lists it.
``--set KEY=VALUE`` changes any training setting. Under ``torchrun --nproc_per_node=N -m netbuilder
train FILE`` it trains data-parallel and only rank 0 prints and writes.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import add_trust_argument, positive_float, positive_int

NAME = "train"
HELP = "train a graph on its dataset (progress bar; metrics, weights and summary in a folder)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", nargs="?",
                        help="graph file (.json); optional with --resume (its graph.json)")
    parser.add_argument("--dataset", metavar="NAME|PATH",
                        help="built-in dataset name or data file (default: the graph's setting)")
    parser.add_argument("--dataset-option", action="append", default=[], type=dataset_option,
                        metavar="KEY=VALUE", dest="dataset_options",
                        help="a dataset option, repeatable: label_column=species (CSV), "
                             "labels_path=y.npy, size=28, limit=500 (values read as JSON "
                             "where they can be: numbers, true/false, lists)")
    parser.add_argument("--epochs", type=positive_int, metavar="N",
                        help="epochs in total (with --resume: train on up to this many)")
    parser.add_argument("--batch-size", type=positive_int, metavar="N")
    parser.add_argument("--lr", type=positive_float, metavar="X", help="learning rate")
    parser.add_argument("--device", metavar="DEVICE",
                        help="auto, cpu, cuda, cuda:N (the Nth GPU) or mps")
    parser.add_argument("--set", action="append", default=[], type=dataset_option,
                        metavar="KEY=VALUE", dest="settings",
                        help="any training setting, repeatable: optimizer=sgd, "
                             "early_stopping.patience=3, augmentation.flip=true (values read "
                             "as JSON where they can be); see the settings listed by a wrong "
                             "key")
    parser.add_argument("--download", action="store_true",
                        help="download MNIST, Fashion-MNIST or CIFAR-10 into the dataset cache "
                             "when its files are missing (checked against the official "
                             "checksums)")
    parser.add_argument("--out", metavar="DIR",
                        help="run folder (default: a new run-<time> folder in <FILE stem>.runs/ "
                             "beside FILE, where the editor lists its runs)")
    parser.add_argument("--resume", metavar="DIR", help="continue the run saved in DIR")
    talk = parser.add_mutually_exclusive_group()
    talk.add_argument("-q", "--quiet", action="store_true",
                      help="print only warnings, errors and the final line")
    talk.add_argument("-v", "--verbose", action="store_true",
                      help="also print the settings and every informational message")
    add_trust_argument(parser)


def dataset_option(text: str) -> tuple[str, object]:  # also parses --set
    """``KEY=VALUE`` → (key, value); the value is JSON when it parses as JSON, else text."""
    import json

    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, not {text!r}")
    try:
        return key.strip(), json.loads(value)
    except json.JSONDecodeError:
        return key.strip(), value


def _same_dataset(a: str, b: str) -> bool:
    """The same built-in name, or the same file however its path is written."""
    from ..train.data import dataset_key, is_named_dataset

    if is_named_dataset(a) or is_named_dataset(b):
        return dataset_key(a) == dataset_key(b)
    try:
        return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()
    except OSError:
        return a == b


def run(args: argparse.Namespace) -> int:
    import os
    import time

    from ..train.worker import passive_waits

    passive_waits()  # before torch comes in
    from ..errors import NetbuilderError
    from ..graph import from_json
    from ..train.checkpoint import RunFiles
    from ..train.config import TrainingConfig
    from ..train.data import is_named_dataset
    from ..train.distributed import from_env, shutdown
    from ..train.run_store import begin_run, end_run, graph_store, new_run_dir, write_run_meta
    from ..train.sinks import ProgressBar
    from ..train.tensorboard_sink import LOG_DIR, TensorBoardSink
    from ..train.trainer import Trainer
    from ..train.validation import describe_problem, validate_training
    from .common import CommandError, load_graph

    dist = from_env()
    if args.resume:
        files = RunFiles(args.resume)
        graph = load_graph(args.file, args.trust) if args.file else from_json(
            files.read_graph_text(), str(files.path("graph.json")))
        config = TrainingConfig.from_dict(files.read_config())
        out = Path(args.resume)
    else:
        if not args.file:
            raise CommandError("give a graph FILE to train (or --resume DIR)")
        graph = load_graph(args.file, args.trust)
        try:
            config = TrainingConfig.from_graph(graph)
        except NetbuilderError as exc:
            raise CommandError(describe_problem(exc)) from None
        out = Path(args.out) if args.out else None
    changes = {k: v for k, v in (("dataset", args.dataset), ("epochs", args.epochs),
                                 ("batch_size", args.batch_size), ("lr", args.lr),
                                 ("device", args.device)) if v is not None}
    if args.dataset is not None:
        path = Path(args.dataset).expanduser()
        if not is_named_dataset(args.dataset) and path.exists():
            changes["dataset"] = str(path.resolve())  # whole: --resume finds it from anywhere
        if not _same_dataset(changes["dataset"], config.dataset):
            changes["dataset_options"] = {}  # options belong to the dataset they were set for
    if args.dataset_options:
        options = changes.get("dataset_options", config.dataset_options)
        changes["dataset_options"] = {**options, **dict(args.dataset_options)}
    if args.download:
        from ..train.data import REMOTES, dataset_key

        dataset = changes.get("dataset", config.dataset)
        if dataset_key(dataset) not in REMOTES:
            raise CommandError(f"--download applies to the downloadable datasets "
                               f"({', '.join(REMOTES)}), not {dataset!r}")
        options = changes.get("dataset_options", config.dataset_options)
        changes["dataset_options"] = {**options, "download": True}
    if args.settings:
        config = config.with_settings(args.settings, source="--set")
    try:  # check, train and export refuse the same settings, naming the same field
        config = validate_training(graph, config.replace(**changes))
    except NetbuilderError as exc:
        raise CommandError(describe_problem(exc)) from None
    if config.device != "auto":
        from ..train.device import resolve_device

        resolve_device(config.device, dist.local_rank if dist.world_size > 1 else None)
    sinks = []
    if dist.is_main:
        verbosity = 0 if args.quiet else 2 if args.verbose else 1
        # NOTE: the live bar only for a person watching: piped or logged output gets the
        # permanent lines alone. The bar is drawn on stderr; stdout keeps the result line.
        sinks.append(ProgressBar(sys.stderr, bar=sys.stdout.isatty(), verbosity=verbosity))
        if out is None:
            out = new_run_dir(graph_store(Path(args.file).resolve()))
        out.mkdir(parents=True, exist_ok=True)
        if args.resume:
            write_run_meta(out, status="running", resumed=time.time(), pid=os.getpid())
        else:
            begin_run(out, graph.name, Path(args.file).resolve(), "cli")
        tb = TensorBoardSink.create(out / LOG_DIR, graph)
        if tb is not None:
            sinks.append(tb)

    def emit(event) -> None:
        for sink in sinks:
            sink(event)

    status = "failed"
    try:
        result = Trainer(graph, config, emit=emit, out_dir=out, resume=args.resume,
                         dist=dist).run()
        status = result.summary.get("status", "finished")
    finally:
        shutdown()
        if dist.is_main:
            end_run(out, status)
    if dist.is_main:
        s = result.summary
        best = (f", best {s['monitor']} {s['best_value']:.4g} at epoch {s['best_epoch']}"
                if s.get("best_epoch") is not None and s.get("best_value") is not None else "")
        speed = f", {s['samples_per_s']:,.0f} samples/s" if s.get("samples_per_s") else ""
        print(f"{s['status']}: {s['epochs_done']} epochs{best}{speed}; outputs in {out}")
    return 0


if __name__ == "__main__":  # pragma: no cover  (python -m netbuilder.commands.train)
    from ..cli import main

    sys.exit(main([NAME, *sys.argv[1:]]))

