"""The layout: what kerastune installs, and which part may import which."""

from __future__ import annotations

import ast
import functools
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
FOLDERS = SETUPTOOLS["package-dir"]  # import name -> folder in the repository
# Each installed part of the code and the parts it may import (layering: the command line on top).
MAY_IMPORT = {
    "kerastune.__main__": ("kerastune.app",),
    "kerastune": ("kerastune.tuners", "kerastune.data", "hypermodels"),  # the Python API: never the command line
    "kerastune.app": ("kerastune", "kerastune.app", "kerastune.tuners", "kerastune.data", "hypermodels"),
    "kerastune.tuners": ("kerastune.tuners", "kerastune.data", "hypermodels"),
    "hypermodels": ("hypermodels", "kerastune.data"),
    "kerastune.data": ("kerastune.data",),
}


def modules() -> list[tuple[str, Path]]:
    """Every installed module: (its import name, its file)."""
    found = []
    for package, folder in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            if package == "kerastune" and len(parts) > 1:
                continue  # kerastune's own folder holds its __init__ and __main__ only
            name = ".".join((package, *parts)).removesuffix(".__init__")
            found.append((name, path))
    return found


def imported(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_every_package_folder_is_installed() -> None:
    """A sub-package missing from pyproject.toml's list works in an editable install and is missing from a wheel."""
    listed = set(SETUPTOOLS["packages"])
    for package, folder in FOLDERS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            parts = init.parent.relative_to(ROOT / folder).parts
            assert ".".join((package, *parts)) in listed, f"{init.parent} is not in [tool.setuptools] packages"


def test_only_kerastune_and_hypermodels_are_installed_as_top_level_names() -> None:
    assert {package.split(".")[0] for package in FOLDERS} == {"kerastune", "hypermodels"}


@pytest.mark.parametrize("name,path", modules(), ids=[name for name, _ in modules()])
def test_each_part_imports_only_the_parts_below_it(name: str, path: Path) -> None:
    part = next(p for p in sorted(MAY_IMPORT, key=len, reverse=True) if name == p or name.startswith(p + "."))
    for module in imported(path):
        top = module.split(".")[0]
        assert top not in ("app", "data", "tuners"), f"{path}: imports {module}; write kerastune.{module}"
        ours = [p for p in ("kerastune.app", "kerastune.tuners", "kerastune.data", "hypermodels", "kerastune")
                if module == p or module.startswith(p + ".")]
        if ours and ours[0] != "kerastune":
            assert ours[0] in MAY_IMPORT[part], f"{path} ({part}) imports {module}"


NOTEBOOK = """
import kerastune

data = kerastune.load_data({npz!r})
summary = kerastune.search("mlp", data, directory="tuning", max_trials=2, epochs=1, fix="num_layers=1", workers=2)
evaluation = kerastune.evaluate(summary.project_dir, top=1)
exported = kerastune.export(summary.project_dir, "model.keras")
print("OK", summary.completed, len(evaluation.models), exported.test_scores["test_accuracy"])
"""


@pytest.mark.timeout(280)
def test_a_notebook_in_a_folder_with_its_own_app_and_data_modules_uses_kerastune(tiny_npz: Path,
                                                                                 tmp_path: Path) -> None:
    """A notebook's folder is first on its path: a user's app.py, data.py or data/ must not stand in for
    kerastune's parts."""
    hostile = "raise ImportError('the user\\'s own module was imported')\n"
    for name in ("app.py", "tuners.py"):
        (tmp_path / name).write_text(hostile)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "__init__.py").write_text(hostile)
    (tmp_path / "data.py").write_text(hostile)
    script = textwrap.dedent(NOTEBOOK.format(npz=str(tiny_npz)))
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                            timeout=260)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert sum(line.startswith(("[1/2] trial", "[2/2] trial")) for line in lines) == 2, result.stdout  # progress
    assert " on worker" in result.stdout  # two local workers ran the trials
    assert lines[-1].split()[:3] == ["OK", "2", "1"], result.stdout
    assert (tmp_path / "model.keras").is_file()


@functools.cache
def upstream_private_names() -> frozenset[str]:
    """The private attributes of the keras-tuner and Optuna classes kerastune builds on: their classes' and a
    sample instance's names with one leading underscore."""
    import keras_tuner as kt
    import optuna

    space = kt.HyperParameters()
    space.Choice("units", [8, 16])
    instances = [kt.oracles.RandomSearchOracle(objective="val_loss", hyperparameters=space, max_trials=1),
                 kt.oracles.HyperbandOracle(objective="val_loss", hyperparameters=space, max_epochs=3),
                 kt.oracles.BayesianOptimizationOracle(objective="val_loss", hyperparameters=space, max_trials=1),
                 kt.oracles.GridSearchOracle(objective="val_loss", hyperparameters=space, max_trials=1),
                 kt.engine.trial.Trial(space), space]
    study = optuna.create_study()
    instances += [study, study.ask(), optuna.trial.create_trial(value=1.0)]
    classes = [kt.Tuner, kt.Hyperband, kt.engine.base_tuner.BaseTuner, kt.HyperModel, optuna.Trial,
               optuna.trial.FrozenTrial, optuna.storages.RDBStorage, *(type(i) for i in instances)]
    names = {name for cls in classes for name in dir(cls)}
    names |= {name for instance in instances for name in vars(instance)}
    return frozenset(name for name in names if name.startswith("_") and not name.startswith("__"))


PRIVATE_MODULES = ("keras_tuner.src", "tensorflow.python", "optuna._", "keras.src")


@pytest.mark.parametrize("name,path", modules(), ids=[name for name, _ in modules()])
def test_only_the_internals_touch_private_attributes_of_keras_tuner_tensorflow_and_optuna(name: str,
                                                                                         path: Path) -> None:
    if name.startswith("kerastune.tuners.internals"):
        return
    for module in imported(path):
        assert not module.startswith(PRIVATE_MODULES), f"{path}: imports {module} (keep it in tuners/internals/)"
    private = upstream_private_names()
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in private:
            raise AssertionError(f"{path}:{node.lineno}: .{node.attr} is keras-tuner's or Optuna's private "
                                 "attribute; reach it through tuners/internals/")
        if isinstance(node, ast.ClassDef) and node.bases:  # a class that may extend one of theirs
            for method in node.body:
                if isinstance(method, ast.FunctionDef) and method.name in private:
                    raise AssertionError(f"{path}:{method.lineno}: overrides keras-tuner's or Optuna's private "
                                         f"{method.name}; do it in tuners/internals/")
