"""A search's experiment: its settings resolved once (the command line, else the resumed project, else the
defaults), checked, and then never changed. The manifest records it; a resume, every worker, `evaluate` and
`export` read it back."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from kerastune.tuners.options import EXPERIMENT, MAX_IMPLICIT_GRID, OPTION, RUN, ConfigError, default_options
from kerastune.tuners.records.project import ProjectError
from kerastune.tuners.run.validation import Split, scoring_split
from kerastune.tuners.strategies import spec


@dataclass(frozen=True)
class Experiment:
    """What a search searches, how its trials are scored, and on what data."""

    tuner: str
    hypermodel: str
    options: Mapping[str, Any]  # every experiment option, resolved, and the plan's max_trials
    space: tuple[Mapping[str, Any], ...]  # the hypermodel's whole search space, described
    # where the data came from, its task, fingerprint and held-out test rows, the fit and validation sizes, the
    # split's fingerprint, and the spec the models are built for (with the preprocessing's statistics)
    data: Mapping[str, Any]
    run: Mapping[str, Any]  # this run's settings, which its workers follow too (tensorboard, time budget...)

    def __post_init__(self) -> None:
        for name in ("options", "data", "run"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        object.__setattr__(self, "space", tuple(_frozen(row) for row in self.space))

    def to_manifest(self) -> dict[str, Any]:
        """The manifest's fields for this experiment (JSON-safe)."""
        return {
            "tuner": self.tuner,
            "hypermodel": self.hypermodel,
            "options": _thawed(self.options),
            "space": [_thawed(row) for row in self.space],
            "data": _thawed(self.data),
            "run": _thawed(self.run),
        }

    @property
    def seed(self) -> int:
        return self.options["seed"]

    @property
    def space_order(self) -> list[str]:
        """The hyperparameter names in the order of the search space."""
        return [row["name"] for row in self.space]


