"""Tests for the built-in hypermodels: every entry builds and trains; the spaces are right."""

from __future__ import annotations

import json
import math
from typing import Any

import keras
import keras_tuner as kt
import numpy as np
import pytest

import hypermodels
from hypermodels import describe_space, grid_size, search_space
from kerastune import data
from kerastune.tuners.run.prepared_hypermodel import IncompatibleDataError, PreparedHyperModel, check_takes

NAMES = hypermodels.list_hypermodels()
ROW_KEYS = {"name", "type", "values", "default", "condition"}


@pytest.fixture(scope="module")
def space_of():
    """search_space(get(name)), computed once per name (it builds the model several times)."""
    cache: dict[str, kt.HyperParameters] = {}

    def space(name: str) -> kt.HyperParameters:
        if name not in cache:
            cache[name] = search_space(hypermodels.get(name))
        return cache[name]

    return space


def by_name(space: kt.HyperParameters) -> dict[str, Any]:
    return {hp.name: hp for hp in space.space}


def with_values(space: kt.HyperParameters, **values: Any) -> kt.HyperParameters:
    """A copy of the space with some values chosen, as a tuner would hand it to build()."""
    hp = space.copy()
    hp.values.update(values)
    return hp


def dense_layers(model) -> list:
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def activation_name(layer) -> str:
    return layer.get_config()["activation"]


def learning_rate(model) -> float:
    return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))


# --- every registered hypermodel -----------------------------------------------------------------


