"""The command line: fast start, listing, spaces, and one-line errors for bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from kerastune.app.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("args", [["--help"], ["models", "--help"], ["random", "--help"], ["evaluate", "--help"]])
def test_help_does_not_import_tensorflow(args: list[str]) -> None:
    code = (
        "import sys\n"
        "from kerastune.app.cli import main\n"
        f"sys.argv = ['kerastune', *{args!r}]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert e.code in (0, None), e.code\n"
        "print('TF-LOADED' if 'tensorflow' in sys.modules else 'TF-ABSENT')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout
    assert result.stdout.strip().endswith("TF-ABSENT")


def test_every_command_help_has_an_example() -> None:
    for command in ("models", "space", "random", "hyperband", "bayesian", "tpe", "grid", "evaluate", "export",
                    "report", "dashboard"):
        result = run(command, "--help")
        assert result.exit_code == 0
        assert "Example: kerastune " + command in result.stdout


def test_help_shows_every_text_as_written_flags_without_a_type_and_arguments_plainly() -> None:
    """Typer reads help as Rich markup ([mlflow] would vanish), writes <bool> beside flags and {HYPERMODEL} in the
    usage line; kerastune's help does none of that."""
    import re

    import typer
    from rich.text import Text

    group = typer.main.get_command(app)
    for name, command in [("", group), *group.commands.items()]:
        helped = runner.invoke(app, [*([name] if name else []), "--help"], env={"COLUMNS": "1000"})  # no wrapping
        shown = " ".join(helped.stdout.split())
        assert "<bool>" not in shown and "{" not in shown, name
        for param in command.params:
            written = " ".join(Text.from_markup(param.help or "").plain.split())
            for bracketed in re.findall(r"\S*\[[^\]]*\]\S*", written):
                assert bracketed in shown, (name, param.name, bracketed)
        if name == "random":
            assert "pip install 'kerastune[mlflow]'" in shown
        if name == "dashboard":
            assert "pip install 'kerastune[optuna-dashboard]'" in shown


def test_search_help_lists_only_its_own_options() -> None:
    hyperband = run("hyperband", "--help").stdout
    random = run("random", "--help").stdout
    assert "--max-epochs" in hyperband and "--max-trials" not in hyperband
    assert "--max-trials" in random and "--max-epochs" not in random
    assert "--num-initial-points" in run("bayesian", "--help").stdout
    assert "--num-initial-points" in run("tpe", "--help").stdout and "--prune" not in run("grid", "--help").stdout


def test_models_lists_builtins_with_descriptions() -> None:
    result = run("models")
    assert result.exit_code == 0, result.output
    for name in ("mlp", "tutorial-gridsearchcv", "tutorial-hparams", "tutorial-kerastuner", "tutorial-micro"):
        assert name in result.stdout
    assert "built-in" in result.stdout

    listed = json.loads(run("models", "--format", "json").stdout)
    assert {"mlp", "tutorial-micro"} <= {entry["name"] for entry in listed}
    assert all(entry["description"] for entry in listed)
    takes = {entry["name"]: entry["takes"] for entry in listed}
    assert takes["cnn"].startswith("images") and takes["mlp"].startswith("any data")
    assert takes["tutorial-micro"].startswith("28x28 images")
    assert "Takes: images" in run("space", "cnn").stdout


def test_space_shows_types_ranges_defaults_and_conditions() -> None:
    result = run("space", "mlp")
    assert result.exit_code == 0, result.output
    assert "units_4" in result.stdout and "num_layers in [4]" in result.stdout
    assert "0.0001 .. 0.01 (log)" in result.stdout

    described = json.loads(run("space", "tutorial-gridsearchcv", "--format", "json").stdout)
    assert described["grid_size"] == 18
    assert {row["name"]: row["values"] for row in described["hyperparameters"]} == {
        "units": "8, 16, 32",
        "batch_size": "32, 64, 512",
        "epochs": "10, 20",
    }


