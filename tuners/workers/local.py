"""Local worker processes: started ahead of their command (they import TensorFlow while the chief gets the search
ready), each with its share of the CPU threads and, with GPUs, a GPU of its own; none outlives its chief.

Only the standard library here: the command line starts warm workers before TensorFlow loads."""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kerastune.tuners.workers import run_mode
from kerastune.tuners.workers.run_mode import LOCAL_WORKER_ENV

if TYPE_CHECKING:
    from kerastune.tuners.run.search import Search

STOP_GRACE_SECONDS = 5.0


# How a local worker process starts Python: `-P` leaves the current folder off `sys.path`, so that a module of the
# user's cannot stand in for one kerastune imports; only a MODULE:ATTRIBUTE hypermodel is looked up there.
PYTHON = (sys.executable, "-P")


def local_worker_args(search: Search, worker_id: str, host: str, port: int) -> list[str]:
    """The `kerastune` arguments of a local worker: it finds everything else in the project's manifest."""
    config = search.config
    return [config.tuner, config.hypermodel, "--dir", str(config.directory), "--name", str(config.project_name),
            "--role", "worker", "--oracle", f"{host}:{port}", "--worker-id", worker_id]


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

    def __init__(self, search: Search, count: int, address: tuple[str, int], warm: PrestartedWorkers | None = None):
        self.search = search
        self.count = count
        self.address = address
        self.warm = warm  # processes started ahead, which have imported TensorFlow already
        self.log_dir = search.project_dir / "workers"
        self.workers: list[Worker] = []

    def start(self) -> LocalWorkers:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        host, port = self.address
        gpus = run_mode.visible_gpus()
        for index in range(1, self.count + 1):
            worker_id = f"worker{index}"
            args = local_worker_args(self.search, worker_id, host, port)
            log = self.log_dir / f"{worker_id}.log"
            process = _give_command(self.warm.take(), args, log) if self.warm else None
            if process is None:
                env = {**os.environ, **worker_environment(index - 1, self.count, gpus),
                       LOCAL_WORKER_ENV: str(os.getpid())}
                with open(log, "w") as out:
                    process = subprocess.Popen([*PYTHON, "-m", "kerastune", *args], env=env,
                                               stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
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


def _give_command(process: subprocess.Popen | None, args: list[str], log: Path) -> subprocess.Popen | None:
    """Hand a process started ahead (kerastune.app.prestarted_worker) its worker's arguments and log file; None if
    there is none, or it is gone."""
    if process is None:
        return None
    request = {"argv": args, "log": str(log)}
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


def worker_environment(index: int, workers: int, gpus: list[str]) -> dict[str, str]:
    """The environment a local worker (index 0..workers-1) adds to this one: its share of the CPU threads and, with
    GPUs, one GPU of its own (shared round-robin when there are more workers than GPUs), whose memory TensorFlow
    takes as it needs it rather than all at once, so that processes never fight over a card."""
    threads = str(run_mode.threads_per_worker(workers))
    environment = {"TF_NUM_INTRAOP_THREADS": threads, "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": threads}
    if gpus:
        environment["CUDA_VISIBLE_DEVICES"] = gpus[index % len(gpus)]
        environment["TF_FORCE_GPU_ALLOW_GROWTH"] = "true"
    return environment


class PrestartedWorkers:
    """Local worker processes started ahead, as the chief starts: each imports TensorFlow (seconds) while the chief
    loads the data and gets its search ready, then waits for its worker command
    (`kerastune.app.prestarted_worker`). A process that is never given one is stopped when the block ends; one that
    is given one is `LocalWorkers`' to watch."""

    def __init__(self, count: int, project_dir: object = "") -> None:
        self.count = count
        self.project_dir = str(project_dir)  # named on each command line, with the worker's id, for `ps`
        self.processes: list[subprocess.Popen] = []

    def __enter__(self) -> PrestartedWorkers:

        gpus = run_mode.visible_gpus()
        for index in range(self.count):
            env = {**os.environ, **worker_environment(index, self.count, gpus), LOCAL_WORKER_ENV: str(os.getpid())}
            self.processes.append(subprocess.Popen(
                [*PYTHON, "-m", "kerastune.app.prestarted_worker", f"worker{index + 1}", self.project_dir], env=env,
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ))
        return self

    def take(self) -> subprocess.Popen | None:
        """A warm process still waiting for its command, or None."""
        while self.processes:
            process = self.processes.pop(0)
            if process.poll() is None:
                return process
        return None

    def __exit__(self, *exc: object) -> None:
        for process in self.processes:  # never given a command: the search ended before its workers started
            process.kill()
            process.wait()
        self.processes = []