"""MNIST / Fashion-MNIST / CIFAR-10 from their official file formats, without the network."""

import dataclasses
import gzip
import hashlib
import io
import struct
import tarfile
import urllib.error

import numpy as np
import pytest

from netbuilder.train.data import DataError, default_cache_dir, downloads, load_dataset

MNIST_NAMES = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]


def idx_bytes(array):
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.tobytes())


def mnist_files(n_train=6, n_test=3, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {"train": (rng.integers(0, 256, (n_train, 28, 28)), rng.integers(0, 10, n_train)),
              "test": (rng.integers(0, 256, (n_test, 28, 28)), rng.integers(0, 10, n_test))}
    files = {"train-images-idx3-ubyte.gz": idx_bytes(arrays["train"][0]),
             "train-labels-idx1-ubyte.gz": idx_bytes(arrays["train"][1]),
             "t10k-images-idx3-ubyte.gz": idx_bytes(arrays["test"][0]),
             "t10k-labels-idx1-ubyte.gz": idx_bytes(arrays["test"][1])}
    return files, arrays


def write_files(folder, files):
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)


def cifar_archive(n_per_batch=4, seed=0):
    """A cifar-10-binary.tar.gz laid out like the official one, and its decoded contents."""
    rng = np.random.default_rng(seed)
    buffer, contents = io.BytesIO(), {}
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name in ["batches.meta.txt", *names]:
            if name.endswith(".txt"):
                data = b"airplane\nautomobile\n"
            else:
                labels = rng.integers(0, 10, n_per_batch).astype(np.uint8)
                pixels = rng.integers(0, 256, (n_per_batch, 3072)).astype(np.uint8)
                contents[name] = (pixels.reshape(-1, 3, 32, 32), labels)
                data = np.concatenate([labels[:, None], pixels], axis=1).tobytes()
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue(), contents


def md5(data):
    return hashlib.md5(data).hexdigest()


@pytest.fixture
def no_network(monkeypatch):
    def refuse(url, dest, progress=None):
        raise AssertionError(f"the test tried to download {url}")
    monkeypatch.setattr(downloads, "fetch_url", refuse)


def with_checksums(monkeypatch, name, files):
    """Make our small stand-in files the 'official' ones for this test."""
    remote = downloads.REMOTES[name]
    sums = {n: ("md5", md5(d)) for n, d in files.items()}
    monkeypatch.setitem(downloads.REMOTES, name, dataclasses.replace(remote, checksums=sums))


# ----------------------------------------------------------------------------------- MNIST
@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_mnist_like_from_cache_folder(tmp_path, no_network, name):
    files, arrays = mnist_files()
    write_files(tmp_path / name, files)
    train = load_dataset(name, cache_dir=tmp_path)
    assert train.x.shape == (6, 1, 28, 28) and train.x.dtype == np.float32
    assert np.array_equal(np.round(train.x[:, 0] * 255).astype(np.int64), arrays["train"][0])
    assert train.y.tolist() == arrays["train"][1].tolist() and train.y.dtype == np.int64
    assert train.kind == "image" and train.num_classes == 10 and train.name == name
    test = load_dataset(name, cache_dir=tmp_path, split="test")
    assert len(test) == 3 and test.y.tolist() == arrays["test"][1].tolist()
    assert len(load_dataset(name, cache_dir=tmp_path, limit=2)) == 2
    assert load_dataset(name, cache_dir=tmp_path, flatten=True).x.shape == (6, 784)
    if name == "fashion_mnist":
        assert train.classes[0] == "T-shirt/top" and train.classes[9] == "Ankle boot"


def test_mnist_files_directly_in_cache_dir_or_unzipped(tmp_path, no_network):
    files, arrays = mnist_files()
    write_files(tmp_path, {k: v for k, v in files.items() if k.startswith("train")})
    assert len(load_dataset("mnist", cache_dir=tmp_path)) == 6
    unzipped = tmp_path / "other" / "mnist"
    write_files(unzipped, {k.removesuffix(".gz"): gzip.decompress(v) for k, v in files.items()})
    ds = load_dataset("mnist", cache_dir=tmp_path / "other", split="test", verify=True)
    assert ds.y.tolist() == arrays["test"][1].tolist()


