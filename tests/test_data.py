"""Tests for the data package: every source (npz of any shape, IDX, CSV, image folders, named datasets, arrays,
tf.data), tasks and labels, the held-out test set, splits, and each source's bad input."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from kerastune import data
from kerastune.data import DataError, Dataset, sources
from kerastune.data.splits import default_validation_size

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
    for key, name in sources.IDX_FILES.items():
        payload = idx_bytes(arrays[key])
        if key in gzipped:
            (directory / f"{name}.gz").write_bytes(gzip.compress(payload, mtime=0))
        else:
            (directory / name).write_bytes(payload)
    return directory


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    path.write_text("\n".join(",".join(str(v) for v in row) for row in [header, *rows]) + "\n")
    return path


def iris_like(n: int = 90) -> tuple[list[str], list[list]]:
    """Four numeric columns and a text label of three classes."""
    rng = np.random.default_rng(1)
    names = ["setosa", "versicolor", "virginica"]
    rows = [[*np.round(rng.normal(size=4) + i % 3, 3), names[i % 3]] for i in range(n)]
    return ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"], rows


def write_images(directory: Path, classes: dict[str, int], size=(12, 10), mode="RGB", suffix=".png") -> Path:
    from PIL import Image

    rng = np.random.default_rng(2)
    channels = 3 if mode == "RGB" else 1
    for name, count in classes.items():
        (directory / name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            pixels = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
            image = Image.fromarray(pixels.squeeze(-1) if channels == 1 else pixels, mode)
            image.save(directory / name / f"{i}{suffix}")
    return directory


# --- bundled sample and the default --------------------------------------------------------------


def test_bundled_sample_loads_balanced():
    sample = data.load_recorded({"source": "sample"})
    assert sample.source == "sample"
    assert sample.x_train.shape == (10_000, 28, 28) and sample.x_test.shape == (2_000, 28, 28)
    assert sample.x_train.dtype == np.uint8 and sample.y_train.dtype == np.int64
    assert np.bincount(sample.y_train, minlength=10).tolist() == [1000] * 10
    assert np.bincount(sample.y_test, minlength=10).tolist() == [200] * 10
    assert sample.task == "classification" and sample.classes == tuple(range(10))


# --- good inputs ---------------------------------------------------------------------------------


def test_npz_round_trip(tmp_path):
    arrays = make_arrays()
    path = tmp_path / "mnist.npz"
    np.savez(path, **arrays, extra=np.arange(3))  # extra keys are fine
    loaded = data.load(str(path))
    assert loaded.source == "npz" and loaded.location == str(path) and loaded.note == ""
    for key in ("x_train", "x_test", "y_train", "y_test"):
        np.testing.assert_array_equal(getattr(loaded, key), arrays[key])
    assert loaded.x_train.dtype == np.uint8 and loaded.y_train.dtype == np.int64
    info = loaded.describe()
    assert info["train"] == 60 and info["test"] == 20 and info["task"] == "classification"
    assert info["classes"] == list(range(10)) and info["shape"] == [28, 28] and not info["held_out_test"]
    json.dumps(loaded.record())
    assert loaded.summary() == f"60 training and 20 test images of 28x28 from {path}; classification into 10 classes"


def test_npz_of_colour_images_of_any_size_and_labels(tmp_path):
    """32x32x3 images, labels 3/7/11 in a (n, 1) column as CIFAR has them: classes in sorted order."""
    rng = np.random.default_rng(0)
    y = np.array([[3], [7], [11]] * 20)
    path = tmp_path / "cifar_like.npz"
    np.savez(path, x_train=rng.integers(0, 256, (60, 32, 32, 3), dtype=np.uint8), y_train=y,
             x_test=rng.integers(0, 256, (9, 32, 32, 3), dtype=np.uint8), y_test=y[:9])
    loaded = data.load(path)
    assert loaded.kind == "images" and loaded.classes == (3, 7, 11)
    assert loaded.y_train[:3].tolist() == [0, 1, 2]
    spec = data.spec_of(loaded)
    assert (spec.raw_shape, spec.input_shape, spec.num_outputs) == ((32, 32, 3), (32, 32, 3), 3)


def test_data_without_a_test_set_gets_one_held_out_stratified_seeded_and_recorded(tmp_path):
    x = np.arange(200, dtype=np.float32).reshape(100, 2)
    y = np.array([0] * 80 + [1] * 20)
    path = tmp_path / "no_test.npz"
    np.savez(path, x_train=x, y_train=y)

    loaded = data.load(path, test_split=0.2, seed=3)

    assert (len(loaded.y_train), len(loaded.y_test)) == (80, 20)
    assert np.bincount(loaded.y_test).tolist() == [16, 4]  # stratified
    assert sorted(loaded.x_test[:, 0].tolist() + loaded.x_train[:, 0].tolist()) == x[:, 0].tolist()  # disjoint
    record = loaded.record()
    assert record["held_out_test"] and record["test_rows"]["count"] == 20  # the rows themselves: in a file
    assert "held out by kerastune" in loaded.summary()
    from kerastune.tuners.records.project import TEST_ROWS_NAME, recorded_data, write_test_rows

    write_test_rows(tmp_path / "project", loaded.test_rows)
    assert (tmp_path / "project" / TEST_ROWS_NAME).stat().st_size < 400  # 20 rows, compactly
    again = data.load_recorded(recorded_data(tmp_path / "project", {"data": json.loads(json.dumps(record))}))
    assert again.fingerprint == loaded.fingerprint  # the recorded rows, exactly
    np.testing.assert_array_equal(again.x_test, loaded.x_test)
    assert data.load(path, test_split=0.2, seed=4).fingerprint != loaded.fingerprint
    assert len(data.load(path, test_split=30).y_test) == 30  # a count


def test_the_fingerprint_tells_the_same_data_from_other_data(tmp_path):
    arrays = make_arrays()
    first, copy = tmp_path / "a.npz", tmp_path / "b.npz"
    np.savez(first, **arrays)
    np.savez(copy, **arrays)
    prints = data.load(first).fingerprint
    assert data.load(copy).fingerprint == prints  # the same arrays from another file
    directory = write_idx_dir(tmp_path / "idx", arrays, gzipped=())
    assert data.load(directory).fingerprint == prints  # and from IDX files
    pixel = arrays["x_train"].copy()
    pixel[0, 0, 0] ^= 1
    np.savez(copy, **{**arrays, "x_train": pixel})
    assert data.load(copy).fingerprint["train"] != prints["train"]  # one pixel changed
    assert data.load(copy).fingerprint["test"] == prints["test"]
    label = arrays["y_test"].copy()
    label[0] = (label[0] + 1) % 10
    np.savez(copy, **{**arrays, "y_test": label})
    assert data.load(copy).fingerprint["test"] != prints["test"]  # one test label changed


def test_idx_dir_round_trip(tmp_path):
    arrays = make_arrays()
    directory = write_idx_dir(tmp_path / "idx", arrays, gzipped=("x_train",))
    loaded = data.load(directory)
    assert loaded.source == "idx" and loaded.location == str(directory)
    for key in ("x_train", "x_test", "y_train", "y_test"):
        np.testing.assert_array_equal(getattr(loaded, key), arrays[key])


def test_csv_classification_with_text_labels(tmp_path):
    header, rows = iris_like()
    loaded = data.load(write_csv(tmp_path / "iris.csv", header, rows))
    assert loaded.source == "csv" and loaded.target == "species" and loaded.task == "classification"
    assert loaded.classes == ("setosa", "versicolor", "virginica")
    assert [column.name for column in loaded.columns] == header[:4] and loaded.x_train.shape[1:] == (4,)
    assert {values.dtype for values in loaded.x_train.columns.values()} == {np.dtype(np.float32)}
    assert len(loaded.y_test) == 18 and np.bincount(loaded.y_test).tolist() == [6, 6, 6]
    assert "target column 'species'" in loaded.summary()
    spec = data.spec_of(loaded)
    assert spec.kind == "table" and [column["kind"] for column in spec.columns] == ["numeric"] * 4


def test_csv_regression_and_target_column(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 3)).round(3)
    price = (x @ [1.5, -2.0, 0.5] + 10).round(4)
    rows = [[price[i], *x[i]] for i in range(50)]
    path = write_csv(tmp_path / "houses.csv", ["price", "a", "b", "c"], rows)

    loaded = data.load(path, target="price")

    assert loaded.task == "regression" and loaded.classes is None
    assert [column.name for column in loaded.columns] == ["a", "b", "c"]
    assert loaded.y_train.dtype == np.float32 and loaded.y_train.ndim == 1
    assert "regression" in loaded.summary()
    spec = data.spec_of(loaded)
    assert spec.num_outputs == 1 and spec.target_mean[0] == pytest.approx(float(loaded.y_train.mean()), rel=1e-5)
    with pytest.raises(DataError, match="holds fractional values such as .*: use --task regression"):
        data.load(path, target="price", task="classification")


def test_a_table_as_spreadsheets_save_it(tmp_path):
    """Semicolons (sniffed), a byte-order mark, Windows line ends, a quoted cell holding the delimiter, '?' among
    numbers, empty cells, a row number and a constant column: read, typed and said column by column."""
    rng = np.random.default_rng(0)
    lines = ["row;size;colour;note;constant;label"]
    for i in range(60):
        size = "?" if i % 10 == 3 else f"{rng.normal(5, 2):.2f}"
        colour = "" if i % 7 == 0 else ["red", "green", '"blue; dark"'][i % 3]
        lines.append(f"{i + 1};{size};{colour};n{i % 4};7;{['yes', 'no'][i % 2]}")
    path = tmp_path / "sheet.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")
    loaded = data.load(path)
    plan = {column.name: column for column in loaded.columns}
    assert loaded.target == "label" and loaded.classes == ("no", "yes")
    assert plan["row"].kind == "left out" and "identifier-like" in plan["row"].reason
    assert plan["constant"].kind == "left out" and plan["constant"].reason == "constant: 7"
    assert plan["size"].kind == "numeric" and plan["size"].markers == ("?",) and plan["size"].missing > 0
    assert plan["colour"].kind == "categorical" and plan["colour"].distinct == 3 and plan["colour"].missing > 0
    assert set(loaded.x_train.columns["colour"]) == {"", "red", "green", "blue; dark"}
    assert np.isnan(loaded.x_train.columns["size"]).any()
    text = data.describe_plan(loaded.columns)
    assert text.startswith("1 numeric (1 with ") and "filled + indicator), 2 categorical (3 and 4 values)" in text
    assert "left out: row (identifier-like" in text and "constant (constant: 7)" in text


def test_a_real_table_with_gaps_dates_ids_and_free_text():
    """Palmer penguins, raw (CC0, tests/data): text labels, categories, a date, an id, comments and NA cells."""
    loaded = data.load(Path(__file__).parent / "data" / "penguins-raw.csv", target="Species")
    plan = {column.name: column for column in loaded.columns}
    assert loaded.num_classes == 3 and loaded.classes[0].startswith("Adelie")
    assert {name for name, column in plan.items() if column.kind == "left out"} == {
        "Region", "Stage", "Individual ID", "Comments"}
    assert "identifier-like" in plan["Individual ID"].reason and "free text" in plan["Comments"].reason
    assert plan["Date Egg"].kind == "date" and plan["Date Egg"].inputs[0] == "Date Egg.year"
    assert plan["Sex"].kind == "categorical" and plan["Sex"].missing > 0
    assert plan["Delta 15 N (o/oo)"].inputs == ("Delta 15 N (o_oo)",)  # Keras refuses '/' in an input's name
    spec = data.spec_of(loaded)
    assert [column["name"] for column in spec.columns] == list(loaded.x_train.columns)
    assert spec.input_shape[0] == sum(2 if c.get("indicator") else 1 for c in spec.inputs("numeric")) + sum(
        len(c["vocabulary"]) + 1 for c in spec.inputs("categorical"))


def test_column_overrides(tmp_path):
    rows = "".join(f"{i % 3},{['a', 'b', '?'][i % 3] if i % 5 else 'x'},{i * 7 % 11},{i % 2}\n" for i in range(40))
    path = tmp_path / "codes.csv"
    path.write_text("code,letters,count,y\n" + rows)
    loaded = data.load(path, numeric=("code",), categorical=("count",), ignore=("letters",))
    plan = {column.name: column for column in loaded.columns}
    assert (plan["code"].kind, plan["count"].kind, plan["letters"].kind) == ("numeric", "categorical", "left out")
    assert plan["letters"].reason == "--ignore"
    assert data.load(path).columns[0].kind == "categorical"  # 3 whole-number values: codes, unless told


def test_arrays_need_their_labels():
    with pytest.raises(DataError, match="give the labels or targets of x_train as y_train"):
        data.from_arrays(np.zeros((10, 2)), None)
    with pytest.raises(DataError, match="give x_test and y_test together"):
        data.from_arrays(np.zeros((10, 2)), np.arange(10) % 2, np.zeros((4, 2)))


def test_regression_of_several_targets_from_arrays():
    x = np.random.default_rng(0).normal(size=(40, 3)).astype("float32")
    loaded = data.from_arrays(x, np.stack([x.sum(1), x[:, 0]], axis=1))
    assert loaded.task == "regression" and loaded.y_train.shape[1:] == (2,)
    assert data.spec_of(loaded).num_outputs == 2


@pytest.mark.parametrize(("mode", "suffix", "channels"), [("RGB", ".png", 3), ("L", ".jpg", 1)])
def test_image_folder_one_subfolder_per_class(tmp_path, mode, suffix, channels):
    folder = write_images(tmp_path / "pets", {"cat": 12, "dog": 8}, mode=mode, suffix=suffix)
    (folder / "cat" / "notes.txt").write_text("not an image, ignored")
    loaded = data.load(folder)
    assert loaded.source == "images" and loaded.classes == ("cat", "dog")
    assert loaded.x_train.shape[1:] == (10, 12, channels) and loaded.x_train.dtype == np.uint8
    assert len(loaded.y_train) + len(loaded.y_test) == 20 and len(loaded.y_test) == 4


def test_16_bit_grey_images_keep_their_range_and_the_model_scales_them_by_it(tmp_path):
    """16-bit grey PNGs (scans, X-rays) open in Pillow as I;16: read at 16 bits, not clipped at 255 as
    convert("L") would; an 8-bit image beside them is scaled to the same range."""
    from PIL import Image

    folder = tmp_path / "scans"
    rng = np.random.default_rng(0)
    for label, level in (("dark", 3000), ("bright", 60000)):
        (folder / label).mkdir(parents=True)
        for index in range(8):
            pixels = (rng.random((8, 8)) * 2000 + level).astype(np.uint16)
            Image.fromarray(pixels).save(folder / label / f"{index}.png")  # mode I;16
    Image.fromarray(np.full((8, 8), 200, dtype=np.uint8)).save(folder / "bright" / "eight_bit.png")
    loaded = data.load(folder, test_split=4)
    x = np.concatenate([loaded.x_train, loaded.x_test])
    assert x.dtype == np.uint16 and x.max() > 60000 and x.min() >= 3000
    assert 200 * 257 in x  # the 8-bit image, on the 16-bit range
    spec = data.spec_of(loaded)
    assert spec.pixel_maximum == 65535
    import keras

    from kerastune.data.spec import input_layers

    inputs, scaled = input_layers(spec)
    values = keras.Model(inputs, scaled)(x[:4]).numpy()
    assert np.allclose(values, x[:4] / 65535, atol=1e-6)  # scaled by the 16-bit range, not clipped


def test_tf_data_dataset_and_arrays_give_the_same_data():
    import tensorflow as tf

    arrays = make_arrays()
    from_arrays = data.from_arrays(arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"])
    pairs = tf.data.Dataset.from_tensor_slices((arrays["x_train"], arrays["y_train"])).batch(7)
    test = tf.data.Dataset.from_tensor_slices((arrays["x_test"], arrays["y_test"]))  # unbatched
    from_tf = data.from_arrays(pairs, None, test)
    assert from_tf.fingerprint == from_arrays.fingerprint
    whole_batches = tf.data.Dataset.from_tensor_slices((arrays["x_train"], arrays["y_train"])).batch(
        6, drop_remainder=True)  # batches of a known size: still batches, not examples
    assert data.from_arrays(whole_batches, None, test).x_train.shape == (60, 28, 28)


@pytest.mark.parametrize(
    ("y", "task", "expected"),
    [
        (np.array([0, 1, 2] * 10), None, "classification"),
        (np.array(["a", "b"] * 15), None, "classification"),
        (np.array([0.0, 1.0] * 15), None, "classification"),  # whole numbers
        (np.linspace(0, 1, 30), None, "regression"),  # fractions
        (np.array([0, 1, 2] * 10), "regression", "regression"),  # overridden
    ],
)
def test_task_detection(y, task, expected):
    x = np.zeros((30, 2), np.float32)
    assert data.from_arrays(x, y, x[:6], y[:6], task=task).task == expected


def test_test_scores_for_each_task():
    scores = data.score_predictions("classification", np.array([0, 1, 1]), np.array([[.9, .1], [.2, .8], [.6, .4]]))
    assert scores == {"test_accuracy": pytest.approx(2 / 3)}
    scores = data.score_predictions("regression", np.array([1.0, 2.0, 3.0]), np.array([[1.0], [2.0], [4.0]]))
    assert scores["test_mae"] == pytest.approx(1 / 3) and scores["test_rmse"] == pytest.approx((1 / 3) ** 0.5)
    assert scores["test_r2"] == pytest.approx(1 - 1 / 2)


# --- broken inputs: one line each, naming the file ---------------------------------------------------


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
        target = directory / sources.IDX_FILES["y_train"]
        if mutate is None:
            target.unlink()
        else:
            target.write_bytes(mutate(target.read_bytes()))
        return directory

    return write


def _csv(text: str):
    def write(tmp_path: Path) -> Path:
        path = tmp_path / "table.csv"
        path.write_text(text)
        return path

    return write


def _many_values_csv(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "prices.csv", ["a", "price"], [[i, 1000 + 7 * i] for i in range(400)])


def _images(classes: dict[str, int], broken: bool = False, sizes: bool = False):
    def write(tmp_path: Path) -> Path:
        folder = write_images(tmp_path / "photos", classes)
        if broken:
            (folder / next(iter(classes)) / "broken.png").write_bytes(b"not a png")
        if sizes:
            write_images(folder, {"odd": 2}, size=(5, 5))
        return folder

    return write


BROKEN = {
    "missing file": (lambda tmp: tmp / "nope.npz", {}, "no such file or folder"),
    "text file named .npz": (_text_npz, {}, "not an .npz file"),
    "truncated npz": (_truncated_npz, {}, "cannot read as .npz"),
    "pickled object array": (_pickled_npz, {}, "pickled object array"),
    "missing key": (_npz(y_train=None), {}, "missing key(s) y_train"),
    "x_test without y_test": (_npz(y_test=None), {}, "has x_test but no y_test"),
    "train and test shapes disagree": (_npz(x_test=np.zeros((20, 28, 27), np.uint8)), {}, "must have the same shape"),
    "NaN images": (_npz(x_train=np.full((60, 28, 28), np.nan, np.float32)), {}, "NaN or infinite"),
    "infinite targets": (_npz(y_train=np.full(60, np.inf)), {}, "NaN or infinite"),
    "text images": (_npz(x_train=np.full((60, 3), "a")), {}, "expected numbers"),
    "length mismatch": (_npz(y_train=np.zeros(59, np.uint8)), {}, "60 examples but y_train has 59"),
    "constant labels": (_npz(y_train=np.zeros(60, np.uint8)), {}, "is constant"),
    "test label not a class": (_npz(y_test=np.full(20, 10, np.int64)), {}, "has the label 10, which is not one"),
    "empty arrays": (_npz(x_train=np.zeros((0, 28, 28), np.uint8), y_train=np.zeros(0, np.uint8)), {}, "is empty"),
    "IDX bad magic": (_idx(lambda raw: b"\x00\x00\x08\x03" + raw[4:]), {}, "bad IDX magic"),
    "IDX truncated": (_idx(lambda raw: raw[:-5]), {}, "truncated IDX file"),
    "IDX extra bytes": (_idx(lambda raw: raw + b"\x00"), {}, "more than its header"),
    "IDX dir missing a file": (_idx(None), {}, "missing train-labels-idx1-ubyte"),
    "CSV target missing": (_csv("a,b,c\n1,2,3\n4,5,6\n"), {"target": "price"}, "no column 'price' for --target"),
    "CSV constant target": (_csv("a,b\n" + "1,5\n2,5\n" * 10), {}, "is constant"),
    "CSV ragged row": (_csv("a,b,y\n1,2,0\n1,2,3,4\n"), {}, "Expected 3 fields in line 3, saw 4"),
    "CSV header only": (_csv("a,b,y\n"), {}, "needs a header row and at least one row"),
    "CSV empty target": (_csv("a,y\n" + "1,\n2,\n" * 5), {}, "the target column 'y' is empty"),
    "CSV target abc": (_csv("a,y\n" + "1,0.5\n2,1.5\n" * 5 + "3,abc\n"), {}, "holds numbers, but row 12 has 'abc'"),
    "table: no usable column": (_csv("id,y\n" + "7,0\n7,1\n" * 10), {}, "no usable feature column is left: id "
                                "(constant: 7)"),
    "--ignore the target": (_csv("a,b,y\n" + "1,2,0\n2,3,1\n" * 10), {"ignore": ("y",)}, "that is the target"),
    "--ignore a typo": (_csv("age,b,y\n" + "1,2,0\n2,3,1\n" * 10), {"ignore": ("agee",)}, "did you mean 'age'"),
    "--categorical of many values": (_csv("a,b,y\n" + "".join(f"{i},1,{i % 2}\n" for i in range(40))),
                                     {"categorical": ("a",)}, "32 distinct values in 32 rows, more than half"),
    "HTML named .csv": (_csv("<!DOCTYPE html><html><body>a,b</body></html>\n"), {}, "an HTML or XML page"),
    "JSON named .csv": (_csv('[{"a": 1, "y": 2}]\n'), {}, "JSON, not a table"),
    "binary named .csv": (lambda tmp: (tmp / "t.csv").write_bytes(b"\x00\x01\x02" * 50) and tmp / "t.csv", {},
                          "a binary file, not a text table"),
    "quantity as classes": (_many_values_csv, {"task": "classification"}, "if it is a quantity, use --task regression"),
    "quantity, task unsaid": (_many_values_csv, {}, "--task regression (a quantity)"),
    "test split leaves too few": (_csv("a,y\n" + "1,0\n2,1\n" * 6), {"test_split": 5}, "leaves only 7 training"),
    "test split on data with a test set": (_npz(), {"test_split": 0.2}, "has its own test set"),
    "target on a non-CSV": (_npz(), {"target": "y"}, "--target is for tables (CSV or Parquet)"),
    "image folder of one class": (_images({"cat": 4}), {}, "at least two classes; found 1 (cat)"),
    "unreadable image": (_images({"cat": 4, "dog": 4}, broken=True), {}, "broken.png: cannot read as an image"),
    "images of two sizes": (_images({"cat": 4, "dog": 4}, sizes=True), {}, "images differ in size"),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_broken_inputs_raise_one_line_data_error(tmp_path, case):
    write, options, expected = BROKEN[case]
    path = write(tmp_path)
    before = sorted((p, p.stat().st_mtime_ns) for p in tmp_path.rglob("*"))
    with pytest.raises(DataError) as info:
        data.load(path, **options)
    message = str(info.value)
    assert expected in message
    assert "\n" not in message
    assert str(path) in message or case.startswith(("quantity", "test split leaves", "image folder", "target on"))
    assert sorted((p, p.stat().st_mtime_ns) for p in tmp_path.rglob("*")) == before  # nothing written


def test_bad_gzip_idx_is_data_error(tmp_path):
    directory = write_idx_dir(tmp_path / "idx", make_arrays(), gzipped=("x_test",))
    name = sources.IDX_FILES["x_test"] + ".gz"
    (directory / name).write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match=name):
        data.load(directory)


def test_an_image_folder_beyond_the_memory_limit_is_refused(tmp_path, monkeypatch):
    folder = write_images(tmp_path / "photos", {"a": 3, "b": 3})
    monkeypatch.setattr(sources, "MAX_IMAGE_BYTES", 1000)
    with pytest.raises(DataError, match=r"6 images of 12x10x3 need .* more than the"):
        data.load(folder)


# --- validation splits -----------------------------------------------------------------------------


def labelled(n: int) -> np.ndarray:
    return np.array([0, 0, 1, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 5, 2] * (n // 16 + 1))[:n].astype(np.int64)


@pytest.mark.parametrize(("validation", "expected"), [(100, 100), (0.25, 250), (None, 167)])
def test_split_sizes_disjoint_and_complete(validation, expected):
    fit, held = data.validation_indices(labelled(1000), validation)
    assert len(held) == expected and len(fit) == 1000 - expected
    assert sorted(np.concatenate([fit, held]).tolist()) == list(range(1000))


def test_split_is_stratified_for_classes_and_plain_for_regression():
    y = labelled(1000)
    _, held = data.validation_indices(y, 200)
    assert np.all(np.abs(np.bincount(y[held], minlength=10) - np.bincount(y, minlength=10) * 0.2) <= 1)
    targets = np.linspace(0, 1, 1000)
    fit, held = data.validation_indices(targets, 200, stratify=False)
    assert len(held) == 200 and not set(fit) & set(held)


def test_split_is_deterministic_per_seed():
    y = labelled(1000)
    first, again, other = (data.validation_indices(y, 100, seed=s)[1] for s in (3, 3, 4))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_default_validation_sizes():
    assert default_validation_size(60_000) == 10_000
    assert default_validation_size(70_000) == 10_000
    assert default_validation_size(12_000) == 2_000
    assert default_validation_size(10_000) == 1_667


@pytest.mark.parametrize(
    ("validation", "message"),
    [
        (70_000, "--validation-split 70000 is larger than the 60,000 training examples"),
        (60_000, "uses all of the 60,000 training examples"),
        (59_995, "leaves only 5 training examples"),
        (1, "too small to hold one example of each of the 10 classes"),
        (0, "must be at least 1"),
        (-5, "must be at least 1"),
        (0.0, "not a fraction in (0, 1)"),
        (1.0, "not a fraction in (0, 1)"),
        (True, "not a number"),
        ("10", "not a number"),
    ],
)
def test_split_errors(validation, message):
    with pytest.raises(DataError) as info:
        data.validation_indices(np.arange(60_000) % 10, validation)
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
    loaded = data.load(None)
    assert loaded.source == "sample"
    assert loaded.note.startswith("a small subset, not the full 60,000/10,000 MNIST; Keras cannot download MNIST")
    assert "no network" in loaded.note
    assert len(loaded.y_train) == 10_000 and len(loaded.y_test) == 2_000
    assert "bundled MNIST sample" in loaded.summary() and loaded.note in loaded.summary()


def test_load_none_uses_keras_when_it_works(monkeypatch):
    arrays = make_arrays()

    def load_data():
        print("Downloading data from somewhere")  # Keras prints; must not reach stdout
        return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])

    _fake_keras(monkeypatch, load_data)
    loaded = data.load()
    assert loaded.source == "keras" and loaded.location == "keras.datasets.mnist"
    assert loaded.note == "" and loaded.y_train.dtype == np.int64 and loaded.name == "MNIST"


def test_keras_output_goes_to_stderr(monkeypatch, capsys):
    def load_data():
        print("Downloading data from somewhere")
        raise OSError("offline")

    _fake_keras(monkeypatch, load_data)
    data.load(None)
    captured = capsys.readouterr()
    assert captured.out == "" and "Downloading" in captured.err


def test_real_keras_patched_offline_falls_back(monkeypatch):
    """With the real Keras installed, patching its load_data to fail gives the sample."""
    keras = pytest.importorskip("keras")

    def offline(*args, **kwargs):
        raise Exception("simulated offline")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    loaded = data.load(None)
    assert loaded.source == "sample" and "simulated offline" in loaded.note


def test_module_imports_no_tensorflow():
    code = (
        "import sys, data; data.load(data.sample_path()); "
        "bad = [m for m in ('tensorflow', 'keras', 'sklearn') if m in sys.modules]; "
        "sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode()


def test_named_datasets_say_clearly_when_keras_cannot_download_them(monkeypatch):
    def offline():
        raise Exception("URL fetch failure: no network")

    fake = types.ModuleType("keras")
    fake.datasets = types.SimpleNamespace(fashion_mnist=types.SimpleNamespace(load_data=offline))
    monkeypatch.setitem(sys.modules, "keras", fake)
    with pytest.raises(DataError) as info:
        data.load("fashion-mnist")
    assert "Keras cannot download Fashion-MNIST here (URL fetch failure: no network)" in str(info.value)
    assert "--data FILE.npz" in str(info.value)


def test_dataset_repr_and_frozen():
    loaded = Dataset(**make_arrays(), task="classification", source="npz", location="x")
    assert "x_train" not in repr(loaded)
    with pytest.raises(AttributeError):
        loaded.source = "keras"  # type: ignore[misc]


def test_parquet_with_typed_columns(tmp_path):
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "when": pd.date_range("2024-01-01 08:00", periods=60, freq="37h"),
        "size": rng.normal(size=60),
        "kind": pd.Categorical(["a", "b", None] * 20),
        "label": ["yes", "no"] * 30,
    })
    frame.to_parquet(tmp_path / "t.parquet")
    loaded = data.load(tmp_path / "t.parquet")
    plan = {column.name: column for column in loaded.columns}
    assert loaded.source == "parquet" and loaded.classes == ("no", "yes")
    assert plan["when"].kind == "date" and plan["when"].inputs[-1] == "when.hour"
    assert plan["kind"].kind == "categorical" and plan["kind"].missing > 0


@pytest.mark.timeout(120)
def test_parquet_without_pyarrow_says_how_to_install(tmp_path):
    import subprocess
    import sys

    (tmp_path / "t.parquet").write_bytes(b"PAR1" + b"\x00" * 20)
    code = ("import sys; sys.modules['pyarrow'] = None\n"
            "from kerastune import data\n"
            f"try:\n    data.load({str(tmp_path / 't.parquet')!r})\nexcept data.DataError as e:\n    print(e)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=100)
    assert "reading Parquet needs pyarrow, which is not installed: pip install 'kerastune[parquet]'" in result.stdout
