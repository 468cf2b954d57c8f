"""``netbuilder evaluate RUN [--dataset NAME|PATH]``: a trained run's model scored with its task's
metrics, and (classification) the confusion matrix with the class names. Samples go through
the run's own preprocessing; the metrics are computed by the validation pass the editor shows."""
from __future__ import annotations

import argparse

from .common import InputError, format_table, positive_int, print_json, trained_run

NAME = "evaluate"
HELP = "the task's metrics and confusion matrix of a trained run on a data set"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..train.evaluation import SPLITS

    parser.add_argument("run", metavar="RUN",
                        help="a run folder, or a graph file (its newest run that fits it)")
    parser.add_argument("--dataset", metavar="NAME|PATH",
                        help="a built-in data set or a data file/folder (default: the run's "
                             "own, with its options)")
    parser.add_argument("--split", choices=SPLITS, default="auto",
                        help="validation: the part the run held out; all: every sample "
                             "(default: validation for the run's own data set, else all)")
    parser.add_argument("--batch-size", type=positive_int, default=256, metavar="N")
    parser.add_argument("--weights", choices=("last", "best"), default="last",
                        help="the last epoch's weights (default) or the best epoch's")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    from ..train.data import DataError
    from ..train.evaluation import evaluate_run
    from ..train.predictor import PredictError

    predictor = trained_run(args.run, args.weights)
    try:
        result = evaluate_run(predictor, args.dataset, split=args.split,
                              batch_size=args.batch_size)
    except (PredictError, DataError) as exc:
        raise InputError(str(exc)) from None
    if args.json:
        print_json(result.to_dict())
        return 0
    from ..train.tasks import get_task

    task = get_task(predictor.task)
    which = "validation part" if result.split == "validation" else "all samples"
    print(f"{predictor.task} on '{result.dataset}' ({which}, {result.samples} samples):")
    width = max(len(task.metric_label(k)[0]) for k in result.metrics) if result.metrics else 0
    for key, value in result.metrics.items():
        print(f"  {task.metric_label(key)[0]:<{width}}  {value:.4f}")
    if result.confusion is not None:
        print()
        print("confusion matrix (rows: true class, columns: predicted)")
        print("\n".join(_matrix_lines(result.classes, result.confusion)))
    return 0


def _matrix_lines(classes: list[str], matrix) -> list[str]:
    names = [str(c) for c in classes] if classes and len(classes) == len(matrix) \
        else [str(i) for i in range(len(matrix))]
    rows = [[name, *(str(int(v)) for v in row)] for name, row in zip(names, matrix)]
    return format_table(["", *names], rows, [False, *([True] * len(names))])

