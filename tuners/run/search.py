"""Run one search: check everything first, then keras-tuner's search, then the manifest and summary.

One run loop serves the three ways a search runs: in this process (`Search.run`), as the chief of worker
processes (`workers.chief.run_chief`), and as a worker (`workers.worker.run_worker`). The first two own the
project: `open()` takes its lock, writes the manifest and builds the tuner, whose oracle reports each trial's
end to `trial_ended` (from the chief's service thread, in a parallel search); `check()` applies the time budget
and the failure limit; `close()` writes the summary. The first and the last train trials (`train`).

--time-budget is a deadline (a `time.time()`, recorded in the manifest for the workers): every process stops the
trial it trains there, and the oracle starts no trial after it (run.trial_runner.TrialRunner,
internals.oracle_base.ControlledOracle).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hypermodels
from hypermodels.space import default_values
from kerastune.tuners.integrations import mlflow_runs
from kerastune.tuners.internals import patches
from kerastune.tuners.options import OPTION, ConfigError
from kerastune.tuners.records import trial as trial_record
from kerastune.tuners.records.lock import ProjectLock
from kerastune.tuners.records.project import (
    ProjectError,
    check_project_files,
    check_writable_location,
    discard_project,
    finished_trials,
    load_project,
    now,
    package_versions,
    project_state,
    read_manifest,
    remove_partial_writes,
    write_manifest,
    write_test_rows,
)
from kerastune.tuners.records.summary import SearchSummary, TrialEvent, plural_trials
from kerastune.tuners.records.trial import TrialRecord, TrialStatus
from kerastune.tuners.run import warm_start
from kerastune.tuners.run.experiment import resolve
from kerastune.tuners.run.prepared_hypermodel import PreparedHyperModel, check_takes
from kerastune.tuners.run.trial_runner import TrialSettings
from kerastune.tuners.run.tuner import build_tuner, planned_trials, prune_rule, search_arguments
from kerastune.tuners.strategies import spec
from kerastune.tuners.strategies.policies import Deadline, FirstConfigurations, ModelSizeLimit, Policies
from kerastune.tuners.strategies.study import make_pruner
from kerastune.tuners.tf_noise import quiet_keras_noise

TOP_TRIALS = 5


class TrialsFailedError(RuntimeError):
    """Every trial failed, or as many in a row as the search allows."""


class Search:
    """A search checked and ready to run: construction resolves and checks everything and touches no file.

    `worker=True`: a worker joining the project's search, which takes the experiment and the run's settings
    from the project's manifest (the chief wrote it).
    """

    def __init__(self, config: Any, data: Any, *, worker: bool = False) -> None:
        from kerastune.data import DataSpec, spec_of

        self.config = config
        self.data = data  # a data.Dataset
        # the hypermodel, told the data's spec, behind its preprocessing layers
        self.hypermodel = PreparedHyperModel(hypermodels.get(config.hypermodel), spec_of(data))
        check_takes(self.hypermodel, config.hypermodel)  # what the space says it takes, before it is built
        space = hypermodel_space(self.hypermodel.hypermodel, config.hypermodel)
        check_takes(self.hypermodel, config.hypermodel, data.x_train[:2])  # and its default model, on 2 examples
        space_rows = hypermodels.describe_space(space)  # the whole space: a resume checks it is unchanged
        check_fit_options(config, [row["name"] for row in space_rows])
        check_writable_location(config.project_dir)
        self.discarding = None if worker else _discarding(config)
        previous = _joined_manifest(config) if worker else _previous_manifest(config)
        if previous is not None:
            check_project_files(config.project_dir)
        self.experiment, self.split, self.searched_space = resolve(
            config, space=space, space_rows=space_rows,
            fit_defaults=hypermodels.fit_defaults(self.hypermodel.hypermodel), data=data, previous=previous,
            worker=worker,
        )
        self.hypermodel.use(DataSpec.from_dict(self.experiment.data["spec"]))
        # --enqueue's configurations, whole and checked against the space searched
        self.enqueued = [enqueued(self.searched_space, texts) for texts in self.experiment.run.get("enqueue") or []]
        self.warm_start = None  # --from: the earlier search's trials to import
        if getattr(config, "from_project", None) is not None:
            if previous is not None:
                raise ConfigError(f"--from seeds a new search, and {config.project_dir} already holds one: leave "
                                  "--from out to resume it, or use --overwrite / --name to start another")
            if Path(config.from_project).resolve() == Path(config.project_dir).resolve():
                raise ConfigError(f"--from {config.from_project} is this search's own project: name an earlier one")
            self.warm_start = warm_start.plan(config.from_project, self.experiment, self.searched_space)
        steps = self.experiment.run.get("steps_per_execution")
        self.hypermodel.steps_per_execution = steps or OPTION["steps_per_execution"].default
        self.previous = previous
        self.resumed = previous is not None
        self.trials_before = len(finished_trials(config.project_dir)) if self.resumed else 0
        self.planned: int | None = None  # trials in the plan, once the tuner knows
        self.summary: SearchSummary | None = None  # set when the search ends, however it ends
        self.error: Exception | None = None  # why the search must stop, found as a trial ended
        self.on_trial: Callable[[TrialEvent], None] | None = None
        self.started = time.monotonic()
        # when --time-budget runs out: set by open(); a worker reads the chief's in the manifest at each trial
        self.deadline = Deadline(read=self._recorded_deadline) if worker else Deadline()
        self.worker = worker
        self.in_process = False  # set by `run`: trials are trained in this process, not by workers
        self.tracking = mlflow_runs.SearchTracking(config.project_dir, self.experiment.run, worker=worker)
        # --max-params: each configuration's model counted once, for the first lines and the oracle alike
        self.size_limit = ModelSizeLimit(self.options.get("max_params"), self.count_params)
        self.oracle: Any = None
        self.manifest: dict[str, Any] = {}
        self._lock = ProjectLock(config.project_dir)

    @property
    def options(self) -> Any:
        return self.experiment.options

    @property
    def defaults(self) -> dict[str, Any] | None:
        """The space's defaults, which a new search tries first (not grid's, nor with --no-defaults-first)."""
        if not spec.named(self.config.tuner).chooses or self.experiment.run.get("no_defaults_first"):
            return None
        return default_values(self.searched_space)

    def oversized_defaults(self) -> int | None:
        """The parameters of the defaults' model when they exceed --max-params (so a new search draws its first
        trial instead of trying them), else None."""
        limit, defaults = self.size_limit.max_params, self.defaults
        if limit is None or defaults is None or self.resumed:
            return None
        params = self.size_limit.params(defaults)
        return params if params > limit else None

    @property
    def project_dir(self) -> Path:
        return self.config.project_dir

    def build_tuner(self, watchdog: Any = None, on_trial_done: Callable[[Any, float], None] | None = None) -> Any:
        """The keras-tuner tuner for the project (new, or reloaded to resume), its oracle enforcing the search's
        policies and reporting each trial's end to `trial_ended`. A worker's (`watchdog`: its heartbeat;
        `on_trial_done`: told of each trial it ran) proxies the chief's oracle."""
        policies = Policies(
            deadline=self.deadline,
            first=FirstConfigurations(self.enqueued, self.defaults),
            size_limit=self.size_limit,
            pruner=make_pruner(prune_rule(self.experiment)),
        )
        settings = TrialSettings(seed=self.experiment.seed, prune=prune_rule(self.experiment), folds=self.split.folds,
                                 deadline=self.deadline, watchdog=watchdog, tracker=self.tracking.trial_tracker(),
                                 on_trial_done=on_trial_done)
        return build_tuner(self.experiment, self.hypermodel, self.project_dir, hyperparameters=self.searched_space,
                           settings=settings, policies=policies,
                           on_trial_end=None if self.worker else self.trial_ended)

    def _recorded_deadline(self) -> float | None:
        """The deadline of the chief's current run, as its manifest records it (a worker's)."""
        return (read_manifest(self.project_dir) or {}).get("run", {}).get("deadline")

    def count_params(self, values: dict[str, Any]) -> int:
        """The parameters of the model a configuration builds (its preprocessing included, as exported)."""
        hps = self.searched_space.copy()
        hps.values = dict(values)
        return int(self.hypermodel.build(hps).count_params())

    def train(self, tuner: Any, on_epoch: Callable[[int, int], None] | None = None) -> None:
        """Run trials with `tuner` until its oracle has none left (in this process, or a worker)."""
        x, kwargs = search_arguments(self.experiment, self.data, self.split, self.hypermodel, self.project_dir,
                                     verbose=self.config.verbose, on_epoch=on_epoch)
        # Keras and keras-tuner collect garbage at every trial (clear_session, Tuner._try_build): 0.2 s each over
        # TensorFlow's many objects. Frozen, the objects alive now (modules, data) are not scanned again until the
        # search ends (a notebook's later garbage is collected as before).
        gc.collect()
        gc.freeze()
        try:
            with quiet_keras_noise():
                tuner.search(*x, **kwargs)
        finally:
            gc.unfreeze()

    def open(self, on_trial: Callable[[TrialEvent], None] | None = None) -> Any:
        """Take the project's lock (one writer per project), discard the old project if --overwrite, write the
        manifest, and build the tuner, whose oracle reports each trial's end to `trial_ended`.

        The manifest is written before keras-tuner writes anything, so that a search killed at any moment
        leaves a project that the same command resumes.
        """
        self._lock.acquire()
        try:
            self.tracking.check()  # an MLflow store it cannot use: refused before anything is written
        except BaseException:
            self._lock.release()
            raise
        self.started = time.monotonic()
        self.deadline.at = Deadline.after(self.experiment.run.get("time_budget")).at
        self.on_trial = on_trial
        try:
            if self.config.overwrite and self.project_dir.is_dir():
                discard_project(self.project_dir)
            remove_partial_writes(self.project_dir)
            write_test_rows(self.project_dir, self.data.test_rows)
            self.manifest = self._manifest()
            write_manifest(self.project_dir, self.manifest)
            self.tracking.start(self.config.tuner, self.config.hypermodel, self.options)
            tuner = self.build_tuner()
            self.oracle = tuner.oracle
            if self.warm_start is not None:
                imported = warm_start.import_trials(tuner.oracle, self.project_dir, self.warm_start)
                self.manifest["warm_start"] = {
                    "project": str(self.warm_start.project),
                    "imported": dict(zip(imported, (t["trial_id"] for t in self.warm_start.trials), strict=True)),
                    "skipped": dict(self.warm_start.skipped),
                }
            self.planned = planned_trials(tuner)
            self.manifest = self._manifest()
            write_manifest(self.project_dir, self.manifest)
        except BaseException:
            self._lock.release()
            raise
        return tuner

    def trial_ended(self, trial: Any, worker: str | None, duration: float) -> None:
        """The oracle's report of a trial that has ended: record it, tell the display, apply the limits.

        Runs inside the oracle's `end_trial`: nothing may escape it (see oracle_base.ControlledOracle). A
        failure here stops the search, and `close` raises it.
        """
        try:
            worker = None if self.in_process else worker  # keras-tuner names the one tuner of a process "tuner0"
            trial_record.write(trial_record.folder(self.project_dir, trial.trial_id), trial_record.RUN_FILE,
                               {"duration_s": round(duration, 2), "worker": worker})
            event = self.event(trial, len(self.oracle.end_order) - len(self.oracle.imported), duration, worker)
            if self.on_trial is not None:
                self.on_trial(event)
            self.check()
        except Exception as error:  # stop the search cleanly instead of leaving the oracle's lock held
            self.stop(error)

    def check(self) -> None:
        """Stop the search when the last --max-consecutive-failures trials all failed, and start no new trial
        once --time-budget is spent (the running ones stop at their next batch, then the search ends with its
        summary)."""
        limit = self.experiment.run.get("max_consecutive_failures")
        if limit is not None and self.error is None:
            error = consecutive_failures(self.oracle, limit, self.project_dir)
            if error is not None:
                self.stop(error)
        self.oracle.close_at_deadline()

    def stop(self, error: Exception) -> None:
        """Start no new trial, and end the search with `error` once the running trials are done."""
        self.error = self.error or error
        self.oracle.close()

    def close(self) -> SearchSummary:
        """Summarize the project's trials, record the summary in the manifest, release the project."""
        try:
            summary = self._summary(time.monotonic() - self.started)
            summary.mlflow = self.tracking.end(summary, failed=self.error is not None)
            self.manifest["summary"] = summary.to_dict()
            self.manifest.setdefault("runs", []).append(
                {"finished": now(), "wall_time_s": round(summary.wall_time_s, 1),
                 "trials_finished": summary.trials_finished - summary.trials_before}
            )
            write_manifest(self.project_dir, self.manifest)
            self.summary = summary
        finally:
            self._lock.release()
        return summary

    def check_outcome(self, summary: SearchSummary) -> None:
        """Raise why the search stopped early, or, when every trial failed, why the last one did."""
        if self.error is not None:
            raise self.error
        if summary.completed == 0 and summary.failed > 0:
            last = self.result(self.oracle.trials[self.oracle.end_order[-1]])
            raise TrialsFailedError(
                f"all {plural_trials(summary.failed)} failed; the last one said: "
                f"{last.message or 'nothing (see the workers logs)'}"
            )

    def run(
        self,
        on_trial: Callable[[TrialEvent], None] | None = None,
        on_epoch: Callable[[int, int], None] | None = None,
    ) -> SearchSummary:
        """Search in this process, writing the manifest before the first trial and after the last.

        `on_trial(event)` is called as each trial ends, `on_epoch(epoch, epochs)` as each epoch does.
        """
        self.in_process = True
        with patches.patched():
            tuner = self.open(on_trial)
            try:
                self.train(tuner, on_epoch)
            finally:
                summary = self.close()
        self.check_outcome(summary)
        return summary

    def event(self, trial: Any, number: int, duration: float, worker: str | None = None) -> TrialEvent:
        """The progress event for a trial the oracle has just ended."""
        best = self.oracle.get_best_trials(1)  # keras-tuner's ranking: COMPLETED trials (the ranked ones)
        return TrialEvent(
            number=number,
            planned=self.planned,
            trial=self.result(trial),
            best=self.result(best[0]) if best else None,
            duration_s=duration,
            elapsed_s=time.monotonic() - self.started,
            worker=worker,
        )

    def result(self, trial: Any) -> TrialRecord:
        """A keras-tuner trial of this search, as its record says."""
        return TrialRecord.from_state(trial.get_state(), self.project_dir, order=self.experiment.space_order,
                                      cv=self.options["cv"])

    def _manifest(self) -> dict[str, Any]:
        manifest = dict(self.manifest or self.previous or {"created": now()})
        manifest.update(self.experiment.to_manifest(), versions=package_versions())
        if self.deadline.at is not None:
            manifest["run"] = {**manifest["run"], "deadline": self.deadline.at}
        return manifest

    def _summary(self, wall_time: float) -> SearchSummary:
        oracle = self.oracle
        trials = [self.result(oracle.trials[i]) for i in oracle.end_order if i in oracle.trials]
        records = {trial.trial_id: trial for trial in trials}  # each read once from its folder
        statuses = [trial.status for trial in trials]
        ranked = sum(status.ranked for status in statuses)
        best = [records.get(t.trial_id) or self.result(t) for t in oracle.get_best_trials(TOP_TRIALS)]
        experiment = self.experiment.to_manifest()
        return SearchSummary(
            project_dir=str(self.project_dir),
            tuner=self.config.tuner,
            hypermodel=self.config.hypermodel,
            objective=oracle.objective.name,
            direction=oracle.objective.direction,
            options=experiment["options"],
            data=experiment["data"],
            resumed=self.resumed,
            trials_before=self.trials_before,
            trials_finished=len(trials),
            completed=ranked,
            failed=statuses.count(TrialStatus.FAILED),
            pruned=statuses.count(TrialStatus.PRUNED),
            oversized=len(oracle.oversized),
            warm_started=len(oracle.imported),
            planned=self.planned,
            wall_time_s=wall_time,
            time_budget_spent=oracle.budget_spent,
            stopped_by_budget=[t.trial_id for t in trials[self.trials_before:] if t.status is TrialStatus.STOPPED],
            to_rerun=list(oracle.unstarted_by_budget),
            unfinished=[trial_id for trial_id in oracle.trials
                        if trial_id not in oracle.end_order and trial_id not in oracle.unstarted_by_budget],
            best_trials=best,
        )


