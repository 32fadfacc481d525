"""Run one search: check everything first, then the keras-tuner search, then the manifest and summary."""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import hypermodels
from tuners import config as config_module
from tuners.config import ConfigError, SearchConfig
from tuners.data import MnistData, prepare_images, split_validation
from tuners.factory import FAILURE_FILE, ReportEpochs, build_tuner, parse_objective, planned_trials
from tuners.lock import ProjectLock
from tuners.noise import quiet_keras_noise
from tuners.project import (
    LOGS_NAME,
    ProjectError,
    check_project_files,
    check_writable_location,
    discard_project,
    finished_trials,
    now,
    package_versions,
    project_state,
    read_manifest,
    remove_partial_writes,
    write_manifest,
)
from tuners.trials import best_epoch, read_folds, spread

TOP_TRIALS = 5


class TrialsFailedError(RuntimeError):
    """Every trial failed, or as many in a row as the search allows."""


@dataclass
class TrialResult:
    """One trial as the oracle recorded it."""

    trial_id: str
    status: str
    hyperparameters: dict[str, Any]
    score: float | None
    best_step: int | None  # keras-tuner's: 0-based, from the start of the trial's own fit
    message: str = ""
    best_epoch: int | None = None  # epochs a model of this configuration trains to its best score
    fold_scores: list[float] | None = None  # under --cv: the score on each fold (`score` is their mean)
    spread: float | None = None  # under --cv: the standard deviation of the fold scores

    @classmethod
    def from_trial(
        cls, trial: Any, order: list[str] | None = None, project_dir: Path | None = None, cv: int | None = None
    ) -> TrialResult:
        """`order`: hyperparameter names in the order to show them (the search space's);
        `project_dir` and `cv`: where to find the fold scores of a cross-validated trial."""
        # without Hyperband's bookkeeping entries ("tuner/...")
        active = trial.hyperparameters.values
        names = dict.fromkeys(order or [])
        names.update(dict.fromkeys(active))
        values = {n: active[n] for n in names if n in active and not n.startswith("tuner/")}
        score = trial.score if trial.score is not None and math.isfinite(trial.score) else None
        folds = read_folds(Path(project_dir) / f"trial_{trial.trial_id}") if cv and project_dir else None
        completed = str(trial.status) == "COMPLETED"
        fold_scores = folds["scores"] if folds and completed else None
        return cls(
            trial_id=str(trial.trial_id),
            status=str(trial.status),
            hyperparameters=values,
            score=score,
            best_step=trial.best_step,
            message=last_line(trial.message),
            best_epoch=best_epoch(trial.best_step, active, bool(cv)) if completed else None,
            fold_scores=fold_scores,
            spread=spread(fold_scores),
        )


@dataclass
class TrialEvent:
    """What the progress display needs when a trial ends."""

    number: int  # finished trials in the project, this one included
    planned: int | None
    trial: TrialResult
    best: TrialResult | None
    duration_s: float
    elapsed_s: float
    worker: str | None = None  # the worker process that ran it, in a parallel search


