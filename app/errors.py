"""One place turns failures into messages and exit codes (`ExitCode`; the docs' table is checked against it)."""

from __future__ import annotations

import enum
import os
import sys
import traceback
from typing import Any

import typer
from typer._click import exceptions as click_exceptions

from kerastune.app.help_style import PlainHelpGroup


class ExitCode(enum.IntEnum):
    """What `kerastune`'s exit code says."""

    OK = 0  # done
    FAILURE = 1  # the work failed: an unexpected error, every trial failed, every worker stopped
    USAGE = 2  # bad input: nothing ran, and nothing on disk changed
    BUSY = 3  # the project is in use by a running search: wait for it, or use another --name
    NOT_LOGGED = 4  # the work is done and saved, but an optional service (MLflow) failed to record it
    INTERRUPTED = 130  # Ctrl-C: what finished is saved, the same command resumes


# (module, class) of the library errors, each with its exit code, the most specific first; looked up only once a
# module is loaded, so that `kerastune --help` imports none of them (hypermodels imports TensorFlow).
_ERRORS = (
    ("kerastune.tuners.records.lock", "ProjectBusyError", ExitCode.BUSY),
    ("hypermodels.registry", "HypermodelError", ExitCode.USAGE),
    ("kerastune.tuners.options", "ConfigError", ExitCode.USAGE),
    ("kerastune.data.dataset", "DataError", ExitCode.USAGE),
    ("kerastune.tuners.records.project", "ProjectError", ExitCode.USAGE),
    ("kerastune.tuners.integrations.mlflow_runs", "TrackingError", ExitCode.USAGE),
    # runtime failures whose message says it all: printed without their class name
    ("kerastune.tuners.run.search", "TrialsFailedError", ExitCode.FAILURE),
    ("kerastune.tuners.workers.chief", "WorkersFailedError", ExitCode.FAILURE),
    ("kerastune.tuners.evaluation.export", "ExportError", ExitCode.FAILURE),
    ("kerastune.tuners.records.lock", "LockUnavailableError", ExitCode.FAILURE),
)


def one_line(message: str) -> str:
    return " ".join(str(message).split())


def exit_code_of(error: BaseException) -> ExitCode | None:
    """The exit code of one of kerastune's errors; None for any other."""
    for module_name, class_name, code in _ERRORS:
        module = sys.modules.get(module_name)
        if module is not None and isinstance(error, getattr(module, class_name)):
            return code
    return None


class KerastuneGroup(PlainHelpGroup):
    """Typer's group, with one-line errors instead of tracebacks and boxed panels."""

    def main(self, args: Any = None, prog_name: Any = None, complete_var: Any = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click_exceptions.NoArgsIsHelpError:
            code = ExitCode.USAGE  # the help text is already printed
        except click_exceptions.UsageError as error:
            hint = f" (see '{error.ctx.command_path} --help')" if error.ctx is not None else ""
            typer.echo(f"kerastune: error: {one_line(error.format_message())}{hint}", err=True)
            code = ExitCode.USAGE
        except click_exceptions.ClickException as error:
            typer.echo(f"kerastune: error: {one_line(error.format_message())}", err=True)
            code = error.exit_code
        except typer.Abort:
            typer.echo("kerastune: interrupted", err=True)
            code = ExitCode.INTERRUPTED
        except Exception as error:  # every other failure: one line, never a traceback
            if os.environ.get("KERASTUNE_DEBUG"):
                traceback.print_exc()
            code = exit_code_of(error)
            if code is not None:
                typer.echo(f"kerastune: error: {one_line(str(error))}", err=True)
            else:
                typer.echo(f"kerastune: error: {type(error).__name__}: {one_line(str(error))}", err=True)
                code = ExitCode.FAILURE
        if standalone_mode:
            sys.exit(code or 0)
        return code
