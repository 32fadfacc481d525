"""Parallel and distributed search on keras-tuner's own chief/worker oracle service (gRPC).

The chief holds the one real oracle and serves it (internals.OracleServer); workers are ordinary keras-tuner
tuners whose oracle is keras-tuner's `OracleClient`, chosen through `KERASTUNER_TUNER_ID`,
`KERASTUNER_ORACLE_IP` and `KERASTUNER_ORACLE_PORT`. What kerastune adds: a server that stops as soon as the
search is done, local worker processes with their share of the CPU threads, one progress stream (the
oracle reports each trial's end to the chief's search), a group that survives a dead worker, and a heartbeat,
so that the trial of a worker gone silent (a lost machine, a cut network, a stopped process) runs elsewhere.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuners import internals, runmode
from tuners.config import ConfigError
from tuners.results import SearchSummary, TrialEvent
from tuners.runmode import LOCAL_WORKER_ENV, OVERWRITE_IN_WORKER, WarmWorkers
from tuners.search import Search

ORACLE_ENV = ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT")
POLL_SECONDS = 0.2
IDLE_WAIT_SECONDS = 0.5  # how long a worker waits when the oracle has no trial for it yet
HEARTBEAT_SECONDS = 1.0  # how often a worker running a trial tells the chief it is alive
STOP_GRACE_SECONDS = 5.0
LOCK_WAIT_SECONDS = 10.0


class WorkersFailedError(RuntimeError):
    """Every worker stopped before the search was done."""


def local_worker_command(search: Search, worker_id: str, host: str, port: int) -> list[str]:
    """The command line of a local worker: it finds everything else in the project's manifest.

    `python -P` leaves the current folder off `sys.path`, so that a folder of the user's named `app` or
    `tuners` cannot stand in for kerastune's; only a MODULE:ATTRIBUTE hypermodel is looked up there.
    """
    config = search.config
    return [sys.executable, "-P", "-m", "app", config.tuner, config.hypermodel, "--dir", str(config.directory),
            "--name", str(config.project_name), "--role", "worker", "--oracle", f"{host}:{port}",
            "--worker-id", worker_id]


@dataclass
class Worker:
    """A local worker process."""

    worker_id: str
    process: subprocess.Popen
    log: Path
    reported: bool = False


class LocalWorkers:
    """Worker processes on this machine, started with their share of the threads (and, with GPUs, a GPU each);
    none outlives us."""

    def __init__(self, search: Search, count: int, address: tuple[str, int], warm: WarmWorkers | None = None):
        self.search = search
        self.count = count
        self.address = address
        self.warm = warm  # processes started ahead, which have imported TensorFlow already
        self.log_dir = search.project_dir / "workers"
        self.workers: list[Worker] = []

    def start(self) -> LocalWorkers:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        host, port = self.address
        gpus = runmode.visible_gpus()
        for index in range(1, self.count + 1):
            worker_id = f"worker{index}"
            command = local_worker_command(self.search, worker_id, host, port)
            log = self.log_dir / f"{worker_id}.log"
            process = _give_command(self.warm.take(), command, log) if self.warm else None
            if process is None:
                env = {**os.environ, **runmode.worker_environment(index - 1, self.count, gpus),
                       LOCAL_WORKER_ENV: str(os.getpid())}
                with open(log, "w") as out:
                    process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                               stderr=subprocess.STDOUT)
            self.workers.append(Worker(worker_id, process, log))
        return self

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
                worker.process.send_signal(signal.SIGCONT)  # a stopped process cannot act on SIGTERM
                worker.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for worker in self.workers:
            try:
                worker.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()


def _give_command(process: subprocess.Popen | None, command: list[str], log: Path) -> subprocess.Popen | None:
    """Hand a warm process (app.warm) its worker command and log file; None if there is none, or it is gone."""
    if process is None:
        return None
    request = {"argv": command[command.index("app") + 1:], "log": str(log)}
    try:
        process.stdin.write((json.dumps(request) + "\n").encode())
        process.stdin.close()
    except OSError:  # it died (its stdin is a broken pipe): the caller starts a fresh process
        process.kill()
        process.wait()
        return None
    return process


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
    worker_timeout: float,
    on_trial: Callable[[TrialEvent], None] | None = None,
    on_notice: Callable[[str], None] | None = None,
    on_listening: Callable[[str, int], None] | None = None,
    warm: WarmWorkers | None = None,
) -> SearchSummary:
    """Serve the search's oracle on HOST:PORT (0 = any free port) and run `local_workers` worker processes
    against it (those of `warm` first); remote workers may join. Ends when the search is done."""
    notice = on_notice or (lambda message: None)
    for name in ORACLE_ENV:  # this process is the chief: keras-tuner must not make it a client
        os.environ.pop(name, None)
    server = internals.OracleServer(host, port)
    if server.port == 0:
        raise ConfigError(f"--oracle {host}:{port}: cannot listen there; is the port in use or the address wrong?")
    with internals.patched():
        tuner = search.open(on_trial)
        oracle = tuner.oracle
        oracle.verbose = 0  # keras-tuner's own per-trial printout; the search reports trials instead
        workers = None
        try:
            server.serve(oracle)
            if on_listening:
                on_listening(server.host, server.port)
            if local_workers:
                workers = LocalWorkers(search, local_workers, (_connect_host(host), server.port), warm)
                workers.start()  # once assigned, so that `finally` stops the workers even if a start fails
            while True:
                time.sleep(POLL_SECONDS)
                search.check()
                for worker in oracle.silent_workers(worker_timeout):
                    _take_back(oracle, worker, worker_timeout, notice)
                if workers is not None and oracle.budget_spent and not oracle.ongoing_trials:
                    break  # the deadline has passed and no worker holds a trial: no need to wait for them
                if workers is not None:
                    for worker in workers.exited():
                        if worker.process.returncode != 0:  # 0: it was told the search is done
                            _worker_died(worker, oracle, notice)
                    if workers.alive() == 0:
                        if not server.search_done() and not _budget_spent(oracle):
                            raise WorkersFailedError(
                                f"all {local_workers} workers stopped before the search was done; their logs are "
                                f"in {workers.log_dir}. Run the same command again to resume"
                            )
                        break
                elif server.search_done():
                    break
        finally:
            if workers is not None:
                workers.stop()
            server.stop()
            tuner.save()
            summary = search.close()
    search.check_outcome(summary)
    return summary


def _connect_host(host: str) -> str:
    """Where local workers reach a chief that listens on `host`."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def _budget_spent(oracle: Any) -> bool:
    return oracle.closed or (bool(oracle.max_trials) and len(oracle.end_order) >= oracle.max_trials)


