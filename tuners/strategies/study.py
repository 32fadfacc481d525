"""An Optuna study that mirrors a keras-tuner search, trial by trial.

keras-tuner's oracle stays the search's record (its trial files, `oracle.json`, resume, the chief/worker
service); the study, held by the oracle (oracle_base.ControlledOracle.study), is what Optuna needs to decide:
its pruners stop hopeless trials (--prune), and its TPE sampler chooses the trials of `kerastune tpe`.
Each keras-tuner trial run is one Optuna trial: a run handed back to the queue is failed in the study, and its
rerun is a new Optuna trial with the same values. The study lives in memory; what it cannot rebuild from the
keras-tuner trials (each trial's score at every epoch, and the pruner's notes) is kept in the oracle's state.
"""

from __future__ import annotations

import math
from typing import Any

import keras_tuner as kt
import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, IntDistribution
from optuna.trial import TrialState

from hypermodels.space import active_values, admitted_value, nearest_value, values_text
from kerastune.tuners.internals import optuna_state
from kerastune.tuners.strategies.distributions import distribution as optuna_distribution

optuna.logging.set_verbosity(optuna.logging.WARNING)  # Optuna logs every trial; kerastune's output is in app/

PRUNE_RULES = ("median", "asha", "off")
# A trial reports its objective at step N, N the epochs it has trained (counted on across its folds and executions).
# The median rule's warm-up: no trial is pruned before this many trials have completed, nor before the end of its
# epoch MEDIAN_FIRST_EPOCH (Optuna's MedianPruner: n_startup_trials, n_warmup_steps).
MEDIAN_STARTUP_TRIALS = 5
MEDIAN_FIRST_EPOCH = 3
# ASHA's rungs: epochs 1, 3, 9, 27... (Optuna's SuccessiveHalvingPruner: min_resource, reduction_factor); at
# each rung a trial goes on only if it is in the best third of the trials that reached that rung.
ASHA_FIRST_RUNG = 1
ASHA_REDUCTION = 3


def make_pruner(rule: str | None) -> optuna.pruners.BasePruner | None:
    """Optuna's pruner for --prune RULE (None for off)."""
    if rule == "median":
        # n_min_trials: trials imported with --from have no epoch scores, and do not make the median
        return optuna.pruners.MedianPruner(n_startup_trials=MEDIAN_STARTUP_TRIALS, n_warmup_steps=MEDIAN_FIRST_EPOCH,
                                           n_min_trials=MEDIAN_STARTUP_TRIALS)
    if rule == "asha":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=ASHA_FIRST_RUNG, reduction_factor=ASHA_REDUCTION)
    return None


def distribution(hp: Any) -> BaseDistribution | None:
    """The Optuna distribution of a keras-tuner hyperparameter (None for a Fixed one, which is not searched)."""
    return optuna_distribution(type(hp).__name__, hp.get_config())


def distributions(space: Any, values: dict[str, Any]) -> dict[str, BaseDistribution]:
    """The distributions of a trial's searched values (those of `space` that it has and that are not Fixed)."""
    found = {}
    for hp in space.space:
        if hp.name in values:
            dist = distribution(hp)
            if dist is not None:
                found[hp.name] = dist
    return found


def fits(space: Any, values: dict[str, Any]) -> str | None:
    """Why a configuration does not fit `space` (a value it cannot take, an active one it lacks), or None."""
    missing = [hp.name for hp in space.space if hp.name not in values and _active(space, hp, values)]
    if missing:
        return f"it has no value for {', '.join(missing)}"
    for hp in space.space:
        if hp.name not in values or not _active(space, hp, values):
            continue
        value = values[hp.name]
        if isinstance(hp, kt.engine.hyperparameters.Fixed):
            if value != hp.value:
                return f"{hp.name}={value} where the space fixes {hp.value}"
            continue
        if admitted_value(hp, value) is None:
            return f"{hp.name}={value} is not one of its values ({values_text(hp)})"
    return None


def _active(space: Any, hp: Any, values: dict[str, Any]) -> bool:
    return all(condition.is_active(values) for condition in hp.conditions)


