"""Built-in datasets: digits (and its options), synthetic 2-D sets, sine forecasting."""

import numpy as np
import pytest
import torch

from netbuilder.train.data import DataError, DatasetArrays, list_builtin_datasets, load_dataset

# the separability fits are many tiny steps: two threads spin against each other on a busy machine
pytestmark = pytest.mark.usefixtures("one_thread")


def test_digits_images_shape_range_and_labels():
    ds = load_dataset("digits")
    assert isinstance(ds, DatasetArrays)
    assert ds.x.shape == (1797, 1, 8, 8) and ds.x.dtype == np.float32
    assert ds.y.shape == (1797,) and ds.y.dtype == np.int64
    assert ds.x.min() == 0.0 and ds.x.max() == 1.0
    assert ds.kind == "image" and ds.task_hint == "classify"
    assert ds.classes == [str(i) for i in range(10)] and ds.num_classes == 10
    assert ds.input_shape == (1, 8, 8) and len(ds) == 1797
    assert sorted(np.unique(ds.y).tolist()) == list(range(10))


def test_digits_resize_keeps_labels_and_content():
    small = load_dataset("digits")
    big = load_dataset("digits", size=28)
    assert big.x.shape == (1797, 1, 28, 28) and big.x.dtype == np.float32
    assert np.array_equal(big.y, small.y)
    assert 0.0 <= big.x.min() and big.x.max() <= 1.0
    # Shrinking the resized image back gives the original digit again (same picture).
    back = torch.nn.functional.adaptive_avg_pool2d(torch.from_numpy(big.x), 8).numpy()
    corr = np.corrcoef(back.reshape(len(back), -1)[:50].ravel(),
                       small.x.reshape(len(small), -1)[:50].ravel())[0, 1]
    assert corr > 0.95
    rect = load_dataset("digits", size=(16, 12))
    assert rect.input_shape == (1, 16, 12)


def test_digits_binarize_and_flatten():
    ds = load_dataset("digits", binarize=True)
    assert set(np.unique(ds.x).tolist()) == {0.0, 1.0}
    assert np.array_equal(ds.x, (load_dataset("digits").x >= 0.5).astype(np.float32))
    flat = load_dataset("digits", flatten=True)
    assert flat.x.shape == (1797, 64) and flat.kind == "vector"
    flat28 = load_dataset("digits", size=28, flatten=True, binarize=True)
    assert flat28.x.shape == (1797, 784)
    assert set(np.unique(flat28.x).tolist()) == {0.0, 1.0}


def test_digits_rows_are_the_image_rows():
    rows = load_dataset("digits_rows")
    images = load_dataset("digits")
    assert rows.x.shape == (1797, 8, 8) and rows.kind == "sequence"
    assert np.array_equal(rows.x, images.x[:, 0])
    assert np.array_equal(rows.y, images.y) and rows.num_classes == 10


def _fit_mlp(x, y, classes, steps=400):
    torch.manual_seed(0)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    model = torch.nn.Sequential(torch.nn.Linear(2, 64), torch.nn.Tanh(),
                                torch.nn.Linear(64, 64), torch.nn.Tanh(),
                                torch.nn.Linear(64, classes))
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(xt), yt).backward()
        opt.step()
    with torch.no_grad():
        return (model(xt).argmax(1) == yt).float().mean().item()


def test_spirals_balanced_and_separable_by_an_mlp():
    ds = load_dataset("spirals", n_samples=600, seed=1)
    assert ds.x.shape == (600, 2) and ds.x.dtype == np.float32
    assert np.bincount(ds.y).tolist() == [300, 300]
    assert np.abs(ds.x).max() < 1.5
    assert _fit_mlp(ds.x, ds.y, 2, steps=150) >= 0.95
    three = load_dataset("spirals", n_samples=300, classes=3)
    assert three.num_classes == 3 and np.bincount(three.y).tolist() == [100, 100, 100]


def test_synthetic_sets_are_deterministic_per_seed():
    for name in ("spirals", "moons", "circles"):
        a = load_dataset(name, n_samples=200, seed=3)
        b = load_dataset(name, n_samples=200, seed=3)
        c = load_dataset(name, n_samples=200, seed=4)
        assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
        assert not np.array_equal(a.x, c.x)
        assert a.x.shape == (200, 2) and a.num_classes == 2 and a.kind == "vector"


def test_moons_and_circles_geometry():
    moons = load_dataset("moons", n_samples=400, noise=0.0)
    assert _fit_mlp(moons.x, moons.y, 2, steps=75) >= 0.97
    circles = load_dataset("circles", n_samples=400, noise=0.0)
    radius = np.linalg.norm(circles.x, axis=1)
    # Class 1 is the inner circle (factor 0.5), class 0 the outer one (radius 1).
    assert np.allclose(radius[circles.y == 0], 1.0, atol=1e-5)
    assert np.allclose(radius[circles.y == 1], 0.5, atol=1e-5)


def test_sine_windows_and_next_value_target():
    ds = load_dataset("sine", n_samples=50, length=20, noise=0.0, seed=2)
    assert ds.x.shape == (50, 20, 1) and ds.y.shape == (50, 1)
    assert ds.kind == "sequence" and ds.task_hint == "regress" and ds.num_classes is None
    assert ds.y.dtype == np.float32 and ds.classes is None
    s = ds.x[:, :, 0].astype(np.float64)
    # A sampled sine obeys s[t+1] = 2 cos(w) s[t] - s[t-1]; estimate cos(w) from the window.
    k = np.argmax(np.abs(s[:, 1:-1]), axis=1) + 1
    rows = np.arange(len(s))
    cos_w = (s[rows, k + 1] + s[rows, k - 1]) / (2 * s[rows, k])
    predicted = 2 * cos_w * s[:, -1] - s[:, -2]
    assert np.allclose(ds.y[:, 0], predicted, atol=1e-4)
    noisy = load_dataset("sine", n_samples=50, noise=0.1, seed=2)
    assert np.allclose(noisy.y, ds.y)  # targets stay clean
    assert 0.05 < np.std(noisy.x - ds.x) < 0.15
    assert load_dataset("sine", length=7, n_samples=10).input_shape == (7, 1)


def test_list_builtin_datasets():
    rows = list_builtin_datasets()
    names = [r["name"] for r in rows]
    for name in ("digits", "digits_rows", "spirals", "moons", "circles", "sine", "mnist",
                 "fashion_mnist", "cifar10"):
        assert name in names
    for row in rows:
        assert row["kind"] in ("image", "vector", "sequence") and row["description"]
    every = {r["name"]: r for r in rows}
    assert every["mnist"]["download"] and not every["digits"]["download"]


def test_limit_and_name_spelling():
    assert len(load_dataset("digits", limit=10)) == 10
    assert load_dataset("DIGITS").name == "digits"


@pytest.mark.parametrize("spec, options, words", [
    ("digits", {"sise": 28}, ["'sise'", "size"]),
    ("digits", {"size": "big"}, ["size", "'big'"]),
    ("spirals", {"classes": 1}, ["classes"]),
    ("spirals", {"noise": -1}, ["noise"]),
    ("moons", {"n_samples": 1}, ["n_samples"]),
    ("sine", {"length": 1}, ["length"]),
    ("digits", {"limit": 0}, ["limit"]),
    ("digitz", {}, ["digitz", "Did you mean 'digits'"]),
])
def test_builtin_errors_name_the_option(spec, options, words):
    with pytest.raises(DataError) as info:
        load_dataset(spec, **options)
    for word in words:
        assert word in str(info.value)
    assert isinstance(info.value, ValueError)