def _frozen(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({key: _frozen(item) for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(item) for item in value)
    return value


def _thawed(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _thawed(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return [_thawed(item) for item in value]
    return value


def resolve(
    config: Any,
    *,
    space: Any,
    space_rows: list[dict[str, Any]],
    fit_defaults: dict[str, int],
    data: Any,
    previous: dict[str, Any] | None,
    worker: bool = False,
) -> tuple[Experiment, Split, Any]:
    """The experiment a SearchConfig asks for on `data`, the split that scores its trials, and the search space
    with --fix and --only applied (what the tuner searches).

    `previous`: the manifest of the project to resume (or that a worker joins), else None. Every option a
    resume must keep is refused when given with another value, and so is other data or another split.
    A worker takes this run's settings from the manifest too: the chief chose them.
    """
    import hypermodels
    from kerastune.data import CLASSIFICATION, spec_of
    from kerastune.tuners.run.tuner import parse_objective

    given = config.given(EXPERIMENT)
    if config.fix:
        given["fix"] = hypermodels.parse_fixed(space, config.fix)
    if config.only:
        given["only"] = sorted(set(config.only))
    if previous is not None:
        if "spec" not in previous.get("data", {}):
            raise ProjectError(
                f"{config.project_dir} was searched by a kerastune from before it took any data, whose models this "
                "one cannot go on from: use --overwrite to start afresh, or another --name"
            )
        _check_space_unchanged(previous, space_rows, config.project_dir)
        options = _kept_options(config, given, previous["options"])
    else:
        defaults = default_options(config.tuner, fit_defaults)
        options = {name: defaults[name] if value is None else value for name, value in given.items()}
        options["objective"] = options["objective"] or default_objective(data.task)
    check_objective(options["objective"], data.task)
    parse_objective(options["objective"])
    searched_space = hypermodels.pinned_space(space, options["fix"], options["only"])

    validation = given["validation_split"] if given["validation_split"] is not None else options["validation_split"]
    split = scoring_split(data.y_train, options["cv"], validation, options["seed"],
                          stratify=data.task == CLASSIFICATION)
    fit_count, validation_count = split.sizes
    options["validation_split"] = None if options["cv"] else validation_count
    if previous is not None and not options["cv"] and previous["options"]["validation_split"] != validation_count:
        raise ProjectError(_changed_message(config, "validation_split", previous["options"], validation_count))
    options["max_trials"] = _max_trials(config, previous, hypermodels.grid_size(searched_space))

    # the preprocessing learns its statistics from the rows models fit on (under --cv, all the training rows)
    spec = spec_of(data, None if options["cv"] else split.fit)
    data_info = {**data.record(), "fit": fit_count, "validation": validation_count, "split": split.fingerprint,
                 "spec": spec.to_dict()}
    if previous is not None:
        _check_same_data(config.project_dir, previous, data_info)
    run = dict(previous.get("run", {"tensorboard": True})) if worker else config.given(RUN)
    experiment = Experiment(config.tuner, config.hypermodel, options, tuple(space_rows), data_info, run)
    return experiment, split, searched_space


def default_objective(task: str) -> str:
    """What ranks trials unless --objective says otherwise: validation accuracy, or validation loss."""
    from kerastune.data import CLASSIFICATION

    return "val_accuracy" if task == CLASSIFICATION else "val_loss"


def check_objective(objective: str, task: str) -> None:
    """Refuse an accuracy objective for a regression, which has no accuracy to measure."""
    from kerastune.data import REGRESSION

    if task == REGRESSION and "accuracy" in objective.partition(":")[0]:
        raise ConfigError(f"--objective {objective}: a regression has no accuracy; use val_loss (the default) or "
                          "val_mean_absolute_error")


def _kept_options(config: Any, given: dict[str, Any], recorded_options: dict[str, Any]) -> dict[str, Any]:
    """The options of a resumed project, refusing any given with another value."""
    if recorded_options.get("cv") and given["validation_split"] is not None:
        raise ConfigError(
            f"{config.project_dir} scores its trials by --cv {recorded_options['cv']} on all the training examples: "
            "leave out --validation-split"
        )
    options = {}
    for name, value in given.items():
        old = recorded_options.get(name)
        if value is not None and name != "validation_split" and value != old:  # the split is compared as a count
            raise ProjectError(_changed_message(config, name, recorded_options, value))
        options[name] = copy.deepcopy(old if value is None else value)
    return options


def _changed_message(config: Any, name: str, recorded_options: dict[str, Any], value: Any) -> str:
    flag = OPTION[name].flag
    old = recorded_options.get(name)
    was = f"without {flag}" if old in (None, {}, []) else f"with {flag} {_option_text(old)}"
    return (
        f"{config.project_dir} was searched {was}, not {flag} {_option_text(value)}: "
        f"resume with the same value, or use --overwrite / --name to start another search"
    )


def _option_text(value: Any) -> str:
    """An option's value as the command line writes it (`batch_size=64 units_1=512` for --fix)."""
    if isinstance(value, dict):
        return " ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)


def _check_space_unchanged(previous: dict[str, Any], space_rows: list[dict[str, Any]], project_dir: Path) -> None:
    if previous.get("space") != space_rows:
        raise ProjectError(
            f"the search space of {previous.get('hypermodel')!r} has changed since {project_dir} was "
            "searched: use --overwrite to start afresh, or another --name"
        )


def _check_same_data(project_dir: Path, previous: dict[str, Any], data_info: dict[str, Any]) -> None:
    """Refuse to resume, or to join as a worker, on other data than the project was searched on, or with
    another validation split of it."""
    before = previous.get("data", {})
    if not _same_data(before, data_info["fingerprint"], data_info["train"], data_info["test"]):
        raise ProjectError(
            f"{project_dir} was searched on {describe_data(before)}, not on {describe_data(data_info)}: use the "
            "same --data, or --overwrite / --name to start another search"
        )
    if before.get("split") and before["split"] != data_info["split"]:
        versions = previous.get("versions", {}).get("scikit-learn", "another version")
        raise ProjectError(
            f"the validation split of {project_dir} cannot be made again: scikit-learn {versions} made it and "
            "the installed one splits differently; resume with that version, or --overwrite / --name"
        )


def _same_data(recorded: Mapping[str, Any], fingerprint: Mapping[str, str], train: int, test: int) -> bool:
    """Whether data of this fingerprint and these sizes is the data a manifest recorded: by fingerprint, or by
    size for a project of the kerastune before issue 11, which recorded sizes only."""
    if recorded.get("fingerprint"):
        return dict(recorded["fingerprint"]) == dict(fingerprint)
    return (recorded.get("train"), recorded.get("test")) == (train, test)


def describe_data(info: Mapping[str, Any]) -> str:
    """Recorded data in words, with its fingerprint: `MNIST from /a.npz: ... (fingerprint 1a2b.../3c4d...)`,
    training arrays / test arrays."""
    summary = info.get("summary") or f"{info.get('train', '?')} training examples from {info.get('location', '?')}"
    prints = info.get("fingerprint")
    return f"{summary} (fingerprint {prints['train']}/{prints['test']})" if prints else summary


def check_same_data(project_dir: Path, recorded_data: Mapping[str, Any], data: Any, *, given: bool,
                    allow_other: bool) -> bool:
    """For `evaluate` and `export`: whether `data` (`given` with --data, or loaded again from where the search
    recorded it) is the data the search ran on, training and test arrays alike. Other data is refused unless
    `allow_other`, and then the caller says that it used it. Returns True for the same data."""
    same = _same_data(recorded_data, data.fingerprint, len(data.y_train), len(data.y_test))
    if same or allow_other:
        return same
    found = describe_data(data.record())
    if given:
        raise ProjectError(
            f"{project_dir} was searched on {describe_data(recorded_data)}, but --data is {found}: give the "
            "search's data, or add --allow-other-data to use other data knowingly"
        )
    raise ProjectError(
        f"the data {project_dir} was searched on has changed since: it was {describe_data(recorded_data)}, it is "
        f"now {found}; restore it, or add --allow-other-data to use it knowingly"
    )


def _max_trials(config: Any, previous: dict[str, Any] | None, grid_size: int | None) -> int | None:
    """The trial budget: as given, else as the resumed project had it, else the default.

    GridSearch's default is the whole grid, when that grid is regular and not too large.
    """
    strategy = spec.named(config.tuner)
    if strategy.budget != spec.TRIALS:
        return None
    if config.max_trials is not None:
        return config.max_trials
    if previous is not None:
        return previous["options"]["max_trials"]
    if strategy.chooses:  # a strategy that does not choose (grid) tries the whole space by default
        return OPTION["max_trials"].default
    if grid_size is None or grid_size > MAX_IMPLICIT_GRID:
        size = "irregular (it has conditional hyperparameters)" if grid_size is None else f"{grid_size:,} combinations"
        raise ConfigError(
            f"the grid of {config.hypermodel!r} is {size}, too large to try in full: "
            "give --max-trials N to try its first N combinations"
        )
    return grid_size

