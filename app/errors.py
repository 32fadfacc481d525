"""One place turns failures into messages and exit codes: bad input 2, runtime failure 1, Ctrl-C 130."""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any

import typer
from typer._click import exceptions as click_exceptions
from typer.core import TyperGroup

USAGE = 2
FAILURE = 1
INTERRUPTED = 130

# (module, class) of the library errors that mean "bad input"; looked up only once a module is
# loaded, so that `kerastune --help` imports none of them (hypermodels imports TensorFlow).
_USAGE_ERRORS = (
    ("hypermodels.registry", "HypermodelError"),
    ("kerastune.tuners.options", "ConfigError"),
    ("kerastune.data.dataset", "DataError"),
    ("kerastune.tuners.records.project", "ProjectError"),
    ("kerastune.tuners.integrations.mlflow_runs", "TrackingError"),
)


# runtime failures whose message says it all: printed without their class name, exit code 1
_KNOWN_FAILURES = (
    ("kerastune.tuners.run.search", "TrialsFailedError"),
    ("kerastune.tuners.workers.chief", "WorkersFailedError"),
    ("kerastune.tuners.evaluation.export", "ExportError"),
    ("kerastune.tuners.records.lock", "LockUnavailableError"),
)


def one_line(message: str) -> str:
    return " ".join(str(message).split())


def is_usage_error(error: BaseException) -> bool:
    return _is_one_of(error, _USAGE_ERRORS)


def _is_one_of(error: BaseException, names: tuple[tuple[str, str], ...]) -> bool:
    for module_name, class_name in names:
        module = sys.modules.get(module_name)
        if module is not None and isinstance(error, getattr(module, class_name)):
            return True
    return False


class KerastuneGroup(TyperGroup):
    """Typer's group, with one-line errors instead of tracebacks and boxed panels."""

    def main(self, args: Any = None, prog_name: Any = None, complete_var: Any = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click_exceptions.NoArgsIsHelpError:
            code = USAGE  # the help text is already printed
        except click_exceptions.UsageError as error:
            hint = f" (see '{error.ctx.command_path} --help')" if error.ctx is not None else ""
            typer.echo(f"kerastune: error: {one_line(error.format_message())}{hint}", err=True)
            code = USAGE
        except click_exceptions.ClickException as error:
            typer.echo(f"kerastune: error: {one_line(error.format_message())}", err=True)
            code = error.exit_code
        except typer.Abort:
            typer.echo("kerastune: interrupted", err=True)
            code = INTERRUPTED
        except Exception as error:  # every other failure: one line, never a traceback
            if os.environ.get("KERASTUNE_DEBUG"):
                traceback.print_exc()
            if is_usage_error(error):
                typer.echo(f"kerastune: error: {one_line(str(error))}", err=True)
                code = USAGE
            elif _is_one_of(error, _KNOWN_FAILURES):
                typer.echo(f"kerastune: error: {one_line(str(error))}", err=True)
                code = FAILURE
            else:
                typer.echo(f"kerastune: error: {type(error).__name__}: {one_line(str(error))}", err=True)
                code = FAILURE
        if standalone_mode:
            sys.exit(code or 0)
        return code
