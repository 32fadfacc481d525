"""The exporter: retrain a search's best configuration on all the training examples, save it as a `.keras` file
that takes the data as the user holds it (its preprocessing is part of the model), and measure it on the test
set."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kerastune.data.table import model_input

DEFAULT_NAME = "best_model.keras"

EpochListener = Callable[[int, int, dict[str, float]], None]


class ExportError(RuntimeError):
    """The retrained model could not be saved in a form that loads again."""


@dataclass
class Export:
    """What `kerastune export` did: written next to the model as JSON, and printed."""

    model_file: str
    project_dir: str
    hypermodel: str
    trial_id: str
    hyperparameters: dict[str, Any]
    objective: str
    val_score: float | None
    epochs: int
    epochs_from: str  # "--epochs", or which trial's best epoch
    batch_size: int
    seed: int  # of the retraining's initial weights, dropout and shuffling
    trained_on: int  # training examples: the search's fit and validation parts together
    test_examples: int
    task: str
    classes: list[Any] | None  # classification: the label of each of the model's outputs, in order
    test_scores: dict[str, float]  # test_accuracy, or test_mae, test_rmse and test_r2; of the reloaded model
    train_time_s: float
    input: str  # what the model takes and gives, in words
    data: dict[str, Any]
    other_data: bool  # --allow-other-data: trained and tested on data other than the search's
    search_running: bool  # a search was running on the project: the best of its finished trials was exported
    created: str
    versions: dict[str, str]
    mlflow_run: str | None = None  # the search's MLflow parent run (--mlflow), where the model was logged too
    mlflow_error: str | None = None  # why the model could not be logged there (it is saved all the same)

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        return {**values, **values.pop("test_scores")}


def report_path(model_file: Path) -> Path:
    """Where the export's figures go: beside the model, same name, `.json`."""
    return Path(model_file).with_suffix(".json")


def check_destination(model_file: Path, overwrite: bool) -> None:
    """Refuse, before any work, a destination that is not a `.keras` file or that would replace files."""
    from kerastune.tuners.options import ConfigError

    model_file = Path(model_file)
    if model_file.suffix != ".keras":
        raise ConfigError(f"--output {model_file}: name a .keras file, e.g. best_model.keras")
    parent = model_file.parent
    if not parent.is_dir():
        raise ConfigError(f"--output {model_file}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise ConfigError(f"--output {model_file}: folder {parent} is not writable")
    for path in (model_file, report_path(model_file)):
        if path.is_dir():
            raise ConfigError(f"--output {model_file}: {path} is a directory")
        if path.exists() and not overwrite:
            raise ConfigError(f"{path} exists: use --overwrite to replace it, or --output to write elsewhere")


def export_project(
    project_dir: Path,
    model_file: Path | None = None,
    *,
    epochs: int | None = None,
    seed: int | None = None,
    data: Any = None,
    allow_other_data: bool = False,
    overwrite: bool = False,
    on_start: Callable[[Export], None] | None = None,
    on_epoch: EpochListener | None = None,
) -> Export:
    """Retrain the best completed trial of a project on all the training examples and save it.

    Epochs: `epochs` if given, else the epoch at which the trial scored best; seed: `seed` if
    given, else the search's. The saved model is
    reloaded with `keras.saving.load_model` (safe mode) and that reloaded model is what is
    measured on the test set.
    """
    import keras

    from kerastune.data import spec_of
    from kerastune.tuners.evaluation.evaluate import open_project
    from kerastune.tuners.integrations import mlflow_runs
    from kerastune.tuners.internals import tensorflow_state
    from kerastune.tuners.options import ConfigError
    from kerastune.tuners.records.project import now, package_versions, write_atomically
    from kerastune.tuners.run.callbacks import FailOnNonFiniteLoss
    from kerastune.tuners.tf_noise import quiet_keras_noise

    if epochs is not None and epochs < 1:
        raise ConfigError(f"--epochs must be >= 1, got {epochs}")
    search_run = mlflow_runs.recorded_run(project_dir)
    if search_run is not None:
        mlflow_runs.client(search_run.tracking_uri)  # MLflow is installed: checked before hours of training
    if seed is not None and seed < 0:
        raise ConfigError(f"--seed must be >= 0, got {seed}")
    model_file = Path(model_file) if model_file is not None else Path(project_dir) / DEFAULT_NAME
    project = open_project(project_dir, 1, data, allow_other_data)  # a missing project is the first thing to report
    check_destination(model_file, overwrite)
    manifest, data, hypermodel, trial = project.manifest, project.data, project.hypermodel, project.best[0]
    options = manifest["options"]
    hypermodel.use(spec_of(data))  # the preprocessing learns its statistics from all the training examples
    hp = project.hyperparameters(trial).copy()
    hp.values = {name: value for name, value in hp.values.items() if not name.startswith("tuner/")}
    if epochs is None:
        epochs = trial.best_epoch or options.get("epochs") or options.get("max_epochs") or 1
        epochs_from = f"the best epoch of trial {trial.trial_id}"
    else:
        epochs_from = "--epochs"
    if "epochs" in hp.values:
        hp.values["epochs"] = epochs  # a space that tunes epochs: the retraining runs the count chosen here
    batch_size = int(hp.values.get("batch_size", options["batch_size"]))

    export = Export(
        model_file=str(model_file), project_dir=str(project_dir), hypermodel=manifest["hypermodel"],
        trial_id=trial.trial_id, hyperparameters=trial.hyperparameters, objective=project.objective.name,
        val_score=trial.score, epochs=int(epochs), epochs_from=epochs_from, batch_size=batch_size,
        seed=options.get("seed", 0) if seed is None else seed,
        trained_on=len(data.y_train), test_examples=len(data.y_test), task=data.task,
        classes=data.describe()["classes"], test_scores={}, train_time_s=0.0, input=input_text(hypermodel.spec),
        data={**data.describe(), "summary": data.summary()},
        other_data=project.other_data, search_running=project.running, created=now(), versions=package_versions(),
    )
    if on_start is not None:
        on_start(export)

    callbacks: list[Any] = [FailOnNonFiniteLoss()]
    if on_epoch is not None:
        callbacks.append(keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: on_epoch(epoch + 1, export.epochs, dict(logs or {}))
        ))
    keras.utils.set_random_seed(export.seed)
    started = time.monotonic()
    with quiet_keras_noise():
        model = hypermodel.build(hp)
        hypermodel.fit(hp, model, data.x_train, hypermodel.labels(data.y_train), epochs=export.epochs,
                       batch_size=batch_size, verbose=0, callbacks=callbacks)
    export.train_time_s = time.monotonic() - started

    tensorflow_state.train_one_step_per_call(model)  # saved as a model compiled by hand would be
    export.test_scores = save_and_measure(model, model_file, data)
    export.mlflow_run = search_run.run_id if search_run is not None else None
    write_atomically(report_path(model_file), json.dumps(export.to_dict(), indent=2, default=str) + "\n")
    if search_run is not None:
        try:
            mlflow_runs.log_export(project_dir, model_file, report_path(model_file), export.test_scores)
        except mlflow_runs.TrackingError as error:  # the model is saved: say what could not be logged
            export.mlflow_error = str(error)
    return export


