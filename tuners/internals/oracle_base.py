"""The oracle base of kerastune's strategies: keras-tuner's oracles, controlled. keras-tuner's private oracle state
is touched here only; the strategies' oracles (strategies/oracles.py) build on the public methods below."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras_tuner as kt
from keras_tuner.src.engine import metrics_tracking

from kerastune.tuners.records import trial as trial_record
from kerastune.tuners.records.project import LOGS_NAME
from kerastune.tuners.strategies.policies import Policies
from kerastune.tuners.strategies.study import StudyMirror, TrialState

MAX_DRAWS = 100  # how many configurations an oracle draws for a new trial before it gives up (duplicates, too big)
RUNNING, STOPPED, IDLE = (kt.engine.trial.TrialStatus.RUNNING, kt.engine.trial.TrialStatus.STOPPED,
                         kt.engine.trial.TrialStatus.IDLE)
COMPLETED, FAILED = kt.engine.trial.TrialStatus.COMPLETED, kt.engine.trial.TrialStatus.FAILED
# The metric name under which a trial reports its objective after each epoch (`update_trial`), for pruning: the
# oracle records it in its study (not in the trial's metrics), and answers STOPPED, with the metric PRUNED_MARK
# registered, to prune the trial. A STOPPED answer without it means that the trial is no longer the caller's
# (OracleServicer: the chief gave it to another worker).
EPOCH_SCORE = "kerastune/epoch_score"
PRUNED_MARK = "kerastune/pruned"


def pruned_reply(trial: Any) -> bool:
    """Whether the oracle's answer to an epoch's report says: prune the trial."""
    return trial.status == STOPPED and trial.metrics.exists(PRUNED_MARK)


class WorkerWatch:
    """Who runs what, and when each worker was last heard from (`heard_from`, `silent_workers`), so that the chief
    can give the trial of a silent worker to another (`take_back`): keras-tuner keeps it assigned until a worker of
    the same id returns. A mixin of ControlledOracle."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.trial_started: dict[str, float] = {}  # trial id -> when its current run started (monotonic)
        self.last_heard: dict[str, float] = {}  # worker (tuner id) -> when it last called (monotonic)
        self.ended_by: dict[str, str | None] = {}  # trial id -> the worker whose run of it was recorded

    def runner_of(self, trial_id: str) -> str | None:
        """The worker running a trial, if one is."""
        return next((worker for worker, trial in self.ongoing_trials.items() if trial.trial_id == trial_id), None)

    def runs(self, worker: str, trial_id: str) -> bool:
        trial = self.ongoing_trials.get(worker)
        return trial is not None and trial.trial_id == trial_id

    def ran(self, worker: str, trial_id: str) -> bool:
        """Whether the worker runs the trial, or its run of it is the one recorded."""
        return self.runs(worker, trial_id) or self.ended_by.get(trial_id, "") == worker

    def heard_from(self, worker: str) -> None:
        self.last_heard[worker] = time.monotonic()

    def silent_workers(self, timeout: float) -> list[str]:
        """Workers that hold a trial, or wait for one, and have not been heard from for `timeout` seconds.

        A waiting worker (told IDLE, or between two trials) stays in keras-tuner's `tuner_ids` until it is told
        STOPPED (engine/oracle.py:457, 502-503), and `tuner_ids` must be empty for the search to be done
        (distribute/oracle_chief.py:71-73, service.OracleServer.search_done): one that died while it waited (it
        asks every IDLE_WAIT_SECONDS) is forgotten by `take_back` after `timeout`, or the chief would wait for it
        forever."""
        now = time.monotonic()
        return [worker for worker in [*self.ongoing_trials, *(self.tuner_ids - set(self.ongoing_trials))]
                if now - self.last_heard.get(worker, now) > timeout]

    @kt.synchronized
    def take_back(self, worker: str) -> Any:
        """Take a silent worker's trial back: it goes to the front of the queue, from scratch. Returns it."""
        trial = self.ongoing_trials.get(worker)
        self.tuner_ids.discard(worker)
        self.last_heard.pop(worker, None)
        if trial is not None:
            self._hand_back(trial.trial_id)
        return trial


