"""Parallel and distributed search on keras-tuner's own chief/worker oracle service (gRPC).

The chief holds the one real oracle and serves it with keras-tuner's `OracleServicer`; workers
are ordinary keras-tuner tuners whose oracle is keras-tuner's `OracleClient`, chosen through
`KERASTUNER_TUNER_ID`, `KERASTUNER_ORACLE_IP` and `KERASTUNER_ORACLE_PORT`. What kerastune adds:
a server that stops as soon as the search is done (keras-tuner's own chief polls every 20 s
before it exits), local worker processes with their share of the CPU threads, one merged
progress stream read from the chief's oracle, and a group that survives a dead worker.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuners.config import ConfigError
from tuners.keras_tuner_fixes import quiet_condition_protos
from tuners.noise import quiet_keras_noise
from tuners.runmode import OVERWRITE_IN_WORKER, threads_per_worker
from tuners.search import Search, SearchSummary, TrialEvent, failure_reason

ORACLE_ENV = ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT")
POLL_SECONDS = 0.2
IDLE_WAIT_SECONDS = 0.5  # how long a worker waits when the oracle has no trial for it yet
STOP_GRACE_SECONDS = 5.0
LOCK_WAIT_SECONDS = 10.0
# set in a local worker's environment to the chief's process id
LOCAL_WORKER_ENV = "KERASTUNE_CHIEF_PID"


# (worker id, oracle host, oracle port) -> the command line of a worker process
WorkerCommand = Callable[[str, str, int], list[str]]


class WorkersFailedError(RuntimeError):
    """Every worker stopped before the search was done."""


class OracleService:
    """keras-tuner's `OracleServicer` on a gRPC server this process controls.

    The address is taken first, so that a port in use is refused before anything is written.
    """

    def __init__(self, host: str, port: int = 0) -> None:
        import grpc

        # One thread, as keras-tuner's chief uses: the oracle is not made for concurrent calls.
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
        try:
            self.port = self.server.add_insecure_port(f"{host}:{port}")
        except RuntimeError:
            self.port = 0
        if self.port == 0:
            raise ConfigError(f"--oracle {host}:{port}: cannot listen there; is the port in use or the address wrong?")
        self.host = host
        self.servicer: Any = None

    def serve(self, oracle: Any) -> None:
        from keras_tuner.src import protos
        from keras_tuner.src.distribute.oracle_chief import OracleServicer

        self.servicer = OracleServicer(oracle)
        protos.get_service_grpc().add_OracleServicer_to_server(self.servicer, self.server)
        self.server.start()

    def stop(self) -> None:
        self.server.stop(grace=1).wait()

    def search_done(self) -> bool:
        """True once the oracle has told a worker to stop and no worker holds or asks for a trial.

        keras-tuner's `exit_chief` asks the same under the oracle's lock; this only reads, so the
        chief never waits on a lock that an error in the service's thread left held.
        """
        oracle = self.servicer.oracle
        return self.servicer.stop_triggered and not oracle.ongoing_trials and not oracle.tuner_ids


@dataclass
class Worker:
    """A local worker process."""

    worker_id: str
    process: subprocess.Popen
    log: Path
    reported: bool = False


class LocalWorkers:
    """Worker processes on this machine, started with their share of the threads; none outlives us."""

    def __init__(self, command: WorkerCommand, count: int, address: tuple[str, int], log_dir: Path):
        self.command = command
        self.count = count
        self.address = address
        self.log_dir = Path(log_dir)
        self.workers: list[Worker] = []

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        threads = str(threads_per_worker(self.count))
        host, port = self.address
        for index in range(1, self.count + 1):
            worker_id = f"worker{index}"
            env = {
                **os.environ,
                "TF_NUM_INTRAOP_THREADS": threads,
                "TF_NUM_INTEROP_THREADS": "1",
                "OMP_NUM_THREADS": threads,
                LOCAL_WORKER_ENV: str(os.getpid()),
            }
            log = self.log_dir / f"{worker_id}.log"
            with open(log, "w") as out:
                process = subprocess.Popen(
                    self.command(worker_id, host, port), env=env, stdin=subprocess.DEVNULL, stdout=out,
                    stderr=subprocess.STDOUT,
                )
            self.workers.append(Worker(worker_id, process, log))

    def exited(self) -> list[Worker]:
        """Workers that have exited and were not reported yet."""
        done = [w for w in self.workers if not w.reported and w.process.poll() is not None]
        for worker in done:
            worker.reported = True
        return done

    def alive(self) -> int:
        return sum(1 for w in self.workers if w.process.poll() is None)

    def stop(self) -> None:
        """Ask every worker to stop, then make sure: no process is left behind."""
        for worker in self.workers:
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for worker in self.workers:
            try:
                worker.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()


def die_with_parent() -> None:
    """In a local worker: get SIGTERM when the chief that started it dies, however it dies."""
    parent = os.environ.get(LOCAL_WORKER_ENV)
    if not parent:
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG (Linux)
    except (OSError, AttributeError):
        return
    if os.getppid() != int(parent):  # the chief died before the signal was armed
        os.kill(os.getpid(), signal.SIGTERM)


def run_chief(
    search: Search,
    host: str,
    port: int,
    *,
    local_workers: int,
    worker_command: WorkerCommand | None,
    on_trial: Callable[[TrialEvent], None] | None = None,
    on_notice: Callable[[str], None] | None = None,
    on_listening: Callable[[str, int], None] | None = None,
) -> SearchSummary:
    """Serve the search's oracle on HOST:PORT (0 = any free port) and run `local_workers` worker
    processes against it; remote workers may join. Ends when the search is done."""
    notice = on_notice or (lambda message: None)
    for name in ORACLE_ENV:  # this process is the chief: keras-tuner must not make it a client
        os.environ.pop(name, None)
    quiet_condition_protos()
    service = OracleService(host, port)
    tuner = search.start()
    oracle = tuner.oracle
    oracle.verbose = 0  # keras-tuner's own per-trial printout; the watcher reports trials instead
    # The oracle's own consecutive-failure limit is off (see build_tuner): raised inside the oracle,
    # in the service's thread, it would also leave the oracle's lock held for good (its `synchronized`
    # has no try/finally) and stall the chief (keras-tuner issue #915). The chief checks instead.
    workers = None
    try:
        service.serve(oracle)
        if on_listening:
            on_listening(service.host, service.port)
        watcher = TrialWatcher(search, oracle, on_trial)
        if local_workers:
            workers = LocalWorkers(worker_command, local_workers, (_connect_host(host), service.port),
                                   search.config.project_dir / "workers")
            workers.start()
        while True:
            time.sleep(POLL_SECONDS)
            watcher.poll()
            search.check_failures(oracle)
            search.check_time_budget(oracle)
            if workers is not None:
                for worker in workers.exited():
                    if worker.process.returncode != 0:  # 0: it was told the search is done
                        _worker_died(worker, oracle, notice)
                if workers.alive() == 0:
                    if not service.search_done() and not _budget_spent(oracle):
                        raise WorkersFailedError(
                            f"all {local_workers} workers stopped before the search was done; their logs are "
                            f"in {workers.log_dir}. Run the same command again to resume"
                        )
                    break
            elif service.search_done():
                break
        watcher.poll()
    finally:
        if workers is not None:
            workers.stop()
        service.stop()
        tuner.save()
        summary = search.finish(oracle)
    search.check_outcome(oracle, summary)
    return summary


def _connect_host(host: str) -> str:
    """Where local workers reach a chief that listens on `host`."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def _budget_spent(oracle: Any) -> bool:
    return bool(oracle.max_trials) and len(oracle.end_order) >= oracle.max_trials


