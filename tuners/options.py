"""The search options, each defined once: flag, type, help, panel, which strategies take it, what a resume does
with it, its default and its checks.

The search commands' signatures (app/cli.py), `SearchConfig` (below), the resume checks (run/experiment.py) and
the manifest derive from `OPTIONS`; which strategies take an option derives from their specs
(strategies/spec.py). Only the standard library is imported here: `kerastune --help` reads this table.
"""

from __future__ import annotations

import copy
import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields, make_dataclass
from pathlib import Path
from typing import Any

from kerastune.tuners.strategies import spec
from kerastune.tuners.strategies.spec import Strategy, listed

# Which strategies take an option (Option.applies), read from their specs
EVERY = "every"
TRIAL_BUDGET = "trial budget"  # those that spend a budget of trials (--max-trials of --epochs)
CHOOSING = "choosing"  # those that choose their trials (not grid)
PRUNING = "pruning"  # those whose trials --prune may stop
ORACLE = "oracle"  # those whose oracle takes it (Strategy.oracle_options)
# The strategies that learn from trials imported with --from (the others keep them)
LEARNERS = listed([strategy.name for strategy in spec.STRATEGIES if strategy.learns_from_imports])
# The largest grid `grid` exhausts when no --max-trials is given.
MAX_IMPLICIT_GRID = 1000

# What a resume does with an option (its scope):
EXPERIMENT = "experiment"  # it defines what is searched: recorded in the manifest, and a resume must keep it
PLAN = "plan"  # how much is searched: recorded, and a resume may change it (raise --max-trials to extend)
RUN = "run"  # this run of the search: recorded for its workers, and each run chooses again
COMMAND = "command"  # how this command runs (data, place, parallelism, output): not recorded

# --help panels, in the order they are shown
DATA, BUDGET, SCORING, STRATEGY, SPEED, PARALLEL, OUTPUT = ("Data", "Budget", "Scoring", "Strategy", "Speed",
                                                            "Parallel", "Output")


class ConfigError(ValueError):
    """An option value that cannot work; the message names the option and the fix."""


class Task(enum.StrEnum):
    classification = "classification"
    regression = "regression"


def parse_split(value: float, flag: str = "--test-split") -> int | float:
    """A split given as a count (a whole number >= 1) or a fraction (between 0 and 1)."""
    if value >= 1:
        if value != int(value):
            raise ConfigError(f"{flag} must be a whole number of examples (e.g. 10000) or a fraction between 0 "
                              f"and 1 (e.g. 0.2), got {value:g}")
        return int(value)
    return value


class Prune(enum.StrEnum):
    median = "median"
    asha = "asha"
    off = "off"


class Role(enum.StrEnum):
    chief = "chief"
    worker = "worker"