class Inputs:
    """What a bad-input case needs, made on demand in the test's folder."""

    def __init__(self, tmp: Path, tiny: Path, finished: Path) -> None:
        self.tmp, self.tiny, self.finished = tmp, tiny, finished
        self.common = ["--data", tiny, "--dir", tmp / "tuning"]

    def npz(self, change: str = "", **arrays: np.ndarray) -> Path:
        """The tiny data with some arrays replaced."""
        with np.load(self.tiny) as tiny:
            contents = {key: tiny[key] for key in tiny.files}
        contents.update(arrays)
        path = self.tmp / f"data{change}.npz"
        np.savez(path, **contents)
        return path

    def csv(self, city: str = "", quantity: bool = False, regression: bool = False) -> Path:
        """A CSV of 60 rows: two numeric columns (and a text one, given `city`) and a target of 3 classes (or a
        quantity of many whole numbers, or fractional numbers)."""
        header = "a,b" + (",city" if city else "") + ",y"
        rows = []
        for row in range(60):
            target = 1000 + 7 * row if quantity else (row * 0.37 if regression else row % 3)
            rows.append(f"{row},{row % 7}" + (f",{city}" if city else "") + f",{target}")
        return self.file("table.csv", ("\n".join([header, *rows]) + "\n").encode())

    def images(self, classes: dict[str, int]) -> Path:
        from PIL import Image

        for name, count in classes.items():
            (self.tmp / "photos" / name).mkdir(parents=True)
            for index in range(count):
                Image.new("RGB", (8, 8), (index, 0, 0)).save(self.tmp / "photos" / name / f"{index}.png")
        return self.tmp / "photos"

    def file(self, name: str, content: bytes) -> Path:
        path = self.tmp / name
        path.write_bytes(content)
        return path

    def project(self, damage: str = "", content: str = "") -> Path:
        """A copy of a finished project of `random mlp` at tuning/random-mlp, with one file replaced."""
        project = self.tmp / "tuning" / "random-mlp"
        shutil.copytree(self.finished, project)
        if damage:
            (project / damage).write_text(content or (project / damage).read_text()[:40])
        return project

    def project_without_logs(self) -> Path:
        project = self.project()
        shutil.rmtree(project / "logs")
        return project

    def earlier_project(self) -> Path:
        """A finished project as the kerastune before issue 12 recorded it: no spec, no task."""
        project = self.project()
        manifest = json.loads((project / "kerastune.json").read_text())
        for key in ("spec", "task", "classes"):
            manifest["data"].pop(key)
        (project / "kerastune.json").write_text(json.dumps(manifest))
        return project

    def newer_manifest(self) -> Path:
        project = self.project()
        manifest = json.loads((project / "kerastune.json").read_text())
        (project / "kerastune.json").write_text(json.dumps({**manifest, "format": 99}))
        return project

    def changed_data(self) -> Path:
        """The tiny data with one pixel changed: the same shapes, other data."""
        with np.load(self.tiny) as tiny:
            images = tiny["x_train"].copy()
        images[0, 14, 14] ^= 0xFF
        return self.npz("changed", x_train=images)

    def project_on_changed_data(self) -> Path:
        """A finished project whose recorded data file has changed since its search."""
        project = self.project()
        manifest = json.loads((project / "kerastune.json").read_text())
        manifest["data"]["location"] = str(self.changed_data())
        (project / "kerastune.json").write_text(json.dumps(manifest))
        return project

    def folder(self, name: str, *files: str) -> Path:
        folder = self.tmp / "tuning" / name
        folder.mkdir(parents=True)
        for file in files:
            (folder / file).parent.mkdir(parents=True, exist_ok=True)
            (folder / file).write_text("{}")
        return folder


