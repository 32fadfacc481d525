"""Tests for hypermodels.registry: register, list, get, MODULE:ATTRIBUTE references, plugins."""

from __future__ import annotations

import importlib
import sys
import textwrap
import types
from importlib import metadata
from pathlib import Path

import keras
import keras_tuner as kt
import pytest

import hypermodels
from hypermodels import registry
from hypermodels.base import FunctionHyperModel
from hypermodels.mlp import MLP

BUILT_INS = [
    "mlp",
    "tutorial-gridsearchcv",
    "tutorial-hparams",
    "tutorial-kerastuner",
    "tutorial-micro",
]


class TinyHyperModel(kt.HyperModel):
    """Tiny hypermodel for registry tests.

    Never built: the registry tests only need something to register.
    """

    def build(self, hp: kt.HyperParameters) -> str:
        return f"tiny model with {hp.Int('units', 8, 16, step=8)} units"


def tiny_build(hp: kt.HyperParameters) -> str:
    """Tiny build function for registry tests."""
    return f"tiny function model with {hp.Int('units', 8, 16, step=8)} units"


@pytest.fixture
def clean_registry():
    """Whatever a test registers is unregistered afterwards, even when the test fails."""
    before = set(registry._registry)
    try:
        yield
    finally:
        for name in set(registry._registry) - before:
            hypermodels.unregister(name)


def assert_compiled_mnist_model(model) -> None:
    assert isinstance(model, keras.Model)
    assert model.compiled
    assert model.optimizer is not None
    assert model.input_shape == (None, 784)
    assert model.output_shape == (None, 10)


# --- register, list, get -------------------------------------------------------------------------


def test_register_returns_the_class_unchanged_and_registers_it(clean_registry):
    result = hypermodels.register("test-tiny-class", description="a tiny class")(TinyHyperModel)

    assert result is TinyHyperModel
    entry = hypermodels.get_entry("test-tiny-class")
    assert entry.name == "test-tiny-class"
    assert entry.target is TinyHyperModel
    assert entry.description == "a tiny class"
    assert entry.source == f"module {__name__}"  # not "built-in": it is the user's own
    assert "test-tiny-class" in hypermodels.list_hypermodels()


def test_register_returns_the_function_unchanged_and_uses_its_docstring(clean_registry):
    decorated = hypermodels.register("test-tiny-function")(tiny_build)

    assert decorated is tiny_build
    entry = hypermodels.get_entry("test-tiny-function")
    assert entry.target is tiny_build
    assert entry.description == "Tiny build function for registry tests."


def test_register_uses_the_first_docstring_line_of_a_class(clean_registry):
    hypermodels.register("test-tiny-doc")(TinyHyperModel)

    description = hypermodels.get_entry("test-tiny-doc").description
    assert description == "Tiny hypermodel for registry tests."


def test_register_without_a_name_uses_the_function_name(clean_registry):
    hypermodels.register()(tiny_build)

    assert hypermodels.get_entry("tiny_build").target is tiny_build


def test_builtins_are_registered():
    names = hypermodels.list_hypermodels()

    assert set(BUILT_INS) <= set(names)
    for name in BUILT_INS:
        assert hypermodels.get_entry(name).source == "built-in"
    assert hypermodels.get_entry("mlp").target is MLP


def test_list_is_sorted_whatever_the_registration_order(clean_registry):
    hypermodels.register("test-zz-last")(tiny_build)
    hypermodels.register("test-aa-first")(TinyHyperModel)

    names = hypermodels.list_hypermodels()
    assert names == sorted(names)
    assert hypermodels.list_hypermodels("test-*") == ["test-aa-first", "test-zz-last"]
    assert [entry.name for entry in hypermodels.entries()] == names


