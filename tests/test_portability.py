"""Off Linux: no `os.sched_getaffinity` (macOS, Windows), no `fcntl` (Windows). Simulated by removing them."""

from __future__ import annotations

import os
from pathlib import Path

from typer.testing import CliRunner

from app.cli import app


def test_without_cpu_affinity_the_cores_are_counted(monkeypatch) -> None:
    from tuners import runmode

    monkeypatch.delattr(os, "sched_getaffinity")
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    assert runmode.usable_cores() == 6
    assert runmode.default_workers() == 4 and runmode.threads_per_worker(4) == 1
    assert runmode.run_mode(None, None, None, None).workers == 4


def test_without_fcntl_a_search_is_refused_clearly_and_reading_still_works(monkeypatch, tmp_path: Path,
                                                                          tiny_npz: Path,
                                                                          finished_project: Path) -> None:
    from tuners import lock

    monkeypatch.setattr(lock, "fcntl", None)
    result = CliRunner().invoke(app, ["random", "mlp", "--data", str(tiny_npz), "--dir", str(tmp_path),
                                      "--max-trials", "1", "--epochs", "1", "--workers", "1"])
    assert result.exit_code == 1, result.output
    assert result.stderr.strip() == (
        "kerastune: error: kerastune guards each project with a file lock (fcntl.flock), which this system does "
        "not have: run searches on Linux or macOS (on Windows, in WSL)"
    )
    assert list(tmp_path.iterdir()) == []  # nothing was written
    assert not lock.search_running(finished_project)
    report = CliRunner().invoke(app, ["report", str(finished_project)])
    assert report.exit_code == 0, report.output