class ControlledOracle(WorkerWatch):
    """What a kerastune search needs of keras-tuner's oracles (a mixin before keras-tuner's oracle class), given
    its `policies` (strategies.policies) and `on_trial_end` when it is made:

    - `policies.deadline` (--time-budget): once it has passed, no trial starts any more (`budget_spent` says so),
      and a trial ended with status STOPPED (the budget stopped it before its first epoch ended) goes back to the
      queue, from scratch, to run on resume.
    - `close()`: no trial starts any more, retried ones included. keras-tuner hands out trials from its retry
      queue before it checks `max_trials` (engine/oracle.py:459-472, no upstream issue), so lowering
      `max_trials` cannot stop a search that has interrupted trials to rerun.
    - `on_trial_end(trial, worker, duration)`: called as each trial ends, in the process that owns the oracle
      (the in-process search, or the chief, from its service's thread). It must not raise: an exception inside
      an oracle method leaves the oracle's lock held (`synchronized` has no try/finally, engine/oracle.py:104-112),
      which stalls a chief (keras-tuner issue #915).
    - `policies.first` (--enqueue, then the defaults): configurations tried before the strategy chooses;
      `policies.size_limit` (--max-params): configurations refused before they train, never drawn again.
    - `study` (a study.StudyMirror, with `policies.pruner` or for a strategy that samples with Optuna, `sampler`):
      each trial run is an Optuna trial too. A trial
      reports its objective after each epoch through `update_trial` (metric EPOCH_SCORE, in one process or from
      a worker through the chief's service); the oracle answers STOPPED when the pruner prunes it (keras-tuner
      leaves this as a TODO in `Oracle.update_trial` and `OracleClient.update_trial`). A pruned trial ends with
      status STOPPED, scored at its best epoch so far: keras-tuner ranks only COMPLETED trials. `pruned` holds
      their ids; both are kept in `oracle.json`.
    - who runs what (WorkerWatch). A worker is told to wait (IDLE), not to stop, while another still holds a
      trial, which may come back (`create_trial`).
    """

    def __init__(self, *args: Any, policies: Policies | None = None,
                 on_trial_end: Callable[[Any, str | None, float], None] | None = None,
                 sampler: Callable[[int], Any] | None = None, **kwargs: Any) -> None:
        """`on_trial_end(trial, worker, duration)` hears of each trial that ends; `sampler(n)`, for a strategy that
        samples with Optuna, makes its sampler for a run that starts after n finished trials (so that a resumed run
        draws anew)."""
        super().__init__(*args, **kwargs)
        self.policies = policies or Policies()
        self.on_trial_end = on_trial_end
        self.closed = False
        self.imported: list[str] = []  # trials of an earlier search (--from): they do not count in max_trials
        self.budget_spent = False
        self.unstarted_by_budget: list[str] = []  # trials the budget stopped before their first epoch, this run
        self.pruned: set[str] = set()  # trials the pruner stopped (their runs that were recorded, or are running)
        self._saved_study: dict[str, Any] = {}  # a reloaded oracle's study notes, until the study is rebuilt
        self._study_rebuilt = False
        self._make_study = None
        self.study: StudyMirror | None = None
        if sampler is not None or self.policies.pruner is not None:
            self._make_study = lambda finished: StudyMirror(
                self.hyperparameters, self.objective.direction, sampler=sampler(finished) if sampler else None,
                pruner=self.policies.pruner)
            self.study = self._make_study(0)

    @property
    def oversized(self) -> list[dict[str, Any]]:
        """The configurations --max-params refused: {"values", "params"}."""
        return self.policies.size_limit.oversized

    def mirror(self) -> StudyMirror | None:
        """The study, with the trials of earlier runs added on first use (called locked)."""
        if self.study is not None and not self._study_rebuilt:
            self._study_rebuilt = True
            self.study = self._make_study(len(self.end_order))
            for trial_id in self.end_order:
                trial = self.trials.get(trial_id)
                if trial is not None:
                    self.study.add_finished(trial_id, trial.hyperparameters.values, self.study_state(trial),
                                            trial.score, self._saved_study.get(trial_id))
        if self.study is not None:
            self.study.space = self.hyperparameters
        return self.study

    def study_state(self, trial: Any) -> TrialState:
        if trial.status == COMPLETED:
            return TrialState.COMPLETE
        return TrialState.PRUNED if trial.status == STOPPED and trial.trial_id in self.pruned else TrialState.FAIL

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        kept = {**self._saved_study, **(self.study.kept if self.study is not None else {})}
        state["kerastune"] = {"pruned": sorted(self.pruned), "study": kept, "oversized": self.oversized,
                              "imported": self.imported}
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        ours = state.get("kerastune", {})
        self.pruned = set(ours.get("pruned", []))
        self._saved_study = dict(ours.get("study", {}))
        self.policies.size_limit.oversized = list(ours.get("oversized", []))
        self.imported = list(ours.get("imported", []))
        if self.max_trials:
            self.max_trials += len(self.imported)

    @kt.synchronized
    def update_trial(self, trial_id: str, metrics: dict[str, float], step: int = 0) -> Any:
        if EPOCH_SCORE not in metrics:
            return super().update_trial(trial_id, metrics, step)
        study = self.mirror()
        if study is not None and trial_id in self.trials and study.report(trial_id, int(step), metrics[EPOCH_SCORE]):
            self.pruned.add(trial_id)
        if trial_id in self.pruned:
            reply = kt.engine.trial.Trial(self.get_space(), trial_id=trial_id, status=STOPPED)
            reply.metrics.register(PRUNED_MARK)
            return reply
        return self.trials[trial_id]

    def close(self) -> None:
        self.closed = True

    def close_at_deadline(self) -> None:
        """Close the oracle, and say that the budget is spent, once the deadline has passed."""
        if not self.closed and self.policies.deadline.passed():
            self.closed = self.budget_spent = True

    # What the strategies' oracles build on (strategies/oracles.py): public, unlike the keras-tuner methods below.

    def tried(self, values: dict[str, Any]) -> bool:
        """Whether a configuration was tried already (or is being tried, or was refused)."""
        return self._duplicate(values)

    def random_values(self) -> dict[str, Any] | None:
        """A random configuration not tried yet and within --max-params, after the configurations to try first
        (None when keras-tuner's draws find none)."""
        return self._random_values()

    def first_values(self) -> dict[str, Any] | None:
        """The next configuration to try before the strategy chooses (`policies.first`), if one is left."""
        return self.policies.first.next(new_search=not self.trials, tried=self.tried)

    def small_enough(self, values: dict[str, Any]) -> bool:
        """Whether a configuration's model is within --max-params (`policies.size_limit`). One that is not is
        marked as tried, so that no draw proposes it again."""
        if self.policies.size_limit.allows(values):
            return True
        self._tried_so_far.add(self._compute_values_hash(values))
        return False

    def _random_values(self) -> dict[str, Any] | None:
        """The random values keras-tuner draws for a new trial, after the configurations to try first
        (`first_values`), and within --max-params. Random search, Hyperband and Bayesian optimization's initial
        points all draw here; grid search does not."""
        for _ in range(MAX_DRAWS):
            values = self.first_values() or super()._random_values()
            if values is None or self.small_enough(values):
                return values
        return None

    @kt.synchronized
    def create_trial(self, tuner_id: str) -> Any:
        self.last_heard[tuner_id] = time.monotonic()
        self.close_at_deadline()
        if self.closed and tuner_id not in self.ongoing_trials:
            self.tuner_ids.discard(tuner_id)  # as keras-tuner does for a worker it stops
            return kt.engine.trial.Trial(self.get_space(), status=STOPPED)
        study = self.mirror()
        trial = super().create_trial(tuner_id)
        if trial.status == STOPPED and self.ongoing_trials:
            # keras-tuner stops a worker as soon as --max-trials trials exist (engine/oracle.py:472-474) or the
            # space is used up, and forgets it (oracle.py:502-503), while other workers still hold trials. One of
            # those may come back to the queue (`take_back`: a worker gone silent), and keras-tuner hands out
            # queued trials first (oracle.py:459-466), but no worker would be left to run it: the search ended
            # short of its plan. The worker waits instead (IDLE) and asks again, until no trial is out.
            self.tuner_ids.add(tuner_id)
            return kt.engine.trial.Trial(self.get_space(), status=IDLE)
        if trial.status == RUNNING:
            self.trial_started.setdefault(trial.trial_id, time.monotonic())
            if study is not None:
                study.start(trial.trial_id, trial.hyperparameters.values)
        return trial

    @kt.synchronized
    def end_trial(self, trial: Any) -> None:
        pruned = trial.trial_id in self.pruned and trial.status == COMPLETED
        if pruned:
            trial.status = STOPPED  # ranked by nobody, and not run again
        elif trial.status == STOPPED:  # the time budget stopped it before its first epoch ended
            if self.runner_of(trial.trial_id) is not None:  # else it was taken back (and queued) already
                self._hand_back(trial.trial_id)
                self.unstarted_by_budget.append(trial.trial_id)
            return
        worker = self.runner_of(trial.trial_id)
        study = self.mirror()
        if pruned:
            self.score_trial(self.trials[trial.trial_id])  # at its best epoch so far, before it is saved
        super().end_trial(trial)
        recorded = self.trials[trial.trial_id]
        if study is not None:
            study.finish(trial.trial_id, self.study_state(recorded), recorded.score)
            self.save()  # the study's notes of this trial (its epochs' scores, the pruner's marks)
        self.ended_by[trial.trial_id] = worker
        started = self.trial_started.pop(trial.trial_id, None)
        if self.on_trial_end is not None:
            duration = 0.0 if started is None else time.monotonic() - started
            self.on_trial_end(self.trials[trial.trial_id], worker, duration)

    @kt.synchronized
    def add_finished_trial(self, trial: Any, pruned: bool = False) -> None:
        """Record a trial that finished elsewhere (--from) as one of this search's, ended as it ended. It does not
        count against max_trials."""
        self.trials[trial.trial_id] = trial
        self.start_order.append(trial.trial_id)
        self.end_order.append(trial.trial_id)
        self._record_values(trial)  # not drawn again
        self._run_times[trial.trial_id] += 1
        if pruned:
            self.pruned.add(trial.trial_id)
        self.imported.append(trial.trial_id)
        if self.max_trials:
            self.max_trials += 1
        self._save_trial(trial)
        self.save()

    def _hand_back(self, trial_id: str) -> None:
        """Put a running trial back at the front of the queue, to run again from scratch (called locked)."""
        for worker, ongoing in list(self.ongoing_trials.items()):
            if ongoing.trial_id == trial_id:
                del self.ongoing_trials[worker]
        trial = self.trials[trial_id]
        self.trial_started.pop(trial_id, None)
        if self.study is not None:
            self.study.drop(trial_id)
        _forget_partial_run(self, trial)
        trial.status = kt.engine.trial.TrialStatus.IDLE
        if trial_id not in self._retry_queue:
            self._retry_queue.append(trial_id)
        self._save_trial(trial)
        self.save()


