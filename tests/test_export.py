"""`kerastune export`: retrain the best configuration on all training digits, save, reopen, measure."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kerastune.app.cli import app

runner = CliRunner()


def run(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def test_export_round_trips_through_plain_keras_load_model(finished_project: Path, tiny_npz: Path,
                                                           tmp_path: Path) -> None:
    project = tmp_path / "random-mlp"
    shutil.copytree(finished_project, project)
    result = run("export", project)
    assert result.exit_code == 0, result.output
    report = json.loads((project / "best_model.json").read_text())
    assert report["trained_on"] == 400  # the search's 333 fit digits and its 67 validation digits
    assert "on all 400 training examples for 1 epoch (the best epoch of trial 0)" in result.stdout
    assert report["epochs"] == 1 and report["test_examples"] == 100
    assert f"Test accuracy {report['test_accuracy']:.4f} on 100 test examples" in result.stdout

    # a fresh process with nothing but Keras opens it (safe mode on) and gets the same accuracy on raw images
    code = (
        "import sys, numpy as np, keras\n"
        "model = keras.saving.load_model(sys.argv[1])\n"
        "data = np.load(sys.argv[2])\n"
        "scores = model.predict(data['x_test'], verbose=0)\n"
        "assert model.steps_per_execution == 1, model.steps_per_execution  # as a model compiled by hand\n"
        "print(float(np.mean(scores.argmax(axis=1) == data['y_test'])))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", code, str(project / "best_model.keras"), str(tiny_npz)],
                            capture_output=True, text=True, timeout=120)
    assert loaded.returncode == 0, loaded.stderr
    assert float(loaded.stdout.strip().splitlines()[-1]) == pytest.approx(report["test_accuracy"])

    # a second export does not replace the first unless asked to
    before = (project / "best_model.keras").read_bytes()
    refused = run("export", project)
    assert refused.exit_code == 2 and "exists: use --overwrite" in refused.stderr
    assert (project / "best_model.keras").read_bytes() == before


def test_export_epochs_and_output_can_be_chosen(finished_project: Path, tmp_path: Path) -> None:
    project = tmp_path / "random-mlp"
    shutil.copytree(finished_project, project)
    result = run("export", project, "--epochs", "2", "--seed", "3", "--output", tmp_path / "mnist.keras")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "mnist.json").read_text())
    assert (report["epochs"], report["epochs_from"], report["seed"]) == (2, "--epochs", 3)
    assert result.stdout.count("epoch ") >= 2 and "epoch 2/2" in result.stdout
    assert not (project / "best_model.keras").exists()
    assert not list(tmp_path.glob(".*partial*"))


def test_best_epoch_counts_from_the_start_of_a_continued_hyperband_trial() -> None:
    from kerastune.tuners.records.trial import best_epoch

    assert best_epoch(0, {}, cross_validated=False) == 1
    assert best_epoch(2, {"tuner/initial_epoch": 7}, cross_validated=False) == 10
    assert best_epoch(2, {"tuner/initial_epoch": 7}, cross_validated=True) == 3  # under --cv: from scratch
    assert best_epoch(None, {}, cross_validated=False) is None


def test_a_cross_validated_trial_exports_for_the_rounded_mean_of_its_folds_best_epochs(tmp_path: Path) -> None:
    """keras-tuner's best_step of a --cv trial is the floor of the folds' mean (0-based steps 0, 1, 1 give 0);
    the export trains for the mean rounded to the nearest epoch: 1, 2, 2 give 2, and 2, 3 give 3."""
    from kerastune.tuners.records.trial import FOLDS_FILE, TrialRecord, best_epoch

    assert best_epoch(0, {}, True, [1, 2, 2]) == 2
    assert best_epoch(1, {}, True, [2, 3]) == 3
    assert best_epoch(1, {}, True, [2, 2, 3]) == 2

    (tmp_path / "trial_4").mkdir()
    (tmp_path / "trial_4" / FOLDS_FILE).write_text(json.dumps({"scores": [0.9, 0.8, 0.85], "best_epochs": [1, 2, 2]}))
    state = {"trial_id": "4", "status": "COMPLETED", "score": 0.85, "best_step": 0, "message": None,
             "hyperparameters": {"values": {"units": 8}}}
    result = TrialRecord.from_state(state, tmp_path, order=["units"], cv=3)
    assert result.best_epoch == 2 and result.fold_scores == [0.9, 0.8, 0.85]
