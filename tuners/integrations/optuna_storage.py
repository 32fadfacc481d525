"""A project's trials in an Optuna storage (SQLite in the project folder), for optuna-dashboard.

Written from the project's files, for every tuner: each trial with its hyperparameters (as Optuna distributions,
tuners/distributions.py), its objective after every epoch (the trial's HISTORY_FILE) as intermediate values, its
state and its score. Run it again to bring the study up to date while a search runs (`kerastune dashboard --optuna`
does every few seconds). No TensorFlow is imported.
"""

from __future__ import annotations

import contextlib
import datetime
import math
import os
import warnings
from pathlib import Path
from typing import Any

from kerastune.tuners.internals import optuna_state
from kerastune.tuners.records import trial as trial_record
from kerastune.tuners.records.report import Report, load_report
from kerastune.tuners.strategies.distributions import distribution

STORAGE_FILE = "optuna.db"


def storage_url(project_dir: Path) -> str:
    """The SQLAlchemy URL of the project's Optuna storage, as optuna-dashboard and `optuna.load_study` take it."""
    return f"sqlite:///{(Path(project_dir) / STORAGE_FILE).resolve()}"


def study_name(project_dir: Path) -> str:
    """The study's name: the project folder's."""
    return Path(project_dir).resolve().name


def write_storage(project_dir: Path) -> Report:
    """Bring the project's study in its Optuna storage up to date; return the report it was written from.

    Trials new since the last writing are added, and those that were running or waiting are updated, so that an
    optuna-dashboard page left open keeps its study. A study that no longer matches the project (a search started
    over with --overwrite) is written again from scratch. Trials are added in the order of their ids, so that each
    trial's Optuna number is its kerastune id, whichever finished first."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    project_dir = Path(project_dir)
    report = load_report(project_dir, with_importance=False)
    dists = {h.name: distribution(h.kind, h.config) for h in report.hyperparameters}  # as tpe samples them
    rows = sorted(report.trials, key=lambda row: trial_record.id_order(row.trial_id))
    wanted = {row.trial_id: _frozen_trial(row, dists, report.objective, project_dir) for row in rows}
    numbers = {trial_id: number for number, trial_id in enumerate(wanted)}
    storage = optuna.storages.RDBStorage(storage_url(project_dir))
    study = _study(storage, project_dir, report)
    stored = {trial.user_attrs.get("kerastune_trial_id"): trial for trial in study.get_trials(deepcopy=False)}
    if any(_mismatch(trial, wanted.get(trial_id)) or trial.number != numbers[trial_id]
           for trial_id, trial in stored.items()):
        optuna.delete_study(study_name=study.study_name, storage=storage)
        study, stored = _study(storage, project_dir, report), {}
    for trial_id, trial in wanted.items():
        if trial_id not in stored:
            study.add_trial(trial)
        elif not stored[trial_id].state.is_finished() and trial.state != stored[trial_id].state:
            _update(storage, optuna_state.storage_id(stored[trial_id]), trial)
    return report


def _study(storage: Any, project_dir: Path, report: Report) -> Any:
    import optuna

    study = optuna.create_study(storage=storage, study_name=study_name(project_dir), load_if_exists=True,
                                direction="maximize" if report.direction == "max" else "minimize")
    with warnings.catch_warnings():  # set_metric_names is marked experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names([report.objective])  # optuna-dashboard's label of the objective
    for key, value in (("tuner", report.tuner), ("hypermodel", report.hypermodel), ("objective", report.objective),
                       ("project", str(project_dir.resolve()))):
        study.set_user_attr(key, value)
    return study


def _mismatch(stored: Any, wanted: Any) -> bool:
    """A stored trial the project no longer has, or a finished one it now records otherwise."""
    if wanted is None:
        return True
    return stored.state.is_finished() and (stored.state != wanted.state or stored.value != wanted.value
                                            or stored.params != wanted.params)


def _update(storage: Any, optuna_id: int, trial: Any) -> None:
    """A stored running or waiting trial brought up to date: its epochs, its attributes and its state."""
    import optuna

    for step, value in trial.intermediate_values.items():
        storage.set_trial_intermediate_value(optuna_id, step, value)
    for key, value in trial.user_attrs.items():
        storage.set_trial_user_attr(optuna_id, key, value)
    if trial.state == optuna.trial.TrialState.WAITING:
        return
    storage.set_trial_state_values(optuna_id, optuna.trial.TrialState.RUNNING)
    if trial.state.is_finished():
        storage.set_trial_state_values(optuna_id, trial.state,
                                       [trial.value] if trial.state == optuna.trial.TrialState.COMPLETE else None)


def _frozen_trial(row: Any, dists: dict[str, Any], objective: str, project_dir: Path) -> Any:
    import optuna

    state = optuna.trial.TrialState[row.status.optuna_state]
    params = {name: value for name, value in row.hyperparameters.items() if dists.get(name) is not None}
    fixed = {name: value for name, value in row.hyperparameters.items() if dists.get(name) is None}
    trial_dir = trial_record.folder(project_dir, row.trial_id)
    value = row.score if state == optuna.trial.TrialState.COMPLETE else None
    trial = optuna.trial.create_trial(
        state=state, value=value, params=params, distributions={name: dists[name] for name in params},
        intermediate_values=_intermediate_values(trial_dir, objective),
        user_attrs={"kerastune_trial_id": row.trial_id, "kerastune_status": row.status.value, "message": row.message,
                    "score": row.score, "params": row.params, "fixed": fixed},
    )
    if state == optuna.trial.TrialState.PRUNED and row.score is not None and math.isfinite(row.score):
        trial.set_user_attr("score_when_pruned", row.score)
    if trial.datetime_complete is not None:
        with contextlib.suppress(OSError):
            ended = datetime.datetime.fromtimestamp(os.path.getmtime(trial_dir / trial_record.STATE_FILE))
            trial.datetime_complete = ended
            trial.datetime_start = ended - datetime.timedelta(seconds=row.duration_s or 0)
    return trial


def _intermediate_values(trial_dir: Path, objective: str) -> dict[int, float]:
    """{epochs trained: the objective then}, from the trial's HISTORY_FILE (empty where there is none)."""
    epochs = (trial_record.read(trial_dir, trial_record.HISTORY_FILE) or {}).get("epochs", [])
    return {int(epoch["step"]): float(epoch[objective]) for epoch in epochs
            if objective in epoch and math.isfinite(epoch[objective])}

