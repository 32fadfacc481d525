"""TensorBoard: the scalars kerastune adds to a trial's HParams session, and `kerastune dashboard`'s server, run
in this process on a project's logs."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from kerastune.tuners.options import ConfigError
from kerastune.tuners.records.project import LOGS_NAME, ProjectError, load_project

HOST = "127.0.0.1"


def start_dashboard(project_dir: Path, port: int) -> str:
    """Serve TensorBoard on PROJECT/logs at 127.0.0.1:PORT in a background thread; return its address."""
    if not 0 <= port < 65536:
        raise ConfigError(f"--port must be between 0 and 65535, got {port}")
    load_project(project_dir)
    logs = Path(project_dir) / LOGS_NAME
    if not logs.is_dir():
        raise ProjectError(
            f"{project_dir} has no TensorBoard logs ({logs}): it was searched with --no-tensorboard; "
            "run a search without that option to write them"
        )
    from kerastune.tuners.tf_noise import import_tensorflow_quietly

    import_tensorflow_quietly()  # TensorBoard reads event files faster with TensorFlow, and would import it anyway
    from tensorboard import program

    logging.getLogger("absl").setLevel(logging.ERROR)
    board = program.TensorBoard()
    board.configure(argv=[None, "--logdir", str(logs), "--host", HOST, "--port", str(port), "--load_fast", "false"])
    try:
        return board.launch()
    except program.TensorBoardServerException as error:
        raise ConfigError(f"--port {port}: TensorBoard cannot listen there ({error}); choose another port, "
                          "or --port 0 for a free one") from None


def finish_logs(callbacks: list[Any]) -> None:
    """End the TensorBoard logs of a fit that the budget stopped, as the end of training would: the epochs written
    are flushed, and the HParams session is closed."""
    import keras

    for callback in callbacks:
        if isinstance(callback, keras.callbacks.TensorBoard) or type(callback).__name__ == "KerasCallback":
            callback.on_train_end()


PRUNED_TAG = "pruned_after_epoch"  # the scalar that marks a pruned trial in TensorBoard (a column in HParams)


# The scalar of a trial's score in TensorBoard: a column of HParams, shown by default (it shows the first five
# metrics by name, and this one sorts before Keras's epoch_*)
SCORE_TAG = "best_score"


def log_pruned(callbacks: list[Any], epochs: int) -> None:
    """Mark a pruned trial in its TensorBoard logs: a scalar `pruned_after_epoch` in its HParams session, which the
    HParams dashboard shows as a column (empty for the trials that were not pruned)."""
    log_scalar(callbacks, PRUNED_TAG, epochs, step=epochs - 1)


def log_scalar(callbacks: list[Any], tag: str, value: float, step: int = 0) -> None:
    """A scalar in the TensorBoard logs of the fit of these callbacks (its HParams session), if it writes any."""
    import keras
    import tensorflow as tf

    for callback in callbacks:
        if isinstance(callback, keras.callbacks.TensorBoard):
            with tf.summary.create_file_writer(str(callback.log_dir)).as_default():
                tf.summary.scalar(tag, value, step=step)


