"""A hypermodel behind the data's preprocessing: every model a search trains, `evaluate` reloads and `export`
saves is built here, the same way, so they all take the data as the user holds it."""

from __future__ import annotations

import math
from typing import Any

import keras
import keras_tuner as kt
import numpy as np

from hypermodels.registry import HypermodelError
from kerastune.data import CLASSIFICATION, DataSpec, model_input
from kerastune.data.sources import one_line
from kerastune.data.spec import input_layers, output_layers
from kerastune.tuners.internals import tensorflow_state
from kerastune.tuners.options import OPTION


class IncompatibleDataError(HypermodelError):
    """The hypermodel cannot take this data; the message says why."""


class PreparedHyperModel(kt.HyperModel):
    """`hypermodel`, told the data's `spec`, whose models are wrapped in the spec's input and output layers."""

    def __init__(self, hypermodel: Any, spec: DataSpec,
                 steps_per_execution: int = OPTION["steps_per_execution"].default) -> None:
        super().__init__(name=hypermodel.name, tunable=hypermodel.tunable)
        self.hypermodel = hypermodel
        self.steps_per_execution = steps_per_execution
        self.use(spec)

    def use(self, spec: DataSpec) -> None:
        """Build for data of this spec from now on."""
        self.spec = spec
        self.hypermodel.spec = spec

    def declare_hyperparameters(self, hp: kt.HyperParameters) -> None:
        self.hypermodel.declare_hyperparameters(hp)

    def build(self, hp: kt.HyperParameters) -> Any:
        return wrap(self.hypermodel.build(hp), self.spec, self.steps_per_execution)

    def fit(self, hp: kt.HyperParameters, model: Any, x: Any = None, *args: Any, **kwargs: Any) -> Any:
        """The hypermodel's fit, given the examples as Keras takes them (a table's columns as a dict)."""
        if "validation_data" in kwargs:
            x_val, *rest = kwargs["validation_data"]
            kwargs["validation_data"] = (model_input(x_val), *rest)
        return self.hypermodel.fit(hp, model, model_input(x), *args, **kwargs)

    def labels(self, y: np.ndarray) -> np.ndarray:
        """Targets as the hypermodel's loss wants them: class indices, or one-hot for a space that asks; regression
        targets as (n, outputs), the shape of the model's outputs (a custom loss need not reshape them)."""
        if self.spec.task != CLASSIFICATION:
            return y.reshape(len(y), -1)
        if getattr(self.hypermodel, "one_hot_labels", False):
            return np.eye(self.spec.num_classes, dtype="float32")[y]
        return y


def wrap(model: Any, spec: DataSpec, steps_per_execution: int = 1) -> Any:
    """`model` after the spec's preprocessing layers (reshaped to the input it declares, when that differs)
    and before its output layers, compiled as `model` was, but for `steps_per_execution` (--steps-per-execution)."""
    inputs, x = input_layers(spec)
    wanted = _declared_input(model)
    if wanted is not None and wanted != tuple(x.shape[1:]):
        if math.prod(wanted) != math.prod(x.shape[1:]):
            raise IncompatibleDataError(
                f"the model takes examples of shape {wanted} ({math.prod(wanted)} values), but the data is "
                f"{spec.describe()} ({spec.size} values each)"
            )
        x = keras.layers.Reshape(wanted, name="to_model_input")(x)
    wrapped = keras.Model(inputs, output_layers(spec, model(x)), name="kerastune_model")
    if getattr(model, "compiled", False):
        wrapped.compile(**{**tensorflow_state.compile_arguments(model), "steps_per_execution": steps_per_execution})
    return wrapped


def check_takes(prepared: PreparedHyperModel, hypermodel_name: str, x_sample: np.ndarray | None = None) -> None:
    """Refuse, before any training, a hypermodel that cannot take the data: one whose space says so, or (given
    `x_sample`, a few examples) whose default model fails on them or predicts the wrong number of outputs.

    kerastune's own spaces are not tried on the examples: they say what they take (`refuse`), their output
    layer is made for the data's task, and tests/test_hypermodels.py trains each on every kind of data."""
    from hypermodels import KerastuneHyperModel

    hypermodel, spec = prepared.hypermodel, prepared.spec
    reason = hypermodel.refuse(spec) if hasattr(hypermodel, "refuse") else None
    if reason is None:
        reason = _declared_shape_mismatch(hypermodel, spec)
    if reason is None and x_sample is not None and not isinstance(hypermodel, KerastuneHyperModel):
        reason = _probe(prepared, x_sample)
    if reason is not None:
        raise IncompatibleDataError(f"hypermodel {hypermodel_name!r} cannot take this data: {reason}")


def _probe(prepared: PreparedHyperModel, x_sample: np.ndarray) -> str | None:
    spec = prepared.spec
    hp = kt.HyperParameters()
    try:
        model = prepared.build(hp)
        # eager: no tracing to pay for
        outputs = keras.ops.convert_to_numpy(model(model_input(x_sample), training=False))
    except IncompatibleDataError as error:
        return str(error)
    except Exception as error:  # the user's model failed on this data: say how
        return f"its default model fails on two examples ({type(error).__name__}: {one_line(error)})"
    finally:
        keras.backend.clear_session()
    found = outputs.shape[-1] if outputs.ndim > 1 else 1
    if found != spec.num_outputs:
        wants = f"{spec.num_classes} classes" if spec.task == CLASSIFICATION else f"{spec.num_outputs} target(s)"
        return f"its model has {found} outputs, but the data has {wants} ({spec.describe()})"
    return None


def _declared_shape_mismatch(hypermodel: Any, spec: DataSpec) -> str | None:
    """A hypermodel that declares `input_shape` (kerastune's way before it took any data) of another size."""
    declared = getattr(hypermodel, "input_shape", None)
    if declared is not None and math.prod(declared) != spec.size:
        return f"it declares input_shape {tuple(declared)}, but the data is {spec.describe()}"
    return None


def _declared_input(model: Any) -> tuple[int, ...] | None:
    """The example shape a built model's first input declares, or None (a subclassed model, several inputs)."""
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        return None
    if not inputs or len(inputs) != 1 or any(d is None for d in inputs[0].shape[1:]):
        return None
    return tuple(int(d) for d in inputs[0].shape[1:])

