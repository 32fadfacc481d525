"""The evaluator: reload a project's best models and measure them on the test set, which no trial saw:
accuracy and loss for a classification; loss, MAE, RMSE and R² for a regression.

A project is opened read-only (`open_project`): no file of it is written, and a search running on it goes on
undisturbed; its finished trials are the ones used.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kerastune.data.table import model_input
from kerastune.tuners.records import trial as trial_record
from kerastune.tuners.records.trial import TrialRecord


@dataclass
class ModelEvaluation:
    """One reloaded model and its test-set figures."""

    rank: int
    trial_id: str
    hyperparameters: dict[str, Any]
    val_score: float | None
    test_loss: float
    test_accuracy: float | None = None  # classification
    test_mae: float | None = None  # regression: mean absolute error, root mean squared error, R²
    test_rmse: float | None = None
    test_r2: float | None = None


@dataclass
class Evaluation:
    """What `kerastune evaluate` prints and writes with --json."""

    project_dir: str
    tuner: str
    hypermodel: str
    objective: str
    data: dict[str, Any]
    trials_completed: int
    search_running: bool = False  # a search was running on the project: its finished trials were evaluated
    other_data: bool = False  # --allow-other-data: the data is not the data the search ran on
    models: list[ModelEvaluation] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["models"] = [{key: value for key, value in model.items() if value is not None or
                             not key.startswith("test_")} for model in values["models"]]
        return values


@dataclass
class SearchedProject:
    """A project opened read-only: what `evaluate` and `export` start from."""

    project_dir: Path
    manifest: dict[str, Any]
    data: Any  # data.Dataset
    other_data: bool  # --allow-other-data let data other than the search's in
    hypermodel: Any  # a PreparedHyperModel: the search's hypermodel, for the search's data spec
    objective: Any  # keras_tuner.Objective
    running: bool  # a search holds the project's lock now
    ranked: list[TrialRecord]  # the finished trials that compete for best (completed, or stopped by the budget)
    best: list[TrialRecord]  # the best of them, best first

    def hyperparameters(self, trial: TrialRecord) -> Any:
        """The trial's keras-tuner hyperparameters (its space and values, Hyperband's tuner/ entries included)."""
        import keras_tuner as kt

        return kt.engine.trial.Trial.load(str(trial_record.folder(self.project_dir, trial.trial_id) /
                                              trial_record.STATE_FILE)).hyperparameters

    def load_model(self, trial: TrialRecord) -> Any:
        """A trial's model, rebuilt from its hyperparameters with the hypermodel's code, with the weights of its
        best epoch: no saved model is deserialized, so none can carry code in."""
        import keras

        keras.backend.clear_session()
        model = self.hypermodel.build(self.hyperparameters(trial))
        trial_dir = trial_record.folder(self.project_dir, trial.trial_id)
        if not model.built:
            model.build_from_config(json.loads((trial_dir / trial_record.BUILD_CONFIG_FILE).read_text()))
        model.load_weights(trial_dir / trial_record.WEIGHTS_FILE)
        return model


def open_project(project_dir: Path, top: int, data: Any = None, allow_other_data: bool = False) -> SearchedProject:
    """Open a project read-only with its data and its best `top` completed trials; a project with none is refused.

    `data`: None for the data the search recorded, or another copy of it (a `--data` source, or a data.Dataset);
    other data is refused unless `allow_other_data`."""
    import hypermodels
    from kerastune import data as data_module
    from kerastune.tuners.records.lock import search_running
    from kerastune.tuners.records.project import (
        ProjectError,
        check_project_files,
        finished_trials,
        load_project,
        recorded_data,
    )
    from kerastune.tuners.run.experiment import check_same_data
    from kerastune.tuners.run.prepared_hypermodel import PreparedHyperModel
    from kerastune.tuners.run.tuner import parse_objective

    project_dir = Path(project_dir)
    manifest = load_project(project_dir)
    check_project_files(project_dir)
    running = search_running(project_dir)
    recorded = recorded_data(project_dir, manifest)
    if "spec" not in recorded:
        raise ProjectError(f"{project_dir} was searched by a kerastune from before it took any data, whose models "
                           "this one cannot rebuild: search again (--overwrite)")
    given = data is not None
    if data is None:
        data = data_module.load_recorded(recorded)
    elif not isinstance(data, data_module.Dataset):
        data = data_module.load(data, like=recorded)
    same = check_same_data(project_dir, recorded, data, given=given, allow_other=allow_other_data)
    spec = data_module.DataSpec.from_dict(recorded["spec"])  # the search's, with the statistics it trained with
    hypermodel = PreparedHyperModel(hypermodels.get(manifest["hypermodel"]), spec)
    objective = parse_objective(manifest["options"]["objective"])
    finished = set(finished_trials(project_dir))
    trials = trial_record.read_trials(project_dir, order=[row["name"] for row in manifest.get("space", [])],
                                      cv=manifest["options"].get("cv"), search_running=running)
    ranked = [t for t in trials if t.trial_id in finished and t.status.ranked and t.score is not None]
    if not ranked:
        raise ProjectError(f"{project_dir} has no completed trial yet: run or resume its search first")
    best = sorted(ranked, key=lambda t: t.score, reverse=objective.direction == "max")[:top]
    return SearchedProject(project_dir, manifest, data, not same, hypermodel, objective, running, ranked, best)


def evaluate_project(project_dir: Path, top: int = 3, data: Any = None, allow_other_data: bool = False) -> Evaluation:
    """Rebuild the best `top` completed trials of a project and evaluate each on the test set."""
    from kerastune.data import score_predictions
    from kerastune.tuners.options import ConfigError
    from kerastune.tuners.tf_noise import quiet_keras_noise

    if top < 1:
        raise ConfigError(f"--top must be >= 1, got {top}")
    project = open_project(project_dir, top, data, allow_other_data)
    data = project.data
    evaluation = Evaluation(
        project_dir=str(project_dir),
        tuner=project.manifest["tuner"],
        hypermodel=project.manifest["hypermodel"],
        objective=project.objective.name,
        data={**data.describe(), "summary": data.summary()},
        trials_completed=len(project.ranked),
        search_running=project.running,
        other_data=project.other_data,
    )
    for rank, trial in enumerate(project.best, start=1):
        with quiet_keras_noise():
            model = project.load_model(trial)
            loss = model.evaluate(model_input(data.x_test), project.hypermodel.labels(data.y_test), batch_size=1024,
                                  verbose=0, return_dict=True)["loss"]
            predictions = model.predict(model_input(data.x_test), batch_size=1024, verbose=0)
        evaluation.models.append(
            ModelEvaluation(
                rank=rank,
                trial_id=trial.trial_id,
                hyperparameters=trial.hyperparameters,
                val_score=trial.score,
                test_loss=float(loss),
                **score_predictions(data.task, data.y_test, predictions),
            )
        )
    return evaluation
