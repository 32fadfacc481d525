"""kerastune's hypermodels: a registry of named keras-tuner HyperModels (search spaces).

    import hypermodels
    hypermodels.list_hypermodels()        # ['mlp', 'tutorial-gridsearchcv', ...]
    hm = hypermodels.get("mlp")           # a keras_tuner.HyperModel, ready for any tuner

Register your own with `@hypermodels.register("name")`, through the entry-point group
`kerastune.hypermodels`, or pass a MODULE:ATTRIBUTE reference to `get`.
"""

from __future__ import annotations

from hypermodels import cnn, mlp, tutorials  # noqa: F401  (registers the built-ins)
from hypermodels.base import (
    FunctionHyperModel,
    KerastuneHyperModel,
    MnistHyperModel,
    compile_for_task,
    fit_defaults,
    output_layer,
)
from hypermodels.pinning import parse_configuration, parse_fixed, pinned_space
from hypermodels.registry import (
    ENTRY_POINT_GROUP,
    DuplicateHypermodelError,
    Entry,
    HypermodelError,
    UnknownHypermodelError,
    broken_plugins,
    entries,
    get,
    get_entry,
    instantiate,
    list_hypermodels,
    register,
    unregister,
)
from hypermodels.space import describe_space, grid_size, search_space

__all__ = [
    "ENTRY_POINT_GROUP",
    "DuplicateHypermodelError",
    "Entry",
    "FunctionHyperModel",
    "HypermodelError",
    "KerastuneHyperModel",
    "MnistHyperModel",
    "UnknownHypermodelError",
    "broken_plugins",
    "compile_for_task",
    "describe_space",
    "entries",
    "fit_defaults",
    "get",
    "get_entry",
    "grid_size",
    "instantiate",
    "list_hypermodels",
    "output_layer",
    "parse_configuration",
    "parse_fixed",
    "pinned_space",
    "register",
    "search_space",
    "unregister",
]