def parse_duration(text: str, flag: str = "--time-budget") -> float:
    """Seconds in a duration such as `90s`, `20m`, `1h30m` or `45` (seconds)."""
    match = re.fullmatch(r"\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*", text)
    if not text.strip() or match is None:
        raise ConfigError(f"{flag} {text!r}: write a duration such as 90s, 20m or 1h30m")
    hours, minutes, seconds = (float(group) if group else 0.0 for group in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def parse_fix(texts: list[str]) -> dict[str, str]:
    """`--fix NAME=VALUE` texts as {NAME: VALUE}; the values are checked against the search space later."""
    fixed: dict[str, str] = {}
    for text in texts:
        name, equals, value = text.partition("=")
        name, value = name.strip(), value.strip()
        if not equals or not name or not value:
            raise ConfigError(f"--fix {text!r}: write NAME=VALUE, e.g. --fix batch_size=256")
        if name in fixed and fixed[name] != value:
            raise ConfigError(f"--fix: {name} is fixed twice ({fixed[name]} and {value}): keep one")
        fixed[name] = value
    return fixed


def parse_enqueue(texts: list[Any]) -> list[dict[str, str]]:
    """`--enqueue NAME=VALUE,NAME=VALUE` texts (or, from Python, dicts) as one {NAME: VALUE} per configuration,
    checked against the space later."""
    configurations = []
    for text in texts:
        if isinstance(text, dict):  # from Python: {NAME: VALUE}
            configurations.append({str(name): str(value) for name, value in text.items()})
            continue
        configuration: dict[str, str] = {}
        for part in text.split(","):
            name, equals, value = part.partition("=")
            name, value = name.strip(), value.strip()
            if not equals or not name or not value:
                raise ConfigError(f"--enqueue {text!r}: write NAME=VALUE,NAME=VALUE..., e.g. --enqueue "
                                  "num_layers=3,learning_rate=0.002")
            if name in configuration:
                raise ConfigError(f"--enqueue {text!r}: {name} is given twice")
            configuration[name] = value
        configurations.append(configuration)
    return configurations


@dataclass(frozen=True)
class Option:
    """One option of the search commands."""

    name: str  # the Python name: the command's parameter and SearchConfig's field
    type: Any  # what the command line reads: int, float, str, Path, bool, list[str] or an Enum
    help: str
    panel: str
    scope: str  # EXPERIMENT, PLAN, RUN or COMMAND
    applies: str = EVERY  # which strategies take it: EVERY, TRIAL_BUDGET, CHOOSING, PRUNING, ORACLE
    default: Any = None  # used when neither the command line nor a resumed project gives a value
    default_text: str | None = None  # how --help states the default, where it is not `default` as it is
    minimum: float | None = None  # smaller values are refused
    above: float | None = None  # values not above this are refused
    metavar: str | None = None
    flags: tuple[str, ...] = ()  # the command-line spellings; by default --name-with-dashes
    parse: Callable[[Any], Any] | None = None  # command-line value -> SearchConfig value

    @property
    def flag(self) -> str:
        return self.flags[0].split("/")[0] if self.flags else "--" + self.name.replace("_", "-")

    @property
    def is_flag(self) -> bool:
        return self.type is bool

    def takes(self, strategy: Strategy) -> bool:
        """Whether a search of this strategy takes the option."""
        return {
            EVERY: True,
            TRIAL_BUDGET: strategy.budget == spec.TRIALS,
            CHOOSING: strategy.chooses,
            PRUNING: strategy.prunes,
            ORACLE: self.name in strategy.oracle_options,
        }[self.applies]

    @property
    def tuners(self) -> tuple[str, ...]:
        """The search commands that take it."""
        return tuple(strategy.name for strategy in spec.STRATEGIES if self.takes(strategy))

    def help_text(self) -> str:
        """The help, with the default stated."""
        if self.is_flag:
            return self.help
        default = self.default_text if self.default_text is not None else self.default
        return self.help if default is None else f"{self.help} Default: {default}."

    def check(self, value: Any, tuner: str | None = None) -> None:
        """Refuse a value this option cannot take, or (given the search's tuner) the option on a tuner that has
        no use for it."""
        if value is None or self.is_flag:
            return
        if tuner is not None and tuner not in self.tuners:
            raise ConfigError(f"{self.flag} is for {listed(list(self.tuners))} searches, not {tuner}")
        if self.minimum is not None and value < self.minimum:
            raise ConfigError(f"{self.flag} must be >= {self.minimum:g}, got {value:g}")
        if self.above is not None and value <= self.above:
            raise ConfigError(f"{self.flag} must be > {self.above:g}, got {value:g}")


OPTIONS: tuple[Option, ...] = (
    # Data
    Option("data", str, "The data: a Keras-layout .npz (x_train, y_train, and x_test, y_test if it has a test "
           "set), a table with a header row (CSV, TSV or Parquet), a folder of MNIST-style IDX files, a folder of "
           "images with one subfolder per class, or a dataset name: mnist, fashion-mnist, cifar10 (downloaded by "
           "Keras). A resumed search, and each of its workers, must use the same data.", DATA, COMMAND,
           default_text="the data the project was searched on; for a new project mnist (Keras's copy, or the "
           "bundled 10,000-digit sample when offline)", metavar="PATH|NAME"),
    Option("target", str, "The table column that holds the target (the label, or the value to predict); rows "
           "whose target is empty are left out.", DATA, COMMAND, default_text="the last column", metavar="COLUMN"),
    Option("ignore", list[str], "A table: leave this column out (repeatable), e.g. an identifier kerastune took "
           "for a feature.", DATA, COMMAND, metavar="COLUMN"),
    Option("categorical", list[str], "A table: use this column as categories (repeatable), e.g. codes written as "
           "numbers.", DATA, COMMAND, metavar="COLUMN"),
    Option("numeric", list[str], "A table: use this column as numbers (repeatable); cells that are not numbers "
           "are missing.", DATA, COMMAND, metavar="COLUMN"),
    Option("task", Task, "What to learn: classification (labels: integers or text) or regression (numbers).",
           DATA, COMMAND, default_text="regression for a target of fractional numbers or several columns, else "
           "classification"),
    Option("test_split", float, "Data without a test set: the examples held out as the test set, a count or a "
           "fraction. Stratified for classification and seeded by --seed; no trial sees them, and the project "
           "records which they are for evaluate and export.", DATA, COMMAND, above=0, default_text="0.2",
           metavar="N", parse=parse_split),
    Option("validation_split", float, "Training examples held out to score trials: a count, or a fraction such as "
           "0.2. Stratified for classification and seeded; the test set is never used.", DATA, EXPERIMENT, above=0,
           default_text="10000 of 60,000 or more; one sixth of smaller data", metavar="N"),
    # Budget
    Option("max_trials", int, "Trials to run in all; raise it to extend a finished search.", BUDGET, PLAN,
           applies=TRIAL_BUDGET, default=10, default_text="10; grid: the whole grid", minimum=1),
    Option("epochs", int, "Epochs per trial.", BUDGET, EXPERIMENT, applies=TRIAL_BUDGET, default=10,
           default_text="10, or the hypermodel's own setting", minimum=1),
    Option("max_epochs", int, "Most epochs any model trains.", BUDGET, EXPERIMENT, applies=ORACLE, default=20,
           minimum=1),
    Option("early_stopping", int, "Stop a trial's training once the objective has not improved for PATIENCE "
           "epochs, and score the trial at its best epoch (its best weights are restored).", BUDGET, EXPERIMENT,
           default_text="off", minimum=1, metavar="PATIENCE"),
    Option("time_budget", str, "A deadline this long after the start (e.g. 90s, 20m, 1h30m): no trial starts after "
           "it, and the trials running then stop at their next batch, scored at their best finished epoch (a trial "
           "with no finished epoch runs again on resume); then the search ends with its summary.", BUDGET, RUN,
           default_text="no limit",
           above=0, metavar="DURATION", parse=parse_duration),
    Option("max_consecutive_failures", int, "Stop the search when this many trials in a row have failed (a "
           "failed trial is recorded with its reason and the search goes on; only a search in which every trial "
           "fails ends with an error).", BUDGET, RUN, default_text="no limit", minimum=1),
    # Scoring
    Option("objective", str, "Metric that ranks trials; NAME:max or NAME:min for metrics keras-tuner does not "
           "know.", SCORING, EXPERIMENT, default_text="val_accuracy for classification, val_loss for regression"),
    Option("cv", int, "Score each trial by K-fold cross-validation (stratified for classification) on all the "
           "training examples: train K models, each scored on the fold it did not see; the trial's score is their "
           "mean, and the summary shows the spread. K times slower; leaves out --validation-split.", SCORING,
           EXPERIMENT, default_text="one validation split", minimum=2, metavar="K"),
    Option("executions_per_trial", int, "Train each configuration this many times and average the scores.",
           SCORING, EXPERIMENT, default=1, minimum=1),
    # Strategy
    Option("fix", list[str], "Pin a hyperparameter to a value instead of tuning it (repeatable), e.g. --fix "
           "batch_size=256. See `kerastune space HYPERMODEL` for the names and ranges.", STRATEGY, EXPERIMENT,
           default={}, default_text="tune every one", metavar="NAME=VALUE", parse=parse_fix),
    Option("only", list[str], "Tune only this hyperparameter (repeatable); the others stay at their defaults, or "
           "at their --fix value. For tuning one hyperparameter at a time.", STRATEGY, EXPERIMENT, default=[],
           default_text="tune every one", metavar="NAME"),
    Option("batch_size", int, "Training batch size (for a space that tunes batch_size, such as mlp, pin it with "
           "--fix batch_size=N instead).", STRATEGY, EXPERIMENT, default=128,
           default_text="128, or the hypermodel's own setting", minimum=1),
    Option("seed", int, "Seed of the validation split (or folds), of the tuner's choices, and of each trial's "
           "training, which is seeded from (seed, trial id).", STRATEGY, EXPERIMENT, default=0, minimum=0),
    Option("factor", int, "Hyperband's reduction factor between rounds.", STRATEGY, EXPERIMENT,
           applies=ORACLE, default=3, minimum=2),
    Option("num_initial_points", int, "Random trials before the model of the scores (bayesian: a Gaussian process; "
           "tpe: Optuna's TPE) takes over.", STRATEGY, EXPERIMENT, applies=ORACLE,
           default_text="bayesian: 3 per hyperparameter; tpe: 10", minimum=1),
    Option("alpha", float, "Noise level of the Gaussian process.", STRATEGY, EXPERIMENT, applies=ORACLE,
           default=1e-4, above=0),
    Option("beta", float, "Exploration weight of the upper-confidence-bound acquisition.", STRATEGY, EXPERIMENT,
           applies=ORACLE, default=2.6, minimum=0),
    Option("no_defaults_first", bool, "Draw a new search's first trial as the tuner draws the others. By default it "
           "tries the space's defaults (see `kerastune space HYPERMODEL`), so that even a short search has a sound "
           "baseline.", STRATEGY, RUN, applies=CHOOSING, default=False),
    Option("max_params", int, "Train no model of more than N parameters (weights): a configuration above it is "
           "refused before it trains, and the tuner draws another. Each trial records its model's parameter count, "
           "and `report` shows the best score for each model size (the Pareto front).", STRATEGY, EXPERIMENT,
           applies=CHOOSING, default_text="no limit", minimum=1, metavar="N"),
    Option("from_project", Path, "Seed this new search with the finished trials of an earlier one (a project "
           f"folder): they join this project as they finished, and do not count in the trial budget; {LEARNERS} "
           "learn from them as from their own trials, the other strategies keep them for report, evaluate and export. "
           "That search must have scored its trials the same way (same hypermodel, "
           "data, --seed and validation split, objective and epochs); its trials that do not fit this search space "
           "are listed and skipped.", STRATEGY, COMMAND, applies=CHOOSING, flags=("--from",),
           metavar="PROJECT"),
    Option("enqueue", list[str], "A configuration to try before the tuner chooses (repeatable, tried in order), "
           "e.g. --enqueue num_layers=3,units_3=256. The hyperparameters it does not name take their defaults; one "
           "already tried is skipped. The tuner learns from these trials as from its own.", STRATEGY, RUN,
           applies=CHOOSING, default=[], default_text="none", metavar="NAME=VALUE,...", parse=parse_enqueue),
    Option("prune", Prune, "Stop hopeless trials early, after any epoch (the chief decides, for its workers too). "
           "median: once 5 trials have completed, from epoch 3 on, stop a trial whose best score so far is worse "
           "than the median of the completed trials at the same epoch. asha: successive halving; at epochs 1, 3, 9, "
           "27..., keep only the best third of the trials that reached that epoch. A pruned trial is scored at its "
           "best epoch so far, shown as pruned and never ranked, and not run again on resume. Not for hyperband: it "
           "stops its weaker trials itself, and promotes completed trials only.", STRATEGY,
           EXPERIMENT, applies=PRUNING, default=Prune.off),
    # Speed
    Option("steps_per_execution", int, "Training batches per call from Python into TensorFlow: the same training, "
           "with less Python per batch (the gain is largest for small batches and small models). Keras then calls "
           "batch-level callbacks (on_train_batch_end...) once per call, after N batches; 1 calls them at every "
           "batch.", SPEED, RUN, default=32, minimum=1, metavar="N"),
    # Parallel
    Option("workers", int, "Trials to run side by side, each in its own process with an equal share of the CPU "
           "threads and, where there are GPUs, a GPU of its own (CUDA_VISIBLE_DEVICES, memory taken as needed); 1 "
           "runs the search in this process.", PARALLEL, COMMAND,
           default_text="one per GPU; without GPUs, one per CPU core, at most 4", minimum=1),
    Option("oracle", str, "HOST:PORT of the oracle service of a search shared by several machines (with --role). "
           "The service has no authentication: keep it on a trusted network.", PARALLEL, COMMAND,
           metavar="HOST:PORT"),
    Option("role", Role, "chief: serve the search's oracle at --oracle (add --workers N for local workers); "
           "worker: run trials for the chief at --oracle, in the same project folder.", PARALLEL, COMMAND),
    Option("worker_id", str, "Name of this worker. A worker restarted with the same id picks up its unfinished "
           "trial.", PARALLEL, COMMAND, default_text="host name and process id", metavar="ID"),
    Option("worker_timeout", str, "How long the chief waits for word from a worker that holds a trial (workers "
           "report every few seconds) before it gives the trial to another worker; the silent worker's late "
           "report is then ignored.", PARALLEL, COMMAND, default=120.0, default_text="2m", above=0,
           metavar="DURATION", parse=lambda text: parse_duration(text, "--worker-timeout")),
    # Output
    Option("directory", Path, "Folder that holds the tuning projects.", OUTPUT, COMMAND, default=Path("tuning"),
           flags=("--dir",)),
    Option("project_name", str, "Project folder inside --dir.", OUTPUT, COMMAND, default_text="TUNER-HYPERMODEL",
           flags=("--name",)),
    Option("overwrite", bool, "Discard the existing project of this name and start afresh (by default a search "
           "resumes it).", OUTPUT, COMMAND, default=False),
    Option("tensorboard", bool, "Write TensorBoard logs: each trial's metrics and hyperparameters go to "
           "PROJECT/logs for TensorBoard's HParams dashboard (see `kerastune dashboard`).", OUTPUT, RUN, default=True,
           flags=("--tensorboard/--no-tensorboard",)),
    Option("mlflow", bool, "Log the search to MLflow: a parent run, with one nested run per trial (its "
           "hyperparameters, metrics at every epoch, status, duration); `kerastune export` adds the model and its "
           "test score. A resume continues the same parent run. The store: --mlflow-uri, else "
           "$MLFLOW_TRACKING_URI, else SQLite in the project folder (see it with `mlflow ui --backend-store-uri "
           "sqlite:///PROJECT/mlflow.db`). Needs: pip install 'kerastune[mlflow]'.", OUTPUT, RUN, default=False),
    Option("mlflow_uri", str, "The MLflow tracking URI to log to (e.g. http://127.0.0.1:5000 or "
           "sqlite:///mlflow.db); implies --mlflow.", OUTPUT, RUN, metavar="URI"),
    Option("json_file", Path, "Also write the summary to this JSON file.", OUTPUT, COMMAND, flags=("--json",),
           metavar="FILE"),
    Option("quiet", bool, "Print nothing but the summary at the end (and errors).", OUTPUT, COMMAND, default=False,
           flags=("--quiet", "-q")),
    Option("verbose", bool, "Also show Keras's progress bars while each model trains (instead of the live status "
           "line); with --workers 1, as local workers show none.", OUTPUT, COMMAND, default=False,
           flags=("--verbose", "-v")),
)
OPTION = {option.name: option for option in OPTIONS}
# What only the command line uses: the data to load, how this process runs, and what it prints.
COMMAND_LINE_ONLY = ("data", "target", "ignore", "categorical", "numeric", "task", "test_split", "workers", "oracle",
                     "role", "worker_id", "worker_timeout", "json_file", "quiet")


def options_of(tuner: str) -> list[Option]:
    """The options a search command takes, in the table's order."""
    return [option for option in OPTIONS if tuner in option.tuners]


def recorded(scope: str) -> tuple[str, ...]:
    """The names of the options of one scope (EXPERIMENT, PLAN, RUN)."""
    return tuple(option.name for option in OPTIONS if option.scope == scope)


class _Checked:
    """SearchConfig's checks: each option's own (from the table), then those that join two options."""

    def __post_init__(self) -> None:
        if self.tuner not in spec.STRATEGY:
            raise ConfigError(f"unknown tuner {self.tuner!r}: choose one of {', '.join(spec.NAMES)}")
        self.directory = Path(self.directory)
        for option in OPTIONS:
            if option.name in self.__dataclass_fields__:
                option.check(getattr(self, option.name), self.tuner)
        if not self.project_name:
            self.project_name = default_project_name(self.tuner, self.hypermodel)
        if "/" in self.project_name or self.project_name in (".", ".."):
            raise ConfigError(
                f"--name {self.project_name!r} must be a plain folder name; use --dir for the parent folder"
            )
        if self.cv is not None and self.validation_split is not None:
            raise ConfigError(
                "--cv scores each trial on folds of all the training examples: leave out --validation-split"
            )
        split = self.validation_split
        if split is not None and split >= 1:
            if split != int(split):
                raise ConfigError(
                    f"--validation-split must be a whole number of examples (e.g. 10000) or a fraction "
                    f"between 0 and 1 (e.g. 0.2), got {split:g}"
                )
            self.validation_split = int(split)  # a count, even when the command line parsed a float

    @property
    def project_dir(self) -> Path:
        return self.directory / str(self.project_name)

    def given(self, scope: str) -> dict[str, Any]:
        """The options of one scope as given (None where not given)."""
        return {name: getattr(self, name) for name in recorded(scope)}


def _config_field(option: Option) -> tuple[str, Any, Any]:
    """A flag, or an option that is not recorded, starts at its default; the others at None, "not given"."""
    default = option.default if option.is_flag or option.scope == COMMAND else None
    return option.name, Any, field(default=default)


# Everything a search needs besides its data and how this process runs it. None means "not given": use what a
# resumed project was searched with, or else the option's default. Made from the table, so that an option added
# there is a field here.
SearchConfig = make_dataclass(
    "SearchConfig",
    [("tuner", str), ("hypermodel", str),
     *(_config_field(option) for option in OPTIONS if option.name not in COMMAND_LINE_ONLY)],
    bases=(_Checked,),
)
SearchConfig.__module__ = __name__
SearchConfig.__doc__ = "A search as asked for (from the command line or a notebook), checked on creation."


def config_from_command_line(tuner: str, hypermodel: str, values: dict[str, Any]) -> Any:
    """A SearchConfig from the command's option values (the command-line-only ones left out), parsed."""
    parsed = {}
    for name in (f.name for f in fields(SearchConfig) if f.name not in ("tuner", "hypermodel")):
        value = values.get(name)
        if value is not None:
            parse = OPTION[name].parse
            parsed[name] = parse(value) if parse is not None else value
    return SearchConfig(tuner=tuner, hypermodel=hypermodel, **parsed)


def default_options(tuner: str, fit_defaults: dict[str, int]) -> dict[str, Any]:
    """The experiment's options when neither the command line nor a resumed project sets them: the table's
    defaults, the hypermodel's own fit settings, and nothing for options the tuner does not take."""
    defaults = {}
    for name in recorded(EXPERIMENT):
        option = OPTION[name]
        defaults[name] = copy.deepcopy(fit_defaults.get(name, option.default)) if tuner in option.tuners else None
    return defaults


def default_project_name(tuner: str, hypermodel: str) -> str:
    """TUNER-HYPERMODEL, with a MODULE:ATTRIBUTE reference made folder-safe."""
    return f"{tuner}-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", hypermodel).strip("-")
