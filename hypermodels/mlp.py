"""`mlp`: the general dense-network search space, for any data (flattened) and either task."""

from __future__ import annotations

from typing import Any

import keras
import keras_tuner as kt

from hypermodels.base import CosineDecay, KerastuneHyperModel, compile_for_task, output_layer
from hypermodels.registry import register

MAX_LAYERS = 4


@register("mlp")
class MLP(KerastuneHyperModel):
    """The general dense-network search space; its defaults are a sound baseline (2x512 ReLU)."""

    description = (
        "Dense network: 1-4 hidden layers of 32-1024 units each, activation, dropout, "
        "Adam learning rate (log scale, decayed to 0 along a cosine over the epochs), batch size"
    )
    takes = "any data, flattened (images or rows of numbers); classification or regression"

    def fit_hyperparameters(self, hp: kt.HyperParameters) -> dict[str, Any]:
        return {
            "batch_size": hp.Choice("batch_size", [32, 64, 128, 256, 512], default=128),
            "callbacks": [CosineDecay()],
        }

    def build(self, hp: kt.HyperParameters) -> Any:
        num_layers = hp.Int("num_layers", 1, MAX_LAYERS, default=2)
        activation = hp.Choice(
            "activation", ["relu", "elu", "gelu", "swish", "tanh", "sigmoid"], default="relu"
        )
        dropout = hp.Float("dropout", 0.0, 0.5, step=0.1, default=0.2)
        learning_rate = hp.Float("learning_rate", 1e-4, 1e-2, sampling="log", default=1e-3)

        model = keras.Sequential([keras.Input(shape=self.spec.input_shape)])
        if len(self.spec.input_shape) > 1:
            model.add(keras.layers.Flatten())
        for layer in range(1, MAX_LAYERS + 1):
            # units_3 exists only when num_layers >= 3, and so on.
            with hp.conditional_scope("num_layers", list(range(layer, MAX_LAYERS + 1))):
                units = hp.Int(f"units_{layer}", 32, 1024, step=2, sampling="log", default=512)
            if layer <= num_layers:
                model.add(keras.layers.Dense(units, activation=activation))
                if dropout > 0:
                    model.add(keras.layers.Dropout(dropout))
        model.add(output_layer(self.spec))
        return compile_for_task(model, self.spec, keras.optimizers.Adam(learning_rate))
