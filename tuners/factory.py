"""Build keras-tuner's RandomSearch, Hyperband, BayesianOptimization and GridSearch from one configuration."""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras_tuner as kt

from tuners.config import ConfigError

TrialListener = Callable[[Any, float], None]


# A failed trial's reason, written into its folder: keras-tuner's gRPC messages do not carry it
# from a worker to the chief.
FAILURE_FILE = "failure.txt"


class _Reporting:
    """Mixin for keras-tuner tuners: tells a listener about every finished trial and its duration,
    and records why a trial failed next to its files."""

    listener: TrialListener | None = None
    _trial_started = 0.0

    def on_trial_begin(self, trial: Any) -> None:
        self._trial_started = time.monotonic()
        super().on_trial_begin(trial)

    def on_trial_end(self, trial: Any) -> None:
        if trial.message:
            reason = [line for line in trial.message.strip().splitlines() if line.strip()][-1:]
            (Path(self.get_trial_dir(trial.trial_id)) / FAILURE_FILE).write_text("".join(reason).strip() + "\n")
        super().on_trial_end(trial)  # the oracle scores and records the trial here
        if self.listener is not None:
            recorded = self.oracle.get_trial(trial.trial_id)
            recorded.message = recorded.message or trial.message
            self.listener(recorded, time.monotonic() - self._trial_started)


class RandomSearch(_Reporting, kt.RandomSearch):
    """keras-tuner's RandomSearch, reporting each trial."""


class Hyperband(_Reporting, kt.Hyperband):
    """keras-tuner's Hyperband, reporting each trial."""


class BayesianOptimization(_Reporting, kt.BayesianOptimization):
    """keras-tuner's BayesianOptimization, reporting each trial."""


class GridSearch(_Reporting, kt.GridSearch):
    """keras-tuner's GridSearch, reporting each trial."""


# tuner name -> keras-tuner class
TUNER_CLASSES: dict[str, type] = {
    "random": RandomSearch,
    "hyperband": Hyperband,
    "bayesian": BayesianOptimization,
    "grid": GridSearch,
}


def parse_objective(text: str) -> kt.Objective:
    """`val_accuracy`, `val_loss`, or any metric as NAME:max / NAME:min."""
    name, _, direction = text.partition(":")
    if direction:
        if direction not in ("max", "min") or not name:
            raise ConfigError(f"--objective {text!r}: write NAME, NAME:max or NAME:min")
        return kt.Objective(name, direction)
    try:  # keras-tuner infers the direction of names it knows (accuracy: max, loss: min)
        return kt.oracles.RandomSearchOracle(objective=name).objective
    except ValueError:
        raise ConfigError(
            f"--objective {text!r}: cannot tell whether to maximize or minimize it; "
            f"write {name}:max or {name}:min"
        ) from None


def build_tuner(
    tuner: str,
    hypermodel: Any,
    options: dict[str, Any],
    project_dir: Path,
    *,
    max_trials: int | None,
    overwrite: bool = False,
    listener: TrialListener | None = None,
) -> Any:
    """A keras-tuner tuner for `project_dir`; an existing project there is reloaded unless `overwrite`."""
    common = dict(
        hypermodel=hypermodel,
        objective=parse_objective(options["objective"]),
        executions_per_trial=options["executions_per_trial"],
        seed=options["seed"],
        directory=str(Path(project_dir).parent),
        project_name=Path(project_dir).name,
        overwrite=overwrite,
    )
    if tuner == "hyperband":
        specific = {"max_epochs": options["max_epochs"], "factor": options["factor"]}
    elif tuner == "bayesian":
        specific = {
            "max_trials": max_trials,
            "num_initial_points": options["num_initial_points"],
            "alpha": options["alpha"],
            "beta": options["beta"],
        }
    else:
        specific = {"max_trials": max_trials}
    instance = _quietly(TUNER_CLASSES[tuner], **common, **specific)
    instance.listener = listener
    return instance


def _quietly(cls: type, **kwargs: Any) -> Any:
    """Construct a tuner without keras-tuner's own prints (e.g. "Reloading Tuner from ...")."""
    with contextlib.redirect_stdout(io.StringIO()):
        return cls(**kwargs)


def planned_trials(tuner: Any) -> int | None:
    """How many trials this search will run in all, when that is known in advance."""
    oracle = tuner.oracle
    if isinstance(oracle, kt.oracles.HyperbandOracle):
        # One Hyperband iteration: the bracket sizes keras-tuner's oracle uses.
        return sum(
            oracle._get_size(bracket, round_num)
            for bracket in range(oracle._get_num_brackets())
            for round_num in range(oracle._get_num_rounds(bracket))
        ) * int(oracle.hyperband_iterations)
    return oracle.max_trials