def test_env_var_sets_default_cache(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("NETBUILDER_DATA", str(tmp_path / "data"))
    assert default_cache_dir() == tmp_path / "data"
    write_files(tmp_path / "data" / "mnist", mnist_files()[0])
    assert len(load_dataset("mnist")) == 6
    monkeypatch.delenv("NETBUILDER_DATA")
    assert default_cache_dir().parts[-3:] == (".cache", "netbuilder", "datasets")


@pytest.mark.parametrize("name, expected", [
    ("mnist", ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]),
    ("fashion_mnist", ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]),
    ("cifar10", ["cifar-10-binary.tar.gz", "cifar-10-batches-bin"]),
])
def test_offline_error_names_files_and_folder(tmp_path, no_network, name, expected):
    with pytest.raises(DataError) as info:
        load_dataset(name, cache_dir=tmp_path)
    message = str(info.value)
    for word in [*expected, str(tmp_path / name), "download=True", "--download"]:
        assert word in message, message
    with pytest.raises(DataError) as info:
        load_dataset(name, cache_dir=tmp_path, split="test")
    if name != "cifar10":
        assert "t10k-images-idx3-ubyte.gz" in str(info.value)


def test_verify_detects_checksum_mismatch(tmp_path, no_network):
    files, _ = mnist_files()
    write_files(tmp_path / "mnist", files)
    # Not the official files: loading works, verification names the file and the checksum.
    assert len(load_dataset("mnist", cache_dir=tmp_path)) == 6
    with pytest.raises(DataError) as info:
        load_dataset("mnist", cache_dir=tmp_path, verify=True)
    message = str(info.value)
    assert "train-images-idx3-ubyte.gz" in message and "f68b3c2dcbeaaa9fbdd348bbdeb94873" in message
    assert "MD5" in message and md5(files["train-images-idx3-ubyte.gz"]) in message


def test_mismatched_or_damaged_files(tmp_path, no_network):
    files, _ = mnist_files()
    files["train-labels-idx1-ubyte.gz"] = idx_bytes(np.zeros(5))
    write_files(tmp_path / "mnist", files)
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz.*do not belong together"):
        load_dataset("mnist", cache_dir=tmp_path)
    with pytest.raises(DataError, match="split.*'valid'"):
        load_dataset("mnist", cache_dir=tmp_path, split="valid")
    with pytest.raises(DataError, match="'downlaod'"):
        load_dataset("mnist", cache_dir=tmp_path, downlaod=True)


# ----------------------------------------------------------------------------------- download
def test_download_tries_mirrors_writes_cache_and_verifies(tmp_path, monkeypatch):
    files, arrays = mnist_files()
    with_checksums(monkeypatch, "mnist", files)
    first, second = downloads.REMOTES["mnist"].mirrors
    calls = []

    def fake_fetch(url, dest, progress=None):
        calls.append(url)
        if url.startswith(first):
            raise urllib.error.URLError("mirror down")
        dest.write_bytes(files[url.rsplit("/", 1)[1]])

    monkeypatch.setattr(downloads, "fetch_url", fake_fetch)
    ds = load_dataset("mnist", cache_dir=tmp_path, download=True)
    assert ds.y.tolist() == arrays["train"][1].tolist()
    assert calls == [first + "train-images-idx3-ubyte.gz", second + "train-images-idx3-ubyte.gz",
                     first + "train-labels-idx1-ubyte.gz", second + "train-labels-idx1-ubyte.gz"]
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        assert (tmp_path / "mnist" / name).read_bytes() == files[name]
    assert not list((tmp_path / "mnist").glob("*.part"))
    # Second time the cache is used: nothing is fetched.
    calls.clear()
    assert len(load_dataset("mnist", cache_dir=tmp_path, download=True)) == 6
    assert calls == []


