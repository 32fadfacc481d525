"""Hypermodels as users write them, for tests that load them by MODULE:ATTRIBUTE reference."""

from __future__ import annotations

import keras

from hypermodels import KerastuneHyperModel


def three_outputs(hp):
    """A model of 3 outputs, whatever the data: wrong for MNIST's 10 classes."""
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class SleepAfterEachBatch(keras.callbacks.Callback):
    """Half a second after each training batch: an epoch of a few batches takes seconds."""

    def on_train_batch_end(self, batch, logs=None):
        import time

        time.sleep(0.5)


class SlowEpochs(KerastuneHyperModel):
    """A small dense network whose every epoch takes seconds (a slow model, in a test's time)."""

    def fit_hyperparameters(self, hp):
        return {"batch_size": 64, "callbacks": [SleepAfterEachBatch()]}

    def build(self, hp):
        model = keras.Sequential([keras.Input(self.spec.input_shape), keras.layers.Flatten(),
                                  keras.layers.Dense(hp.Int("units", 8, 32, default=16), activation="relu"),
                                  keras.layers.Dense(self.spec.num_classes, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model


BATCH_CALLS: list[int] = []  # on_train_batch_end's batch numbers, as CountBatchCalls saw them


class CountBatchCalls(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        BATCH_CALLS.append(batch)


class CountedBatches(SlowEpochs):
    """A small dense network that records when Keras calls its batch-level callback."""

    def fit_hyperparameters(self, hp):
        return {"batch_size": 64, "callbacks": [CountBatchCalls()]}


class GoodOrBadRate(KerastuneHyperModel):
    """A small dense network whose learning rate either learns (0.01) or barely moves (1e-6): a bad trial is plain
    after its first epochs, which is what pruning is for. Its width makes the configurations distinct."""

    def build(self, hp):
        learning_rate = hp.Choice("learning_rate", [0.01, 1e-6], default=0.01)
        model = keras.Sequential([keras.Input(self.spec.input_shape), keras.layers.Flatten(),
                                  keras.layers.Dense(hp.Int("units", 8, 64, step=8, default=32), activation="relu"),
                                  keras.layers.Dense(self.spec.num_classes, activation="softmax")])
        model.compile(keras.optimizers.Adam(learning_rate), "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model
