"""Every trial of a project, read from its files (no TensorFlow): for `kerastune report`."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kerastune.tuners.records import trial as trial_record
from kerastune.tuners.records.importance import importances
from kerastune.tuners.records.lock import search_running
from kerastune.tuners.records.project import check_project_files, finished_trials, load_project
from kerastune.tuners.records.trial import TrialRecord


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
    trials: list[TrialRecord] = field(default_factory=list)  # best first
    end_order: list[str] = field(default_factory=list)  # ids in the order the trials finished
    hyperparameters: list[Hyperparameter] = field(default_factory=list)
    # which hyperparameters mattered: {name: share of the score's variance} (records.importance), largest first
    importance: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def best_so_far(self) -> list[float | None]:
        """The best score after each finished trial, in the order they finished."""
        scores = {row.trial_id: row.score for row in self.trials if row.status.ranked}
        best: float | None = None
        curve = []
        for trial_id in self.end_order:
            score = scores.get(trial_id)
            if score is not None and (best is None or (score > best if self.direction == "max" else score < best)):
                best = score
            curve.append(best)
        return curve


def load_report(project_dir: Path, with_importance: bool = True) -> Report:
    """All trials of a project, sorted: ranked ones by score (best first), then pruned, running, interrupted,
    failed; `with_importance=False` leaves out the (slower) importance of the hyperparameters."""
    project_dir = Path(project_dir)
    manifest = load_project(project_dir)
    check_project_files(project_dir)
    objective = manifest.get("options", {}).get("objective", "val_accuracy")
    name, _, direction = objective.partition(":")
    cv = manifest.get("options", {}).get("cv")
    running = search_running(project_dir)
    order = [row["name"] for row in manifest.get("space", [])]
    states = [json.loads(path.read_text()) for path in trial_record.state_files(project_dir)]
    trials = trial_record.records_of(states, project_dir, order=order, cv=cv, search_running=running,
                                     runs=manifest.get("trials"))
    spaces = {}
    for state in states:
        for item in state.get("hyperparameters", {}).get("space", []):
            config = item.get("config", {})
            if not config.get("name", "").startswith("tuner/"):
                spaces[config["name"]] = Hyperparameter(
                    config["name"], item.get("class_name", ""), config.get("sampling") == "log", config
                )
    direction = direction or _recorded_direction(name, states)
    sign = -1 if direction == "max" else 1
    trials.sort(key=lambda r: (r.status.order, sign * r.score if r.score is not None else math.inf,
                               trial_record.id_order(r.trial_id)))
    mark_pareto_front(trials, direction)
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


def mark_pareto_front(rows: list[TrialRecord], direction: str) -> None:
    """Mark the ranked trials that no other beats on both counts: a better score with as few parameters, or as
    good a score with fewer (the trade-off between score and model size)."""
    sign = 1 if direction == "max" else -1
    sized = sorted((row for row in rows if row.status.ranked and row.score is not None and row.params is not None),
                   key=lambda row: (row.params, -sign * row.score))
    best: float | None = None
    for row in sized:
        if best is None or sign * row.score > sign * best:
            row.pareto, best = True, row.score


def _recorded_direction(name: str, trials: list[dict[str, Any]]) -> str:
    """The objective's direction as keras-tuner recorded it with the trials' metrics, else by its name."""
    for trial in trials:
        direction = trial.get("metrics", {}).get("metrics", {}).get(name, {}).get("direction")
        if direction:
            return direction
    return "min" if name.endswith("loss") else "max"

