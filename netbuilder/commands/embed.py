"""``netbuilder embed RUN --node NAME``: a node's activations on the validation set, projected to
2-D (PCA or t-SNE) and drawn as a scatter coloured by class."""
from __future__ import annotations

import argparse
import sys
import time

from ..train.explain import PROJECTIONS
from .common import add_run_argument, open_run, positive_int

NAME = "embed"
HELP = "scatter plot of a node's activations on the validation set (PCA or t-SNE)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_argument(parser)
    parser.add_argument("--node", required=True, metavar="NAME", help="e.g. fc1")
    parser.add_argument("--method", choices=PROJECTIONS, default="tsne")
    parser.add_argument("--limit", type=positive_int, metavar="N",
                        help="use the first N validation samples only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", required=True, metavar="OUT.png")


def run(args: argparse.Namespace) -> int:
    from ..train.explain import node_features, project, scatter_png, warm_up

    warm_up()  # scikit-learn's import overlaps loading the run and its activations
    model = open_run(args)
    layer = model.node(args.node)
    x, y = model.validation(args.limit)
    start = time.perf_counter()
    features = node_features(model.net, layer, x)
    points = project(features, args.method, seed=args.seed)
    seconds = time.perf_counter() - start
    scatter_png(points, None if y is None else y.numpy(), args.output, model.classes,
                title=f"{args.node}: {args.method} of {len(x)} validation samples")
    print(f"{args.method} of '{args.node}' ({features.shape[1]} features) on {len(x)} "
          f"validation samples in {seconds:.2f} s; plot written to {args.output}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    from ..cli import main

    sys.exit(main([NAME, *sys.argv[1:]]))
