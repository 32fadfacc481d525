"""What a hypermodel is told about the data (`DataSpec`), and the preprocessing layers every model starts with.

The preprocessing is part of the model: search, evaluate and export build the same layers from the same spec,
so an exported model takes the data as the user holds it (images as they come, a table's raw columns).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from kerastune.data.dataset import CLASSIFICATION, IMAGES, REGRESSION, TABLE, Dataset

# The brightest pixel of integer images: they are scaled by it to [0, 1] inside the model (other images are taken
# as they are)
PIXEL_MAXIMUM = {"uint8": 255, "uint16": 65535}
# A table's category with more values than this is embedded (a trained vector per value) instead of one-hot
ONE_HOT_MAX = 30


@dataclass(frozen=True)
class DataSpec:
    """The data a model takes and what it predicts. Hypermodels read it as `self.spec` (or a `spec` argument)."""

    kind: str  # "images" (examples of shape (h, w) or (h, w, c)), "features" (rows of d numbers) or "table"
    raw_shape: tuple[int, ...]  # one example as the user holds it, e.g. (28, 28) or (13,); a table: (its inputs,)
    raw_dtype: str  # e.g. "uint8", "float32"
    input_shape: tuple[int, ...]  # one example as the hypermodel's model receives it: (h, w, c) or (d,)
    task: str  # "classification" or "regression"
    num_classes: int | None  # classification: how many classes
    num_outputs: int  # the model's outputs per example: the classes, or the regression targets
    classes: tuple[Any, ...] | None = None  # the label of each output (classification)
    # the preprocessing's statistics, from the rows the model is fit on (never the test rows)
    feature_mean: tuple[float, ...] | None = None  # features: per-column mean and variance, for Normalization
    feature_variance: tuple[float, ...] | None = None
    target_mean: tuple[float, ...] | None = None  # regression: the targets' mean and standard deviation
    target_std: tuple[float, ...] | None = None
    # a table: each model input, {"name", "kind": "numeric", "mean", "variance", "indicator": bool} or
    # {"name", "kind": "categorical", "vocabulary": [the missing cell "", then the values], "embedding": 0 or width}
    columns: tuple[dict[str, Any], ...] | None = None

    @property
    def pixel_maximum(self) -> int | None:
        """The brightest pixel of integer images (255, 65535), by which the model scales them; None for others."""
        return PIXEL_MAXIMUM.get(self.raw_dtype) if self.kind == IMAGES else None

    @property
    def size(self) -> int:
        """Numbers per example (a table: the prepared numbers its columns become)."""
        return math.prod(self.input_shape if self.kind == TABLE else self.raw_shape)

    def describe(self) -> str:
        """In words: `28x28 uint8 images, classification into 10 classes`."""
        shape = "x".join(str(d) for d in self.raw_shape)
        if self.kind == TABLE:
            what = f"a table of {self.raw_shape[0]} input columns"
        else:
            what = f"{shape} {self.raw_dtype} images" if self.kind == IMAGES else f"rows of {self.size} numbers"
        if self.task == CLASSIFICATION:
            return f"{what}, classification into {self.num_classes} classes"
        return f"{what}, regression of {self.num_outputs} target{'s' if self.num_outputs > 1 else ''}"

    def to_dict(self) -> dict[str, Any]:
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> DataSpec:
        return cls(**{key: tuple(value) if isinstance(value, list) else value for key, value in values.items()})

    def inputs(self, kind: str) -> list[dict[str, Any]]:
        """A table's model inputs of one kind ("numeric" or "categorical"), in order."""
        return [column for column in self.columns or () if column["kind"] == kind]


def spec_of(dataset: Dataset, rows: np.ndarray | None = None) -> DataSpec:
    """The spec of a dataset, its statistics made on the training rows `rows` (all of them when None)."""
    x = dataset.x_train if rows is None else dataset.x_train[rows]
    y = dataset.y_train if rows is None else dataset.y_train[rows]
    raw_shape = tuple(int(d) for d in dataset.x_train.shape[1:])
    dtype = x.dtype.name if isinstance(x, np.ndarray) else "mixed"
    spec: dict[str, Any] = {"kind": dataset.kind, "raw_shape": raw_shape, "raw_dtype": dtype,
                            "task": dataset.task}
    if dataset.kind == IMAGES:
        spec["input_shape"] = raw_shape if len(raw_shape) == 3 else (*raw_shape, 1)
    elif dataset.kind == TABLE:
        spec["columns"] = tuple(_input_statistics(name, values) for name, values in x.columns.items())
        spec["input_shape"] = (sum(_prepared_width(column) for column in spec["columns"]),)
    else:
        spec["input_shape"] = raw_shape
        spec["feature_mean"] = _floats(x.mean(axis=0, dtype=np.float64))
        variance = x.var(axis=0, dtype=np.float64)
        # a column constant on these rows is left unscaled: dividing by its zero spread would blow up any other value
        spec["feature_variance"] = _floats(np.where(variance > 0, variance, 1.0))
    if dataset.task == CLASSIFICATION:
        spec.update(num_classes=dataset.num_classes, num_outputs=dataset.num_classes, classes=dataset.classes)
    else:
        targets = y.reshape(len(y), -1).astype(np.float64)
        std = targets.std(axis=0)
        spec.update(num_classes=None, num_outputs=targets.shape[1], target_mean=_floats(targets.mean(axis=0)),
                    target_std=_floats(np.where(std > 0, std, 1.0)))
    return DataSpec(**spec)


