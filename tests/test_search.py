"""Real small searches with every tuner, then `evaluate`; resuming; user hypermodels; test-set hygiene."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kerastune.app.cli import app

runner = CliRunner()

# tuner -> options that make a real but tiny search
TUNER_OPTIONS = {
    "random": ["mlp", "--max-trials", "2", "--epochs", "1"],
    "bayesian": ["mlp", "--max-trials", "2", "--epochs", "1", "--num-initial-points", "1"],
    "grid": ["tutorial-micro", "--max-trials", "2", "--epochs", "1"],
    "hyperband": ["mlp", "--max-epochs", "2", "--factor", "2"],
}
SEARCH_COMMANDS = set(TUNER_OPTIONS)


def run(*args: object):
    """The CLI in this process; searches run in-process (--workers 1) unless a test says otherwise."""
    args = [str(a) for a in args]
    if args and args[0] in SEARCH_COMMANDS and "--workers" not in args and "--role" not in args:
        args.append("--workers=1")
    return runner.invoke(app, args)


@pytest.mark.parametrize("tuner", list(TUNER_OPTIONS))
def test_search_then_evaluate(tuner: str, tiny_npz: Path, tmp_path: Path) -> None:
    summary_file, evaluation_file = tmp_path / "summary.json", tmp_path / "evaluation.json"
    result = run(tuner, *TUNER_OPTIONS[tuner], "--data", tiny_npz, "--dir", tmp_path / "tuning",
                 "--json", summary_file)
    assert result.exit_code == 0, result.output
    summary = json.loads(summary_file.read_text())
    finished = summary["trials_finished"]
    assert finished == (summary["planned"] if tuner == "hyperband" else 2)
    assert summary["completed"] == finished and summary["failed"] == 0
    assert result.stdout.count("] trial ") == finished  # one progress line per trial
    assert f"[{finished}/{summary['planned']}] trial" in result.stdout
    assert "Best trials by val_accuracy" in result.stdout
    assert summary["data"]["train"] == 400 and summary["data"]["validation"] == 67
    assert summary["data"]["fit"] == 333
    assert summary["best_trials"][0]["score"] >= summary["best_trials"][-1]["score"]

    project = Path(summary["project_dir"])
    assert project.name == f"{tuner}-{TUNER_OPTIONS[tuner][0]}"
    manifest = json.loads((project / "kerastune.json").read_text())
    assert manifest["tuner"] == tuner and manifest["hypermodel"] == TUNER_OPTIONS[tuner][0]
    assert manifest["data"]["location"] == str(tiny_npz.resolve())
    assert manifest["versions"]["keras-tuner"]

    if tuner == "random":  # once, the real command in a fresh process, so that every warning reaches its stderr
        result = subprocess.run(
            [sys.executable, "-m", "kerastune", "evaluate", project, "--top", "2", "--json", evaluation_file],
            capture_output=True, text=True, timeout=300,
        )
        assert result.returncode == 0, result.stderr
        assert "test accuracy" in result.stdout
        assert "warning" not in result.stderr.lower(), result.stderr
    else:
        result = run("evaluate", project, "--top", "2", "--json", evaluation_file)
        assert result.exit_code == 0, result.output
        assert "test accuracy" in result.stdout
    evaluation = json.loads(evaluation_file.read_text())
    models = evaluation["models"]
    assert [m["trial_id"] for m in models] == [t["trial_id"] for t in summary["best_trials"][:2]]
    for model in models:
        assert set(model) >= {"trial_id", "hyperparameters", "val_score", "test_accuracy", "test_loss"}
        assert 0.0 <= model["test_accuracy"] <= 1.0 and model["test_loss"] > 0
    assert evaluation["data"]["test"] == 100


def test_resume_is_announced_and_only_runs_what_is_left(tiny_npz: Path, tmp_path: Path) -> None:
    common = ["random", "mlp", "--data", tiny_npz, "--dir", tmp_path, "--epochs", "1"]
    assert run(*common, "--max-trials", "2").exit_code == 0

    result = run(*common, "--max-trials", "3", "--json", tmp_path / "s.json")
    assert result.exit_code == 0, result.output
    assert "Resuming" in result.stdout and "2 trials already finished" in result.stdout
    assert result.stdout.count("] trial ") == 1
    summary = json.loads((tmp_path / "s.json").read_text())
    assert (summary["trials_before"], summary["trials_finished"]) == (2, 3)

    # options not given again come from the project: --epochs 1 is kept, and the data is loaded from where it was
    result = run("random", "mlp", "--dir", tmp_path)
    assert result.exit_code == 0, result.output
    assert "3 trials of 1 epoch," in result.stdout and "] trial " not in result.stdout
    assert f"Data: 400 training and 100 test images of 28x28 from {tiny_npz.resolve()}" in result.stdout


def test_resume_refuses_a_changed_experiment(tiny_npz: Path, tmp_path: Path) -> None:
    common = ["--data", tiny_npz, "--dir", tmp_path]
    assert run("random", "mlp", *common, "--max-trials", "1", "--epochs", "1").exit_code == 0
    manifest = (tmp_path / "random-mlp" / "kerastune.json").read_text()

    for args, expected in [
        (["random", "mlp", "--epochs", "2"], "--epochs 1, not --epochs 2"),
        (["random", "mlp", "--seed", "7"], "--seed 0, not --seed 7"),
        (["bayesian", "mlp", "--name", "random-mlp"], "is a random search of 'mlp'"),
        (["random", "tutorial-micro", "--name", "random-mlp"], "is a random search of 'mlp'"),
    ]:
        result = run(*args, *common)
        assert result.exit_code == 2, result.output
        assert expected in result.stderr
    assert (tmp_path / "random-mlp" / "kerastune.json").read_text() == manifest

    result = run("random", "mlp", *common, "--epochs", "2", "--max-trials", "1", "--overwrite")
    assert result.exit_code == 0, result.output
    assert "Discarding the random search of 'mlp' in" in result.stdout
    assert "(1 trial finished) (--overwrite), then starting afresh" in result.stdout
    assert json.loads((tmp_path / "random-mlp" / "kerastune.json").read_text())["options"]["epochs"] == 2


def test_resume_refuses_a_changed_search_space(tiny_npz: Path, tmp_path: Path, monkeypatch) -> None:
    module = tmp_path / "spaces.py"
    module.write_text(_USER_MODULE.replace("UNITS", "[32, 64]"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    args = ["random", "spaces:build_model", "--data", tiny_npz, "--max-trials", "1", "--epochs", "1"]
    try:
        assert run(*args).exit_code == 0
        module.write_text(_USER_MODULE.replace("UNITS", "[32, 128]"))
        _forget_module("spaces")
        result = run(*args)
        assert result.exit_code == 2
        assert "search space of 'spaces:build_model' has changed" in result.stderr
    finally:
        _forget_module("spaces")


# Written exactly as the seed tutorial wrote its model-building function.
_USER_MODULE = textwrap.dedent(
    """
    from keras.models import Sequential
    from keras.layers import Dense
    from keras.optimizers import Adam

    def build_model(hp):
        model = Sequential()
        model.add(Dense(units=hp.Choice('units', UNITS), activation='relu', input_dim=784))
        model.add(Dense(10, activation='softmax'))
        model.compile(optimizer=Adam(hp.Choice('learning_rate', [1e-2, 1e-3])),
                      loss='sparse_categorical_crossentropy', metrics=['accuracy'])
        return model
    """
)


def _forget_module(name: str) -> None:
    import sys

    sys.modules.pop(name, None)


def test_tutorial_style_build_function_runs_unchanged(tiny_npz: Path, tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "usermodels.py").write_text(_USER_MODULE.replace("UNITS", "[32, 64]"))
    monkeypatch.chdir(tmp_path)
    try:
        result = run("random", "usermodels:build_model", "--data", tiny_npz, "--max-trials", "2",
                     "--epochs", "1", "--json", "s.json")
        assert result.exit_code == 0, result.output
        summary = json.loads(Path("s.json").read_text())
        assert summary["completed"] == 2
        assert set(summary["best_trials"][0]["hyperparameters"]) == {"units", "learning_rate"}
        assert Path(summary["project_dir"]).name == "random-usermodels-build_model"
        result = run("evaluate", summary["project_dir"], "--top", "1")
        assert result.exit_code == 0, result.output
    finally:
        _forget_module("usermodels")


class _Untouchable:
    """Stands in for the test images: any use by a search fails the test."""

    def __getattr__(self, name: str):
        raise AssertionError(f"the search touched the test set ({name})")

    def __len__(self) -> int:
        raise AssertionError("the search touched the test set (len)")

    def __array__(self, *args, **kwargs):
        raise AssertionError("the search touched the test set (array)")


def test_search_never_touches_the_test_set(tiny_data, tmp_path: Path) -> None:
    from kerastune.tuners.options import SearchConfig
    from kerastune.tuners.run.search import Search

    data = dataclasses.replace(tiny_data, x_test=_Untouchable())
    config = SearchConfig(tuner="random", hypermodel="mlp", directory=tmp_path, max_trials=1, epochs=1)
    summary = Search(config, data).run()
    assert summary.completed == 1


def test_failing_build_is_reported_not_a_traceback(tiny_npz: Path, tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "broken.py").write_text("def build_model(hp):\n    raise RuntimeError('boom in build')\n")
    monkeypatch.chdir(tmp_path)
    try:
        result = run("random", "broken:build_model", "--data", tiny_npz, "--max-trials", "1")
        assert result.exit_code == 2
        assert "failed to build" in result.stderr and "boom in build" in result.stderr
        assert "Traceback" not in result.output
        assert not (tmp_path / "tuning").exists()
    finally:
        _forget_module("broken")


def test_a_hypermodel_written_for_scaled_28x28_images_keeps_working(tiny_data, tmp_path: Path) -> None:
    """A user's hypermodel from before kerastune took any data: its model takes 28x28 floats in [0, 1]. The
    preprocessing inside the wrapping model scales and reshapes the raw digits for it."""
    import keras
    import keras_tuner as kt

    from kerastune.tuners.options import SearchConfig
    from kerastune.tuners.run.search import Search

    seen_shapes = []

    class ImageModel(kt.HyperModel):
        input_shape = (28, 28)

        def build(self, hp):
            seen_shapes.append(self.input_shape)
            model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                                      keras.layers.Dense(hp.Choice("units", [16, 32]), activation="relu"),
                                      keras.layers.Dense(10, activation="softmax")])
            model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
            return model

        def fit(self, hp, model, x, y, **kwargs):
            assert x.shape[1:] == (28, 28) and x.dtype == "uint8"  # as the user holds them
            assert model.layers[1].name == "scale_pixels"
            return model.fit(x, y, **kwargs)

    import hypermodels

    hypermodels.register("test-images")(ImageModel)
    try:
        config = SearchConfig(tuner="random", hypermodel="test-images", directory=tmp_path, max_trials=1, epochs=1)
        assert Search(config, tiny_data).run().completed == 1
    finally:
        hypermodels.unregister("test-images")


def test_notebook_use_with_keras_tuner_directly(tiny_data, tmp_path: Path) -> None:
    """The README's notebook example: a registry hypermodel in keras-tuner's own RandomSearch."""
    import keras_tuner as kt

    import kerastune
    from kerastune import data

    fit, held = data.validation_indices(tiny_data.y_train, 100, seed=0)
    x, y = tiny_data.x_train, tiny_data.y_train
    tuner = kt.RandomSearch(kerastune.hypermodel("mlp", tiny_data), objective="val_accuracy", max_trials=2,
                            directory=str(tmp_path), project_name="notebook")
    tuner.search(x[fit], y[fit], validation_data=(x[held], y[held]), epochs=1, batch_size=128, verbose=0)
    assert len(tuner.oracle.get_best_trials(2)) == 2
    assert tuner.get_best_models(1)[0].output_shape == (None, 10)


_FAILING_FIT = textwrap.dedent(
    """
    import keras_tuner as kt
    import keras

    class FailingFit(kt.HyperModel):
        def build(self, hp):
            model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(hp.Choice("units", [8, 16, 32, 64])),
                                      keras.layers.Dense(10)])
            model.compile("adam", "mse")
            return model

        def fit(self, hp, model, *args, **kwargs):
            raise ValueError("boom in fit")
    """
)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_search_where_every_trial_fails_runs_them_all_then_says_why(workers: str, tiny_npz: Path,
                                                                      tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "failing.py").write_text(_FAILING_FIT)
    monkeypatch.chdir(tmp_path)
    try:
        result = run("random", "failing:FailingFit", "--data", tiny_npz, "--max-trials", "4", "--epochs", "1",
                     "--workers", workers)
    finally:
        _forget_module("failing")
    assert result.exit_code == 1, result.output
    assert result.stderr.strip() == "kerastune: error: all 4 trials failed; the last one said: ValueError: boom in fit"
    assert result.stdout.count("failed: ValueError: boom in fit") == 4  # each failed trial's line says why
    manifest = json.loads((tmp_path / "tuning" / "random-failing-FailingFit" / "kerastune.json").read_text())
    assert manifest["summary"]["failed"] == 4 and manifest["summary"]["completed"] == 0


@pytest.mark.parametrize("workers", ["1", "2"])
def test_max_consecutive_failures_stops_the_search(workers: str, tiny_npz: Path, tmp_path: Path,
                                                   monkeypatch) -> None:
    (tmp_path / "failing.py").write_text(_FAILING_FIT)
    monkeypatch.chdir(tmp_path)
    try:
        result = run("random", "failing:FailingFit", "--data", tiny_npz, "--max-trials", "6", "--epochs", "1",
                     "--workers", workers, "--max-consecutive-failures", "2")
    finally:
        _forget_module("failing")
    assert result.exit_code == 1, result.output
    assert "stopped after 2 trials failed in a row (--max-consecutive-failures 2)" in result.stderr
    manifest = json.loads((tmp_path / "tuning" / "random-failing-FailingFit" / "kerastune.json").read_text())
    failed = manifest["summary"]["failed"]
    # with two workers, the other worker's trial may fail too before the chief stops it
    assert failed == 2 if workers == "1" else 2 <= failed <= 3


_NON_FINITE_LOSS = textwrap.dedent(
    """
    import keras

    def build(hp):
        scale = float("inf") if hp.Boolean("broken") else 1.0
        model = keras.Sequential([keras.Input((784,)), keras.layers.Rescaling(scale), keras.layers.Dense(10)])
        model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
        return model
    """
)


def test_a_trial_whose_loss_is_not_finite_fails_and_the_search_goes_on(tiny_npz: Path, tmp_path: Path,
                                                                      monkeypatch) -> None:
    (tmp_path / "nonfinite.py").write_text(_NON_FINITE_LOSS)
    monkeypatch.chdir(tmp_path)
    summary_file = tmp_path / "summary.json"
    try:
        result = run("grid", "nonfinite:build", "--data", tiny_npz, "--epochs", "2", "--json", summary_file)
    finally:
        _forget_module("nonfinite")
    assert result.exit_code == 0, result.output
    summary = json.loads(summary_file.read_text())
    assert (summary["trials_finished"], summary["completed"], summary["failed"]) == (2, 1, 1)
    assert "failed: FailedTrialError: loss became nan in epoch 1" in result.stdout
    assert "(1 completed, 1 failed)" in result.stdout
    assert summary["best_trials"][0]["hyperparameters"] == {"broken": False}


def test_early_stopping_stops_a_trial_and_records_its_best_epoch(tiny_npz: Path, tmp_path: Path) -> None:
    from tensorboard.backend.event_processing import event_accumulator
    from tensorboard.util import tensor_util

    summary_file = tmp_path / "s.json"
    result = run("random", "tutorial-micro", "--data", tiny_npz, "--dir", tmp_path, "--max-trials", "2",
                 "--epochs", "30", "--early-stopping", "1", "--json", summary_file)
    assert result.exit_code == 0, result.output
    summary = json.loads(summary_file.read_text())
    assert summary["options"]["early_stopping"] == 1
    project = Path(summary["project_dir"])
    stopped_early = 0
    for path in project.glob("trial_*/trial.json"):
        trial = json.loads(path.read_text())
        # the epochs that really ran, from the trial's TensorBoard log
        log = event_accumulator.EventAccumulator(str(project / "logs" / trial["trial_id"] / "execution0"
                                                     / "validation"))
        log.Reload()
        accuracy = [float(tensor_util.make_ndarray(e.tensor_proto)) for e in log.Tensors("epoch_accuracy")]
        if len(accuracy) < 30:  # patience 1: it stopped once an epoch brought no improvement
            stopped_early += 1
            assert trial["best_step"] <= len(accuracy) - 2
            assert trial["score"] == pytest.approx(max(accuracy))  # scored at its best epoch
    assert stopped_early >= 1


def test_other_data_of_the_same_shape_is_refused_by_name_or_used_knowingly(finished_project: Path, tiny_npz: Path,
                                                                           tmp_path: Path) -> None:
    import shutil

    import numpy as np

    project = tmp_path / "random-mlp"
    shutil.copytree(finished_project, project)
    with np.load(tiny_npz) as tiny:
        arrays = {key: tiny[key] for key in tiny.files}
    arrays["y_train"] = arrays["y_train"].copy()
    arrays["y_train"][[0, 1]] = arrays["y_train"][[1, 0]]  # two labels swapped: same shapes, same classes
    other = tmp_path / "other.npz"
    np.savez(other, **arrays)

    resumed = run("random", "mlp", "--data", other, "--dir", tmp_path, "--max-trials", "2")
    assert resumed.exit_code == 2
    images = "400 training and 100 test images of 28x28"
    assert f"was searched on {images} from {tiny_npz.resolve()}; classification into 10 classes (fingerprint " \
        in resumed.stderr
    assert f"not on {images} from {other.resolve()}; classification into 10 classes (fingerprint " in resumed.stderr

    evaluated = run("evaluate", project, "--data", other, "--allow-other-data", "--json", tmp_path / "e.json")
    assert evaluated.exit_code == 0, evaluated.output
    assert "(not the data the search ran on: --allow-other-data)" in evaluated.stdout
    assert json.loads((tmp_path / "e.json").read_text())["other_data"]
    same = run("evaluate", project, "--data", tiny_npz, "--json", tmp_path / "e.json")  # another copy is fine
    assert same.exit_code == 0, same.output
    assert not json.loads((tmp_path / "e.json").read_text())["other_data"]


def test_the_library_refuses_options_that_are_not_the_search_s(tmp_path: Path) -> None:
    import kerastune
    from kerastune.tuners.options import ConfigError

    with pytest.raises(ConfigError, match="search\\(\\) takes no option 'test_split': it is for load_data"):
        kerastune.search("mlp", directory=tmp_path, test_split=0.1)
    with pytest.raises(ConfigError, match="takes no option 'epochz'"):
        kerastune.search("mlp", directory=tmp_path, epochz=2)
    assert not list(tmp_path.iterdir())


def test_the_library_takes_one_value_of_a_repeatable_option_and_refuses_workers_for_arrays(tiny_data,
                                                                                           tmp_path: Path) -> None:
    import numpy as np

    import hypermodels
    import kerastune
    from kerastune.tuners.options import ConfigError

    with pytest.raises(hypermodels.HypermodelError, match="--fix num_layers=abc: num_layers is a whole number"):
        kerastune.search("mlp", tiny_data, directory=tmp_path, fix="num_layers=abc")  # not read letter by letter
    def build(hp):  # defined in a notebook's cell, as a notebook's code is: its module is __main__
        return hypermodels.get("mlp").build(hp)

    build.__module__ = "__main__"
    hypermodels.register("from-this-notebook")(build)
    try:
        with pytest.raises(ConfigError, match="registered in this notebook or script, which worker processes"):
            kerastune.search("from-this-notebook", tiny_data, directory=tmp_path, workers=2)
    finally:
        hypermodels.unregister("from-this-notebook")
    arrays = kerastune.load_data(np.asarray(tiny_data.x_train), np.asarray(tiny_data.y_train))
    with pytest.raises(ConfigError, match="workers=2: each worker process reads the data again"):
        kerastune.search("mlp", arrays, directory=tmp_path, workers=2)
    assert not list(tmp_path.iterdir())


# mlp's defaults (`kerastune space mlp`): the baseline a new search tries first
MLP_DEFAULTS = {"num_layers": 2, "activation": "relu", "dropout": 0.2, "learning_rate": 0.001, "units_1": 512,
                "units_2": 512, "batch_size": 128}


def first_trial_values(project: Path) -> dict:
    oracle = json.loads((project / "oracle.json").read_text())
    trial = json.loads((project / f"trial_{oracle['start_order'][0]}" / "trial.json").read_text())
    return {k: v for k, v in trial["hyperparameters"]["values"].items() if not k.startswith("tuner/")}


@pytest.mark.parametrize("tuner", ["random", "hyperband", "bayesian"])
def test_a_new_search_tries_the_space_defaults_first(tuner: str, tiny_npz: Path, tmp_path: Path) -> None:
    result = run(tuner, *TUNER_OPTIONS[tuner], "--data", tiny_npz, "--dir", tmp_path, "--no-tensorboard")
    assert result.exit_code == 0, result.output
    assert first_trial_values(tmp_path / f"{tuner}-mlp") == MLP_DEFAULTS


def test_no_defaults_first_draws_the_first_trial_too(tiny_npz: Path, tmp_path: Path) -> None:
    result = run("random", *TUNER_OPTIONS["random"], "--data", tiny_npz, "--dir", tmp_path, "--no-tensorboard",
                 "--no-defaults-first")
    assert result.exit_code == 0, result.output
    first = first_trial_values(tmp_path / "random-mlp")
    assert first != MLP_DEFAULTS and set(first) >= {"num_layers", "activation", "learning_rate"}
    assert "--no-defaults-first" not in run("grid", "--help").output  # grid search is unchanged


@pytest.mark.parametrize("steps", [1, 3])
def test_steps_per_execution_sets_how_often_batch_callbacks_run(steps: int, tiny_npz: Path, tmp_path: Path) -> None:
    import user_models

    user_models.BATCH_CALLS.clear()
    result = run("random", "user_models:CountedBatches", "--data", tiny_npz, "--dir", tmp_path, "--max-trials", "1",
                 "--epochs", "1", "--no-tensorboard", "--steps-per-execution", steps)
    assert result.exit_code == 0, result.output
    batches = math.ceil(333 / 64)  # 333 of the 400 training digits fit, in batches of 64
    assert user_models.BATCH_CALLS == list(range(steps - 1, batches, steps)) + ([batches - 1] if batches % steps
                                                                                 else [])
