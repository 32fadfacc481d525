"""What a search reports as it runs and when it ends: the event of a trial ending, and the summary of a search."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from kerastune.tuners.records.trial import TrialRecord


@dataclass
class TrialEvent:
    """What the progress display needs when a trial ends."""

    number: int  # trials this search has finished, this one included (imported ones not counted)
    planned: int | None  # the trials this search plans (imported ones not counted)
    trial: TrialRecord
    best: TrialRecord | None
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
    best_trials: list[TrialRecord] = field(default_factory=list)
    time_budget_spent: bool = False  # --time-budget ran out before the planned trials did
    stopped_by_budget: list[str] = field(default_factory=list)  # trials it stopped, scored at a finished epoch
    pruned: int = 0  # trials --prune stopped (in the project)
    oversized: int = 0  # configurations --max-params refused before they trained (in the project)
    warm_started: int = 0  # trials imported from an earlier search (--from)
    to_rerun: list[str] = field(default_factory=list)  # trials a resume runs again (it stopped them sooner)
    # trials left unfinished without the budget running out (taken back from a lost worker, none left to run them)
    unfinished: list[str] = field(default_factory=list)
    # with --mlflow: {"tracking_uri", "experiment_id", "run_id" (the parent run), "errors" (what was not logged)}
    mlflow: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def plural_trials(count: int) -> str:
    return "1 trial" if count == 1 else f"{count} trials"