def _rows_data(task: str) -> data.Dataset:
    """A small table of 6 numeric columns: 3 classes, or a target that is a sum of the columns."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 6)).astype("float32") * 50 + 10
    y = np.repeat(["low", "mid", "high"], 40) if task == "classification" else x.sum(axis=1) * 0.37
    return data.from_arrays(x, y)


def _colour_images() -> data.Dataset:
    rng = np.random.default_rng(0)
    return data.from_arrays(rng.integers(0, 256, (60, 12, 12, 3), dtype=np.uint8), np.arange(60) % 3)


DATASETS = {"mnist": None, "rows-classes": "classification", "rows-regression": "regression", "rgb-12x12": "rgb"}


def _dataset(kind: str, tiny_data: data.Dataset) -> data.Dataset:
    if kind == "mnist":
        return tiny_data
    return _colour_images() if kind == "rgb-12x12" else _rows_data(DATASETS[kind])


@pytest.mark.parametrize("kind", list(DATASETS))
@pytest.mark.parametrize("name", NAMES)
def test_each_builtin_trains_on_the_raw_data_it_takes_and_refuses_the_rest(name, kind, tiny_data):
    """Every built-in, on every kind of data: it either refuses it up front with a reason, or its default model
    (behind the data's preprocessing) takes the raw examples, has one output per class or target, and trains."""
    dataset = _dataset(kind, tiny_data)
    spec = data.spec_of(dataset)
    prepared = PreparedHyperModel(hypermodels.get(name), spec)
    reason = hypermodels.get(name).refuse(spec)
    if reason is not None:
        with pytest.raises(IncompatibleDataError, match="cannot take this data"):
            check_takes(prepared, name, dataset.x_train[:2])
        assert name.startswith("tutorial") or name == "cnn"
        return
    check_takes(prepared, name, dataset.x_train[:2])

    model = prepared.build(kt.HyperParameters())

    assert model.compiled
    assert model.input_shape == (None, *dataset.x_train.shape[1:])
    assert model.output_shape == (None, spec.num_outputs)
    x, y = dataset.x_train[:64], prepared.labels(dataset.y_train[:64])
    history = model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    results = model.evaluate(x, y, batch_size=64, verbose=0, return_dict=True)
    assert np.isfinite(results["loss"])


def test_which_builtins_take_which_data(tiny_data):
    """mlp takes anything; cnn only images; the tutorial spaces only 28x28 images of 10 classes."""
    takes = {name: [kind for kind in DATASETS
                    if hypermodels.get(name).refuse(data.spec_of(_dataset(kind, tiny_data))) is None]
             for name in NAMES}
    assert takes["mlp"] == list(DATASETS)
    assert takes["cnn"] == ["mnist", "rgb-12x12"]
    assert all(takes[name] == ["mnist"] for name in NAMES if name.startswith("tutorial"))


def test_regression_models_predict_in_the_targets_units():
    """The targets are standardized inside the model: an untrained regression model predicts around the targets'
    mean, in their units, not around 0."""
    dataset = _rows_data("regression")
    prepared = PreparedHyperModel(hypermodels.get("mlp"), data.spec_of(dataset))
    model = prepared.build(kt.HyperParameters())
    predictions = model.predict(dataset.x_train, verbose=0)
    assert abs(float(predictions.mean()) - float(dataset.y_train.mean())) < dataset.y_train.std()


@pytest.mark.parametrize("name", NAMES)
def test_has_a_one_line_description(name):
    description = hypermodels.get_entry(name).description

    assert description.strip()
    assert "\n" not in description
    assert description == description.strip()


@pytest.mark.parametrize("name", NAMES)
def test_describe_space_has_one_json_row_per_hyperparameter(name, space_of):
    space = space_of(name)

    rows = describe_space(space)

    assert [row["name"] for row in rows] == [hp.name for hp in space.space]
    for row, hp in zip(rows, space.space, strict=True):
        assert ROW_KEYS <= set(row)
        assert row["type"] == type(hp).__name__
        assert row["default"] == hp.default
        assert row["values"]
    json.dumps(rows)


# --- mlp -----------------------------------------------------------------------------------------


def test_mlp_defaults_are_two_layers_of_512_relu(space_of):
    defaults = {hp.name: hp.default for hp in space_of("mlp").space}
    assert defaults["num_layers"] == 2
    assert defaults["units_1"] == defaults["units_2"] == 512
    assert defaults["activation"] == "relu"
    assert defaults["dropout"] == pytest.approx(0.2)
    assert defaults["learning_rate"] == pytest.approx(1e-3)

    model = hypermodels.get("mlp").build(kt.HyperParameters())

    *hidden, output = dense_layers(model)
    assert [layer.units for layer in hidden] == [512, 512]
    assert [activation_name(layer) for layer in hidden] == ["relu", "relu"]
    dropouts = [layer for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    assert [layer.rate for layer in dropouts] == pytest.approx([0.2, 0.2])
    assert (output.units, activation_name(output)) == (10, "softmax")
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert learning_rate(model) == pytest.approx(1e-3)
    assert model.loss == "sparse_categorical_crossentropy"


def test_mlp_space(space_of):
    space = space_of("mlp")
    hps = by_name(space)

    num_layers = hps["num_layers"]
    assert (num_layers.min_value, num_layers.max_value, num_layers.step) == (1, 4, 1)
    assert not num_layers.conditions
    for layer in range(1, 5):
        units = hps[f"units_{layer}"]
        assert [int(v) for v in units.values] == [32, 64, 128, 256, 512, 1024]
        assert units.sampling == "log"
        (condition,) = units.conditions
        assert condition.name == "num_layers"
        assert list(condition.values) == list(range(layer, 5))
    assert {"relu", "tanh", "sigmoid", "elu", "gelu"} <= set(hps["activation"].values)
    assert hps["learning_rate"].sampling == "log"
    assert (hps["learning_rate"].min_value, hps["learning_rate"].max_value) == (1e-4, 1e-2)
    assert (hps["dropout"].min_value, hps["dropout"].max_value) == (0.0, 0.5)
    assert grid_size(space) is None  # conditional: GridSearch would not try a product


@pytest.mark.parametrize("num_layers", [1, 2, 3, 4])
def test_mlp_units_are_active_only_up_to_num_layers(space_of, num_layers):
    hp = with_values(space_of("mlp"), num_layers=num_layers)

    active = [layer for layer in range(1, 5) if hp.is_active(f"units_{layer}")]

    assert active == list(range(1, num_layers + 1))


def test_mlp_builds_the_chosen_layers(space_of):
    hp = with_values(
        space_of("mlp"),
        num_layers=4,
        units_1=1024,
        units_2=256,
        units_3=64,
        units_4=32,
        activation="tanh",
        dropout=0.0,
        learning_rate=5e-3,
    )

    model = hypermodels.get("mlp").build(hp)

    *hidden, output = dense_layers(model)
    assert [layer.units for layer in hidden] == [1024, 256, 64, 32]
    assert {activation_name(layer) for layer in hidden} == {"tanh"}
    assert not [layer for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    assert output.units == 10
    assert learning_rate(model) == pytest.approx(5e-3)


def test_mlp_ignores_units_of_inactive_layers(space_of):
    hp = with_values(space_of("mlp"), num_layers=1, units_1=64, units_3=1024)

    model = hypermodels.get("mlp").build(hp)

    assert [layer.units for layer in dense_layers(model)] == [64, 10]


# --- the tutorial spaces -------------------------------------------------------------------------


class RecordingModel:
    """Stands in for a Keras model: records what fit() was called with."""

    def __init__(self) -> None:
        self.calls: list[tuple[tuple, dict]] = []

    def fit(self, *args: Any, **kwargs: Any) -> str:
        self.calls.append((args, kwargs))
        return "history"


def test_mlp_tunes_batch_size_and_decays_the_learning_rate_along_a_cosine(space_of, tiny_data):
    batch_size = by_name(space_of("mlp"))["batch_size"]
    assert (list(batch_size.values), batch_size.default) == ([32, 64, 128, 256, 512], 128)

    hypermodel = hypermodels.get("mlp")
    hp = with_values(space_of("mlp"), batch_size=256, num_layers=1, units_1=32)
    model = hypermodel.build(hp)
    rates, batches = [], []
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: rates.append(float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))),
        on_train_batch_end=lambda batch, logs: batches.append(batch),
    )
    x = tiny_data.x_train.reshape(-1, 28, 28, 1).astype("float32") / 255  # what the preprocessing hands on
    hypermodel.fit(hp, model, x, tiny_data.y_train, epochs=4, verbose=0, callbacks=[record])
    assert max(batches) + 1 == 2  # 400 digits in batches of 256
    assert rates == pytest.approx([1e-3 * 0.5 * (1 + math.cos(math.pi * epoch / 4)) for epoch in range(4)])


