"""kerastune's keras-tuner tuners for an experiment: random search, Hyperband, Bayesian optimization and grid
search, each on keras-tuner's own oracle, and the arguments their trials train with."""

from __future__ import annotations

import contextlib
import io
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import keras_tuner as kt
import numpy as np

from tuners import internals
from tuners.config import ConfigError
from tuners.project import LOGS_NAME, ProjectError, write_atomically
from tuners.results import BUDGET_FILE, FAILURE_FILE, HISTORY_FILE, MODEL_SIZE_FILE, PRUNED_FILE, UNSTARTED_BY_BUDGET
from tuners.seeds import derived_seed
from tuners.study import make_pruner
from tuners.trials import FOLDS_FILE

# tuner name -> the keras-tuner oracle that chooses its trials
ORACLES: dict[str, type] = {
    "random": internals.RandomSearchOracle,
    "hyperband": internals.HyperbandOracle,
    "bayesian": internals.BayesianOptimizationOracle,
    "tpe": internals.TPEOracle,
    "grid": internals.GridSearchOracle,
}


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


class BudgetReached(Exception):
    """The search's --time-budget ran out while a trial trained. Carries the fit's History (its finished epochs)
    and the epochs it was to train."""

    def __init__(self, history: Any, planned: int | None) -> None:
        super().__init__("stopped by the time budget")
        self.history = history
        self.planned = planned


class StopAtDeadline(keras.callbacks.Callback):
    """Stop training once the search's --time-budget has run out (`deadline`: a `time.time()`), at the next batch:
    the epoch under way is abandoned, the finished ones are kept."""

    def __init__(self, deadline: float) -> None:
        super().__init__()
        self.deadline = deadline

    def __deepcopy__(self, memo: dict) -> StopAtDeadline:
        return StopAtDeadline(self.deadline)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._check()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._check()

    def _check(self) -> None:
        if time.time() >= self.deadline:
            raise BudgetReached(getattr(self.model, "history", None), self.params.get("epochs"))


def finish_logs(callbacks: list[Any]) -> None:
    """End the TensorBoard logs of a fit that the budget stopped, as the end of training would: the epochs written
    are flushed, and the HParams session is closed."""
    for callback in callbacks:
        if isinstance(callback, keras.callbacks.TensorBoard) or type(callback).__name__ == "KerasCallback":
            callback.on_train_end()


PRUNED_TAG = "pruned_after_epoch"  # the scalar that marks a pruned trial in TensorBoard (a column in HParams)


# The scalar of a trial's score in TensorBoard: a column of HParams, shown by default (it shows the first five
# metrics by name, and this one sorts before Keras's epoch_*)
SCORE_TAG = "best_score"


def log_pruned(callbacks: list[Any], epochs: int) -> None:
    """Mark a pruned trial in its TensorBoard logs: a scalar `pruned_after_epoch` in its HParams session, which the
    HParams dashboard shows as a column (empty for the trials that were not pruned)."""
    log_scalar(callbacks, PRUNED_TAG, epochs, step=epochs - 1)


def log_scalar(callbacks: list[Any], tag: str, value: float, step: int = 0) -> None:
    """A scalar in the TensorBoard logs of the fit of these callbacks (its HParams session), if it writes any."""
    import tensorflow as tf

    for callback in callbacks:
        if isinstance(callback, keras.callbacks.TensorBoard):
            with tf.summary.create_file_writer(str(callback.log_dir)).as_default():
                tf.summary.scalar(tag, value, step=step)


def finished_epochs(history: Any) -> int:
    """The epochs a fit finished, counted from the first (a Hyperband fit may start at `initial_epoch`)."""
    epochs = getattr(history, "epoch", None) or []
    return int(epochs[-1]) + 1 if epochs else 0


INFERENCE_EXAMPLES = 256  # the batch a trial's inference time per example is measured on


