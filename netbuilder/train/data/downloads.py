"""MNIST, Fashion-MNIST and CIFAR-10 from their official files, cached on disk.

Files are looked up in ``<cache_dir>/<dataset>/`` (or ``<cache_dir>/`` itself). They are
downloaded only when missing and ``download=True``; downloads are checked against the
official checksums before they are kept. Files placed by hand are checked when ``verify=True``.

NOTE: CIFAR-10 is read from its binary version (fixed-size records), never from the pickled
Python version: unpickling a downloaded file could run arbitrary code.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tarfile
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .core import DataError, DatasetArrays, check_options, images_from_uint8
from .formats import parse_idx, read_bytes

Progress = Callable[[str, int, int], None]  # (file name, bytes done, bytes total or -1)


@dataclass(frozen=True)
class Remote:
    """An official dataset: its mirrors, its files per split and their checksums."""

    name: str
    title: str
    mirrors: tuple[str, ...]
    splits: dict[str, tuple[str, ...]]
    checksums: dict[str, tuple[str, str]]  # file name → (algorithm, hex digest)
    classes: tuple[str, ...]
    description: str

    def files(self, split: str) -> tuple[str, ...]:
        return self.splits[split]


_MNIST_FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
                "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
CIFAR_ARCHIVE = "cifar-10-binary.tar.gz"
CIFAR_FOLDER = "cifar-10-batches-bin"
CIFAR_BATCHES = {"train": tuple(f"data_batch_{i}.bin" for i in range(1, 6)),
                 "test": ("test_batch.bin",)}
CIFAR_RECORD = 1 + 3 * 32 * 32  # one label byte, then 1024 red, 1024 green, 1024 blue bytes
CIFAR_BATCH_BYTES = 10_000 * CIFAR_RECORD

REMOTES: dict[str, Remote] = {
    "mnist": Remote(
        "mnist", "MNIST",
        ("https://ossci-datasets.s3.amazonaws.com/mnist/",
         "https://storage.googleapis.com/cvdf-datasets/mnist/"),
        _MNIST_FILES,
        {"train-images-idx3-ubyte.gz": ("md5", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
         "train-labels-idx1-ubyte.gz": ("md5", "d53e105ee54ea40749a09fcbcd1e9432"),
         "t10k-images-idx3-ubyte.gz": ("md5", "9fb629c4189551a2d022fa330f9573f3"),
         "t10k-labels-idx1-ubyte.gz": ("md5", "ec29112dd5afa0611ce80d1b7f02629c")},
        tuple(str(i) for i in range(10)),
        "28×28 handwritten digits, 60,000 train + 10,000 test, 10 classes (download, 11 MB)"),
    "fashion_mnist": Remote(
        "fashion_mnist", "Fashion-MNIST",
        ("https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
         "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"),
        _MNIST_FILES,
        {"train-images-idx3-ubyte.gz": ("md5", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
         "train-labels-idx1-ubyte.gz": ("md5", "25c81989df183df01b3e8a0aad5dffbe"),
         "t10k-images-idx3-ubyte.gz": ("md5", "bef4ecab320f06d8554ea6380940ec79"),
         "t10k-labels-idx1-ubyte.gz": ("md5", "bb300cfdad3c16e7a12a480ee83cd310")},
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
         "Bag", "Ankle boot"),
        "28×28 clothing pictures, 60,000 train + 10,000 test, 10 classes (download, 30 MB)"),
    "cifar10": Remote(
        "cifar10", "CIFAR-10",
        ("https://www.cs.toronto.edu/~kriz/",),
        {"train": (CIFAR_ARCHIVE,), "test": (CIFAR_ARCHIVE,)},
        {CIFAR_ARCHIVE: ("md5", "c32a1d4ab5d03f1284b67883e8d87530")},
        ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
         "truck"),
        "32×32 colour photos, 50,000 train + 10,000 test, 10 classes (download, 162 MB)"),
}

OPTIONS = {"cache_dir", "download", "verify", "split", "limit", "progress", "flatten"}


def default_cache_dir() -> Path:
    """``$NETBUILDER_DATA`` when set, else ``~/.cache/netbuilder/datasets``."""
    env = os.environ.get("NETBUILDER_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "netbuilder" / "datasets"


def dataset_folder(name: str, cache_dir: Any = None) -> Path:
    """The folder where the files of dataset ``name`` are expected and downloaded to."""
    return Path(cache_dir if cache_dir is not None else default_cache_dir()).expanduser() / name


def file_digest(path: Path, algorithm: str = "md5") -> str:
    digest = hashlib.new(algorithm, usedforsecurity=False)  # integrity, not security
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_url(url: str, dest: Path, progress: Progress | None = None, timeout: float = 60.0
              ) -> None:
    """Download ``url`` into ``dest`` (raises OSError/URLError on failure)."""
    request = urllib.request.Request(url, headers={"User-Agent": "netbuilder"})
    with urllib.request.urlopen(request, timeout=timeout) as response, dest.open("wb") as out:
        total = int(response.headers.get("Content-Length") or -1)
        done = 0
        while block := response.read(1 << 20):
            out.write(block)
            done += len(block)
            if progress is not None:
                progress(dest.name.removesuffix(".part"), done, total)


def verify_file(remote: Remote, path: Path, name: str) -> None:
    """Raise DataError unless ``path`` has the official checksum of file ``name``."""
    algorithm, expected = remote.checksums[name]
    actual = file_digest(path, algorithm)
    if actual != expected:
        raise DataError(f"{path} is not the official {remote.title} file {name}: its "
                        f"{algorithm.upper()} is {actual}, expected {expected}. Delete it and "
                        "download it again.", path=str(path), field=name)


def _find(folder: Path, name: str) -> Path | None:
    """An official file in the dataset folder or its parent (the cache folder itself).

    An unzipped copy (``name`` without ``.gz``) is accepted as well.
    """
    candidates = [name, name.removesuffix(".gz")] if name.endswith("-ubyte.gz") else [name]
    for place in (folder, folder.parent):
        for candidate in candidates:
            if (place / candidate).is_file():
                return place / candidate
    return None


def _download(remote: Remote, folder: Path, name: str, progress: Progress | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target, part = folder / name, folder / (name + ".part")
    failures = []
    for mirror in remote.mirrors:
        url = mirror + name
        try:
            fetch_url(url, part, progress)
            verify_file(remote, part, name)
        except (OSError, ValueError, http.client.HTTPException) as exc:  # URLError is OSError
            failures.append(f"{url}: {exc}")
            part.unlink(missing_ok=True)
            continue
        part.replace(target)  # atomic: a half-written file never has the official name
        return target
    raise DataError(f"Could not download {remote.title} file {name} into {folder}:\n  "
                    + "\n  ".join(failures)
                    + f"\nCheck the internet connection, or download {name} yourself and put it "
                    f"in {folder}.", path=str(folder), field=name)


def ensure_files(remote: Remote, names: tuple[str, ...], folder: Path, download: bool,
                 verify: bool, progress: Progress | None = None) -> dict[str, Path]:
    """Paths of the official files ``names``, downloading the missing ones if allowed."""
    found = {name: _find(folder, name) for name in names}
    missing = [name for name, path in found.items() if path is None]
    if missing and not download:
        raise DataError(missing_message(remote, names, folder), path=str(folder),
                        field=missing[0])
    for name in names:
        if found[name] is None:
            found[name] = _download(remote, folder, name, progress)
        elif verify and found[name].name == name:  # type: ignore[union-attr]
            # NOTE: unzipped copies have no official checksum, so only .gz files are checked.
            verify_file(remote, found[name], name)  # type: ignore[arg-type]
    return found  # type: ignore[return-value]


def missing_message(remote: Remote, names: tuple[str, ...], folder: Path) -> str:
    many = len(names) > 1
    them = "them" if many else "it"
    return (f"{remote.title} is not on this computer: netbuilder expects the file"
            f"{'s' if many else ''} {', '.join(names)} in the folder {folder}. Download {them} "
            f"from {remote.mirrors[0]} and put {them} there unchanged{_extracted_hint(remote)}, "
            "or allow the download (download=True in the dataset options; on the command "
            "line, netbuilder train --download).")


def _extracted_hint(remote: Remote) -> str:
    if remote.name == "cifar10":
        return f" (its extracted {CIFAR_FOLDER} folder works too)"
    return " (unzipped copies without .gz work too)"


# ----------------------------------------------------------------------------------- loaders
def load_remote(name: str, **options: Any) -> DatasetArrays:
    """Load one of REMOTES; options: cache_dir, download, verify, split, limit, progress."""
    check_options(name, options, OPTIONS)
    remote = REMOTES[name]
    split = options.get("split", "train")
    if split not in remote.splits:
        raise DataError(f"Option split for '{name}' must be 'train' or 'test', not {split!r}.",
                        field="split")
    limit = options.get("limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise DataError(f"Option limit for '{name}' must be a whole number ≥ 1, not {limit!r}.",
                        field="limit")
    folder = dataset_folder(name, options.get("cache_dir"))
    download = bool(options.get("download", False))
    verify = bool(options.get("verify", False))
    progress = options.get("progress")
    if name == "cifar10":
        x, y = _load_cifar(remote, folder, split, limit, download, verify, progress)
    else:
        x, y = _load_mnist_like(remote, folder, split, limit, download, verify, progress)
    kind = "image"
    if options.get("flatten"):
        x, kind = x.reshape(len(x), -1), "vector"
    return DatasetArrays(name, x, y, kind, list(remote.classes), "classify",
                         meta={"split": split, "folder": str(folder)})


def _load_mnist_like(remote: Remote, folder: Path, split: str, limit: int | None,
                     download: bool, verify: bool, progress: Progress | None
                     ) -> tuple[np.ndarray, np.ndarray]:
    image_name, label_name = remote.files(split)
    paths = ensure_files(remote, (image_name, label_name), folder, download, verify, progress)
    images = parse_idx(read_bytes(paths[image_name]), str(paths[image_name]))
    labels = parse_idx(read_bytes(paths[label_name]), str(paths[label_name]))
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(f"{paths[image_name]} should hold uint8 images (N, 28, 28) but holds "
                        f"{images.dtype} {images.shape}: is it the right file?",
                        path=str(paths[image_name]))
    if labels.ndim != 1 or len(labels) != len(images):
        raise DataError(f"{paths[label_name]} holds {labels.shape} labels for {len(images)} "
                        f"images in {paths[image_name]}: the two files do not belong together.",
                        path=str(paths[label_name]))
    if labels.size and labels.max() >= len(remote.classes):
        raise DataError(f"{paths[label_name]} holds label {int(labels.max())}, but "
                        f"{remote.title} has {len(remote.classes)} classes.",
                        path=str(paths[label_name]))
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return images_from_uint8(images), labels.astype(np.int64)


def _cifar_records(data: bytes, source: str) -> np.ndarray:
    if len(data) == 0 or len(data) % CIFAR_RECORD:
        raise DataError(f"{source} has {len(data)} bytes, not a whole number of CIFAR-10 "
                        f"records ({CIFAR_RECORD} bytes each): the file is damaged.",
                        path=source)
    return np.frombuffer(data, np.uint8).reshape(-1, CIFAR_RECORD)


def _load_cifar(remote: Remote, folder: Path, split: str, limit: int | None, download: bool,
                verify: bool, progress: Progress | None) -> tuple[np.ndarray, np.ndarray]:
    batches = CIFAR_BATCHES[split]
    # Batches extracted by hand (cifar-10-batches-bin/) are used as they are.
    for place in (folder / CIFAR_FOLDER, folder, folder.parent / CIFAR_FOLDER):
        if all((place / b).is_file() for b in batches):
            sources = ((str(place / b), (place / b).read_bytes()) for b in batches)
            break
    else:
        archive = ensure_files(remote, (CIFAR_ARCHIVE,), folder, download, verify,
                               progress)[CIFAR_ARCHIVE]
        sources = _archive_members(archive, batches)
    parts, count, first = [], 0, ""
    for source, data in sources:
        first = first or source
        records = _cifar_records(data, source)
        parts.append(records)
        count += len(records)
        if limit is not None and count >= limit:
            break  # why: a small limit then needs only the first batch, not all 50,000 images
    records = np.concatenate(parts)[:limit]
    labels = records[:, 0].astype(np.int64)
    if labels.size and labels.max() >= len(remote.classes):
        raise DataError(f"{first} holds label {int(labels.max())}, but CIFAR-10 has 10 "
                        "classes: the file is damaged.", path=first)
    return images_from_uint8(records[:, 1:].reshape(-1, 3, 32, 32)), labels


def _archive_members(archive: Path, batches: tuple[str, ...]) -> Iterator[tuple[str, bytes]]:
    """The batch files inside the tar archive, in ``batches`` order, read in one pass.

    Nothing is extracted to disk, so member names cannot write outside the cache.
    """
    wanted: dict[str, bytes] = {}
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                base = Path(member.name).name
                if member.isfile() and base in batches and base not in wanted:
                    if member.size > CIFAR_BATCH_BYTES:  # inflate nothing the format rules out
                        raise DataError(f"{archive}: {member.name} declares {member.size:,} "
                                        f"bytes, but a CIFAR-10 batch has at most "
                                        f"{CIFAR_BATCH_BYTES:,}: the archive is damaged.",
                                        path=str(archive))
                    handle = tar.extractfile(member)
                    wanted[base] = handle.read() if handle is not None else b""
                    while batches and batches[0] in wanted:
                        name, batches = batches[0], batches[1:]
                        yield f"{archive}:{name}", wanted.pop(name)
                        wanted[name] = b""  # mark as done without keeping the bytes
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise DataError(f"Could not read {archive}: {exc}. Delete it and download it again.",
                        path=str(archive)) from None
    if batches:
        raise DataError(f"{archive} lacks {', '.join(batches)}: it is not the binary version "
                        f"of CIFAR-10 ({CIFAR_ARCHIVE}).", path=str(archive))
