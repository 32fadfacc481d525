"""How trials are scored: on a validation split of the training examples, or on K folds (both stratified by class
for classification).

Made from --seed alone, so that a resumed search and every worker make the very same split; its fingerprint,
recorded in the manifest, is how they check it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kerastune.data import fingerprint, validation_indices
from kerastune.tuners.options import ConfigError


@dataclass(frozen=True, eq=False)
class Split:
    """Training-row indices: `fit` and `validation` for one split, or `folds` as (fit, held-out) pairs."""

    fit: np.ndarray | None = None
    validation: np.ndarray | None = None
    folds: list[tuple[np.ndarray, np.ndarray]] | None = None

    @property
    def sizes(self) -> tuple[int, int]:
        """The examples one model fits on, and the examples it is scored on (under --cv: those of the first fold)."""
        if self.folds is not None:
            return len(self.folds[0][0]), len(self.folds[0][1])
        return len(self.fit), len(self.validation)

    @property
    def fingerprint(self) -> str:
        """A hash of the held-out indices (of every fold, under --cv)."""
        if self.folds is not None:
            return fingerprint(*(held_out for _, held_out in self.folds))
        return fingerprint(self.validation)


def scoring_split(y: np.ndarray, cv: int | None, validation: int | float | None, seed: int,
                  stratify: bool = True) -> Split:
    """K folds when `cv` is set, else one validation split of `validation` examples (a count, a fraction, or None
    for the default size); stratified by class when `stratify`."""
    if cv:
        return Split(folds=cross_validation_folds(y, cv, seed, stratify))
    fit, held_out = validation_indices(y, validation, seed, stratify)
    return Split(fit=fit, validation=held_out)


def cross_validation_folds(
    y: np.ndarray, k: int, seed: int, stratify: bool = True
) -> list[tuple[np.ndarray, np.ndarray]]:
    """K disjoint folds of the training examples as (fit indices, held-out indices), seeded; stratified by class
    when `stratify`."""
    from sklearn.model_selection import KFold, StratifiedKFold

    if not stratify:
        if len(y) < k:
            raise ConfigError(f"--cv {k} needs at least {k} training examples: use fewer folds or more data")
        return list(KFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(y))))

    counts = np.bincount(np.asarray(y))
    smallest = int(counts[counts > 0].min())
    if smallest < k:
        raise ConfigError(
            f"--cv {k} needs at least {k} examples of each class, but one class has only {smallest}: "
            "use fewer folds or more data"
        )
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y))
