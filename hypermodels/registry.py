"""The registry of named hypermodels: register, list, get."""

from __future__ import annotations

import contextlib
import difflib
import fnmatch
import importlib
import inspect
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from typing import Any

ENTRY_POINT_GROUP = "kerastune.hypermodels"
# Modules of the user's to import before any hypermodel is looked up, so that their @register calls name their
# hypermodels for every command (comma-separated; looked up in the current folder first, as MODULE:ATTRIBUTE is)
MODULES_ENV = "KERASTUNE_HYPERMODELS"


class HypermodelError(ValueError):
    """A hypermodel name or reference that cannot be used."""


class UnknownHypermodelError(HypermodelError, KeyError):
    """No hypermodel is registered under this name."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.suggestions = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(repr(s) for s in self.suggestions)}?" if self.suggestions else ""
        message = (
            f"unknown hypermodel {name!r}.{hint} "
            "Run `kerastune models` for the list, give a MODULE:ATTRIBUTE reference, or name the module that "
            f"registers it in {MODULES_ENV} (e.g. {MODULES_ENV}=mymodels)."
        )
        super().__init__(message)

    def __str__(self) -> str:  # KeyError would wrap the message in quotes
        return str(self.args[0])


class DuplicateHypermodelError(HypermodelError):
    """A second hypermodel was registered under a name already taken."""


@dataclass(frozen=True)
class Entry:
    """One registered hypermodel: how to make it and how to describe it."""

    name: str
    target: Any  # a kt.HyperModel subclass, a kt.HyperModel instance, or a build(hp) function
    description: str
    source: str  # "built-in", "plugin <distribution>", or the MODULE:ATTRIBUTE it came from


# name -> Entry, filled by @register (built-ins and plugins)
_registry: dict[str, Entry] = {}
# whether the `kerastune.hypermodels` entry points have been loaded into _registry
_plugins_loaded = False
# plugin name -> why it could not be loaded
_broken_plugins: dict[str, str] = {}


def register(
    name: str | None = None, *, description: str | None = None, source: str | None = None
) -> Callable[[Any], Any]:
    """Decorator: register a HyperModel class, instance or build(hp) function under `name`.

    The decorated object is returned unchanged, so it stays directly usable. `source` says
    where it comes from in `kerastune models`: "built-in" for kerastune's own, else its module.
    """

    def decorator(target: Any) -> Any:
        key = name or getattr(target, "name", None) or getattr(target, "__name__", None)
        if not key:
            raise HypermodelError("a hypermodel needs a name: use @register('my-name')")
        if key in _registry:
            raise DuplicateHypermodelError(
                f"hypermodel {key!r} is already registered (from {_registry[key].source}); "
                "choose another name"
            )
        origin = source or _origin(target)
        _registry[key] = Entry(key, target, description or _first_doc_line(target), origin)
        return target

    return decorator


def unregister(name: str) -> None:
    """Remove a registered hypermodel (for tests and notebooks)."""
    _registry.pop(name, None)


def list_hypermodels(pattern: str = "*") -> list[str]:
    """Names of the registered hypermodels matching a shell-style pattern, sorted."""
    _load_plugins()
    return sorted(n for n in _registry if fnmatch.fnmatchcase(n, pattern))


def entries() -> list[Entry]:
    """All registered entries, sorted by name."""
    return [_registry[n] for n in list_hypermodels()]


def get_entry(name: str) -> Entry:
    """The entry registered under `name`, or the one a MODULE:ATTRIBUTE reference names."""
    if ":" in name:
        target = load_reference(name)
        return Entry(name, target, _first_doc_line(target), name)
    _load_plugins()
    try:
        return _registry[name]
    except KeyError:
        raise UnknownHypermodelError(name, list(_registry)) from None


def get(name: str) -> Any:
    """A fresh `keras_tuner.HyperModel` for a registered name or a MODULE:ATTRIBUTE reference."""
    return instantiate(get_entry(name).target)


def instantiate(target: Any) -> Any:
    """Turn a HyperModel class, instance or build(hp) function into a HyperModel instance."""
    import keras_tuner as kt

    from hypermodels.base import FunctionHyperModel

    if isinstance(target, kt.HyperModel):
        return target
    if isinstance(target, type) and issubclass(target, kt.HyperModel):
        return target()
    if callable(target):
        return FunctionHyperModel(target)
    raise HypermodelError(
        f"{target!r} is not a hypermodel: give a keras_tuner.HyperModel subclass or instance, "
        "or a build(hp) function that returns a compiled Keras model"
    )


def load_reference(reference: str) -> Any:
    """Import the object a MODULE:ATTRIBUTE reference names, looking for the module in the current folder first.

    The current folder is on `sys.path` only while the module is imported, so that it cannot stand in for
    any other module later (a folder named `app` or `data`, say).
    """
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise HypermodelError(
            f"bad hypermodel reference {reference!r}: write it as MODULE:ATTRIBUTE, "
            "e.g. mymodels:build_model"
        )
    try:
        with _current_folder_importable():
            module = importlib.import_module(module_name)
    except ImportError as error:
        raise HypermodelError(
            f"cannot import module {module_name!r} for hypermodel {reference!r}: {error}. "
            "Run from the directory that holds it, or install it"
        ) from None
    except Exception as error:  # the user's module itself failed while importing
        raise HypermodelError(
            f"importing module {module_name!r} for hypermodel {reference!r} failed: "
            f"{type(error).__name__}: {error}"
        ) from error
    registered = _registry.get(attribute)
    if not hasattr(module, attribute.split(".")[0]) and registered is not None and \
            registered.source == f"module {module.__name__}":
        return registered.target  # MODULE:NAME, a name the module registered (`@register("wide-mlp")`)
    target: Any = module
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise HypermodelError(
                f"module {module_name!r} has no attribute {attribute!r} (from {reference!r}), nor registers a "
                "hypermodel of that name"
            ) from None
    return target


@contextlib.contextmanager
def _current_folder_importable() -> Iterator[None]:
    folder = os.getcwd()
    added = folder not in sys.path and "" not in sys.path
    if added:
        sys.path.insert(0, folder)
    try:
        yield
    finally:
        if added and folder in sys.path:
            sys.path.remove(folder)


def _load_plugins() -> None:
    """Register, once, the hypermodels of the modules named in KERASTUNE_HYPERMODELS and those that installed
    packages declare as entry points."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for module_name in [name.strip() for name in os.environ.get(MODULES_ENV, "").split(",") if name.strip()]:
        try:
            with _current_folder_importable():
                importlib.import_module(module_name)
        except Exception as error:  # a broken module of the user's must not break the tool
            _broken_plugins[f"module {module_name}"] = f"{MODULES_ENV}: importing it failed: {error}"
    for point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(point.dist, "name", None) or point.value
        if point.name in _registry:  # a built-in or an earlier plugin keeps its name
            _broken_plugins[point.name] = (
                f"{point.value} (from {dist}): the name is taken by {_registry[point.name].source}"
            )
            continue
        try:
            target = point.load()
        except Exception as error:  # a broken plugin must not break the tool
            _broken_plugins[point.name] = f"{point.value}: {error}"
            continue
        _registry[point.name] = Entry(
            point.name, target, _first_doc_line(target), f"plugin {dist}"
        )


def broken_plugins() -> dict[str, str]:
    """Entry points in the `kerastune.hypermodels` group that failed to load, with the reason."""
    _load_plugins()
    return dict(_broken_plugins)


def _origin(target: Any) -> str:
    module = getattr(target, "__module__", None) or type(target).__module__
    return "built-in" if module.startswith("hypermodels.") else f"module {module}"


def _first_doc_line(target: Any) -> str:
    description = getattr(target, "description", None)
    if isinstance(description, str) and description:
        return description
    doc = inspect.getdoc(target) or ""
    return doc.splitlines()[0] if doc else ""
