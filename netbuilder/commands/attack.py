"""``netbuilder attack RUN --eps E``: adversarial examples (FGSM or PGD) against the trained
model; validation accuracy before and after, a robustness curve, one perturbed sample."""
from __future__ import annotations

import argparse
import sys

from ..train.explain import ATTACKS
from .common import (
    CommandError,
    add_run_argument,
    add_sample_arguments,
    chosen_sample,
    class_name,
    open_run,
    positive_int,
)

NAME = "attack"
HELP = "adversarial examples (FGSM, PGD): accuracy before/after and against ε"


def eps_list(text: str) -> list[float]:
    """``0,0.05,0.1`` → [0.0, 0.05, 0.1] (argparse ``type``)."""
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, not "
                                         f"{text!r}") from None
    if not values or any(not v >= 0 for v in values):
        raise argparse.ArgumentTypeError(f"ε values must be numbers of at least 0, not {text!r}")
    return values


def non_negative(text: str) -> float:
    """One ε of at least 0 (argparse ``type``)."""
    values = eps_list(text)
    if len(values) != 1:
        raise argparse.ArgumentTypeError(f"expected one number, not {text!r}")
    return values[0]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_argument(parser)
    parser.add_argument("--eps", type=non_negative, default=0.1, metavar="E",
                        help="size of the perturbation per input value, in pixel units: the "
                             "input's own scale before normalisation (default 0.1; pictures "
                             "are in [0, 1])")
    parser.add_argument("--method", choices=ATTACKS, default="fgsm")
    parser.add_argument("--steps", type=positive_int, default=10, metavar="N",
                        help="PGD steps (10)")
    parser.add_argument("--curve", type=eps_list, metavar="E1,E2,...",
                        help="also print accuracy at each of these ε")
    parser.add_argument("--limit", type=positive_int, metavar="N",
                        help="attack the first N validation samples only")
    add_sample_arguments(parser)
    parser.add_argument("-o", "--output", metavar="OUT.png",
                        help="write one attacked sample: original, perturbation, adversarial")


def run(args: argparse.Namespace) -> int:
    import torch

    from ..train.explain import accuracy, fgsm, grid_png, pgd, robustness_curve

    model = open_run(args)
    if model.predictor.prediction != "classes":
        raise CommandError(f"attack needs a classifier; this run's task is "
                           f"{model.predictor.task!r}")
    x, y = model.validation(args.limit)
    if y is None:
        raise CommandError("the run's validation samples have no labels to attack")
    options = {"steps": args.steps} if args.method == "pgd" else {}
    attack = fgsm if args.method == "fgsm" else pgd
    clean = accuracy(model.net, x, y)
    curve = robustness_curve(model.net, x, y, [args.eps], args.method, model.x_range,
                             **options)
    print(f"{args.method.upper()} at ε = {args.eps:g} on {len(x)} validation samples: "
          f"accuracy {clean:.1%} → {curve[0][1]:.1%}")
    if args.curve:
        print("ε         accuracy")
        for eps, acc in robustness_curve(model.net, x, y, args.curve, args.method,
                                         model.x_range, **options):
            print(f"{eps:<9g} {acc:.1%}")
    if args.output:
        one, label, what = chosen_sample(model, args)
        if label is None:
            with torch.no_grad():
                label = int(model.net(one).reshape(-1).argmax())
        adv = attack(model.net, one, torch.tensor([label]), args.eps, x_range=model.x_range,
                     **options)
        with torch.no_grad():
            before = int(model.net(one).reshape(-1).argmax())
            after = int(model.net(adv).reshape(-1).argmax())
        grid_png([one[0].numpy(), (adv - one)[0].numpy(), adv[0].numpy()], args.output,
                 labels=[f"{class_name(model, before)}", f"eps={args.eps:g}",
                         f"{class_name(model, after)}"])
        print(f"{what}: predicted {class_name(model, before)} before, "
              f"{class_name(model, after)} after; written to {args.output}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    from ..cli import main

    sys.exit(main([NAME, *sys.argv[1:]]))
