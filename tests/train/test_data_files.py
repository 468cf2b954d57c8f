"""Datasets from files: CSV, NPY, NPZ, IDX, image folders, and every error they can raise."""

import gzip
import struct

import numpy as np
import pytest
from PIL import Image

from netbuilder.train.data import DataError, load_dataset, read_idx


def write_idx(path, array, compress=None):
    codes = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(">i2"): 0x0B,
             np.dtype(">i4"): 0x0C, np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E}
    array = np.asarray(array)
    big = array.astype(array.dtype.newbyteorder(">")) if array.dtype.itemsize > 1 else array
    header = bytes([0, 0, codes[big.dtype], array.ndim]) + struct.pack(f">{array.ndim}I",
                                                                       *array.shape)
    data = header + big.tobytes()
    if compress if compress is not None else str(path).endswith(".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


# ----------------------------------------------------------------------------------- CSV
def test_csv_with_header_and_string_labels(tmp_path):
    p = tmp_path / "flowers.csv"
    p.write_text("width,height,species\n1.0,2.0,rose\n3.5,4,tulip\n5,6,rose\n7,8.25,daisy\n")
    ds = load_dataset(p)
    assert ds.x.dtype == np.float32 and ds.x.shape == (4, 2)
    assert ds.x.tolist() == [[1, 2], [3.5, 4], [5, 6], [7, 8.25]]
    assert ds.classes == ["daisy", "rose", "tulip"]
    assert ds.y.tolist() == [1, 2, 1, 0] and ds.y.dtype == np.int64
    assert ds.kind == "vector" and ds.task_hint == "classify" and ds.name == "flowers"
    assert ds.meta["columns"] == ["width", "height"] and ds.meta["label_column"] == "species"


def test_csv_without_header_integer_labels_default_last(tmp_path):
    p = tmp_path / "plain.csv"
    p.write_text("0.5,1,2\n1.5,2,0\n2.5,3,1\n")
    ds = load_dataset(str(p))
    assert ds.x.tolist() == [[0.5, 1], [1.5, 2], [2.5, 3]]
    assert ds.y.tolist() == [2, 0, 1] and ds.classes == ["0", "1", "2"]


def test_csv_label_column_by_name_index_and_regression(tmp_path):
    p = tmp_path / "houses.csv"
    p.write_text("price;rooms;area\n100.5;3;70\n200.25;4;90\n150;3;80\n")
    by_name = load_dataset(p, label_column="price")
    assert by_name.task_hint == "regress" and by_name.y.dtype == np.float32
    assert by_name.y.shape == (3, 1) and by_name.y[:, 0].tolist() == [100.5, 200.25, 150]
    assert by_name.x.tolist() == [[3, 70], [4, 90], [3, 80]] and by_name.classes is None
    by_index = load_dataset(p, label_column=1)
    # Whole-number labels keep their meaning: class 3 stays class 3.
    assert by_index.y.tolist() == [3, 4, 3] and by_index.classes == ["0", "1", "2", "3", "4"]
    assert by_index.x.tolist() == [[100.5, 70], [200.25, 90], [150, 80]]
    as_targets = load_dataset(p, label_column="rooms", task="regress")
    assert as_targets.task_hint == "regress" and as_targets.y[:, 0].tolist() == [3, 4, 3]
    unlabelled = load_dataset(p, label_column=None)
    assert unlabelled.y is None and unlabelled.x.shape == (3, 3)


def test_tsv_and_forced_header(tmp_path):
    p = tmp_path / "t.tsv"
    p.write_text("1\t2\tA\n3\t4\tB\n")
    ds = load_dataset(p)
    assert ds.x.tolist() == [[1, 2], [3, 4]] and ds.classes == ["A", "B"]
    with_header = load_dataset(p, header=True)
    assert len(with_header) == 1 and with_header.meta["columns"] == ["1", "2"]


@pytest.mark.parametrize("text, options, words", [
    ("a,b,label\n1,2,x\n3,oops,y\n", {}, ["column 'b'", "line 3", "'oops'"]),
    ("a,b,label\n1,2,x\n3,,y\n", {}, ["column 'b'", "line 3", "empty"]),
    ("a,b,label\n1,2,x\n3,4\n", {}, ["line 3", "2 columns"]),
    ("a,b,label\n1,2,x\n", {"label_column": "klass"}, ["'klass'", "'a', 'b', 'label'"]),
    ("a,b,label\n1,2,x\n", {"label_column": 7}, ["label_column 7", "3 columns"]),
    ("a,b,label\n1,2,x\n", {"label_colum": 0}, ["'label_colum'", "label_column"]),
    ("a,b,label\n1,2,x\n", {"label_column": "label", "task": "regress"}, ["text", "classify"]),
    ("a,b,label\n1,2,0.5\n", {"task": "classify"}, ["whole numbers", "regress"]),
    ("label\n1\n", {}, ["no feature columns"]),
    ("", {}, ["empty"]),
])
def test_csv_errors_name_file_and_field(tmp_path, text, options, words):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(DataError) as info:
        load_dataset(p, **options)
    message = str(info.value)
    for word in words:
        assert word in message, message
    if "label_colum" not in options:
        assert "bad.csv" in message


# ----------------------------------------------------------------------------------- NumPy
def test_npy_with_labels_path(tmp_path):
    x = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float64)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.array([0, 1, 2, 1, 0, 2]))
    ds = load_dataset(tmp_path / "x.npy", labels_path=tmp_path / "y.npy")
    assert ds.x.dtype == np.float32 and np.allclose(ds.x, x)
    assert ds.y.tolist() == [0, 1, 2, 1, 0, 2] and ds.num_classes == 3
    alone = load_dataset(tmp_path / "x.npy")
    assert alone.y is None and alone.kind == "vector"


