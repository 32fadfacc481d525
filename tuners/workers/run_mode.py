"""How a search runs: in this process, as chief with local workers, as chief alone, or as a worker.

Only the standard library here: the command line checks these options before TensorFlow loads.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import subprocess
from dataclasses import dataclass

from kerastune.tuners.options import OPTION, ConfigError

MIN_WORKER_TIMEOUT = 5.0  # seconds: a few of a worker's heartbeats
# set in a local worker's environment to the chief's process id
LOCAL_WORKER_ENV = "KERASTUNE_CHIEF_PID"
OVERWRITE_IN_WORKER = "--overwrite is for the chief; a worker joins the chief's project as it is"


@dataclass(frozen=True)
class RunMode:
    """How a search runs: in this process, as chief with local workers, as chief only, or as a worker."""

    kind: str  # "in-process", "local-workers", "chief" or "worker"
    workers: int = 1  # local worker processes
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port
    worker_id: str | None = None
    worker_timeout: float = OPTION["worker_timeout"].default  # seconds a chief waits for word from a worker

    @property
    def exposed(self) -> bool:
        """Whether the oracle service listens beyond this machine (it has no authentication)."""
        return self.kind == "chief" and not is_loopback(self.host)


def run_mode(
    workers: int | None,
    oracle: str | None,
    role: str | None,
    worker_id: str | None,
    overwrite: bool = False,
    worker_timeout: str | None = None,
) -> RunMode:
    """Check the parallelism options together and say how the search will run."""
    OPTION["workers"].check(workers)
    timeout = OPTION["worker_timeout"].default
    if worker_timeout is not None:
        timeout = OPTION["worker_timeout"].parse(worker_timeout)
        OPTION["worker_timeout"].check(timeout)
        if timeout < MIN_WORKER_TIMEOUT:
            raise ConfigError(f"--worker-timeout must be at least {MIN_WORKER_TIMEOUT:g}s (workers report every "
                              f"second or so), got {worker_timeout}")
    if (oracle is None) != (role is None):
        raise ConfigError("--oracle HOST:PORT and --role chief|worker go together")
    if role is None:
        if worker_id is not None:
            raise ConfigError("--worker-id is for --role worker")
        count = default_workers() if workers is None else workers
        return RunMode("in-process") if count == 1 else RunMode("local-workers", workers=count,
                                                                 worker_timeout=timeout)
    host, port = parse_address(oracle)
    if role == "chief":
        if worker_id is not None:
            raise ConfigError("--worker-id is for --role worker")
        return RunMode("chief", workers=workers or 0, host=host, port=port, worker_timeout=timeout)
    if role == "worker":
        if overwrite:
            raise ConfigError(OVERWRITE_IN_WORKER)
        if workers is not None:
            raise ConfigError("--workers is for the chief; start one `--role worker` process per worker")
        worker_id = worker_id or f"worker-{socket.gethostname()}-{os.getpid()}"
        if "chief" in worker_id:
            raise ConfigError(f"--worker-id {worker_id!r}: a worker id must not contain 'chief'")
        return RunMode("worker", workers=0, host=host, port=port, worker_id=worker_id)
    raise ConfigError(f"--role {role!r}: choose chief or worker")


def usable_cores() -> int:
    """The CPU cores this process may use: its affinity where the system has one (Linux), else all of them."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1  # macOS, Windows


def visible_gpus() -> list[str]:
    """The GPUs this process may use, without starting TensorFlow: those CUDA_VISIBLE_DEVICES names when it is set,
    else those `nvidia-smi` lists (none where it is not installed)."""
    given = os.environ.get("CUDA_VISIBLE_DEVICES")
    if given is not None:
        names = [name.strip() for name in given.split(",") if name.strip()]
        # CUDA stops at the first invalid entry; "-1" or "" hide every GPU
        return names[:next((i for i, name in enumerate(names) if name.startswith("-")), len(names))]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        listed = subprocess.run(["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"], capture_output=True,
                                text=True, timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in listed.splitlines() if line.strip().isdigit()]


def default_workers() -> int:
    """One worker per visible GPU; without GPUs, one per CPU core this process may use, at most four."""
    gpus = visible_gpus()
    return len(gpus) if gpus else max(1, min(usable_cores(), 4))


def threads_per_worker(workers: int) -> int:
    """The CPU threads each local worker gets: the cores shared out evenly."""
    return max(1, usable_cores() // workers)


def parse_address(text: str) -> tuple[str, int]:
    """HOST:PORT of the oracle service."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"--oracle {text!r}: write HOST:PORT, e.g. 127.0.0.1:8000")
    return host.strip("[]"), int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