def model_size(model: Any, x: Any) -> dict[str, Any]:
    """A trained model's parameter count and its inference time per example: the best of 3 calls on a batch of
    INFERENCE_EXAMPLES training examples, after one call that warms it up (eager, on this machine)."""
    batch = x[:INFERENCE_EXAMPLES]
    model(batch, training=False)
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        model(batch, training=False)
        timings.append(time.perf_counter() - started)
    return {"params": int(model.count_params()), "inference_us": round(min(timings) / len(batch) * 1e6, 3)}


class TrialPruned(Exception):
    """The oracle pruned the trial: the fits it had still to run (other folds or executions) are skipped."""


TAKEN_BACK = "the chief gave it to another worker, having had no word from this one in time"


class TrialTakenBack(Exception):
    """The chief gave this worker's trial to another worker (it had not heard from this one in time)."""


class StopWhenTakenBack(keras.callbacks.Callback):
    """On a worker: stop training, at the next batch, a trial the chief has given to another worker."""

    def __init__(self, watchdog: Any) -> None:
        super().__init__()
        self.watchdog = watchdog

    def __deepcopy__(self, memo: dict) -> StopWhenTakenBack:
        return StopWhenTakenBack(self.watchdog)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.watchdog.taken_back:
            raise TrialTakenBack("the chief gave this trial to another worker")