@dataclass
class SearchSummary:
    """The outcome of a search, as printed, written with --json and kept in the manifest."""

    project_dir: str
    tuner: str
    hypermodel: str
    objective: str
    direction: str
    options: dict[str, Any]
    data: dict[str, Any]
    resumed: bool
    trials_before: int
    trials_finished: int
    completed: int
    failed: int
    planned: int | None
    wall_time_s: float
    best_trials: list[TrialResult] = field(default_factory=list)
    time_budget_spent: bool = False  # --time-budget ran out before the planned trials did

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Search:
    """A search checked and ready to run: construction validates everything and touches no file."""

    def __init__(self, config: SearchConfig, data: MnistData) -> None:
        self.config = config
        self.data = data
        self.hypermodel = hypermodels.get(config.hypermodel)
        space = hypermodel_space(self.hypermodel, config.hypermodel)
        self.space = hypermodels.describe_space(space)  # the whole space: a resume checks it is unchanged
        self.space_order = [row["name"] for row in self.space]
        check_fit_options(config, self.space_order)
        self.config = config = dataclasses.replace(
            config,
            fix=hypermodels.parse_fixed(space, config.fix) if config.fix else None,
            only=sorted(set(config.only)) if config.only else None,
        )
        check_writable_location(config.project_dir)
        self.discarding = _discarding(config)
        self.previous = _previous_manifest(config)
        self.resumed = self.previous is not None
        if self.previous is not None:
            check_project_files(config.project_dir)
            check_space_unchanged(self.previous, self.space, config.project_dir)

        previous_options = self.previous["options"] if self.previous else None
        options = resolve_options(config, hypermodels.fit_defaults(self.hypermodel), previous_options)
        parse_objective(options["objective"])
        options["fix"], options["only"] = options["fix"] or {}, options["only"] or []
        # what is searched: the space with --fix and --only applied
        self.searched_space = hypermodels.pinned_space(space, options["fix"], options["only"])
        self.grid_size = hypermodels.grid_size(self.searched_space)
        self._split, (fit_count, validation_count) = self._scoring_split(options, previous_options)
        self.options = options
        self.max_trials = _max_trials(config, self.previous, self.grid_size)
        self.data_info = {
            **data.describe(),
            "summary": data.summary(),
            "fit": fit_count,
            "validation": validation_count,
        }
        if self.previous and self.previous.get("data", {}).get("train") != self.data_info["train"]:
            raise ProjectError(
                f"{config.project_dir} was searched on other data "
                f"({self.previous['data'].get('summary', self.previous['data'])}); "
                "use the same --data, or --overwrite / --name to start another search"
            )
        self.trials_before = len(finished_trials(config.project_dir)) if self.resumed else 0
        self.summary: SearchSummary | None = None  # set when the search ends, however it ends
        self.budget_spent = False  # set when --time-budget stopped new trials from starting
        self._lock = ProjectLock(config.project_dir)

    def _scoring_split(
        self, options: dict[str, Any], previous_options: dict[str, Any] | None
    ) -> tuple[tuple[Any, ...], tuple[int, int]]:
        """How trials are scored: (x_fit, y_fit, x_val, y_val) and the digits each model fits on and is
        scored on. Under --cv the folds (`self.folds`) split x_fit inside each trial, and x_val is None."""
        x, y = self.data.x_train, self.data.y_train
        if options["cv"]:
            self.folds = cross_validation_folds(y, options["cv"], options["seed"])
            options["validation_split"] = None
            return (x, y, None, None), (len(self.folds[0][0]), len(self.folds[0][1]))
        self.folds = None
        x_fit, y_fit, x_val, y_val = split_validation(x, y, options["validation_split"], seed=options["seed"])
        options["validation_split"] = len(y_val)
        if previous_options and previous_options["validation_split"] != len(y_val):
            raise ProjectError(_changed_message(self.config, "validation_split", previous_options, len(y_val)))
        return (x_fit, y_fit, x_val, y_val), (len(y_fit), len(y_val))

    @functools.cached_property
    def fit_args(self) -> tuple[np.ndarray, np.ndarray]:
        """The training part as the hypermodel wants it; prepared once, on first use (a chief
        serving workers never needs it)."""
        x_fit, y_fit, _, _ = self._split
        spec = hypermodels.data_spec(self.hypermodel)
        return prepare_images(x_fit, spec.input_shape), encode_labels(y_fit, spec)

    @functools.cached_property
    def validation_data(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The held-out split that scores trials; None under --cv, where each fold holds out its own."""
        _, _, x_val, y_val = self._split
        if y_val is None:
            return None
        spec = hypermodels.data_spec(self.hypermodel)
        return prepare_images(x_val, spec.input_shape), encode_labels(y_val, spec)

    def build_tuner(self) -> Any:
        """Seed Keras and build the keras-tuner tuner for the project (new, or reloaded to resume)."""
        import keras

        self.started = time.monotonic()
        keras.utils.set_random_seed(self.options["seed"])
        tuner = build_tuner(
            self.config.tuner,
            self.hypermodel,
            self.options,
            self.config.project_dir,
            max_trials=self.max_trials,
            hyperparameters=self.searched_space,
        )
        tuner.cv_folds = self.folds
        return tuner

    def start(self) -> Any:
        """What a chief or an in-process search does first: take the project's lock (one writer per
        project), discard the old project if --overwrite, write the manifest, build the tuner.

        The manifest is written before keras-tuner writes anything, so that a search killed at any
        moment leaves a project that the same command resumes.
        """
        self._lock.acquire()
        try:
            if self.config.overwrite and self.config.project_dir.is_dir():
                discard_project(self.config.project_dir)
            remove_partial_writes(self.config.project_dir)
            self.planned = None
            self.manifest = self._manifest()
            write_manifest(self.config.project_dir, self.manifest)
            tuner = self.build_tuner()
            self.planned = planned_trials(tuner)
            self.manifest = self._manifest()
            write_manifest(self.config.project_dir, self.manifest)
        except BaseException:
            self._lock.release()
            raise
        return tuner

    def fit_kwargs(self, on_epoch: Callable[[int, int], None] | None = None) -> dict[str, Any]:
        """What `tuner.search` passes on to `model.fit`, besides the data."""
        kwargs: dict[str, Any] = {
            "batch_size": self.options["batch_size"],
            "verbose": 1 if self.config.verbose else 0,
            "callbacks": [],
        }
        if self.validation_data is not None:
            kwargs["validation_data"] = self.validation_data
        if self.options["epochs"] is not None:
            kwargs["epochs"] = self.options["epochs"]
        if self.config.tensorboard:
            kwargs["callbacks"].append(tensorboard_callback(self.config.project_dir / LOGS_NAME))
        if self.options.get("early_stopping"):
            import keras

            objective = parse_objective(self.options["objective"])
            kwargs["callbacks"].append(keras.callbacks.EarlyStopping(
                monitor=objective.name, mode=objective.direction, patience=self.options["early_stopping"],
                restore_best_weights=True,
            ))
        if on_epoch is not None:
            kwargs["callbacks"].append(ReportEpochs(on_epoch))
        return kwargs

    def check_time_budget(self, oracle: Any) -> None:
        """Once --time-budget is spent, let no new trial start: the running ones finish, then the search
        ends with its summary. (The oracle hands out no trial once it has `max_trials` of them.)"""
        budget = self.config.time_budget
        if budget is not None and time.monotonic() - self.started >= budget and not self.budget_spent:
            self.budget_spent = True
            oracle.max_trials = len(oracle.trials)

    def event(self, oracle: Any, trial: Any, number: int, duration: float, worker: str | None = None) -> TrialEvent:
        """The progress event for a trial the oracle has just ended."""
        best = [t for t in oracle.get_best_trials(1) if str(t.status) == "COMPLETED"]
        return TrialEvent(
            number=number,
            planned=self.planned,
            trial=self.result(trial),
            best=self.result(best[0]) if best else None,
            duration_s=duration,
            elapsed_s=time.monotonic() - self.started,
            worker=worker,
        )

    def result(self, trial: Any) -> TrialResult:
        return TrialResult.from_trial(trial, self.space_order, self.config.project_dir, self.options["cv"])

    def record(self, event: TrialEvent) -> None:
        """Keep a finished trial's duration and worker in the manifest (keras-tuner does not record them)."""
        self.manifest.setdefault("trials", {})[event.trial.trial_id] = {
            "duration_s": round(event.duration_s, 2),
            "worker": event.worker,
        }
        write_manifest(self.config.project_dir, self.manifest)

    def finish(self, oracle: Any) -> SearchSummary:
        """Summarize the project's trials, record the summary in the manifest, release the project."""
        try:
            summary = self._summary(oracle, time.monotonic() - self.started)
            self.manifest["summary"] = summary.to_dict()
            self.manifest.setdefault("runs", []).append(
                {"finished": now(), "wall_time_s": round(summary.wall_time_s, 1),
                 "trials_finished": summary.trials_finished - summary.trials_before}
            )
            write_manifest(self.config.project_dir, self.manifest)
            self.summary = summary
        finally:
            self._lock.release()
        return summary

    def check_failures(self, oracle: Any) -> None:
        """Stop the search when the last --max-consecutive-failures trials all failed."""
        limit = self.config.max_consecutive_failures
        if limit is not None:
            error = consecutive_failures(oracle, limit, self.config.project_dir)
            if error is not None:
                raise error

    def check_outcome(self, oracle: Any, summary: SearchSummary) -> None:
        """A search in which every trial failed ends with an error that says why the last one did."""
        if summary.completed == 0 and summary.failed > 0:
            last = oracle.trials[oracle.end_order[-1]]
            raise TrialsFailedError(
                f"all {plural_trials(summary.failed)} failed; the last one said: "
                f"{failure_reason(self.config.project_dir, last) or 'nothing (see the workers logs)'}"
            )

    def run(
        self,
        on_trial: Callable[[TrialEvent], None] | None = None,
        on_epoch: Callable[[int, int], None] | None = None,
    ) -> SearchSummary:
        """Search in this process, writing the manifest before the first trial and after the last.

        `on_trial(event)` is called as each trial ends, `on_epoch(epoch, epochs)` as each epoch does.
        """
        tuner = self.start()

        def listener(trial: Any, duration: float) -> None:
            event = self.event(tuner.oracle, trial, len(tuner.oracle.end_order), duration)
            self.record(event)
            if on_trial is not None:
                on_trial(event)
            self.check_failures(tuner.oracle)
            self.check_time_budget(tuner.oracle)

        tuner.listener = listener
        try:
            with quiet_keras_noise():
                tuner.search(*self.fit_args, **self.fit_kwargs(on_epoch))
        finally:
            summary = self.finish(tuner.oracle)
        self.check_outcome(tuner.oracle, summary)
        return summary

    def _manifest(self) -> dict[str, Any]:
        manifest = dict(self.previous or {"created": now()})
        manifest.update(
            hypermodel=self.config.hypermodel,
            tuner=self.config.tuner,
            options={**self.options, "max_trials": self.max_trials},
            space=self.space,
            data=self.data_info,
            versions=package_versions(),
        )
        return manifest

    def _summary(self, oracle: Any, wall_time: float) -> SearchSummary:
        trials = [oracle.trials[i] for i in oracle.end_order if i in oracle.trials]
        completed = [t for t in trials if str(t.status) == "COMPLETED"]
        best = [t for t in oracle.get_best_trials(TOP_TRIALS) if str(t.status) == "COMPLETED"]
        return SearchSummary(
            project_dir=str(self.config.project_dir),
            tuner=self.config.tuner,
            hypermodel=self.config.hypermodel,
            objective=oracle.objective.name,
            direction=oracle.objective.direction,
            options={**self.options, "max_trials": self.max_trials},
            data=self.data_info,
            resumed=self.resumed,
            trials_before=self.trials_before,
            trials_finished=len(trials),
            completed=len(completed),
            failed=len(trials) - len(completed),
            planned=self.planned,
            wall_time_s=wall_time,
            time_budget_spent=self.budget_spent,
            best_trials=[self.result(t) for t in best],
        )


