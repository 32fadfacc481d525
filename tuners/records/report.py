"""Every trial of a project, read from its files (no TensorFlow): for `kerastune report`."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kerastune.tuners.records.importance import importances
from kerastune.tuners.records.lock import search_running
from kerastune.tuners.records.project import check_project_files, finished_trials, load_project
from kerastune.tuners.records.summary import (
    BUDGET_FILE,
    PRUNED_FILE,
    budget_stop_text,
    model_size_of,
    pruned_text,
    read_marker,
)
from kerastune.tuners.records.trial import best_epoch, read_folds, spread

# "stopped": --time-budget stopped it at a finished epoch; it is scored there and ranked with the completed.
# "pruned": --prune stopped it; its score so far is shown, but it is not ranked.
STATUS_ORDER = {"completed": 0, "stopped": 0, "pruned": 1, "running": 2, "interrupted": 3, "failed": 4}
RANKED = ("completed", "stopped")


@dataclass
class TrialRow:
    """One trial as the report shows it."""

    trial_id: str
    status: str  # completed, stopped (by the time budget), pruned, running, interrupted (runs again on resume), failed
    score: float | None
    best_epoch: int | None
    duration_s: float | None
    hyperparameters: dict[str, Any]
    message: str = ""
    spread: float | None = None  # under --cv: standard deviation of the fold scores
    params: int | None = None  # its model's parameter count
    inference_us: float | None = None  # its model's inference time per example, in microseconds
    pareto: bool = False  # on the Pareto front of score against parameters: no smaller model scored as well


@dataclass
class Hyperparameter:
    name: str
    kind: str  # Int, Float, Choice, Boolean, Fixed
    log: bool  # sampled on a log scale
    config: dict[str, Any] = field(default_factory=dict)  # keras-tuner's config: range, step, values


@dataclass
class Report:
    project_dir: str
    tuner: str
    hypermodel: str
    objective: str
    direction: str  # "max" or "min"
    running: bool  # a search holds the project's lock now
    cv: int | None = None  # the folds of a cross-validated search
    trials: list[TrialRow] = field(default_factory=list)  # best first
    end_order: list[str] = field(default_factory=list)  # ids in the order the trials finished
    hyperparameters: list[Hyperparameter] = field(default_factory=list)
    # which hyperparameters mattered: {name: share of the score's variance} (records.importance), largest first
    importance: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def best_so_far(self) -> list[float | None]:
        """The best score after each finished trial, in the order they finished."""
        scores = {row.trial_id: row.score for row in self.trials if row.status in RANKED}
        best: float | None = None
        curve = []
        for trial_id in self.end_order:
            score = scores.get(trial_id)
            if score is not None and (best is None or (score > best if self.direction == "max" else score < best)):
                best = score
            curve.append(best)
        return curve


def load_report(project_dir: Path, with_importance: bool = True) -> Report:
    """All trials of a project, sorted: completed by score (best first), then running, interrupted, failed;
    `with_importance=False` leaves out the (slower) importance of the hyperparameters."""
    project_dir = Path(project_dir)
    manifest = load_project(project_dir)
    check_project_files(project_dir)
    objective = manifest.get("options", {}).get("objective", "val_accuracy")
    name, _, direction = objective.partition(":")
    durations = manifest.get("trials", {})
    cv = manifest.get("options", {}).get("cv")
    running = search_running(project_dir)
    paths = sorted(project_dir.glob("trial_*/trial.json"))
    files = [json.loads(path.read_text()) for path in paths]
    trials, spaces = [], {}
    for path, trial in zip(paths, files, strict=True):
        folds = read_folds(path.parent) if cv else None
        row = _row(trial, durations, running, cv, folds, read_marker(path.parent, BUDGET_FILE),
                   read_marker(path.parent, PRUNED_FILE))
        row.spread = spread(folds["scores"]) if folds and row.status == "completed" else None
        size = model_size_of(path.parent)
        row.params, row.inference_us = size["params"], size["inference_us"]
        trials.append(row)
        for item in trial.get("hyperparameters", {}).get("space", []):
            config = item.get("config", {})
            if not config.get("name", "").startswith("tuner/"):
                spaces[config["name"]] = Hyperparameter(
                    config["name"], item.get("class_name", ""), config.get("sampling") == "log", config
                )
    direction = direction or _recorded_direction(name, files)
    sign = -1 if direction == "max" else 1
    trials.sort(key=lambda r: (STATUS_ORDER[r.status], sign * r.score if r.score is not None else math.inf,
                               _numeric_id(r.trial_id)))
    mark_pareto_front(trials, direction)
    order = [row["name"] for row in manifest.get("space", [])]
    for row in trials:  # in the order of the search space, as the search's summary shows them
        row.hyperparameters = dict(sorted(row.hyperparameters.items(),
                                          key=lambda item: order.index(item[0]) if item[0] in order else len(order)))
    hyperparameters = sorted(spaces.values(), key=lambda h: order.index(h.name) if h.name in order else len(order))
    return Report(
        project_dir=str(project_dir),
        tuner=manifest.get("tuner", ""),
        hypermodel=manifest.get("hypermodel", ""),
        objective=name,
        direction=direction,
        running=running,
        cv=cv,
        trials=trials,
        end_order=[str(t) for t in finished_trials(project_dir)],
        hyperparameters=hyperparameters,
        importance=importances(trials, hyperparameters, direction) if with_importance else {},
    )


def mark_pareto_front(rows: list[TrialRow], direction: str) -> None:
    """Mark the ranked trials that no other beats on both counts: a better score with as few parameters, or as
    good a score with fewer (the trade-off between score and model size)."""
    sign = 1 if direction == "max" else -1
    sized = sorted((row for row in rows if row.status in RANKED and row.score is not None and row.params is not None),
                   key=lambda row: (row.params, -sign * row.score))
    best: float | None = None
    for row in sized:
        if best is None or sign * row.score > sign * best:
            row.pareto, best = True, row.score


def _row(trial: dict[str, Any], durations: dict[str, Any], running: bool, cv: int | None,
         folds: dict[str, Any] | None, budget_stop: dict[str, Any] | None, pruned: dict[str, Any] | None) -> TrialRow:
    status = str(trial.get("status", "")).lower()
    if status in ("running", "idle", "invalid"):
        status = "running" if running else "interrupted"
    elif status == "completed" and budget_stop:
        status = "stopped"
    elif status == "stopped" and pruned:
        status = "pruned"
    elif status != "completed":
        status = "failed"
    score = trial.get("score")
    if status not in (*RANKED, "pruned") or score is None or not math.isfinite(score):
        score = None
    best_step = trial.get("best_step")
    values = trial.get("hyperparameters", {}).get("values", {})
    message = [line.strip() for line in (trial.get("message") or "").splitlines() if line.strip()]
    if status == "stopped":
        message = [budget_stop_text(budget_stop) + "; scored at its best finished epoch"]
    elif status == "pruned":
        message = [pruned_text(pruned) + "; its best score so far"]
    trial_id = str(trial.get("trial_id"))
    return TrialRow(
        trial_id=trial_id,
        status=status,
        score=score,
        best_epoch=best_epoch(best_step, values, bool(cv), folds and folds["best_epochs"])
        if status in (*RANKED, "pruned") else None,
        duration_s=(durations.get(trial_id) or {}).get("duration_s"),
        hyperparameters={k: v for k, v in values.items() if not k.startswith("tuner/")},
        message=message[-1] if message else "",
    )


def _recorded_direction(name: str, trials: list[dict[str, Any]]) -> str:
    """The objective's direction as keras-tuner recorded it with the trials' metrics, else by its name."""
    for trial in trials:
        direction = trial.get("metrics", {}).get("metrics", {}).get(name, {}).get("direction")
        if direction:
            return direction
    return "min" if name.endswith("loss") else "max"


def _numeric_id(trial_id: str) -> tuple[int, str]:
    return (int(trial_id), "") if trial_id.isdigit() else (0, trial_id)
