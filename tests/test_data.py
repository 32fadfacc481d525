"""Tests for tuners.data: loading (npz, IDX, Keras fallback, sample), preparing and splitting."""

from __future__ import annotations

import gzip
import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from tuners import data
from tuners.data import DataError, MnistData

N_TRAIN, N_TEST = 60, 20


def make_arrays(n_train: int = N_TRAIN, n_test: int = N_TEST, seed: int = 0) -> dict:
    """Random Keras-layout MNIST-like arrays, every digit present."""
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": (np.arange(n_train) % 10).astype(np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": (np.arange(n_test) % 10).astype(np.uint8),
    }


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array as an IDX file (magic 0x0000080N, big-endian dims)."""
    header = (0x0800 + array.ndim).to_bytes(4, "big")
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx_dir(directory: Path, arrays: dict, gzipped: tuple[str, ...] = ("x_train",)) -> Path:
    """Write the four IDX files into directory, gzipping the keys listed in `gzipped`."""
    directory.mkdir(parents=True, exist_ok=True)
    for key, name in data.IDX_FILES.items():
        payload = idx_bytes(arrays[key])
        if key in gzipped:
            (directory / f"{name}.gz").write_bytes(gzip.compress(payload, mtime=0))
        else:
            (directory / name).write_bytes(payload)
    return directory


# --- bundled sample ---------------------------------------------------------------------------


def test_bundled_sample_loads_balanced():
    sample = data.load_sample()
    assert sample.source == "sample"
    assert Path(sample.location) == data.sample_path()
    assert sample.x_train.shape == (10_000, 28, 28) and sample.x_test.shape == (2_000, 28, 28)
    assert sample.x_train.dtype == np.uint8 and sample.x_test.dtype == np.uint8
    assert sample.y_train.dtype == np.int64 and sample.y_test.dtype == np.int64
    assert np.bincount(sample.y_train, minlength=10).tolist() == [1000] * 10
    assert np.bincount(sample.y_test, minlength=10).tolist() == [200] * 10
    assert "sample" in sample.summary() and "10,000" in sample.summary()
    assert "2,000" in sample.summary()


def test_sample_loads_as_plain_file_too():
    loaded = data.load_mnist(data.sample_path())
    assert loaded.source == "file"
    assert loaded.describe()["train"] == 10_000 and loaded.describe()["test"] == 2_000


# --- good inputs ------------------------------------------------------------------------------


def test_npz_round_trip(tmp_path):
    arrays = make_arrays()
    path = tmp_path / "mnist.npz"
    np.savez(path, **arrays, extra=np.arange(3))  # extra keys are fine
    loaded = data.load_mnist(str(path))
    assert loaded.source == "file" and loaded.location == str(path) and loaded.note == ""
    for key in data.KEYS:
        np.testing.assert_array_equal(getattr(loaded, key), arrays[key])
    assert loaded.x_train.dtype == np.uint8 and loaded.y_train.dtype == np.int64
    info = loaded.describe()
    assert info == {"source": "file", "location": str(path), "train": 60, "test": 20, "note": "",
                    "fingerprint": loaded.fingerprint}
    json.dumps(info)
    assert loaded.summary() == f"MNIST from {path}: 60 training, 20 test digits"


def test_the_fingerprint_tells_the_same_data_from_other_data(tmp_path):
    arrays = make_arrays()
    first, copy = tmp_path / "a.npz", tmp_path / "b.npz"
    np.savez(first, **arrays)
    np.savez(copy, **arrays)
    prints = data.load_mnist(first).fingerprint
    assert data.load_mnist(copy).fingerprint == prints  # the same arrays from another file
    directory = write_idx_dir(tmp_path / "idx", arrays, gzipped=())
    assert data.load_mnist(directory).fingerprint == prints  # and from IDX files
    pixel = arrays["x_train"].copy()
    pixel[0, 0, 0] ^= 1
    np.savez(copy, **{**arrays, "x_train": pixel})
    assert data.load_mnist(copy).fingerprint == {**prints, "train": data.load_mnist(copy).fingerprint["train"]}
    assert data.load_mnist(copy).fingerprint["train"] != prints["train"]  # one pixel changed
    label = arrays["y_test"].copy()
    label[0] = (label[0] + 1) % 10
    np.savez(copy, **{**arrays, "y_test": label})
    assert data.load_mnist(copy).fingerprint["test"] != prints["test"]  # one test label changed


def test_idx_dir_round_trip(tmp_path):
    arrays = make_arrays()
    directory = write_idx_dir(tmp_path / "idx", arrays, gzipped=("x_train",))
    loaded = data.load_mnist(directory)
    assert loaded.source == "idx" and loaded.location == str(directory)
    for key in data.KEYS:
        np.testing.assert_array_equal(getattr(loaded, key), arrays[key])
    assert loaded.x_test.dtype == np.uint8 and loaded.y_test.dtype == np.int64


# --- broken inputs ----------------------------------------------------------------------------


def _npz(**changes):
    """A writer that saves make_arrays() with some keys replaced (None removes the key)."""

    def write(tmp_path: Path) -> Path:
        arrays = make_arrays()
        for key, value in changes.items():
            if value is None:
                del arrays[key]
            else:
                arrays[key] = value
        path = tmp_path / "bad.npz"
        np.savez(path, **arrays)
        return path

    return write


def _text_npz(tmp_path: Path) -> Path:
    path = tmp_path / "notes.npz"
    path.write_text("x_train,y_train\n1,2\n")
    return path


def _pickled_npz(tmp_path: Path) -> Path:
    arrays = make_arrays()
    arrays["y_train"] = np.array([1, "two", None] * 20, dtype=object)
    path = tmp_path / "pickled.npz"
    np.savez(path, **arrays)  # allow_pickle defaults to True when saving
    return path


def _truncated_npz(tmp_path: Path) -> Path:
    path = tmp_path / "cut.npz"
    np.savez(path, **make_arrays())
    path.write_bytes(path.read_bytes()[:500])
    return path


def _idx(mutate):
    """A writer for an IDX directory whose train-labels file is replaced by mutate(bytes)."""

    def write(tmp_path: Path) -> Path:
        directory = write_idx_dir(tmp_path / "idx", make_arrays(), gzipped=())
        target = directory / data.IDX_FILES["y_train"]
        if mutate is None:
            target.unlink()
        else:
            target.write_bytes(mutate(target.read_bytes()))
        return directory

    return write


def _label_10_in_idx(raw: bytes) -> bytes:
    return raw[:-1] + bytes([10])


BROKEN = {
    "missing file": (lambda tmp: tmp / "nope.npz", "no such file"),
    "text file named .npz": (_text_npz, "not an .npz file"),
    "truncated npz": (_truncated_npz, "cannot read as .npz"),
    "pickled object array": (_pickled_npz, "pickled object array"),
    "missing key": (_npz(y_test=None), "missing key(s) y_test"),
    "wrong image shape": (_npz(x_train=np.zeros((60, 784), np.uint8)), "expected (n, 28, 28)"),
    "wrong label shape": (_npz(y_train=np.zeros((60, 1), np.uint8)), "expected (n,) labels"),
    "float images": (_npz(x_train=np.zeros((60, 28, 28), np.float32)), "dtype float32"),
    "float labels": (_npz(y_test=np.zeros(20, np.float64)), "expected integer labels"),
    "length mismatch": (_npz(y_train=np.zeros(59, np.uint8)), "60 images but y_train has 59"),
    "label 10": (_npz(y_test=np.full(20, 10, np.int64)), "outside 0..9 (e.g. 10)"),
    "label -1": (_npz(y_train=np.full(60, -1, np.int64)), "outside 0..9 (e.g. -1)"),
    "empty arrays": (
        _npz(x_train=np.zeros((0, 28, 28), np.uint8), y_train=np.zeros(0, np.uint8)),
        "x_train is empty",
    ),
    "IDX bad magic": (_idx(lambda raw: b"\x00\x00\x08\x03" + raw[4:]), "bad IDX magic"),
    "IDX truncated": (_idx(lambda raw: raw[:-5]), "truncated IDX file"),
    "IDX extra bytes": (_idx(lambda raw: raw + b"\x00"), "more than its header"),
    "IDX label 10": (_idx(_label_10_in_idx), "train-labels-idx1-ubyte has labels outside"),
    "IDX dir missing a file": (_idx(None), "missing train-labels-idx1-ubyte"),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_broken_inputs_raise_one_line_data_error(tmp_path, case):
    write, expected = BROKEN[case]
    path = write(tmp_path)
    with pytest.raises(DataError) as info:
        data.load_mnist(path)
    message = str(info.value)
    assert expected in message
    assert "\n" not in message
    assert str(path) in message  # names the file or directory


def test_bad_gzip_idx_is_data_error(tmp_path):
    directory = write_idx_dir(tmp_path / "idx", make_arrays(), gzipped=("x_test",))
    name = data.IDX_FILES["x_test"] + ".gz"
    (directory / name).write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match=name):
        data.load_mnist(directory)


# --- prepare_images ---------------------------------------------------------------------------


def test_prepare_images_flat_and_square():
    x = make_arrays()["x_train"]
    x[0, 0, 0], x[0, 0, 1] = 0, 255
    flat = data.prepare_images(x)
    assert flat.shape == (60, 784) and flat.dtype == np.float32
    assert flat.min() == 0.0 and flat.max() == 1.0
    np.testing.assert_allclose(flat[3], x[3].reshape(-1) / 255.0, rtol=1e-6)
    square = data.prepare_images(x, (28, 28))
    assert square.shape == (60, 28, 28) and square.dtype == np.float32
    assert data.prepare_images(x, (28, 28, 1)).shape == (60, 28, 28, 1)


def test_prepare_images_rejects_bad_input():
    x = make_arrays()["x_train"]
    with pytest.raises(DataError, match="cannot be reshaped"):
        data.prepare_images(x, (10,))
    with pytest.raises(DataError, match="expects uint8"):
        data.prepare_images(x.astype(np.float32) / 255.0)


# --- split_validation -------------------------------------------------------------------------


def labelled(n: int) -> tuple[np.ndarray, np.ndarray]:
    """x holds each row's index (so rows are unique); y is a stratifiable label pattern."""
    y = np.array([0, 0, 1, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 5, 2] * (n // 16 + 1))[:n]
    return np.arange(n), y.astype(np.int64)


@pytest.mark.parametrize(
    ("validation", "expected"), [(100, 100), (0.25, 250), (1, None), (None, 167)]
)
def test_split_sizes_disjoint_and_complete(validation, expected):
    x, y = labelled(1000)
    if validation == 1:  # too few for 10 classes
        with pytest.raises(DataError, match="at least 10"):
            data.split_validation(x, y, validation)
        return
    x_fit, y_fit, x_val, y_val = data.split_validation(x, y, validation)
    assert len(x_val) == len(y_val) == expected
    assert len(x_fit) == len(y_fit) == 1000 - expected
    assert not set(x_fit) & set(x_val)
    assert sorted(np.concatenate([x_fit, x_val]).tolist()) == list(range(1000))
    np.testing.assert_array_equal(y[x_fit], y_fit)  # rows and labels stay paired
    np.testing.assert_array_equal(y[x_val], y_val)


def test_split_is_stratified():
    x, y = labelled(1000)
    _, _, _, y_val = data.split_validation(x, y, 200)
    counts = np.bincount(y, minlength=10)
    expected = counts * 200 / 1000
    assert np.all(np.abs(np.bincount(y_val, minlength=10) - expected) <= 1)


def test_split_is_deterministic_per_seed():
    x, y = labelled(1000)
    first = data.split_validation(x, y, 100, seed=3)
    again = data.split_validation(x, y, 100, seed=3)
    other = data.split_validation(x, y, 100, seed=4)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[2], other[2])


def test_default_validation_sizes():
    assert data.default_validation_size(60_000) == 10_000
    assert data.default_validation_size(70_000) == 10_000
    assert data.default_validation_size(12_000) == 2_000
    assert data.default_validation_size(10_000) == 1_667


@pytest.mark.parametrize(
    ("validation", "message"),
    [
        (70_000, "--validation-split 70000 is larger than the 60,000 training digits"),
        (60_000, "uses all of the 60,000 training digits"),
        (59_995, "leaves only 5 training digits"),
        (0, "must be at least 1"),
        (-5, "must be at least 1"),
        (0.0, "not a fraction in (0, 1)"),
        (1.0, "not a fraction in (0, 1)"),
        (-0.2, "not a fraction in (0, 1)"),
        (True, "not a number"),
        ("10", "not a number"),
    ],
)
def test_split_errors(validation, message):
    y = np.arange(60_000) % 10
    x = np.zeros((60_000, 1), np.uint8)
    with pytest.raises(DataError) as info:
        data.split_validation(x, y, validation)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


# --- Keras and the fallback to the sample ----------------------------------------------------


def _fake_keras(monkeypatch, load_data):
    """Install a stand-in `keras` module whose datasets.mnist.load_data is `load_data`."""
    mnist = types.SimpleNamespace(load_data=load_data)
    fake = types.ModuleType("keras")
    fake.datasets = types.SimpleNamespace(mnist=mnist)
    monkeypatch.setitem(sys.modules, "keras", fake)


def test_load_none_falls_back_to_sample_when_keras_fails(monkeypatch):
    def offline():
        raise Exception("URL fetch failure on https://example/mnist.npz: None -- no network")

    _fake_keras(monkeypatch, offline)
    loaded = data.load_mnist(None)
    assert loaded.source == "sample"
    assert loaded.note.startswith("Keras could not download MNIST (offline?)")
    assert "no network" in loaded.note
    assert len(loaded.y_train) == 10_000 and len(loaded.y_test) == 2_000
    assert "bundled MNIST sample" in loaded.summary() and loaded.note in loaded.summary()


def test_load_none_uses_keras_when_it_works(monkeypatch):
    arrays = make_arrays()

    def load_data():
        print("Downloading data from somewhere")  # Keras prints; must not reach stdout
        return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])

    _fake_keras(monkeypatch, load_data)
    loaded = data.load_mnist()
    assert loaded.source == "keras" and loaded.location == "keras.datasets.mnist"
    assert loaded.note == "" and loaded.y_train.dtype == np.int64


def test_keras_output_goes_to_stderr(monkeypatch, capsys):
    def load_data():
        print("Downloading data from somewhere")
        raise OSError("offline")

    _fake_keras(monkeypatch, load_data)
    data.load_mnist(None)
    captured = capsys.readouterr()
    assert captured.out == "" and "Downloading" in captured.err


def test_real_keras_patched_offline_falls_back(monkeypatch):
    """With the real Keras installed, patching its load_data to fail gives the sample."""
    keras = pytest.importorskip("keras")

    def offline(*args, **kwargs):
        raise Exception("simulated offline")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    loaded = data.load_mnist(None)
    assert loaded.source == "sample" and "simulated offline" in loaded.note


def test_module_imports_no_tensorflow():
    code = (
        "import sys, tuners.data; "
        "bad = [m for m in ('tensorflow', 'keras', 'sklearn') if m in sys.modules]; "
        "sys.exit(1 if bad else 0)"
    )
    import subprocess

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode()


def test_mnist_data_repr_and_frozen():
    loaded = MnistData(**{k: v for k, v in make_arrays().items()}, source="file", location="x")
    assert "x_train" not in repr(loaded)
    with pytest.raises(AttributeError):
        loaded.source = "keras"  # type: ignore[misc]