def tensorboard_callback(log_dir: Path) -> Any:
    """Keras's TensorBoard callback; keras-tuner gives each trial its own folder under `log_dir` and
    adds the HParams plugin's data (the trial's hyperparameters) to it."""
    import keras

    return keras.callbacks.TensorBoard(log_dir=str(log_dir), write_graph=False)


def plural_trials(count: int) -> str:
    return "1 trial" if count == 1 else f"{count} trials"


def consecutive_failures(oracle: Any, limit: int, project_dir: Path) -> TrialsFailedError | None:
    """The error to stop with when the last `limit` trials all failed."""
    last = [oracle.trials[i] for i in list(oracle.end_order)[-limit:]]
    if len(last) < limit or any(str(t.status) != "FAILED" for t in last):
        return None
    return TrialsFailedError(
        f"the search stopped after {plural_trials(limit)} failed in a row (--max-consecutive-failures "
        f"{limit}); the last one said: "
        f"{failure_reason(project_dir, last[-1]) or 'nothing (see the workers logs)'}"
    )


def failure_reason(project_dir: Path, trial: Any) -> str:
    """Why a trial failed, in one line: its message, or what the worker that ran it wrote into its folder."""
    if trial.message:
        return last_line(trial.message)
    path = Path(project_dir) / f"trial_{trial.trial_id}" / FAILURE_FILE
    try:
        return last_line(path.read_text())
    except OSError:
        return ""