class TrialRunner:
    """How a kerastune trial trains (a mixin before keras-tuner's tuner):

    - seeded from (--seed, trial id), so that it trains the same way whoever runs it, whenever;
    - failed when its loss becomes NaN or infinite;
    - under --cv, once per fold (`folds`), its score the mean over the folds (recorded in `folds.json`);
    - without leaking TensorFlow memory from one trial to the next (internals.forget_custom_gradients);
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

    seed = 0
    prune: str | None = None  # --prune's rule; None when off
    folds: list[tuple[Any, Any]] | None = None  # under --cv: (fit indices, held-out indices) per fold
    watchdog: Any = None  # on a worker: a parallel.Heartbeat
    # on a worker: told of each trial it ran, as the chief recorded it, and how long it took
    on_trial_done: Callable[[Any, float], None] | None = None
    deadline: float | None = None  # when --time-budget runs out, as a time.time()
    read_deadline: Callable[[], float | None] | None = None  # on a worker: the chief's current run's deadline
    _trial_started = 0.0
    _fits: list[Any]  # the fits (History) of the trial under way
    _callbacks: list[Any] = []  # the callbacks of the fit under way
    _budget_stop: dict[str, Any] | None = None  # how the budget stopped the trial under way, if it did
    _pruned: dict[str, Any] | None = None  # how the pruner stopped the trial under way, if it did
    _epochs_per_fit = 1
    _model: Any = None  # the model of the fit under way
    _size: dict[str, Any] | None = None  # the trial's model's parameters and inference time (MODEL_SIZE_FILE)
    _history: list[dict[str, float]] = []  # the metrics of each epoch of the trial under way (HISTORY_FILE)
    tracker: Any = None  # with --mlflow: a mlflow_runs.TrialTracker, which logs each trial as a nested run

    def on_trial_begin(self, trial: Any) -> None:
        self._trial_started = time.monotonic()
        self._fits, self._budget_stop, self._pruned, self._size, self._history = [], None, None, None, []
        if self.read_deadline is not None:
            self.deadline = self.read_deadline()
        if self.watchdog is not None:
            self.watchdog.watch(trial.trial_id)
        if self.tracker is not None:
            values = trial.hyperparameters.values
            self.tracker.trial_started(trial.trial_id, {k: v for k, v in values.items() if not k.startswith("tuner/")})
        super().on_trial_begin(trial)

    def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
        keras.utils.set_random_seed(derived_seed(self.seed, "trial", trial.trial_id))
        callbacks = [*kwargs.get("callbacks", []), FailOnNonFiniteLoss()]
        if self.watchdog is not None:
            callbacks.append(StopWhenTakenBack(self.watchdog))
        if self.deadline is not None:
            callbacks.append(StopAtDeadline(self.deadline))
        kwargs["callbacks"] = callbacks
        try:
            with internals.forget_custom_gradients():  # or memory grows with every trial
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

    def _deepcopy_callbacks(self, callbacks: list[Any]) -> list[Any]:
        self._callbacks = super()._deepcopy_callbacks(callbacks)  # this fit's: keras-tuner adds to the list
        return self._callbacks

    def _build_and_fit_model(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
        if self._pruned is not None:
            raise TrialPruned()
        self._epochs_per_fit = int(kwargs.get("epochs") or 1)
        history = super()._build_and_fit_model(trial, *args, **kwargs)
        self._fits.append(history)
        x = args[0] if args else kwargs.get("x")
        if self._size is None and self._model is not None and hasattr(x, "__getitem__"):
            self._size = model_size(self._model, x)
        self._model = None
        return history

    def _try_build(self, hp: Any) -> Any:
        self._model = super()._try_build(hp)
        return self._model

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
        if self.prune is None or value is None:
            return
        planned = (len(self.folds) if self.folds else 1) * self.executions_per_trial * self._epochs_per_fit
        if step >= planned:
            return  # the trial's last epoch: nothing left to save by pruning it
        told = self.oracle.update_trial(trial.trial_id, {internals.EPOCH_SCORE: float(value)}, step=step)
        if told.status == internals.STOPPED and not internals.pruned_reply(told) and self.watchdog is not None:
            self.watchdog.taken_back = True  # the chief gave the trial to another worker: dropped at the next batch
        taken_back = self.watchdog is not None and self.watchdog.taken_back
        if internals.pruned_reply(told) and not taken_back:
            model.stop_training = True
            self._pruned = {"epochs": step, "of": planned, "rule": self.prune}
            log_pruned(self._callbacks, step)

    def _track_end(self, trial: Any, recorded: Any, taken_back: bool) -> None:
        """The trial's MLflow run ended with kerastune's word for how the trial ended (`recorded`: as the oracle
        recorded it), and its score."""
        if taken_back:
            status, score = "taken back", None
        elif trial.status == internals.STOPPED and self._pruned is None:
            status, score = "interrupted", None  # stopped by the budget before its first epoch ended
        else:
            score = recorded.score
            status = ("pruned" if self._pruned is not None else "failed" if recorded.status != "COMPLETED"
                      else "stopped" if self._budget_stop is not None else "completed")
        self.tracker.trial_ended(status, score)

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
            "scores": [internals.history_score(r, objective) for r in per_fold],
            "best_epochs": [internals.history_best_step(r, objective) + 1 for r in per_fold],
        }
        write_atomically(Path(self.get_trial_dir(trial.trial_id)) / FOLDS_FILE, json.dumps(folds) + "\n")
        return histories

    def on_trial_end(self, trial: Any) -> None:
        taken_back = False
        if self.watchdog is not None:
            self.watchdog.stop()
            taken_back = self.watchdog.taken_back
        stop = self._budget_stop
        if stop is not None and trial.status != "COMPLETED":  # stopped before its first epoch ended
            trial.status, trial.message = internals.STOPPED, UNSTARTED_BY_BUDGET
        elif stop is not None and not taken_back:
            write_atomically(Path(self.get_trial_dir(trial.trial_id)) / BUDGET_FILE, json.dumps(stop) + "\n")
        trial_dir = Path(self.get_trial_dir(trial.trial_id))
        if self._pruned is not None and not taken_back:
            write_atomically(trial_dir / PRUNED_FILE, json.dumps(self._pruned) + "\n")
        if self._size is not None and not taken_back:
            write_atomically(trial_dir / MODEL_SIZE_FILE, json.dumps(self._size) + "\n")
        if self._history and not taken_back:
            write_atomically(trial_dir / HISTORY_FILE, json.dumps({"epochs": self._history}) + "\n")
        if not taken_back:  # else another worker runs it now: nothing of this run is reported
            if trial.message and stop is None:
                write_atomically(Path(self.get_trial_dir(trial.trial_id)) / FAILURE_FILE, trial.message.strip() + "\n")
            super().on_trial_end(trial)  # the oracle scores and records the trial here
        recorded = trial if taken_back else self.oracle.get_trial(trial.trial_id)  # one call (a worker asks the chief)
        if not taken_back and recorded.score is not None and math.isfinite(recorded.score):
            # HParams shows a metric's last epoch; the trial's score is its best epoch's (or the mean of its fits)
            log_scalar(self._callbacks, SCORE_TAG, recorded.score)
        if self.tracker is not None:
            self._track_end(trial, recorded, taken_back)
        if self.on_trial_done is None:
            return
        if stop is not None and trial.status == internals.STOPPED:  # the budget stopped it before an epoch ended
            recorded.status, recorded.message = internals.STOPPED, UNSTARTED_BY_BUDGET
        elif taken_back or (recorded.status == internals.STOPPED and self._pruned is None):  # the chief ignored it
            recorded.status, recorded.message = internals.STOPPED, TAKEN_BACK
        else:
            recorded.message = recorded.message or trial.message
        self.on_trial_done(recorded, time.monotonic() - self._trial_started)


class SearchTuner(TrialRunner, internals.Tuner):
    """A random search, Bayesian optimization or grid search: keras-tuner's Tuner on the matching oracle."""


