"""Seeded splits of a dataset's rows: the validation part that scores trials, and a held-out test set.

Stratified by class for classification, plainly shuffled for regression; the same seed makes the same split.
"""

from __future__ import annotations

import numpy as np

from kerastune.data.dataset import DataError

MIN_TRAINING_SAMPLES = 10
# The test set kerastune holds out of data that has none, unless --test-split says otherwise
DEFAULT_TEST_SPLIT = 0.2


def default_validation_size(n_train: int) -> int:
    """Default validation size: 10,000 for full MNIST and larger data (>= 60,000 rows), else one sixth."""
    if n_train >= 60_000:
        return 10_000
    return int(round(n_train / 6))


def validation_indices(
    y: np.ndarray, validation: int | float | None, seed: int = 0, stratify: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """The indices of the fit part and of the validation part of a seeded split, stratified by class when
    `stratify`. `validation`: a count (int >= 1), a fraction (float in (0, 1)), or None for the default size."""
    n = len(y)
    n_val = _count(validation, n, "--validation-split")
    where = "the default validation size" if validation is None else "--validation-split"
    return _split(y, n_val, f"{where} {n_val:,}" if validation is None else f"{where} {validation}", seed, stratify)


def holdout_indices(
    y: np.ndarray, test_split: int | float | None, seed: int = 0, stratify: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """The indices of the training rows and of the test rows kerastune holds out of data that has no test set
    (`test_split` rows, or that fraction; DEFAULT_TEST_SPLIT when None), seeded and sorted."""
    split = DEFAULT_TEST_SPLIT if test_split is None else test_split
    n_test = _count(split, len(y), "--test-split")
    train, test = _split(y, n_test, f"--test-split {split}", seed, stratify)
    return np.sort(train), np.sort(test)


def _split(y: np.ndarray, n_held: int, where: str, seed: int, stratify: bool) -> tuple[np.ndarray, np.ndarray]:
    n = len(y)
    if n_held >= n:
        verb = "is larger than" if n_held > n else "uses all of"
        raise DataError(f"{where} {verb} the {n:,} training examples; use a smaller number")
    if n - n_held < MIN_TRAINING_SAMPLES:
        raise DataError(
            f"{where} leaves only {n - n_held:,} training examples "
            f"(need at least {MIN_TRAINING_SAMPLES}); use a smaller number, or more data"
        )
    labels = None
    if stratify:
        labels = np.asarray(y)
        classes, counts = np.unique(labels, return_counts=True)
        if n_held < len(classes):
            raise DataError(f"{where} is too small to hold one example of each of the {len(classes)} classes; "
                            f"use at least {len(classes)}")
        if n - n_held < len(classes):
            raise DataError(f"{where} leaves fewer training examples than the {len(classes)} classes; "
                            "use a smaller number")
        if counts.min() < 2:
            raise DataError(
                f"cannot split by class: class {classes[counts.argmin()]} has only one example; use more data "
                "(or, if the target is a quantity, --task regression)"
            )

    from sklearn.model_selection import train_test_split

    kept, held = train_test_split(np.arange(n), test_size=n_held, stratify=labels, random_state=seed, shuffle=True)
    return kept, held


def _count(split: int | float, n: int, flag: str) -> int:
    """Turn a count or a fraction of `n` rows into a number of rows (not yet checked against n)."""
    if split is None:
        return default_validation_size(n)
    if isinstance(split, (bool, np.bool_)) or not isinstance(split, (int, float, np.integer, np.floating)):
        raise DataError(f"{flag} {split!r} is not a number; give a count like 5000 or a fraction like 0.1")
    if isinstance(split, (int, np.integer)):
        if split < 1:
            raise DataError(f"{flag} {split} must be at least 1; give a count like 5000 or a fraction like 0.1")
        return int(split)
    if not 0.0 < split < 1.0:
        raise DataError(f"{flag} {split} is not a fraction in (0, 1); give a fraction like 0.1 or a whole count "
                        "like 5000")
    count = int(round(float(split) * n))
    if count < 1:
        raise DataError(f"{flag} {split} of {n:,} examples is less than one example; use a larger fraction")
    return count