def test_gridsearchcv_space(space_of):
    space = space_of("tutorial-gridsearchcv")
    hps = by_name(space)

    assert set(hps) == {"units", "batch_size", "epochs"}
    assert list(hps["units"].values) == [8, 16, 32]
    assert list(hps["batch_size"].values) == [32, 64, 512]
    assert list(hps["epochs"].values) == [10, 20]
    assert grid_size(space) == 18
    assert hypermodels.fit_defaults(hypermodels.get("tutorial-gridsearchcv")) == {}


def test_gridsearchcv_builds_one_relu_layer_of_the_chosen_units(space_of):
    model = hypermodels.get("tutorial-gridsearchcv").build(
        with_values(space_of("tutorial-gridsearchcv"), units=16)
    )

    hidden, output = dense_layers(model)
    assert (hidden.units, activation_name(hidden)) == (16, "relu")
    assert output.units == 10


def test_gridsearchcv_fit_uses_the_tuned_batch_size_and_epochs(space_of):
    hypermodel = hypermodels.get("tutorial-gridsearchcv")
    hp = with_values(space_of("tutorial-gridsearchcv"), batch_size=512, epochs=20)
    model = RecordingModel()

    result = hypermodel.fit(hp, model, "x", "y", epochs=1, batch_size=8, validation_data="val")

    assert result == "history"
    assert model.calls == [
        (("x", "y"), {"epochs": 20, "batch_size": 512, "validation_data": "val"})
    ]


