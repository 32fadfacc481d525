"""Search strategies beyond keras-tuner's: pruning (--prune median|asha, Optuna's pruners behind the oracle) and
TPE (`kerastune tpe`, Optuna's sampler behind a keras-tuner oracle)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import optuna
import pytest
from typer.testing import CliRunner

from kerastune.app.cli import app

GOOD_OR_BAD = "tests.user_models:GoodOrBadRate"


def run(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def trial_files(project: Path) -> dict[str, dict]:
    return {path.parent.name.removeprefix("trial_"): json.loads(path.read_text())
            for path in project.glob("trial_*/trial.json")}


def logged_epochs(project: Path, trial_id: str) -> int:
    """The epochs a trial's TensorBoard log holds."""
    from tensorboard.backend.event_processing import event_accumulator

    log = event_accumulator.EventAccumulator(str(project / "logs" / trial_id / "execution0" / "validation"),
                                             size_guidance={event_accumulator.TENSORS: 0})
    log.Reload()
    return len(log.Tensors("epoch_accuracy"))


def pruned_in_tensorboard(project: Path, trial_id: str) -> float | None:
    """The `pruned_after_epoch` scalar of a trial's HParams session, if it has one."""
    from tensorboard.backend.event_processing import event_accumulator
    from tensorboard.util import tensor_util

    log = event_accumulator.EventAccumulator(str(project / "logs" / trial_id / "execution0"),
                                             size_guidance={event_accumulator.TENSORS: 0})
    log.Reload()
    if "pruned_after_epoch" not in log.Tags()["tensors"]:
        return None
    return float(tensor_util.make_ndarray(log.Tensors("pruned_after_epoch")[0].tensor_proto))


@pytest.mark.timeout(300)
def test_median_pruning_across_two_workers_stops_the_bad_trials_and_never_ranks_them(tiny_npz: Path,
                                                                                     tmp_path: Path) -> None:
    workers = "2"  # the chief decides for both workers (in one process: the asha test)
    project = tmp_path / "random-prune"
    result = run("random", GOOD_OR_BAD, "--data", tiny_npz, "--dir", tmp_path, "--name", project.name,
                 "--max-trials", 10, "--epochs", 4, "--prune", "median", "--workers", workers,
                 "--json", tmp_path / "summary.json")
    assert result.exit_code == 0, result.output
    assert "pruning by the median rule" in result.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    files = trial_files(project)
    pruned = {t for t, f in files.items() if f["status"] == "STOPPED"}
    assert pruned and summary["pruned"] == len(pruned)
    assert summary["completed"] + summary["pruned"] + summary["failed"] == 10
    for trial_id in pruned:
        marker = json.loads((project / f"trial_{trial_id}" / "pruned.json").read_text())
        # not before the median rule's warm-up (epoch 3), and not to the end
        assert marker["rule"] == "median" and 3 <= marker["epochs"] < 4 == marker["of"]
        assert logged_epochs(project, trial_id) == marker["epochs"]  # TensorBoard has the epochs it trained
        assert pruned_in_tensorboard(project, trial_id) == marker["epochs"]
        assert files[trial_id]["score"] is not None  # its best score so far
        assert f"trial {trial_id}" in result.output and f"pruned after {marker['epochs']} of 4 epochs" in result.output
    best = {t["trial_id"] for t in summary["best_trials"]}
    assert best and not best & pruned
    assert all(pruned_in_tensorboard(project, t) is None for t in set(files) - pruned)
    best_score = max(t["score"] for t in summary["best_trials"])
    assert all(files[t]["score"] < best_score for t in pruned)
    # the trials that barely learn are pruned once the median rule's warm-up (5 completed trials) is over
    order = json.loads((project / "oracle.json").read_text())["end_order"]
    hopeless = [t for t in order if files[t]["hyperparameters"]["values"]["learning_rate"] == 1e-6]
    assert set(hopeless) & pruned

    report = run("report", project, "--format", "json")
    rows = {row["trial_id"]: row for row in json.loads(report.output)["trials"]}
    assert {t for t, row in rows.items() if row["status"] == "pruned"} == pruned
    assert all("pruned after" in rows[t]["message"] for t in pruned)

    # a resume with a larger plan runs new trials only: the pruned ones are not run again
    again = run("random", GOOD_OR_BAD, "--data", tiny_npz, "--dir", tmp_path, "--name", project.name,
                "--max-trials", 12, "--workers", "1", "--json", tmp_path / "again.json")
    assert again.exit_code == 0, again.output
    assert json.loads((tmp_path / "again.json").read_text())["trials_finished"] == 12
    for trial_id in pruned:
        assert trial_files(project)[trial_id] == files[trial_id]