def enqueued(space: Any, texts: dict[str, str]) -> dict[str, Any]:
    """An --enqueue configuration, whole, with values the space can take (on its steps)."""
    from kerastune.tuners.strategies.study import fits

    values = hypermodels.parse_configuration(space, texts)
    reason = fits(space, values)
    if reason is not None:
        given = ",".join(f"{name}={text}" for name, text in texts.items())
        raise ConfigError(f"--enqueue {given}: {reason} (see `kerastune space` for its values)")
    return values


def consecutive_failures(oracle: Any, limit: int, project_dir: Path) -> TrialsFailedError | None:
    """The error to stop with when the last `limit` trials all failed."""
    last = [oracle.trials[i] for i in list(oracle.end_order)[-limit:]]
    if len(last) < limit or any(str(t.status) != "FAILED" for t in last):
        return None
    reason = trial_record.failure_reason(trial_record.folder(project_dir, last[-1].trial_id), last[-1].message)
    return TrialsFailedError(
        f"the search stopped after {plural_trials(limit)} failed in a row (--max-consecutive-failures "
        f"{limit}); the last one said: {reason or 'nothing (see the workers logs)'}"
    )


def check_fit_options(config: Any, space_names: list[str]) -> None:
    """Refuse --batch-size or --epochs for a space that tunes that fit argument itself."""
    for option in ("batch_size", "epochs"):
        value = getattr(config, option)
        if value is not None and option in space_names:
            flag = "--" + option.replace("_", "-")
            raise ConfigError(
                f"{config.hypermodel!r} tunes {option} itself: pin it with --fix {option}={value} "
                f"instead of {flag}"
            )