class HyperbandSearchTuner(TrialRunner, internals.HyperbandTuner):
    """keras-tuner's Hyperband. Under --cv its trials train from scratch: a trial that went on from an earlier
    trial's weights would be scored on held-out digits that those weights were trained on (in the earlier
    trial's other folds)."""


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


def make_oracle(experiment: Any, hyperparameters: kt.HyperParameters | None) -> Any:
    """The experiment's oracle, fresh. keras-tuner's own limit of consecutive failed trials is lifted: it stops
    a search from inside the oracle, before the failed trial is saved; kerastune decides when failures stop a
    search."""
    options = experiment.options
    common = dict(
        objective=parse_objective(options["objective"]),
        seed=derived_seed(experiment.seed, "oracle"),
        hyperparameters=hyperparameters,  # the space to search (with pinned values), else the hypermodel's
        max_consecutive_failed_trials=math.inf,
    )
    if experiment.tuner == "hyperband":
        oracle = ORACLES["hyperband"](max_epochs=options["max_epochs"], factor=options["factor"], **common)
    elif experiment.tuner == "bayesian":
        oracle = ORACLES["bayesian"](max_trials=options["max_trials"], num_initial_points=options["num_initial_points"],
                                     alpha=options["alpha"], beta=options["beta"], **common)
    elif experiment.tuner == "tpe":
        oracle = ORACLES["tpe"](max_trials=options["max_trials"], num_initial_points=options["num_initial_points"],
                                **common)
    else:
        oracle = ORACLES[experiment.tuner](max_trials=options["max_trials"], **common)
    oracle.defaults_first = experiment.tuner != "grid" and not experiment.run.get("no_defaults_first")
    pruner = make_pruner(prune_rule(experiment))
    if experiment.tuner == "tpe":
        oracle.use_study(sampler=lambda finished: tpe_sampler(derived_seed(experiment.seed, "tpe", finished),
                                                              options["num_initial_points"]), pruner=pruner)
    elif pruner is not None:
        oracle.use_study(pruner=pruner)
    return oracle


TPE_INITIAL_POINTS = 10  # Optuna's default n_startup_trials