def check_fit_options(config: SearchConfig, space_names: list[str]) -> None:
    """Refuse --batch-size or --epochs for a space that tunes that fit argument itself."""
    for option in ("batch_size", "epochs"):
        value = getattr(config, option)
        if value is not None and option in space_names:
            flag = "--" + option.replace("_", "-")
            raise ConfigError(
                f"{config.hypermodel!r} tunes {option} itself: pin it with --fix {option}={value} "
                f"instead of {flag}"
            )


def cross_validation_folds(y: np.ndarray, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """K stratified, disjoint folds of the training digits as (fit indices, held-out indices), seeded."""
    from sklearn.model_selection import StratifiedKFold

    counts = np.bincount(np.asarray(y))
    smallest = int(counts[counts > 0].min())
    if smallest < k:
        raise ConfigError(
            f"--cv {k} needs at least {k} digits of each class, but one class has only {smallest}: "
            "use fewer folds or more data"
        )
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y))


def hypermodel_space(hypermodel: Any, name: str) -> Any:
    """The hypermodel's whole search space, turning a failure of the user's build code into a clear error."""
    try:
        return hypermodels.search_space(hypermodel)
    except Exception as error:  # user code: any failure is a bad hypermodel, not a crash of ours
        raise hypermodels.HypermodelError(
            f"hypermodel {name!r} failed to build with its default hyperparameters: "
            f"{type(error).__name__}: {last_line(str(error))}"
        ) from error


