"""keras-tuner's, TensorFlow's and Optuna's internals: every private attribute kerastune touches, and every patch,
is in this package, one module per concern:

- `patches`: keras-tuner functions replaced while a kerastune search runs;
- `oracle_base`: the oracle base that kerastune's strategies build on (keras-tuner's private oracle state);
- `tuner_hooks`: keras-tuner's private Tuner methods that kerastune changes;
- `service`: the chief/worker gRPC service;
- `tensorflow_state`: TensorFlow's and Keras's private state;
- `optuna_state`: Optuna's.

kerastune is written against keras-tuner 1.4.8 (checked on import: `keras-tuner>=1.4.8,<1.5`). Each entry
says why it exists and which upstream bug it works around (issue number, or file:line in 1.4.8 where none is
filed). `tests/test_internals.py` holds one canary per workaround: it asserts that the upstream bug is still
there, so that the upgrade which fixes it says so by failing.
"""

from __future__ import annotations

from importlib import metadata

SUPPORTED = ((1, 4, 8), (1, 5))  # keras-tuner >= 1.4.8, < 1.5


class UnsupportedVersionError(RuntimeError):
    """The installed keras-tuner is not a release kerastune was written against."""


def check_version(version: str) -> None:
    numbers = tuple(int(part) for part in version.split(".")[:3] if part.isdigit())
    if not SUPPORTED[0] <= numbers < SUPPORTED[1]:
        raise UnsupportedVersionError(
            f"kerastune needs keras-tuner>=1.4.8,<1.5 (it relies on its internals), but {version} is installed: "
            "pip install 'keras-tuner>=1.4.8,<1.5'"
        )


check_version(metadata.version("keras-tuner"))
