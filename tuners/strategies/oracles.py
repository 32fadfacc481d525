"""The oracles of the strategies (strategies/spec.py): keras-tuner's own, and Optuna's TPE behind a keras-tuner
oracle, each on kerastune's oracle base (internals.oracle_base.ControlledOracle), which enforces the search's
policies. A new strategy's oracle goes here, built on the base's public methods (`first_values`, `small_enough`,
`tried`, `random_values`, `mirror`) and keras-tuner's `populate_space`."""

from __future__ import annotations

import warnings
from typing import Any

import keras_tuner as kt

from kerastune.tuners.internals.oracle_base import (
    MAX_DRAWS,
    RUNNING,
    STOPPED,
    CompletedTrialsOnlyGaussianProcess,
    ControlledOracle,
    ParallelGrid,
)
from kerastune.tuners.run.seeds import derived_seed

TPE_REPEATS = 10  # configurations TPE may propose that were tried already before a random draw replaces them
TPE_INITIAL_POINTS = 10  # Optuna's default n_startup_trials


class RandomSearchOracle(ControlledOracle, kt.oracles.RandomSearchOracle):
    """keras-tuner's random search oracle, controlled."""


class HyperbandOracle(ControlledOracle, kt.oracles.HyperbandOracle):
    """keras-tuner's Hyperband oracle, controlled."""


class GridSearchOracle(ParallelGrid, ControlledOracle, kt.oracles.GridSearchOracle):
    """keras-tuner's grid search oracle, controlled, and parallel: every worker gets a combination."""


class BayesianOptimizationOracle(CompletedTrialsOnlyGaussianProcess, ControlledOracle,
                                 kt.oracles.BayesianOptimizationOracle):
    """keras-tuner's Bayesian optimization oracle, controlled; its Gaussian process learns from the completed trials
    only. The configurations to try first come before it, past its initial points too."""

    def populate_space(self, trial_id: str) -> dict[str, Any]:
        while first := self.first_values():
            if self.small_enough(first):
                return {"status": RUNNING, "values": first}
        response = super().populate_space(trial_id)
        if response["status"] == RUNNING and not self.small_enough(response["values"]):
            return self.random_populate_space()  # the Gaussian process proposes a model too big: draw one
        return response


class TPEOracle(ControlledOracle, kt.Oracle):
    """Optuna's TPE sampler behind a keras-tuner oracle (keras-tuner issues #3 and #555): each new trial's values
    are asked of the study's sampler, which learns from every trial the oracle ends (completed, pruned, failed).
    Conditional hyperparameters are asked only where active (Optuna's define-by-run). A configuration already
    tried is not trained again: the sampler is asked again (after TPE_REPEATS such proposals, a random draw is
    used). Each run seeds the sampler anew (from the seed and the trials finished), so that a resumed search
    does not draw again what its first run drew."""

    def __init__(self, *, num_initial_points: int | None = None, seed: int | None = None, **kwargs: Any) -> None:
        self.num_initial_points = num_initial_points
        super().__init__(seed=seed, sampler=lambda finished: tpe_sampler(derived_seed(seed or 0, "tpe", finished),
                                                                         num_initial_points), **kwargs)

    def populate_space(self, trial_id: str) -> dict[str, Any]:
        study = self.mirror()
        while first := self.first_values():
            if self.small_enough(first):
                study.enqueue(first)
                break
        for draw in range(MAX_DRAWS):
            if draw >= TPE_REPEATS:  # the sampler keeps proposing what was tried: a random draw instead
                values = self.random_values()
                if values is None:
                    break
                study.enqueue(values)
            values = study.ask(trial_id)
            if not self.tried(values) and self.small_enough(values):
                return {"status": RUNNING, "values": values}
            study.drop(trial_id)  # tried already, or too big: asked again
        return {"status": STOPPED, "values": None}


def tpe_sampler(seed: int, num_initial_points: int | None) -> Any:
    """Optuna's TPE sampler as `kerastune tpe` uses it: multivariate (it models the hyperparameters together, in
    groups where some are conditional), and with the constant liar, so that parallel workers are not all sent to
    the same promising region."""
    import optuna

    with warnings.catch_warnings():  # multivariate, group and constant_liar are marked experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=num_initial_points or TPE_INITIAL_POINTS,
                                          multivariate=True, group=True, constant_liar=True)
