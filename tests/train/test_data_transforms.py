"""Splits, normalisation, augmentation, the UI preview and the Input shape check."""

import json
import pickle

import numpy as np
import pytest
import torch

from netbuilder.train.data import (
    Augment,
    DataError,
    DatasetArrays,
    Normalizer,
    check_input_shape,
    load_dataset,
    preview,
    split_dataset,
)


# ----------------------------------------------------------------------------------- split
def test_split_is_deterministic_disjoint_and_stratified():
    ds = load_dataset("digits")
    train, val = split_dataset(ds, val_fraction=0.2, seed=0)
    again_train, again_val = split_dataset(ds, val_fraction=0.2, seed=0)
    assert np.array_equal(train.x, again_train.x) and np.array_equal(val.y, again_val.y)
    assert len(train) + len(val) == len(ds) and abs(len(val) - 0.2 * len(ds)) <= 10
    counts, val_counts = np.bincount(ds.y), np.bincount(val.y, minlength=10)
    assert np.all(np.abs(val_counts - 0.2 * counts) <= 1)  # every class in proportion
    rows = [{a.tobytes() for a in part.x} for part in (train, val)]
    assert not rows[0] & rows[1]
    other_train, _ = split_dataset(ds, val_fraction=0.2, seed=1)
    assert not np.array_equal(other_train.y, train.y)
    assert train.classes == ds.classes and train.kind == "image"


def test_split_unstratified_regression_and_edge_cases():
    sine = load_dataset("sine", n_samples=100)
    train, val = split_dataset(sine, val_fraction=0.25, seed=3)
    assert (len(train), len(val)) == (75, 25) and val.y.shape == (25, 1)
    train, val = split_dataset(sine, val_fraction=0.0)
    assert len(train) == 100 and len(val) == 0 and val.x.shape == (0, 20, 1)
    tiny = DatasetArrays("tiny", np.zeros((3, 2), np.float32), np.array([0, 1, 1]), "vector",
                         ["a", "b"], "classify")
    train, val = split_dataset(tiny, val_fraction=0.5)
    assert len(val) == 1 and len(train) == 2 and 0 in train.y  # class a (1 sample) kept for train
    for bad in (1.0, -0.1, "0.2"):
        with pytest.raises(DataError, match="validation fraction"):
            split_dataset(sine, val_fraction=bad)


# ----------------------------------------------------------------------------------- normalizer
def test_normalizer_standard_per_channel_on_images():
    rng = np.random.default_rng(0)
    x = np.stack([rng.normal(5, 2, (50, 4, 4)), rng.normal(-1, 0.5, (50, 4, 4))], 1)
    x = x.astype(np.float32)
    norm = Normalizer.fit(x, mode="standard")
    assert norm.shift.shape == (2, 1, 1)
    out = norm.apply(x)
    assert out.dtype == np.float32
    assert np.allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    assert np.allclose(out.std(axis=(0, 2, 3)), 1, atol=1e-4)
    assert np.allclose(norm.inverse(out), x, atol=1e-4)
    tensor_out = norm.apply(torch.from_numpy(x))
    assert isinstance(tensor_out, torch.Tensor) and torch.allclose(tensor_out,
                                                                   torch.from_numpy(out))


def test_normalizer_minmax_per_feature_json_roundtrip():
    x = np.array([[0, 10, 3], [2, 30, 3], [4, 20, 3]], dtype=np.float32)
    norm = Normalizer.fit(x, mode="minmax")
    out = norm.apply(x)
    assert out.min(0).tolist() == [0, 0, 0] and out[:, :2].max(0).tolist() == [1, 1]
    assert np.all(out[:, 2] == 0)  # a constant feature does not divide by zero
    restored = Normalizer.from_dict(json.loads(json.dumps(norm.to_dict())))
    assert restored == norm and np.array_equal(restored.apply(x), out)
    seq = np.random.default_rng(1).normal(3, 2, (20, 7, 2)).astype(np.float32)
    seq_norm = Normalizer.fit(seq)
    assert seq_norm.shift.shape == (1, 2)
    assert np.allclose(seq_norm.apply(seq).mean(axis=(0, 1)), 0, atol=1e-5)


def test_normalizer_none_tokens_and_errors():
    x = np.ones((3, 2), np.float32)
    assert Normalizer.fit(x, mode="none").apply(x) is x
    assert Normalizer.from_dict({"mode": "none"}).is_identity
    tokens = np.array([[1, 2], [3, 4]])
    assert Normalizer.fit(tokens).is_identity
    t = torch.tensor([[1, 2]])
    assert Normalizer.fit(x).apply(t) is t  # integer token ids pass through
    with pytest.raises(DataError, match="'zscore'"):
        Normalizer.fit(x, mode="zscore")
    with pytest.raises(DataError, match="fitted on samples shaped like"):
        Normalizer.fit(x).apply(np.ones((3, 5), np.float32))
    with pytest.raises(DataError, match="damaged"):
        Normalizer.from_dict({"mode": "standard", "shift": [0]})


