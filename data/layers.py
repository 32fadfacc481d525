"""The one Keras layer kerastune adds to a model (a table's missing numbers), registered so Keras can reopen it.

Keras reopens an exported table model once this module is imported: `import kerastune.layers` (or any use of
kerastune's Python API), then `keras.saving.load_model(path)`.
"""

from __future__ import annotations

from typing import Any

import keras


@keras.saving.register_keras_serializable(package="kerastune")
class FillMissing(keras.layers.Layer):
    """Standardized numbers with each missing one (NaN) set to 0, the mean; then, for the columns `indicators`
    names, a 1.0 where the number was missing and 0.0 where it was not."""

    def __init__(self, indicators: list[int] | tuple[int, ...] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.indicators = [int(index) for index in indicators]

    def call(self, x: Any) -> Any:
        ops = keras.ops
        missing = ops.isnan(x)
        filled = ops.where(missing, ops.zeros_like(x), x)
        if not self.indicators:
            return filled
        flags = ops.cast(ops.take(missing, self.indicators, axis=-1), x.dtype)
        return ops.concatenate([filled, flags], axis=-1)

    def compute_output_shape(self, input_shape: tuple[Any, ...]) -> tuple[Any, ...]:
        return (*input_shape[:-1], input_shape[-1] + len(self.indicators))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "indicators": self.indicators}