@pytest.mark.timeout(240)
def test_asha_prunes_at_its_rungs_and_bayesian_learns_around_pruned_trials(tiny_npz: Path, tmp_path: Path) -> None:
    result = run("bayesian", GOOD_OR_BAD, "--data", tiny_npz, "--dir", tmp_path, "--max-trials", 8, "--epochs", 3,
                 "--num-initial-points", 2, "--prune", "asha", "--workers", "1", "--json", tmp_path / "s.json")
    assert result.exit_code == 0, result.output
    files = trial_files(tmp_path / "bayesian-tests.user_models-GoodOrBadRate")
    markers = [json.loads(p.read_text()) for p in tmp_path.glob("*/trial_*/pruned.json")]
    assert markers and all(m["epochs"] in (1,) for m in markers)  # rungs at epochs 1, 3: the last is the end
    assert len(files) == 8

    # in optuna-dashboard's storage: pruned trials as PRUNED, with the epochs they trained
    from kerastune.tuners.integrations.optuna_storage import storage_url, study_name, write_storage

    project = tmp_path / "bayesian-tests.user_models-GoodOrBadRate"
    write_storage(project)
    study = optuna.load_study(study_name=study_name(project), storage=storage_url(project))
    states = {t.user_attrs["kerastune_trial_id"]: t for t in study.trials}
    pruned = {p.parent.name.removeprefix("trial_") for p in project.glob("trial_*/pruned.json")}
    assert {i for i, t in states.items() if t.state == optuna.trial.TrialState.PRUNED} == pruned
    assert all(list(states[i].intermediate_values) == [1] for i in pruned)
    assert all(list(t.intermediate_values) == [1, 2, 3] for i, t in states.items() if i not in pruned)


@pytest.mark.timeout(240)
def test_tpe_searches_a_conditional_space_and_resumes(tiny_npz: Path, tmp_path: Path) -> None:
    project = tmp_path / "tpe-mlp"
    first = run("tpe", "mlp", "--data", tiny_npz, "--dir", tmp_path, "--max-trials", 5, "--epochs", 1,
                "--num-initial-points", 3, "--fix", "batch_size=128", "--workers", "1")
    assert first.exit_code == 0, first.output
    before = trial_files(project)
    resumed = run("tpe", "mlp", "--data", tiny_npz, "--dir", tmp_path, "--max-trials", 8, "--workers", "1",
                  "--json", tmp_path / "s.json")
    assert resumed.exit_code == 0, resumed.output
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["trials_before"] == 5 and summary["trials_finished"] == 8 == summary["completed"]
    files = trial_files(project)
    for trial_id, file in before.items():
        assert files[trial_id] == file  # the earlier trials are kept as they were, not run again
    configurations = set()
    for file in files.values():
        values = file["hyperparameters"]["values"]
        layers = values["num_layers"]
        assert {f"units_{n}" for n in range(1, 5) if f"units_{n}" in values} == {f"units_{n}" for n in
                                                                                  range(1, layers + 1)}
        assert all(values[f"units_{n}"] in (32, 64, 128, 256, 512, 1024) for n in range(1, layers + 1))
        assert round(values["dropout"], 6) in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
        assert 1e-4 <= values["learning_rate"] <= 1e-2 and values["batch_size"] == 128
        configurations.add(json.dumps(values, sort_keys=True))
    assert len(configurations) == 8
    # the first trial tries the space's defaults
    assert files["0"]["hyperparameters"]["values"]["num_layers"] == 2
    state = json.loads((project / "oracle.json").read_text())["kerastune"]
    assert set(state["study"]) == set(files)  # every trial is in the study the sampler learns from

    # in optuna-dashboard's storage: the same trials, with the distributions the sampler draws from
    from kerastune.tuners.integrations.optuna_storage import storage_url, study_name, write_storage
    from kerastune.tuners.strategies.study import distribution

    write_storage(project)
    stored = optuna.load_study(study_name=study_name(project), storage=storage_url(project))
    assert {t.user_attrs["kerastune_trial_id"] for t in stored.trials} == set(files)
    assert {t.state.name for t in stored.trials} == {"COMPLETE"}
    import keras_tuner as kt

    searched = kt.HyperParameters.from_config(json.loads((project / "oracle.json").read_text())["hyperparameters"])
    space = {hp.name: hp for hp in searched.space}
    for trial in stored.trials:
        assert trial.distributions == {name: distribution(space[name]) for name in trial.params}
        assert list(trial.intermediate_values) == [1]  # its one epoch


