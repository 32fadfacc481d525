"""A worker: it runs trials for the chief's oracle service until the chief says the search is done, telling the
chief every few seconds that it is alive."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

from kerastune.tuners.internals import oracle_base, patches, service
from kerastune.tuners.options import ConfigError
from kerastune.tuners.records.summary import TrialEvent
from kerastune.tuners.run.search import Search
from kerastune.tuners.workers.local import die_with_parent
from kerastune.tuners.workers.run_mode import OVERWRITE_IN_WORKER

ORACLE_ENV = ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT")

IDLE_WAIT_SECONDS = 0.5  # how long a worker waits when the oracle has no trial for it yet
HEARTBEAT_SECONDS = 1.0  # how often a worker running a trial tells the chief it is alive


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
    word), `taken_back` is set and the worker drops the trial. It beats once `connect`ed to the chief's client."""

    def __init__(self, interval: float = HEARTBEAT_SECONDS) -> None:
        self.client: Any = None
        self.interval = interval
        self.taken_back = False
        self._stopped = threading.Event()

    def connect(self, client: Any) -> None:
        self.client = client

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
            if trial.status == oracle_base.STOPPED and not stopped.is_set():
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

    heartbeat = Heartbeat()
    with patches.patched():
        # keras-tuner makes the tuner's oracle an OracleClient, from the environment
        tuner = search.build_tuner(watchdog=heartbeat, on_trial_done=reported)
        client = service.connect_worker(tuner, worker_id, PatientOracleClient)
        search.oracle = tuner.oracle
        heartbeat.connect(client)
        search.train(tuner)
    return finished
