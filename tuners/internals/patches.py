"""Patches of keras-tuner's own functions, applied only inside `patched()`, which kerastune's searches enter:
a notebook that imports `hypermodels`, or uses keras-tuner directly, gets keras-tuner unchanged."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from typing import Any

from keras_tuner.src import config as kt_config
from keras_tuner.src import protos
from keras_tuner.src import utils as kt_utils
from keras_tuner.src.engine import conditions

from kerastune.tuners.records.project import write_atomically


def _parent_to_proto(self: Any) -> Any:
    """`conditions.Parent.to_proto` without its leftover debug print (engine/conditions.py:131, no upstream
    issue): every conditional search space sent over the chief/worker service printed a stray number."""
    proto = protos.get_proto()
    first = self.values[0]
    if isinstance(first, str):
        kind = "string_value"
    elif isinstance(first, bool):
        kind = "boolean_value"
    elif isinstance(first, int):
        kind = "int_value"
    else:
        kind = "float_value"
    values = [proto.Value(**{kind: value}) for value in self.values]
    return proto.Condition(parent=proto.Condition.Parent(name=self.name, values=values))


def _save_json_atomically(path: Any, obj: Any, original: Callable[[Any, Any], str]) -> str:
    """`utils.save_json`, but atomic for local files (utils.py:81-94 writes in place, no upstream issue): a
    process killed while writing `oracle.json` or `trial.json` left a truncated file no run could reload."""
    if "://" in str(path):  # e.g. gs://: keras-tuner's own file layer
        return original(path, obj)
    text = json.dumps(obj)
    write_atomically(os.fspath(path), text)
    return text


@contextlib.contextmanager
def patched() -> Iterator[None]:
    """keras-tuner as a kerastune search needs it, inside the block only:

    - the debug print of `Parent.to_proto` removed (see `_parent_to_proto`);
    - state files written atomically (see `_save_json_atomically`);
    - `config.DEBUG` off (config.py:15, no upstream issue): keras-tuner prints every failed trial's traceback
      to stderr; kerastune reports each failure in one line and keeps the traceback in the trial's folder.
    """
    saved = conditions.Parent.to_proto, kt_utils.save_json, kt_config.DEBUG
    original_save_json = saved[1]
    conditions.Parent.to_proto = _parent_to_proto
    kt_utils.save_json = lambda path, obj: _save_json_atomically(path, obj, original_save_json)
    kt_config.DEBUG = False
    try:
        yield
    finally:
        conditions.Parent.to_proto, kt_utils.save_json, kt_config.DEBUG = saved

