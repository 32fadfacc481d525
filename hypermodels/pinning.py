"""Pinning hyperparameters: `--fix NAME=VALUE` and `--only NAME` narrow a search space; `--enqueue NAME=VALUE,...`
names a configuration of it to try first.

A pinned hyperparameter becomes a `Fixed` one with the same name and conditions, so the
hypermodel's `build(hp)` and `fit(hp, ...)` get the pinned value without any change.
"""

from __future__ import annotations

import difflib
import math
from typing import Any

import keras_tuner as kt

from hypermodels.registry import HypermodelError
from hypermodels.space import active_values, admitted_value, values_text

_TRUE = ("true", "yes", "1")
_FALSE = ("false", "no", "0")


def parse_fixed(space: kt.HyperParameters, texts: dict[str, str], flag: str = "--fix") -> dict[str, Any]:
    """Typed values for `--fix NAME=VALUE` texts, checked against the space's types and ranges."""
    return {name: _parse_value(_find(space, name, flag), text, flag) for name, text in texts.items()}


def parse_configuration(space: kt.HyperParameters, texts: dict[str, str], flag: str = "--enqueue") -> dict[str, Any]:
    """A whole configuration of `space` from NAME=VALUE texts: the named values, checked, and every other active
    hyperparameter at its default (or its pinned value). A value for a hyperparameter that the configuration
    switches off, or against a pinned one, is refused."""
    for name, text in texts.items():
        hp = _find(space, name, flag)
        if isinstance(hp, kt.engine.hyperparameters.Fixed) and not _same(hp.value, text):
            raise HypermodelError(f"{flag} {name}={text}: the search pins {name} to {hp.value}")
    named = parse_fixed(space, texts, flag)
    values = active_values(space, lambda hp: named.get(hp.name, hp.default))
    unused = [name for name in named if name not in values]
    if unused:
        raise HypermodelError(f"{flag} {','.join(f'{n}={t}' for n, t in texts.items())}: {', '.join(unused)} is not "
                              "used by this configuration (a conditional hyperparameter switched off)")
    return dict(values)


def pinned_space(space: kt.HyperParameters, fixed: dict[str, Any], only: list[str]) -> kt.HyperParameters:
    """The space with `fixed` values pinned and, when `only` names some, every other one at its default."""
    for name in only:
        _find(space, name, "--only")
        if name in fixed:
            raise HypermodelError(f"--only {name} and --fix {name}=... contradict each other: keep one")
    pinned = kt.HyperParameters()
    for hp in space.space:
        if hp.name in fixed:
            value = fixed[hp.name]
        elif only and hp.name not in only:
            value = hp.default
        else:
            pinned.merge([hp])
            continue
        pinned.merge([kt.engine.hyperparameters.Fixed(hp.name, value, conditions=hp.conditions)])
    _check_reachable(pinned, only)
    return pinned


def _find(space: kt.HyperParameters, name: str, flag: str) -> Any:
    for hp in space.space:
        if hp.name == name:
            return hp
    known = list(dict.fromkeys(hp.name for hp in space.space))
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise HypermodelError(f"{flag} {name}: the search space has no hyperparameter {name!r}; {hint}"
                          f"it has {', '.join(known)}")


def _parse_value(hp: Any, text: str, flag: str = "--fix") -> Any:
    """The value `text` stands for in hyperparameter `hp`, or a usage error saying what it accepts."""
    types = kt.engine.hyperparameters
    where = f"{flag} {hp.name}={text}"
    if isinstance(hp, types.Boolean):
        if text.strip().lower() in _TRUE + _FALSE:
            return text.strip().lower() in _TRUE
        raise HypermodelError(f"{where}: {hp.name} is true or false")
    if isinstance(hp, (types.Choice, types.Fixed)):
        for value in hp.values:
            if _same(value, text):
                return value
        raise HypermodelError(f"{where}: {hp.name} is one of {', '.join(str(v) for v in hp.values)}")
    number = _number(text, integer=isinstance(hp, types.Int))
    if number is None:
        kind = "a whole number" if isinstance(hp, types.Int) else "a number"
        raise HypermodelError(f"{where}: {hp.name} is {kind} from {hp.min_value} to {hp.max_value}")
    value = admitted_value(hp, number)
    if value is None and not hp.min_value <= number <= hp.max_value:
        raise HypermodelError(f"{where} is out of range: {hp.name} goes from {hp.min_value} to {hp.max_value}")
    if value is None:
        raise HypermodelError(f"{where} is not one of its values: {hp.name} takes {values_text(hp)}")
    return value


def _same(value: Any, text: str) -> bool:
    if isinstance(value, bool):
        return text.strip().lower() in (_TRUE if value else _FALSE)
    if isinstance(value, (int, float)):
        number = _number(text, integer=False)
        return number is not None and float(number) == float(value)
    return str(value) == text


def _number(text: str, integer: bool) -> float | int | None:
    """The number `text` writes (a whole one for an Int), or None (not a number, or not a finite one)."""
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    if integer:
        return int(value) if value == int(value) else None
    return value


def _check_reachable(pinned: kt.HyperParameters, only: list[str]) -> None:
    """Refuse to tune a hyperparameter that the pinned values switch off (e.g. units_3 with 2 layers)."""
    values = {hp.name: hp.value for hp in pinned.space if isinstance(hp, kt.engine.hyperparameters.Fixed)}
    for hp in pinned.space:
        if hp.name not in only:
            continue
        for condition in hp.conditions:
            parent = condition.name
            if parent in values and values[parent] not in condition.values:
                raise HypermodelError(
                    f"--only {hp.name}: it is used only when {parent} is one of "
                    f"{', '.join(str(v) for v in condition.values)}, and {parent} is pinned to "
                    f"{values[parent]}: add --only {parent} or --fix {parent}=VALUE"
                )