class ParallelGrid:
    """keras-tuner's grid search, parallel (a mixin before its oracle class): every trial it starts is queued at
    once for its next combination.

    keras-tuner makes each new combination from a trial id popped from `_populate_next`, one per id
    (tuners/gridsearch.py:186-205), and answers IDLE when that queue is empty (gridsearch.py:213-216). It queues a
    trial id when the trial ends (gridsearch.py:315-323) and, while it runs, only for the very first trial
    (gridsearch.py:179-184). So after the first two trials a new one starts only when one ends: the worker that
    ended it asks at once and gets it, the other is told IDLE until --max-trials is reached, and a grid search runs
    on one worker. Queued as it starts, the running trial gives the next worker the combination after it;
    gridsearch.py:196-201 skips a combination already tried, so the grid is walked in the same order as by one
    worker. (keras-tuner waits for the end of a trial in case new hyperparameters appear in it; kerastune gives the
    oracle the whole space before the search, and a trial is still queued again when it ends.)"""

    def populate_space(self, trial_id: str) -> dict[str, Any]:
        response = super().populate_space(trial_id)
        if response["status"] == RUNNING and trial_id not in self._populate_next:
            self._populate_next.append(trial_id)
        return response

    def set_state(self, state: dict[str, Any]) -> None:
        """A reloaded grid goes on where it was: keras-tuner keeps its walk over the grid (`_ordered_ids`, the
        trials in grid order, and `_populate_next`) in memory only (tuners/gridsearch.py:147-151, no get_state), so
        a resumed grid search answered STOPPED and --max-trials could not extend it. Both are rebuilt from the
        trials: each one's next combination is tried, and those tried already are skipped (gridsearch.py:196-201)."""
        import functools

        super().set_state(state)
        self._ordered_ids = type(self._ordered_ids)()
        ordered = sorted(self.trials, key=functools.cmp_to_key(
            lambda a, b: self._compare(self.trials[a].hyperparameters.values, self.trials[b].hyperparameters.values)))
        previous = None
        for trial_id in ordered:
            self._ordered_ids.insert(trial_id, previous)
            previous = trial_id
        self._populate_next = list(ordered)


