"""The search spaces of the published tutorials kerastune grew from, reproduced so their searches can be replayed.

Each keeps the tutorial's hyperparameter names, ranges and fixed settings, and so its data: 784 pixels in
(MNIST's 28x28, or Fashion-MNIST's), 10 classes out. These are kerastune's only MNIST-bound spaces.
"""

from __future__ import annotations

from typing import Any

import keras
import keras_tuner as kt

from hypermodels.base import KerastuneHyperModel
from hypermodels.registry import register
from kerastune.data import CLASSIFICATION, DataSpec

PIXELS = 784
NUM_CLASSES = 10


class TutorialHyperModel(KerastuneHyperModel):
    """A tutorial's space: made for 28x28 images of 10 classes, as the tutorials were."""

    takes = "28x28 images (784 pixels) of 10 classes, as MNIST and Fashion-MNIST"

    def refuse(self, spec: DataSpec) -> str | None:
        if spec.task != CLASSIFICATION or spec.num_classes != NUM_CLASSES or spec.size != PIXELS:
            return (f"it is a tutorial's space for 28x28 images of 10 classes, and this data is "
                    f"{spec.describe()}: use mlp (or cnn for images)")
        return None


def _dense_classifier(
    hidden: list[tuple[int, str]],
    dropout: float = 0.0,
    output_activation: str = "softmax",
) -> Any:
    """A Sequential model on 784 flat pixels: (units, activation) hidden layers, dropout, then 10 outputs."""
    model = keras.Sequential([keras.Input(shape=(PIXELS,))])
    for units, activation in hidden:
        model.add(keras.layers.Dense(units, activation=activation))
    if dropout:
        model.add(keras.layers.Dropout(dropout))
    model.add(keras.layers.Dense(NUM_CLASSES, activation=output_activation))
    return model


@register("tutorial-gridsearchcv")
class GridSearchCVTutorial(TutorialHyperModel):
    """The sklearn GridSearchCV tutorial."""

    description = (
        "sklearn GridSearchCV tutorial: one ReLU layer of 8/16/32 units, "
        "batch size 32/64/512, 10/20 epochs (18 combinations)"
    )

    def build(self, hp: kt.HyperParameters) -> Any:
        model = _dense_classifier([(hp.Choice("units", [8, 16, 32]), "relu")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    def fit_hyperparameters(self, hp: kt.HyperParameters) -> dict[str, Any]:
        return {
            "batch_size": hp.Choice("batch_size", [32, 64, 512]),
            "epochs": hp.Choice("epochs", [10, 20]),
        }


@register("tutorial-hparams")
class HParamsTutorial(TutorialHyperModel):
    """The TensorBoard HParams tutorial."""

    description = (
        "TensorBoard HParams tutorial: 16/32 units, optional extra layer, dropout 0.1-0.2, "
        "adam/sgd at learning rate 0.001-0.01; 5 epochs, batch 128"
    )
    fit_defaults = {"epochs": 5, "batch_size": 128}

    def build(self, hp: kt.HyperParameters) -> Any:
        num_units = hp.Choice("num_units", [16, 32])
        extra_layer = hp.Boolean("extra_layer", default=False)
        dropout = hp.Float("dropout", 0.1, 0.2, step=0.1)
        optimizer_name = hp.Choice("optimizer", ["adam", "sgd"])
        learning_rate = hp.Float("learning_rate", 0.001, 0.01, step=10, sampling="log")

        hidden = [(num_units, "relu")] * (2 if extra_layer else 1)
        model = _dense_classifier(hidden, dropout)
        optimizer = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD}[optimizer_name]
        model.compile(
            optimizer=optimizer(learning_rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model


@register("tutorial-kerastuner")
class KerasTunerTutorial(TutorialHyperModel):
    """The keras-tuner RandomSearch/Hyperband tutorial."""

    description = (
        "keras-tuner tutorial: 32-512 units, three more layers of 8-64, relu/tanh/sigmoid, "
        "dropout 0-0.1, learning rate 1e-4..1e-2 (log)"
    )

    def build(self, hp: kt.HyperParameters) -> Any:
        activation = hp.Choice("activation", ["relu", "tanh", "sigmoid"])
        hidden = [(hp.Int("units", 32, 512, step=32), activation)]
        for layer in range(2, 5):
            hidden.append((hp.Int(f"units_{layer}", 8, 64, step=8), activation))
        model = _dense_classifier(hidden, hp.Float("dropout", 0.0, 0.1))
        model.compile(
            optimizer=keras.optimizers.Adam(hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model


@register("tutorial-micro")
class MicroFrameworkTutorial(TutorialHyperModel):
    """The micro-framework tutorial's plain grid."""

    description = (
        "micro-framework tutorial grid: learning rate 0.001/0.0005, input activation "
        "relu/swish/tanh, output tanh/sigmoid, MSE on one-hot labels (12 combinations)"
    )
    one_hot_labels = True
    hidden_units = 128

    def build(self, hp: kt.HyperParameters) -> Any:
        learning_rate = hp.Choice("learning_rate", [0.001, 0.0005])
        input_activation = hp.Choice("input_activation", ["relu", "swish", "tanh"])
        output_activation = hp.Choice("output_activation", ["tanh", "sigmoid"])
        model = _dense_classifier(
            [(self.hidden_units, input_activation)],
            output_activation=output_activation,
        )
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss="mean_squared_error",
            metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
        )
        return model
