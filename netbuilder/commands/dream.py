"""``netbuilder dream RUN --node NAME``: what a node's channels look for (activation
maximisation from noise), or deep dream on a picture with ``--input``."""
from __future__ import annotations

import argparse
import sys

from .common import CommandError, add_run_argument, open_run, positive_float, positive_int

NAME = "dream"
HELP = "pictures that excite a node's channels (activation maximisation, deep dream)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_argument(parser)
    parser.add_argument("--node", required=True, metavar="NAME", help="e.g. conv2")
    parser.add_argument("--channel", type=int, metavar="C",
                        help="one channel (default: a grid of the first --channels channels; "
                             "with --input: the whole node)")
    parser.add_argument("--channels", type=positive_int, default=16, metavar="N",
                        help="how many channels the grid shows (16)")
    parser.add_argument("--input", metavar="PICTURE",
                        help="deep dream: start from this picture instead of noise")
    parser.add_argument("--steps", type=positive_int, metavar="N",
                        help="gradient steps (128 from noise, 32 for a deep dream)")
    parser.add_argument("--lr", type=positive_float, metavar="X",
                        help="mean change of a pixel per step (0.05 from noise, 0.01 for a "
                             "deep dream)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", required=True, metavar="OUT.png")


def run(args: argparse.Namespace) -> int:
    import torch

    from ..train.explain import capture, deep_dream, grid_png, maximize_activation

    model = open_run(args)
    layer = model.node(args.node)
    shape = model.input_shape
    if args.input:
        start = model.picture(args.input)
        dreamt = deep_dream(model.net, layer, start, args.channel, steps=args.steps or 32,
                            lr=args.lr or 0.01, x_range=model.x_range, seed=args.seed)
        grid_png([start[0].numpy(), dreamt[0].numpy()], args.output,
                 labels=["input", f"{args.node} dream"])
        print(f"deep dream of '{args.node}' on {args.input} written to {args.output}")
        return 0
    with torch.no_grad(), capture([layer]) as seen:
        model.net(torch.zeros((1, *shape)))
    have = int(seen[0].shape[1]) if torch.is_tensor(seen[0]) and seen[0].ndim >= 2 else 0
    if have == 0:
        raise CommandError(f"'{args.node}' has no channels to maximise")
    channels = [args.channel] if args.channel is not None else \
        list(range(min(args.channels, have)))
    tiles = [maximize_activation(model.net, layer, c, shape, steps=args.steps or 128,
                                 lr=args.lr or 0.05,
                                 x_range=model.x_range, seed=args.seed)[0].numpy()
             for c in channels]
    grid_png(tiles, args.output, labels=[f"{args.node}[{c}]" for c in channels])
    print(f"{len(channels)} channel{'s' if len(channels) > 1 else ''} of '{args.node}' "
          f"({have} in all) written to {args.output}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    from ..cli import main

    sys.exit(main([NAME, *sys.argv[1:]]))