def test_gridsearchcv_fit_leaves_epochs_to_hyperband(space_of):
    hypermodel = hypermodels.get("tutorial-gridsearchcv")
    hp = with_values(space_of("tutorial-gridsearchcv"), batch_size=64, epochs=20)
    hp.values["tuner/epochs"] = 3
    model = RecordingModel()

    hypermodel.fit(hp, model, "x", "y", epochs=3, initial_epoch=1)

    assert model.calls == [(("x", "y"), {"epochs": 3, "initial_epoch": 1, "batch_size": 64})]


def test_hparams_space(space_of):
    space = space_of("tutorial-hparams")
    hps = by_name(space)

    assert set(hps) == {"num_units", "optimizer", "dropout", "learning_rate", "extra_layer"}
    assert list(hps["num_units"].values) == [16, 32]
    assert list(hps["optimizer"].values) == ["adam", "sgd"]
    assert (hps["dropout"].min_value, hps["dropout"].max_value) == (0.1, 0.2)
    assert list(hps["dropout"].values) == pytest.approx([0.1, 0.2])
    assert (hps["learning_rate"].min_value, hps["learning_rate"].max_value) == (0.001, 0.01)
    assert list(hps["learning_rate"].values) == pytest.approx([0.001, 0.01])
    assert isinstance(hps["extra_layer"], kt.engine.hyperparameters.Boolean)
    assert grid_size(space) == 32
    hypermodel = hypermodels.get("tutorial-hparams")
    assert hypermodels.fit_defaults(hypermodel) == {"epochs": 5, "batch_size": 128}