def test_npy_uint8_images_and_channels_last(tmp_path):
    gray = np.arange(4 * 5 * 5, dtype=np.uint8).reshape(4, 5, 5)
    np.save(tmp_path / "gray.npy", gray)
    ds = load_dataset(tmp_path / "gray.npy")
    assert ds.kind == "image" and ds.x.shape == (4, 1, 5, 5)
    assert np.allclose(ds.x[:, 0] * 255, gray)
    rgb = np.zeros((2, 6, 7, 3), dtype=np.float32)
    rgb[..., 1] = 0.5
    np.save(tmp_path / "rgb.npy", rgb)
    img = load_dataset(tmp_path / "rgb.npy")
    assert img.x.shape == (2, 3, 6, 7) and np.all(img.x[:, 1] == 0.5) and np.all(img.x[:, 0] == 0)
    tokens = np.array([[1, 5, 2], [3, 3, 0]], dtype=np.int32)
    np.save(tmp_path / "tokens.npy", tokens)
    seq = load_dataset(tmp_path / "tokens.npy")
    assert seq.kind == "sequence" and seq.x.dtype == np.int64 and seq.x.tolist() == tokens.tolist()


def test_npz_default_and_custom_keys(tmp_path):
    x = np.ones((5, 2, 4), dtype=np.float32)
    np.savez(tmp_path / "a.npz", x=x, y=np.array([1, 0, 1, 1, 0]))
    ds = load_dataset(tmp_path / "a.npz")
    assert ds.x.shape == (5, 2, 4) and ds.kind == "sequence" and ds.y.tolist() == [1, 0, 1, 1, 0]
    np.savez_compressed(tmp_path / "b.npz", X=x[:, 0], Y=np.linspace(0, 1, 5))
    reg = load_dataset(tmp_path / "b.npz")
    assert reg.task_hint == "regress" and reg.y.shape == (5, 1) and reg.x.shape == (5, 4)
    np.savez(tmp_path / "c.npz", inputs_=x, answer=np.arange(5))
    custom = load_dataset(tmp_path / "c.npz", x_key="inputs_", y_key="answer")
    assert custom.y.tolist() == [0, 1, 2, 3, 4]


def test_numpy_errors(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((4, 2)))
    np.save(tmp_path / "y3.npy", np.zeros(3, dtype=np.int64))
    with pytest.raises(DataError, match=r"4 samples but the labels give 3"):
        load_dataset(tmp_path / "x.npy", labels_path=tmp_path / "y3.npy")
    with pytest.raises(DataError, match="File not found.*missing.npy"):
        load_dataset(tmp_path / "x.npy", labels_path=tmp_path / "missing.npy")
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="objects.npy holds Python objects"):
        load_dataset(tmp_path / "objects.npy")
    np.save(tmp_path / "flat.npy", np.zeros(5))
    with pytest.raises(DataError, match=r"flat.npy has shape \(5,\).*\(N, 1\)"):
        load_dataset(tmp_path / "flat.npy")
    np.savez(tmp_path / "k.npz", a=np.zeros((2, 2)))
    with pytest.raises(DataError, match=r"k.npz has no array 'x' \(it holds a\).*x_key"):
        load_dataset(tmp_path / "k.npz")
    with pytest.raises(DataError, match=r"no array 'target'.*y_key"):
        load_dataset(tmp_path / "k.npz", x_key="a", y_key="target")
    (tmp_path / "broken.npy").write_bytes(b"not numpy at all")
    with pytest.raises(DataError, match="broken.npy"):
        load_dataset(tmp_path / "broken.npy")
    with pytest.raises(DataError, match="kind"):
        load_dataset(tmp_path / "x.npy", kind="audio")


