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


def active_values(space: Any, choose: Any) -> dict[str, Any]:
    """Walk a keras-tuner space in order, asking `choose(hp)` for each hyperparameter that is active given the
    values chosen so far (conditional scopes): the trial's values, as keras-tuner records them."""
    hps = kt.HyperParameters()
    for hp in space.space:
        hps.merge([hp])
        if hps.is_active(hp):
            hps.values[hp.name] = choose(hp)
    return hps.values


def default_values(space: kt.HyperParameters) -> dict[str, Any]:
    """Each active hyperparameter's default (its Fixed value where pinned): the space's default configuration."""
    return active_values(space, lambda hp: hp.default)


def nearest_value(hp: Any, value: float) -> int | float:
    """The value of a numeric (Int or Float) hyperparameter nearest to `value`: in its range and on its step, as
    keras-tuner computes its steps (linear: min + k * step; log sampling: min * step ** k), in its type."""
    low, high, step = hp.min_value, hp.max_value, getattr(hp, "step", None)
    value = min(max(float(value), low), high)
    if step:
        if getattr(hp, "sampling", None) == "log":
            k = round(math.log(value / low) / math.log(step))
            value = low * step ** max(0, min(k, math.floor(math.log(high / low) / math.log(step) + 1e-9)))
        else:
            k = round((value - low) / step)
            value = low + max(0, min(k, math.floor((high - low) / step + 1e-9))) * step
    return int(round(value)) if isinstance(hp, kt.engine.hyperparameters.Int) else float(value)


def admitted_value(hp: Any, value: Any) -> Any:
    """`value` as the hyperparameter `hp` takes it, or None when it cannot: a choice among its values, a number in
    its range and on its step (within floating-point rounding: `0.3` is on the steps of 0.1, which keras-tuner
    computes as 0.30000000000000004), or the space's own default (which keras-tuner allows off the steps). The one
    check behind --fix, --enqueue and --from."""
    types = kt.engine.hyperparameters
    if isinstance(hp, types.Fixed):
        return hp.value if value == hp.value else None
    if isinstance(hp, (types.Choice, types.Boolean)):
        for choice in hp.values:
            if choice == value and isinstance(choice, bool) == isinstance(value, bool):
                return choice
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    if value == hp.default:
        return hp.default
    nearest = nearest_value(hp, value)
    return nearest if math.isclose(nearest, value, rel_tol=1e-9, abs_tol=1e-12) else None


def values_text(hp: Any) -> str:
    """What a hyperparameter takes, in words (for messages): `0.0 .. 0.5 step 0.1`, `relu, elu, gelu`."""
    return _values_text(hp, hp.get_config())
