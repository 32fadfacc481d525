"""Which hyperparameters mattered: Optuna's fANOVA importance over a project's scored trials (for `report`).

Read from the report's rows, without TensorFlow: each hyperparameter's range comes from its keras-tuner config as
the trial files record it. Importance is the share of the score's variance that each hyperparameter explains
(a random forest fitted to the trials, then its functional ANOVA); the shares add up to 1. Only hyperparameters
that every scored trial has are assessed (a conditional one, such as units_3, is left out), and only completed
trials count: a pruned trial's score is partial.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from kerastune.tuners.strategies.distributions import distribution

MIN_TRIALS = 5  # fewer scored trials say nothing about importance


def importances(rows: list[Any], hyperparameters: list[Any], direction: str, seed: int = 0) -> dict[str, float]:
    """{name: share of the score's variance it explains}, largest first; empty with fewer than MIN_TRIALS scored
    trials, or no hyperparameter that varies."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    scored = [row for row in rows if row.status.ranked and row.score is not None
              and math.isfinite(row.score)]
    dists = {h.name: distribution(h.kind, h.config, steps=False) for h in hyperparameters}
    dists = {name: dist for name, dist in dists.items() if dist is not None}
    if len(scored) < MIN_TRIALS or not dists:
        return {}
    study = optuna.create_study(direction="maximize" if direction == "max" else "minimize")
    for row in scored:
        params = {name: row.hyperparameters[name] for name in dists if name in row.hyperparameters}
        study.add_trial(optuna.trial.create_trial(params=params, distributions={n: dists[n] for n in params},
                                                  value=row.score))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            found = optuna.importance.get_param_importances(
                study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=seed))
        except (RuntimeError, ValueError):  # e.g. no hyperparameter shared by every trial, or none that varies
            return {}
    return {name: float(share) for name, share in found.items()}
