"""One configuration shared by every search strategy, checked before anything runs."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

TUNER_NAMES = ("random", "hyperband", "bayesian", "grid")
DEFAULT_MAX_TRIALS = 10
DEFAULT_EPOCHS = 10
DEFAULT_BATCH_SIZE = 128
DEFAULT_OBJECTIVE = "val_accuracy"
# The largest grid `grid` exhausts when no --max-trials is given.
MAX_IMPLICIT_GRID = 1000

# Options that define the experiment: a resumed project keeps them. Only the trial budget may grow.
EXPERIMENT_OPTIONS = (
    "objective",
    "epochs",
    "batch_size",
    "executions_per_trial",
    "validation_split",
    "seed",
    "max_epochs",
    "factor",
    "num_initial_points",
    "alpha",
    "beta",
    "early_stopping",
    "cv",
    "fix",
    "only",
)


class ConfigError(ValueError):
    """An option value that cannot work; the message names the option and the fix."""


@dataclass
class SearchConfig:
    """Everything a search needs besides the data. `None` means "not given": use the default,
    or on resume what the project was searched with."""

    tuner: str
    hypermodel: str
    directory: Path = Path("tuning")
    project_name: str | None = None
    objective: str | None = None
    max_trials: int | None = None
    epochs: int | None = None
    batch_size: int | None = None
    executions_per_trial: int | None = None
    validation_split: float | None = None  # a count (>= 1) or a fraction (< 1) of the training digits
    seed: int | None = None
    overwrite: bool = False
    max_consecutive_failures: int | None = None  # None: only a search where every trial fails is an error
    tensorboard: bool = True  # write TensorBoard logs (with HParams data) under PROJECT/logs
    verbose: bool = False  # Keras's own progress bars during training
    early_stopping: int | None = None  # patience in epochs, on the objective; None: off
    time_budget: float | None = None  # seconds after which no new trial starts; None: no limit
    cv: int | None = None  # score each trial by stratified K-fold cross-validation; None: one validation split
    fix: dict[str, Any] | None = None  # --fix NAME=VALUE: hyperparameters pinned to a value
    only: list[str] | None = None  # --only NAME: the hyperparameters tuned; the others stay at their defaults
    # Hyperband
    max_epochs: int | None = None
    factor: int | None = None
    # BayesianOptimization
    num_initial_points: int | None = None
    alpha: float | None = None
    beta: float | None = None

    def __post_init__(self) -> None:
        self.directory = Path(self.directory)
        if self.tuner not in TUNER_NAMES:
            raise ConfigError(f"unknown tuner {self.tuner!r}: choose one of {', '.join(TUNER_NAMES)}")
        if not self.project_name:
            self.project_name = default_project_name(self.tuner, self.hypermodel)
        if "/" in self.project_name or self.project_name in (".", ".."):
            raise ConfigError(
                f"--name {self.project_name!r} must be a plain folder name; use --dir for the parent folder"
            )
        for option in ("max_trials", "epochs", "batch_size", "executions_per_trial", "max_epochs",
                       "max_consecutive_failures", "early_stopping"):
            _check_at_least(option, getattr(self, option), 1)
        _check_at_least("factor", self.factor, 2)
        _check_at_least("cv", self.cv, 2)
        if self.cv is not None and self.validation_split is not None:
            raise ConfigError(
                "--cv scores each trial on folds of all the training digits: leave out --validation-split"
            )
        _check_at_least("num_initial_points", self.num_initial_points, 1)
        _check_at_least("seed", self.seed, 0)
        split = self.validation_split
        if split is not None and (split <= 0 or (split >= 1 and split != int(split))):
            raise ConfigError(
                f"--validation-split must be a whole number of digits (e.g. 10000) or a fraction "
                f"between 0 and 1 (e.g. 0.2), got {split:g}"
            )
        if split is not None and split >= 1:
            self.validation_split = int(split)  # a count, even when the command line parsed a float
        if self.time_budget is not None and self.time_budget <= 0:
            raise ConfigError(f"--time-budget must be more than 0 seconds, got {self.time_budget:g}")
        if self.alpha is not None and self.alpha <= 0:
            raise ConfigError(f"--alpha must be > 0, got {self.alpha:g}")
        if self.beta is not None and self.beta < 0:
            raise ConfigError(f"--beta must be >= 0, got {self.beta:g}")
        if self.tuner == "hyperband" and self.max_trials is not None:
            raise ConfigError(
                "hyperband sets its own number of trials: use --max-epochs and --factor, not --max-trials"
            )
        if self.tuner == "hyperband" and self.epochs is not None:
            raise ConfigError("hyperband decides the epochs per trial: use --max-epochs instead of --epochs")
        if self.tuner != "hyperband" and (self.max_epochs is not None or self.factor is not None):
            raise ConfigError("--max-epochs and --factor are for hyperband only")
        bayesian_only = (self.num_initial_points, self.alpha, self.beta)
        if self.tuner != "bayesian" and any(v is not None for v in bayesian_only):
            raise ConfigError("--num-initial-points, --alpha and --beta are for bayesian only")

    @property
    def project_dir(self) -> Path:
        return self.directory / str(self.project_name)

    def experiment_options(self) -> dict[str, Any]:
        """The options that define the experiment, as given (None where not given)."""
        values = asdict(self)
        return {name: values[name] for name in EXPERIMENT_OPTIONS}


def default_options(tuner: str, fit_defaults: dict[str, int]) -> dict[str, Any]:
    """The experiment options used when neither the user nor a resumed project sets them."""
    return {
        "objective": DEFAULT_OBJECTIVE,
        "epochs": None if tuner == "hyperband" else fit_defaults.get("epochs", DEFAULT_EPOCHS),
        "batch_size": fit_defaults.get("batch_size", DEFAULT_BATCH_SIZE),
        "executions_per_trial": 1,
        "validation_split": None,  # the data layer's default: 10,000 of 60,000 digits
        "seed": 0,
        "max_epochs": 20 if tuner == "hyperband" else None,
        "factor": 3 if tuner == "hyperband" else None,
        "num_initial_points": None,  # keras-tuner's default: 3 per hyperparameter
        "alpha": 1e-4 if tuner == "bayesian" else None,
        "beta": 2.6 if tuner == "bayesian" else None,
        "early_stopping": None,  # train every trial for all its epochs
        "cv": None,  # score on one held-out validation split
        "fix": {},
        "only": [],
    }


def parse_duration(text: str) -> float:
    """Seconds in a duration such as `90s`, `20m`, `1h30m` or `45` (seconds)."""
    match = re.fullmatch(r"\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*", text)
    if not text.strip() or match is None:
        raise ConfigError(f"--time-budget {text!r}: write a duration such as 90s, 20m or 1h30m")
    hours, minutes, seconds = (float(group) if group else 0.0 for group in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def default_project_name(tuner: str, hypermodel: str) -> str:
    """TUNER-HYPERMODEL, with a MODULE:ATTRIBUTE reference made folder-safe."""
    return f"{tuner}-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", hypermodel).strip("-")


def _check_at_least(option: str, value: int | None, minimum: int) -> None:
    if value is not None and value < minimum:
        flag = "--" + option.replace("_", "-")
        raise ConfigError(f"{flag} must be >= {minimum}, got {value}")