class StudyMirror:
    """The Optuna study of a search: `start`/`ask` a trial, `report` its epochs (True: prune it), `finish` it.

    Called under the oracle's lock, from one thread at a time."""

    def __init__(self, space: Any, direction: str, *, sampler: Any = None, pruner: Any = None) -> None:
        self.space = space  # the keras-tuner space (the oracle's hyperparameters)
        self.pruner = pruner
        self.study = optuna.create_study(direction="maximize" if direction == "max" else "minimize",
                                         sampler=sampler or optuna.samplers.RandomSampler(seed=0),
                                         pruner=pruner or optuna.pruners.NopPruner())
        self.running: dict[str, optuna.Trial] = {}  # keras-tuner trial id -> its Optuna trial
        self.kept: dict[str, dict[str, Any]] = {}  # finished trial id -> {"epochs": {step: value}, "attrs": {...}}

    def ask(self, trial_id: str) -> dict[str, Any]:
        """A new trial's values, from the sampler (TPE), on keras-tuner's steps."""
        trial = self.study.ask()
        self.running[trial_id] = trial
        return active_values(self.space, lambda hp: self._value_for(trial, hp))

    def _value_for(self, trial: optuna.Trial, hp: Any) -> Any:
        dist = distribution(hp)
        if dist is None:
            return hp.value
        if isinstance(dist, CategoricalDistribution):
            return trial.suggest_categorical(hp.name, dist.choices)
        if isinstance(dist, IntDistribution):
            return nearest_value(hp, trial.suggest_int(hp.name, dist.low, dist.high, step=dist.step, log=dist.log))
        return nearest_value(hp, trial.suggest_float(hp.name, dist.low, dist.high, step=dist.step, log=dist.log))

    def enqueue(self, values: dict[str, Any]) -> None:
        """Make the next `ask` try these values (those the space searches)."""
        self.study.enqueue_trial({name: value for name, value in values.items()
                                  if name in distributions(self.space, values)}, skip_if_exists=False)

    def start(self, trial_id: str, values: dict[str, Any]) -> None:
        """A trial keras-tuner chose (or a rerun) starts: an Optuna trial with its values."""
        if trial_id in self.running:
            return
        dists = distributions(self.space, values)
        self.study.enqueue_trial({name: values[name] for name in dists}, skip_if_exists=False)
        self.running[trial_id] = self.study.ask(dists)

    def report(self, trial_id: str, step: int, value: float) -> bool:
        """A running trial's objective after an epoch (`step`: the epochs it has trained); True to prune it."""
        trial = self.running.get(trial_id)
        if trial is None or not math.isfinite(value):
            return False
        if step in optuna_state.frozen(trial).intermediate_values:
            return False  # a repeated report (a retried call) changes nothing
        trial.report(value, step)
        return self.pruner is not None and trial.should_prune()

    def finish(self, trial_id: str, state: TrialState, value: float | None = None) -> None:
        """A trial has ended: completed with its score, pruned, or failed."""
        trial = self.running.pop(trial_id, None)
        if trial is None:
            return
        frozen = optuna_state.frozen(trial)
        self.kept[trial_id] = {"epochs": {str(s): v for s, v in frozen.intermediate_values.items()},
                               "attrs": {k: v for k, v in frozen.system_attrs.items() if k != "fixed_params"}}
        if state == TrialState.COMPLETE and (value is None or not math.isfinite(value)):
            state, value = TrialState.FAIL, None
        self.study.tell(trial, value if state == TrialState.COMPLETE else None, state=state)

    def drop(self, trial_id: str) -> None:
        """A run cut short and handed back to the queue: its Optuna trial fails; its rerun starts another."""
        trial = self.running.pop(trial_id, None)
        if trial is not None:
            self.study.tell(trial, state=TrialState.FAIL)

    def add_finished(self, trial_id: str, values: dict[str, Any], state: TrialState, value: float | None,
                     kept: dict[str, Any] | None = None) -> None:
        """A trial finished before this study existed (a resumed search, or a warm start's): added as it ended."""
        kept = kept or {"epochs": {}, "attrs": {}}
        dists = distributions(self.space, values)
        if fits(self.space, values) is not None:
            return  # a trial of an older space that this one cannot hold: the sampler does without it
        if state == TrialState.COMPLETE and (value is None or not math.isfinite(value)):
            state, value = TrialState.FAIL, None
        self.study.add_trial(optuna.trial.create_trial(
            state=state, value=value if state == TrialState.COMPLETE else None,
            params={name: values[name] for name in dists}, distributions=dists,
            intermediate_values={int(step): v for step, v in kept["epochs"].items()},
            system_attrs=dict(kept["attrs"]),
        ))
        self.kept[trial_id] = kept
