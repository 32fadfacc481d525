"""keras-tuner's private Tuner methods and files that kerastune changes or reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras_tuner as kt
from keras_tuner.src.engine import tuner_utils

from kerastune.tuners.internals.oracle_base import restart_interrupted_trials


class _TunerHooks:
    """keras-tuner's private Tuner methods that kerastune changes, each behind a plain attribute or a public hook:

    - each fit of a trial: `fit_starts(fit_arguments)` (it may raise to skip the fit), `model_built(model)`,
      `fit_callbacks(callbacks)` (the fit's own, as keras-tuner copied them and added its own),
      `fit_ended(history, x)` (`_build_and_fit_model`, `_try_build`, `_deepcopy_callbacks`);
    - `fold`: under --cv, the fold being trained; its TensorBoard logs go to `logs/TRIAL/foldF-executionE`
      instead of `executionE` (`_get_tensorboard_dir`).
    - `from_scratch`: Hyperband trains each trial from scratch instead of going on from an earlier trial's
      weights (`_build_hypermodel`, `_build_and_fit_model`).
    - reloading: keras-tuner reloads a project only when it finds the tuner's own file (`tuner0.json`,
      engine/base_tuner.py:127), which a search writes when its first trial ends; a search killed before then
      would start afresh over its `oracle.json`. `reload_missed_state` reloads from `oracle.json` instead, and
      a reloaded oracle reruns its interrupted trials (`restart_interrupted_trials`).
    - the search space: kerastune hands the oracle the whole space, found by `hypermodels.search_space` (the
      walk over the conditions that `_populate_initial_space` makes); keras-tuner would build the model again
      several times to find it (engine/base_tuner.py:174), in every process of a search.
    """

    fold: int | None = None
    from_scratch = False

    def fit_starts(self, fit_arguments: dict[str, Any]) -> None:
        """A fit of the trial is about to build and train its model."""

    def model_built(self, model: Any) -> None:
        """The fit's model is built."""

    def fit_callbacks(self, callbacks: list[Any]) -> None:
        """The callbacks the fit trains with."""

    def fit_ended(self, history: Any, x: Any) -> None:
        """The fit trained `x` and returned `history`."""

    def _try_build(self, hp: Any) -> Any:
        model = super()._try_build(hp)
        self.model_built(model)
        return model

    def _deepcopy_callbacks(self, callbacks: list[Any]) -> list[Any]:
        copied = super()._deepcopy_callbacks(callbacks)
        self.fit_callbacks(copied)
        return copied

    def _populate_initial_space(self) -> None:
        if not self.oracle.hyperparameters.space:
            super()._populate_initial_space()

    def _get_tensorboard_dir(self, logdir: Any, trial_id: Any, execution: int) -> str:
        if self.fold is None:
            return super()._get_tensorboard_dir(logdir, trial_id, execution)
        return str(Path(logdir) / str(trial_id) / f"fold{self.fold}-execution{execution}")

    def _build_hypermodel(self, hp: Any) -> Any:
        if self.from_scratch:
            return kt.Tuner._build_hypermodel(self, hp)
        return super()._build_hypermodel(hp)

    def _build_and_fit_model(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
        self.fit_starts(kwargs)
        if self.from_scratch and "initial_epoch" in kwargs:
            kwargs["initial_epoch"] = 0
        history = super()._build_and_fit_model(trial, *args, **kwargs)
        self.fit_ended(history, args[0] if args else kwargs.get("x"))
        return history

    def reload(self) -> None:
        super().reload()
        if not self._is_worker():
            restart_interrupted_trials(self.oracle)

    def reload_missed_state(self) -> None:
        """Reload the oracle from `oracle.json` where keras-tuner started afresh over it (see above)."""
        oracle_file = Path(self.project_dir) / "oracle.json"
        if not self._is_worker() and oracle_file.exists() and not Path(self._get_tuner_fname()).exists():
            self.oracle.reload()
            restart_interrupted_trials(self.oracle)


class Tuner(_TunerHooks, kt.Tuner):
    """keras-tuner's Tuner, on the oracle it is given (random search, Bayesian optimization, grid search)."""


class HyperbandTuner(_TunerHooks, kt.Hyperband):
    """keras-tuner's Hyperband tuner (its trials go on from earlier trials' weights) on the oracle it is given:
    `kt.Hyperband.__init__` only makes its own HyperbandOracle, which is skipped."""

    def __init__(self, oracle: Any, **kwargs: Any) -> None:
        kt.Tuner.__init__(self, oracle=oracle, **kwargs)


def history_score(results: Any, objective: Any) -> float:
    """The objective's best value in a fit's results (keras-tuner's own reading of a History)."""
    return float(tuner_utils.convert_to_metrics_dict(results, objective)[objective.name])


def history_best_step(results: Any, objective: Any) -> int:
    """The 0-based epoch of that best value."""
    return int(tuner_utils.get_best_step(results, objective))