def test_keras_tuner_hyperparameters_map_to_optuna_distributions() -> None:
    import keras_tuner as kt
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    from hypermodels.space import nearest_value
    from kerastune.tuners.strategies.study import distribution, fits

    hp = kt.HyperParameters()
    hp.Int("units", 32, 1024, step=2, sampling="log")
    hp.Int("layers", 1, 9, step=2)
    hp.Float("dropout", 0.0, 0.5, step=0.1)
    hp.Float("lr", 1e-4, 1e-2, sampling="log")
    hp.Choice("act", ["relu", "tanh"])
    hp.Boolean("bn")
    hp.Fixed("batch", 128)
    space = {h.name: h for h in hp.space}
    assert distribution(space["units"]) == IntDistribution(32, 1024, log=True)
    assert nearest_value(space["units"], 100) == 128  # keras-tuner's multiplicative steps: 32, 64, 128...
    assert nearest_value(space["dropout"], 0.3) == 0.30000000000000004 and nearest_value(space["dropout"], 0.5) == 0.5
    assert distribution(space["layers"]) == IntDistribution(1, 9, step=2)
    assert distribution(space["dropout"]) == FloatDistribution(0.0, 0.5, step=0.1)
    assert distribution(space["lr"]) == FloatDistribution(1e-4, 1e-2, log=True)
    assert distribution(space["act"]) == CategoricalDistribution(["relu", "tanh"])
    assert distribution(space["bn"]) == CategoricalDistribution([False, True])
    assert distribution(space["batch"]) is None
    with hp.conditional_scope("layers", [3, 5]):
        hp.Int("extra", 1, 4)
    assert fits(hp, {"units": 64, "layers": 1, "dropout": 0.2, "lr": 1e-3, "act": "relu", "bn": True,
                     "batch": 128}) is None
    assert "extra" in fits(hp, {"units": 64, "layers": 3, "dropout": 0.2, "lr": 1e-3, "act": "relu", "bn": True,
                                "batch": 128})
    assert "not one of its values" in fits(hp, {"units": 100, "layers": 1, "dropout": 0.2, "lr": 1e-3, "act": "relu",
                                  "bn": True, "batch": 128})


@pytest.mark.timeout(240)
def test_from_a_hyperband_search_keeps_each_trials_epochs(tiny_npz: Path, tmp_path: Path) -> None:
    """A Hyperband trial promoted to a later round trains on from the epoch where its first round stopped
    (tuner/initial_epoch): imported with --from, its best epoch still counts from the start."""
    common = ["hyperband", "mlp", "--data", tiny_npz, "--dir", tmp_path, "--max-epochs", 3, "--workers", 1,
              "--fix", "batch_size=128", "--no-tensorboard"]
    first = run(*common, "--name", "before")
    assert first.exit_code == 0, first.output
    source = {row["trial_id"]: row for row in
              json.loads(run("report", tmp_path / "before", "--format", "json").stdout)["trials"]}
    went_on = [t for t, f in trial_files(tmp_path / "before").items()
               if f["hyperparameters"]["values"].get("tuner/initial_epoch") and f["status"] == "COMPLETED"]
    assert went_on  # a trial of a later round
    seeded = run(*common, "--name", "after", "--from", tmp_path / "before", "--time-budget", "1s")
    assert seeded.exit_code == 0, seeded.output
    project = tmp_path / "after"
    imported = json.loads((project / "kerastune.json").read_text())["warm_start"]["imported"]
    after = {row["trial_id"]: row for row in json.loads(run("report", project, "--format", "json").stdout)["trials"]}
    for new_id, old_id in imported.items():
        assert after[new_id]["best_epoch"] == source[old_id]["best_epoch"], (new_id, old_id)
    assert any(source[old_id]["best_epoch"] > 1 for old_id in went_on)


