"""The evaluator: reload a project's best models and measure them on the test set, which no trial saw.

A project is opened read-only (`open_project`): no file of it is written, and a search running on it goes on
undisturbed; its finished trials are the ones used.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class ModelEvaluation:
    """One reloaded model and its test-set figures."""

    rank: int
    trial_id: str
    hyperparameters: dict[str, Any]
    val_score: float | None
    test_accuracy: float
    test_loss: float


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
        return asdict(self)


@dataclass
class SearchedProject:
    """A project opened read-only: what `evaluate` and `export` start from."""

    project_dir: Path
    manifest: dict[str, Any]
    data: Any  # tuners.data.MnistData
    other_data: bool  # --allow-other-data let data other than the search's in
    hypermodel: Any
    objective: Any  # keras_tuner.Objective
    running: bool  # a search holds the project's lock now
    completed: list[Any]  # the completed trials the oracle has recorded as finished
    best: list[Any]  # the best completed trials, best first

    def load_model(self, trial: Any) -> Any:
        """A trial's model, rebuilt from its hyperparameters with the hypermodel's code, with the weights of its
        best epoch: no saved model is deserialized, so none can carry code in."""
        import keras

        from tuners import internals

        keras.backend.clear_session()
        model = self.hypermodel.build(trial.hyperparameters)
        if not model.built:
            config = internals.trial_build_config(self.project_dir, trial.trial_id)
            model.build_from_config(json.loads(config.read_text()))
        model.load_weights(internals.trial_weights(self.project_dir, trial.trial_id))
        return model

    def result(self, trial: Any) -> Any:
        from tuners.results import TrialResult

        options = self.manifest["options"]
        return TrialResult.from_trial(trial, [row["name"] for row in self.manifest.get("space", [])],
                                      self.project_dir, options.get("cv"))


def open_project(project_dir: Path, top: int, data: Any = None, allow_other_data: bool = False) -> SearchedProject:
    """Open a project read-only with its data (the recorded data unless `data` is given: other data is refused
    unless `allow_other_data`) and its best `top` completed trials; a project with none is refused."""
    import keras_tuner as kt

    import hypermodels
    from tuners.data import load_recorded
    from tuners.experiment import check_same_data
    from tuners.factory import parse_objective
    from tuners.lock import search_running
    from tuners.project import ProjectError, check_project_files, finished_trials, load_project

    project_dir = Path(project_dir)
    manifest = load_project(project_dir)
    check_project_files(project_dir)
    running = search_running(project_dir)
    given = data is not None
    if data is None:
        data = load_recorded(manifest.get("data", {}))
    same = check_same_data(project_dir, manifest.get("data", {}), data, given=given, allow_other=allow_other_data)
    hypermodel = hypermodels.get(manifest["hypermodel"])
    objective = parse_objective(manifest["options"]["objective"])
    finished = set(finished_trials(project_dir))
    trials = [kt.engine.trial.Trial.load(str(path)) for path in sorted(project_dir.glob("trial_*/trial.json"))]
    completed = [t for t in trials if t.trial_id in finished and str(t.status) == "COMPLETED"
                 and t.score is not None and math.isfinite(t.score)]
    if not completed:
        raise ProjectError(f"{project_dir} has no completed trial yet: run or resume its search first")
    best = sorted(completed, key=lambda t: t.score, reverse=objective.direction == "max")[:top]
    return SearchedProject(project_dir, manifest, data, not same, hypermodel, objective, running, completed, best)


def evaluate_project(project_dir: Path, top: int = 3, data: Any = None, allow_other_data: bool = False) -> Evaluation:
    """Rebuild the best `top` completed trials of a project and evaluate each on the test set."""
    import hypermodels
    from tuners.config import ConfigError
    from tuners.data import prepare_images, prepare_labels
    from tuners.noise import quiet_keras_noise

    if top < 1:
        raise ConfigError(f"--top must be >= 1, got {top}")
    project = open_project(project_dir, top, data, allow_other_data)
    data = project.data
    spec = hypermodels.data_spec(project.hypermodel)

    x_test = prepare_images(data.x_test, spec.input_shape)
    y_test = data.y_test
    y_for_loss = prepare_labels(y_test, spec.one_hot_labels)
    evaluation = Evaluation(
        project_dir=str(project_dir),
        tuner=project.manifest["tuner"],
        hypermodel=project.manifest["hypermodel"],
        objective=project.objective.name,
        data={**data.describe(), "summary": data.summary()},
        trials_completed=len(project.completed),
        search_running=project.running,
        other_data=project.other_data,
    )
    for rank, trial in enumerate(project.best, start=1):
        with quiet_keras_noise():
            model = project.load_model(trial)
            loss = model.evaluate(x_test, y_for_loss, batch_size=1024, verbose=0, return_dict=True)["loss"]
            predictions = model.predict(x_test, batch_size=1024, verbose=0)
        accuracy = float(np.mean(np.argmax(predictions, axis=-1) == y_test))
        result = project.result(trial)
        evaluation.models.append(
            ModelEvaluation(
                rank=rank,
                trial_id=result.trial_id,
                hyperparameters=result.hyperparameters,
                val_score=result.score,
                test_accuracy=accuracy,
                test_loss=float(loss),
            )
        )
    return evaluation
