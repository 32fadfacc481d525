"""What a search reports: each trial as recorded, the event of a trial ending, the summary of a search."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kerastune.tuners.records.trial import best_epoch, read_folds, spread

# A failed trial's traceback, written into its folder: keras-tuner's gRPC messages do not carry it
# from a worker to the chief.
FAILURE_FILE = "failure.txt"
# How --time-budget stopped a trial that had finished epochs: {"epochs": finished, "of": planned}
BUDGET_FILE = "stopped_by_budget.json"
# A trial's model: {"params": parameter count, "inference_us": inference time per example, in microseconds}
MODEL_SIZE_FILE = "model_size.json"
# How --prune stopped a trial: {"epochs": finished, "of": planned, "rule": "median" or "asha"}
PRUNED_FILE = "pruned.json"
# Every epoch a trial trained: {"epochs": [{"step": epochs trained so far (1-based, on across folds and executions),
# "val_accuracy": ..., "loss": ..., ...}]}, for optuna-dashboard's intermediate values and MLflow's metrics
HISTORY_FILE = "history.json"
UNSTARTED_BY_BUDGET = "stopped by the time budget before its first epoch ended; a resume runs it again"


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
    budget_stop: dict[str, Any] | None = None  # {"epochs": finished, "of": planned} when --time-budget stopped it
    pruned: dict[str, Any] | None = None  # {"epochs": finished, "of": planned, "rule": ...} when --prune stopped it
    params: int | None = None  # its model's parameter count
    inference_us: float | None = None  # its model's inference time per example (microseconds, this machine)

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
        completed = str(trial.status) == "COMPLETED"
        trial_dir = Path(project_dir) / f"trial_{trial.trial_id}" if project_dir else None
        pruned = read_marker(trial_dir, PRUNED_FILE) if trial_dir and str(trial.status) == "STOPPED" else None
        folds = read_folds(Path(project_dir) / f"trial_{trial.trial_id}") if cv and project_dir and completed else None
        fold_scores = folds["scores"] if folds else None
        return cls(
            trial_id=str(trial.trial_id),
            status=str(trial.status),
            hyperparameters=values,
            score=score,
            best_step=trial.best_step,
            message=last_line(trial.message),
            best_epoch=best_epoch(trial.best_step, active, bool(cv), folds and folds["best_epochs"])
            if completed or pruned else None,
            fold_scores=fold_scores,
            spread=spread(fold_scores),
            budget_stop=read_marker(trial_dir, BUDGET_FILE) if trial_dir else None,
            pruned=pruned,
            **model_size_of(trial_dir),
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
    stopped_by_budget: list[str] = field(default_factory=list)  # trials it stopped, scored at a finished epoch
    pruned: int = 0  # trials --prune stopped (in the project)
    oversized: int = 0  # configurations --max-params refused before they trained (in the project)
    warm_started: int = 0  # trials imported from an earlier search (--from)
    to_rerun: list[str] = field(default_factory=list)  # trials a resume runs again (it stopped them sooner)
    # with --mlflow: {"tracking_uri", "experiment_id", "run_id" (the parent run), "errors" (what was not logged)}
    mlflow: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_marker(trial_dir: Path, name: str) -> dict[str, Any] | None:
    """How --time-budget (BUDGET_FILE) or --prune (PRUNED_FILE) stopped a trial, or None if it did not."""
    try:
        return json.loads((Path(trial_dir) / name).read_text())
    except (OSError, ValueError):
        return None


def model_size_of(trial_dir: Path | None) -> dict[str, Any]:
    """{"params": ..., "inference_us": ...} of a trial's model, as recorded in its folder (None where not)."""
    size = read_marker(trial_dir, MODEL_SIZE_FILE) if trial_dir else None
    return {"params": (size or {}).get("params"), "inference_us": (size or {}).get("inference_us")}


def pruned_text(pruned: dict[str, Any]) -> str:
    """'pruned after 3 of 10 epochs (median rule)'."""
    return f"pruned after {pruned['epochs']} of {pruned['of']} epochs ({pruned['rule']} rule)"


def budget_stop_text(stop: dict[str, Any]) -> str:
    """'stopped by the time budget after 3 of 10 epochs'."""
    of = f" of {stop['of']}" if stop.get("of") else ""
    epochs = "epoch" if stop["epochs"] == 1 and not of else "epochs"
    return f"stopped by the time budget after {stop['epochs']}{of} {epochs}"


def plural_trials(count: int) -> str:
    return "1 trial" if count == 1 else f"{count} trials"


def failure_reason(project_dir: Path, trial: Any) -> str:
    """Why a trial failed, in one line: its message, or what the worker that ran it wrote into its folder."""
    if trial.message:
        return last_line(trial.message)
    path = Path(project_dir) / f"trial_{trial.trial_id}" / FAILURE_FILE
    try:
        return last_line(path.read_text())
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
