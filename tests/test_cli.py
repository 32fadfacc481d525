"""The command line: fast start, listing, spaces, and one-line errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from app.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("args", [["--help"], ["models", "--help"], ["random", "--help"], ["evaluate", "--help"]])
def test_help_does_not_import_tensorflow(args: list[str]) -> None:
    code = (
        "import sys\n"
        "from app.cli import main\n"
        f"sys.argv = ['kerastune', *{args!r}]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert e.code in (0, None), e.code\n"
        "print('TF-LOADED' if 'tensorflow' in sys.modules else 'TF-ABSENT')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout
    assert result.stdout.strip().endswith("TF-ABSENT")


def test_every_command_help_has_an_example() -> None:
    for command in ("models", "space", "random", "hyperband", "bayesian", "grid", "evaluate"):
        result = run(command, "--help")
        assert result.exit_code == 0
        assert "Example: kerastune " + command in result.stdout


def test_search_help_lists_only_its_own_options() -> None:
    hyperband = run("hyperband", "--help").stdout
    random = run("random", "--help").stdout
    assert "--max-epochs" in hyperband and "--max-trials" not in hyperband
    assert "--max-trials" in random and "--max-epochs" not in random
    assert "--num-initial-points" in run("bayesian", "--help").stdout


def test_models_lists_builtins_with_descriptions() -> None:
    result = run("models")
    assert result.exit_code == 0, result.output
    for name in ("mlp", "tutorial-gridsearchcv", "tutorial-hparams", "tutorial-kerastuner", "tutorial-micro"):
        assert name in result.stdout
    assert "built-in" in result.stdout

    listed = json.loads(run("models", "--format", "json").stdout)
    assert {"mlp", "tutorial-micro"} <= {entry["name"] for entry in listed}
    assert all(entry["description"] for entry in listed)


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


def _write(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


def _bad_inputs(tmp: Path, tiny: Path) -> dict[str, tuple[list[str], str]]:
    text = tmp / "notes.npz"
    text.write_text("not a zip file")
    wrong_keys = _write(tmp / "keys.npz", images=np.zeros((2, 28, 28), np.uint8))
    project = ["--data", tiny, "--dir", tmp / "tuning"]
    return {
        "unknown hypermodel": (["random", "mpl", *project], "did you mean 'mlp'"),
        "bad reference": (["random", "nosuchmodule:build", *project], "cannot import module"),
        "zero trials": (["random", "mlp", "--max-trials", "0", *project], "--max-trials must be >= 1"),
        "negative epochs": (["random", "mlp", "--epochs", "-1", *project], "--epochs must be >= 1"),
        "not a number": (["random", "mlp", "--max-trials", "abc", *project], "'--max-trials'"),
        "hyperband has no max-trials": (["hyperband", "mlp", "--max-trials", "3", *project], "No such option"),
        "factor 1": (["hyperband", "mlp", "--factor", "1", *project], "--factor must be >= 2"),
        "zero executions": (["bayesian", "mlp", "--executions-per-trial", "0", *project], "must be >= 1"),
        "zero batch": (["grid", "tutorial-micro", "--batch-size", "0", *project], "--batch-size must be >= 1"),
        "missing data": (["random", "mlp", "--data", tmp / "nope.npz"], "no such file"),
        "text as npz": (["random", "mlp", "--data", text], str(text)),
        "wrong keys": (["random", "mlp", "--data", wrong_keys], "x_train"),
        "split too large": (["random", "mlp", "--validation-split", "70000", *project], "larger than"),
        "negative split": (["random", "mlp", "--validation-split", "-5", *project], "--validation-split"),
        "unknown objective": (["random", "mlp", "--objective", "val_foo", *project], "val_foo:max"),
        "bad direction": (["random", "mlp", "--objective", "val_foo:up", *project], "NAME:max"),
        "name with slash": (["random", "mlp", "--name", "a/b", *project], "plain folder name"),
        "json folder missing": (["random", "mlp", "--json", tmp / "no" / "s.json", *project], "does not exist"),
        "huge grid": (["grid", "mlp", *project], "--max-trials"),
        "evaluate missing": (["evaluate", tmp / "nowhere"], "no project"),
        "evaluate not a project": (["evaluate", tmp], "not a kerastune project"),
        "evaluate top 0": (["evaluate", tmp, "--top", "0"], "--top must be >= 1"),
        "unknown command": (["serach"], "No such command"),
        "bad format": (["models", "--format", "yaml"], "'--format'"),
    }


BAD_INPUT_CASES = list(_bad_inputs(Path("/tmp"), Path("/tmp")))


@pytest.mark.parametrize("case", BAD_INPUT_CASES)
def test_bad_input_is_one_line_exit_2_and_changes_nothing(case: str, tmp_path: Path, tiny_npz: Path) -> None:
    args, expected = _bad_inputs(tmp_path, tiny_npz)[case]
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    result = run(*args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("kerastune: error: ")
    assert expected.lower() in lines[0].lower()
    assert "Traceback" not in result.output
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