def test_list_filters_with_shell_patterns():
    assert hypermodels.list_hypermodels("tutorial-*") == [
        "tutorial-gridsearchcv",
        "tutorial-hparams",
        "tutorial-kerastuner",
        "tutorial-micro",
    ]
    assert hypermodels.list_hypermodels("mlp") == ["mlp"]
    assert hypermodels.list_hypermodels("tutorial-?params") == ["tutorial-hparams"]
    assert hypermodels.list_hypermodels("no-such-model*") == []


def test_duplicate_name_raises_and_keeps_the_first_entry(clean_registry):
    hypermodels.register("test-dup", description="first")(tiny_build)

    duplicate = hypermodels.DuplicateHypermodelError
    with pytest.raises(duplicate, match="'test-dup' is already registered"):
        hypermodels.register("test-dup", description="second")(TinyHyperModel)

    entry = hypermodels.get_entry("test-dup")
    assert entry.target is tiny_build
    assert entry.description == "first"


def test_a_builtin_cannot_be_overwritten(clean_registry):
    with pytest.raises(hypermodels.DuplicateHypermodelError) as info:
        hypermodels.register("mlp")(TinyHyperModel)

    assert isinstance(info.value, hypermodels.HypermodelError)
    assert "built-in" in str(info.value)
    assert hypermodels.get_entry("mlp").target is MLP


def test_unknown_name_is_a_keyerror_with_a_suggestion():
    with pytest.raises(KeyError) as info:
        hypermodels.get("mpl")

    error = info.value
    assert isinstance(error, hypermodels.UnknownHypermodelError)
    assert isinstance(error, hypermodels.HypermodelError)
    assert error.name == "mpl"
    assert error.suggestions[0] == "mlp"
    message = str(error)
    assert "unknown hypermodel 'mpl'" in message
    assert "Did you mean 'mlp'?" in message
    # One clean line, not the quoted repr a plain KeyError gives.
    assert "\n" not in message
    assert not message.startswith(("'", '"'))
    assert message == error.args[0]


def test_unknown_name_without_a_close_match_suggests_nothing():
    with pytest.raises(hypermodels.UnknownHypermodelError) as info:
        hypermodels.get_entry("zzzzzzzz")

    assert info.value.suggestions == []
    assert "Did you mean" not in str(info.value)
    assert "kerastune models" in str(info.value)


def test_get_returns_a_fresh_instance_of_a_registered_class():
    first = hypermodels.get("mlp")
    second = hypermodels.get("mlp")

    assert isinstance(first, kt.HyperModel)
    assert isinstance(first, MLP)
    assert first is not second


def test_get_wraps_a_registered_function_into_a_hypermodel(clean_registry):
    calls = []

    def build(hp):
        calls.append(hp)
        return "the model"

    build.input_shape = (28, 28)
    build.one_hot_labels = True
    hypermodels.register("test-function")(build)

    hypermodel = hypermodels.get("test-function")
    assert isinstance(hypermodel, kt.HyperModel)
    assert isinstance(hypermodel, FunctionHyperModel)
    assert hypermodel is not hypermodels.get("test-function")
    hp = kt.HyperParameters()
    assert hypermodel.build(hp) == "the model"
    assert calls == [hp]
    # The function's data attributes travel with the wrapper.
    assert hypermodel.input_shape == (28, 28) and hypermodel.one_hot_labels


