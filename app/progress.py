"""What a search shows while it runs.

On a terminal: a live status line (trial i/N, the running trial's epoch, the best score so far,
elapsed and estimated remaining time) under the finished trials' lines. When output is not a
terminal (CI, a log file): the finished trials' lines only. `--quiet`: nothing until the summary.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.text import Text

from kerastune.app import output
from kerastune.tuners.records.text import format_duration, format_score, trial_line


class SearchProgress:
    """Shows a search's progress; call `trial(event)` per finished trial and `epoch(...)` per epoch."""

    def __init__(self, objective: str, planned: int | None, workers: int, *, quiet: bool = False,
                 live: bool = True, console: Console | None = None) -> None:
        self.objective = objective
        self.planned = planned
        self.workers = max(1, workers)
        self.quiet = quiet
        self.live_wanted = live
        self.console = console or output.console()
        self.live: Live | None = None
        self.started = time.monotonic()
        self.finished = 0
        self.durations: list[float] = []
        self.best: str = "-"
        self.running_epoch: tuple[int, int] | None = None

    @property
    def is_live(self) -> bool:
        return not self.quiet and self.live_wanted and self.console.is_terminal

    def __enter__(self) -> SearchProgress:
        self.started = time.monotonic()
        if self.is_live:
            self.live = Live(console=self.console, get_renderable=self.status, refresh_per_second=2, transient=True,
                             redirect_stdout=True, redirect_stderr=True)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.live is not None:
            self.live.__exit__(*exc)
            self.live = None

    def trial(self, event: Any) -> None:
        self.finished = event.number
        self.planned = event.planned or self.planned
        self.durations.append(event.duration_s)
        if event.best is not None:
            self.best = f"{format_score(event.best.score)} (trial {event.best.trial_id})"
        self.running_epoch = None
        if not self.quiet:
            output.say(trial_line(event, self.objective))

    def epoch(self, epoch: int, epochs: int) -> None:
        self.running_epoch = (epoch, epochs)

    def status(self) -> Text:
        """The live line: trial i/N, epoch, best so far, elapsed, estimated time left."""
        elapsed = time.monotonic() - self.started
        of = f"/{self.planned}" if self.planned else ""
        if self.planned and self.finished >= self.planned:
            parts = [f"all {self.planned} trials finished"]
        elif self.workers == 1:
            parts = [f"trial {self.finished + 1}{of}"]
        else:
            parts = [f"{self.finished}{of} trials finished, {self.workers} workers"]
        if self.running_epoch and self.workers == 1:
            parts.append(f"epoch {self.running_epoch[0]}/{self.running_epoch[1]}")
        parts.append(f"best {self.objective} {self.best}")
        parts.append(f"elapsed {format_duration(elapsed)}")
        if self.planned and self.durations:
            left = (self.planned - self.finished) * (sum(self.durations) / len(self.durations)) / self.workers
            parts.append(f"about {format_duration(max(0.0, left))} left")
        return Text(" · ".join(parts), style="bold")