def _worker_died(worker: Worker, oracle: Any, notice: Callable[[str], None]) -> None:
    """Record a dead worker: its unfinished trial fails with the reason, the others go on."""
    code = worker.process.returncode
    how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
    trial = oracle.ongoing_trials.get(worker.worker_id)
    oracle.tuner_ids.discard(worker.worker_id)
    if trial is not None:
        trial.status = "FAILED"
        trial.message = f"worker {worker.worker_id} {how} during this trial"
        _within(LOCK_WAIT_SECONDS, oracle.end_trial, trial)
        notice(f"worker {worker.worker_id} {how} during trial {trial.trial_id}, which is marked failed; "
               f"the other workers go on (log: {worker.log})")
    elif code != 0:
        notice(f"worker {worker.worker_id} {how} (log: {worker.log})")


def _within(seconds: float, function: Callable[..., Any], *args: Any) -> Any:
    """Call `function` in a helper thread; give up with an error if it does not return in time."""
    outcome: dict[str, Any] = {}

    def call() -> None:
        try:
            outcome["value"] = function(*args)
        except BaseException as error:  # handed to the caller below
            outcome["error"] = error

    helper = threading.Thread(target=call, daemon=True)
    helper.start()
    helper.join(seconds)
    if helper.is_alive():
        raise RuntimeError("keras-tuner's oracle stopped answering after an error in the oracle service; "
                           "run the same command again to resume")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