SEARCHED_ON = "was searched on 400 training and 100 test images"
CASES = {
    # options
    "unknown hypermodel": lambda i: (["random", "mpl", *i.common], "did you mean 'mlp'"),
    "bad reference": lambda i: (["random", "nosuchmodule:build", *i.common], "cannot import module"),
    "missing attribute": lambda i: (["random", "kerastune.tuners.options:nothing", *i.common],
                                   "has no attribute 'nothing'"),
    "zero trials": lambda i: (["random", "mlp", "--max-trials", "0", *i.common], "--max-trials must be >= 1"),
    "negative trials": lambda i: (["bayesian", "mlp", "--max-trials", "-3", *i.common], "--max-trials must be >= 1"),
    "negative epochs": lambda i: (["random", "mlp", "--epochs", "-1", *i.common], "--epochs must be >= 1"),
    "not a number": lambda i: (["random", "mlp", "--max-trials", "abc", *i.common], "'--max-trials'"),
    "float trials": lambda i: (["random", "mlp", "--max-trials", "2.5", *i.common], "'--max-trials'"),
    "hyperband has no max-trials": lambda i: (["hyperband", "mlp", "--max-trials", "3", *i.common], "No such option"),
    "factor 1": lambda i: (["hyperband", "mlp", "--factor", "1", *i.common], "--factor must be >= 2"),
    "zero max epochs": lambda i: (["hyperband", "mlp", "--max-epochs", "0", *i.common], "--max-epochs must be >= 1"),
    "zero executions": lambda i: (["bayesian", "mlp", "--executions-per-trial", "0", *i.common], "must be >= 1"),
    "zero batch": lambda i: (["grid", "tutorial-micro", "--batch-size", "0", *i.common], "--batch-size must be >= 1"),
    "zero workers": lambda i: (["random", "mlp", "--workers", "0", *i.common], "--workers must be >= 1"),
    "negative seed": lambda i: (["random", "mlp", "--seed", "-1", *i.common], "--seed must be >= 0"),
    "zero alpha": lambda i: (["bayesian", "mlp", "--alpha", "0", *i.common], "--alpha must be > 0"),
    "zero failure limit": lambda i: (["random", "mlp", "--max-consecutive-failures", "0", *i.common],
                                     "--max-consecutive-failures must be >= 1"),
    "split too large": lambda i: (["random", "mlp", "--validation-split", "70000", *i.common], "larger than"),
    "split fraction above 1": lambda i: (["random", "mlp", "--validation-split", "1.5", *i.common], "fraction"),
    "negative split": lambda i: (["random", "mlp", "--validation-split", "-5", *i.common], "--validation-split"),
    "unknown objective": lambda i: (["random", "mlp", "--objective", "val_foo", *i.common], "val_foo:max"),
    "bad direction": lambda i: (["random", "mlp", "--objective", "val_foo:up", *i.common], "NAME:max"),
    "name with slash": lambda i: (["random", "mlp", "--name", "a/b", *i.common], "plain folder name"),
    "huge grid": lambda i: (["grid", "mlp", *i.common], "--max-trials"),
    "oracle without role": lambda i: (["random", "mlp", "--oracle", "127.0.0.1:8000", *i.common], "go together"),
    "bad oracle address": lambda i: (["random", "mlp", "--oracle", "nohost", "--role", "chief", *i.common],
                                     "HOST:PORT"),
    "worker id without role": lambda i: (["random", "mlp", "--worker-id", "w1", *i.common], "--worker-id is for"),
    "zero patience": lambda i: (["random", "mlp", "--early-stopping", "0", *i.common], "--early-stopping must be >= 1"),
    "bad time budget": lambda i: (["random", "mlp", "--time-budget", "20 minutes", *i.common], "such as 90s, 20m"),
    "zero time budget": lambda i: (["random", "mlp", "--time-budget", "0s", *i.common], "--time-budget must be > 0"),
    "quiet and verbose": lambda i: (["random", "mlp", "--quiet", "--verbose", *i.common], "do not go together"),
    "unknown command": lambda i: (["serach"], "No such command"),
    "bad format": lambda i: (["models", "--format", "yaml"], "'--format'"),
    "space of unknown": lambda i: (["space", "mlpp"], "did you mean 'mlp'"),
    # files to write
    "json folder missing": lambda i: (["random", "mlp", "--json", i.tmp / "no" / "s.json", *i.common],
                                      "does not exist"),
    "json is a folder": lambda i: (["random", "mlp", "--json", i.tmp, *i.common], "is a directory"),
    "dir is a file": lambda i: (["random", "mlp", "--data", i.tiny, "--dir", i.file("f", b"x")], "not a folder"),
    # --data
    "missing data": lambda i: (["random", "mlp", "--data", i.tmp / "nope.npz"], "no such file"),
    "text as npz": lambda i: (["random", "mlp", "--data", i.file("notes.npz", b"not a zip file")], "not an .npz"),
    "single npy": lambda i: (["random", "mlp", "--data", i.file("a.npz", b"\x93NUMPY\x01\x00")], "single .npy"),
    "truncated npz": lambda i: (["random", "mlp", "--data", i.file("t.npz", i.npz().read_bytes()[:5000])],
                                "cannot read as .npz"),
    "wrong keys": lambda i: (["random", "mlp", "--data", _saved(i.tmp / "keys.npz", images=np.zeros((2, 28, 28)))],
                             "missing key(s) x_train"),
    "pickled arrays": lambda i: (["random", "mlp", "--data", i.npz("p", y_train=np.array([{}] * 400, object))],
                                 "pickled object array"),
    "train and test shapes disagree": lambda i: (["random", "mlp", "--data", i.npz("s", x_train=np.zeros(
        (400, 10, 10), "u1"))], "the training and test examples must have the same shape"),
    "NaN images": lambda i: (["random", "mlp", "--data", i.npz("n", x_train=np.full((400, 28, 28), np.nan))],
                             "NaN"),
    "constant labels": lambda i: (["random", "mlp", "--data", i.npz("l", y_train=np.full(400, 12))], "is constant"),
    "test labels no class has": lambda i: (["random", "mlp", "--data", i.npz("t", y_test=np.full(100, 12))],
                                           "has the label 12, which is not one of the search's classes"),
    "CSV target missing": lambda i: (["random", "mlp", "--data", i.csv(), "--target", "price"],
                                     "no column 'price' for --target"),
    "CSV --ignore of no column": lambda i: (["random", "mlp", "--data", i.csv(city="Paris"), "--ignore", "cty"],
                                           "--ignore cty: no such column; did you mean 'city'?"),
    "CSV --numeric of a text column": lambda i: (["random", "mlp", "--data", i.csv(city="Paris"), "--numeric",
                                                  "city"], "--numeric city: the column holds no numbers"),
    "CSV ragged": lambda i: (["random", "mlp", "--data", i.file("r.csv", b"a,b,y\n1,2,0\n3,1,0,5\n")],
                             "Expected 3 fields in line 3, saw 4"),
    "quantity as classes": lambda i: (["random", "mlp", "--data", i.csv(quantity=True), "--task", "classification"],
                                      "use --task regression"),
    "test split too large": lambda i: (["random", "mlp", "--data", i.csv(), "--test-split", "0.99"],
                                       "leaves only 1 training"),
    "test split on data with a test set": lambda i: (["random", "mlp", "--test-split", "0.2", *i.common],
                                                     "leave out --test-split"),
    "resume a project of an earlier kerastune": lambda i: (i.earlier_project() and ["random", "mlp", *i.common],
                                                           "from before it took any data"),
    "evaluate a project of an earlier kerastune": lambda i: (["evaluate", i.earlier_project()],
                                                             "from before it took any data"),
    "resume with a test split": lambda i: (i.project() and ["random", "mlp", "--test-split", "0.1", *i.common],
                                           "leave out --test-split to resume"),
    "bad task": lambda i: (["random", "mlp", "--data", i.csv(), "--task", "clustering"], "'--task'"),
    "image folder of one class": lambda i: (["random", "cnn", "--data", i.images({"cat": 3})],
                                            "at least two classes"),
    "cnn on CSV rows": lambda i: (["random", "cnn", "--data", i.csv()], "cnn takes images"),
    "tutorial space on CSV rows": lambda i: (["random", "tutorial-kerastuner", "--data", i.csv()],
                                             "a tutorial's space for 28x28 images of 10 classes"),
    "own model with the wrong outputs": lambda i: (["random", "user_models:three_outputs", *i.common],
                                                   "its model has 3 outputs, but the data has 10 classes"),
    "accuracy for a regression": lambda i: (["random", "mlp", "--data", i.csv(regression=True), "--objective",
                                             "val_accuracy"], "a regression has no accuracy"),
    "labels of another length": lambda i: (["random", "mlp", "--data", i.npz("n", y_train=np.zeros(399, int))],
                                           "same length"),
    # projects
    "damaged oracle.json": lambda i: (i.project("oracle.json") and ["random", "mlp", *i.common], "is damaged"),
    "damaged trial.json": lambda i: (i.project("trial_0/trial.json") and ["random", "mlp", *i.common], "is damaged"),
    "manifest from a newer version": lambda i: (i.newer_manifest() and ["random", "mlp", *i.common],
                                                "newer kerastune"),
    "keras-tuner project": lambda i: (i.folder("random-mlp", "oracle.json") and ["random", "mlp", *i.common],
                                      "keras-tuner project"),
    "overwrite cut short": lambda i: (i.folder("random-mlp", "trial_0/trial.json") and ["random", "mlp", *i.common],
                                      "an --overwrite that was cut short"),
    "not a project": lambda i: (i.folder("random-mlp", "notes.txt") and ["random", "mlp", *i.common],
                                "not a tuning project"),
    "overwrite not a project": lambda i: (i.folder("random-mlp", "a.txt") and ["random", "mlp", "--overwrite",
                                                                              *i.common], "will not delete"),
    "other tuner": lambda i: (i.project() and ["grid", "mlp", "--name", "random-mlp", "--max-trials", "1", *i.common],
                              "is a random search"),
    "evaluate missing": lambda i: (["evaluate", i.tmp / "nowhere"], "no project"),
    "evaluate not a project": lambda i: (["evaluate", i.tmp], "not a kerastune project"),
    "evaluate top 0": lambda i: (["evaluate", i.tmp, "--top", "0"], "--top must be >= 1"),
    "evaluate damaged manifest": lambda i: (["evaluate", i.project("kerastune.json")], "cannot read"),
    "evaluate damaged trial": lambda i: (["evaluate", i.project("trial_0/trial.json")], "is damaged"),
    "evaluate newer manifest": lambda i: (["evaluate", i.newer_manifest()], "newer kerastune"),
    "report missing": lambda i: (["report", i.tmp / "nowhere"], "no project"),
    "report damaged trial": lambda i: (["report", i.project("trial_0/trial.json")], "is damaged"),
    "report bad format": lambda i: (["report", i.project(), "--format", "xml"], "'--format'"),
    "report plot suffix": lambda i: (["report", i.project(), "--plot", i.tmp / "trials.txt"], ".png, .svg or .pdf"),
    "report plot folder missing": lambda i: (["report", i.project(), "--plot", i.tmp / "no" / "t.png"],
                                             "does not exist"),
    "dashboard missing": lambda i: (["dashboard", i.tmp / "nowhere"], "no project"),
    "dashboard without logs": lambda i: (["dashboard", i.project_without_logs()], "--no-tensorboard"),
    "dashboard bad port": lambda i: (["dashboard", i.project(), "--port", "70000"], "--port must be between"),
    "optuna dashboard bad port": lambda i: (["dashboard", i.project(), "--optuna", "--port", "-1"],
                                            "--port must be between"),
    "evaluate missing data": lambda i: (["evaluate", i.project(), "--data", i.tmp / "nope.npz"], "no such file"),
    # --cv, --fix, --only
    "one fold": lambda i: (["random", "mlp", "--cv", "1", *i.common], "--cv must be >= 2"),
    "folds and split": lambda i: (["random", "mlp", "--cv", "3", "--validation-split", "0.2", *i.common],
                                  "leave out --validation-split"),
    "more folds than digits of a class": lambda i: (["random", "mlp", "--cv", "50", *i.common],
                                                    "needs at least 50 examples of each class"),
    "fix unknown name": lambda i: (["random", "mlp", "--fix", "unit_1=64", *i.common], "did you mean 'units_1'"),
    "fix out of range": lambda i: (["random", "mlp", "--fix", "units_1=5000", *i.common], "out of range"),
    "fix not a choice": lambda i: (["random", "mlp", "--fix", "activation=softplus", *i.common], "is one of"),
    "fix not a number": lambda i: (["random", "mlp", "--fix", "dropout=high", *i.common], "is a number"),
    "fix not a finite number": lambda i: (["random", "mlp", "--fix", "num_layers=nan", *i.common],
                                          "is a whole number"),
    "fix off the steps": lambda i: (["random", "mlp", "--fix", "dropout=0.25", *i.common],
                                    "dropout takes 0.0 .. 0.5 step 0.1"),
    "fix without value": lambda i: (["random", "mlp", "--fix", "batch_size", *i.common], "NAME=VALUE"),
    "fix twice": lambda i: (["random", "mlp", "--fix", "dropout=0.1", "--fix", "dropout=0.2", *i.common],
                            "fixed twice"),
    "only unknown name": lambda i: (["random", "mlp", "--only", "lr", *i.common], "no hyperparameter 'lr'"),
    "only a switched-off layer": lambda i: (["random", "mlp", "--only", "units_3", *i.common],
                                            "add --only num_layers"),
    "only and fix the same": lambda i: (["random", "mlp", "--only", "dropout", "--fix", "dropout=0.1", *i.common],
                                        "contradict"),
    "batch size the space tunes": lambda i: (["random", "mlp", "--batch-size", "64", *i.common],
                                             "--fix batch_size=64"),
    "resume with another fix": lambda i: (i.project() and ["random", "mlp", "--fix", "dropout=0.1", *i.common],
                                          "was searched without --fix"),
    # export
    "export missing": lambda i: (["export", i.tmp / "nowhere"], "no project"),
    "export not a project": lambda i: (["export", i.tmp], "not a kerastune project"),
    "export not .keras": lambda i: (["export", i.project(), "--output", i.tmp / "model.h5"], "name a .keras file"),
    "export folder missing": lambda i: (["export", i.project(), "--output", i.tmp / "no" / "m.keras"],
                                        "does not exist"),
    "export over a file": lambda i: (["export", i.project(), "--output", i.file("m.keras", b"mine")],
                                     "exists: use --overwrite"),
    "export zero epochs": lambda i: (["export", i.project(), "--epochs", "0"], "--epochs must be >= 1"),
    "export negative seed": lambda i: (["export", i.project(), "--seed", "-1"], "--seed must be >= 0"),
    # other data than the search's: the same shapes, one pixel changed
    "resume on other data": lambda i: (i.project() and ["random", "mlp", "--data", i.changed_data(),
                                                        "--dir", i.tmp / "tuning"], SEARCHED_ON),
    "worker on other data": lambda i: (i.project() and ["random", "mlp", "--data", i.changed_data(), "--dir",
                                                        i.tmp / "tuning", "--role", "worker", "--oracle",
                                                        "127.0.0.1:9"], SEARCHED_ON),
    "worker on changed data": lambda i: (i.project_on_changed_data() and [
        "random", "mlp", "--dir", i.tmp / "tuning", "--role", "worker", "--oracle", "127.0.0.1:9"],
        SEARCHED_ON),
    "evaluate on other data": lambda i: (["evaluate", i.project(), "--data", i.changed_data()],
                                         "or add --allow-other-data"),
    "export on other data": lambda i: (["export", i.project(), "--data", i.changed_data()],
                                       "or add --allow-other-data"),
    "evaluate on changed data": lambda i: (["evaluate", i.project_on_changed_data()], "has changed since"),
    "export on changed data": lambda i: (["export", i.project_on_changed_data()], "has changed since"),
}


