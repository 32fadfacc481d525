"""A trial's record: its folder in the project, every file kerastune writes there (keras-tuner writes trial.json and
the weights), and its status, derived here once for every view (summary, report, importance, the Optuna storage,
MLflow, `--from`). No TensorFlow here.
"""

from __future__ import annotations

import enum
import json
import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kerastune.tuners.records.project import write_atomically

# keras-tuner's own record of a trial (engine/trial.py: Trial.save), and of its best weights (Tuner.save_model)
STATE_FILE = "trial.json"
WEIGHTS_FILE = "checkpoint.weights.h5"
BUILD_CONFIG_FILE = "build_config.json"
# A failed trial's traceback: keras-tuner's gRPC messages do not carry it from a worker to the chief.
FAILURE_FILE = "failure.txt"
# How --time-budget stopped a trial that had finished epochs: {"epochs": finished, "of": planned}
BUDGET_FILE = "stopped_by_budget.json"
# How --prune stopped a trial: {"epochs": finished, "of": planned, "rule": "median" or "asha"}
PRUNED_FILE = "pruned.json"
# A trial's model: {"params": parameter count, "inference_us": inference time per example, in microseconds}
MODEL_SIZE_FILE = "model_size.json"
# Every epoch a trial trained: {"epochs": [{"step": epochs trained so far (1-based, on across folds and executions),
# "val_accuracy": ..., "loss": ..., ...}]}, for optuna-dashboard's intermediate values and MLflow's metrics
HISTORY_FILE = "history.json"
# Under --cv: {"scores": [the score on each fold], "best_epochs": [each fold's best epoch]}
FOLDS_FILE = "folds.json"
# How long the trial's (last) run took, and which worker ran it: {"duration_s": ..., "worker": ...}
RUN_FILE = "run.json"
# A trial imported from an earlier search (--from): {"project": that search, "trial_id": its id there,
# "initial_epoch": where a Hyperband trial's training went on from}
IMPORTED_FILE = "warm_start.json"
# What a trial imported with --from keeps of its folder: its weights and what was recorded about it
KEPT_ON_IMPORT = (WEIGHTS_FILE, BUILD_CONFIG_FILE, MODEL_SIZE_FILE, FOLDS_FILE, BUDGET_FILE, PRUNED_FILE, HISTORY_FILE)
# What a run cut short leaves that its rerun must not inherit
OF_A_RUN = (BUDGET_FILE, PRUNED_FILE)

UNSTARTED_BY_BUDGET = "stopped by the time budget before its first epoch ended; a resume runs it again"
TAKEN_BACK = "the chief gave it to another worker, having had no word from this one in time"


class TrialStatus(enum.StrEnum):
    """What became of a trial, in kerastune's words (keras-tuner's status and the trial's files, read once)."""

    COMPLETED = "completed"  # trained all its epochs
    STOPPED = "stopped"  # --time-budget stopped it at a finished epoch: scored there, ranked with the completed
    PRUNED = "pruned"  # --prune stopped it: its score so far is shown, but it is never ranked nor run again
    RUNNING = "running"
    INTERRUPTED = "interrupted"  # cut short (a kill, the budget before its first epoch, a worker gone): runs again
    FAILED = "failed"

    @property
    def ranked(self) -> bool:
        """Whether the trial competes for best: its score is of a model that trained as planned, or to a deadline."""
        return self in (TrialStatus.COMPLETED, TrialStatus.STOPPED)

    @property
    def scored(self) -> bool:
        """Whether the trial has a score (the pruned ones: their best so far)."""
        return self.ranked or self is TrialStatus.PRUNED

    @property
    def order(self) -> int:
        """Where the report lists it: ranked trials first, then pruned, running, interrupted, failed."""
        return {"completed": 0, "stopped": 0, "pruned": 1, "running": 2, "interrupted": 3, "failed": 4}[self.value]

    @property
    def optuna_state(self) -> str:
        """Optuna's TrialState of it (a stopped trial completed with the epochs it had; an interrupted one waits)."""
        return {"completed": "COMPLETE", "stopped": "COMPLETE", "pruned": "PRUNED", "running": "RUNNING",
                "interrupted": "WAITING", "failed": "FAIL"}[self.value]

    @property
    def mlflow_status(self) -> str:
        """MLflow's run status of it."""
        return {"completed": "FINISHED", "stopped": "FINISHED", "pruned": "KILLED", "running": "RUNNING",
                "interrupted": "KILLED", "failed": "FAILED"}[self.value]


