"""Seeing results: TensorBoard logs with HParams data, `kerastune dashboard`, `kerastune report`."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

import pytest
from processes import Lines
from typer.testing import CliRunner

from kerastune.app.cli import app

runner = CliRunner()

# A grid of four trials: two complete, two fail (their loss is NaN)
_SPACE = textwrap.dedent(
    """
    import keras

    def build(hp):
        units = hp.Fixed("units", 32)
        learning_rate = hp.Float("learning_rate", 1e-3, 1e-2, step=10, sampling="log")
        scale = float("inf") if hp.Boolean("broken") else 1.0
        model = keras.Sequential([keras.Input((784,)), keras.layers.Rescaling(scale),
                                  keras.layers.Dense(units), keras.layers.Dense(10)])
        model.compile(keras.optimizers.Adam(learning_rate),
                      keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
        return model
    """
)


@pytest.fixture(scope="module")
def project(tiny_npz: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("views")
    (folder / "views_space.py").write_text(_SPACE)
    result = subprocess.run(
        [sys.executable, "-m", "kerastune", "grid", "views_space:build", "--data", str(tiny_npz), "--epochs", "2",
         "--name", "grid", "--workers", "1"], cwd=folder, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return folder / "tuning" / "grid"


def trial_values(project: Path) -> dict[str, dict]:
    trials = [json.loads(p.read_text()) for p in project.glob("trial_*/trial.json")]
    return {t["trial_id"]: t for t in trials}


def test_tensorboard_logs_hold_one_hparams_session_per_trial(project: Path) -> None:
    from tensorboard.backend.event_processing import event_accumulator
    from tensorboard.plugins.hparams import metadata

    trials = trial_values(project)
    assert len(trials) == 4
    for trial_id, trial in trials.items():
        run = project / "logs" / trial_id / "execution0"
        sessions = event_accumulator.EventAccumulator(str(run))
        sessions.Reload()
        content = sessions.PluginTagToContent(metadata.PLUGIN_NAME)
        start = metadata.parse_session_start_info_plugin_data(content["_hparams_/session_start_info"])
        logged = {name: value.number_value if value.HasField("number_value") else value.bool_value
                  for name, value in start.hparams.items()}
        assert logged == pytest.approx(trial["hyperparameters"]["values"]), trial_id
        validation = event_accumulator.EventAccumulator(str(run / "validation"))
        validation.Reload()
        if trial["status"] == "COMPLETED":
            accuracy = [event.step for event in validation.Tensors("epoch_accuracy")]
            assert accuracy == [0, 1]  # the final metrics of both epochs


def test_no_tensorboard_writes_no_logs(tiny_npz: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["random", "tutorial-micro", "--data", str(tiny_npz), "--dir", str(tmp_path),
                                 "--max-trials", "1", "--epochs", "1", "--workers", "1", "--no-tensorboard"])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "random-tutorial-micro" / "logs").exists()


def test_report_lists_every_trial_best_first_in_each_format(project: Path, tmp_path: Path) -> None:
    trials = trial_values(project)
    completed = sorted((t for t in trials.values() if t["status"] == "COMPLETED"), key=lambda t: -t["score"])

    table = runner.invoke(app, ["report", str(project)])
    assert table.exit_code == 0, table.output
    assert "4 trials (2 completed, 2 failed); no search is running on it" in table.stdout
    assert "loss became nan" in table.stdout

    rows = list(csv.DictReader(io.StringIO(runner.invoke(app, ["report", str(project), "--format", "csv"]).stdout)))
    assert [row["trial"] for row in rows[:2]] == [t["trial_id"] for t in completed]
    assert [row["status"] for row in rows] == ["completed", "completed", "failed", "failed"]
    assert [row["rank"] for row in rows] == ["1", "2", "-", "-"]
    assert float(rows[0]["val_accuracy"]) == pytest.approx(completed[0]["score"], abs=1e-6)
    assert rows[0]["best epoch"] == str(completed[0]["best_step"] + 1)
    assert all(float(row["duration (s)"]) > 0 for row in rows)
    assert {"units", "learning_rate", "broken"} <= set(rows[0])

    listed = json.loads(runner.invoke(app, ["report", str(project), "--format", "json"]).stdout)
    assert [t["trial_id"] for t in listed["trials"][:2]] == [t["trial_id"] for t in completed]
    assert {h["name"]: h["log"] for h in listed["hyperparameters"]} == {
        "units": False, "learning_rate": True, "broken": False}

    markdown = runner.invoke(app, ["report", str(project), "--format", "markdown"]).stdout.splitlines()
    assert markdown[0].startswith("| rank | trial | status | val_accuracy |") and len(markdown) == 6

    plot = tmp_path / "trials.png"
    result = runner.invoke(app, ["report", str(project), "--format", "csv", "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and plot.stat().st_size > 20_000
    assert "Wrote" not in result.stdout  # CSV on stdout stays clean


def test_report_writes_the_trials_into_an_optuna_storage_that_optuna_reads_back(project: Path,
                                                                              tmp_path: Path) -> None:
    import optuna

    copy = tmp_path / "grid"
    shutil.copytree(project, copy)
    oracle = json.loads((copy / "oracle.json").read_text())
    oracle["end_order"] = oracle["end_order"][::-1]  # as two workers may finish them: the last trial first
    (copy / "oracle.json").write_text(json.dumps(oracle))
    result = runner.invoke(app, ["report", str(copy), "--optuna-storage"])
    assert result.exit_code == 0, result.output
    url = f"sqlite:///{(copy / 'optuna.db').resolve()}"
    assert f"Wrote 4 trials to the Optuna study 'grid' in {url}; see them with: optuna-dashboard {url}" in " ".join(
        result.stdout.split())
    study = optuna.load_study(study_name="grid", storage=url)
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE
    assert study.user_attrs["tuner"] == "grid" and study.user_attrs["objective"] == "val_accuracy"
    trials = trial_values(copy)
    assert len(study.trials) == 4
    assert study.metric_names == ["val_accuracy"]  # optuna-dashboard's label of the objective, not "Objective 0"
    # each trial carries kerastune's number in optuna-dashboard too, whichever finished first
    assert [trial.number for trial in study.trials] == [int(t.user_attrs["kerastune_trial_id"]) for t in study.trials]
    for trial in study.trials:
        file = trials[trial.user_attrs["kerastune_trial_id"]]
        values = file["hyperparameters"]["values"]
        assert trial.params == {"learning_rate": pytest.approx(values["learning_rate"]), "broken": values["broken"]}
        assert trial.user_attrs["fixed"] == {"units": 32}  # a Fixed hyperparameter is not searched
        if file["status"] == "COMPLETED":
            history = json.loads((copy / f"trial_{file['trial_id']}" / "history.json").read_text())["epochs"]
            assert trial.state == optuna.trial.TrialState.COMPLETE and trial.value == file["score"]
            assert trial.intermediate_values == {e["step"]: e["val_accuracy"] for e in history} and len(history) == 2
        else:
            assert trial.state == optuna.trial.TrialState.FAIL and trial.value is None and values["broken"]
            assert trial.intermediate_values == {}  # its loss was NaN before its first epoch ended
    assert study.best_value == max(t["score"] for t in trials.values() if t["status"] == "COMPLETED")

    again = runner.invoke(app, ["report", str(copy), "--optuna-storage", "--format", "json"])
    assert again.exit_code == 0, again.output
    json.loads(again.stdout)  # the JSON stays clean: the storage's line goes to stderr
    reread = optuna.load_study(study_name="grid", storage=url)
    assert reread._study_id == study._study_id and len(reread.trials) == 4  # brought up to date, not duplicated


def test_dashboard_serves_the_projects_hparams(project: Path) -> None:
    process = subprocess.Popen([sys.executable, "-m", "kerastune", "dashboard", str(project), "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = Lines(process.stdout).wait_for(lambda line: "#hparams" in line, 120, "the dashboard's address")
        assert line.endswith("#hparams (Ctrl-C to stop)\n"), line
        url = line.split(": ", 1)[1].split("#")[0]
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url + "data/plugins_listing", timeout=30) as response:
            assert json.load(response)["hparams"]["enabled"]
        request = urllib.request.Request(url + "data/plugin/hparams/experiment", method="POST",
                                         data=json.dumps({"experimentName": ""}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            experiment = json.load(response)
        assert {info["name"] for info in experiment["hparamInfos"]} == {"units", "learning_rate", "broken"}
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_quiet_prints_only_the_summary_and_verbose_shows_keras_progress(tiny_npz: Path, tmp_path: Path) -> None:
    common = ["random", "tutorial-micro", "--data", str(tiny_npz), "--dir", str(tmp_path), "--epochs", "1",
              "--workers", "1", "--no-tensorboard"]
    quiet = runner.invoke(app, [*common, "--max-trials", "1", "--quiet"])
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stdout.startswith("Search finished in ")
    assert "] trial " not in quiet.stdout and "Data:" not in quiet.stdout

    verbose = runner.invoke(app, [*common, "--max-trials", "2", "--verbose"])
    assert verbose.exit_code == 0, verbose.output
    assert "] trial " in verbose.stdout and "step - accuracy:" in verbose.stdout  # Keras's own progress bar
    assert "step - accuracy:" not in quiet.stdout


def test_the_live_status_line_on_a_terminal(capsys: pytest.CaptureFixture) -> None:
    """On a terminal the search shows trial i/N, the running epoch, the best so far and the time left."""
    from rich.console import Console

    from kerastune.app.progress import SearchProgress
    from kerastune.tuners.records.summary import TrialEvent
    from kerastune.tuners.records.trial import TrialRecord, TrialStatus

    terminal = Console(file=io.StringIO(), force_terminal=True, width=200)
    trial = TrialRecord("0", TrialStatus.COMPLETED, {"units": 32}, 0.91, 1)
    with SearchProgress("val_accuracy", 3, 1, console=terminal) as progress:
        assert progress.live is not None
        progress.trial(TrialEvent(1, 3, trial, trial, duration_s=10.0, elapsed_s=10.0))
        progress.epoch(2, 5)
        status = progress.status().plain
    assert status.startswith("trial 2/3 · epoch 2/5 · best val_accuracy 0.9100 (trial 0) · elapsed ")
    assert status.endswith("about 20s left")
    assert "[1/3] trial 0  val_accuracy 0.9100" in capsys.readouterr().out  # above the live line

    plain = Console(file=io.StringIO(), force_terminal=False)
    with SearchProgress("val_accuracy", 3, 1, console=plain) as progress:
        assert progress.live is None  # logs and CI get plain lines only


def test_a_search_that_ends_short_of_its_plan_says_so_and_how_to_finish(capsys: pytest.CaptureFixture) -> None:
    from kerastune.app.output import print_search_summary
    from kerastune.tuners.records.summary import SearchSummary

    summary = SearchSummary(project_dir="tuning/p", tuner="random", hypermodel="mlp", objective="val_accuracy",
                            direction="max", options={}, data={"task": "classification"}, resumed=False,
                            trials_before=0, trials_finished=5, completed=5, failed=0, planned=6, wall_time_s=60.0,
                            unfinished=["5"])
    print_search_summary(summary)
    shown = " ".join(capsys.readouterr().out.split())
    assert ("The search ended after 5 of its 6 planned trials: trial 5 was left unfinished (taken back from a "
            "worker that went silent, with no worker left to run them). Run the same command to run the rest.") in shown
