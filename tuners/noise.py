"""Keep known, harmless Keras/TensorFlow messages out of a search's or evaluation's output."""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator


@contextlib.contextmanager
def quiet_keras_noise() -> Iterator[None]:
    """Hide two messages that say nothing useful here.

    - Keras's "Skipping variable loading for optimizer": Hyperband resumes models and `evaluate`
      reloads them from weight checkpoints, whose optimizer state is not needed.
    - TensorFlow's "triggered tf.function retracing": every trial or reloaded model is a new
      model, so its functions are traced anew by design.
    """
    tf_logger = logging.getLogger("tensorflow")
    level = tf_logger.level
    tf_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"Skipping variable loading for optimizer")
            yield
    finally:
        tf_logger.setLevel(level)