def status_of(keras_tuner_status: str, *, budget_stop: bool, pruned: bool, search_running: bool) -> TrialStatus:
    """A trial's status from keras-tuner's (RUNNING, IDLE, INVALID, COMPLETED, STOPPED, FAILED) and its files.

    keras-tuner's STOPPED means pruned when the trial's PRUNED_FILE says so; otherwise the trial was cut short and
    handed back (see strategies.oracles: the budget stopped it before an epoch ended, or the chief took it back).
    """
    status = str(keras_tuner_status).upper()
    if status in ("RUNNING", "IDLE", "INVALID"):
        return TrialStatus.RUNNING if search_running else TrialStatus.INTERRUPTED
    if status == "COMPLETED":
        return TrialStatus.STOPPED if budget_stop else TrialStatus.COMPLETED
    if status == "STOPPED":
        return TrialStatus.PRUNED if pruned else TrialStatus.INTERRUPTED
    return TrialStatus.FAILED


def folder(project_dir: Path, trial_id: str) -> Path:
    """A trial's folder, as keras-tuner names it (engine/oracle.py: Oracle._get_trial_dir)."""
    return Path(project_dir) / f"trial_{trial_id}"


def id_order(trial_id: str) -> tuple[int, str]:
    """A sort key that orders trial ids by their number ("9" before "10"), whatever their padding."""
    return (int(trial_id), trial_id) if trial_id.isdigit() else (0, trial_id)


def state_files(project_dir: Path) -> list[Path]:
    """The keras-tuner record (trial.json) of every trial of a project, in the order of their folders."""
    return sorted(Path(project_dir).glob(f"trial_*/{STATE_FILE}"))


def read(trial_dir: Path, name: str) -> Any:
    """One of a trial's JSON files, or None where it has none (or it cannot be read)."""
    try:
        return json.loads((Path(trial_dir) / name).read_text())
    except (OSError, ValueError):
        return None


def write(trial_dir: Path, name: str, value: Any) -> None:
    """Write one of a trial's files in one step: JSON, or the text of FAILURE_FILE."""
    text = value.strip() + "\n" if name == FAILURE_FILE else json.dumps(value) + "\n"
    write_atomically(Path(trial_dir) / name, text)


def forget_run(trial_dir: Path) -> None:
    """Drop what a run cut short recorded of how it ended: its rerun starts from scratch."""
    for name in OF_A_RUN:
        (Path(trial_dir) / name).unlink(missing_ok=True)


def failure_reason(trial_dir: Path, message: str | None) -> str:
    """Why a trial failed, in one line: its message, or what the worker that ran it wrote into its folder."""
    if message:
        return last_line(message)
    try:
        return last_line((Path(trial_dir) / FAILURE_FILE).read_text())
    except OSError:
        return ""


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


def best_epoch(
    best_step: int | None, values: dict[str, Any], cross_validated: bool, fold_epochs: list[int] | None = None,
    initial_epoch: int | None = None,
) -> int | None:
    """Epochs a model of this trial trains to reach its best score (1-based).

    keras-tuner's `best_step` counts from the start of the trial's own fit. A Hyperband trial that
    continues an earlier one starts at `tuner/initial_epoch` (`initial_epoch` for a trial imported with --from,
    which keeps no tuner/ values), so that is added; under --cv, Hyperband trials train from scratch. Under --cv it
    is the mean of the folds' best epochs (`fold_epochs`), rounded to the nearest epoch (halves up): keras-tuner's
    `best_step` is the floor of their mean, which would train the exported model too short.
    """
    if fold_epochs:
        return math.floor(statistics.mean(fold_epochs) + 0.5)
    if best_step is None:
        return None
    start = 0 if cross_validated else int(values.get("tuner/initial_epoch", initial_epoch or 0))
    return start + int(best_step) + 1


def spread(scores: list[float] | None) -> float | None:
    """The standard deviation of the fold scores (None for fewer than two)."""
    return statistics.stdev(scores) if scores and len(scores) > 1 else None


def pruned_text(pruned: dict[str, Any]) -> str:
    """'pruned after 3 of 10 epochs (median rule)'."""
    return f"pruned after {pruned['epochs']} of {pruned['of']} epochs ({pruned['rule']} rule)"


def budget_stop_text(stop: dict[str, Any]) -> str:
    """'stopped by the time budget after 3 of 10 epochs'."""
    of = f" of {stop['of']}" if stop.get("of") else ""
    epochs = "epoch" if stop["epochs"] == 1 and not of else "epochs"
    return f"stopped by the time budget after {stop['epochs']}{of} {epochs}"


