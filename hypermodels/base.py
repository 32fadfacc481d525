"""What every kerastune hypermodel shares: the data's spec, the output layer and loss for the task, the fit
settings it tunes, and the cosine learning-rate decay of the built-in spaces."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import keras
import keras_tuner as kt

from kerastune.data import CLASSIFICATION, MNIST_SPEC, DataSpec


def fit_defaults(hypermodel: Any) -> dict[str, int]:
    """Fixed fit settings a hypermodel asks for (e.g. the tutorial's 5 epochs), used unless overridden."""
    return dict(getattr(hypermodel, "fit_defaults", {}) or {})


def output_layer(spec: DataSpec) -> Any:
    """The last layer for the task: class probabilities (softmax), or one linear output per target."""
    if spec.task == CLASSIFICATION:
        return keras.layers.Dense(spec.num_classes, activation="softmax", name="classes")
    return keras.layers.Dense(spec.num_outputs, name="targets")


def compile_for_task(model: Any, spec: DataSpec, optimizer: Any) -> Any:
    """Compile for the task: cross-entropy and accuracy for classification, mean squared error and mean
    absolute error for regression."""
    if spec.task == CLASSIFICATION:
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    else:
        model.compile(optimizer=optimizer, loss="mean_squared_error", metrics=["mean_absolute_error"])
    return model


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


class KerastuneHyperModel(kt.HyperModel):
    """Base of the built-in search spaces. Subclasses implement `build(hp)`, reading the data's spec from
    `self.spec` (MNIST's until a search sets it); those that tune fit arguments (batch size, epochs) return
    them from `fit_hyperparameters(hp)`; those that cannot take some data say why in `refuse(spec)`.
    """

    description = ""
    takes = "any data: images or rows of numbers, classification or regression"
    one_hot_labels = False
    fit_defaults: dict[str, int] = {}

    def __init__(self) -> None:
        super().__init__(name=type(self).__name__)
        self.spec = MNIST_SPEC

    def refuse(self, spec: DataSpec) -> str | None:
        """Why this space cannot take data of this spec, or None when it can."""
        return None

    def fit_hyperparameters(self, hp: kt.HyperParameters) -> dict[str, Any]:
        """Fit arguments this space tunes; none by default."""
        return {}

    def declare_hyperparameters(self, hp: kt.HyperParameters) -> None:
        # Declared before build so the whole space (fit-time entries too) is known up front.
        self.fit_hyperparameters(hp)

    def fit(self, hp: kt.HyperParameters, model: Any, *args: Any, **kwargs: Any) -> Any:
        tuned = self.fit_hyperparameters(hp)
        if "tuner/epochs" in hp.values:
            tuned.pop("epochs", None)  # Hyperband owns the epoch budget
        if "callbacks" in tuned:  # the space's own callbacks join the caller's
            tuned["callbacks"] = [*(kwargs.get("callbacks") or []), *tuned["callbacks"]]
        kwargs.update(tuned)
        return model.fit(*args, **kwargs)


# The name of the base before kerastune took any data; subclasses of it keep working
MnistHyperModel = KerastuneHyperModel


class FunctionHyperModel(kt.HyperModel):
    """A HyperModel around a plain `build(hp)` function, keeping the function's data attributes.

    A function with a second parameter named `spec` receives the data's spec: `build(hp, spec)`.
    """

    def __init__(self, build: Callable[..., Any]) -> None:
        import inspect

        super().__init__(name=getattr(build, "__name__", "build"))
        self.function = build
        self.spec = MNIST_SPEC
        try:
            self.wants_spec = "spec" in inspect.signature(build).parameters
        except (TypeError, ValueError):
            self.wants_spec = False
        for attribute in ("input_shape", "one_hot_labels", "fit_defaults", "description", "takes"):
            if hasattr(build, attribute):
                setattr(self, attribute, getattr(build, attribute))

    def build(self, hp: kt.HyperParameters) -> Any:
        return self.function(hp, spec=self.spec) if self.wants_spec else self.function(hp)
