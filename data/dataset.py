"""A dataset as kerastune holds it: training and test arrays, the task they pose, and where they came from."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

CLASSIFICATION = "classification"
REGRESSION = "regression"
TASKS = (CLASSIFICATION, REGRESSION)
IMAGES = "images"
FEATURES = "features"
TABLE = "table"


class DataError(ValueError):
    """Bad data input; message is one line saying what is wrong and how to fix it."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """Arrays in the Keras layout (x as the user holds them; y as class indices 0..K-1, or float targets) plus
    their task and origin."""

    # (n, ...) any numeric dtype: images (n, h, w[, c]) or rows (n, d); or a table's columns (data.table.Table)
    x_train: Any = field(repr=False)
    y_train: np.ndarray = field(repr=False)  # classification: int64 (n,) class indices; regression: float32 (n[, k])
    x_test: Any = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    task: str  # "classification" or "regression"
    source: str  # "npz", "idx", "csv", "parquet", "images", "keras", "sample" or "arrays"
    location: str  # the path read, "keras.datasets.NAME", the bundled sample's path, or "arrays"
    classes: tuple[Any, ...] | None = None  # the label of each class index, in the order of the model's outputs
    target: str | None = None  # the table column that holds the target
    columns: tuple[Any, ...] | None = None  # a table: how each column is used (data.columns.ColumnPlan)
    dropped: int = 0  # a table: the rows left out because their target cell is empty
    name: str = ""  # what to call the data in a sentence, e.g. "MNIST"
    note: str = ""  # e.g. why the bundled sample was used
    # which rows of the source are the test set, when the source had none and kerastune held them out
    test_rows: np.ndarray | None = field(default=None, repr=False)
    # {"train": ..., "test": ...}: a hash of the training arrays and one of the test arrays, made on creation;
    # two loads of the same data have the same fingerprint, whatever file they came from
    fingerprint: dict[str, str] = field(default=None, repr=False, compare=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.fingerprint is None:
            prints = {"train": fingerprint(self.x_train, self.y_train), "test": fingerprint(self.x_test, self.y_test)}
            object.__setattr__(self, "fingerprint", prints)

    @property
    def kind(self) -> str:
        """"table" for a table's columns, "images" for examples of two or more axes (h, w[, c]), else "features"
        (one row of numbers each)."""
        if not isinstance(self.x_train, np.ndarray):
            return TABLE
        return IMAGES if self.x_train.ndim >= 3 else FEATURES

    @property
    def num_classes(self) -> int | None:
        return len(self.classes) if self.classes is not None else None

    def describe(self) -> dict[str, Any]:
        """JSON-safe description: source, location, task, classes, shapes, counts, note, fingerprint."""
        return {
            "source": self.source,
            "location": self.location,
            "name": self.name,
            "task": self.task,
            "classes": _json_safe(self.classes),
            "target": self.target,
            "columns": [column.to_dict() for column in self.columns] if self.columns is not None else None,
            "dropped": self.dropped,
            "shape": [int(d) for d in self.x_train.shape[1:]],
            "dtype": "mixed" if self.kind == TABLE else self.x_train.dtype.name,
            "train": int(len(self.y_train)),
            "test": int(len(self.y_test)),
            "held_out_test": self.test_rows is not None,
            "note": self.note,
            "fingerprint": self.fingerprint,
        }

    def record(self) -> dict[str, Any]:
        """What a project records to load this data again: the description, the one-line summary, and which rows
        were held out as the test set, when they were (their count and fingerprint; the project keeps the rows
        themselves in a file of their own, records.project.write_test_rows)."""
        recorded = {**self.describe(), "summary": self.summary()}
        if self.test_rows is not None:
            recorded["test_rows"] = {"count": int(len(self.test_rows)), "fingerprint": fingerprint(self.test_rows)}
        return recorded

    def summary(self) -> str:
        """One human-readable line: how many examples of what, where from, and the task."""
        shape = "x".join(str(d) for d in self.x_train.shape[1:])
        what = f"images of {shape}" if self.kind == IMAGES else f"rows of {shape} columns"
        if self.kind == TABLE:
            used = sum(column.kind != "left out" for column in self.columns or ())
            what = f"rows ({used} of {len(self.columns or ())} columns used)"
        counts = f"{len(self.y_train):,} training and {len(self.y_test):,} test {what}"
        if self.test_rows is not None:
            counts += " (the test rows held out by kerastune)"
        if self.dropped:
            counts += f"; {self.dropped:,} row{'s' if self.dropped != 1 else ''} without a target left out"
        if self.task == CLASSIFICATION:
            task = f"classification into {self.num_classes} classes"
        else:
            outputs = 1 if self.y_train.ndim == 1 else self.y_train.shape[1]
            task = "regression" + (f" of {outputs} targets" if outputs > 1 else "")
        target = f", target column {self.target!r}" if self.target else ""
        name = f"{self.name}: " if self.name else ""
        line = f"{name}{counts} from {self.location}; {task}{target}"
        return f"{line} ({self.note})" if self.note else line


def fingerprint(*arrays: np.ndarray) -> str:
    """The first 16 hex digits of a SHA-256 over the arrays' dtypes, shapes and bytes."""
    digest = hashlib.sha256()
    for array in arrays:
        if hasattr(array, "columns") and not isinstance(array, np.ndarray):  # a table: each column by name
            for name, values in array.columns.items():
                digest.update(name.encode())
                if values.dtype == object:
                    digest.update("\x00".join(values).encode())
                else:
                    digest.update(fingerprint(values).encode())
            continue
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.data)
    return digest.hexdigest()[:16]


def _json_safe(classes: tuple[Any, ...] | None) -> list[Any] | None:
    if classes is None:
        return None
    return [value.item() if isinstance(value, np.generic) else value for value in classes]
