"""The policies an oracle enforces, each alone (strategies/policies.py), and the strategy specs they serve."""

from __future__ import annotations

import time

import pytest

from kerastune.tuners.strategies.policies import Deadline, FirstConfigurations, ModelSizeLimit
from kerastune.tuners.strategies.spec import STRATEGIES, TRIALS


def test_a_deadline_passes_at_its_time_and_none_never_does() -> None:
    assert not Deadline().passed()
    assert not Deadline.after(None).passed()
    assert not Deadline.after(60).passed()
    assert Deadline(time.time() - 1).passed()


def test_a_workers_deadline_is_read_again_at_each_refresh() -> None:
    recorded = [None]
    deadline = Deadline(read=lambda: recorded[0])
    deadline.refresh()
    assert deadline.at is None and not deadline.passed()
    recorded[0] = time.time() - 1  # the chief resumed the search with a budget that has run out since
    deadline.refresh()
    assert deadline.passed()


def test_the_enqueued_configurations_come_first_in_order_then_the_defaults_once() -> None:
    first = FirstConfigurations([{"units": 8}, {"units": 16}], defaults={"units": 32})
    tried: list[dict] = []
    while (values := first.next(new_search=True, tried=lambda v: v in tried)) is not None:
        tried.append(values)
    assert tried == [{"units": 8}, {"units": 16}, {"units": 32}]
    assert first.next(new_search=True, tried=lambda v: False) is None  # each is offered once


def test_a_configuration_tried_already_is_skipped_and_a_resumed_search_skips_the_defaults() -> None:
    first = FirstConfigurations([{"units": 8}, {"units": 16}], defaults={"units": 32})
    assert first.next(new_search=False, tried=lambda v: v == {"units": 8}) == {"units": 16}
    assert first.next(new_search=False, tried=lambda v: False) is None


def test_the_size_limit_refuses_big_models_counts_each_once_and_lets_a_broken_build_fail_as_a_trial() -> None:
    counted = []

    def count(values: dict) -> int:
        counted.append(values)
        if values["units"] < 0:
            raise ValueError("the user's build failed")
        return values["units"] * 10

    limit = ModelSizeLimit(max_params=100, count_params=count)
    assert limit.allows({"units": 8}, key="a")
    assert not limit.allows({"units": 64}, key="b")
    assert not limit.allows({"units": 64}, key="b")
    assert counted == [{"units": 8}, {"units": 64}]  # counted once each
    assert limit.oversized[0] == {"values": {"units": 64}, "params": 640}
    assert limit.params({"units": 64}, key="b") == 640 and len(counted) == 2  # asked again: not counted again
    assert limit.allows({"units": -1}, key="c")  # its trial fails with the reason
    assert ModelSizeLimit().allows({"units": 10**9}, key="d")  # no limit


@pytest.mark.parametrize("strategy", STRATEGIES, ids=[s.name for s in STRATEGIES])
def test_every_strategy_has_an_oracle_that_takes_its_options(strategy, tmp_path) -> None:
    """A spec names its oracle and the options it takes: both must exist, so that a new strategy is complete."""
    import keras_tuner as kt

    from kerastune.tuners.internals.oracle_base import ControlledOracle
    from kerastune.tuners.options import OPTION, options_of

    oracle_class = strategy.oracle_class()
    assert issubclass(oracle_class, ControlledOracle) and issubclass(oracle_class, kt.Oracle)
    names = {option.name for option in options_of(strategy.name)}
    assert set(strategy.oracle_options) <= names
    assert ("max_trials" in names) == (strategy.budget == TRIALS)
    assert ("prune" in names) == strategy.prunes
    assert ("enqueue" in names) == ("max_params" in names) == ("from_project" in names) == strategy.chooses
    options = {name: OPTION[name].default for name in strategy.oracle_options}
    space = kt.HyperParameters()
    space.Choice("units", [8, 16])
    oracle = oracle_class(objective="val_accuracy", hyperparameters=space, seed=1,
                          **strategy.oracle_arguments({**options, "max_trials": 2}))
    oracle._set_project_dir(str(tmp_path), "p")
    assert oracle.create_trial("tuner0").status == "RUNNING"
