"""Hypermodels as users write them, for tests that load them by MODULE:ATTRIBUTE reference."""

from __future__ import annotations

import keras


def three_outputs(hp):
    """A model of 3 outputs, whatever the data: wrong for MNIST's 10 classes."""
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
