"""``netbuilder explain RUN``: why the trained model predicts what it does for one input, as a
heat map over the picture (saliency, integrated gradients, SmoothGrad, Grad-CAM, occlusion)."""
from __future__ import annotations

import argparse
import sys

from ..train.explain import METHODS
from .common import (
    CommandError,
    add_run_argument,
    add_sample_arguments,
    chosen_sample,
    class_name,
    open_run,
    positive_int,
)

NAME = "explain"
HELP = "heat map of what one prediction rests on (saliency, Grad-CAM, occlusion, ...)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_argument(parser)
    parser.add_argument("--method", choices=METHODS, default="saliency")
    parser.add_argument("--node", metavar="NAME",
                        help="the convolutional node Grad-CAM looks at (e.g. conv2)")
    parser.add_argument("--target", type=int, metavar="CLASS",
                        help="the class to explain (default: the predicted one)")
    parser.add_argument("--window", type=positive_int, default=4, metavar="N",
                        help="occlusion: side of the covering square in input pixels (4)")
    add_sample_arguments(parser)
    parser.add_argument("-o", "--output", metavar="OUT.png",
                        help="where to write the overlay (pictures; other inputs get their "
                             "attribution per feature printed)")


def run(args: argparse.Namespace) -> int:
    import torch

    from ..train.explain import explain, overlay_png

    if args.method == "gradcam" and not args.node:
        raise CommandError("--method gradcam needs --node NAME: the convolutional node to look "
                           "at")
    model = open_run(args)
    picture = model.image_shape() is not None
    if picture and not args.output:
        raise CommandError("give -o OUT.png: where to write the map over the picture")
    x, label, what = chosen_sample(model, args)
    layer = model.node(args.node) if args.node else None
    if args.method == "gradcam":
        spatial = [name for name, _ in model.spatial_nodes()]
        if args.node not in spatial:
            raise CommandError(f"Grad-CAM needs a node with (C, H, W) feature maps; "
                               f"'{args.node}' has none. Nodes that have them: "
                               f"{', '.join(spatial) or 'none'}")
    with torch.no_grad():
        scores = model.net(x).reshape(-1)
    predicted = int(scores.argmax())
    target = predicted if args.target is None else args.target
    if not 0 <= target < len(scores):
        raise CommandError(f"--target {target} is out of range: the model has {len(scores)} "
                           f"outputs (0 to {len(scores) - 1})")
    heat = explain(model.net, x, args.method, target=target, layer=layer, window=args.window)
    truth = f", label {class_name(model, label)}" if label is not None else ""
    said = (f"{args.method} of {what}: predicted {class_name(model, predicted)}{truth}; "
            f"explaining class {class_name(model, target)}")
    if picture:
        overlay_png(x[0].numpy(), heat, args.output)
        print(f"{said}; map written to {args.output}")
        return 0
    print(f"{said}; attribution per input feature:")
    for i, value in enumerate(heat.reshape(-1)):
        print(f"  {i:>4}  {value:+.4g}")
    return 0
    return 0


if __name__ == "__main__":  # pragma: no cover
    from ..cli import main

    sys.exit(main([NAME, *sys.argv[1:]]))
