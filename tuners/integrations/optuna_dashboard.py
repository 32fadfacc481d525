"""`kerastune dashboard --optuna`: optuna-dashboard, run in this process, on a project's Optuna storage."""

from __future__ import annotations

import threading
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

from kerastune.tuners.integrations import optional
from kerastune.tuners.integrations.optuna_storage import storage_url, study_name, write_storage
from kerastune.tuners.options import ConfigError

HOST = "127.0.0.1"


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:  # no line per request on the terminal
        pass


def start_optuna_dashboard(project_dir: Path, port: int) -> str:
    """Write the project's trials into its Optuna storage, then serve optuna-dashboard on it at 127.0.0.1:PORT in a
    background thread; return the study's address."""
    if not 0 <= port < 65536:
        raise ConfigError(f"--port must be between 0 and 65535, got {port}")
    optuna_dashboard = optional.require(optional.OPTUNA_DASHBOARD, "--optuna")
    write_storage(project_dir)
    try:
        server = make_server(HOST, port, optuna_dashboard.wsgi(storage_url(project_dir)), handler_class=_QuietHandler)
    except OSError as error:
        raise ConfigError(f"--port {port}: optuna-dashboard cannot listen there ({error.strerror}); choose another "
                          "port, or --port 0 for a free one") from None
    threading.Thread(target=server.serve_forever, daemon=True, name="optuna-dashboard").start()
    import optuna

    study_id = optuna.storages.RDBStorage(storage_url(project_dir)).get_study_id_from_name(study_name(project_dir))
    return f"http://{HOST}:{server.server_port}/dashboard/studies/{study_id}"
