"""Canaries: one per keras-tuner or TensorFlow bug that kerastune.tuners.internals works around. Each asserts that the
bug is still there in the installed version; when an upgrade fixes one, its canary fails, and the workaround can
go. The workarounds themselves are tested through kerastune's behaviour elsewhere."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import keras
import keras_tuner as kt
import numpy as np
import pytest
from keras_tuner.src import config as kt_config
from keras_tuner.src import utils as kt_utils
from keras_tuner.src.engine import conditions
from keras_tuner.src.engine import oracle as oracle_module

from kerastune.tuners import internals
from kerastune.tuners.internals import patches, tensorflow_state, tuner_hooks
from kerastune.tuners.strategies import oracles as strategy_oracles


def space() -> kt.HyperParameters:
    hp = kt.HyperParameters()
    hp.Choice("units", [8, 16, 32])
    return hp


def oracle_in(folder: Path, **kwargs) -> kt.oracles.RandomSearchOracle:
    oracle = kt.oracles.RandomSearchOracle(objective="val_accuracy", hyperparameters=space(), seed=1, **kwargs)
    oracle._set_project_dir(str(folder), "p")
    return oracle


def test_the_installed_keras_tuner_is_the_one_kerastune_was_written_against() -> None:
    internals.check_version(kt.__version__)
    for version in ("1.4.7", "1.5.0", "2.0"):
        with pytest.raises(internals.UnsupportedVersionError, match="keras-tuner>=1.4.8,<1.5"):
            internals.check_version(version)


def test_canary_parent_to_proto_prints_a_debug_line(capsys) -> None:
    """conditions.py:131: `print(self.values[0])` in Parent.to_proto."""
    conditions.Parent("num_layers", [3]).to_proto()
    assert capsys.readouterr().out == "3\n"
    with patches.patched():
        proto = conditions.Parent("num_layers", [3]).to_proto()
    assert capsys.readouterr().out == "" and proto.parent.values[0].int_value == 3
    assert conditions.Parent.to_proto is not patches._parent_to_proto  # restored after the block


def test_canary_state_files_are_written_in_place(tmp_path: Path, monkeypatch) -> None:
    """utils.py:81-94: save_json opens the target itself, so a kill mid-write leaves half a file."""
    def no_rename(*args, **kwargs):
        raise AssertionError("renamed")

    monkeypatch.setattr(os, "replace", no_rename)
    kt_utils.save_json(str(tmp_path / "oracle.json"), {"a": 1})  # no rename: written in place
    assert json.loads((tmp_path / "oracle.json").read_text()) == {"a": 1}
    with patches.patched(), pytest.raises(AssertionError, match="renamed"):
        kt_utils.save_json(str(tmp_path / "oracle.json"), {"a": 2})  # patched: written beside, then renamed


def test_canary_every_failed_trial_prints_its_traceback() -> None:
    """config.py:15: DEBUG = True makes _try_run_and_update_trial print each failure's traceback."""
    assert kt_config.DEBUG is True
    with patches.patched():
        assert kt_config.DEBUG is False
    assert kt_config.DEBUG is True


def test_canary_an_exception_inside_an_oracle_method_leaves_its_lock_held(tmp_path: Path) -> None:
    """engine/oracle.py:104-112 (keras-tuner #915): `synchronized` has no try/finally."""
    oracle = oracle_in(tmp_path)
    with pytest.raises(KeyError):
        oracle.end_trial(kt.engine.trial.Trial(space(), trial_id="nope", status="COMPLETED"))
    assert oracle_module.LOCKS[oracle].locked()


def test_canary_the_consecutive_failure_limit_stops_before_the_failed_trial_is_saved(tmp_path: Path) -> None:
    """engine/oracle.py:586-591: end_trial raises before `_save_trial`; kerastune lifts the limit instead."""
    oracle = oracle_in(tmp_path, max_consecutive_failed_trials=1)
    trial = oracle.create_trial("tuner0")
    trial.status = "FAILED"
    with pytest.raises(RuntimeError, match="consecutive failures"):
        oracle.end_trial(trial)
    saved = json.loads((tmp_path / "p" / f"trial_{trial.trial_id}" / "trial.json").read_text())
    assert saved["status"] == "RUNNING"  # the failure was never saved


