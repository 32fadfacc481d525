"""Resident memory of every kerastune process over a long search (issue 4: growth under 100 MB from
trial 5 to trial 50, per process).

Runs `kerastune random mlp --max-trials 50` in a fresh project and samples VmRSS of the search process
and of each of its worker processes from /proc twice a second. The figures per process are its RSS
when the 5th and the 50th trial of the search finished, and its peak.

    .venv/bin/python bench/memory.py --data ../shared/data/mnist.npz --workers 2
    .venv/bin/python bench/memory.py --data ../shared/data/mnist.npz --workers 1
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PROGRESS = re.compile(r"^\[(\d+)/\d+\] trial")


def rss_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
    return int(match.group(1)) / 1024 if match else None


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def role(pid: int, chief: int) -> str:
    if pid == chief:
        return "kerastune (chief)" if children(pid) else "kerastune (in-process search)"
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return f"pid {pid}"
    if b"--worker-id" in command:
        return command[command.index(b"--worker-id") + 1].decode()
    return f"pid {pid}"


class Sampler:
    """Samples the RSS of a process and its children until stopped."""

    def __init__(self, pid: int, interval: float = 0.5) -> None:
        self.pid = pid
        self.interval = interval
        self.current: dict[str, float] = {}
        self.peak: dict[str, float] = {}
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stopped.is_set():
            for pid in [self.pid, *children(self.pid)]:
                value = rss_mb(pid)
                if value is None:
                    continue
                name = role(pid, self.pid)
                self.current[name] = value
                self.peak[name] = max(self.peak.get(name, 0.0), value)
            time.sleep(self.interval)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="Keras-layout MNIST .npz")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--hypermodel", default="mlp")
    parser.add_argument("--early", type=int, default=5, help="the trial to compare the last one with")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as directory:
        data = str(Path(args.data).resolve())
        command = [sys.executable, "-m", "kerastune", "random", args.hypermodel, "--data", data, "--dir", directory,
                   "--max-trials", str(args.trials), "--epochs", str(args.epochs), "--workers", str(args.workers)]
        print("$", " ".join(command), flush=True)
        started = time.monotonic()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True,
                                   cwd=Path(__file__).resolve().parent.parent, env={**os.environ})
        sampler = Sampler(process.pid)
        sampler.thread.start()
        at: dict[int, dict[str, float]] = {}
        for line in process.stdout:
            match = PROGRESS.match(line)
            if match:
                number = int(match.group(1))
                at[number] = dict(sampler.current)
                print(f"trial {number:3d}: " + ", ".join(f"{k} {v:.0f} MB" for k, v in sorted(at[number].items())),
                      flush=True)
        process.wait()
        sampler.stopped.set()
        wall = time.monotonic() - started

    print(f"\nexit code {process.returncode}, {wall:.0f} s, {args.workers} worker(s)")
    # RSS moves with the size of the model being trained, so besides the two points the table gives the
    # median over the ten trials from --early on and over the last ten.
    first = range(args.early, args.early + 10)
    final = range(args.trials - 9, args.trials + 1)
    print(f"| process | after trial {args.early} | after trial {args.trials} | growth | median trials "
          f"{first[0]}-{first[-1]} | median trials {final[0]}-{final[-1]} | median growth | peak |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in sorted(sampler.peak):
        early, last = at.get(args.early, {}).get(name), at.get(args.trials, {}).get(name)
        if early is None or last is None:
            continue
        a = statistics.median(at[i][name] for i in first if name in at.get(i, {}))
        b = statistics.median(at[i][name] for i in final if name in at.get(i, {}))
        print(f"| {name} | {early:.0f} MB | {last:.0f} MB | {last - early:+.0f} MB | {a:.0f} MB | {b:.0f} MB | "
              f"{b - a:+.0f} MB | {sampler.peak[name]:.0f} MB |")


if __name__ == "__main__":
    main()
