"""Build keras-tuner's RandomSearch, Hyperband, BayesianOptimization and GridSearch from one configuration."""

from __future__ import annotations

import contextlib
import io
import json
import math
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import keras_tuner as kt
from keras_tuner.src.engine import metrics_tracking, tuner_utils

from tuners.config import ConfigError
from tuners.keras_tuner_fixes import atomic_state_files, quiet_failed_trials
from tuners.project import LOGS_NAME, ProjectError, write_atomically
from tuners.tf_memory import forget_custom_gradients
from tuners.trials import FOLDS_FILE

TrialListener = Callable[[Any, float], None]


# A failed trial's traceback, written into its folder: keras-tuner's gRPC messages do not carry it
# from a worker to the chief.
FAILURE_FILE = "failure.txt"


class FailOnNonFiniteLoss(keras.callbacks.Callback):
    """Fail the trial when its loss becomes NaN or infinite, instead of scoring a broken model."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        for name in ("loss", "val_loss"):
            value = (logs or {}).get(name)
            if value is not None and not math.isfinite(float(value)):
                raise kt.errors.FailedTrialError(
                    f"{name} became {float(value)} in epoch {epoch + 1} (a learning rate too high?)"
                )


class ReportEpochs(keras.callbacks.Callback):
    """Tell `on_epoch(epoch, epochs)` when each epoch of a trial ends (for a live progress display)."""

    def __init__(self, on_epoch: Callable[[int, int], None]) -> None:
        super().__init__()
        self.on_epoch = on_epoch

    def __deepcopy__(self, memo: dict) -> ReportEpochs:
        return ReportEpochs(self.on_epoch)  # keras-tuner copies callbacks; the listener is shared, not copied

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.on_epoch(epoch + 1, int(self.params.get("epochs") or 0))


class _Reporting:
    """Mixin for keras-tuner tuners: tells a listener about every finished trial and its duration,
    records why a trial failed next to its files, fails trials whose loss is not finite, frees
    what TensorFlow would keep of each trial, and repairs what a killed search left behind when
    it reloads a project."""

    listener: TrialListener | None = None
    # --cv: (fit indices, held-out indices) per fold; None scores on the validation data given to fit
    cv_folds: list[tuple[Any, Any]] | None = None
    _trial_started = 0.0
    _fold: int | None = None  # the fold being trained, under --cv

    def on_trial_begin(self, trial: Any) -> None:
        self._trial_started = time.monotonic()
        super().on_trial_begin(trial)

    def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs["callbacks"] = [*kwargs.get("callbacks", []), FailOnNonFiniteLoss()]
        with forget_custom_gradients():  # or memory grows with every trial (see tuners.tf_memory)
            if self.cv_folds:
                return self._cross_validate(trial, *args, **kwargs)
            return super().run_trial(trial, *args, **kwargs)

    def _cross_validate(self, trial: Any, x: Any, y: Any, **kwargs: Any) -> list[Any]:
        """Train on each fold's fit part, score on its held-out part; keras-tuner averages the
        histories (as it does executions), so the trial's score is the mean over the folds."""
        histories: list[Any] = []
        per_fold = []
        for fold, (fit, held_out) in enumerate(self.cv_folds):
            self._fold = fold
            fold_kwargs = dict(kwargs, validation_data=(x[held_out], y[held_out]))
            results = super().run_trial(trial, x[fit], y[fit], **fold_kwargs)
            histories += results
            per_fold.append(results)
        self._fold = None
        objective = self.oracle.objective
        folds = {
            "scores": [float(tuner_utils.convert_to_metrics_dict(r, objective)[objective.name]) for r in per_fold],
            "best_epochs": [tuner_utils.get_best_step(r, objective) + 1 for r in per_fold],
        }
        write_atomically(Path(self.get_trial_dir(trial.trial_id)) / FOLDS_FILE, json.dumps(folds) + "\n")
        return histories

    def _get_tensorboard_dir(self, logdir: Any, trial_id: Any, execution: int) -> str:
        if self._fold is None:
            return super()._get_tensorboard_dir(logdir, trial_id, execution)
        return str(Path(logdir) / str(trial_id) / f"fold{self._fold}-execution{execution}")

    def reload(self) -> None:
        super().reload()
        if not self._is_worker():
            restart_interrupted_trials(self.oracle)

    def on_trial_end(self, trial: Any) -> None:
        if trial.message:
            write_atomically(Path(self.get_trial_dir(trial.trial_id)) / FAILURE_FILE, trial.message.strip() + "\n")
        super().on_trial_end(trial)  # the oracle scores and records the trial here
        if self.listener is not None:
            recorded = self.oracle.get_trial(trial.trial_id)
            recorded.message = recorded.message or trial.message
            self.listener(recorded, time.monotonic() - self._trial_started)


