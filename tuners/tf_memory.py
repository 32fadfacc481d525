"""A fix for TensorFlow's memory growth over many trials in one process.

Every `model.fit` traces a new training function, and TensorFlow (2.21 here) registers a
`CustomGradient-N` entry for it in its global gradient registry (its distribution code's
`all_reduce` uses `tf.custom_gradient`). Nothing ever removes those entries, and each one keeps
the whole traced graph of a model that is long gone alive: a worker grew by about 4-7 MB per trial,
so over 200 MB in 50 trials. See tensorflow/tensorflow#97697 and keras-team/tf-keras#898, which
proposes the same cure in `clear_session`.

`forget_custom_gradients()` removes, when a trial ends, the entries registered while it ran; no
later trial can use them, since each trial builds and traces its own model.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

CUSTOM_GRADIENT_PREFIX = "CustomGradient-"


def _gradient_registry() -> dict | None:
    try:
        from tensorflow.python.framework import ops

        return ops._gradient_registry._registry
    except (ImportError, AttributeError):  # another backend, or TensorFlow's internals changed
        return None


@contextlib.contextmanager
def forget_custom_gradients() -> Iterator[None]:
    """Drop the custom-gradient registrations made inside the block when it ends."""
    registry = _gradient_registry()
    before = set(registry) if registry is not None else set()
    try:
        yield
    finally:
        if registry is not None:
            for name in set(registry) - before:
                if name.startswith(CUSTOM_GRADIENT_PREFIX):
                    del registry[name]