def test_hparams_builds_the_chosen_settings(space_of):
    hp = with_values(
        space_of("tutorial-hparams"),
        num_units=32,
        extra_layer=True,
        dropout=0.2,
        optimizer="sgd",
        learning_rate=0.01,
    )

    model = hypermodels.get("tutorial-hparams").build(hp)

    *hidden, output = dense_layers(model)
    assert [(layer.units, activation_name(layer)) for layer in hidden] == [(32, "relu")] * 2
    (dropout,) = [layer for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    assert dropout.rate == pytest.approx(0.2)
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert learning_rate(model) == pytest.approx(0.01)


def test_kerastuner_space(space_of):
    hps = by_name(space_of("tutorial-kerastuner"))

    assert set(hps) == {
        "activation",
        "units",
        "units_2",
        "units_3",
        "units_4",
        "dropout",
        "learning_rate",
    }
    assert list(hps["activation"].values) == ["relu", "tanh", "sigmoid"]
    assert (hps["units"].min_value, hps["units"].max_value, hps["units"].step) == (32, 512, 32)
    for name in ("units_2", "units_3", "units_4"):
        assert (hps[name].min_value, hps[name].max_value, hps[name].step) == (8, 64, 8)
    assert (hps["dropout"].min_value, hps["dropout"].max_value) == (0.0, 0.1)
    learning = hps["learning_rate"]
    assert (learning.min_value, learning.max_value, learning.sampling) == (1e-4, 1e-2, "log")
    assert not any(hp.conditions for hp in hps.values())


def test_micro_space(space_of):
    space = space_of("tutorial-micro")
    hps = by_name(space)

    assert set(hps) == {"learning_rate", "input_activation", "output_activation"}
    assert list(hps["learning_rate"].values) == [0.001, 0.0005]
    assert list(hps["input_activation"].values) == ["relu", "swish", "tanh"]
    assert list(hps["output_activation"].values) == ["tanh", "sigmoid"]
    assert grid_size(space) == 12
    assert hypermodels.get("tutorial-micro").one_hot_labels


def test_micro_builds_an_mse_model_with_the_chosen_activations(space_of):
    hp = with_values(
        space_of("tutorial-micro"),
        learning_rate=0.0005,
        input_activation="swish",
        output_activation="sigmoid",
    )

    model = hypermodels.get("tutorial-micro").build(hp)

    hidden, output = dense_layers(model)
    assert hidden.activation is keras.activations.get("swish")  # Keras names it "silu"
    assert (output.units, activation_name(output)) == (10, "sigmoid")
    assert model.loss == "mean_squared_error"
    assert learning_rate(model) == pytest.approx(0.0005)


def test_cnn_space_and_defaults(space_of):
    hps = by_name(space_of("cnn"))
    assert set(hps) == {"conv_blocks", "filters", "kernel_size", "pooling", "dropout", "dense_units",
                        "learning_rate", "batch_size"}
    assert {name: hp.default for name, hp in hps.items()} == {
        "conv_blocks": 2, "filters": 32, "kernel_size": 3, "pooling": "max", "dropout": 0.25, "dense_units": 128,
        "learning_rate": 1e-3, "batch_size": 128}

    model = hypermodels.get("cnn").build(kt.HyperParameters())

    convolutions = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [layer.filters for layer in convolutions] == [32, 32, 64, 64]
    assert sum(isinstance(layer, keras.layers.MaxPooling2D) for layer in model.layers) == 2


def test_cnn_refuses_rows_and_volumes():
    volumes = data.DataSpec(kind="images", raw_shape=(4, 16, 16, 1), raw_dtype="float32", input_shape=(4, 16, 16, 1),
                            task="regression", num_classes=None, num_outputs=1)
    assert "cnn takes images (height, width[, channels])" in hypermodels.get("cnn").refuse(volumes)


def test_cnn_stops_pooling_at_small_feature_maps():
    """Three blocks on 8x8 images pool to 4, 2, 1 and no further; on 28x28 they pool three times."""
    hypermodel = hypermodels.get("cnn")
    hypermodel.spec = data.DataSpec(kind="images", raw_shape=(8, 8), raw_dtype="uint8", input_shape=(8, 8, 1),
                                    task="classification", num_classes=2, num_outputs=2)
    hp = kt.HyperParameters()
    hp.values["conv_blocks"] = 3
    model = hypermodel.build(hp)
    assert model.output_shape == (None, 2)
    assert [layer.output.shape[1] for layer in model.layers if isinstance(layer, keras.layers.MaxPooling2D)] == [
        4, 2, 1]


# --- search_space, describe_space, grid_size ------------------------------------------------------


def test_describe_space_rows_for_mlp(space_of):
    rows = {row["name"]: row for row in describe_space(space_of("mlp"))}

    assert rows["num_layers"]["condition"] == ""
    assert rows["units_1"]["condition"] == "num_layers in [1, 2, 3, 4]"
    assert rows["units_3"]["condition"] == "num_layers in [3, 4]"
    assert rows["units_3"]["type"] == "Int"
    assert rows["units_3"]["values"].startswith("32 .. 1024")
    assert rows["units_3"]["default"] == 512
    assert rows["learning_rate"]["sampling"] == "log"
    assert "relu" in rows["activation"]["values"]


def test_describe_space_rows_for_a_choice(space_of):
    rows = {row["name"]: row for row in describe_space(space_of("tutorial-gridsearchcv"))}

    assert rows["units"] == {
        "name": "units",
        "type": "Choice",
        "values": "8, 16, 32",
        "default": 8,
        "sampling": None,
        "condition": "",
    }


class BranchyHyperModel(kt.HyperModel):
    """Declares `b_units` only when kind == "b", which the default build never reaches."""

    def build(self, hp: kt.HyperParameters) -> str:
        kind = hp.Choice("kind", ["a", "b"])
        with hp.conditional_scope("kind", ["b"]):
            if kind == "b":
                hp.Int("b_units", 1, 4)
        return "not a real model"


def test_search_space_finds_hyperparameters_behind_inactive_conditions():
    space = search_space(BranchyHyperModel())

    rows = {row["name"]: row for row in describe_space(space)}
    assert set(rows) == {"kind", "b_units"}
    assert rows["b_units"]["condition"] == "kind in ['b']"
    assert grid_size(space) is None
