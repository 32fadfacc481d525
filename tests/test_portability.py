"""Off Linux: no `os.sched_getaffinity` (macOS, Windows), no `fcntl` (Windows). Simulated by removing them."""

from __future__ import annotations

import os
from pathlib import Path

from typer.testing import CliRunner

from kerastune.app.cli import app


def test_without_cpu_affinity_the_cores_are_counted(monkeypatch) -> None:
    from kerastune.tuners.workers import run_mode as runmode

    monkeypatch.delattr(os, "sched_getaffinity")
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    assert runmode.usable_cores() == 6
    assert runmode.default_workers() == 4 and runmode.threads_per_worker(4) == 1
    assert runmode.run_mode(None, None, None, None).workers == 4


def test_without_fcntl_a_search_is_refused_clearly_and_reading_still_works(monkeypatch, tmp_path: Path,
                                                                          tiny_npz: Path,
                                                                          finished_project: Path) -> None:
    from kerastune.tuners.records import lock

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


def test_visible_gpus_are_read_without_tensorflow(monkeypatch, tmp_path: Path) -> None:
    from kerastune.tuners.workers import run_mode as runmode

    for given, gpus in [("0,2", ["0", "2"]), ("", []), ("-1", []), ("1,-1,2", ["1"]), (" 3 ", ["3"])]:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", given)
        assert runmode.visible_gpus() == gpus, given
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert runmode.visible_gpus() == []  # no nvidia-smi: no GPU
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\nprintf '0\\n1\\n'\n")
    fake.chmod(0o755)
    assert runmode.visible_gpus() == ["0", "1"]


def test_with_gpus_local_workers_default_to_one_per_gpu_each_seeing_only_its_own(monkeypatch, tiny_npz: Path,
                                                                               tmp_path: Path) -> None:
    import subprocess

    from kerastune.tuners.workers import local
    from kerastune.tuners.workers import run_mode as runmode

    monkeypatch.setattr(runmode, "visible_gpus", lambda: ["0", "1", "3"])
    assert runmode.run_mode(None, None, None, None).workers == 3
    more = [local.worker_environment(i, 3, ["0", "1"])["CUDA_VISIBLE_DEVICES"] for i in range(3)]
    assert more == ["0", "1", "0"]  # more workers than GPUs: shared in turn
    assert "CUDA_VISIBLE_DEVICES" not in local.worker_environment(0, 2, [])

    started = []
    real_popen = subprocess.Popen

    def popen(command, **kwargs):
        started.append(kwargs["env"])
        return real_popen(command, **kwargs)

    monkeypatch.setattr(runmode, "visible_gpus", lambda: ["0", "1"])  # none is real: TensorFlow falls back to the CPU
    monkeypatch.setattr(local.subprocess, "Popen", popen)
    result = CliRunner().invoke(app, ["random", "mlp", "--data", str(tiny_npz), "--dir", str(tmp_path),
                                      "--max-trials", "2", "--epochs", "1", "--no-tensorboard"])
    assert result.exit_code == 0, result.output
    assert "2 workers on GPUs 0, 1" in result.stdout and "2 trials (2 completed" in result.stdout
    assert [env["CUDA_VISIBLE_DEVICES"] for env in started] == ["0", "1"]
    assert all(env["TF_FORCE_GPU_ALLOW_GROWTH"] == "true" for env in started)
