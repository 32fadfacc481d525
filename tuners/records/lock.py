"""One writer per project: an advisory lock on `PROJECT/kerastune.lock` held while a search runs.

The lock is the kernel's (`flock`), not the file's existence: it goes away with the process that
holds it, however that process ends, so a killed search never leaves a stale lock behind. The file
itself stays and only says who held the lock last. Workers of a parallel search do not take it:
their chief holds it for them.

`flock` exists on Linux and macOS. Where it does not (Windows), a search is refused with a message that says
so, rather than run without a lock; reading commands work, and cannot tell whether a search is running.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

from kerastune.tuners.records.project import LOCK_NAME, ProjectError, now

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]


class ProjectBusyError(ProjectError):
    """Another search is running on the project."""


class LockUnavailableError(RuntimeError):
    """This system has no `flock`, so a search cannot take its project's lock."""


class ProjectLock:
    """The project's lock, taken at once or refused; released by `release()` or by the process ending."""

    def __init__(self, project_dir: Path) -> None:
        self.path = Path(project_dir) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> ProjectLock:
        if fcntl is None:
            raise LockUnavailableError(
                "kerastune guards each project with a file lock (fcntl.flock), which this system does not have: "
                "run searches on Linux or macOS (on Windows, in WSL)"
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise ProjectBusyError(
                f"{self.path.parent} is in use by another search ({holder}); wait for it to finish or stop it, "
                "or use another --name"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": now()}).encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd = None

    def __enter__(self) -> ProjectLock:
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


def search_running(project_dir: Path) -> bool:
    """Whether a search holds the project's lock now; asks without creating or keeping anything."""
    path = Path(project_dir) / LOCK_NAME
    if fcntl is None or not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # releases the shared lock if it was taken


def _read_holder(fd: int) -> str:
    try:
        holder = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f"process {holder['pid']} on {holder['host']}, since {holder['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "a process that is still starting"