def test_canary_a_project_without_the_tuner_file_is_not_reloaded(tmp_path: Path) -> None:
    """engine/base_tuner.py:127: reloads only when `tuner0.json` exists, which a search writes once its first
    trial ends; kerastune reloads from oracle.json (`reload_missed_state`)."""
    oracle = oracle_in(tmp_path)
    oracle.create_trial("tuner0")
    oracle.save()

    def build(hp):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(hp.Choice("units", [8, 16, 32]))])
        model.compile("adam", "mse")
        return model

    tuner = kt.RandomSearch(build, objective="val_loss", directory=str(tmp_path), project_name="p")
    assert (tmp_path / "p" / "oracle.json").exists() and not (tmp_path / "p" / "tuner0.json").exists()
    assert tuner.oracle.trials == {}  # started afresh over a project with one trial


def test_canary_retried_trials_start_whatever_the_trial_budget(tmp_path: Path) -> None:
    """engine/oracle.py:459-472: the retry queue is served before `max_trials` is checked; kerastune closes its
    oracle instead (ControlledOracle.close)."""
    oracle = oracle_in(tmp_path, max_trials=1)
    trial = oracle.create_trial("tuner0")
    oracle.ongoing_trials.clear()
    oracle._retry_queue.append(trial.trial_id)  # as a reload leaves a trial cut short
    assert oracle.create_trial("tuner1").status == "RUNNING"  # one trial of one is already there

    controlled = strategy_oracles.RandomSearchOracle(objective="val_accuracy", hyperparameters=space(), seed=1)
    controlled._set_project_dir(str(tmp_path), "q")
    retried = controlled.create_trial("tuner0")
    controlled.ongoing_trials.clear()
    controlled._retry_queue.append(retried.trial_id)
    controlled.close()
    assert controlled.create_trial("tuner1").status == "STOPPED"


def test_canary_end_trial_records_a_trial_as_both_finished_and_running(tmp_path: Path, monkeypatch) -> None:
    """engine/oracle.py:590-600: oracle.json is saved before the trial leaves `ongoing_trials`; a kill in between
    would rerun a finished trial, which `restart_interrupted_trials` prevents."""
    oracle = oracle_in(tmp_path)
    trial = oracle.create_trial("tuner0")
    oracle.update_trial(trial.trial_id, {"val_accuracy": 0.5})
    saved = []
    monkeypatch.setattr(oracle, "save", lambda: saved.append((list(oracle.end_order), dict(oracle.ongoing_trials))))
    trial.status = "COMPLETED"
    oracle.end_trial(trial)
    end_order, ongoing = saved[-1]
    assert trial.trial_id in end_order and "tuner0" in ongoing


def test_canary_seed_zero_is_taken_for_no_seed() -> None:
    """engine/oracle.py:350: `seed or random.randint(1, 10000)`; kerastune's derived seeds are never 0."""
    assert kt.oracles.RandomSearchOracle(objective="val_accuracy", seed=0).seed != 0


def test_canary_a_worker_asks_again_at_once_when_told_to_wait(tmp_path: Path, monkeypatch) -> None:
    """engine/base_tuner.py:229-231: on IDLE the search loop asks again without waiting; kerastune's workers
    wait (workers.worker.PatientOracleClient)."""
    answers = ["IDLE"] * 3 + ["STOPPED"]

    class Waiting:
        def create_trial(self, tuner_id):
            return kt.engine.trial.Trial(space(), status=answers.pop(0))

    tuner = kt.RandomSearch(lambda hp: None, objective="val_loss", directory=str(tmp_path), project_name="p")
    tuner.oracle = Waiting()
    sleeps = []
    monkeypatch.setattr(time, "sleep", sleeps.append)
    tuner.search()
    assert answers == [] and sleeps == []