def test_a_build_function_with_a_spec_parameter_receives_the_data_spec(clean_registry, tiny_data):
    """`build(hp, spec)` is told the data's shape, task and classes; `build(hp)` alone keeps working."""
    from kerastune import data
    from kerastune.tuners.run.prepared_hypermodel import PreparedHyperModel

    seen = []

    def build(hp, spec):
        seen.append(spec)
        model = keras.Sequential([keras.Input(spec.input_shape), keras.layers.Flatten(),
                                  keras.layers.Dense(spec.num_classes, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    hypermodels.register("test-spec-function")(build)
    spec = data.spec_of(tiny_data)
    model = PreparedHyperModel(hypermodels.get("test-spec-function"), spec).build(kt.HyperParameters())
    assert seen == [spec] and seen[0].num_classes == 10 and seen[0].input_shape == (28, 28, 1)
    assert model.input_shape == (None, 28, 28) and model.output_shape == (None, 10)


def test_get_returns_a_registered_instance(clean_registry):
    instance = TinyHyperModel()
    hypermodels.register("test-instance")(instance)

    assert hypermodels.get("test-instance") is instance


def test_get_refuses_a_registered_non_hypermodel(clean_registry):
    hypermodels.register("test-not-callable", description="not a hypermodel")(42)

    with pytest.raises(hypermodels.HypermodelError, match="42 is not a hypermodel"):
        hypermodels.get("test-not-callable")


# --- MODULE:ATTRIBUTE references -----------------------------------------------------------------

USER_MODULE = '''
"""A user's own models, next to where kerastune runs."""

import keras_tuner as kt
from keras.models import Sequential
from keras.layers import Dense
from keras.optimizers import Adam


def build_model(hp):
    model = Sequential()
    model.add(Dense(units=hp.Int('units', min_value=32, max_value=512, step=32), activation='relu', input_dim=784))
    model.add(Dense(10, activation='softmax'))
    model.compile(optimizer=Adam(hp.Choice('learning_rate', [1e-2, 1e-3])), loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    return model


class UserHyperModel(kt.HyperModel):
    """The tutorial's model as a HyperModel subclass."""

    def build(self, hp):
        return build_model(hp)


user_instance = UserHyperModel()
answer = 42
'''  # noqa: E501  (build_model is the seed tutorial's code, verbatim)


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """usermod.py in a fresh current directory; sys.path and sys.modules are restored afterwards."""
    (tmp_path / "usermod.py").write_text(USER_MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # restored even if load_reference failed to
    importlib.invalidate_caches()
    sys.modules.pop("usermod", None)
    try:
        yield "usermod"
    finally:
        sys.modules.pop("usermod", None)


@pytest.mark.filterwarnings("ignore:Do not pass an `input_shape`/`input_dim`:UserWarning")
@pytest.mark.parametrize("attribute", ["build_model", "UserHyperModel", "user_instance"])
def test_reference_to_a_user_module_builds_a_compiled_model(user_module, attribute):
    reference = f"{user_module}:{attribute}"

    hypermodel = hypermodels.get(reference)

    assert isinstance(hypermodel, kt.HyperModel)
    assert hypermodels.get_entry(reference).source == reference
    model = hypermodel.build(kt.HyperParameters())
    assert_compiled_mnist_model(model)
    assert model.layers[0].units == 32  # the tutorial's hp.Int default, its min_value


def test_the_current_folder_is_on_sys_path_only_while_the_reference_is_imported(user_module):
    folder = str(Path.cwd())
    assert folder not in sys.path
    hypermodels.get(f"{user_module}:build_model")
    assert folder not in sys.path  # so a folder of the user's named `app` cannot replace kerastune's later
    with pytest.raises(hypermodels.HypermodelError):
        hypermodels.get("nomodule:x")
    assert folder not in sys.path


def test_reference_to_a_class_gives_fresh_instances_and_to_an_instance_the_instance(user_module):
    first = hypermodels.get("usermod:UserHyperModel")
    second = hypermodels.get("usermod:UserHyperModel")
    module = sys.modules["usermod"]

    assert isinstance(first, module.UserHyperModel)
    assert first is not second
    assert hypermodels.get("usermod:user_instance") is module.user_instance


def test_reference_to_a_missing_module(user_module):
    with pytest.raises(hypermodels.HypermodelError, match="cannot import module 'nomodule'"):
        hypermodels.get("nomodule:x")


def test_reference_to_a_module_that_fails_on_import(user_module):
    Path("crashing.py").write_text("raise RuntimeError('no GPU here')\n")
    try:
        with pytest.raises(hypermodels.HypermodelError, match="importing module 'crashing'.*no GPU here"):
            hypermodels.get("crashing:build")
    finally:
        sys.modules.pop("crashing", None)


def test_reference_to_a_missing_attribute(user_module):
    with pytest.raises(hypermodels.HypermodelError, match="'usermod' has no attribute 'missing'"):
        hypermodels.get("usermod:missing")


@pytest.mark.parametrize("reference", ["usermod:", ":x", ":"])
def test_reference_of_a_bad_form(user_module, reference):
    with pytest.raises(hypermodels.HypermodelError, match="bad hypermodel reference") as info:
        hypermodels.get(reference)

    assert "MODULE:ATTRIBUTE" in str(info.value)
    assert not isinstance(info.value, hypermodels.UnknownHypermodelError)


def test_reference_to_a_non_callable(user_module):
    with pytest.raises(hypermodels.HypermodelError, match="42 is not a hypermodel"):
        hypermodels.get("usermod:answer")


# --- entry-point plugins -------------------------------------------------------------------------

PLUGIN_MODULE = '''
import keras


def build(hp):
    """My plugin: one small dense layer."""
    model = keras.Sequential([
        keras.Input(shape=(784,)),
        keras.layers.Dense(hp.Int("units", 8, 16, step=8), activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
'''

BROKEN_PLUGIN_MODULE = 'raise RuntimeError("this plugin exploded on import")\n'


def write_distribution(root: Path, name: str, entry_points: str, modules: dict[str, str]) -> None:
    """A fake installed distribution: its modules and a NAME-1.0.dist-info folder, as pip writes."""
    for module, source in modules.items():
        (root / f"{module}.py").write_text(source)
    info = root / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))


def plugins_not_loaded_yet(monkeypatch) -> None:
    """The registry as before any plugin was loaded (its built-ins only), restored after the test."""
    monkeypatch.setattr(registry, "_registry", dict(registry._registry))
    monkeypatch.setattr(registry, "_broken_plugins", {})
    monkeypatch.setattr(registry, "_plugins_loaded", False)


@pytest.fixture
def plugin_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Two fake distributions on sys.path and a registry that has not read entry points yet.

    The registry's real state (and sys.path, sys.modules) is restored afterwards.
    """
    write_distribution(
        tmp_path,
        "myplugin",
        f"""\
        [{hypermodels.ENTRY_POINT_GROUP}]
        my-plugin = myplugin:build
        mlp = myplugin:build
        """,
        {"myplugin": PLUGIN_MODULE},
    )
    write_distribution(
        tmp_path,
        "brokenplugin",
        f"""\
        [{hypermodels.ENTRY_POINT_GROUP}]
        broken-plugin = brokenplugin:build
        """,
        {"brokenplugin": BROKEN_PLUGIN_MODULE},
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    plugins_not_loaded_yet(monkeypatch)
    try:
        yield tmp_path
    finally:
        for module in ("myplugin", "brokenplugin"):
            sys.modules.pop(module, None)


def test_entry_point_plugins_are_registered(plugin_path):
    names = hypermodels.list_hypermodels()

    assert "my-plugin" in names
    assert set(BUILT_INS) <= set(names)
    entry = hypermodels.get_entry("my-plugin")
    assert entry.source.startswith("plugin")
    assert entry.source == "plugin myplugin"
    assert entry.description == "My plugin: one small dense layer."
    assert_compiled_mnist_model(hypermodels.get("my-plugin").build(kt.HyperParameters()))


def test_a_plugin_cannot_take_a_builtin_name(plugin_path):
    hypermodels.list_hypermodels()

    entry = hypermodels.get_entry("mlp")
    assert entry.target is MLP
    assert entry.source == "built-in"
    assert "the name is taken by built-in" in hypermodels.broken_plugins()["mlp"]


def test_a_broken_plugin_is_reported_and_does_not_break_listing(plugin_path):
    names = hypermodels.list_hypermodels()

    assert "my-plugin" in names
    assert "broken-plugin" not in names
    broken = hypermodels.broken_plugins()
    assert "broken-plugin" in broken
    assert "brokenplugin:build" in broken["broken-plugin"]
    assert "this plugin exploded on import" in broken["broken-plugin"]
    with pytest.raises(hypermodels.UnknownHypermodelError):
        hypermodels.get("broken-plugin")


def test_plugins_are_not_loaded_before_first_use_and_then_only_once(plugin_path, monkeypatch):
    scans = []

    def entry_points(**selection):
        scans.append(selection)
        return metadata.entry_points(**selection)

    monkeypatch.setattr(registry, "metadata", types.SimpleNamespace(entry_points=entry_points))
    assert "my-plugin" not in registry._registry

    first = hypermodels.get_entry("my-plugin")
    hypermodels.list_hypermodels()
    hypermodels.broken_plugins()
    hypermodels.get("my-plugin")

    assert scans == [{"group": hypermodels.ENTRY_POINT_GROUP}]
    assert hypermodels.get_entry("my-plugin") is first


WIDE_MLP_MODULE = """
import keras

import hypermodels


@hypermodels.register("wide-mlp", description="One wide layer")
def build(hp, spec):
    model = keras.Sequential([keras.Input(spec.input_shape), keras.layers.Flatten(),
                              keras.layers.Dense(hp.Choice("units", [64, 128]), activation="relu"),
                              hypermodels.output_layer(spec)])
    return hypermodels.compile_for_task(model, spec, "adam")
"""


@pytest.fixture
def user_registration(tmp_path, monkeypatch):
    """A folder holding a user's module that registers `wide-mlp`, as the current folder, named in
    KERASTUNE_HYPERMODELS; the registry as it was afterwards."""
    (tmp_path / "widemodels.py").write_text(WIDE_MLP_MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(hypermodels.registry.MODULES_ENV, "widemodels")
    plugins_not_loaded_yet(monkeypatch)
    try:
        yield tmp_path
    finally:
        sys.modules.pop("widemodels", None)


def test_a_hypermodel_registered_in_a_module_named_in_kerastune_hypermodels_is_listed_and_found(
        user_registration) -> None:
    """The documented way to name your own hypermodel: @hypermodels.register in a module that
    KERASTUNE_HYPERMODELS names (or MODULE:NAME): `kerastune models` lists it and every command finds it."""
    from typer.testing import CliRunner

    from kerastune.app.cli import app

    listed = CliRunner().invoke(app, ["models"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    assert "wide-mlp" in listed.stdout and "One wide layer" in listed.stdout and "module widemodels" in listed.stdout
    assert CliRunner().invoke(app, ["space", "wide-mlp"]).exit_code == 0
    assert hypermodels.get_entry("wide-mlp").source == "module widemodels"
    assert callable(hypermodels.get_entry("widemodels:wide-mlp").target)  # MODULE:NAME, without the variable


@pytest.mark.timeout(180)
def test_a_search_finds_a_hypermodel_registered_in_a_users_module(user_registration,
                                                                                 tiny_npz) -> None:
    import subprocess

    result = subprocess.run([sys.executable, "-m", "kerastune", "random", "wide-mlp", "--data", str(tiny_npz),
                             "--max-trials", "2", "--epochs", "1", "--workers", "1"],
                            capture_output=True, text=True, timeout=170)
    assert result.returncode == 0, result.stderr
    assert "2 trials (2 completed" in result.stdout


def test_a_module_named_in_kerastune_hypermodels_that_fails_is_reported_not_fatal(user_registration,
                                                                                  monkeypatch) -> None:
    monkeypatch.setenv(hypermodels.registry.MODULES_ENV, "widemodels,nosuchmodule")
    assert "wide-mlp" in hypermodels.list_hypermodels()
    assert "nosuchmodule" in hypermodels.broken_plugins()["module nosuchmodule"]
