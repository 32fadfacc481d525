"""Parallel and distributed search on keras-tuner's own chief/worker oracle service (gRPC).

The chief holds the one real oracle and serves it (service.OracleServer); workers are ordinary keras-tuner
tuners whose oracle is keras-tuner's `OracleClient`, chosen through `KERASTUNER_TUNER_ID`,
`KERASTUNER_ORACLE_IP` and `KERASTUNER_ORACLE_PORT`. What kerastune adds: a server that stops as soon as the
search is done, local worker processes with their share of the CPU threads, one progress stream (the
oracle reports each trial's end to the chief's search), a group that survives a dead worker, and a heartbeat,
so that the trial of a worker gone silent (a lost machine, a cut network, a stopped process) runs elsewhere.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

from kerastune.tuners.internals import patches, service
from kerastune.tuners.options import ConfigError
from kerastune.tuners.records.summary import SearchSummary, TrialEvent
from kerastune.tuners.run.search import Search
from kerastune.tuners.workers.local import LocalWorkers, PrestartedWorkers, Worker
from kerastune.tuners.workers.worker import ORACLE_ENV

POLL_SECONDS = 0.2
LOCK_WAIT_SECONDS = 10.0


class WorkersFailedError(RuntimeError):
    """Every worker stopped before the search was done."""


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
    warm: PrestartedWorkers | None = None,
) -> SearchSummary:
    """Serve the search's oracle on HOST:PORT (0 = any free port) and run `local_workers` worker processes
    against it (those of `warm` first); remote workers may join. Ends when the search is done."""
    notice = on_notice or (lambda message: None)
    for name in ORACLE_ENV:  # this process is the chief: keras-tuner must not make it a client
        os.environ.pop(name, None)
    server = service.OracleServer(host, port)
    if server.port == 0:
        raise ConfigError(f"--oracle {host}:{port}: cannot listen there; is the port in use or the address wrong?")
    with patches.patched():
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
                if oracle.budget_spent and not oracle.ongoing_trials and (workers is not None or not oracle.tuner_ids):
                    # The deadline has passed and no worker holds a trial (nor, for remote workers, waits to be told
                    # to stop: local ones are stopped below). Without local workers the chief used to end only on
                    # `server.search_done()`, whose `stop_triggered` keras-tuner's servicer sets only as it answers
                    # a worker's CreateTrial with STOPPED (distribute/oracle_chief.py:43-47): once the workers were
                    # gone (killed, or taken back as silent), none asked, and the chief never ended.
                    break
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


