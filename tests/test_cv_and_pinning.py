"""--cv (scores are means over stratified, disjoint folds) and --fix/--only (they narrow the searched space)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from kerastune.app.cli import app

runner = CliRunner()


def run(*args: object):
    """The CLI in this process; searches run in-process."""
    args = [str(a) for a in args]
    return runner.invoke(app, args + (["--workers", "1"] if args[0] in ("random", "grid") else []))


def validation_accuracy_per_epoch(run_dir: Path) -> list[float]:
    """The validation accuracy of each epoch that ran, from a TensorBoard log."""
    from tensorboard.backend.event_processing import event_accumulator
    from tensorboard.util import tensor_util

    log = event_accumulator.EventAccumulator(str(run_dir / "validation"))
    log.Reload()
    return [float(tensor_util.make_ndarray(e.tensor_proto)) for e in log.Tensors("epoch_accuracy")]


def test_cross_validation_folds_are_stratified_disjoint_and_cover_the_training_digits(tiny_data) -> None:
    from kerastune.tuners.run.validation import cross_validation_folds

    y = tiny_data.y_train
    folds = cross_validation_folds(y, 3, seed=0)
    assert len(folds) == 3
    held_out = np.concatenate([held for _, held in folds])
    assert sorted(held_out.tolist()) == list(range(len(y)))  # every digit is held out exactly once
    for fit, held in folds:
        assert not set(fit.tolist()) & set(held.tolist())
        assert len(fit) + len(held) == len(y)
        per_class = np.bincount(y[held], minlength=10)
        assert per_class.max() - per_class.min() <= 1  # 40 of each digit, split 14/13/13
    again = cross_validation_folds(y, 3, seed=0)
    assert all((a[1] == b[1]).all() for a, b in zip(folds, again, strict=True))  # seeded


def test_cv_scores_a_trial_by_the_mean_over_its_folds(tiny_npz: Path, tmp_path: Path) -> None:
    summary_file = tmp_path / "s.json"
    result = run("random", "mlp", "--cv", "3", "--max-trials", "1", "--epochs", "2", "--data", tiny_npz,
                 "--dir", tmp_path, "--json", summary_file)
    assert result.exit_code == 0, result.output
    assert "scored by 3-fold cross-validation" in result.stdout
    summary = json.loads(summary_file.read_text())
    assert (summary["data"]["fit"], summary["data"]["validation"]) == (266, 134)
    best = summary["best_trials"][0]
    project = Path(summary["project_dir"])
    folds = json.loads((project / f"trial_{best['trial_id']}" / "folds.json").read_text())
    assert len(folds["scores"]) == 3
    assert best["score"] == pytest.approx(statistics.mean(folds["scores"]))
    assert best["spread"] == pytest.approx(statistics.stdev(folds["scores"]))
    assert f"{best['score']:.4f} ± {best['spread']:.4f}" in result.stdout
    # each fold is its own model, trained and scored separately: its score is its best epoch in its own log
    for fold, score in enumerate(folds["scores"]):
        accuracy = validation_accuracy_per_epoch(project / "logs" / best["trial_id"] / f"fold{fold}-execution0")
        assert len(accuracy) == 2
        assert score == pytest.approx(max(accuracy))
    report = run("report", project, "--format", "csv")
    assert "spread (3 folds)" in report.stdout.splitlines()[0]

    # the project scores by folds: a resume that asks for a validation split is refused, not ignored
    manifest = (project / "kerastune.json").read_text()
    resumed = run("random", "mlp", "--validation-split", "0.2", "--max-trials", "2", "--data", tiny_npz,
                  "--dir", tmp_path)
    assert resumed.exit_code == 2, resumed.output
    assert "scores its trials by --cv 3 on all the training examples: leave out --validation-split" in resumed.stderr
    assert (project / "kerastune.json").read_text() == manifest


def test_fix_and_only_narrow_the_searched_space(tiny_npz: Path, tmp_path: Path) -> None:
    summary_file = tmp_path / "s.json"
    result = run("random", "mlp", "--only", "learning_rate", "--fix", "batch_size=256", "--max-trials", "3",
                 "--epochs", "1", "--data", tiny_npz, "--dir", tmp_path, "--no-tensorboard", "--json", summary_file)
    assert result.exit_code == 0, result.output
    assert "fixed batch_size=256; tuning only learning_rate" in result.stdout
    project = Path(json.loads(summary_file.read_text())["project_dir"])
    trials = [json.loads(p.read_text())["hyperparameters"]["values"] for p in project.glob("trial_*/trial.json")]
    assert len(trials) == 3
    defaults = {"num_layers": 2, "units_1": 512, "units_2": 512, "activation": "relu", "dropout": 0.2}
    for values in trials:
        assert values["batch_size"] == 256
        assert {name: values[name] for name in defaults} == pytest.approx(defaults)
    assert len({values["learning_rate"] for values in trials}) == 3  # the one tuned hyperparameter varies

    # the pinned values are part of the experiment: a resume may not change them
    again = run("random", "mlp", "--fix", "batch_size=128", "--max-trials", "4", "--data", tiny_npz, "--dir", tmp_path)
    assert again.exit_code == 2
    assert "was searched with --fix batch_size=256, not --fix batch_size=128" in again.stderr


def test_only_makes_a_grid_of_the_named_hyperparameters(tiny_data, tmp_path: Path) -> None:
    from kerastune.tuners.options import SearchConfig
    from kerastune.tuners.run.search import Search

    whole = Search(SearchConfig("grid", "tutorial-gridsearchcv", directory=tmp_path), tiny_data)
    assert whole.options["max_trials"] == 18
    one = Search(SearchConfig("grid", "tutorial-gridsearchcv", directory=tmp_path, only=["batch_size"]), tiny_data)
    assert one.options["max_trials"] == 3
    pinned = {hp.name: hp.value for hp in one.searched_space.space if type(hp).__name__ == "Fixed"}
    assert pinned == {"units": 8, "epochs": 10}  # the defaults: each Choice's first value


def test_fixing_a_layer_count_keeps_the_units_of_the_layers_it_uses(tiny_data, tmp_path: Path) -> None:
    from kerastune.tuners.options import SearchConfig
    from kerastune.tuners.run.search import Search

    search = Search(SearchConfig("random", "mlp", directory=tmp_path, fix={"num_layers": "3", "units_3": "64"}),
                    tiny_data)
    hps = {hp.name: hp for hp in search.searched_space.space}
    assert hps["num_layers"].value == 3 and hps["units_3"].value == 64
    assert [c.name for c in hps["units_3"].conditions] == ["num_layers"]  # still a layer-3 setting
    assert type(hps["units_1"]).__name__ == "Int"  # still tuned
