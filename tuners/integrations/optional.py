"""The optional dependencies: what each is for, how to install it, one check and one message.

MLflow and optuna-dashboard come with kerastune's extras (pyproject.toml); Chromium, which the browser tests open the
dashboards in, with the system's packages. Nothing is imported until a command needs it.
"""

from __future__ import annotations

import importlib
import importlib.util
import shutil
from dataclasses import dataclass
from types import ModuleType

from kerastune.tuners.options import ConfigError


@dataclass(frozen=True)
class Optional:
    """One optional dependency."""

    module: str  # the import name
    what: str  # its name in a sentence
    install: str  # how to install it


MLFLOW = Optional("mlflow", "MLflow", "pip install 'kerastune[mlflow]'")
OPTUNA_DASHBOARD = Optional("optuna_dashboard", "optuna-dashboard", "pip install 'kerastune[optuna-dashboard]'")
CHROMIUM_INSTALL = "apt-get install chromium"  # Debian's package, as .ci/run installs it


class MissingDependencyError(ConfigError):
    """An option needs an optional dependency that is not installed (bad input: nothing ran)."""


def installed(dependency: Optional) -> bool:
    """Whether it can be imported, without importing it."""
    return importlib.util.find_spec(dependency.module) is not None


def check(dependency: Optional, needed_by: str) -> None:
    """Refuse, before any work, an option whose dependency is not installed (without importing it)."""
    if not installed(dependency):
        raise MissingDependencyError(f"{needed_by} needs {dependency.what}, which is not installed: "
                                     f"{dependency.install}")


def require(dependency: Optional, needed_by: str) -> ModuleType:
    """The dependency's module, imported; a MissingDependencyError saying how to install it when it is not."""
    check(dependency, needed_by)
    return importlib.import_module(dependency.module)


def chromium() -> str | None:
    """The path of the system's Chromium, or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")
