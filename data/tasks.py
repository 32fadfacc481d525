"""The task a target poses (classification or regression), its labels as class indices, and test-set scores."""

from __future__ import annotations

from typing import Any

import numpy as np

from kerastune.data.dataset import CLASSIFICATION, REGRESSION, TASKS, DataError

# A target of whole numbers with more distinct values than this may be a quantity: kerastune asks which task it is
MAX_GUESSED_CLASSES = 100
# ...and so does one with more than this many values that are also more than MAX_CLASS_SHARE of its rows
# (a quantity such as a mass in grams, not classes with examples enough to learn each)
FEW_CLASSES = 20
MAX_CLASS_SHARE = 0.05
# More classes than this is not a classification kerastune's spaces are made for
MAX_CLASSES = 1000


def detect_task(y: np.ndarray, task: str | None, where: str) -> str:
    """The task of target `y`: `task` when given, else regression for float values that are not all whole
    numbers (or several target columns), else classification. `where` names the target in messages."""
    if task is not None:
        if task not in TASKS:
            raise DataError(f"--task {task} is not a task: use classification or regression")
        if task == REGRESSION and not _numeric(y):
            raise DataError(f"{where} holds text labels, which cannot be regressed: use --task classification")
        return task
    if not _numeric(y) or y.dtype == np.bool_:
        return CLASSIFICATION
    if y.ndim == 2 and y.shape[1] > 1:
        return REGRESSION
    values = y.reshape(-1)
    if np.issubdtype(values.dtype, np.floating):
        _check_finite(values, where)
        if not np.all(values == np.round(values)):
            return REGRESSION
    distinct = len(np.unique(values))
    if distinct > MAX_GUESSED_CLASSES or (distinct > FEW_CLASSES and distinct > MAX_CLASS_SHARE * len(values)):
        raise DataError(
            f"{where} has {distinct:,} distinct whole-number values: say what they are with --task regression "
            "(a quantity) or --task classification (categories)"
        )
    return CLASSIFICATION


def encode_labels(
    y: np.ndarray, where: str, classes: tuple[Any, ...] | None = None
) -> tuple[np.ndarray, tuple[Any, ...]]:
    """Class labels (numbers or text) as indices 0..K-1 into `classes` (sorted labels, unless given)."""
    y = _one_column(y, where, "labels")
    if _numeric(y) and np.issubdtype(y.dtype, np.floating):
        _check_finite(y, where)
        if not np.all(y == np.round(y)):
            raise DataError(
                f"{where} holds fractional values such as {y[y != np.round(y)][0]:g}, not class labels: "
                "use --task regression"
            )
        y = y.astype(np.int64)
    if classes is None:
        values = np.unique(y)
        if len(values) < 2:
            raise DataError(f"{where} is constant ({_label(values[0]) if len(values) else 'empty'}): "
                            "a target needs at least two different values")
        if len(values) > MAX_CLASSES or len(values) > max(20, len(y) / 2):
            raise DataError(
                f"{where} has {len(values):,} distinct values in {len(y):,} rows, too many classes to learn (at "
                f"most {MAX_CLASSES:,}, and no more than half the rows): if it is a quantity, use --task regression"
            )
        classes = tuple(_label(value) for value in values)
    index = {label: code for code, label in enumerate(classes)}
    try:
        codes = np.fromiter((index[_label(value)] for value in y), dtype=np.int64, count=len(y))
    except KeyError as error:
        raise DataError(f"{where} has the label {error.args[0]!r}, which is not one of the search's classes "
                        f"({', '.join(map(str, classes[:10]))}{', ...' if len(classes) > 10 else ''})") from None
    return codes, classes


def regression_targets(y: np.ndarray, where: str) -> np.ndarray:
    """Regression targets as float32, (n,) for one target and (n, k) for several."""
    if not _numeric(y):
        raise DataError(f"{where} holds text, not numbers: use --task classification")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim not in (1, 2):
        raise DataError(f"{where} has shape {tuple(y.shape)}; expected (n,) targets, or (n, k) for k targets")
    y = y.astype(np.float32)
    _check_finite(y, where)
    if np.all(y == y[0]):
        raise DataError(f"{where} is constant: a target needs at least two different values")
    return y


def score_predictions(task: str, y_true: np.ndarray, predictions: np.ndarray) -> dict[str, float]:
    """The test-set figures kerastune reports: accuracy for classification; MAE, RMSE and R² for regression."""
    predictions = np.asarray(predictions, dtype=np.float64)
    if task == CLASSIFICATION:
        return {"test_accuracy": float(np.mean(np.argmax(predictions, axis=-1) == y_true))}
    y_true = np.asarray(y_true, dtype=np.float64).reshape(predictions.shape)
    errors = predictions - y_true
    total = np.sum((y_true - y_true.mean(axis=0)) ** 2)
    return {
        "test_mae": float(np.mean(np.abs(errors))),
        "test_rmse": float(np.sqrt(np.mean(errors**2))),
        "test_r2": float(1.0 - np.sum(errors**2) / total) if total > 0 else float("nan"),
    }


def _one_column(y: np.ndarray, where: str, what: str) -> np.ndarray:
    if y.ndim == 2 and y.shape[1] == 1:
        return y[:, 0]
    if y.ndim != 1:
        raise DataError(f"{where} has shape {tuple(y.shape)}; expected (n,) {what}, one per example")
    return y


def _numeric(y: np.ndarray) -> bool:
    return np.issubdtype(y.dtype, np.number) or y.dtype == np.bool_


def _check_finite(y: np.ndarray, where: str) -> None:
    if np.issubdtype(y.dtype, np.floating) and not np.isfinite(y).all():
        raise DataError(f"{where} has NaN or infinite values: remove or fill those rows")


def _label(value: Any) -> Any:
    """A label as plain Python (so it is JSON-safe and compares equal across loads)."""
    if isinstance(value, np.generic):
        value = value.item()
    return value
