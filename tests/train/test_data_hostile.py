"""Hostile and damaged data files: bombs, truncation, NaN and infinity, each named exactly."""
import gzip
import io
import struct

import numpy as np
import pytest
from PIL import Image

import netbuilder.train.data.unpack as unpack
from netbuilder.train.data import DataError, load_dataset, read_idx

FILL = "netbuilder cannot train on them; fill them in or remove those samples."


def npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def declare_size(data: bytes, name: str, size: int) -> bytes:
    """The zip ``data`` with the uncompressed size of entry ``name`` rewritten to ``size`` in
    both its local header and the central directory (what a crafted bomb does)."""
    out = bytearray(data)
    local = out.index(b"PK\x03\x04")  # the first entry's local header
    assert out[local + 30:local + 30 + len(name)] == name.encode()
    struct.pack_into("<L", out, local + 22, size)
    central = out.index(b"PK\x01\x02")
    struct.pack_into("<L", out, central + 24, size)
    return bytes(out)


def test_a_truncated_npy_names_expected_and_actual_bytes(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((10, 4), np.float32))
    whole = path.read_bytes()
    path.write_bytes(whole[:len(whole) - 60])
    with pytest.raises(DataError) as err:
        load_dataset(path)
    assert str(err.value) == (
        f"{path} is truncated: its header declares an array of shape (10, 4) and type float32 "
        f"(160 bytes of data) but the file holds 100 bytes after the header.")


def test_an_npy_of_python_objects_is_refused(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.array([[{"a": 1}], [{"b": 2}]], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match=r"holds Python objects, which netbuilder does not load"):
        load_dataset(path)


def test_nan_and_infinity_in_the_inputs_are_counted_and_named(tmp_path):
    x = np.ones((20, 3), np.float32)
    x[4, 1] = np.nan
    x[7, 0] = np.nan
    x[9, 2] = np.inf
    path = tmp_path / "x.npy"
    np.save(path, x)
    with pytest.raises(DataError) as err:
        load_dataset(path)
    assert str(err.value) == (f"{path} holds 2 NaN values and 1 infinite value in its inputs "
                              f"(the first in sample 4): {FILL}")


def test_nan_in_npz_targets_names_the_array(tmp_path):
    y = np.linspace(0, 1, 12).astype(np.float32)
    y[5] = np.nan
    path = tmp_path / "d.npz"
    path.write_bytes(npz_bytes(x=np.ones((12, 2), np.float32), y=y))
    with pytest.raises(DataError) as err:
        load_dataset(path)
    assert str(err.value) == (f"{path} [y] holds 1 NaN value in its targets (the first in "
                              f"sample 5): {FILL}")


def test_nan_in_a_csv_is_reported_as_such(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b,label\n1,2,x\nnan,3,y\n4,inf,x\n")
    with pytest.raises(DataError) as err:
        load_dataset(path)
    assert str(err.value) == (f"{path} holds 1 NaN value and 1 infinite value in its inputs "
                              f"(the first in sample 1): {FILL}")


def test_training_on_nan_data_says_so_not_the_learning_rate(tmp_path):
    from train_helpers import chain

    from netbuilder.train import TrainingConfig, TrainingFailed, train

    x = np.random.default_rng(0).normal(size=(40, 2)).astype(np.float32)
    x[3, 0] = np.nan
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.arange(40) % 2)
    cfg = TrainingConfig(dataset=str(tmp_path / "x.npy"), epochs=1, device="cpu",
                         dataset_options={"labels_path": str(tmp_path / "y.npy")})
    with pytest.raises(TrainingFailed) as err:
        train(chain("m", (2,), ("Linear", {"out_features": 2})), cfg)
    assert str(err.value) == (f"{tmp_path / 'x.npy'} holds 1 NaN value in its inputs (the first "
                              f"in sample 3): {FILL}")


def test_an_npz_entry_inflating_past_its_declared_size_is_refused(tmp_path):
    path = tmp_path / "bomb.npz"
    data = npz_bytes(x=np.zeros((1000, 100), np.float32))  # 400 kB of zeros: ~1 kB packed
    path.write_bytes(declare_size(data, "x.npy", 1000))
    with pytest.raises(DataError) as err:
        load_dataset(path)
    assert str(err.value) == (
        f"{path} [x] decompresses to more than the 1,000 bytes the archive declares: the file "
        f"is damaged or a decompression bomb, so netbuilder does not read it.")


def test_an_npz_entry_larger_than_memory_is_refused_before_inflating(tmp_path, monkeypatch):
    path = tmp_path / "big.npz"
    path.write_bytes(npz_bytes(x=np.zeros((1000, 100), np.float32)))
    inflated = []
    monkeypatch.setattr(unpack, "decompression_limit", lambda: 100_000)
    monkeypatch.setattr(unpack, "_member", lambda *a: inflated.append(a))
    with pytest.raises(DataError) as err:
        load_dataset(path)
    assert str(err.value) == (
        f"{path} [x] decompresses to more than 100,000 bytes, more than this machine's free "
        f"memory: netbuilder does not read it (a decompression bomb, or data too large to train "
        f"on here).")
    assert inflated == []


def test_a_damaged_npz_entry_is_reported(tmp_path):
    path = tmp_path / "bad.npz"
    data = bytearray(npz_bytes(x=np.arange(400, dtype=np.float32).reshape(100, 4)))
    data[200] ^= 0xFF  # inside the compressed stream
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=rf"^{path} \[x\] is damaged"):
        load_dataset(path)


def idx_bytes(images: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, images.ndim]) + struct.pack(f">{images.ndim}I", *images.shape)
    return header + images.astype(np.uint8).tobytes()


def test_a_gzipped_idx_inflating_past_its_header_is_refused(tmp_path):
    path = tmp_path / "images-idx3-ubyte.gz"
    honest = idx_bytes(np.zeros((10, 4, 4)))  # 16 + 160 bytes
    path.write_bytes(gzip.compress(honest + bytes(1_000_000)))
    with pytest.raises(DataError) as err:
        read_idx(path)
    assert str(err.value) == (
        f"{path} decompresses to more than the 176 bytes its header declares: the file is "
        f"damaged or a decompression bomb, so netbuilder does not read it.")
    path.write_bytes(gzip.compress(honest))
    assert read_idx(path).shape == (10, 4, 4)


def test_a_cut_gzip_is_reported_as_truncated(tmp_path):
    path = tmp_path / "images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.arange(1600).reshape(100, 4, 4) % 251))[:-30])
    with pytest.raises(DataError) as err:
        read_idx(path)
    assert str(err.value) == (f"Could not read {path}: the compressed data ends early (the file "
                              f"is truncated). Download it again.")


def test_an_image_declaring_too_many_pixels_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "images" / "cats"
    folder.mkdir(parents=True)
    Image.new("L", (8, 8)).save(folder / "small.png")
    Image.new("L", (20, 20)).save(folder / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 400 pixels: more than twice that
    with pytest.raises(DataError) as err:
        load_dataset(tmp_path / "images")
    assert str(err.value) == (
        f"The image {folder / 'bomb.png'} declares more than 100 pixels: netbuilder does not "
        f"decompress it (a decompression bomb?). Remove or replace it.")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 300)  # 400: only Pillow's warning
    with pytest.raises(DataError, match="declares more than 300 pixels"):
        load_dataset(tmp_path / "images")