def hypermodel_space(hypermodel: Any, name: str) -> Any:
    """The hypermodel's whole search space, turning a failure of the user's build code into a clear error."""
    try:
        return hypermodels.search_space(hypermodel)
    except Exception as error:  # user code: any failure is a bad hypermodel, not a crash of ours
        raise hypermodels.HypermodelError(
            f"hypermodel {name!r} failed to build with its default hyperparameters: "
            f"{type(error).__name__}: {trial_record.last_line(str(error))}"
        ) from error


def _discarding(config: Any) -> str | None:
    """What --overwrite is about to discard, in words; None when there is nothing to discard."""
    if not config.overwrite or project_state(config.project_dir) in ("new", "other"):
        return None
    try:
        manifest = read_manifest(config.project_dir)
    except ProjectError:
        manifest = None
    finished = plural_trials(len(finished_trials(config.project_dir)))
    if manifest is None:
        return f"the keras-tuner project in {config.project_dir} ({finished} finished)"
    return (
        f"the {manifest.get('tuner')} search of {manifest.get('hypermodel')!r} in {config.project_dir} "
        f"({finished} finished)"
    )


def _previous_manifest(config: Any) -> dict[str, Any] | None:
    """The manifest of the project to resume, None for a new one; refuses what cannot be resumed."""
    state = project_state(config.project_dir)
    if state == "other":
        raise ProjectError(
            f"{config.project_dir} exists and is not a tuning project; "
            "choose another --name or --dir (kerastune will not delete it)"
        )
    if config.overwrite or state == "new":
        return None
    if state == "keras-tuner":
        raise ProjectError(
            f"{config.project_dir} holds keras-tuner files but no kerastune manifest (a keras-tuner project, "
            "or an --overwrite that was cut short); use --overwrite to replace it, or another --name"
        )
    return _same_search(config, read_manifest(config.project_dir) or {})


def _joined_manifest(config: Any) -> dict[str, Any]:
    """The manifest of the project a worker joins (its chief wrote it before serving)."""
    return _same_search(config, load_project(config.project_dir))


def _same_search(config: Any, manifest: dict[str, Any]) -> dict[str, Any]:
    for key, value in (("tuner", config.tuner), ("hypermodel", config.hypermodel)):
        if manifest.get(key) != value:
            raise ProjectError(
                f"{config.project_dir} is a {manifest.get('tuner')} search of "
                f"{manifest.get('hypermodel')!r}, not a {config.tuner} search of {config.hypermodel!r}: "
                "use another --name, or --overwrite to discard it"
            )
    return manifest