# The spec of MNIST, for what is shown or built without data (`kerastune space`, a notebook's first look)
MNIST_SPEC = DataSpec(kind=IMAGES, raw_shape=(28, 28), raw_dtype="uint8", input_shape=(28, 28, 1),
                      task=CLASSIFICATION, num_classes=10, num_outputs=10, classes=tuple(range(10)))


def input_layers(spec: DataSpec) -> tuple[Any, Any]:
    """The model's input, as the user holds the data, and the preprocessed tensor the hypermodel's layers take:
    integer images scaled to [0, 1] by their brightest pixel (other images as they are) with a channel axis; rows
    standardized."""
    import keras

    if spec.kind == TABLE:
        return _table_layers(spec)
    inputs = keras.Input(shape=spec.raw_shape, dtype=spec.raw_dtype, name="inputs")
    if spec.kind == IMAGES:
        scale = 1.0 / spec.pixel_maximum if spec.pixel_maximum else 1.0
        x = keras.layers.Rescaling(scale, name="scale_pixels")(inputs)
        if spec.input_shape != spec.raw_shape:
            x = keras.layers.Reshape(spec.input_shape, name="add_channel")(x)
    else:
        x = keras.layers.Normalization(mean=list(spec.feature_mean), variance=list(spec.feature_variance),
                                       name="standardize")(inputs)
    return inputs, x


def output_layers(spec: DataSpec, outputs: Any) -> Any:
    """Regression outputs scaled back to the targets' units (the layers before predict standardized targets)."""
    import keras

    if spec.task != REGRESSION:
        return outputs
    std, mean = list(spec.target_std), list(spec.target_mean)
    if spec.num_outputs == 1:
        std, mean = std[0], mean[0]
    return keras.layers.Rescaling(std, offset=mean, name="to_target_units")(outputs)


def _table_layers(spec: DataSpec) -> tuple[dict[str, Any], Any]:
    """A table's inputs, one per column by name, and its columns as one vector: the numbers standardized, a missing
    number filled with the mean (0 once standardized) plus a "was missing" 0/1 where training rows had gaps; each
    category one-hot (or embedded), with a slot of its own for a missing cell and one for a value never seen."""
    import keras

    from kerastune.data.layers import FillMissing

    inputs: dict[str, Any] = {}
    parts = []
    numbers = spec.inputs("numeric")
    if numbers:
        for column in numbers:
            inputs[column["name"]] = keras.Input(shape=(1,), dtype="float32", name=column["name"])
        x = [inputs[column["name"]] for column in numbers]
        x = keras.layers.Concatenate(name="numbers")(x) if len(x) > 1 else x[0]
        x = keras.layers.Normalization(mean=[column["mean"] for column in numbers],
                                       variance=[column["variance"] for column in numbers], name="standardize")(x)
        indicators = [index for index, column in enumerate(numbers) if column["indicator"]]
        parts.append(FillMissing(indicators=indicators, name="fill_missing")(x))
    for index, column in enumerate(spec.inputs("categorical")):
        inputs[column["name"]] = keras.Input(shape=(1,), dtype="string", name=column["name"])
        if column["embedding"]:
            codes = keras.layers.StringLookup(vocabulary=column["vocabulary"], name=f"lookup_{index}")(
                inputs[column["name"]])
            vectors = keras.layers.Embedding(len(column["vocabulary"]) + 1, column["embedding"],
                                             name=f"embed_{index}")(codes)
            parts.append(keras.layers.Flatten(name=f"flatten_{index}")(vectors))
        else:
            parts.append(keras.layers.StringLookup(vocabulary=column["vocabulary"], output_mode="one_hot",
                                                   name=f"one_hot_{index}")(inputs[column["name"]]))
    x = keras.layers.Concatenate(name="columns")(parts) if len(parts) > 1 else parts[0]
    return {column["name"]: inputs[column["name"]] for column in spec.columns}, x


def _input_statistics(name: str, values: np.ndarray) -> dict[str, Any]:
    """What a table's input layers need of one column, from the rows the model is fit on."""
    if values.dtype == object:
        import pandas as pd

        counts = pd.Series(values).value_counts(sort=False)
        seen = sorted((value for value in counts.index if value != ""), key=lambda value: (-counts[value], value))
        embedding = 0 if len(seen) <= ONE_HOT_MAX else min(16, round(1.6 * len(seen) ** 0.56))
        return {"name": name, "kind": "categorical", "vocabulary": ["", *seen], "embedding": embedding}
    present = values[~np.isnan(values)].astype(np.float64)
    variance = float(present.var()) if len(present) else 1.0
    return {"name": name, "kind": "numeric", "mean": float(present.mean()) if len(present) else 0.0,
            "variance": variance if variance > 0 else 1.0, "indicator": bool(len(present) < len(values))}


def _prepared_width(column: dict[str, Any]) -> int:
    if column["kind"] == "numeric":
        return 2 if column["indicator"] else 1
    return column["embedding"] or len(column["vocabulary"]) + 1


def _floats(values: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in np.atleast_1d(values))