# ----------------------------------------------------------------------------------- IDX
def test_idx_images_and_labels_gz_and_plain(tmp_path):
    images = np.random.default_rng(1).integers(0, 256, (5, 4, 3), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    write_idx(tmp_path / "imgs-idx3-ubyte.gz", images)
    write_idx(tmp_path / "labels-idx1-ubyte", labels)
    ds = load_dataset(tmp_path / "imgs-idx3-ubyte.gz", labels_path=tmp_path / "labels-idx1-ubyte")
    assert ds.kind == "image" and ds.x.shape == (5, 1, 4, 3)
    assert np.array_equal(np.round(ds.x[:, 0] * 255).astype(np.uint8), images)
    assert ds.y.tolist() == [3, 1, 4, 1, 5] and ds.y.dtype == np.int64
    floats = np.arange(6, dtype=np.float32).reshape(3, 2)
    write_idx(tmp_path / "f.idx", floats)
    assert np.array_equal(read_idx(tmp_path / "f.idx"), floats)
    assert load_dataset(tmp_path / "f.idx").x.tolist() == floats.tolist()
    write_idx(tmp_path / "s.idx", np.array([[1, -2], [300, 4]], dtype=">i2"))
    assert read_idx(tmp_path / "s.idx").tolist() == [[1, -2], [300, 4]]


def test_idx_errors(tmp_path):
    (tmp_path / "junk-ubyte").write_bytes(b"\x12\x34\x56\x78rest")
    with pytest.raises(DataError, match="junk-ubyte is not an IDX file"):
        load_dataset(tmp_path / "junk-ubyte")
    good = write_idx(tmp_path / "t-idx3-ubyte", np.zeros((4, 2, 2), np.uint8))
    (tmp_path / "cut-idx3-ubyte").write_bytes(good.read_bytes()[:-3])
    with pytest.raises(DataError, match="cut-idx3-ubyte declares shape.*truncated"):
        load_dataset(tmp_path / "cut-idx3-ubyte")
    write_idx(tmp_path / "l-idx1-ubyte", np.zeros(4, np.uint8))
    with pytest.raises(DataError, match="labels_path"):
        load_dataset(tmp_path / "l-idx1-ubyte")
    (tmp_path / "bad-idx3-ubyte.gz").write_bytes(b"\x1f\x8b\x08garbage")
    with pytest.raises(DataError, match="bad-idx3-ubyte.gz"):
        load_dataset(tmp_path / "bad-idx3-ubyte.gz")


# ----------------------------------------------------------------------------------- images
def _png(path, color, size=(6, 4), mode="RGB"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color).save(path)


def test_image_folder_one_subfolder_per_class(tmp_path):
    root = tmp_path / "pets"
    _png(root / "cat" / "a.png", (255, 0, 0))
    _png(root / "cat" / "b.png", (255, 0, 0))
    _png(root / "dog" / "c.png", (0, 0, 255))
    (root / "dog" / "notes.txt").write_text("not an image")
    ds = load_dataset(root)
    assert ds.classes == ["cat", "dog"] and ds.y.tolist() == [0, 0, 1]
    assert ds.x.shape == (3, 3, 4, 6) and ds.kind == "image" and ds.x.dtype == np.float32
    assert np.all(ds.x[0, 0] == 1.0) and np.all(ds.x[0, 2] == 0.0)
    assert np.all(ds.x[2, 2] == 1.0) and np.all(ds.x[2, 0] == 0.0)
    small = load_dataset(root, size=8, grayscale=True)
    assert small.x.shape == (3, 1, 8, 8)
    assert 0.0 < small.x[0, 0, 0, 0] < 1.0  # red in luminance


def test_image_folder_grayscale_auto_and_unlabelled(tmp_path):
    _png(tmp_path / "g" / "one" / "a.png", 128, mode="L")
    assert load_dataset(tmp_path / "g").x.shape == (1, 1, 4, 6)
    _png(tmp_path / "flat" / "a.png", 0, mode="L")
    _png(tmp_path / "flat" / "b.png", 255, mode="L")
    flat = load_dataset(tmp_path / "flat")
    assert flat.y is None and flat.x.shape == (2, 1, 4, 6) and flat.x[1].min() == 1.0


def test_image_folder_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="empty holds no images.*sub-folder per class"):
        load_dataset(empty)
    mixed = tmp_path / "mixed"
    _png(mixed / "a" / "1.png", 0, size=(4, 4))
    _png(mixed / "b" / "2.png", 0, size=(8, 8))
    with pytest.raises(DataError, match="different sizes.*size option"):
        load_dataset(mixed)
    assert load_dataset(mixed, size=4).x.shape == (2, 3, 4, 4)
    broken = tmp_path / "broken"
    _png(broken / "a" / "ok.png", 0)
    (broken / "a" / "bad.png").write_bytes(b"this is no png")
    with pytest.raises(DataError, match=r"Could not read the image .*bad.png"):
        load_dataset(broken)
    with pytest.raises(DataError, match="'resize'"):
        load_dataset(mixed, resize=3)


def test_path_errors(tmp_path):
    with pytest.raises(DataError, match="File not found.*nothing.csv"):
        load_dataset(tmp_path / "nothing.csv")
    (tmp_path / "model.onnx").write_bytes(b"x")
    with pytest.raises(DataError, match="cannot read .*model.onnx.*csv"):
        load_dataset(tmp_path / "model.onnx")
    with pytest.raises(DataError, match="built-in name or a file path"):
        load_dataset("")
