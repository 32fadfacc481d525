"""MLflow tracking (--mlflow): one parent run per search, one nested run per trial, the export in the parent.

- The parent run: the search's tuner, hypermodel, objective and options as parameters; at the end of each run of
  the search, its counts and best score as metrics. Its id is kept in the project (MLFLOW_FILE), so that a resumed
  search continues the same parent run (and marks the trial runs a kill left running as killed).
- A trial's run, nested under it: the trial's hyperparameters as parameters, its metrics at every epoch (step =
  epochs trained), its score, and its kerastune status as the tag `kerastune.status`; MLflow's own status says
  FINISHED (completed, or stopped by the time budget with epochs to score), KILLED (pruned, or interrupted: given
  back to the queue) or FAILED (records.trial.TrialStatus.mlflow_status). Trial runs are written by the process
  that trains the trial (this one, or a worker).
- `kerastune export` logs the saved model and its test scores to the parent run (`log_export`).

Without a tracking URI (--mlflow-uri, else the MLFLOW_TRACKING_URI environment variable), the store is SQLite in
the project folder (MLflow no longer takes a plain folder as its store by default), its artifacts beside it.
Nothing here prints: failures to log raise `TrackingError`, which the caller reports.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kerastune.tuners.integrations import optional
from kerastune.tuners.records.trial import TrialStatus

MLFLOW_FILE = "mlflow.json"  # {"tracking_uri", "experiment_id", "run_id"}: the search's parent run
LOCAL_STORE = "mlflow.db"
LOCAL_ARTIFACTS = "mlartifacts"
PARENT = "mlflow.parentRunId"  # MLflow's tag that nests a run under another
TRIAL_TAG = "kerastune.trial_id"
STATUS_TAG = "kerastune.status"


class TrackingError(RuntimeError):
    """MLflow cannot be used, or refused what kerastune logged; the message says why."""


@dataclass(frozen=True)
class SearchRun:
    """Where a search's parent run is."""

    tracking_uri: str
    experiment_id: str
    run_id: str


def tracking_uri(project_dir: Path, uri: str | None = None) -> str:
    """The tracking URI to log to: `uri`, else MLFLOW_TRACKING_URI, else SQLite in the project folder."""
    return uri or os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(Path(project_dir) / LOCAL_STORE).resolve()}"


def client(uri: str) -> Any:
    """An MlflowClient on `uri`, with MLflow's and its database's INFO lines kept off the terminal."""
    optional.require(optional.MLFLOW, "--mlflow")
    from mlflow.tracking import MlflowClient
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        return MlflowClient(tracking_uri=uri)
    except Exception as error:  # an unsupported or malformed URI
        raise TrackingError(f"MLflow at {uri}: {_reason(error)}; give --mlflow-uri a tracking URI MLflow takes, "
                            "e.g. http://127.0.0.1:5000 or sqlite:///mlflow.db") from None