class CompletedTrialsOnlyGaussianProcess:
    """keras-tuner's Bayesian optimization, its Gaussian process fitted to the completed trials only (a mixin before
    its oracle class): keras-tuner's `_vectorize_trials` scores a trial that is neither completed, failed nor
    running (a pruned one, or one waiting to rerun) with the previous trial's score, or fails on it
    (bayesian.py:230-272, no upstream issue)."""

    def _vectorize_trials(self) -> Any:
        all_trials = self.trials
        running = set(self.ongoing_trials.values())
        self.trials = {trial_id: trial for trial_id, trial in all_trials.items()
                       if trial in running or trial.status in (COMPLETED, FAILED, "INVALID")}
        try:
            return super()._vectorize_trials()
        finally:
            self.trials = all_trials

    def random_populate_space(self) -> dict[str, Any]:
        """keras-tuner's random draw for the Gaussian process's oracle (its initial points)."""
        return self._random_populate_space()


def _forget_partial_run(oracle: Any, trial: Any) -> None:
    """Drop what a cut-short run of a trial recorded (metrics, score, TensorBoard logs): it runs again from scratch."""
    trial.metrics = metrics_tracking.MetricsTracker()
    trial.score, trial.best_step, trial.message = None, 0, None
    oracle.pruned.discard(trial.trial_id)
    shutil.rmtree(Path(oracle._project_dir) / LOGS_NAME / str(trial.trial_id), ignore_errors=True)
    trial_record.forget_run(trial_record.folder(oracle._project_dir, trial.trial_id))


