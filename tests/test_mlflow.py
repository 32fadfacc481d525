"""--mlflow: a search as an MLflow parent run with a nested run per trial, continued on resume, and the export
logged to it; read back with MLflow's own client."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kerastune.app.cli import app

mlflow = pytest.importorskip("mlflow", reason="MLflow is not installed: pip install 'kerastune[mlflow]'")

runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_tracking_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests log to their own stores, never to a server the environment names."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


def run(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def trial_files(project: Path) -> dict[str, dict]:
    files = [json.loads(path.read_text()) for path in project.glob("trial_*/trial.json")]
    return {file["trial_id"]: file for file in files}


@pytest.mark.timeout(300)
def test_a_search_is_a_parent_run_with_a_run_per_trial_continued_on_resume_and_the_export_logged(
        tiny_npz: Path, tmp_path: Path) -> None:
    common = ["random", "tutorial-micro", "--data", tiny_npz, "--dir", tmp_path, "--epochs", 2, "--workers", 1,
              "--no-tensorboard", "--mlflow"]
    first = run(*common, "--max-trials", 2)
    assert first.exit_code == 0, first.output
    project = tmp_path / "random-tutorial-micro"
    url = f"sqlite:///{(project / 'mlflow.db').resolve()}"
    assert "MLflow: parent run " in first.stdout and f"mlflow ui --backend-store-uri {url}" in " ".join(
        first.stdout.split())
    resumed = run(*common, "--max-trials", 3, "--json", tmp_path / "summary.json")
    assert resumed.exit_code == 0, resumed.output
    exported = run("export", project)
    assert exported.exit_code == 0, exported.output

    recorded = json.loads((project / "mlflow.json").read_text())
    assert recorded["tracking_uri"] == url
    assert json.loads((tmp_path / "summary.json").read_text())["mlflow"]["run_id"] == recorded["run_id"]
    client = mlflow.tracking.MlflowClient(url)
    mlflow.set_tracking_uri(url)
    runs = mlflow.search_runs(experiment_ids=[recorded["experiment_id"]], output_format="list")
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert [r.info.run_id for r in parents] == [recorded["run_id"]]  # the resume continued it: one parent run
    parent = parents[0]
    assert parent.info.status == "FINISHED"
    assert parent.data.params["tuner"] == "random" and parent.data.params["hypermodel"] == "tutorial-micro"
    assert parent.data.metrics["trials_finished"] == 3 and parent.data.metrics["completed"] == 3
    export = json.loads((project / "best_model.json").read_text())
    assert parent.data.metrics["export_test_accuracy"] == pytest.approx(export["test_accuracy"])
    assert {a.path for a in client.list_artifacts(parent.info.run_id, "export")} == {
        "export/best_model.keras", "export/best_model.json"}
    assert parent.data.metrics["best_score"] == pytest.approx(max(f["score"] for f in trial_files(project).values()))

    trials = {r.data.tags["kerastune.trial_id"]: r for r in runs if r is not parent}
    files = trial_files(project)
    assert set(trials) == set(files)
    for trial_id, trial_run in trials.items():
        file = files[trial_id]
        assert trial_run.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert trial_run.info.status == "FINISHED" and trial_run.data.tags["kerastune.status"] == "completed"
        assert trial_run.info.end_time > trial_run.info.start_time  # its duration
        assert trial_run.data.params == {k: str(v) for k, v in file["hyperparameters"]["values"].items()}
        assert trial_run.data.metrics["score"] == pytest.approx(file["score"])
        history = json.loads((project / f"trial_{trial_id}" / "history.json").read_text())["epochs"]
        logged = client.get_metric_history(trial_run.info.run_id, "val_accuracy")
        assert [(m.step, m.value) for m in logged] == [(e["step"], pytest.approx(e["val_accuracy"])) for e in history]
        assert [m.step for m in logged] == [1, 2]


@pytest.mark.timeout(180)
def test_mlflow_uri_logs_to_the_store_it_names(tiny_npz: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain-folder store, which MLflow takes only when told (MLFLOW_ALLOW_FILE_STORE)."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    store = (tmp_path / "mlruns").as_uri()
    result = run("random", "tutorial-micro", "--data", tiny_npz, "--dir", tmp_path, "--max-trials", 1, "--epochs", 1,
                 "--workers", 1, "--no-tensorboard", "--mlflow-uri", store)
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "random-tutorial-micro" / "mlflow.db").exists()
    mlflow.set_tracking_uri(store)
    runs = mlflow.search_runs(experiment_names=["random-tutorial-micro"], output_format="list")
    assert len(runs) == 2 and {r.info.status for r in runs} == {"FINISHED"}
    assert sum("mlflow.parentRunId" in r.data.tags for r in runs) == 1


def test_a_resume_continues_the_parent_run_and_marks_the_trial_runs_a_kill_left_running(tmp_path: Path) -> None:
    from kerastune.tuners.integrations import mlflow_runs

    project = tmp_path / "random-mlp"
    project.mkdir()
    uri = mlflow_runs.tracking_uri(project)
    first = mlflow_runs.start_search_run(project, uri, {"tuner": "random"}, {})
    killed = mlflow_runs.TrialTracker(first)
    killed.trial_started("0", {"units": 32})
    killed.epoch_ended(1, {"val_accuracy": 0.5})  # then SIGKILL: the trial's run is left RUNNING
    client = mlflow.tracking.MlflowClient(uri)
    assert client.get_run(killed.run_id).info.status == "RUNNING"

    resumed = mlflow_runs.start_search_run(project, uri, {"tuner": "random"}, {})
    assert resumed == first  # the same parent run, running again
    assert client.get_run(first.run_id).info.status == "RUNNING"
    stale = client.get_run(killed.run_id)
    assert stale.info.status == "KILLED" and stale.data.tags["kerastune.status"] == "interrupted"

    other = mlflow_runs.start_search_run(project, f"sqlite:///{tmp_path / 'elsewhere.db'}", {"tuner": "random"}, {})
    assert other.run_id != first.run_id  # another store: a new parent run there


@pytest.mark.timeout(240)
def test_an_export_mlflow_cannot_log_is_saved_all_the_same_and_exits_4(tiny_npz: Path, tmp_path: Path) -> None:
    """A failure of the optional service after the work is done is not bad input: the model is saved, the
    warning says what was not logged, and the exit code is 4 (ExitCode.NOT_LOGGED)."""
    searched = run("random", "tutorial-micro", "--data", tiny_npz, "--dir", tmp_path, "--epochs", 1, "--workers", 1,
                   "--max-trials", 1, "--no-tensorboard", "--mlflow")
    assert searched.exit_code == 0, searched.output
    project = tmp_path / "random-tutorial-micro"
    recorded = json.loads((project / "mlflow.json").read_text())
    recorded["tracking_uri"] = f"sqlite:///{tmp_path / 'gone' / 'mlflow.db'}"  # the store is no longer there
    (project / "mlflow.json").write_text(json.dumps(recorded))
    exported = run("export", project, "--output", tmp_path / "model.keras")
    assert exported.exit_code == 4, exported.output
    assert (tmp_path / "model.keras").is_file() and (tmp_path / "model.json").is_file()
    assert "the model is saved, but it could not be logged to the search's MLflow run" in exported.stderr


def test_an_mlflow_store_that_cannot_be_used_is_refused_before_anything_is_written(tiny_npz: Path,
                                                                                   tmp_path: Path) -> None:
    result = run("random", "tutorial-micro", "--data", tiny_npz, "--dir", tmp_path / "tuning", "--epochs", 1,
                 "--workers", 1, "--mlflow-uri", "foo://bar")
    assert result.exit_code == 2, result.output
    assert "MLflow at foo://bar" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    project = tmp_path / "tuning" / "random-tutorial-micro"
    assert not project.exists() or [p.name for p in project.iterdir()] == ["kerastune.lock"]