def test_canary_every_fit_leaves_custom_gradients_registered() -> None:
    """tensorflow/tensorflow#97697: each traced training function stays in TensorFlow's gradient registry."""
    registry = tensorflow_state._gradient_registry()

    def fit() -> None:
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        model.compile("adam", "mse")
        model.fit(np.zeros((8, 4)), np.zeros((8, 2)), epochs=1, verbose=0)

    before = set(registry)
    fit()
    assert any(name.startswith(tensorflow_state.CUSTOM_GRADIENT_PREFIX) for name in set(registry) - before)
    before = set(registry)
    with tensorflow_state.forget_custom_gradients():
        fit()
    assert not [name for name in set(registry) - before if name.startswith(tensorflow_state.CUSTOM_GRADIENT_PREFIX)]


def _counting_build(builds: list) -> callable:
    def build(hp):
        builds.append(1)
        hp.Int("layers", 1, 2)
        with hp.conditional_scope("layers", [2]):
            hp.Int("units_2", 8, 16, step=8)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        model.compile("adam", "mse")
        return model

    return build


def test_canary_a_tuner_builds_the_model_again_to_find_a_space_its_oracle_already_has(tmp_path: Path) -> None:
    """keras-tuner's tuner walks the conditions of the space by building the model, even when its oracle was
    given the whole space; kerastune's tuners do not (their oracle always has it)."""
    builds: list = []
    complete = kt.HyperParameters()
    complete.Int("layers", 1, 2)
    with complete.conditional_scope("layers", [2]):
        complete.Int("units_2", 8, 16, step=8)
    oracle = kt.oracles.RandomSearchOracle(objective="val_loss", hyperparameters=complete, max_trials=1)
    kt.Tuner(oracle=oracle, hypermodel=_counting_build(builds), directory=str(tmp_path), project_name="kt")
    assert builds  # keras-tuner built it

    builds.clear()
    oracle = kt.oracles.RandomSearchOracle(objective="val_loss", hyperparameters=complete, max_trials=1)
    tuner_hooks.Tuner(oracle=oracle, hypermodel=_counting_build(builds), directory=str(tmp_path),
                    project_name="kerastune")
    assert not builds


def grid_space() -> kt.HyperParameters:
    hp = kt.HyperParameters()
    hp.Choice("units", [8, 16, 24])
    hp.Choice("rate", [0.1, 0.2])
    return hp


def _end(oracle, trial) -> None:
    oracle.update_trial(trial.trial_id, {"val_accuracy": 0.5})
    trial.status = "COMPLETED"
    oracle.end_trial(trial)


def test_canary_grid_search_starts_a_new_trial_only_when_one_ends(tmp_path: Path) -> None:
    """tuners/gridsearch.py:179-216: only the first trial is queued for its next combination while it runs; the
    others are queued as they end, and the oracle answers IDLE in between. With two workers, one waits while the
    other runs the grid. kerastune's GridSearchOracle queues each trial as it starts."""
    oracle = kt.oracles.GridSearchOracle(objective="val_accuracy", hyperparameters=grid_space())
    oracle._set_project_dir(str(tmp_path), "kt")
    first, _ = oracle.create_trial("w1"), oracle.create_trial("w2")
    _end(oracle, first)
    assert oracle.create_trial("w1").status == "IDLE"  # w2 still runs the latest combination

    sequential = strategy_oracles.GridSearchOracle(objective="val_accuracy", hyperparameters=grid_space())
    sequential._set_project_dir(str(tmp_path), "one-worker")
    one_worker = []
    while (trial := sequential.create_trial("w1")).status == "RUNNING":
        one_worker.append(trial.hyperparameters.values)
        _end(sequential, trial)
    assert len(one_worker) == 6

    controlled = strategy_oracles.GridSearchOracle(objective="val_accuracy", hyperparameters=grid_space())
    controlled._set_project_dir(str(tmp_path), "kerastune")
    running = {"w1": controlled.create_trial("w1"), "w2": controlled.create_trial("w2")}
    order = [t.hyperparameters.values for t in running.values()]
    while True:  # the two workers in turn, each always with a trial: the whole grid, in order, once
        worker = "w1" if len(order) % 2 else "w2"
        _end(controlled, running[worker])
        running[worker] = controlled.create_trial(worker)
        if running[worker].status != "RUNNING":
            break
        order.append(running[worker].hyperparameters.values)
    assert order == one_worker
    assert running[worker].status == "IDLE"  # the grid is done; the other worker still runs the last one
    _end(controlled, running["w1" if worker == "w2" else "w2"])
    assert controlled.create_trial(worker).status == "STOPPED"