# ----------------------------------------------------------------------------------- augment
def _dot_batch(n=16, size=9, row=4, col=2):
    x = torch.zeros(n, 1, size, size)
    x[:, 0, row, col] = 1.0
    return x


def test_zero_augment_is_identity():
    x = torch.rand(4, 3, 8, 8)
    aug = Augment()
    assert aug.is_identity and aug(x) is x


def test_flip_mirrors_some_samples_exactly():
    x = torch.rand(64, 3, 5, 7)
    out = Augment(flip=True, seed=0)(x)
    flipped = torch.all((out == x.flip(-1)).flatten(1), dim=1)
    same = torch.all((out == x).flatten(1), dim=1)
    assert torch.all(flipped | same)
    assert 10 < flipped.sum().item() < 54  # per-sample choice made in one batched call


def test_shift_moves_pixels_by_whole_steps():
    x = _dot_batch(n=200)
    out = Augment(shift=2, seed=1)(x)
    assert out.shape == x.shape
    moves = set()
    for sample in out[:, 0]:
        assert torch.isclose(sample.sum(), torch.tensor(1.0), atol=1e-5)
        r, c = divmod(int(sample.argmax()), 9)
        assert sample[r, c] == pytest.approx(1.0, abs=1e-5)  # moved, not blurred
        moves.add((r - 4, c - 2))
    assert moves <= {(dr, dc) for dr in range(-2, 3) for dc in range(-2, 3)}
    assert len(moves) > 10 and (0, 0) in moves


def test_rotate_noise_generator_and_errors():
    x = torch.zeros(8, 1, 11, 11)
    x[:, :, 5, :] = 1.0  # a horizontal bar
    out = Augment(rotate=90.0, seed=0)(x)
    assert not torch.allclose(out, x) and torch.allclose(out[:, :, 5, 5], x[:, :, 5, 5])
    noisy = Augment(noise=0.1)(torch.zeros(32, 1, 16, 16))
    assert 0.08 < noisy.std().item() < 0.12
    a = Augment(flip=True, shift=1, noise=0.1)
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    batch = torch.rand(6, 3, 8, 8)
    assert torch.equal(a(batch, generator=g1), a(batch, generator=g2))
    assert Augment(noise=0.1)(torch.zeros(4, 3)).abs().max() > 0  # noise alone works on vectors
    with pytest.raises(DataError, match="images"):
        Augment(flip=True)(torch.zeros(4, 3))
    with pytest.raises(DataError, match="shift"):
        Augment(shift=-1)
    assert Augment.from_dict(Augment(flip=True, rotate=5).to_dict()).to_dict()["rotate"] == 5.0


def test_augment_and_normalizer_survive_pickling_for_the_worker():
    aug = Augment(flip=True, shift=2, seed=3)
    batch = torch.rand(8, 1, 6, 6)
    aug(batch)  # creates a generator, which must not break pickling
    copy = pickle.loads(pickle.dumps(aug))
    assert torch.equal(copy(batch), Augment(flip=True, shift=2, seed=3)(batch))
    norm = Normalizer.fit(np.random.default_rng(0).normal(size=(10, 3)).astype(np.float32))
    assert pickle.loads(pickle.dumps(norm)) == norm


# ----------------------------------------------------------------------------------- preview
def test_preview_summarises_for_the_ui():
    ds = load_dataset("digits")
    info = preview(ds, n=5)
    assert info["name"] == "digits" and info["kind"] == "image"
    assert info["input_shape"] == (1, 8, 8) and info["num_samples"] == 1797
    assert info["classes"] == [str(i) for i in range(10)]
    assert sum(info["class_counts"].values()) == 1797 and info["class_counts"]["0"] == 178
    assert info["x_min"] == 0.0 and info["x_max"] == 1.0
    assert info["samples"].shape == (5, 1, 8, 8) and info["labels"].tolist() == ds.y[:5].tolist()
    sine = preview(load_dataset("sine", n_samples=10))
    assert sine["class_counts"] is None and sine["labels"].shape == (8, 1)


# ----------------------------------------------------------------------------------- shapes
def test_check_input_shape_messages():
    assert check_input_shape((1, 8, 8), (1, 8, 8)) is None
    assert check_input_shape((20, 1), (None, 1)) is None
    assert check_input_shape((1, 8, 8), (1, 28, 28), "input", dataset_name="digits") == (
        "The dataset 'digits' gives samples of shape (1, 8, 8) but Input 'input' expects "
        "(1, 28, 28): set the dataset's size option to 28 or change the Input shape.")
    flat = check_input_shape((1, 8, 8), (64,), "x")
    assert "Input 'x' expects (64,)" in flat and "Flatten" in flat and "flatten option" in flat
    reshape = check_input_shape((64,), (1, 8, 8))
    assert "Reshape to (1, 8, 8)" in reshape and "(64,)" in reshape
    channels = check_input_shape((3, 32, 32), (1, 28, 28), "img")
    assert "size option" not in channels and "(3, 32, 32)" in channels and "grayscale" in channels
    other = check_input_shape((2,), (3,))
    assert other.endswith("change the Input shape to (2,).")
    assert "dimensions" in check_input_shape((8, 8), (8,))
