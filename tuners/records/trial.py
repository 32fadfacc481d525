"""What kerastune records about a trial beyond keras-tuner's own record (no TensorFlow here)."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path
from typing import Any

# Per-fold scores and best epochs of a cross-validated trial, written into its folder.
FOLDS_FILE = "folds.json"


def best_epoch(
    best_step: int | None, values: dict[str, Any], cross_validated: bool, fold_epochs: list[int] | None = None
) -> int | None:
    """Epochs a model of this trial trains to reach its best score (1-based).

    keras-tuner's `best_step` counts from the start of the trial's own fit. A Hyperband trial that
    continues an earlier one starts at `tuner/initial_epoch`, so that is added; under --cv, Hyperband
    trials train from scratch. Under --cv it is the mean of the folds' best epochs (`fold_epochs`), rounded
    to the nearest epoch (halves up): keras-tuner's `best_step` is the floor of their mean, which would
    train the exported model too short.
    """
    if fold_epochs:
        return math.floor(statistics.mean(fold_epochs) + 0.5)
    if best_step is None:
        return None
    start = 0 if cross_validated else int(values.get("tuner/initial_epoch", 0))
    return start + int(best_step) + 1


def read_folds(trial_dir: Path) -> dict[str, Any] | None:
    """A cross-validated trial's `{"scores": [...], "best_epochs": [...]}`, or None."""
    try:
        return json.loads((Path(trial_dir) / FOLDS_FILE).read_text())
    except (OSError, ValueError):
        return None


def spread(scores: list[float] | None) -> float | None:
    """The standard deviation of the fold scores (None for fewer than two)."""
    return statistics.stdev(scores) if scores and len(scores) > 1 else None
