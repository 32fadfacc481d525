"""--from PROJECT: seed a new search with the finished trials of an earlier one.

The earlier trials become trials of the new project, as they finished there (score, best epoch, metrics,
weights), so that every tuner learns from them as from its own (Bayesian optimization and TPE fit their model to
them; random search does not draw them again), and `evaluate` and `export` can pick them. They do not count
against --max-trials. Their scores are comparable only if they were measured the same way: the same
hypermodel, data, validation split (or folds), objective and epochs; anything else is refused. A trial whose
values do not fit the new search space (a value outside a narrowed range, one that --fix pins otherwise, a new
hyperparameter it has no value for) is listed and skipped.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kerastune.tuners.options import ConfigError
from kerastune.tuners.records.project import ProjectError, read_manifest
from kerastune.tuners.strategies.study import fits

# Written into an imported trial's folder: {"project": the earlier project, "trial_id": its id there}
WARM_START_FILE = "warm_start.json"
# What an imported trial keeps of its folder (the weights, and what kerastune recorded about it)
KEPT_FILES = ("checkpoint.weights.h5", "build_config.json", "model_size.json", "folds.json", "stopped_by_budget.json",
              "pruned.json")
# Options that change what a score means: they must be the same in both searches
SAME_SCORING = ("objective", "cv", "epochs", "max_epochs", "executions_per_trial", "early_stopping")


@dataclass
class WarmStart:
    """The trials of `project` to import (their files), and those skipped, with why."""

    project: Path
    trials: list[dict[str, Any]] = field(default_factory=list)  # trial.json contents, in the order they ended
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (trial id, reason)


def plan(source: Path, experiment: Any, space: Any) -> WarmStart:
    """Check that `source` can seed this experiment, and sort its finished trials into those that fit `space`
    and those that do not. Touches no file."""
    source = Path(source)
    manifest = read_manifest(source) if (source / "kerastune.json").exists() else None
    if manifest is None:
        raise ProjectError(f"--from {source}: no kerastune project there (no kerastune.json); name the folder of an "
                           "earlier search, e.g. tuning/random-mlp")
    if manifest.get("hypermodel") != experiment.hypermodel:
        raise ConfigError(f"--from {source}: it searched {manifest.get('hypermodel')!r}, not "
                          f"{experiment.hypermodel!r}: its trials are other models")
    before, now = manifest.get("data", {}), experiment.data
    if before.get("fingerprint") != now.get("fingerprint") or before.get("split") != now.get("split"):
        raise ConfigError(f"--from {source}: its trials were scored on other data or another validation split; use "
                          "the same --data, --seed and --validation-split (or --cv) as that search")
    if (manifest.get("tuner") == "hyperband") != (experiment.tuner == "hyperband"):
        raise ConfigError(f"--from {source}: a {manifest.get('tuner')} search, and this is a {experiment.tuner} "
                          "search: Hyperband trains its trials for varying numbers of epochs, the others for "
                          "--epochs, so their scores cannot be compared")
    for name in SAME_SCORING:
        old, new = manifest.get("options", {}).get(name), experiment.options.get(name)
        if old is not None and new is not None and old != new:
            flag = "--" + name.replace("_", "-")
            raise ConfigError(f"--from {source}: it scored trials with {flag} {old}, this search with {new}: "
                              "scores measured differently cannot be compared")
    try:
        order = json.loads((source / "oracle.json").read_text()).get("end_order", [])
    except (OSError, ValueError, AttributeError):
        raise ProjectError(f"--from {source}: its oracle.json cannot be read; name another project") from None
    warm = WarmStart(source)
    for trial_id in order:
        path = source / f"trial_{trial_id}" / "trial.json"
        try:
            trial = json.loads(path.read_text())
            trial["hyperparameters"]["values"]  # noqa: B018 (checked here, used below)
        except (OSError, ValueError, KeyError, TypeError):
            warm.skipped.append((trial_id, "its trial.json cannot be read"))
            continue
        pruned = trial.get("status") == "STOPPED" and (path.parent / "pruned.json").exists()
        if trial.get("status") != "COMPLETED" and not pruned:
            warm.skipped.append((trial_id, "it did not complete"))
            continue
        values = {k: v for k, v in trial["hyperparameters"]["values"].items() if not k.startswith("tuner/")}
        reason = fits(space, values)
        if reason is not None:
            warm.skipped.append((trial_id, reason))
        else:
            warm.trials.append(trial)
    return warm


def import_trials(oracle: Any, warm: WarmStart) -> list[str]:
    """Make `warm`'s trials trials of the oracle's (new) project, ended as they ended; returns their new ids."""
    import keras_tuner as kt

    imported = []
    for source_trial in warm.trials:
        source_dir = warm.project / f"trial_{source_trial['trial_id']}"
        trial = kt.engine.trial.Trial.load(str(source_dir / "trial.json"))
        trial_id = f"{{:0{len(str(oracle.max_trials))}d}}".format(len(oracle.trials))
        hyperparameters = oracle.hyperparameters.copy()
        hyperparameters.values = {k: v for k, v in trial.hyperparameters.values.items() if not k.startswith("tuner/")}
        new = kt.engine.trial.Trial(hyperparameters=hyperparameters, trial_id=trial_id, status=trial.status)
        new.metrics, new.score, new.best_step = trial.metrics, trial.score, trial.best_step
        target = Path(oracle._get_trial_dir(trial_id))
        for name in KEPT_FILES:
            if (source_dir / name).exists():
                shutil.copy2(source_dir / name, target / name)
        (target / WARM_START_FILE).write_text(json.dumps({"project": str(warm.project),
                                                          "trial_id": source_trial["trial_id"]}) + "\n")
        oracle.add_finished_trial(new, pruned=(source_dir / "pruned.json").exists())
        imported.append(trial_id)
    return imported
