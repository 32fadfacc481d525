"""TensorFlow's and Keras's private state that kerastune reads or changes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from kerastune.tuners.internals import UnsupportedVersionError

CUSTOM_GRADIENT_PREFIX = "CustomGradient-"


def _gradient_registry() -> dict | None:
    try:
        from tensorflow.python.framework import ops

        return ops._gradient_registry._registry
    except (ImportError, AttributeError):  # another backend, or TensorFlow's internals changed
        return None


@contextlib.contextmanager
def forget_custom_gradients() -> Iterator[None]:
    """Drop, when the block ends, the custom-gradient registrations made inside it.

    Every `model.fit` traces a new training function, and TensorFlow 2.21 registers a `CustomGradient-N` entry
    for it in its global gradient registry (its distribution code's `all_reduce` uses `tf.custom_gradient`).
    Nothing removes them, and each keeps the traced graph of a model long gone alive: a worker grew by 4-7 MB per
    trial (tensorflow/tensorflow#97697; keras-team/tf-keras#898 proposes the same cure in `clear_session`). No
    later trial uses them: each trial builds and traces its own model.
    """
    registry = _gradient_registry()
    before = set(registry) if registry is not None else set()
    try:
        yield
    finally:
        if registry is not None:
            for name in set(registry) - before:
                if name.startswith(CUSTOM_GRADIENT_PREFIX):
                    del registry[name]


def compile_arguments(model: Any) -> dict[str, Any]:
    """The arguments `model.compile` was called with, as given (objects, not their configs), so that a model
    wrapping `model` compiles the same way, custom losses and metrics included (Keras keeps them privately)."""
    config = getattr(model, "_compile_config", None)
    arguments = getattr(config, "config", None)
    if not isinstance(arguments, dict):
        raise UnsupportedVersionError(
            "this Keras does not keep a model's compile arguments where kerastune reads them; "
            "install keras>=3.15,<3.16"
        )
    return dict(arguments)


def train_one_step_per_call(model: Any) -> None:
    """Make a trained model call into TensorFlow once per batch again, as one compiled with the default
    `steps_per_execution=1` (Keras keeps the compile arguments a saved model reopens with in `_compile_config`)."""
    model.steps_per_execution = 1
    model.train_function = model.test_function = model.predict_function = None
    config = getattr(model, "_compile_config", None)
    if isinstance(getattr(config, "config", None), dict):
        config.config["steps_per_execution"] = 1