def _saved(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


def _snapshot(folder: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every file under `folder`: size, modification time and content."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line_exit_2_and_changes_nothing(case: str, tmp_path: Path, tiny_npz: Path,
                                                          finished_project: Path) -> None:
    args, expected = CASES[case](Inputs(tmp_path, tiny_npz, finished_project))
    before = _snapshot(tmp_path)
    result = run(*args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("kerastune: error: ")
    assert expected.lower() in lines[0].lower()
    assert "Traceback" not in result.output
    assert _snapshot(tmp_path) == before


def test_a_dir_that_cannot_be_written_is_refused(tmp_path: Path, tiny_npz: Path, monkeypatch) -> None:
    """As root every folder is writable, so the permission check is made to see a read-only one."""
    import os

    readonly = tmp_path / "readonly"
    readonly.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if Path(path) == readonly else real_access(path, mode))
    result = run("random", "mlp", "--data", tiny_npz, "--dir", readonly / "tuning")
    assert result.exit_code == 2, result.output
    expected = f"kerastune: error: cannot write in {readonly}: give --dir a folder you may write to"
    assert result.stderr.strip() == expected
    assert list(readonly.iterdir()) == []


def _kerastune_script() -> str:
    return str(Path(sys.executable).parent / "kerastune")


@pytest.mark.parametrize("words, cword, expected", [
    ("kerastune re", "1", {"report"}),
    ("kerastune random --max", "2", {"--max-trials", "--max-consecutive-failures", "--max-params"}),
    ("kerastune report --format ", "3", {"table", "csv", "json", "markdown"}),
])
def test_shell_completion_completes_commands_options_and_choices(words: str, cword: str, expected: set[str]) -> None:
    env = {**os.environ, "_KERASTUNE_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": cword}
    result = subprocess.run([_kerastune_script()], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == expected


def test_install_completion_sets_up_bash(tmp_path: Path) -> None:
    # the shell is named, not detected from the process tree (which depends on how pytest was started)
    env = {**os.environ, "HOME": str(tmp_path), "SHELL": "/bin/bash",
           "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    result = subprocess.run([_kerastune_script(), "--install-completion", "bash"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "completion installed" in result.stdout.lower()
    assert "kerastune" in (tmp_path / ".bashrc").read_text()


def test_the_docs_exit_code_table_is_the_code_s() -> None:
    """docs/errors.md's table of exit codes lists exactly the codes kerastune uses (app/errors.py ExitCode)."""
    from kerastune.app.errors import ExitCode

    table = (Path(__file__).resolve().parent.parent / "docs" / "errors.md").read_text()
    documented = [int(line.split("|")[1]) for line in table.splitlines()
                  if line.startswith("|") and line.split("|")[1].strip().isdigit()]
    assert documented == sorted(code.value for code in ExitCode)
