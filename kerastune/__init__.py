"""kerastune in Python: the same searches as the `kerastune` command, for notebooks and scripts.

    import kerastune

    data = kerastune.load_data("fashion-mnist")     # a --data source, or arrays: load_data(x, y), a tf.data.Dataset
    summary = kerastune.search("mlp", data, tuner="random", max_trials=10, epochs=5)
    evaluation = kerastune.evaluate(summary.project_dir)      # the best models on the test set, once, at the end
    exported = kerastune.export(summary.project_dir, "model.keras")

Each returns the object whose fields the command prints (`--json` writes the same). Errors are the command's:
a `ValueError` subclass for bad input, with one line saying what is wrong.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["evaluate", "export", "hypermodel", "load_data", "search"]


def load_data(
    source: Any = None,
    y: Any = None,
    *,
    x_test: Any = None,
    y_test: Any = None,
    target: str | None = None,
    task: str | None = None,
    test_split: int | float | None = None,
    seed: int = 0,
    ignore: tuple[str, ...] = (),
    categorical: tuple[str, ...] = (),
    numeric: tuple[str, ...] = (),
) -> Any:
    """Load and check data: a `--data` source (a path or a dataset name; None for MNIST), numpy arrays
    `load_data(x_train, y_train, x_test=..., y_test=...)`, or a `tf.data.Dataset` of (x, y) pairs.

    `target`: a table's target column; `task`: "classification" or "regression" instead of the detected one;
    `test_split`: the test set to hold out of data that has none (a count or a fraction), seeded by `seed`;
    `ignore`, `categorical`, `numeric`: a table's columns to leave out, or to use as categories or numbers.
    Returns a `kerastune.data.Dataset`.
    """
    from kerastune import data

    if source is None or isinstance(source, (str, os.PathLike)):
        if y is not None or x_test is not None:
            raise data.DataError("labels and test arrays go with arrays, not with a file or dataset name")
        return data.load(source, target=target, task=task, test_split=test_split, seed=seed,
                         ignore=tuple(ignore), categorical=tuple(categorical), numeric=tuple(numeric))
    return data.from_arrays(source, y, x_test, y_test, task=task, test_split=test_split, seed=seed)


def search(
    hypermodel: str,
    data: Any = None,
    *,
    tuner: str = "random",
    directory: str | os.PathLike = "tuning",
    name: str | None = None,
    overwrite: bool = False,
    workers: int = 1,
    progress: bool = True,
    on_trial: Any = None,
    **options: Any,
) -> Any:
    """Run (or resume) a search and return its summary (a `kerastune.tuners.records.summary.SearchSummary`).

    `hypermodel`: a registered name (`hypermodels.list_hypermodels()`; register your own with
    `@hypermodels.register("name")`) or a MODULE:ATTRIBUTE reference. `data`: from `load_data`, or None for the
    data of the project it resumes (MNIST for a new one). `tuner`: random, hyperband, bayesian, tpe or grid.
    `workers`: trials run side by side, each in a process of its own (`kerastune TUNER --workers`); they read the
    data again, so it must come from a file or a dataset name, not arrays. `progress`: print a line as each trial
    ends; `on_trial(event)` is called then too. `options`: the search options of `kerastune TUNER --help` by their
    Python names (max_trials=10, epochs=5, fix=["batch_size=256"], time_budget="10m", ...), but for the data's
    (give them to `load_data`) and the command line's own.
    """
    import hypermodels
    from kerastune import data as data_module
    from kerastune.tuners.options import COMMAND_LINE_ONLY, OPTION, ConfigError, SearchConfig
    from kerastune.tuners.records.project import load_project, project_state, recorded_data
    from kerastune.tuners.records.text import trial_line
    from kerastune.tuners.run.search import Search

    for key in options:
        if key not in OPTION or key in COMMAND_LINE_ONLY:
            where = "load_data" if key in ("target", "task", "test_split", "ignore", "categorical",
                                            "numeric") else "the command line"
            raise ConfigError(f"search() takes no option {key!r}" + (f": it is for {where}" if key in OPTION else
                              "; see `kerastune random --help` for the options, by their Python names"))
    OPTION["workers"].check(workers)
    parsed = {}
    for key, value in options.items():
        option = OPTION[key]
        if option.type == list[str] and isinstance(value, (str, dict)):
            value = [value]  # fix="batch_size=256": one value of a repeatable option
        parsed[key] = option.parse(value) if option.parse and isinstance(value, (str, list)) else value
    config = SearchConfig(tuner=tuner, hypermodel=hypermodel, directory=Path(directory), project_name=name,
                          overwrite=overwrite, **parsed)
    if data is None:
        resuming = not overwrite and project_state(config.project_dir) == "kerastune"
        project = config.project_dir
        data = data_module.load_recorded(recorded_data(project, load_project(project))) if resuming else load_data()
    if workers > 1 and hypermodels.get_entry(hypermodel).source == "module __main__":
        raise ConfigError(f"workers={workers}: the hypermodel {hypermodel!r} is registered in this notebook or "
                          "script, which worker processes cannot import: put it in a module (a .py file) and register "
                          "it there, or workers=1")
    if workers > 1 and data.source == "arrays":
        raise ConfigError(f"workers={workers}: each worker process reads the data again, which it cannot do from "
                          "arrays: give the data as a file or a dataset name (load_data(PATH)), or workers=1")
    run = Search(config, data)
    objective = run.options["objective"].partition(":")[0]

    def ended(event: Any) -> None:
        if progress:
            print(trial_line(event, objective), flush=True)
        if on_trial is not None:
            on_trial(event)

    if workers == 1:
        return run.run(on_trial=ended)
    from kerastune.tuners.workers.chief import run_chief
    from kerastune.tuners.workers.local import PrestartedWorkers

    with PrestartedWorkers(workers, config.project_dir) as warm:
        return run_chief(run, "127.0.0.1", 0, local_workers=workers, worker_timeout=OPTION["worker_timeout"].default,
                         on_trial=ended, warm=warm)


def evaluate(project_dir: str | os.PathLike, top: int = 3, data: Any = None, allow_other_data: bool = False) -> Any:
    """Reload the best `top` models of a project and measure them on its test set (a
    `kerastune.tuners.evaluation.evaluate.Evaluation`).

    `data`: None for the data the search recorded; give it again when the search ran on arrays."""
    from kerastune.tuners.evaluation.evaluate import evaluate_project

    return evaluate_project(Path(project_dir), top=top, data=data, allow_other_data=allow_other_data)


def export(
    project_dir: str | os.PathLike,
    model_file: str | os.PathLike | None = None,
    *,
    epochs: int | None = None,
    seed: int | None = None,
    data: Any = None,
    overwrite: bool = False,
) -> Any:
    """Retrain the best configuration on all the training examples, save it as a `.keras` file that takes the
    data as you hold it, and measure it on the test set (`kerastune.tuners.evaluation.export.Export`)."""
    from kerastune.tuners.evaluation.export import export_project

    return export_project(Path(project_dir), Path(model_file) if model_file else None, epochs=epochs, seed=seed,
                          data=data, overwrite=overwrite)


def hypermodel(name: str, data: Any) -> Any:
    """A registered hypermodel as a keras-tuner `HyperModel` for `data`: its models start with the data's
    preprocessing, so any keras-tuner tuner can search it on the data as it is (`data.x_train`, `data.y_train`)."""
    import hypermodels
    from kerastune import data as data_module
    from kerastune.tuners.run.prepared_hypermodel import PreparedHyperModel, check_takes

    prepared = PreparedHyperModel(hypermodels.get(name), data_module.spec_of(data))
    check_takes(prepared, name, data.x_train[:2])
    return prepared