def restart_interrupted_trials(oracle: Any) -> None:
    """Make a reloaded oracle rerun, from scratch, the trials a killed search left unfinished.

    keras-tuner queues the trials that `oracle.json` lists as running for a retry. But its `end_trial` saves
    `oracle.json` before it takes the ended trial off the running list (engine/oracle.py:590-600), so a trial
    that had finished may be listed as running too: it is kept as it finished, not rerun (which would count it
    twice). The others are rerun from scratch, their partial results dropped. A trial whose own file was
    written but which `oracle.json` never recorded (the process died between the two writes) is forgotten:
    the oracle creates it again under the same id.
    """
    started, finished = set(oracle.start_order), set(oracle.end_order)
    for trial_id in [t for t in oracle.trials if t not in started]:
        del oracle.trials[trial_id]
    oracle._retry_queue = [t for t in oracle._retry_queue if t not in finished]
    for trial_id in oracle._retry_queue:
        _forget_partial_run(oracle, oracle.trials[trial_id])


def hyperband_trials(oracle: Any) -> int:
    """How many trials a Hyperband oracle plans: the bracket sizes it uses, over its iterations."""
    return sum(
        oracle._get_size(bracket, round_num)
        for bracket in range(oracle._get_num_brackets())
        for round_num in range(oracle._get_num_rounds(bracket))
    ) * int(oracle.hyperband_iterations)


