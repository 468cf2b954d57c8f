"""Inputs from files for a trained run: pictures, ``.npy``/``.csv`` rows and folders of them.

The editor's Try it (a dropped file) and ``netbuilder predict`` read files here; a
``Predictor`` turns what they hold into raw samples, and its preprocessing does the rest.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from .data.formats import IMAGE_SUFFIXES as _PICTURES
from .predictor import PredictError, Predictor

IMAGE_SUFFIXES = tuple(sorted(_PICTURES))  # what the data sets' image folders read
DATA_SUFFIXES = (".npy", ".csv", ".tsv", ".txt")


def read_picture(path: str | Path) -> np.ndarray:
    """A picture file as float32 (H, W, 3) in [0, 1]; PredictError naming the file."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise PredictError(f"{path}: cannot read it as a picture ({exc})") from None


def read_rows(path: str | Path) -> np.ndarray:
    """The numbers of a ``.npy`` array or a text table (comma- or tab-separated; a header
    line is skipped); PredictError naming the file."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".npy":
            return np.load(path, allow_pickle=False)  # never unpickle a stranger's file
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
        try:
            return np.loadtxt(path, delimiter=delimiter, dtype=np.float32, ndmin=2)
        except ValueError:
            with warnings.catch_warnings():  # (a file of one line of words: no data left)
                warnings.simplefilter("ignore", UserWarning)
                rows = np.loadtxt(path, delimiter=delimiter, dtype=np.float32, ndmin=2,
                                  skiprows=1)
            if not rows.size:
                raise
            return rows
    except (OSError, ValueError, EOFError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PredictError(f"{path}: cannot read it as numbers ({first})") from None


def input_files(paths: Iterable[str | Path]) -> list[Path]:
    """The files named, a folder standing for the pictures and data files directly in it
    (sorted by name); PredictError for a path that does not exist or holds nothing usable."""
    files: list[Path] = []
    for item in map(Path, paths):
        if item.is_dir():
            inside = sorted(p for p in item.iterdir() if p.is_file()
                            and p.suffix.lower() in IMAGE_SUFFIXES + DATA_SUFFIXES)
            if not inside:
                raise PredictError(f"{item}: the folder holds no pictures "
                                   f"({', '.join(IMAGE_SUFFIXES)}) and no data files "
                                   f"({', '.join(DATA_SUFFIXES)})")
            files.extend(inside)
        elif item.is_file():
            files.append(item)
        else:
            raise PredictError(f"{item}: no such file or folder")
    return files


def file_samples(predictor: Predictor, path: str | Path,
                 inverted: Callable[[Path, str], None] | None = None) -> np.ndarray:
    """The raw samples (N, *raw_shape) a picture or data file holds for ``predictor``'s run.

    ``inverted``: given, a picture whose background is the opposite of the run's (dark ink on
    paper for digits trained white on black) is inverted, and it is called with the path and
    the run's background; None leaves pictures as they are."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        picture = read_picture(path)
        if inverted is not None:
            picture, flipped = predictor.match_background(picture)
            if flipped:
                inverted(path, predictor.background())
        try:
            return predictor.image_input(picture)[None]
        except PredictError as exc:
            raise PredictError(f"{path}: {exc}") from None
    if suffix in DATA_SUFFIXES:
        return predictor.rows_input(read_rows(path), str(path))
    raise PredictError(f"{path}: give a picture ({', '.join(IMAGE_SUFFIXES)}) or a data "
                       f"file ({', '.join(DATA_SUFFIXES)})")


def load_inputs(predictor: Predictor, paths: Iterable[str | Path],
                inverted: Callable[[Path, str], None] | None = None
                ) -> tuple[list[str], np.ndarray]:
    """(a name per sample, raw samples (N, *raw_shape)) of every file and folder named: a
    file of several rows gives ``file[0]``, ``file[1]``, ... (``inverted``: see
    ``file_samples``)."""
    names: list[str] = []
    parts: list[np.ndarray] = []
    for path in input_files(paths):
        x = file_samples(predictor, path, inverted)
        names.extend([str(path)] if len(x) == 1 and path.suffix.lower() in IMAGE_SUFFIXES
                     else [f"{path}[{i}]" for i in range(len(x))])
        parts.append(x)
    return names, np.concatenate(parts)
