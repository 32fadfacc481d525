"""Optuna's private state that kerastune reads."""

from __future__ import annotations

from typing import Any


def storage_id(trial: Any) -> int:
    """A trial's id in its study's storage (`Trial._trial_id`, `FrozenTrial._trial_id`): the key the storage's own
    methods (`get_trial`, `set_trial_state_values`...) take. Optuna has no public accessor for it (optuna 5.0:
    optuna/trial/_trial.py, optuna/trial/_frozen.py); the trial's `number` is not that key."""
    return trial._trial_id


def frozen(trial: Any) -> Any:
    """A running `optuna.Trial` as its storage holds it now: its intermediate values and system attributes."""
    return trial.storage.get_trial(storage_id(trial))
