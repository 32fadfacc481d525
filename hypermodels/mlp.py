"""`mlp`: the general dense-network search space for MNIST."""

from __future__ import annotations

import math
from typing import Any

import keras
import keras_tuner as kt

from hypermodels.base import NUM_CLASSES, MnistHyperModel
from hypermodels.registry import register

MAX_LAYERS = 4


class CosineDecay(keras.callbacks.Callback):
    """Lower the learning rate along a half cosine, from its initial value at the first epoch towards
    zero after the last (`epochs` of the fit). A decayed model ends where it is best, so its score
    does not depend on which epoch training happened to stop at."""

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.initial = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        # `epoch` is absolute: a Hyperband trial that goes on from `initial_epoch` picks the curve up there
        epochs = max(int(self.params.get("epochs") or 1), 1)
        self.model.optimizer.learning_rate = self.initial * 0.5 * (1 + math.cos(math.pi * epoch / epochs))


@register("mlp")
class MLP(MnistHyperModel):
    """The general dense-network search space; its defaults are a sound baseline (2x512 ReLU)."""

    description = (
        "Dense network: 1-4 hidden layers of 32-1024 units each, activation, dropout, "
        "Adam learning rate (log scale, decayed to 0 along a cosine over the epochs), batch size"
    )

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

        model = keras.Sequential([keras.Input(shape=self.input_shape)])
        for layer in range(1, MAX_LAYERS + 1):
            # units_3 exists only when num_layers >= 3, and so on.
            with hp.conditional_scope("num_layers", list(range(layer, MAX_LAYERS + 1))):
                units = hp.Int(f"units_{layer}", 32, 1024, step=2, sampling="log", default=512)
            if layer <= num_layers:
                model.add(keras.layers.Dense(units, activation=activation))
                if dropout > 0:
                    model.add(keras.layers.Dropout(dropout))
        model.add(keras.layers.Dense(NUM_CLASSES, activation="softmax"))
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model
