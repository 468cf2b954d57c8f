"""``netbuilder style RUN --content A --style B --nodes N1,N2``: neural style transfer with the
trained model's features (content kept at the nodes, style matched by Gram matrices)."""
from __future__ import annotations

import argparse
import sys

from .common import CommandError, add_run_argument, open_run, positive_float, positive_int

NAME = "style"
HELP = "style transfer: a content picture redrawn with a style picture's textures"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_argument(parser)
    parser.add_argument("--content", required=True, metavar="PICTURE")
    parser.add_argument("--style", required=True, metavar="PICTURE")
    parser.add_argument("--nodes", required=True, metavar="N1,N2",
                        help="nodes whose features (content) and Gram matrices (style) to match")
    parser.add_argument("--content-weight", type=positive_float, default=1.0, metavar="X")
    parser.add_argument("--style-weight", type=positive_float, default=1000.0, metavar="X")
    parser.add_argument("--steps", type=positive_int, default=200, metavar="N")
    parser.add_argument("--lr", type=positive_float, default=0.05, metavar="X")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.png")


def run(args: argparse.Namespace) -> int:
    from ..train.explain import grid_png, stylise

    names = [n.strip() for n in args.nodes.split(",") if n.strip()]
    if not names:
        raise CommandError("--nodes needs at least one node name, e.g. conv1,conv2")
    losses: list[float] = []
    content, style, out = stylise(open_run(args), names, args.content, args.style,
                                  args.content_weight, args.style_weight, steps=args.steps,
                                  lr=args.lr, progress=lambda _s, loss, _x: losses.append(loss))
    grid_png([content[0].numpy(), style[0].numpy(), out[0].numpy()], args.output,
             labels=["content", "style", "result"])
    print(f"style transfer at {', '.join(names)}: loss {losses[0]:.4g} → {losses[-1]:.4g} in "
          f"{args.steps} steps; written to {args.output}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    from ..cli import main

    sys.exit(main([NAME, *sys.argv[1:]]))