@pytest.mark.parametrize("args, expected", [
    (["grid", "tutorial-gridsearchcv", "--prune", "median"], "No such option: --prune"),
    (["hyperband", "mlp", "--prune", "median"], "No such option: --prune"),  # its rounds promote completed ones
    (["random", "mlp", "--prune", "sometimes"], "'sometimes' is not one of"),
])
def test_prune_options_are_checked(args: list[str], expected: str, tmp_path: Path) -> None:
    result = run(*args, "--dir", tmp_path)
    assert result.exit_code == 2 and expected in result.output, result.output


@pytest.mark.timeout(240)
@pytest.mark.parametrize("tuner", ["random", "bayesian", "tpe"])
def test_enqueued_configurations_run_first_then_the_defaults(tuner: str, tiny_npz: Path, tmp_path: Path) -> None:
    extra = ["--num-initial-points", 1] if tuner != "random" else []
    result = run(tuner, "mlp", "--data", tiny_npz, "--dir", tmp_path, "--max-trials", 3, "--epochs", 1,
                 "--workers", 1, "--enqueue", "num_layers=3,units_3=64", "--enqueue", "learning_rate=0.005",
                 "--enqueue", "learning_rate=0.005", *extra)  # the same configuration twice: tried once
    assert result.exit_code == 0, result.output
    files = trial_files(tmp_path / f"{tuner}-mlp")
    values = [files[t]["hyperparameters"]["values"] for t in sorted(files, key=int)]
    defaults = {"num_layers": 2, "activation": "relu", "dropout": 0.2, "learning_rate": 0.001, "units_1": 512,
                "units_2": 512, "batch_size": 128}
    assert values[0] == {**defaults, "num_layers": 3, "units_3": 64}
    assert values[1] == {**defaults, "learning_rate": 0.005}
    assert values[2] == defaults


def test_a_value_on_a_float_step_and_a_default_off_its_step_are_one_of_the_values() -> None:
    """--fix, --enqueue and --from share one check of a hyperparameter's values: 0.3 and 0.5 are on dropout's steps
    of 0.1 (which keras-tuner computes as 0.30000000000000004, and stops short of 0.5), and a space's own default
    off its step (legal in keras-tuner) is a value too."""
    import keras

    import hypermodels
    from kerastune.tuners.strategies.study import fits

    space = hypermodels.search_space(hypermodels.get("mlp"))
    for text in ("0.3", "0.5", "0"):
        configuration = hypermodels.parse_configuration(space, {"dropout": text})
        assert configuration["dropout"] == pytest.approx(float(text)) and fits(space, configuration) is None
    assert hypermodels.parse_fixed(space, {"dropout": "0.3"})["dropout"] == pytest.approx(0.3)

    def tutorial(hp):  # a tutorial's space: dropout 0.0-0.5 in steps of 0.01, its default 0.005
        dropout = hp.Float("dropout", 0.0, 0.5, step=0.01, default=0.005)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dropout(dropout), keras.layers.Dense(2)])
        model.compile("adam", "mse")
        return model

    space = hypermodels.search_space(hypermodels.instantiate(tutorial))
    configuration = hypermodels.parse_configuration(space, {})  # every value at its default
    assert configuration == {"dropout": 0.005} and fits(space, configuration) is None
    with pytest.raises(hypermodels.HypermodelError, match="not one of its values"):
        hypermodels.parse_configuration(space, {"dropout": "0.0051"})


