"""Readers for datasets on disk: CSV, NumPy .npy/.npz, IDX (MNIST format) and image folders.

NOTE: nothing here unpickles: NumPy files are decoded by ``unpack`` (object arrays refused),
and compressed files are inflated only as far as their headers promise.
"""

from __future__ import annotations

import csv
import io
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .core import DataError, DatasetArrays, check_finite, coerce_x, encode_labels
from .unpack import GZIP_MAGIC, NpzArchive, gunzip, read_npy_file

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm",
                  ".pgm"}
# IDX type codes → big-endian NumPy dtypes, as the MNIST page defines the format.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


# ----------------------------------------------------------------------------------- IDX
def is_idx_path(path: Path) -> bool:
    name = path.name.lower().removesuffix(".gz")
    return name.endswith((".idx", "-ubyte", ".ubyte")) or "-idx" in name or ".idx" in name


def read_bytes(path: Path) -> bytes:
    """The IDX file's bytes, un-gzipped (up to the size its IDX header declares) when it
    starts with the gzip magic number."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"File not found: {path}.", path=str(path)) from None
    except OSError as exc:
        raise DataError(f"Could not read {path}: {exc}. The file may be truncated; "
                        "download it again.", path=str(path)) from None
    return gunzip(data, str(path), idx_size) if data[:2] == GZIP_MAGIC else data


def idx_size(head: bytes) -> int | None:
    """The whole size an IDX header declares (header + data), or None if it is not one."""
    if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in _IDX_DTYPES:
        return None
    ndim = head[3]
    if len(head) < 4 + 4 * ndim:
        return None
    shape = np.frombuffer(head, ">u4", count=ndim, offset=4).astype(np.int64)
    return 4 + 4 * ndim + int(np.prod(shape)) * np.dtype(_IDX_DTYPES[head[2]]).itemsize


def parse_idx(data: bytes, source: str) -> np.ndarray:
    """Decode one IDX file: magic (0, 0, type, ndim), ndim big-endian int32 sizes, data."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise DataError(f"{source} is not an IDX file (its first bytes are {data[:4].hex()}, "
                        "expected 0000 followed by a type code and a rank).", path=source)
    ndim = data[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise DataError(f"{source} has a damaged IDX header.", path=source)
    shape = tuple(int(v) for v in np.frombuffer(data, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise DataError(f"{source} declares shape {shape} ({expected} bytes of data) but holds "
                        f"{len(data) - header}: the file is truncated or damaged.", path=source)
    return np.frombuffer(data, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def read_idx(path: Path) -> np.ndarray:
    return parse_idx(read_bytes(path), str(path))


def load_idx(path: Path, labels_path: Any = None, kind: str | None = None,
             task: str | None = None) -> DatasetArrays:
    raw = read_idx(path)
    if raw.ndim == 1:
        raise DataError(f"{path} holds one value per sample (a label file?): pass the image "
                        "file as the dataset and this file as labels_path.", path=str(path))
    x, kind = coerce_x(raw, str(path), kind)  # uint8 (N, H, W) becomes images in [0, 1]
    y, classes, hint = None, None, "classify"
    if labels_path is not None:
        y, classes, hint = encode_labels(read_idx(Path(labels_path)), str(labels_path), task)
    return _finish(path, x, y, kind, classes, hint)


# ----------------------------------------------------------------------------------- NumPy
def _load_labels_file(labels_path: Any) -> np.ndarray:
    p = Path(labels_path)
    if p.suffix.lower() == ".npy":
        return read_npy_file(p)
    if p.suffix.lower() == ".csv" or p.suffix.lower() == ".txt":
        rows = _read_csv_rows(p, None)
        return np.array([r[0] for r in rows[1:]] if _has_header(rows) else [r[0] for r in rows])
    if is_idx_path(p):
        return read_idx(p)
    raise DataError(f"labels_path {p} must be a .npy, .csv or IDX file.", path=str(p),
                    field="labels_path")


def load_npy(path: Path, labels_path: Any = None, kind: str | None = None,
             task: str | None = None) -> DatasetArrays:
    x, kind = coerce_x(read_npy_file(path), str(path), kind)
    y, classes, hint = None, None, "classify"
    if labels_path is not None:
        y, classes, hint = encode_labels(_load_labels_file(labels_path), str(labels_path), task)
    return _finish(path, x, y, kind, classes, hint)


def load_npz(path: Path, x_key: str | None = None, y_key: str | None = None,
             kind: str | None = None, task: str | None = None) -> DatasetArrays:
    archive = NpzArchive(path)
    keys = archive.files
    xk = x_key or next((k for k in ("x", "X", "inputs", "data") if k in keys), None)
    if xk not in keys:
        held = ", ".join(keys) or "none"
        raise DataError(f"{path} has no array {xk or 'x'!r} (it holds {held}): "
                        "name the inputs 'x' or set the x_key option.", path=str(path),
                        field="x_key")
    yk = y_key or next((k for k in ("y", "Y", "labels", "targets") if k in keys), None)
    if y_key is not None and y_key not in keys:
        raise DataError(f"{path} has no array {y_key!r} (it holds {', '.join(keys)}): "
                        "fix the y_key option.", path=str(path), field="y_key")
    raw_x = archive.read(xk)
    raw_y = archive.read(yk) if yk is not None else None
    x, kind = coerce_x(raw_x, f"{path} [{xk}]", kind)
    y, classes, hint = None, None, "classify"
    if raw_y is not None:
        y, classes, hint = encode_labels(raw_y, f"{path} [{yk}]", task)
    return _finish(path, x, y, kind, classes, hint)


# ----------------------------------------------------------------------------------- CSV
def _read_csv_rows(path: Path, delimiter: str | None) -> list[list[str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(f"File not found: {path}.", path=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"Could not read {path} as UTF-8 text: {exc}.", path=str(path)) from None
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",;\t").delimiter
        except csv.Error:
            delimiter = ","
    rows = [[c.strip() for c in r] for r in csv.reader(io.StringIO(text), delimiter=delimiter)]
    rows = [r for r in rows if any(r)]
    if not rows:
        raise DataError(f"{path} is empty.", path=str(path))
    return rows


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _has_header(rows: list[list[str]]) -> bool:
    """A first row is a header when some column is text there but a number below it."""
    if len(rows) < 2:
        return not all(_is_number(c) for c in rows[0])
    first, second = rows[0], rows[1]
    return any(not _is_number(a) and _is_number(b) for a, b in zip(first, second)) or (
        all(not _is_number(c) for c in first) and any(_is_number(c) for c in second))


def load_csv(path: Path, label_column: Any = -1, header: bool | None = None,
             delimiter: str | None = None, task: str | None = None) -> DatasetArrays:
    rows = _read_csv_rows(path, delimiter)
    if header is None:
        header = _has_header(rows)
    names = rows[0] if header else [f"column {i}" for i in range(len(rows[0]))]
    body = rows[1:] if header else rows
    if not body:
        raise DataError(f"{path} has a header but no data rows.", path=str(path))
    width = len(names)
    for line, row in enumerate(body, start=2 if header else 1):
        if len(row) != width:
            raise DataError(f"{path}, line {line} has {len(row)} columns but the file has "
                            f"{width}: every row needs the same number of values.", path=str(path))
    label_index = None
    if label_column is not None:
        label_index = _column_index(label_column, names, header, path)
    table = np.array(body, dtype=str)
    feature_cols = [i for i in range(width) if i != label_index]
    if not feature_cols:
        raise DataError(f"{path} has no feature columns besides the label column "
                        f"{names[label_index]!r}.", path=str(path), field="label_column")
    x = np.empty((len(body), len(feature_cols)), dtype=np.float32)
    for j, col in enumerate(feature_cols):
        try:
            x[:, j] = table[:, col].astype(np.float64)
        except ValueError:
            bad = next(r for r in range(len(body)) if not _is_number(table[r, col]))
            line = bad + (2 if header else 1)
            raise DataError(f"{path}, column {names[col]!r}, line {line} holds "
                            f"{table[bad, col]!r}, not a number: only the label column may hold "
                            "text (set label_column) and empty cells must be filled in.",
                            path=str(path), field=names[col]) from None
    check_finite(x, str(path), "inputs")
    y, classes, hint = None, None, "classify"
    if label_index is not None:
        labels = table[:, label_index]
        if all(_is_number(v) for v in labels):
            numbers = labels.astype(np.float64)
            if np.all(numbers == np.round(numbers)) and task != "regress":
                labels = numbers.astype(np.int64)
            else:
                labels = numbers
        y, classes, hint = encode_labels(labels, f"{path} [{names[label_index]}]", task)
    ds = _finish(path, x, y, "vector", classes, hint)
    ds.meta["columns"] = [names[i] for i in feature_cols]
    if label_index is not None:
        ds.meta["label_column"] = names[label_index]
    return ds


def _column_index(label_column: Any, names: list[str], header: bool, path: Path) -> int:
    width = len(names)
    if isinstance(label_column, (int, np.integer)) and not isinstance(label_column, bool):
        if not -width <= label_column < width:
            raise DataError(f"label_column {label_column} is out of range: {path} has {width} "
                            f"columns (0 to {width - 1}, or -1 for the last).", path=str(path),
                            field="label_column")
        return int(label_column) % width
    if isinstance(label_column, str):
        if label_column in names:
            return names.index(label_column)
        if label_column.lstrip("-").isdigit():
            return _column_index(int(label_column), names, header, path)
        listed = ", ".join(repr(n) for n in names) if header else "none (it has no header row)"
        raise DataError(f"{path} has no column named {label_column!r}; its columns are "
                        f"{listed}. Set label_column to one of them or to a column number.",
                        path=str(path), field="label_column")
    raise DataError(f"label_column must be a column name or number, not {label_column!r}.",
                    path=str(path), field="label_column")


# ----------------------------------------------------------------------------------- images
def load_image_folder(path: Path, size: Any = None, grayscale: bool | None = None
                      ) -> DatasetArrays:
    """One sub-folder per class (sorted names are the classes), or a flat folder of images."""
    from PIL import Image, UnidentifiedImageError

    subdirs = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    groups = [(d.name, _images_in(d)) for d in subdirs]
    groups = [(name, files) for name, files in groups if files]
    labelled = bool(groups)
    if not labelled:
        groups = [("", _images_in(path))]
    if not groups[0][1]:
        raise DataError(f"{path} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))}): put them "
                        "in one sub-folder per class, e.g. cats/001.png and dogs/001.png.",
                        path=str(path))
    files = [(label, f) for label, (_, fs) in enumerate(groups) for f in fs]
    images = []
    for _, file in files:
        try:
            with warnings.catch_warnings():
                # NOTE: Pillow only warns up to twice its pixel limit; a picture whose header
                # promises more pixels than that is a decompression bomb here too.
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(file) as im:
                    im.load()
                    images.append(im.copy())
        except (Image.DecompressionBombWarning, Image.DecompressionBombError):
            raise DataError(f"The image {file} declares more than {Image.MAX_IMAGE_PIXELS:,} "
                            "pixels: netbuilder does not decompress it (a decompression bomb?). "
                            "Remove or replace it.", path=str(file)) from None
        except (OSError, UnidentifiedImageError) as exc:
            raise DataError(f"Could not read the image {file}: {exc}. Remove or replace it.",
                            path=str(file)) from None
    if grayscale is None:
        grayscale = all(im.mode in ("1", "L", "LA", "I", "I;16", "F") for im in images)
    if size is not None:
        from .builtin import _size_pair

        height, width = _size_pair(size, str(path))
    else:
        sizes = {im.size for im in images}
        if len(sizes) > 1:
            (w0, h0), (w1, h1) = sorted(sizes)[:2]
            raise DataError(f"The images in {path} have different sizes ({w0}×{h0}, {w1}×{h1}, "
                            "…): set the size option, e.g. size=32, to resize them all.",
                            path=str(path), field="size")
        width, height = images[0].size
    mode = "L" if grayscale else "RGB"
    x = np.empty((len(images), 1 if grayscale else 3, height, width), dtype=np.float32)
    for i, im in enumerate(images):
        im = im.convert(mode)
        if im.size != (width, height):
            im = im.resize((width, height), Image.Resampling.BILINEAR)
        arr = np.asarray(im, dtype=np.float32) / 255.0
        x[i] = arr[None] if grayscale else arr.transpose(2, 0, 1)
    y = np.array([label for label, _ in files], dtype=np.int64) if labelled else None
    classes = [name for name, _ in groups] if labelled else None
    ds = _finish(path, x, y, "image", classes, "classify")
    ds.meta["files"] = [str(f) for _, f in files]
    return ds


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


# ----------------------------------------------------------------------------------- common
def _finish(path: Path, x: np.ndarray, y: np.ndarray | None, kind: str,
            classes: list[str] | None, hint: str) -> DatasetArrays:
    if y is not None and len(y) != len(x):
        raise DataError(f"{path} gives {len(x)} samples but the labels give {len(y)}: both must "
                        "have one entry per sample (check labels_path / the key names).",
                        path=str(path), field="y")
    return DatasetArrays(path.stem.removesuffix(".idx") if path.is_file() else path.name, x, y,
                         kind, classes, hint, meta={"path": str(path)})