def test_canary_a_worker_is_stopped_while_another_still_holds_a_trial(tmp_path: Path) -> None:
    """engine/oracle.py:472-474, 502-503: once max_trials trials exist a worker is told STOPPED, though another's
    trial may still come back to the queue (taken back from a silent worker); kerastune's oracle tells it to wait
    (IDLE) until no trial is out."""
    oracle = oracle_in(tmp_path, max_trials=2)
    oracle.create_trial("w1")
    _end(oracle, oracle.create_trial("w2"))
    assert oracle.create_trial("w2").status == "STOPPED" and "w1" in oracle.ongoing_trials

    controlled = strategy_oracles.RandomSearchOracle(objective="val_accuracy", hyperparameters=space(), seed=1,
                                                     max_trials=2)
    controlled._set_project_dir(str(tmp_path), "q")
    held = controlled.create_trial("w1")
    _end(controlled, controlled.create_trial("w2"))
    assert controlled.create_trial("w2").status == "IDLE" and "w2" in controlled.tuner_ids
    for worker in ("w1", "w2"):  # both silent: w1 in its trial, w2 while it waits (a waiting worker asks often)
        controlled.last_heard[worker] -= 10
    assert sorted(controlled.silent_workers(5)) == ["w1", "w2"]
    assert controlled.take_back("w2") is None and "w2" not in controlled.tuner_ids  # else the search never ends
    assert controlled.take_back("w1").trial_id == held.trial_id
    rerun = controlled.create_trial("w2")
    assert (rerun.status, rerun.trial_id) == ("RUNNING", held.trial_id)
    _end(controlled, rerun)
    assert controlled.create_trial("w2").status == "STOPPED" and not controlled.tuner_ids


def test_canary_a_reloaded_grid_search_stops_and_kerastunes_goes_on_where_it_was(tmp_path: Path) -> None:
    """tuners/gridsearch.py:147-151: the walk over the grid lives in memory only; a reloaded keras-tuner grid
    answers STOPPED, so --max-trials could not extend a grid search. kerastune's rebuilds it from the trials."""
    def walk(oracle_class, name: str) -> tuple[list[dict], str]:
        first = oracle_class(objective="val_accuracy", hyperparameters=grid_space(), max_trials=2)
        first._set_project_dir(str(tmp_path), name)
        tried = []
        while (trial := first.create_trial("w1")).status == "RUNNING":
            tried.append(trial.hyperparameters.values)
            _end(first, trial)
        first.save()
        again = oracle_class(objective="val_accuracy", hyperparameters=grid_space(), max_trials=4)
        again._set_project_dir(str(tmp_path), name)
        again.reload()
        extended = again.create_trial("w1")
        return tried + ([extended.hyperparameters.values] if extended.status == "RUNNING" else []), extended.status

    assert walk(kt.oracles.GridSearchOracle, "kt")[1] == "STOPPED"
    tried, status = walk(strategy_oracles.GridSearchOracle, "kerastune")
    assert status == "RUNNING" and len(tried) == 3 and all(tried.count(values) == 1 for values in tried)
