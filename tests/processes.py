"""Helpers for tests that run kerastune in other processes: every wait has a time limit."""

from __future__ import annotations

import os
import queue
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

# A small network that pauses inside one trial, writing PAUSE_FILE, until GO_FILE exists: in the trials of the
# worker named PAUSE_WORKER, or in the PAUSE_FIT-th trial of the process. A test acts on that trial while it is
# surely running.
PAUSING_MODULE = """
import os
import pathlib
import time

import keras
import keras_tuner as kt

PAUSED, GO = pathlib.Path(os.environ["PAUSE_FILE"]), pathlib.Path(os.environ["GO_FILE"])
fits = []


class Pause(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        if not PAUSED.exists():  # the first call: once per --steps-per-execution batches
            PAUSED.write_text("paused")
            while not GO.exists():
                time.sleep(0.1)


class Net(kt.HyperModel):
    def build(self, hp):
        model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(hp.Int("units", 8, 64, step=8)),
                                  keras.layers.Dense(10, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    def fit(self, hp, model, *args, **kwargs):
        fits.append(hp)
        worker = os.environ.get("PAUSE_WORKER")
        if worker and worker == os.environ.get("KERASTUNER_TUNER_ID") or str(len(fits)) == os.environ.get("PAUSE_FIT"):
            kwargs["callbacks"] = [*kwargs.get("callbacks", []), Pause()]
        return model.fit(*args, **kwargs)
"""


def processes_mentioning(text: str) -> list[int]:
    """Process ids whose command line mentions `text` (our project folders are unique per test)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if text in (entry / "cmdline").read_bytes().decode(errors="replace"):
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `predicate` until it holds; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.2)


class Lines:
    """A process's output, read line by line in a thread, so that a test waits for a line with a time limit."""

    def __init__(self, stream: IO[str]) -> None:
        self.seen: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line)
        self._lines.put(None)  # end of output

    def wait_for(self, predicate: Callable[[str], bool], timeout: float, what: str) -> str:
        """The first line (from here on) for which `predicate` holds."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"timed out after {timeout:g}s waiting for {what}; output: {self.seen}") from None
            if line is None:
                raise AssertionError(f"the output ended before {what}; output: {self.seen}")
            self.seen.append(line)
            if predicate(line):
                return line

    def rest(self, timeout: float) -> str:
        """Everything still to come, once the process has closed its output."""
        lines = []
        while True:
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"the output did not end within {timeout:g}s") from None
            if line is None:
                return "".join(lines)
            lines.append(line)


def stop(process: subprocess.Popen, signal_number: int, timeout: float = 60) -> int:
    """Send a signal and wait (at most `timeout` seconds) for the process to end; its exit code."""
    process.send_signal(signal_number)
    return process.wait(timeout=timeout)
