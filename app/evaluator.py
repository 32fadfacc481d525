"""The evaluator: reload a project's best models and measure them on the test set, which no trial saw."""

from __future__ import annotations

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
    models: list[ModelEvaluation] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SearchedProject:
    """A project reloaded from its files: what `evaluate` and `export` start from."""

    manifest: dict[str, Any]
    data: Any  # tuners.data.MnistData
    hypermodel: Any
    tuner: Any
    completed: list[Any]  # the completed trials
    best: list[Any]  # the best completed trials, best first


def reload_project(project_dir: Path, top: int, data: Any = None) -> SearchedProject:
    """Reload a project, its data (the recorded data unless `data` is given) and its best `top`
    completed trials; a project with no completed trial is refused."""
    import hypermodels
    from tuners.data import load_recorded
    from tuners.factory import build_tuner
    from tuners.project import ProjectError, check_project_files, load_project

    manifest = load_project(project_dir)
    check_project_files(project_dir)
    if data is None:
        data = load_recorded(manifest.get("data", {}))
    hypermodel = hypermodels.get(manifest["hypermodel"])
    tuner = build_tuner(
        manifest["tuner"],
        hypermodel,
        manifest["options"],
        Path(project_dir),
        max_trials=manifest["options"].get("max_trials"),
    )
    completed = [t for t in tuner.oracle.trials.values() if str(t.status) == "COMPLETED"]
    if not completed:
        raise ProjectError(f"{project_dir} has no completed trial yet: run or resume its search first")
    best = [t for t in tuner.oracle.get_best_trials(top) if str(t.status) == "COMPLETED"]
    return SearchedProject(manifest, data, hypermodel, tuner, completed, best)


def evaluate_project(project_dir: Path, top: int = 3, data: Any = None) -> Evaluation:
    """Rebuild the best `top` completed trials of a project and evaluate each on the test set."""
    import hypermodels
    from tuners.config import ConfigError
    from tuners.data import prepare_images
    from tuners.noise import quiet_keras_noise
    from tuners.search import TrialResult, encode_labels

    if top < 1:
        raise ConfigError(f"--top must be >= 1, got {top}")
    project = reload_project(project_dir, top, data)
    manifest, data, tuner, completed, best = (
        project.manifest, project.data, project.tuner, project.completed, project.best
    )
    spec = hypermodels.data_spec(project.hypermodel)

    x_test = prepare_images(data.x_test, spec.input_shape)
    y_test = data.y_test
    y_for_loss = encode_labels(y_test, spec)
    evaluation = Evaluation(
        project_dir=str(project_dir),
        tuner=manifest["tuner"],
        hypermodel=manifest["hypermodel"],
        objective=tuner.oracle.objective.name,
        data={**data.describe(), "summary": data.summary()},
        trials_completed=len(completed),
    )
    for rank, trial in enumerate(best, start=1):
        with quiet_keras_noise():
            model = tuner.load_model(trial)
            loss = model.evaluate(x_test, y_for_loss, batch_size=1024, verbose=0, return_dict=True)["loss"]
            predictions = model.predict(x_test, batch_size=1024, verbose=0)
        accuracy = float(np.mean(np.argmax(predictions, axis=-1) == y_test))
        result = TrialResult.from_trial(trial, [row["name"] for row in manifest.get("space", [])])
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