@pytest.mark.parametrize("enqueue, expected", [
    ("num_layer=3", "did you mean 'num_layers'"),
    ("num_layers=2,units_3=64", "units_3 is not used by this configuration"),
    ("num_layers=9", "out of range"),
    ("num_layers", "write NAME=VALUE,NAME=VALUE"),
    ("batch_size=64", "the search pins batch_size to 256"),
    ("units_1=100", "units_1=100 is not one of its values"),  # 32, 64, ..., 1024
    ("dropout=0.25", "dropout=0.25 is not one of its values: dropout takes 0.0 .. 0.5 step 0.1"),
])
def test_enqueue_is_checked_against_the_space(enqueue: str, expected: str, tiny_npz: Path, tmp_path: Path) -> None:
    result = run("random", "mlp", "--data", tiny_npz, "--dir", tmp_path, "--fix", "batch_size=256",
                 "--enqueue", enqueue)
    assert result.exit_code == 2 and expected in result.output, result.output
    assert not list(tmp_path.iterdir())  # nothing written


def dense_params(values: dict) -> int:
    """The weights of an `mlp` model of MNIST digits with these values: its dense layers (Rescaling has none)."""
    widths = [784, *(values[f"units_{n}"] for n in range(1, values["num_layers"] + 1)), 10]
    return sum(a * b + b for a, b in zip(widths, widths[1:], strict=False))


@pytest.mark.timeout(240)
def test_max_params_refuses_big_models_before_they_train_and_report_shows_the_pareto_front(
        tiny_npz: Path, tmp_path: Path) -> None:
    project = tmp_path / "random-mlp"
    result = run("random", "mlp", "--data", tiny_npz, "--dir", tmp_path, "--max-trials", 4, "--epochs", 1,
                 "--workers", 1, "--max-params", 150_000, "--json", tmp_path / "s.json")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["oversized"] >= 1  # the defaults' 2x512 network alone has 669,706
    assert "refused before training" in result.output
    assert ("The space's defaults make a model of 669,706 parameters, more than --max-params 150,000: the first trial "
            "is drawn as the others are.") in " ".join(result.output.split())
    oracle = json.loads((project / "oracle.json").read_text())["kerastune"]
    assert all(item["params"] == dense_params(item["values"]) > 150_000 for item in oracle["oversized"])
    files = trial_files(project)
    assert len(files) == 4
    for trial_id, file in files.items():
        size = json.loads((project / f"trial_{trial_id}" / "model_size.json").read_text())
        assert size["params"] == dense_params(file["hyperparameters"]["values"]) <= 150_000
        assert size["inference_us"] > 0

    report = json.loads(run("report", project, "--format", "json").output)
    rows = report["trials"]
    front = [row for row in rows if row["pareto"]]
    assert front
    for row in rows:  # a trial is on the front exactly when no other is as good with fewer parameters
        beaten = any(o is not row and o["params"] <= row["params"] and o["score"] >= row["score"]
                     and (o["params"], -o["score"]) < (row["params"], -row["score"]) for o in rows)
        assert row["pareto"] == (not beaten)
    table = run("report", project)
    assert "Pareto front" in table.output or len(front) == 1


@pytest.mark.timeout(240)
def test_report_says_which_hyperparameters_mattered(tiny_npz: Path, tmp_path: Path) -> None:
    project = tmp_path / "random-rate"
    few = run("random", GOOD_OR_BAD, "--data", tiny_npz, "--dir", tmp_path, "--name", project.name,
              "--max-trials", 3, "--epochs", 1, "--workers", 1, "--no-defaults-first")
    assert few.exit_code == 0, few.output
    assert json.loads(run("report", project, "--format", "json").output)["importance"] == {}  # too few trials

    more = run("random", GOOD_OR_BAD, "--data", tiny_npz, "--dir", tmp_path, "--name", project.name,
               "--max-trials", 10, "--workers", 1)
    assert more.exit_code == 0, more.output
    importance = json.loads(run("report", project, "--format", "json").output)["importance"]
    assert set(importance) == {"learning_rate", "units"} and sum(importance.values()) == pytest.approx(1)
    assert importance["learning_rate"] > 0.5  # 1e-6 barely learns: the rate decides the score
    table = run("report", project, "--plot", tmp_path / "trials.png")
    assert "Which hyperparameters mattered" in table.output and "learning_rate" in table.output
    assert (tmp_path / "trials.png").stat().st_size > 20_000


