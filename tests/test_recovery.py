"""Nothing lost: real searches killed with SIGKILL at chosen moments, then resumed with the same command.

The hypermodel below is user code (a MODULE:ATTRIBUTE reference), which is what lets a test reach
inside a real search process: with CRASH_AT set, it kills its own process with SIGKILL at one point
(in the middle of a trial's training, just before a trial is created, halfway through writing a state
file, or just after one state file is written and before the next). Without CRASH_AT it is a plain
small network, so the resumed search runs the very same hypermodel.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from processes import Lines, processes_mentioning, stop, wait_for
from typer.testing import CliRunner

from kerastune.app.cli import app

BUDGET = 3

CRASHING_MODULE = textwrap.dedent(
    """
    import os
    import signal
    import time

    import keras
    import keras_tuner as kt

    CRASH = os.environ.get("CRASH_AT", "")  # e.g. "fit:2", "pause:2", "create:3", "half-written:oracle.json:finished=2"
    KIND, _, WHERE = CRASH.partition(":")
    counts = {}


    def count(key):
        counts[key] = counts.get(key, 0) + 1
        return counts[key]


    def die():
        os.kill(os.getpid(), signal.SIGKILL)


    class DieInTraining(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):  # once per --steps-per-execution batches
            die()


    class PauseInTraining(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):  # once per --steps-per-execution batches
            time.sleep(600)  # until the test kills the process


    class Net(kt.HyperModel):
        def build(self, hp):
            model = keras.Sequential([
                keras.Input((784,)),
                keras.layers.Dense(hp.Int("units", 8, 64, step=8), activation="relu"),
                keras.layers.Dense(10, activation="softmax"),
            ])
            model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
            return model

        def fit(self, hp, model, *args, **kwargs):
            if KIND in ("fit", "pause") and count("fit") == int(WHERE):
                callback = DieInTraining() if KIND == "fit" else PauseInTraining()
                kwargs["callbacks"] = [*kwargs.get("callbacks", []), callback]
            return model.fit(*args, **kwargs)


    if KIND == "create":  # the process dies just before the oracle creates trial number WHERE
        from keras_tuner.src.engine import oracle

        create_trial = oracle.Oracle.create_trial

        def dying_create_trial(self, tuner_id):
            if count("create") == int(WHERE):
                die()
            return create_trial(self, tuner_id)

        oracle.Oracle.create_trial = dying_create_trial

    if KIND in ("half-written", "written"):  # the process dies while, or just after, it writes a file
        import json

        NAME, _, CONDITION = WHERE.partition(":")  # e.g. "trial.json:trial_id=1,status=RUNNING"
        replace = os.replace

        def matches(path):
            content = json.loads(open(path).read())
            for part in CONDITION.split(","):
                key, _, value = part.partition("=")
                if key == "finished":  # the number of trials the oracle has recorded as finished
                    found = str(len(content.get("end_order", [])))
                else:
                    found = str(content.get(key)) if value else str(key in content)
                if found != (value or "True"):
                    return False
            return True

        def dying_replace(source, target, *args, **kwargs):
            if os.path.basename(target) == NAME and matches(source):
                if KIND == "half-written":
                    os.truncate(source, os.path.getsize(source) // 2)
                    die()
                replace(source, target, *args, **kwargs)
                die()
            return replace(source, target, *args, **kwargs)

        os.replace = dying_replace
    """
)


@pytest.fixture
def crash_project(tmp_path: Path, tiny_npz: Path, monkeypatch: pytest.MonkeyPatch):
    """The command of a small random search of the crashing hypermodel, run from `tmp_path`."""
    (tmp_path / "crashing.py").write_text(CRASHING_MODULE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CRASH_AT", raising=False)
    args = ["random", "crashing:Net", "--data", str(tiny_npz), "--dir", str(tmp_path / "tuning"),
            "--name", "p", "--max-trials", str(BUDGET), "--epochs", "1", "--batch-size", "32"]
    yield args, tmp_path / "tuning" / "p"
    sys.modules.pop("crashing", None)


def run_killed(args: list[str], crash_at: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "CRASH_AT": crash_at}
    result = subprocess.run([sys.executable, "-m", "kerastune", *args, "--workers", "1"], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == -signal.SIGKILL, (result.returncode, result.stdout, result.stderr)
    return result


def wait_for_first_trial(process: subprocess.Popen) -> Lines:
    """Read the search's output until its first trial has finished; the rest of its output."""
    lines = Lines(process.stdout)
    lines.wait_for(lambda line: line.startswith("[1/"), 300, "the first trial to finish")
    return lines


def oracle_state(project: Path) -> dict:
    return json.loads((project / "oracle.json").read_text())


def trial_files(project: Path) -> dict[str, dict]:
    return {path.parent.name: json.loads(path.read_text()) for path in project.glob("trial_*/trial.json")}


def finished_scores(project: Path) -> dict[str, float | None]:
    """The score of each trial the oracle had recorded as finished."""
    if not (project / "oracle.json").exists():
        return {}
    trials = trial_files(project)
    return {trial_id: trials[f"trial_{trial_id}"]["score"] for trial_id in oracle_state(project)["end_order"]}


def resume_and_check(args: list[str], project: Path, kept: dict[str, float | None], resumes: bool = True) -> str:
    """Rerun the same command; every trial finished before the kill keeps its score, and the project ends
    with exactly its budget of finished trials, none counted twice, and no half-written file left."""
    result = CliRunner().invoke(app, [*args, "--workers", "1", "--json", str(project.parent / "summary.json")])
    assert result.exit_code == 0, result.output
    assert f"{'Resuming' if resumes else 'Starting'} {project}" in result.stdout
    summary = json.loads((project.parent / "summary.json").read_text())
    budget = summary["planned"]  # --max-trials, or what Hyperband plans
    assert result.stdout.count("] trial ") == budget - len(kept)  # only what was left runs
    assert summary["trials_finished"] == budget and summary["completed"] == budget
    end_order = oracle_state(project)["end_order"]
    assert len(end_order) == len(set(end_order)) == budget
    trials = trial_files(project)
    assert sorted(t["status"] for t in trials.values()) == ["COMPLETED"] * budget
    for trial_id, score in kept.items():
        assert trials[f"trial_{trial_id}"]["score"] == score, trial_id
    assert not list(project.rglob("*.tmp"))
    return result.stdout


CRASH_POINTS = {
    # name: (where the process dies, how many trials had finished by then)
    "halfway through writing the manifest, before anything else": ("half-written:kerastune.json:format=1", 0),
    "in the middle of training trial 2": ("fit:2", 1),
    "between trials 2 and 3": ("create:3", 2),
    "halfway through writing oracle.json as trial 2 ends": ("half-written:oracle.json:finished=2", 1),
    "after trial 2's file is created, before oracle.json records it": (
        "written:trial.json:trial_id=1,status=RUNNING", 1),
    # keras-tuner's end_trial writes oracle.json with the trial both finished and still running, and
    # keras-tuner alone would start afresh here: it has not written its tuner0.json yet
    "just after oracle.json records trial 1 as finished": ("written:oracle.json:finished=1", 1),
    "while writing the manifest after the last trial": ("half-written:kerastune.json:summary", BUDGET),
}


@pytest.mark.parametrize("point", list(CRASH_POINTS))
def test_a_search_killed_at_any_point_resumes_with_nothing_lost(point: str, crash_project) -> None:
    args, project = crash_project
    crash_at, finished_at_kill = CRASH_POINTS[point]
    run_killed(args, crash_at, project.parent.parent)
    kept = finished_scores(project)
    assert len(kept) == finished_at_kill
    resume_and_check(args, project, kept, resumes=(project / "kerastune.json").exists())


def test_a_hyperband_search_killed_in_a_trial_resumes(crash_project) -> None:
    """Hyperband's trials continue earlier trials' models; a killed one still reruns once."""
    args, project = crash_project
    args = ["hyperband", *args[1:]]
    args[args.index("--max-trials"):args.index("--max-trials") + 2] = ["--max-epochs", "2", "--factor", "2"]
    args[args.index("--epochs"):args.index("--epochs") + 2] = []
    run_killed(args, "fit:3", project.parent.parent)
    kept = finished_scores(project)
    assert len(kept) == 2
    resume_and_check(args, project, kept)


def test_a_search_killed_from_outside_resumes_and_left_no_stale_lock(crash_project) -> None:
    """A second search on a running project is refused; after kill -9 of the first, the project resumes."""
    args, project = crash_project
    process = subprocess.Popen([sys.executable, "-m", "kerastune", *args, "--workers", "1"], cwd=project.parent.parent,
                               env={**os.environ, "CRASH_AT": "pause:2"},  # trial 2 trains until killed
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        wait_for_first_trial(process)
        second = CliRunner().invoke(app, [*args, "--workers", "1"])
        assert second.exit_code == 3, second.output  # ExitCode.BUSY
        assert f"{project} is in use by another search (process {process.pid} on" in second.stderr
    finally:
        stop(process, signal.SIGKILL)
    kept = finished_scores(project)
    assert len(kept) == 1
    resume_and_check(args, project, kept)


def test_ctrl_c_stops_says_what_finished_and_the_project_resumes(crash_project) -> None:
    args, project = crash_project
    process = subprocess.Popen(
        [sys.executable, "-m", "kerastune", *args, "--workers", "1"], cwd=project.parent.parent,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as in a terminal, even under CI
    )
    lines = wait_for_first_trial(process)
    assert stop(process, signal.SIGINT) == 130  # within the time limit of `stop`
    out, err = lines.rest(timeout=10), process.stderr.read()
    assert "Interrupted: " in out and "finished and saved" in out and "Run the same command to resume" in out
    assert "Traceback" not in err
    resume_and_check(args, project, finished_scores(project))


def test_chief_killed_with_its_workers_resumes(crash_project) -> None:
    """kill -9 of the chief of a parallel search: its workers stop too, and the project resumes."""
    args, project = crash_project
    process = subprocess.Popen([sys.executable, "-m", "kerastune", *args, "--workers", "2"], cwd=project.parent.parent,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    wait_for_first_trial(process)
    stop(process, signal.SIGKILL)
    wait_for(lambda: not processes_mentioning(str(project.parent)), 30, "the local workers to stop with their chief")
    resume_and_check(args, project, finished_scores(project))



def test_a_spent_time_budget_starts_no_interrupted_trial_again(crash_project) -> None:
    """Two trials cut short (as by a killed chief with two workers) wait to run again; with a time budget that is
    spent before they start, neither starts (keras-tuner hands out retried trials before it checks its trial
    budget), and both are still there for the next resume."""
    args, project = crash_project
    assert CliRunner().invoke(app, [*args, "--workers", "1"]).exit_code == 0
    oracle = oracle_state(project)
    oracle["end_order"], oracle["ongoing_trials"] = ["0"], {"worker1": "1", "worker2": "2"}
    (project / "oracle.json").write_text(json.dumps(oracle))
    for trial_id in ("1", "2"):
        path = project / f"trial_{trial_id}" / "trial.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), "status": "RUNNING"}))

    summary_file = project.parent / "summary.json"
    result = CliRunner().invoke(app, [*args, "--workers", "1", "--time-budget", "0.1s", "--json", str(summary_file)])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("] trial ") == 0
    summary = json.loads(summary_file.read_text())
    assert summary["time_budget_spent"] and summary["trials_finished"] == 1
    report = CliRunner().invoke(app, ["report", str(project), "--format", "json"])
    assert sorted(t["status"] for t in json.loads(report.stdout)["trials"]) == ["completed", "interrupted",
                                                                                "interrupted"]
    resumed = CliRunner().invoke(app, [*args, "--workers", "1"])
    assert resumed.exit_code == 0, resumed.output
    assert resumed.stdout.count("] trial ") == 2 and "3 trials (3 completed, 0 failed" in resumed.stdout
