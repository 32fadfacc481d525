"""Load a dataset from any `--data` source or from arrays, check it, find its task, and hold out a test set
when it has none. Only numpy and the standard library load with this module: Keras, Pillow and scikit-learn
are imported where they are used."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from kerastune.data import sources
from kerastune.data.columns import ColumnPlan, plan_columns, table_of
from kerastune.data.dataset import CLASSIFICATION, DataError, Dataset
from kerastune.data.splits import holdout_indices
from kerastune.data.table_files import is_table_file
from kerastune.data.tasks import detect_task, encode_labels, regression_targets

DEFAULT_NAMED = "mnist"


def sample_path() -> Path:
    """Path of the bundled 10,000/2,000 MNIST sample shipped with kerastune."""
    return Path(__file__).resolve().parent / "mnist_sample.npz"


def load(
    source: str | os.PathLike | None = None,
    *,
    target: str | None = None,
    task: str | None = None,
    test_split: int | float | None = None,
    seed: int = 0,
    ignore: tuple[str, ...] = (),
    categorical: tuple[str, ...] = (),
    numeric: tuple[str, ...] = (),
    like: dict[str, Any] | None = None,
) -> Dataset:
    """Load `source`: a Keras-layout .npz, a table (CSV, TSV or Parquet), a folder of IDX files or of images per
    class, or a dataset name (mnist, fashion-mnist, cifar10). None is MNIST: Keras's copy, or the bundled sample
    offline.

    `target` names a table's target column (default: the last); `task` overrides the detected task; `test_split`
    (a count or a fraction) is the test set held out of data that has none, seeded by `seed`. A table's columns
    named in `ignore`, `categorical` or `numeric` are left out, or used as categories or numbers, whatever they
    look like.
    `like`: the data a project recorded (`Dataset.record()`), whose target, task, classes and held-out test
    rows are used unless given (for another copy of a search's data).
    Raises DataError, with one line saying what is wrong, for anything that cannot be used.
    """
    like = like or {}
    target = target if target is not None else like.get("target")
    raw = _read(source, target)
    if raw.target is None:
        for flag, given in (("--target", target), ("--ignore", ignore), ("--categorical", categorical),
                            ("--numeric", numeric)):
            if given:
                raise DataError(f"{flag} is for tables (CSV or Parquet); {raw.location} is not one")
    overrides = {"ignore": tuple(ignore), "categorical": tuple(categorical), "numeric": tuple(numeric)}
    return _dataset(raw, task=task or like.get("task"), test_split=test_split, seed=seed, overrides=overrides,
                    **_recorded_rows(like))


def from_arrays(
    x_train: Any,
    y_train: Any,
    x_test: Any = None,
    y_test: Any = None,
    *,
    task: str | None = None,
    test_split: int | float | None = None,
    seed: int = 0,
    name: str = "",
) -> Dataset:
    """A dataset from numpy arrays (or a `tf.data.Dataset` of (x, y) pairs as x_train), checked as a file is."""
    if _is_tf_dataset(x_train):
        if y_train is not None:
            raise DataError("give a tf.data.Dataset of (x, y) pairs alone, without separate labels")
        x_train, y_train = _materialize(x_train)
        if _is_tf_dataset(x_test):
            x_test, y_test = _materialize(x_test)
    if y_train is None:
        raise DataError("give the labels or targets of x_train as y_train")
    if (x_test is None) != (y_test is None):
        raise DataError("give x_test and y_test together, or neither to let kerastune hold out a test set")
    raw = sources.Raw(x_train, y_train, x_test, y_test, source="arrays", location="arrays", name=name)
    return _dataset(raw, task=task, test_split=test_split, seed=seed)


def load_recorded(info: dict[str, Any]) -> Dataset:
    """Load again the data a project recorded (`Dataset.record()`): the same source, target, task and classes,
    and the same held-out test rows."""
    source = info.get("source")
    if source in (None, "keras") and info.get("location", "keras.datasets.mnist") == "keras.datasets.mnist":
        where: Any = None
    elif source == "keras":
        where = next(name for name, module in sources.KERAS_MODULES.items()
                     if info["location"] == f"keras.datasets.{module}")
    elif source == "sample":
        where = sample_path()
    elif source == "arrays":
        raise DataError("this project was searched on arrays given in Python, which kerastune cannot load again: "
                        "give the same data again (data=... in Python)")
    else:
        where = info["location"]
    raw = _read(where, info.get("target"))
    if source == "sample":
        raw.source, raw.name = "sample", "bundled MNIST sample"
    return _dataset(raw, task=info.get("task"), **_recorded_rows(info))


def _recorded_rows(info: dict[str, Any]) -> dict[str, Any]:
    """The classes (in their recorded order) and the held-out test rows a project recorded, if any (the rows
    themselves: `records.project.recorded_data` reads them from the project's file)."""
    rows = info.get("test_rows")
    if isinstance(rows, dict):
        raise DataError("the held-out test rows were recorded in the project's test_rows.npy: load the data with "
                        "the project (kerastune.tuners.records.project.recorded_data)")
    return {
        "classes": tuple(info["classes"]) if info.get("classes") is not None else None,
        "test_rows": np.asarray(rows, dtype=np.int64) if rows is not None else None,
        "plan": tuple(ColumnPlan.from_dict(column) for column in info["columns"])
        if isinstance(info.get("columns"), list) and info["columns"] and isinstance(info["columns"][0], dict)
        else None,
    }


def _read(source: str | os.PathLike | None, target: str | None) -> sources.Raw:
    """The raw arrays of a source: by name, by path, or (None) MNIST from Keras or the bundled sample."""
    if source is None or (str(source) == DEFAULT_NAMED and not Path(source).exists()):
        return _mnist_or_sample()
    if str(source) in sources.NAMED and not Path(source).exists():
        return sources.read_named(str(source))
    path = Path(source).expanduser()
    if path.is_dir():
        return sources.read_idx_dir(path) if sources.is_idx_dir(path) else sources.read_image_folder(path)
    if not path.exists():
        raise DataError(
            f"{path}: no such file or folder; give a .npz or .csv file, a folder of IDX files or of images (one "
            f"subfolder per class), or one of {', '.join(sources.NAMED)}"
        )
    if is_table_file(path):
        return sources.read_table(path, target)
    return sources.read_npz(path)


def _mnist_or_sample() -> sources.Raw:
    """Keras's MNIST, or the bundled sample (with a note saying why) when Keras cannot provide it."""
    try:
        raw = sources.read_named(DEFAULT_NAMED)
    except DataError as error:
        raw = sources.read_npz(sample_path())
        raw.source, raw.location, raw.name = "sample", str(sample_path()), "bundled MNIST sample"
        raw.note = f"a small subset, not the full 60,000/10,000 MNIST; {str(error).split('; download')[0]}"
    return raw


def _dataset(
    raw: sources.Raw,
    *,
    task: str | None,
    test_split: int | float | None = None,
    seed: int = 0,
    classes: tuple[Any, ...] | None = None,
    test_rows: np.ndarray | None = None,
    plan: tuple[ColumnPlan, ...] | None = None,
    overrides: dict[str, tuple[str, ...]] | None = None,
) -> Dataset:
    """Check raw arrays, find their task, encode their labels, and hold out the test rows if they have none.
    A table's columns are typed on its training rows (`plan_columns`), unless the project recorded their `plan`."""
    where = {key: f"{raw.location}: {raw.names.get(key, key)}" for key in sources.NPZ_KEYS}
    table = raw.target is not None
    x_train = raw.x_train if table else _features(raw.x_train, where["x_train"])
    y_train = np.asarray(raw.y_train)
    _same_length(x_train, y_train, where["x_train"], raw.names.get("y_train", "y_train"))
    has_test = raw.x_test is not None
    if has_test:
        if test_split is not None:
            raise DataError(f"{raw.location} has its own test set: leave out --test-split")
        x_test = _features(raw.x_test, where["x_test"])
        y_test = np.asarray(raw.y_test)
        _same_length(x_test, y_test, where["x_test"], raw.names.get("y_test", "y_test"))
        if x_test.shape[1:] != x_train.shape[1:]:
            raise DataError(f"{where['x_test']} has examples of shape {x_test.shape[1:]} but x_train has "
                            f"{x_train.shape[1:]}; the training and test examples must have the same shape")
    task = detect_task(y_train, task, where["y_train"])
    if task == CLASSIFICATION:
        y_train, classes = encode_labels(y_train, where["y_train"], classes)
        if has_test:
            y_test, _ = encode_labels(y_test, where["y_test"], classes)
    else:
        y_train = regression_targets(y_train, where["y_train"])
        if has_test:
            y_test = regression_targets(y_test, where["y_test"])
            if y_test.shape[1:] != y_train.shape[1:]:
                raise DataError(f"{where['y_test']} has shape {tuple(y_test.shape)} but y_train has "
                                f"{tuple(y_train.shape)}; give the targets in the same shape")
        classes = None
    if not has_test:
        if test_rows is None:
            _, test_rows = holdout_indices(y_train, test_split, seed, stratify=task == CLASSIFICATION)
        if len(test_rows) and (test_rows.max() >= len(y_train) or test_rows.min() < 0):
            raise DataError(f"{raw.location} has fewer rows than the project's recorded test rows: it has changed")
        kept = np.setdiff1d(np.arange(len(y_train)), test_rows)
        if table:
            x_train, x_test = x_train.iloc[kept], x_train.iloc[test_rows]
        else:
            x_train, x_test = x_train[kept], x_train[test_rows]
        y_train, y_test = y_train[kept], y_train[test_rows]
    else:
        test_rows = None
    if table:
        if plan is None:
            plan = plan_columns(x_train, raw.target, where=f"{raw.location}: ", **(overrides or {}))
        x_train, x_test = table_of(x_train, plan, f"{raw.location}: "), table_of(x_test, plan, f"{raw.location}: ")
    return Dataset(x_train, y_train, x_test, y_test, task=task, source=raw.source, location=raw.location,
                   classes=classes, target=raw.target, columns=plan, dropped=raw.dropped, name=raw.name,
                   note=raw.note, test_rows=test_rows)


def _features(x: Any, where: str) -> np.ndarray:
    """Examples as a numeric array of at least two axes: (n,) becomes (n, 1)."""
    x = np.asarray(x)
    if x.dtype == np.bool_:
        x = x.astype(np.uint8)
    if not np.issubdtype(x.dtype, np.number):
        raise DataError(f"{where} has dtype {x.dtype}; expected numbers (encode text as numbers first)")
    if x.ndim == 0 or len(x) == 0:
        raise DataError(f"{where} is empty; it needs at least one example")
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
        raise DataError(f"{where} has NaN or infinite values; remove or fill them first")
    if np.issubdtype(x.dtype, np.complexfloating):
        raise DataError(f"{where} has complex numbers; give real ones")
    return x


def _same_length(x: np.ndarray, y: np.ndarray, where: str, labels: str) -> None:
    if y.ndim == 0 or len(x) != len(y):
        raise DataError(f"{where} has {len(x):,} examples but {labels} has {y.size if y.ndim == 0 else len(y):,} "
                        "targets; they must have the same length")


def _is_tf_dataset(value: Any) -> bool:
    return type(value).__module__.startswith("tensorflow") and hasattr(value, "element_spec")


def _materialize(dataset: Any) -> tuple[np.ndarray, np.ndarray]:
    """The (x, y) pairs of a tf.data.Dataset (batched or not) as two numpy arrays, in memory."""
    xs, ys = [], []
    spec = dataset.element_spec
    if not (isinstance(spec, tuple) and len(spec) == 2):
        raise DataError("the tf.data.Dataset must yield (x, y) pairs")
    # Keras' convention is a batched dataset; one whose labels are scalars is taken as unbatched (x, y) pairs
    x_shape, y_shape = spec[0].shape, spec[1].shape
    batched = bool(x_shape.rank and y_shape.rank) and (x_shape[0] is None or y_shape[0] is None
                                                       or x_shape[0] == y_shape[0])
    for x, y in dataset.as_numpy_iterator():
        xs.append(x if batched else x[None])
        ys.append(y if batched else np.asarray(y)[None])
    if not xs:
        raise DataError("the tf.data.Dataset is empty")
    return np.concatenate(xs), np.concatenate(ys)

