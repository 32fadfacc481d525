"""kerastune's keras-tuner tuners for an experiment: random search, Hyperband, Bayesian optimization and grid
search, each on keras-tuner's own oracle, and the arguments their trials train with."""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import keras_tuner as kt

from kerastune.tuners.internals import oracle_base
from kerastune.tuners.options import ConfigError
from kerastune.tuners.records.project import LOGS_NAME, ProjectError
from kerastune.tuners.run.callbacks import ReportEpochs
from kerastune.tuners.run.seeds import derived_seed
from kerastune.tuners.run.trial_runner import HyperbandSearchTuner, SearchTuner, TrialSettings
from kerastune.tuners.strategies import spec
from kerastune.tuners.strategies.policies import Policies


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


def make_oracle(experiment: Any, hyperparameters: kt.HyperParameters | None, policies: Policies | None = None,
                on_trial_end: Callable[[Any, str | None, float], None] | None = None) -> Any:
    """The experiment's oracle, fresh, as its strategy's spec says, enforcing `policies`. keras-tuner's own limit of
    consecutive failed trials is lifted: it stops a search from inside the oracle, before the failed trial is
    saved; kerastune decides when failures stop a search."""
    options = experiment.options
    strategy = spec.named(experiment.tuner)
    return strategy.oracle_class()(
        objective=parse_objective(options["objective"]),
        seed=derived_seed(experiment.seed, "oracle"),
        hyperparameters=hyperparameters,  # the space to search (with pinned values), else the hypermodel's
        max_consecutive_failed_trials=math.inf,
        policies=policies,
        on_trial_end=on_trial_end,
        **strategy.oracle_arguments(dict(options)),
    )


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
    settings: TrialSettings | None = None,
    policies: Policies | None = None,
    on_trial_end: Callable[[Any, str | None, float], None] | None = None,
) -> Any:
    """The experiment's tuner for `project_dir`, reloading the project there if there is one: its oracle enforces
    `policies` and tells `on_trial_end` of each trial that ends; its trials train as `settings` say."""
    continues = spec.named(experiment.tuner).continues_training
    tuner_class = HyperbandSearchTuner if continues else SearchTuner
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # keras-tuner's own prints ("Reloading Tuner from ...")
            tuner = tuner_class(
                make_oracle(experiment, hyperparameters, policies, on_trial_end),
                settings=settings or TrialSettings(seed=experiment.seed, prune=prune_rule(experiment)),
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
    return tuner


def planned_trials(tuner: Any) -> int | None:
    """How many trials this search will run in all, when that is known in advance."""
    if isinstance(tuner.oracle, kt.oracles.HyperbandOracle):
        return oracle_base.hyperband_trials(tuner.oracle)
    return tuner.oracle.max_trials - len(tuner.oracle.imported)  # trials imported with --from are not planned


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