class TrialWatcher:
    """Turns the chief oracle's finished trials into progress events, in the order they ended."""

    def __init__(self, search: Search, oracle: Any, on_trial: Callable[[TrialEvent], None] | None):
        self.search = search
        self.oracle = oracle
        self.on_trial = on_trial
        self.reported = set(oracle.end_order)
        self.started: dict[str, float] = {}
        self.worker_of: dict[str, str] = {}

    def poll(self) -> None:
        now = time.monotonic()
        for worker_id, trial in list(self.oracle.ongoing_trials.items()):
            self.started.setdefault(trial.trial_id, now)
            self.worker_of.setdefault(trial.trial_id, worker_id)
        for number, trial_id in enumerate(list(self.oracle.end_order), start=1):
            if trial_id in self.reported:
                continue
            self.reported.add(trial_id)
            duration = now - self.started.get(trial_id, now)
            worker = self.worker_of.get(trial_id)
            event = self.search.event(self.oracle, self.oracle.trials[trial_id], number, duration, worker)
            if event.trial.status != "COMPLETED" and not event.trial.message:
                event.trial.message = failure_reason(self.search.config.project_dir, self.oracle.trials[trial_id])
            self.search.record(event)
            if self.on_trial is not None:
                self.on_trial(event)


class PatientOracleClient:
    """keras-tuner's OracleClient, but a worker that is told to wait (IDLE) waits a moment before
    asking again instead of asking in a tight loop; everything else is passed through."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def create_trial(self, tuner_id: str) -> Any:
        trial = self._client.create_trial(tuner_id)
        if str(trial.status) == "IDLE":
            time.sleep(IDLE_WAIT_SECONDS)
        return trial

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def run_worker(
    search: Search,
    host: str,
    port: int,
    worker_id: str,
    on_trial: Callable[[TrialEvent], None] | None = None,
) -> int:
    """Run trials for the chief at HOST:PORT until it says the search is done; returns how many."""
    die_with_parent()
    os.environ.update(
        KERASTUNER_TUNER_ID=worker_id, KERASTUNER_ORACLE_IP=host, KERASTUNER_ORACLE_PORT=str(port)
    )
    quiet_condition_protos()
    if search.config.overwrite:  # a worker must never discard the project it joins
        raise ConfigError(OVERWRITE_IN_WORKER)
    tuner = search.build_tuner()
    search.planned = None  # the chief knows the plan; a worker counts only its own trials
    tuner.oracle = PatientOracleClient(tuner.oracle)
    finished = 0

    def listener(trial: Any, duration: float) -> None:
        nonlocal finished
        finished += 1
        if on_trial is not None:
            on_trial(search.event(tuner.oracle, trial, finished, duration, worker_id))

    tuner.listener = listener
    with quiet_keras_noise():
        tuner.search(*search.fit_args, **search.fit_kwargs())
    return finished