def input_text(spec: Any) -> str:
    """What an exported model takes and gives, in words."""
    shape = ", ".join(str(d) for d in spec.raw_shape)
    if spec.kind == "images":
        takes = f"images as they come: shape (n, {shape}), {spec.raw_dtype}"
        if spec.pixel_maximum:
            takes += f" pixels 0-{spec.pixel_maximum}"
    elif spec.kind == "table":
        numbers, categories = len(spec.inputs("numeric")), len(spec.inputs("categorical"))
        takes = (f"a dict of the table's {len(spec.columns)} raw columns by name ({numbers} of numbers, NaN for a "
                 f"missing one; {categories} of text) (the inputs are listed in the .json; open it after "
                 "`import kerastune.layers`)")
    else:
        takes = f"rows of {spec.size} numbers as they come (shape (n, {shape})), unscaled"
    if spec.task == "classification":
        return f"{takes}; outputs {spec.num_classes} class probabilities (the classes are listed in the .json)"
    return f"{takes}; outputs {spec.num_outputs} predicted value{'s' if spec.num_outputs > 1 else ''} per example"


def save_and_measure(model: Any, model_file: Path, data: Any) -> dict[str, float]:
    """Save `model` to `model_file` in one step (a partial file is never left under that name), reopen it with
    `keras.saving.load_model` in safe mode, and return its test scores on the raw test examples."""
    import keras

    from kerastune.data import score_predictions
    from kerastune.tuners.tf_noise import quiet_keras_noise

    partial = model_file.with_name(f".{model_file.stem}.{os.getpid()}.partial.keras")
    try:
        model.save(partial)
        try:
            with quiet_keras_noise():
                reloaded = keras.saving.load_model(partial)  # safe_mode=True: no arbitrary code runs
                scores = reloaded.predict(model_input(data.x_test), batch_size=1024, verbose=0)
        except Exception as error:
            raise ExportError(
                f"keras.saving.load_model cannot open the retrained model ({type(error).__name__}: "
                f"{error}), so it was not kept; a custom layer of the hypermodel may need "
                "@keras.saving.register_keras_serializable()"
            ) from error
        measured = score_predictions(data.task, data.y_test, scores)
        os.replace(partial, model_file)
    finally:
        partial.unlink(missing_ok=True)
    return measured
