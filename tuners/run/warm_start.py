"""--from PROJECT: seed a new search with the finished trials of an earlier one.

The earlier trials become trials of the new project, as they finished there (score, best epoch, metrics,
weights, epochs), so that `report`, `evaluate` and `export` see them, and the strategies that learn from imported
trials (spec.Strategy.learns_from_imports: Bayesian optimization and TPE fit their model to them) do; random search
does not draw them again, and Hyperband's brackets start afresh. They do not count against --max-trials. Their
scores are comparable only if they were measured the same way: the same hypermodel, data, validation split (or
folds), objective and epochs; anything else is refused. A trial whose
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
from kerastune.tuners.records import trial as trial_record
from kerastune.tuners.records.project import ProjectError, read_manifest
from kerastune.tuners.records.trial import TrialRecord
from kerastune.tuners.strategies import spec
from kerastune.tuners.strategies.study import fits

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
    before_budget = spec.STRATEGY.get(manifest.get("tuner"))
    if before_budget is None or before_budget.budget != spec.named(experiment.tuner).budget:
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
        state = trial_record.read(trial_record.folder(source, trial_id), trial_record.STATE_FILE)
        try:
            values = {k: v for k, v in state["hyperparameters"]["values"].items() if not k.startswith("tuner/")}
        except (KeyError, TypeError):
            warm.skipped.append((trial_id, f"its {trial_record.STATE_FILE} cannot be read"))
            continue
        if not TrialRecord.from_state(state, source).status.scored:
            warm.skipped.append((trial_id, "it did not complete"))
            continue
        reason = fits(space, values)
        if reason is not None:
            warm.skipped.append((trial_id, reason))
        else:
            warm.trials.append(state)
    return warm


def import_trials(oracle: Any, project_dir: Path, warm: WarmStart) -> list[str]:
    """Make `warm`'s trials trials of the oracle's (new) project in `project_dir`, ended as they ended, with their
    files (weights, epochs, size...); returns their new ids.

    Their values lose Hyperband's bookkeeping (tuner/...: it names trials of the other project); where a Hyperband
    trial's training went on from an earlier one's (`tuner/initial_epoch`), that epoch is recorded with the import,
    so that its best epoch counts from the start (and `export` trains it as long)."""
    import keras_tuner as kt

    imported = []
    for source_state in warm.trials:
        source_dir = trial_record.folder(warm.project, source_state["trial_id"])
        trial = kt.engine.trial.Trial.load(str(source_dir / trial_record.STATE_FILE))
        trial_id = f"{{:0{len(str(oracle.max_trials))}d}}".format(len(oracle.trials))
        hyperparameters = oracle.hyperparameters.copy()
        hyperparameters.values = {k: v for k, v in trial.hyperparameters.values.items() if not k.startswith("tuner/")}
        new = kt.engine.trial.Trial(hyperparameters=hyperparameters, trial_id=trial_id, status=trial.status)
        new.metrics, new.score, new.best_step = trial.metrics, trial.score, trial.best_step
        target = trial_record.folder(project_dir, trial_id)
        target.mkdir(parents=True, exist_ok=True)
        for name in trial_record.KEPT_ON_IMPORT:
            if (source_dir / name).exists():
                shutil.copy2(source_dir / name, target / name)
        trial_record.write(target, trial_record.IMPORTED_FILE, {
            "project": str(warm.project), "trial_id": source_state["trial_id"],
            "initial_epoch": int(trial.hyperparameters.values.get("tuner/initial_epoch", 0)),
        })
        pruned = TrialRecord.from_state(source_state, warm.project).status is trial_record.TrialStatus.PRUNED
        oracle.add_finished_trial(new, pruned=pruned)
        imported.append(trial_id)
    return imported
