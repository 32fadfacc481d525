"""How trials are scored: on a stratified validation split of the training digits, or on K stratified folds.

Made from --seed alone, so that a resumed search and every worker make the very same split; its fingerprint,
recorded in the manifest, is how they check it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tuners.config import ConfigError
from tuners.data import fingerprint, validation_indices


@dataclass(frozen=True, eq=False)
class Split:
    """Training-row indices: `fit` and `validation` for one split, or `folds` as (fit, held-out) pairs."""

    fit: np.ndarray | None = None
    validation: np.ndarray | None = None
    folds: list[tuple[np.ndarray, np.ndarray]] | None = None

    @property
    def sizes(self) -> tuple[int, int]:
        """The digits one model fits on, and the digits it is scored on (under --cv: those of the first fold)."""
        if self.folds is not None:
            return len(self.folds[0][0]), len(self.folds[0][1])
        return len(self.fit), len(self.validation)

    @property
    def fingerprint(self) -> str:
        """A hash of the held-out indices (of every fold, under --cv)."""
        if self.folds is not None:
            return fingerprint(*(held_out for _, held_out in self.folds))
        return fingerprint(self.validation)


def scoring_split(y: np.ndarray, cv: int | None, validation: int | float | None, seed: int) -> Split:
    """K folds when `cv` is set, else one validation split of `validation` digits (a count, a fraction, or None
    for the default size)."""
    if cv:
        return Split(folds=cross_validation_folds(y, cv, seed))
    fit, held_out = validation_indices(y, validation, seed)
    return Split(fit=fit, validation=held_out)


def cross_validation_folds(y: np.ndarray, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """K stratified, disjoint folds of the training digits as (fit indices, held-out indices), seeded."""
    from sklearn.model_selection import StratifiedKFold

    counts = np.bincount(np.asarray(y))
    smallest = int(counts[counts > 0].min())
    if smallest < k:
        raise ConfigError(
            f"--cv {k} needs at least {k} digits of each class, but one class has only {smallest}: "
            "use fewer folds or more data"
        )
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y))