def _take_back(oracle: Any, worker: str, timeout: float, notice: Callable[[str], None]) -> None:
    """Give the trial of a worker that has gone silent to the next worker that asks."""
    trial = _within(LOCK_WAIT_SECONDS, oracle.take_back, worker)
    if trial is not None:
        notice(f"no word from worker {worker} for {timeout:g}s: its trial {trial.trial_id} goes back to the queue and "
               "runs again from its start on the next free worker; a late report from that worker is ignored")


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


class PatientOracleClient:
    """keras-tuner's OracleClient, but a worker that is told to wait (IDLE) waits a moment before asking again
    instead of asking in a tight loop (engine/base_tuner.py:229-231); everything else is passed through."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def create_trial(self, tuner_id: str) -> Any:
        trial = self._client.create_trial(tuner_id)
        if str(trial.status) == "IDLE":
            time.sleep(IDLE_WAIT_SECONDS)
        return trial

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class Heartbeat:
    """A worker's word to the chief while it runs a trial, every HEARTBEAT_SECONDS. The chief answers whether
    the trial is still this worker's: once it is not (the chief took it back after --worker-timeout without
    word), `taken_back` is set and the worker drops the trial."""

    def __init__(self, client: Any, interval: float = HEARTBEAT_SECONDS) -> None:
        self.client = client
        self.interval = interval
        self.taken_back = False
        self._stopped = threading.Event()

    def watch(self, trial_id: str) -> None:
        self.stop()
        self.taken_back = False
        self._stopped = threading.Event()
        threading.Thread(target=self._beat, args=(trial_id, self._stopped), daemon=True).start()

    def stop(self) -> None:
        """Stop beating for the current trial (without waiting for a call to the chief to return)."""
        self._stopped.set()

    def _beat(self, trial_id: str, stopped: threading.Event) -> None:
        while not stopped.wait(self.interval):
            try:
                trial = self.client.get_trial(trial_id)
            except Exception:  # the chief is out of reach for now: keep trying while the trial runs
                continue
            if trial.status == internals.STOPPED and not stopped.is_set():
                self.taken_back = True
                return


def run_worker(
    search: Search,
    host: str,
    port: int,
    worker_id: str,
    on_trial: Callable[[TrialEvent], None] | None = None,
) -> int:
    """Run trials for the chief at HOST:PORT until it says the search is done; returns how many."""
    die_with_parent()
    os.environ.update(KERASTUNER_TUNER_ID=worker_id, KERASTUNER_ORACLE_IP=host, KERASTUNER_ORACLE_PORT=str(port))
    if search.config.overwrite:  # a worker must never discard the project it joins
        raise ConfigError(OVERWRITE_IN_WORKER)
    finished = 0

    def reported(trial: Any, duration: float) -> None:
        nonlocal finished
        finished += 1
        if on_trial is not None:
            on_trial(search.event(trial, finished, duration, worker_id))

    with internals.patched():
        tuner = search.build_tuner()  # keras-tuner makes its oracle an OracleClient, from the environment
        client = internals.name_worker_calls(tuner.oracle, worker_id)
        tuner.oracle = search.oracle = PatientOracleClient(client)
        tuner.watchdog = Heartbeat(client)
        tuner.on_trial_done = reported
        search.train(tuner)
    return finished