@dataclass
class TrialRecord:
    """One trial as its folder records it: what every view of a trial shows."""

    trial_id: str
    status: TrialStatus
    hyperparameters: dict[str, Any]  # without Hyperband's bookkeeping ("tuner/..."), in the search space's order
    score: float | None  # of a scored trial: the objective at its best epoch (under --cv, the mean over the folds)
    best_epoch: int | None  # epochs a model of this configuration trains to its best score
    message: str = ""  # why it failed, or how it was stopped, in one line
    fold_scores: list[float] | None = None  # under --cv: the score on each fold
    spread: float | None = None  # under --cv: the standard deviation of the fold scores
    budget_stop: dict[str, Any] | None = None  # {"epochs": finished, "of": planned} when --time-budget stopped it
    pruned: dict[str, Any] | None = None  # {"epochs": finished, "of": planned, "rule": ...} when --prune stopped it
    params: int | None = None  # its model's parameter count
    inference_us: float | None = None  # its model's inference time per example (microseconds, this machine)
    duration_s: float | None = None  # how long its run took
    worker: str | None = None  # the worker process that ran it, in a parallel search
    imported_from: dict[str, Any] | None = None  # {"project", "trial_id"} of a trial imported with --from
    pareto: bool = False  # the report's: on the Pareto front of score against parameters

    @classmethod
    def from_state(cls, state: dict[str, Any], project_dir: Path, *, order: list[str] | None = None,
                   cv: int | None = None, search_running: bool = False,
                   run: dict[str, Any] | None = None) -> TrialRecord:
        """A trial from keras-tuner's record of it (trial.json, or `Trial.get_state()`) and its folder's files.

        `order`: the hyperparameter names in the order to show them (the search space's); `cv`: the folds of a
        cross-validated search; `search_running`: whether a search holds the project now (a trial recorded as
        running is running, else interrupted); `run`: its duration and worker where the folder has none (projects
        of an earlier kerastune kept them in the manifest)."""
        trial_id = str(state.get("trial_id"))
        trial_dir = folder(project_dir, trial_id)
        budget_stop, pruned = read(trial_dir, BUDGET_FILE), read(trial_dir, PRUNED_FILE)
        status = status_of(state.get("status", ""), budget_stop=bool(budget_stop), pruned=bool(pruned),
                           search_running=search_running)
        values = (state.get("hyperparameters") or {}).get("values") or {}
        names = dict.fromkeys(order or [])
        names.update(dict.fromkeys(values))
        shown = {name: values[name] for name in names if name in values and not name.startswith("tuner/")}
        score = state.get("score")
        if not status.scored or score is None or not math.isfinite(score):
            score = None
        folds = read(trial_dir, FOLDS_FILE) if cv and status.scored else None
        imported = read(trial_dir, IMPORTED_FILE)
        size = read(trial_dir, MODEL_SIZE_FILE) or {}
        run = read(trial_dir, RUN_FILE) or run or {}
        if status is TrialStatus.STOPPED:
            message = budget_stop_text(budget_stop) + "; scored at its best finished epoch"
        elif status is TrialStatus.PRUNED:
            message = pruned_text(pruned) + "; its best score so far"
        elif status is TrialStatus.FAILED:
            message = failure_reason(trial_dir, state.get("message"))
        else:
            message = last_line(state.get("message"))
        fold_scores = folds["scores"] if folds else None
        return cls(
            trial_id=trial_id,
            status=status,
            hyperparameters=shown,
            score=score,
            best_epoch=best_epoch(state.get("best_step"), values, bool(cv), folds and folds["best_epochs"],
                                  (imported or {}).get("initial_epoch")) if status.scored else None,
            message=message,
            fold_scores=fold_scores,
            spread=spread(fold_scores) if status.ranked else None,
            budget_stop=budget_stop if status is TrialStatus.STOPPED else None,
            pruned=pruned if status is TrialStatus.PRUNED else None,
            params=size.get("params"),
            inference_us=size.get("inference_us"),
            duration_s=run.get("duration_s"),
            worker=run.get("worker"),
            imported_from={"project": imported["project"], "trial_id": imported["trial_id"]} if imported else None,
        )


def read_trials(project_dir: Path, *, order: list[str] | None = None, cv: int | None = None,
                search_running: bool = False, runs: dict[str, Any] | None = None) -> list[TrialRecord]:
    """Every trial of a project, from its files, in the order of their folders. `runs`: the durations and workers
    an earlier kerastune kept in the manifest (`manifest["trials"]`)."""
    states = [json.loads(path.read_text()) for path in state_files(project_dir)]
    return records_of(states, project_dir, order=order, cv=cv, search_running=search_running, runs=runs)


def records_of(states: list[dict[str, Any]], project_dir: Path, *, order: list[str] | None = None,
               cv: int | None = None, search_running: bool = False,
               runs: dict[str, Any] | None = None) -> list[TrialRecord]:
    """The records of trials whose keras-tuner records (trial.json) are read already (see `read_trials`)."""
    return [TrialRecord.from_state(state, project_dir, order=order, cv=cv, search_running=search_running,
                                   run=(runs or {}).get(str(state.get("trial_id")))) for state in states]