def test_download_with_wrong_checksum_keeps_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(downloads, "fetch_url",
                        lambda url, dest, progress=None: dest.write_bytes(b"<html>blocked</html>"))
    with pytest.raises(DataError) as info:
        load_dataset("fashion_mnist", cache_dir=tmp_path, download=True)
    message = str(info.value)
    assert "train-images-idx3-ubyte.gz" in message and "8d4fb7e6c68d591d4c3dfef9ec88bf0d" in message
    assert str(tmp_path / "fashion_mnist") in message
    assert list((tmp_path / "fashion_mnist").iterdir()) == []


def test_fetch_url_streams_a_file_url_with_progress(tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(b"x" * 3000)
    seen = []
    downloads.fetch_url(source.as_uri(), tmp_path / "copy.bin.part",
                        progress=lambda name, done, total: seen.append((name, done, total)))
    assert (tmp_path / "copy.bin.part").read_bytes() == b"x" * 3000
    assert seen[-1] == ("copy.bin", 3000, 3000)


# ----------------------------------------------------------------------------------- CIFAR-10
def test_cifar10_binary_archive(tmp_path, no_network):
    data, contents = cifar_archive()
    write_files(tmp_path / "cifar10", {"cifar-10-binary.tar.gz": data})
    train = load_dataset("cifar10", cache_dir=tmp_path)
    assert train.x.shape == (20, 3, 32, 32) and train.x.dtype == np.float32
    expected = np.concatenate([contents[f"data_batch_{i}.bin"][0] for i in range(1, 6)])
    assert np.array_equal(np.round(train.x * 255).astype(np.uint8), expected)
    labels = np.concatenate([contents[f"data_batch_{i}.bin"][1] for i in range(1, 6)])
    assert train.y.tolist() == labels.tolist()
    assert train.classes[0] == "airplane" and train.classes[9] == "truck"
    test = load_dataset("cifar10", cache_dir=tmp_path, split="test")
    assert np.array_equal(np.round(test.x * 255).astype(np.uint8), contents["test_batch.bin"][0])
    limited = load_dataset("cifar10", cache_dir=tmp_path, limit=6)
    assert len(limited) == 6 and np.array_equal(limited.y, labels[:6])


def test_cifar10_extracted_folder_and_verify(tmp_path, monkeypatch, no_network):
    data, contents = cifar_archive(n_per_batch=2)
    folder = tmp_path / "cifar10" / "cifar-10-batches-bin"
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar.getmembers():
            write_files(folder, {member.name.split("/")[-1]: tar.extractfile(member).read()})
    test = load_dataset("cifar10", cache_dir=tmp_path, split="test")
    assert test.y.tolist() == contents["test_batch.bin"][1].tolist()
    (tmp_path / "c2" / "cifar10").mkdir(parents=True)
    (tmp_path / "c2" / "cifar10" / "cifar-10-binary.tar.gz").write_bytes(data)
    with pytest.raises(DataError, match="not the official CIFAR-10 file cifar-10-binary.tar.gz"):
        load_dataset("cifar10", cache_dir=tmp_path / "c2", verify=True)
    with_checksums(monkeypatch, "cifar10", {"cifar-10-binary.tar.gz": data})
    assert len(load_dataset("cifar10", cache_dir=tmp_path / "c2", verify=True)) == 10


def test_cifar10_damaged_files(tmp_path, no_network):
    folder = tmp_path / "cifar10" / "cifar-10-batches-bin"
    write_files(folder, {"test_batch.bin": b"\x00" * 3072})
    with pytest.raises(DataError, match="test_batch.bin has 3072 bytes.*3073"):
        load_dataset("cifar10", cache_dir=tmp_path, split="test")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
        tar.addfile(info, io.BytesIO(b""))
    write_files(tmp_path / "py" / "cifar10", {"cifar-10-binary.tar.gz": buffer.getvalue()})
    with pytest.raises(DataError, match="lacks data_batch_1.bin.*binary version"):
        load_dataset("cifar10", cache_dir=tmp_path / "py")
    write_files(tmp_path / "bad" / "cifar10", {"cifar-10-binary.tar.gz": b"not a tar"})
    with pytest.raises(DataError, match="Could not read .*cifar-10-binary.tar.gz"):
        load_dataset("cifar10", cache_dir=tmp_path / "bad")
