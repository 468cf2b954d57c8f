"""``load_dataset``: one entry point for built-in names, downloadable sets and files."""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

from . import builtin, downloads, formats
from .core import DataError, DatasetArrays, check_options

# Options every source accepts, applied after loading.
COMMON = {"limit"}
_FILE_OPTIONS = {
    "csv": {"label_column", "header", "delimiter", "task"},
    "npy": {"labels_path", "kind", "task"},
    "npz": {"x_key", "y_key", "kind", "task"},
    "idx": {"labels_path", "kind", "task"},
    "images": {"size", "grayscale"},
}
_SUFFIXES = ".csv/.tsv, .npy, .npz, IDX files (.idx, -ubyte, optionally .gz) or a folder of images"


def list_builtin_datasets() -> list[dict[str, Any]]:
    """Every dataset known by name: name, kind, description, and whether it downloads."""
    rows = [{"name": name, "kind": kind, "description": text, "download": False}
            for name, (kind, text) in builtin.BUILTIN.items()]
    rows += [{"name": r.name, "kind": "image", "description": r.description, "download": True}
             for r in downloads.REMOTES.values()]
    return rows


def dataset_key(name: str) -> str:
    """How a dataset name is looked up: "Fashion-MNIST" is ``fashion_mnist``."""
    return name.strip().lower().replace("-", "_")


def is_named_dataset(name: str) -> bool:
    """A built-in or downloadable dataset's name (names win over files of the same name)."""
    key = dataset_key(name)
    return key in builtin.BUILTIN or key in downloads.REMOTES


def accepted_options(spec: str) -> set[str] | None:
    """The options ``load_dataset(spec, ...)`` takes (None: no dataset of that name or path,
    which loading reports). Looks at the name and the path only; reads no file."""
    key = dataset_key(spec)
    if key in builtin.BUILTIN:
        return set(builtin.LOADERS[key][1]) | COMMON
    if key in downloads.REMOTES:
        return set(downloads.OPTIONS) | COMMON
    path = Path(spec).expanduser()
    try:
        if path.is_dir():
            return _FILE_OPTIONS["images"] | COMMON
    except (OSError, ValueError):  # a NUL byte or an unencodable name: no such path
        return None
    suffix = path.suffix.lower()
    kind = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".npy": "npy", ".npz": "npz"}.get(suffix)
    if kind is None and formats.is_idx_path(path):
        kind = "idx"
    return None if kind is None else _FILE_OPTIONS[kind] | COMMON


def load_dataset(spec: str | os.PathLike, **options: Any) -> DatasetArrays:
    """Load a dataset by built-in name (see ``list_builtin_datasets``) or from a path.

    Every failure raises DataError whose message names the file or option at fault.
    """
    limit = options.pop("limit", None)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise DataError(f"Option limit must be a whole number ≥ 1, not {limit!r}.",
                        field="limit")
    name = os.fspath(spec) if isinstance(spec, os.PathLike) else spec
    if not isinstance(name, str) or not name.strip():
        raise DataError(f"A dataset is a built-in name or a file path, not {spec!r}.",
                        field="dataset")
    key = dataset_key(name)
    if key in builtin.BUILTIN:
        ds = builtin.load_builtin(key, **options)
    elif key in downloads.REMOTES:
        ds = downloads.load_remote(key, limit=limit, **options)
    else:
        ds = _load_path(Path(name).expanduser(), options)
    if limit is not None and limit < len(ds):
        ds = ds.subset(slice(0, limit))
    return ds


def _load_path(path: Path, options: dict[str, Any]) -> DatasetArrays:
    if not path.exists():
        raise DataError(_unknown_message(path), path=str(path), field="dataset")
    if path.is_dir():
        check_options(str(path), options, _FILE_OPTIONS["images"])
        return formats.load_image_folder(path, **options)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        check_options(str(path), options, _FILE_OPTIONS["csv"])
        if suffix == ".tsv":
            options.setdefault("delimiter", "\t")
        return formats.load_csv(path, **options)
    if suffix == ".npy":
        check_options(str(path), options, _FILE_OPTIONS["npy"])
        return formats.load_npy(path, **options)
    if suffix == ".npz":
        check_options(str(path), options, _FILE_OPTIONS["npz"])
        return formats.load_npz(path, **options)
    if formats.is_idx_path(path):
        check_options(str(path), options, _FILE_OPTIONS["idx"])
        return formats.load_idx(path, **options)
    raise DataError(f"netbuilder cannot read {path}: datasets are {_SUFFIXES}.",
                    path=str(path), field="dataset")


def _unknown_message(path: Path) -> str:
    names = [row["name"] for row in list_builtin_datasets()]
    text = str(path)
    if len(path.parts) == 1 and not path.suffix:
        close = difflib.get_close_matches(text.lower(), names, n=1)
        guess = f" Did you mean '{close[0]}'?" if close else ""
        return (f"There is no built-in dataset or file called '{text}'.{guess} The built-in "
                f"datasets are {', '.join(names)}; a file may be {_SUFFIXES}.")
    return f"File not found: {text}. Check the path (datasets are {_SUFFIXES})."
