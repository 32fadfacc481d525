"""How a kerastune trial trains, in whichever process runs it (`TrialRunner`, a mixin before keras-tuner's
tuner)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from kerastune.data.table import model_input
from kerastune.tuners.integrations.tensorboard import SCORE_TAG, finish_logs, log_pruned, log_scalar
from kerastune.tuners.internals import oracle_base, tensorflow_state, tuner_hooks
from kerastune.tuners.records import trial as trial_record
from kerastune.tuners.run.callbacks import (
    BudgetReached,
    FailOnNonFiniteLoss,
    StopAtDeadline,
    StopWhenTakenBack,
    finished_epochs,
)
from kerastune.tuners.run.seeds import derived_seed
from kerastune.tuners.strategies.policies import Deadline

INFERENCE_EXAMPLES = 256  # the batch a trial's inference time per example is measured on


def model_size(model: Any, x: Any) -> dict[str, Any]:
    """A trained model's parameter count and its inference time per example: the best of 3 calls on a batch of
    INFERENCE_EXAMPLES training examples, after one call that warms it up (eager, on this machine)."""
    batch = model_input(x[:INFERENCE_EXAMPLES])
    model(batch, training=False)
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        model(batch, training=False)
        timings.append(time.perf_counter() - started)
    return {"params": int(model.count_params()), "inference_us": round(min(timings) / len(batch) * 1e6, 3)}


class TrialPruned(Exception):
    """The oracle pruned the trial: the fits it had still to run (other folds or executions) are skipped."""


class TrialRunner:
    """How a kerastune trial trains (a mixin before keras-tuner's tuner):

    - seeded from (--seed, trial id), so that it trains the same way whoever runs it, whenever;
    - failed when its loss becomes NaN or infinite;
    - under --cv, once per fold (`folds`), its score the mean over the folds (recorded in `folds.json`);
    - without leaking TensorFlow memory from one trial to the next (tensorflow_state.forget_custom_gradients);
    - its failure's traceback kept in its folder;
    - on a worker, watched (`watchdog`): a trial the chief took back is dropped, and not reported;
    - stopped at the `deadline` of --time-budget (a `time.time()`), at the next batch: a trial with finished
      epochs is scored at its best finished one and recorded as stopped by the budget (BUDGET_FILE in its
      folder); a trial stopped before its first epoch ended goes back to the oracle (status STOPPED), which
      runs it again on resume;
    - with --prune (`prune`: the rule), its objective reported to the oracle after each epoch: a trial the oracle
      prunes ends after that epoch, is scored at its best epoch so far and recorded as pruned (PRUNED_FILE in its
      folder). Epochs count on across the fits of a trial (folds, executions), so that the pruner compares each
      trial with the others at the same fit and epoch;
    - its model's size measured after its first fit: parameters and inference time (MODEL_SIZE_FILE);
    - every epoch's metrics kept (HISTORY_FILE), and given to `tracker` (e.g. MLflow) as they come.
    """

    _trial_started = 0.0
    _fits: list[Any]  # the fits (History) of the trial under way
    _callbacks: list[Any] = []  # the callbacks of the fit under way
    _budget_stop: dict[str, Any] | None = None  # how the budget stopped the trial under way, if it did
    _pruned: dict[str, Any] | None = None  # how the pruner stopped the trial under way, if it did
    _epochs_per_fit = 1
    _model: Any = None  # the model of the fit under way
    _size: dict[str, Any] | None = None  # the trial's model's parameters and inference time (MODEL_SIZE_FILE)
    _history: list[dict[str, float]] = []  # the metrics of each epoch of the trial under way (HISTORY_FILE)

    def __init__(self, *args: Any, settings: TrialSettings, **kwargs: Any) -> None:
        self.settings = settings
        self.fold: int | None = None  # under --cv: the fold being trained
        super().__init__(*args, **kwargs)

    @property
    def from_scratch(self) -> bool:
        """Under --cv, a Hyperband trial trains from scratch: going on from an earlier trial's weights, it would be
        scored on held-out examples that those weights were trained on (in the earlier trial's other folds)."""
        return bool(self.settings.folds)

    @property
    def folds(self) -> list[tuple[Any, Any]] | None:
        return self.settings.folds

    @property
    def watchdog(self) -> Any:
        return self.settings.watchdog

    @property
    def tracker(self) -> Any:
        return self.settings.tracker

    def on_trial_begin(self, trial: Any) -> None:
        self._trial_started = time.monotonic()
        self._fits, self._budget_stop, self._pruned, self._size, self._history = [], None, None, None, []
        self.settings.deadline.refresh()
        if self.watchdog is not None:
            self.watchdog.watch(trial.trial_id)
        if self.tracker is not None:
            values = trial.hyperparameters.values
            self.tracker.trial_started(trial.trial_id, {k: v for k, v in values.items() if not k.startswith("tuner/")})
        super().on_trial_begin(trial)

    def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
        keras.utils.set_random_seed(derived_seed(self.settings.seed, "trial", trial.trial_id))
        callbacks = [*kwargs.get("callbacks", []), FailOnNonFiniteLoss()]
        if self.watchdog is not None:
            callbacks.append(StopWhenTakenBack(self.watchdog))
        if self.settings.deadline.at is not None:
            callbacks.append(StopAtDeadline(self.settings.deadline))
        kwargs["callbacks"] = callbacks
        try:
            with tensorflow_state.forget_custom_gradients():  # or memory grows with every trial
                if self.folds:
                    return self._cross_validate(trial, *args, **kwargs)
                return super().run_trial(trial, *args, **kwargs)
        except TrialPruned:
            return self._fits
        except BudgetReached as stop:
            finish_logs(self._callbacks)
            fits = [fit for fit in [*self._fits, stop.history]
                    if finished_epochs(fit) or not isinstance(fit, keras.callbacks.History)]
            self._budget_stop = {"epochs": finished_epochs(stop.history), "of": stop.planned}
            if not fits:
                raise  # nothing to score: the trial goes back to the oracle (on_trial_end)
            return fits

    # keras-tuner's hooks into each fit of a trial (internals.tuner_hooks)

    def fit_callbacks(self, callbacks: list[Any]) -> None:
        self._callbacks = callbacks  # this fit's, as keras-tuner copied them and added its own

    def model_built(self, model: Any) -> None:
        self._model = model

    def fit_starts(self, fit_arguments: dict[str, Any]) -> None:
        if self._pruned is not None:
            raise TrialPruned()
        self._epochs_per_fit = int(fit_arguments.get("epochs") or 1)

    def fit_ended(self, history: Any, x: Any) -> None:
        self._fits.append(history)
        if self._size is None and self._model is not None and hasattr(x, "__getitem__"):
            self._size = model_size(self._model, x)
        self._model = None

    def on_epoch_end(self, trial: Any, model: Any, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Keep the epoch's metrics; with --prune, tell the oracle the objective after this epoch, and stop the
        trial if it says so."""
        super().on_epoch_end(trial, model, epoch, logs)
        step = len(self._fits) * self._epochs_per_fit + epoch + 1  # the epochs the trial has trained
        metrics = {name: float(v) for name, v in (logs or {}).items() if isinstance(v, int | float | np.number)}
        self._history.append({"step": step, **metrics})
        if self.tracker is not None:
            self.tracker.epoch_ended(step, metrics)
        value = (logs or {}).get(self.oracle.objective.name)
        if self.settings.prune is None or value is None:
            return
        planned = (len(self.folds) if self.folds else 1) * self.executions_per_trial * self._epochs_per_fit
        if step >= planned:
            return  # the trial's last epoch: nothing left to save by pruning it
        told = self.oracle.update_trial(trial.trial_id, {oracle_base.EPOCH_SCORE: float(value)}, step=step)
        if told.status == oracle_base.STOPPED and not oracle_base.pruned_reply(told) and self.watchdog is not None:
            self.watchdog.taken_back = True  # the chief gave the trial to another worker: dropped at the next batch
        taken_back = self.watchdog is not None and self.watchdog.taken_back
        if oracle_base.pruned_reply(told) and not taken_back:
            model.stop_training = True
            self._pruned = {"epochs": step, "of": planned, "rule": self.settings.prune}
            log_pruned(self._callbacks, step)

    def _track_end(self, trial: Any, recorded: Any, taken_back: bool) -> None:
        """The trial's MLflow run ended with the trial's status (`recorded`: as the oracle recorded it), and its
        score. A run taken back, or stopped by the budget before its first epoch ended, was interrupted."""
        if taken_back or (trial.status == oracle_base.STOPPED and self._pruned is None):
            self.tracker.trial_ended(trial_record.TrialStatus.INTERRUPTED, None)
            return
        status = trial_record.status_of(recorded.status, budget_stop=self._budget_stop is not None,
                                        pruned=self._pruned is not None, search_running=True)
        self.tracker.trial_ended(status, recorded.score)

    def _cross_validate(self, trial: Any, x: Any, y: Any, **kwargs: Any) -> list[Any]:
        """Train on each fold's fit part, score on its held-out part; keras-tuner averages the histories (as
        it does executions), so the trial's score is the mean over the folds."""
        histories: list[Any] = []
        per_fold = []
        try:
            for fold, (fit, held_out) in enumerate(self.folds):
                self.fold = fold
                fold_kwargs = dict(kwargs, validation_data=(x[held_out], y[held_out]))
                results = super().run_trial(trial, x[fit], y[fit], **fold_kwargs)
                histories += results
                per_fold.append(results)
        finally:
            self.fold = None
        objective = self.oracle.objective
        folds = {
            "scores": [tuner_hooks.history_score(r, objective) for r in per_fold],
            "best_epochs": [tuner_hooks.history_best_step(r, objective) + 1 for r in per_fold],
        }
        trial_record.write(trial_record.folder(self.project_dir, trial.trial_id), trial_record.FOLDS_FILE, folds)
        return histories

    def on_trial_end(self, trial: Any) -> None:
        taken_back = False
        if self.watchdog is not None:
            self.watchdog.stop()
            taken_back = self.watchdog.taken_back
        stop = self._budget_stop
        trial_dir = trial_record.folder(self.project_dir, trial.trial_id)
        if stop is not None and trial.status != "COMPLETED":  # stopped before its first epoch ended
            trial.status, trial.message = oracle_base.STOPPED, trial_record.UNSTARTED_BY_BUDGET
        elif stop is not None and not taken_back:
            trial_record.write(trial_dir, trial_record.BUDGET_FILE, stop)
        if not taken_back:  # else another worker runs it now: nothing of this run is recorded
            for name, value in ((trial_record.PRUNED_FILE, self._pruned), (trial_record.MODEL_SIZE_FILE, self._size),
                                (trial_record.HISTORY_FILE, {"epochs": self._history} if self._history else None),
                                (trial_record.FAILURE_FILE, trial.message if stop is None else None)):
                if value:
                    trial_record.write(trial_dir, name, value)
            super().on_trial_end(trial)  # the oracle scores and records the trial here
        recorded = trial if taken_back else self.oracle.get_trial(trial.trial_id)  # one call (a worker asks the chief)
        if not taken_back and recorded.score is not None and math.isfinite(recorded.score):
            # HParams shows a metric's last epoch; the trial's score is its best epoch's (or the mean of its fits)
            log_scalar(self._callbacks, SCORE_TAG, recorded.score)
        if self.tracker is not None:
            self._track_end(trial, recorded, taken_back)
        if self.settings.on_trial_done is None:
            return
        if stop is not None and trial.status == oracle_base.STOPPED:  # the budget stopped it before an epoch ended
            recorded.status, recorded.message = oracle_base.STOPPED, trial_record.UNSTARTED_BY_BUDGET
        elif taken_back or (recorded.status == oracle_base.STOPPED and self._pruned is None):  # the chief ignored it
            recorded.status, recorded.message = oracle_base.STOPPED, trial_record.TAKEN_BACK
        else:
            recorded.message = recorded.message or trial.message
        self.settings.on_trial_done(recorded, time.monotonic() - self._trial_started)


@dataclass
class TrialSettings:
    """How each trial of a search trains, given to its tuner when it is made."""

    seed: int = 0  # --seed: each trial trains from (seed, trial id)
    prune: str | None = None  # --prune's rule; None when off
    folds: list[tuple[Any, Any]] | None = None  # under --cv: (fit indices, held-out indices) per fold
    deadline: Deadline = field(default_factory=Deadline)  # --time-budget's
    watchdog: Any = None  # on a worker: a workers.worker.Heartbeat
    tracker: Any = None  # with --mlflow: a mlflow_runs.TrialTracker, which logs each trial as a nested run
    # on a worker: told of each trial it ran, as the chief recorded it, and how long it took
    on_trial_done: Callable[[Any, float], None] | None = None


class SearchTuner(TrialRunner, tuner_hooks.Tuner):
    """A random search, Bayesian optimization or grid search: keras-tuner's Tuner on the matching oracle."""


class HyperbandSearchTuner(TrialRunner, tuner_hooks.HyperbandTuner):
    """keras-tuner's Hyperband. Under --cv its trials train from scratch: a trial that went on from an earlier
    trial's weights would be scored on held-out digits that those weights were trained on (in the earlier
    trial's other folds)."""