@pytest.mark.timeout(240)
def test_from_seeds_a_new_search_with_the_trials_that_fit(tiny_npz: Path, tmp_path: Path) -> None:
    source = tmp_path / "random-mlp"
    first = run("random", "mlp", "--data", tiny_npz, "--dir", tmp_path, "--max-trials", 4, "--epochs", 1,
                "--fix", "batch_size=128", "--workers", 1)
    assert first.exit_code == 0, first.output
    earlier = trial_files(source)
    relu = {t for t, f in earlier.items() if f["hyperparameters"]["values"]["activation"] == "relu"}
    assert relu and len(relu) < 4  # the defaults (relu), and others

    result = run("tpe", "mlp", "--data", tiny_npz, "--dir", tmp_path, "--max-trials", 2, "--epochs", 1,
                 "--fix", "batch_size=128", "--fix", "activation=relu", "--workers", 1, "--from", source,
                 "--json", tmp_path / "s.json")
    assert result.exit_code == 0, result.output
    assert f"Seeding the search with {len(relu)} finished trial" in result.output
    assert f"skipping {4 - len(relu)}" in result.output and "where the space fixes relu" in result.output
    numbers = [line.split("]")[0] + "]" for line in result.output.splitlines() if "] trial " in line]
    assert numbers == ["[1/2]", "[2/2]"]  # the imported trials are not this search's to count
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["warm_started"] == len(relu) and summary["trials_finished"] == len(relu) + 2  # 2 new trials
    project = tmp_path / "tpe-mlp"
    files = trial_files(project)
    imported = json.loads((project / "kerastune.json").read_text())["warm_start"]["imported"]
    assert set(imported.values()) == relu
    for new_id, old_id in imported.items():
        assert files[new_id]["score"] == earlier[old_id]["score"]
        assert files[new_id]["hyperparameters"]["values"] == earlier[old_id]["hyperparameters"]["values"]
        assert (project / f"trial_{new_id}" / "checkpoint.weights.h5").exists()
        assert (project / f"trial_{new_id}" / "history.json").exists()  # its epochs, for the dashboards
    report = run("report", project)
    assert f"Imported with --from {source}: " in " ".join(report.stdout.split())
    rows = list(csv.DictReader(io.StringIO(run("report", project, "--format", "csv").stdout)))
    assert {row["trial"]: row["imported from"] for row in rows if row["imported from"]} == {
        new_id: f"{source} trial {old_id}" for new_id, old_id in imported.items()}
    new = [f for t, f in files.items() if t not in imported]
    assert len(new) == 2 and all(f["hyperparameters"]["values"] not in [files[t]["hyperparameters"]["values"]
                                                                        for t in imported] for f in new)
    # the imported trials are the project's own: evaluate reloads them from their copied weights
    evaluated = run("evaluate", project, "--top", 1)
    assert evaluated.exit_code == 0, evaluated.output
    again = run("tpe", "mlp", "--data", tiny_npz, "--dir", tmp_path, "--from", source)  # a resume is not seeded
    assert again.exit_code == 2 and "--from seeds a new search" in again.output, again.output


@pytest.mark.parametrize("extra, expected", [
    (["--seed", "5"], "other data or another validation split"),
    (["--epochs", "2"], "scores measured differently"),
    (["--from", "elsewhere"], "no kerastune project there"),
])
def test_from_refuses_trials_scored_otherwise(extra: list[str], expected: str, finished_project: Path,
                                              tiny_npz: Path, tmp_path: Path) -> None:
    arguments = ["--from", finished_project, *extra] if extra[0] != "--from" else extra
    result = run("random", "mlp", "--data", tiny_npz, "--dir", tmp_path, "--epochs", 1, *arguments)
    assert result.exit_code == 2 and expected in result.output, result.output
    assert not list(tmp_path.iterdir())


@pytest.mark.timeout(240)
def test_tpe_tries_every_configuration_of_a_small_space_once_then_stops(tiny_npz: Path, tmp_path: Path) -> None:
    result = run("tpe", GOOD_OR_BAD, "--data", tiny_npz, "--dir", tmp_path, "--name", "small", "--max-trials", 6,
                 "--epochs", 1, "--num-initial-points", 1, "--fix", "units=8", "--workers", 1)
    assert result.exit_code == 0, result.output
    files = trial_files(tmp_path / "small")
    configurations = {json.dumps(f["hyperparameters"]["values"], sort_keys=True) for f in files.values()}
    assert len(files) == len(configurations) == 2  # 2 learning rates: the whole space, none twice