def resolve_options(
    config: SearchConfig, fit_defaults: dict[str, int], previous: dict[str, Any] | None
) -> dict[str, Any]:
    """Options as given, else as the resumed project had them, else the defaults.

    A resumed project refuses an option given with another value than it was searched with.
    """
    given = config.experiment_options()
    if previous is None:
        defaults = config_module.default_options(config.tuner, fit_defaults)
        return {k: v if v is not None else defaults[k] for k, v in given.items()}
    resolved = {}
    for name, value in given.items():
        old = previous.get(name)
        if value is not None and name != "validation_split" and value != old:
            raise ProjectError(_changed_message(config, name, previous, value))
        resolved[name] = old if value is None or name == "validation_split" else value
    if given["validation_split"] is not None:
        resolved["validation_split"] = given["validation_split"]
    return resolved


def _changed_message(config: SearchConfig, name: str, previous: dict[str, Any], value: Any) -> str:
    flag = "--" + name.replace("_", "-")
    old = previous.get(name)
    was = f"without {flag}" if old in (None, {}, []) else f"with {flag} {_option_text(old)}"
    return (
        f"{config.project_dir} was searched {was}, not {flag} {_option_text(value)}: "
        f"resume with the same value, or use --overwrite / --name to start another search"
    )


def _option_text(value: Any) -> str:
    """An option's value as the command line writes it (`batch_size=64 units_1=512` for --fix)."""
    if isinstance(value, dict):
        return " ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)


