"""`cnn`: a convolutional search space for images of any size and channel count, for either task."""

from __future__ import annotations

from typing import Any

import keras
import keras_tuner as kt

from hypermodels.base import CosineDecay, KerastuneHyperModel, compile_for_task, output_layer
from hypermodels.registry import register
from kerastune.data import IMAGES, DataSpec

MAX_BLOCKS = 3


@register("cnn")
class CNN(KerastuneHyperModel):
    """Convolution blocks, then a dense head; its defaults are a sound baseline (two blocks of 32 and 64 3x3
    filters with max pooling, 128 dense units, dropout 0.25)."""

    description = (
        "Convolutional network: 1-3 blocks of two 3x3 or 5x5 convolutions (16-64 filters, doubled each block) "
        "with max or average pooling, a dense head of 32-512 units, dropout, Adam learning rate (log scale, "
        "cosine decay), batch size"
    )
    takes = "images (n, height, width) or (n, height, width, channels), at least 8x8; classification or regression"

    def refuse(self, spec: DataSpec) -> str | None:
        if spec.kind != IMAGES or len(spec.input_shape) != 3:
            return f"cnn takes images (height, width[, channels]), and this data is {spec.describe()}: use mlp"
        if min(spec.input_shape[:2]) < 8:
            return f"cnn takes images of at least 8x8 pixels, and these are {spec.describe()}: use mlp"
        return None

    def fit_hyperparameters(self, hp: kt.HyperParameters) -> dict[str, Any]:
        return {
            "batch_size": hp.Choice("batch_size", [32, 64, 128, 256], default=128),
            "callbacks": [CosineDecay()],
        }

    def build(self, hp: kt.HyperParameters) -> Any:
        blocks = hp.Int("conv_blocks", 1, MAX_BLOCKS, default=2)
        filters = hp.Int("filters", 16, 64, step=2, sampling="log", default=32)
        kernel_size = hp.Choice("kernel_size", [3, 5], default=3)
        pooling = hp.Choice("pooling", ["max", "avg"], default="max")
        dropout = hp.Float("dropout", 0.0, 0.5, step=0.05, default=0.25)
        dense_units = hp.Int("dense_units", 32, 512, step=2, sampling="log", default=128)
        learning_rate = hp.Float("learning_rate", 1e-4, 1e-2, sampling="log", default=1e-3)

        pool = {"max": keras.layers.MaxPooling2D, "avg": keras.layers.AveragePooling2D}[pooling]
        model = keras.Sequential([keras.Input(shape=self.spec.input_shape)])
        size = min(self.spec.input_shape[:2])
        for block in range(blocks):
            for _ in range(2):
                model.add(keras.layers.Conv2D(filters * 2**block, kernel_size, padding="same", activation="relu"))
            if size >= 2:  # pool while the feature maps are at least 2x2
                model.add(pool(2))
                size //= 2
        model.add(keras.layers.Flatten())
        if dropout > 0:
            model.add(keras.layers.Dropout(dropout))
        model.add(keras.layers.Dense(dense_units, activation="relu"))
        if dropout > 0:
            model.add(keras.layers.Dropout(dropout))
        model.add(output_layer(self.spec))
        return compile_for_task(model, self.spec, keras.optimizers.Adam(learning_rate))
