"""--time-budget is a deadline: the trial running then stops at its last finished epoch, is scored at its best
finished epoch and recorded as stopped by the budget; a resume runs the rest of the plan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kerastune.app.cli import app

# workers -> a budget that lands in the middle of the first, long trial (of 5000 epochs), after its first epoch: a
# trial's first epoch (tracing included) and local workers' start take seconds, many more on a loaded machine
BUDGETS = {"1": 12.0, "2": 30.0}
SLACK_S = 10.0  # what the search may take beyond its budget: the batch under way, saving, the summary


def run(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def epoch_scores(project: Path, trial_id: str) -> list[float]:
    """The trial's validation accuracy after each epoch that ran, from its TensorBoard log."""
    from tensorboard.backend.event_processing import event_accumulator
    from tensorboard.util import tensor_util

    log = event_accumulator.EventAccumulator(str(project / "logs" / trial_id / "execution0" / "validation"),
                                             size_guidance={event_accumulator.TENSORS: 0})  # keep every epoch
    log.Reload()
    return [float(tensor_util.make_ndarray(e.tensor_proto)) for e in log.Tensors("epoch_accuracy")]


@pytest.mark.timeout(240)
@pytest.mark.parametrize("workers", list(BUDGETS))
def test_the_deadline_stops_a_long_trial_at_its_last_finished_epoch(workers: str, tiny_npz: Path,
                                                                    tmp_path: Path) -> None:
    budget = BUDGETS[workers]
    summary_file = tmp_path / "summary.json"
    args = ["random", "mlp", "--data", tiny_npz, "--dir", tmp_path, "--max-trials", "3", "--epochs", "5000",
            "--workers", workers, "--json", summary_file]
    result = run(*args, "--time-budget", f"{budget}s")
    assert result.exit_code == 0, result.output
    summary = json.loads(summary_file.read_text())
    assert summary["time_budget_spent"]
    assert summary["wall_time_s"] <= budget + SLACK_S
    project = Path(summary["project_dir"])
    stopped = summary["stopped_by_budget"]
    assert stopped and summary["trials_finished"] == len(stopped)
    for trial in summary["best_trials"]:
        stop = trial["budget_stop"]
        assert stop["of"] == 5000 and 1 <= stop["epochs"] < 5000
        scores = epoch_scores(project, trial["trial_id"])
        assert len(scores) == stop["epochs"]  # the epoch under way at the deadline was dropped
        assert trial["score"] == pytest.approx(max(scores))  # scored at its best finished epoch
        assert trial["best_epoch"] == scores.index(max(scores)) + 1
    assert f"stopped by the time budget after {summary['best_trials'][0]['budget_stop']['epochs']} of 5000 epochs" \
        in result.stdout
    report = json.loads(run("report", project, "--format", "json").stdout)
    assert {t["trial_id"]: t["status"] for t in report["trials"] if t["status"] != "interrupted"} == \
        dict.fromkeys(stopped, "stopped")

    if workers != "1":
        return  # the resume below is the same with workers
    resumed = run(*args, "--time-budget", f"{budget}s")
    assert resumed.exit_code == 0, resumed.output
    rerun = [line.split()[2] for line in resumed.stdout.splitlines() if "] trial " in line]
    assert rerun and not set(rerun) & set(stopped)  # the rest of the plan; the stopped trials are not run again


@pytest.mark.timeout(180)
def test_a_trial_stopped_before_its_first_epoch_ended_runs_again_on_resume(tiny_npz: Path, tmp_path: Path) -> None:
    summary_file = tmp_path / "summary.json"
    args = ["random", "user_models:SlowEpochs", "--data", tiny_npz, "--dir", tmp_path, "--name", "slow",
            "--max-trials", "1", "--epochs", "1", "--workers", "1", "--no-tensorboard", "--json", summary_file,
            "--steps-per-execution", "1"]  # its callback sleeps at every batch
    result = run(*args, "--time-budget", "2s")  # an epoch of 6 batches takes over 3 s
    assert result.exit_code == 0, result.output
    summary = json.loads(summary_file.read_text())
    assert summary["time_budget_spent"] and summary["trials_finished"] == 0 and summary["to_rerun"] == ["0"]
    assert summary["wall_time_s"] <= 2 + SLACK_S
    assert "stopped trial 0 before the first epoch ended: a resume runs it again" in " ".join(result.stdout.split())
    report = json.loads(run("report", tmp_path / "slow", "--format", "json").stdout)
    assert [t["status"] for t in report["trials"]] == ["interrupted"]

    resumed = run(*args)
    assert resumed.exit_code == 0, resumed.output
    assert "1 trial (1 completed, 0 failed)" in resumed.stdout
    assert "] trial 0 " in resumed.stdout