def restart_interrupted_trials(oracle: Any) -> None:
    """Make a reloaded oracle rerun, from scratch, the trials a killed search left unfinished.

    keras-tuner queues the trials that `oracle.json` lists as running for a retry. But its
    `end_trial` saves `oracle.json` before it takes the ended trial off the running list, so a
    trial that had finished may be listed as running too: it is kept as it finished, not rerun
    (which would count it twice). The others are rerun from scratch, their partial results
    dropped. A trial whose own file was written but which `oracle.json` never recorded (the process
    died between the two writes) is forgotten: the oracle creates it again under the same id.
    """
    started, finished = set(oracle.start_order), set(oracle.end_order)
    for trial_id in [t for t in oracle.trials if t not in started]:
        del oracle.trials[trial_id]
    oracle._retry_queue = [t for t in oracle._retry_queue if t not in finished]
    for trial_id in oracle._retry_queue:
        trial = oracle.trials[trial_id]
        trial.metrics = metrics_tracking.MetricsTracker()
        trial.score, trial.best_step, trial.message = None, 0, None
        shutil.rmtree(Path(oracle._project_dir) / LOGS_NAME / str(trial_id), ignore_errors=True)  # its partial logs


class RandomSearch(_Reporting, kt.RandomSearch):
    """keras-tuner's RandomSearch, reporting each trial."""


class Hyperband(_Reporting, kt.Hyperband):
    """keras-tuner's Hyperband, reporting each trial.

    Under --cv its trials train from scratch: a trial that went on from an earlier trial's weights
    would be scored on held-out digits that those weights were trained on (in the earlier trial's
    other folds).
    """

    def _build_hypermodel(self, hp: Any) -> Any:
        if self.cv_folds:
            return kt.Tuner._build_hypermodel(self, hp)
        return super()._build_hypermodel(hp)

    def _build_and_fit_model(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
        if self.cv_folds:
            kwargs["initial_epoch"] = 0
        return super()._build_and_fit_model(trial, *args, **kwargs)


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
    listener: TrialListener | None = None,
    hyperparameters: kt.HyperParameters | None = None,
) -> Any:
    """A keras-tuner tuner for `project_dir`, reloading the project there if there is one.

    keras-tuner's own limit of consecutive failed trials is lifted: it stops a search from inside
    the oracle, before the failed trial is saved. The caller decides when failures stop a search.
    """
    atomic_state_files()
    quiet_failed_trials()
    common = dict(
        hypermodel=hypermodel,
        objective=parse_objective(options["objective"]),
        executions_per_trial=options["executions_per_trial"],
        seed=options["seed"],
        directory=str(Path(project_dir).parent),
        project_name=Path(project_dir).name,
        hyperparameters=hyperparameters,  # the space to search (with pinned values), else the hypermodel's
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
    try:
        instance = _quietly(TUNER_CLASSES[tuner], **common, **specific)
        if _oracle_not_reloaded(instance):
            instance.oracle.reload()
            restart_interrupted_trials(instance.oracle)
    except (RuntimeError, KeyError, ValueError, TypeError) as error:
        if not (Path(project_dir) / "oracle.json").exists():
            raise
        reason = " ".join(str(error).split())[:200]
        raise ProjectError(
            f"cannot reload the project in {project_dir} ({type(error).__name__}: {reason}); kerastune leaves "
            "it as it is: discard it with --overwrite, or use another --name"
        ) from error
    instance.oracle.max_consecutive_failed_trials = math.inf
    instance.listener = listener
    return instance


def _oracle_not_reloaded(tuner: Any) -> bool:
    """Whether keras-tuner started afresh over an oracle that has state to resume.

    keras-tuner reloads a project only if it finds the tuner's own file (`tuner0.json`), which a
    chief writes only when its search ends: a chief killed before that would have its finished
    trials silently overwritten. kerastune goes by the oracle's file instead.
    """
    oracle_file = Path(tuner.project_dir) / "oracle.json"
    return not tuner._is_worker() and oracle_file.exists() and not Path(tuner._get_tuner_fname()).exists()


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

