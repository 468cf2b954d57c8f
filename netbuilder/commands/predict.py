"""``netbuilder predict RUN_OR_GRAPH INPUT...``: what a trained run's model makes of pictures,
``.npy``/``.csv`` rows or folders of them (class probabilities, outputs), or the samples its
generator makes (``--samples N``), as its task says. Inputs go through the run's own
preprocessing (resize, normalisation), the code the editor's Try it and the exports run."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from .common import InputError, format_table, positive_int, trained_run

NAME = "predict"
HELP = "class probabilities, outputs or generated samples of a trained run on files"
OUTPUTS = (".csv", ".npy", ".png")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN_OR_GRAPH",
                        help="a run folder, or a graph file (its newest run that fits it)")
    parser.add_argument("inputs", nargs="*", metavar="INPUT",
                        help="pictures (PNG, JPEG...), .npy or .csv files of samples, or "
                             "folders of them")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write the results: .csv (a row per input), .npy (an array) or "
                             ".png (outputs and samples that are pictures, as a grid)")
    parser.add_argument("--top", type=positive_int, default=3, metavar="K",
                        help="classes printed per input (default 3)")
    parser.add_argument("--samples", type=positive_int, metavar="N",
                        help="generate N samples from random latent codes (generative tasks)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the latent codes")
    parser.add_argument("--no-invert", dest="invert", action="store_false",
                        help="keep pictures as they are (by default a picture whose background "
                             "is the opposite of the training pictures' is inverted: dark ink "
                             "on paper for digits trained light on dark)")
    parser.add_argument("--weights", choices=("last", "best"), default="last",
                        help="the last epoch's weights (default) or the best epoch's")


def run(args: argparse.Namespace) -> int:
    from ..train.data import DataError
    from ..train.predict_inputs import load_inputs
    from ..train.predictor import PredictError

    if not args.inputs and args.samples is None:
        raise InputError("give the inputs to predict (files or folders), or --samples N for "
                         "a generative run")
    if args.inputs and args.samples is not None:
        raise InputError("give either inputs or --samples N, not both")
    out = Path(args.output) if args.output else None
    if out is not None:
        _check_output(out)
    predictor = trained_run(args.run, args.weights)
    try:
        if args.samples is not None:
            return _samples(predictor, args, out)
        names, raw = load_inputs(predictor, args.inputs, _say_inverted if args.invert else None)
        if predictor.prediction == "classes":
            return _classes(predictor, names, predictor.probabilities(raw), args, out)
        return _values(predictor, names, predictor.predict(raw), out)
    except (PredictError, DataError) as exc:
        raise InputError(str(exc)) from None


def _say_inverted(path: Path, background: str) -> None:
    ink = "light on dark" if background == "dark" else "dark on light"
    print(f"{path}: inverted (the run's pictures are {ink}; --no-invert keeps it)",
          file=sys.stderr)


def _check_output(out: Path) -> None:
    if out.suffix.lower() not in OUTPUTS:
        raise InputError(f"{out}: write the results as {', '.join(OUTPUTS)}")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"{out}: the folder {folder} does not exist")


def _classes(predictor, names: list[str], probs: np.ndarray, args, out: Path | None) -> int:
    k = probs.shape[1]
    classes = list(predictor.classes or [])
    if len(classes) < k:
        classes += [str(i) for i in range(len(classes), k)]
    classes = classes[:k]
    if out is not None and out.suffix.lower() == ".png":
        raise InputError(f"{out}: class probabilities are written as .csv or .npy")
    if out is None:
        rows = []
        for name, p in zip(names, probs):
            order = np.argsort(-p)[:args.top]
            rows.append([name, classes[order[0]], f"{p[order[0]]:.4f}",
                         ", ".join(f"{classes[i]} {p[i]:.4f}" for i in order[1:])])
        print("\n".join(format_table(["input", "class", "probability", "next"], rows,
                                     [False, False, True, False])))
        return 0
    if out.suffix.lower() == ".npy":
        np.save(out, probs.astype(np.float32))
    else:
        _write_csv(out, ["input", "class", *classes],
                   [[n, classes[int(np.argmax(p))], *(f"{v:.6g}" for v in p)]
                    for n, p in zip(names, probs)])
    print(f"wrote {out}: probabilities of {len(classes)} classes for {len(names)} inputs")
    return 0


def _values(predictor, names: list[str], outputs: np.ndarray, out: Path | None) -> int:
    if out is None:
        rows = [[n, "×".join(map(str, o.shape)) or "1",
                 ", ".join(f"{v:.4g}" for v in np.ravel(o)[:6]) + (" ..." if o.size > 6 else "")]
                for n, o in zip(names, outputs)]
        print("\n".join(format_table(["input", "shape", "output"], rows, [False, True, False])))
        return 0
    _write_arrays(predictor, out, names, outputs, "outputs")
    return 0


def _samples(predictor, args, out: Path | None) -> int:
    if predictor.prediction != "samples":
        raise InputError(f"--samples: the {predictor.task} task does not generate samples; "
                         f"give inputs to predict instead")
    samples = predictor.sample(args.samples, args.seed)
    names = [f"sample {i}" for i in range(len(samples))]
    if out is None:
        print(f"generated {len(samples)} samples of shape {samples.shape[1:]}; write them "
              f"with -o samples.png or -o samples.npy")
        return 0
    _write_arrays(predictor, out, names, samples, "samples")
    return 0


def _write_arrays(predictor, out: Path, names: list[str], arrays: np.ndarray, what: str) -> None:
    suffix = out.suffix.lower()
    if suffix == ".npy":
        np.save(out, arrays.astype(np.float32))
    elif suffix == ".csv":
        flat = arrays.reshape(len(arrays), -1)
        _write_csv(out, ["input", *(f"v{i}" for i in range(flat.shape[1]))],
                   [[n, *(f"{v:.6g}" for v in row)] for n, row in zip(names, flat)])
    else:
        from ..train.explain.images import grid_png
        from ..train.predictor import image_from_output

        pictures = [image_from_output(a, predictor.input_shape) for a in arrays]
        if any(p is None for p in pictures):
            raise InputError(f"{out}: the {what} {arrays.shape[1:]} are not pictures; write "
                             f".npy or .csv")
        grid_png(pictures, out, labels=[Path(n).name for n in names])
    print(f"wrote {out}: {len(arrays)} {what} of shape {arrays.shape[1:]}")


def _write_csv(out: Path, header: list[str], rows: list[list[str]]) -> None:
    import csv

    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)

