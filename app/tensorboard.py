"""`kerastune dashboard`: TensorBoard, run in this process, on a project's logs."""

from __future__ import annotations

import logging
from pathlib import Path

from tuners.config import ConfigError
from tuners.project import LOGS_NAME, ProjectError, load_project

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
    from app.runtime import import_tensorflow_quietly

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
