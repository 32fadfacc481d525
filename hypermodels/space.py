"""What a hypermodel's search space holds: every hyperparameter, conditional ones included."""

from __future__ import annotations

import copy
import math
from typing import Any

import keras_tuner as kt


def search_space(hypermodel: Any) -> kt.HyperParameters:
    """All hyperparameters of a hypermodel, found by building it until every conditional scope was active.

    The same walk keras-tuner's tuners do before a search (BaseTuner._activate_all_conditions).
    """
    import keras

    space = kt.HyperParameters()
    once_active: list[Any] = []
    never_active: list[Any] = []
    hp = space.copy()
    while True:
        hypermodel.build(hp)
        space.merge(hp, overwrite=False)
        for conditions in hp.active_scopes:
            if conditions not in once_active:
                once_active.append(copy.deepcopy(conditions))
            if conditions in never_active:
                never_active.remove(conditions)
        for conditions in hp.inactive_scopes:
            if conditions not in once_active:
                never_active.append(copy.deepcopy(conditions))
        if not never_active:
            break
        hp = space.copy()
        for condition in never_active[0]:
            hp.values[condition.name] = condition.values[0]
        hp.ensure_active_values()
    keras.backend.clear_session()
    fit_time = kt.HyperParameters()  # batch size, epochs: after the model's own hyperparameters
    hypermodel.declare_hyperparameters(fit_time)
    space.merge(fit_time, overwrite=False)
    return space


def describe_space(space: kt.HyperParameters) -> list[dict[str, Any]]:
    """One JSON-safe row per hyperparameter: name, type, range or values, default, condition."""
    rows = []
    for hp in space.space:
        config = hp.get_config()
        rows.append(
            {
                "name": hp.name,
                "type": type(hp).__name__,
                "values": _values_text(hp, config),
                "default": hp.default,
                "sampling": config.get("sampling"),
                "condition": " and ".join(f"{c.name} in {list(c.values)}" for c in hp.conditions),
            }
        )
    return rows


def grid_size(space: kt.HyperParameters) -> int | None:
    """How many combinations GridSearch would try, or None when conditions make it irregular.

    Pinned (`Fixed`) hyperparameters count once, conditional or not.
    """
    tuned = [hp for hp in space.space if not isinstance(hp, kt.engine.hyperparameters.Fixed)]
    if any(hp.conditions for hp in tuned):
        return None
    return math.prod(len(list(hp.values)) for hp in tuned)


def _values_text(hp: Any, config: dict[str, Any]) -> str:
    if isinstance(hp, (kt.engine.hyperparameters.Choice, kt.engine.hyperparameters.Boolean)):
        return ", ".join(str(v) for v in hp.values)
    if isinstance(hp, kt.engine.hyperparameters.Fixed):
        return str(config["value"])
    text = f"{config['min_value']} .. {config['max_value']}"
    if config.get("step") is not None:
        text += f" step {'x' if config.get('sampling') == 'log' else ''}{config['step']}"
    if config.get("sampling") not in (None, "linear"):
        text += f" ({config['sampling']})"
    return text
