"""Fixes for keras-tuner 1.4.8.

- `keras_tuner/src/engine/conditions.py` (line 131) leaves a debug `print(self.values[0])` in
  `Parent.to_proto`, so every time a search space with conditional hyperparameters crosses the
  chief/worker gRPC service, a stray number is printed. `quiet_condition_protos()` replaces that
  one method with the same conversion, minus the print.
- `keras_tuner/src/utils.py`'s `save_json` writes `oracle.json`, `trial.json` and the tuner's file
  in place, so a process killed while it writes leaves a truncated file that the next run cannot
  reload. `atomic_state_files()` makes it write a temporary file and rename it over the old one.
- `keras_tuner/src/config.py` sets `DEBUG = True`, so every failed trial prints its traceback to
  stderr. `quiet_failed_trials()` turns that off: kerastune reports each failure in one line and
  keeps the traceback in the trial's folder.
"""

from __future__ import annotations

import json
import os
from typing import Any

from tuners.project import write_atomically


def _parent_to_proto(self: Any) -> Any:
    from keras_tuner.src import protos

    proto = protos.get_proto()
    first = self.values[0]
    if isinstance(first, str):
        field = "string_value"
    elif isinstance(first, bool):
        field = "boolean_value"
    elif isinstance(first, int):
        field = "int_value"
    else:
        field = "float_value"
    values = [proto.Value(**{field: value}) for value in self.values]
    return proto.Condition(parent=proto.Condition.Parent(name=self.name, values=values))


def quiet_condition_protos() -> None:
    """Use `_parent_to_proto` for keras-tuner's conditional-scope conditions."""
    from keras_tuner.src.engine import conditions

    conditions.Parent.to_proto = _parent_to_proto


def _save_json_atomically(path: Any, obj: Any) -> str:
    text = json.dumps(obj)
    write_atomically(path, text)
    return text


def atomic_state_files() -> None:
    """Make keras-tuner write its state files atomically (local paths; others are left to it)."""
    from keras_tuner.src import utils

    original = getattr(utils.save_json, "original", utils.save_json)

    def save_json(path: Any, obj: Any) -> str:
        if "://" in str(path):  # e.g. gs://: keras-tuner's own file layer
            return original(path, obj)
        return _save_json_atomically(os.fspath(path), obj)

    save_json.original = original  # type: ignore[attr-defined]
    utils.save_json = save_json


def quiet_failed_trials() -> None:
    """Do not print the traceback of a failed trial (the trial keeps it in its message)."""
    from keras_tuner.src import config

    config.DEBUG = False
