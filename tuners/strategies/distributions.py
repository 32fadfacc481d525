"""How a keras-tuner hyperparameter maps to an Optuna distribution, from its class name and config (as a trial
file records it), so that it serves both the search (strategies/study.py) and `report` (records/importance.py, without
TensorFlow)."""

from __future__ import annotations

import warnings
from typing import Any


def distribution(kind: str, config: dict[str, Any], steps: bool = True) -> Any:
    """The Optuna distribution of a keras-tuner hyperparameter, from its class name and config (as its trial files
    record it); None for a Fixed one, which is not searched. `steps=False` leaves out a linear step.

    A log-sampled Int or Float with a step has values `min * step**k` in keras-tuner; Optuna has no such
    distribution, so it is the log-scale range (`hypermodels.space.nearest_value` rounds a sample to keras-tuner's
    nearest value)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if kind == "Boolean":
        return CategoricalDistribution([False, True])
    if kind == "Choice":
        return CategoricalDistribution(list(config["values"]))
    log = config.get("sampling") in ("log", "reverse_log")
    step = config.get("step") if steps and not log else None
    if kind == "Int":
        return IntDistribution(int(config["min_value"]), int(config["max_value"]), log=log, step=int(step or 1))
    if kind == "Float":
        with warnings.catch_warnings():  # a range that is not a whole number of steps: Optuna trims it, as kt does
            warnings.simplefilter("ignore")
            return FloatDistribution(float(config["min_value"]), float(config["max_value"]), log=log,
                                     step=float(step) if step else None)
    if kind == "Fixed":
        return None
    raise TypeError(f"kerastune cannot search a {kind} hyperparameter with Optuna")
