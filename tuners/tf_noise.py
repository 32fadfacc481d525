"""Keep TensorFlow's start-up chatter and known, harmless Keras/TensorFlow messages out of kerastune's output."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
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


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with stderr captured; the capture is shown only if the import fails.

    TensorFlow's native start-up messages (oneDNN notice, CUDA probe) are written straight to
    file descriptor 2 before any logging setting applies, so they are held back at that level.
    """
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow

            tensorflow.config.list_physical_devices()  # the CUDA probe complains here, once
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