def _discarding(config: SearchConfig) -> str | None:
    """What --overwrite is about to discard, in words; None when there is nothing to discard."""
    if not config.overwrite or project_state(config.project_dir) in ("new", "other"):
        return None
    try:
        manifest = read_manifest(config.project_dir)
    except ProjectError:
        manifest = None
    finished = plural_trials(len(finished_trials(config.project_dir)))
    if manifest is None:
        return f"the keras-tuner project in {config.project_dir} ({finished} finished)"
    return (
        f"the {manifest.get('tuner')} search of {manifest.get('hypermodel')!r} in {config.project_dir} "
        f"({finished} finished)"
    )


def _previous_manifest(config: SearchConfig) -> dict[str, Any] | None:
    """The manifest of the project to resume, None for a new one; refuses what cannot be resumed."""
    state = project_state(config.project_dir)
    if state == "other":
        raise ProjectError(
            f"{config.project_dir} exists and is not a tuning project; "
            "choose another --name or --dir (kerastune will not delete it)"
        )
    if config.overwrite or state == "new":
        return None
    if state == "keras-tuner":
        raise ProjectError(
            f"{config.project_dir} holds keras-tuner files but no kerastune manifest (a keras-tuner project, "
            "or an --overwrite that was cut short); use --overwrite to replace it, or another --name"
        )
    manifest = read_manifest(config.project_dir) or {}
    for key, value in (("tuner", config.tuner), ("hypermodel", config.hypermodel)):
        if manifest.get(key) != value:
            raise ProjectError(
                f"{config.project_dir} is a {manifest.get('tuner')} search of "
                f"{manifest.get('hypermodel')!r}, not a {config.tuner} search of {config.hypermodel!r}: "
                "use another --name, or --overwrite to discard it"
            )
    return manifest


def check_space_unchanged(previous: dict[str, Any], space: list[dict[str, Any]], project_dir: Path) -> None:
    if previous.get("space") != space:
        raise ProjectError(
            f"the search space of {previous.get('hypermodel')!r} has changed since {project_dir} was "
            "searched: use --overwrite to start afresh, or another --name"
        )


def _max_trials(config: SearchConfig, previous: dict[str, Any] | None, grid_size: int | None) -> int | None:
    """The trial budget: as given, else as the resumed project had it, else the default.

    GridSearch's default is the whole grid, when that grid is regular and not too large.
    """
    if config.tuner == "hyperband":
        return None
    if config.max_trials is not None:
        return config.max_trials
    if previous is not None:
        return previous["options"]["max_trials"]
    if config.tuner != "grid":
        return config_module.DEFAULT_MAX_TRIALS
    if grid_size is None or grid_size > config_module.MAX_IMPLICIT_GRID:
        size = "irregular (it has conditional hyperparameters)" if grid_size is None else f"{grid_size:,} combinations"
        raise ConfigError(
            f"the grid of {config.hypermodel!r} is {size}, too large to try in full: "
            "give --max-trials N to try its first N combinations"
        )
    return grid_size


def encode_labels(y: np.ndarray, spec: Any) -> np.ndarray:
    """Integer labels as the hypermodel wants them: unchanged, or one-hot when it asks for that."""
    if spec.one_hot_labels:
        return np.eye(hypermodels.base.NUM_CLASSES, dtype="float32")[y]
    return y


def last_line(text: str | None) -> str:
    """The last non-empty line of a message or traceback, naming an exception by its class alone
    ("FailedTrialError: ..." rather than "keras_tuner.src.errors.FailedTrialError: ...")."""
    lines = [line.strip() for line in (text or "").strip().splitlines() if line.strip()]
    if not lines:
        return ""
    name, colon, rest = lines[-1].partition(": ")
    if colon and "." in name and all(part.isidentifier() for part in name.split(".")):
        return f"{name.rsplit('.', 1)[1]}: {rest}"
    return lines[-1]
