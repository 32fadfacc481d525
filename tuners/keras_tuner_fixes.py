"""A fix for keras-tuner 1.4.8 that distributed search needs.

`keras_tuner/src/engine/conditions.py` (1.4.8, line 131) leaves a debug `print(self.values[0])` in
`Parent.to_proto`, so every time a search space with conditional hyperparameters crosses the
chief/worker gRPC service, a stray number is printed. `quiet_condition_protos()` replaces that
one method with the same conversion, minus the print.
"""

from __future__ import annotations

from typing import Any


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