def recorded_run(project_dir: Path) -> SearchRun | None:
    """The parent run a search of this project logged to, if one did."""
    try:
        return SearchRun(**json.loads((Path(project_dir) / MLFLOW_FILE).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def start_search_run(project_dir: Path, uri: str, params: dict[str, Any], tags: dict[str, str]) -> SearchRun:
    """The search's parent run, running: the one this project recorded in the same store (resumed, its trial runs
    that a kill left running marked killed), else a new one in the experiment named after the project folder."""
    project_dir = Path(project_dir)
    mlflow = client(uri)
    try:
        recorded = recorded_run(project_dir)
        if recorded is not None and recorded.tracking_uri == uri and _exists(mlflow, recorded.run_id):
            mlflow.update_run(recorded.run_id, status="RUNNING")
            for run in mlflow.search_runs([recorded.experiment_id],
                                          filter_string=f"tags.`{PARENT}` = '{recorded.run_id}'"):
                if run.info.status == "RUNNING":
                    mlflow.set_tag(run.info.run_id, STATUS_TAG, TrialStatus.INTERRUPTED.value)
                    mlflow.set_terminated(run.info.run_id, status=TrialStatus.INTERRUPTED.mlflow_status)
            return recorded
        name = project_dir.resolve().name
        experiment = mlflow.get_experiment_by_name(name)
        if experiment is not None:
            experiment_id = experiment.experiment_id
        else:
            local = uri == tracking_uri(project_dir) and uri.startswith("sqlite:")
            location = (project_dir / LOCAL_ARTIFACTS).resolve().as_uri() if local else None
            experiment_id = mlflow.create_experiment(name, artifact_location=location)
        run = mlflow.create_run(experiment_id, run_name=name, tags=tags)
        _log_params(mlflow, run.info.run_id, params)
    except TrackingError:
        raise
    except Exception as error:
        raise TrackingError(f"MLflow at {uri}: {_reason(error)}") from None
    search_run = SearchRun(uri, experiment_id, run.info.run_id)
    (project_dir / MLFLOW_FILE).write_text(json.dumps(asdict(search_run), indent=2) + "\n")
    return search_run


def end_search_run(search_run: SearchRun, metrics: dict[str, float], failed: bool = False) -> None:
    """The search's counts and best score logged to its parent run, and the run ended."""
    mlflow = client(search_run.tracking_uri)
    try:
        _log_metrics(mlflow, search_run.run_id, metrics)
        mlflow.set_terminated(search_run.run_id, status="FAILED" if failed else "FINISHED")
    except Exception as error:
        raise TrackingError(f"MLflow at {search_run.tracking_uri}: {_reason(error)}") from None


def log_export(project_dir: Path, model_file: Path, report_file: Path, scores: dict[str, float]) -> SearchRun | None:
    """The exported model and its test scores logged to the project's parent run; None when the project was not
    searched with --mlflow."""
    search_run = recorded_run(project_dir)
    if search_run is None:
        return None
    mlflow = client(search_run.tracking_uri)
    try:
        _log_metrics(mlflow, search_run.run_id, {f"export_{name}": value for name, value in scores.items()})
        for file in (model_file, report_file):
            mlflow.log_artifact(search_run.run_id, str(file), artifact_path="export")
    except Exception as error:
        raise TrackingError(f"MLflow at {search_run.tracking_uri}: {_reason(error)}") from None
    return search_run


class TrialTracker:
    """Each trial's nested run, as the process that trains the trial sees it (`TrialRunner.tracker`).

    A failure to log is kept in `errors` (the trial goes on): a search is not lost to a tracking server's hiccup.
    """

    def __init__(self, search_run: SearchRun) -> None:
        self.search_run = search_run
        self.client = client(search_run.tracking_uri)
        self.run_id: str | None = None
        self.errors: list[str] = []

    def trial_started(self, trial_id: str, hyperparameters: dict[str, Any]) -> None:
        def start() -> None:
            run = self.client.create_run(self.search_run.experiment_id, run_name=f"trial {trial_id}",
                                         tags={PARENT: self.search_run.run_id, TRIAL_TAG: trial_id})
            self.run_id = run.info.run_id
            _log_params(self.client, self.run_id, hyperparameters)

        self.run_id = None
        self._try(start)

    def epoch_ended(self, step: int, metrics: dict[str, float]) -> None:
        if self.run_id is not None:
            self._try(lambda: _log_metrics(self.client, self.run_id, metrics, step))

    def trial_ended(self, status: TrialStatus, score: float | None) -> None:
        if self.run_id is None:
            return
        run_id = self.run_id

        def end() -> None:
            if score is not None and math.isfinite(score):
                self.client.log_metric(run_id, "score", score)
            self.client.set_tag(run_id, STATUS_TAG, status.value)
            self.client.set_terminated(run_id, status=status.mlflow_status)

        self._try(end)
        self.run_id = None

    def _try(self, step: Any) -> None:
        try:
            step()
        except Exception as error:
            self.errors.append(_reason(error))


def _exists(mlflow: Any, run_id: str) -> bool:
    try:
        return mlflow.get_run(run_id).info.lifecycle_stage == "active"
    except Exception:
        return False


def _log_params(mlflow: Any, run_id: str, params: dict[str, Any]) -> None:
    from mlflow.entities import Param

    mlflow.log_batch(run_id, params=[Param(str(name), str(value)) for name, value in params.items()])


def _log_metrics(mlflow: Any, run_id: str, metrics: dict[str, float], step: int = 0) -> None:
    import time

    from mlflow.entities import Metric

    stamp = int(time.time() * 1000)
    mlflow.log_batch(run_id, metrics=[Metric(name, float(value), stamp, step) for name, value in metrics.items()
                                      if value is not None and math.isfinite(float(value))])


def _reason(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


class SearchTracking:
    """A search's MLflow tracking (--mlflow, --mlflow-uri; `run`: the run's settings): its parent run, which the
    chief (or the in-process search) starts and ends, and the trial runs of this process (`trial_tracker`)."""

    def __init__(self, project_dir: Path, run: Any, worker: bool = False) -> None:
        self.project_dir = Path(project_dir)
        self.uri = run.get("mlflow_uri")
        self.enabled = bool(run.get("mlflow") or self.uri)
        self.worker = worker
        self.search_run: SearchRun | None = None
        self._trials: TrialTracker | None = None

    def check(self) -> None:
        """Refuse, before the search writes anything, a tracking store named by --mlflow-uri or MLFLOW_TRACKING_URI
        that MLflow cannot use (the default, SQLite in the project folder, it can always make)."""
        uri = tracking_uri(self.project_dir, self.uri)
        if not self.enabled or uri == tracking_uri(self.project_dir):
            return
        mlflow = client(uri)
        try:
            mlflow.search_experiments(max_results=1)
        except Exception as error:
            raise TrackingError(f"MLflow at {uri}: {_reason(error)}; check --mlflow-uri (or MLFLOW_TRACKING_URI), "
                                "or leave it out to log into the project folder") from None

    def start(self, tuner: str, hypermodel: str, options: Any) -> None:
        """The search's parent run, new or (on resume) the project's, running."""
        if not self.enabled:
            return
        params = {"tuner": tuner, "hypermodel": hypermodel,
                  **{name: value for name, value in options.items() if value not in (None, [], {}, ())}}
        tags = {"kerastune.project": str(self.project_dir.resolve()), "kerastune.tuner": tuner}
        self.search_run = start_search_run(self.project_dir, tracking_uri(self.project_dir, self.uri), params, tags)

    def trial_tracker(self) -> TrialTracker | None:
        """This process's trial runs, nested under the search's parent run (a worker finds it in the project)."""
        search_run = recorded_run(self.project_dir) if self.worker else self.search_run
        if self.enabled and search_run is not None and self._trials is None:
            self._trials = TrialTracker(search_run)
        return self._trials

    def end(self, summary: Any, failed: bool = False) -> dict[str, Any] | None:
        """The search's counts and best score in its parent run, which ends; where it is, and what could not be
        logged (None without --mlflow)."""
        if self.search_run is None:
            return None
        errors = list(self._trials.errors) if self._trials is not None else []
        best = summary.best_trials[0].score if summary.best_trials else None
        metrics = {"best_score": best, "trials_finished": summary.trials_finished, "completed": summary.completed,
                   "failed": summary.failed, "pruned": summary.pruned}
        try:
            end_search_run(self.search_run, metrics, failed=failed)
        except TrackingError as error:
            errors.append(str(error))
        return {**asdict(self.search_run), "errors": errors}