def tpe_sampler(seed: int, num_initial_points: int | None) -> Any:
    """Optuna's TPE sampler as `kerastune tpe` uses it: multivariate (it models the hyperparameters together, in
    groups where some are conditional), and with the constant liar, so that parallel workers are not all sent to
    the same promising region."""
    import warnings

    import optuna

    with warnings.catch_warnings():  # multivariate, group and constant_liar are marked experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=num_initial_points or TPE_INITIAL_POINTS,
                                          multivariate=True, group=True, constant_liar=True)


def prune_rule(experiment: Any) -> str | None:
    """--prune's rule, None when off."""
    rule = experiment.options.get("prune")
    return None if rule in (None, "off") else str(rule)


def build_tuner(
    experiment: Any,
    hypermodel: Any,
    project_dir: Path,
    *,
    hyperparameters: kt.HyperParameters | None = None,
    folds: list[tuple[Any, Any]] | None = None,
) -> Any:
    """The experiment's tuner for `project_dir`, reloading the project there if there is one."""
    tuner_class = HyperbandSearchTuner if experiment.tuner == "hyperband" else SearchTuner
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # keras-tuner's own prints ("Reloading Tuner from ...")
            tuner = tuner_class(
                make_oracle(experiment, hyperparameters),
                hypermodel=hypermodel,
                executions_per_trial=experiment.options["executions_per_trial"],
                directory=str(Path(project_dir).parent),
                project_name=Path(project_dir).name,
            )
            tuner.reload_missed_state()
    except (RuntimeError, KeyError, ValueError, TypeError) as error:
        if not (Path(project_dir) / "oracle.json").exists():
            raise
        reason = " ".join(str(error).split())[:200]
        raise ProjectError(
            f"cannot reload the project in {project_dir} ({type(error).__name__}: {reason}); kerastune leaves "
            "it as it is: discard it with --overwrite, or use another --name"
        ) from error
    tuner.seed = experiment.seed
    tuner.prune = prune_rule(experiment)
    tuner.folds = folds
    tuner.from_scratch = bool(folds)
    return tuner


def planned_trials(tuner: Any) -> int | None:
    """How many trials this search will run in all, when that is known in advance."""
    if isinstance(tuner.oracle, kt.oracles.HyperbandOracle):
        return internals.hyperband_trials(tuner.oracle)
    return tuner.oracle.max_trials


def search_arguments(
    experiment: Any,
    data: Any,
    split: Any,
    hypermodel: Any,
    project_dir: Path,
    *,
    verbose: bool = False,
    on_epoch: Callable[[int, int], None] | None = None,
) -> tuple[tuple[Any, Any], dict[str, Any]]:
    """What `tuner.search` passes on to `model.fit`: the training data (as the user holds it: the models start
    with the preprocessing) with its targets as the (prepared) hypermodel wants them, and the rest.
    Under --cv all the training examples (each trial splits them into its folds); else the fit part, with the
    validation part as validation data."""
    x, y = data.x_train, hypermodel.labels(data.y_train)
    options = experiment.options
    kwargs: dict[str, Any] = {"batch_size": options["batch_size"], "verbose": 1 if verbose else 0, "callbacks": []}
    if split.folds is None:
        x_val, y_val = x[split.validation], y[split.validation]
        kwargs["validation_data"] = (x_val, y_val)
        x, y = x[split.fit], y[split.fit]
    if options["epochs"] is not None:
        kwargs["epochs"] = options["epochs"]
    if experiment.run.get("tensorboard", True):
        # keras-tuner gives each trial its own folder under it, and adds the HParams plugin's data
        kwargs["callbacks"].append(keras.callbacks.TensorBoard(log_dir=str(Path(project_dir) / LOGS_NAME),
                                                               write_graph=False))
    if options.get("early_stopping"):
        objective = parse_objective(options["objective"])
        kwargs["callbacks"].append(keras.callbacks.EarlyStopping(
            monitor=objective.name, mode=objective.direction, patience=options["early_stopping"],
            restore_best_weights=True,
        ))
    if on_epoch is not None:
        kwargs["callbacks"].append(ReportEpochs(on_epoch))
    return (x, y), kwargs
