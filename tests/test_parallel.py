"""Parallel search with real processes: local workers, a chief with remote-style workers, Ctrl-C,
and a worker that dies."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from processes import PAUSING_MODULE, processes_mentioning, wait_for

SEARCH = ["random", "mlp", "--max-trials", "4", "--epochs", "1"]


def kerastune(*args: object, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "kerastune", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ended_trials(project: Path) -> list[str]:
    return json.loads((project / "oracle.json").read_text())["end_order"]


def read_manifest_deadline(project: Path) -> float:
    """The time.time() at which the chief's --time-budget runs out, from its manifest."""
    return json.loads((project / "kerastune.json").read_text())["run"]["deadline"]


def test_local_workers_share_the_trials_and_merge_their_progress(tiny_npz: Path, tmp_path: Path) -> None:
    """Run as a user runs it, from a folder that holds packages of its own named as kerastune's parts are: the chief
    and its workers use kerastune's (only a MODULE:ATTRIBUTE hypermodel would be taken from that folder)."""
    for package in ("app", "data", "tuners", "kerastune"):
        (tmp_path / package).mkdir()
        hostile = f"raise ImportError('the user\\'s own {package} was imported')\n"
        (tmp_path / package / "__init__.py").write_text(hostile)
    summary_file = tmp_path / "s.json"
    script = Path(sys.executable).parent / "kerastune"
    process = subprocess.Popen([script, *SEARCH, "--data", tiny_npz, "--workers", "2", "--json", summary_file],
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert "2 workers of 1 thread each" in out
    lines = [line for line in out.splitlines() if "] trial " in line]
    assert len(lines) == 4
    assert {"on worker1", "on worker2"} <= {line.split("  ")[0].split(" ", 3)[-1] for line in lines}
    summary = json.loads(summary_file.read_text())
    assert (summary["trials_finished"], summary["completed"], summary["failed"]) == (4, 4, 0)
    project = tmp_path / "tuning" / "random-mlp"
    assert sorted(ended_trials(project)) == ["0", "1", "2", "3"]  # each trial ended exactly once
    assert processes_mentioning(str(tmp_path)) == []
    assert "warning" not in err.lower(), err
    logs = "".join(path.read_text() for path in (project / "workers").glob("*.log"))
    assert "the user's own" not in logs and logs.count(" is done: it ran ") == 2, logs


def test_chief_and_two_workers_on_loopback(tiny_npz: Path, tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    project = tmp_path / "random-mlp"
    chief = kerastune(*SEARCH, "--data", tiny_npz, "--dir", tmp_path, "--oracle", address, "--role", "chief",
                      "--json", tmp_path / "s.json")
    wait_for(lambda: (project / "kerastune.json").exists(), 120, "the chief's manifest")
    workers = [kerastune("random", "mlp", "--dir", tmp_path, "--oracle", address, "--role", "worker",
                         "--worker-id", f"w{i}") for i in (1, 2)]
    worker_outputs = [w.communicate(timeout=300)[0] for w in workers]
    out, err = chief.communicate(timeout=120)
    assert chief.returncode == 0, err
    assert all(w.returncode == 0 for w in workers)

    run_by_workers = [line.split()[2] for text in worker_outputs for line in text.splitlines() if "] trial " in line]
    assert sorted(run_by_workers) == ["0", "1", "2", "3"]  # every trial ran exactly once
    assert sorted(ended_trials(project)) == ["0", "1", "2", "3"]
    assert len([line for line in out.splitlines() if "] trial " in line]) == 4
    summary = json.loads((tmp_path / "s.json").read_text())
    assert (summary["trials_finished"], summary["completed"]) == (4, 4)

    evaluation = subprocess.run([sys.executable, "-m", "kerastune", "evaluate", project, "--top", "4"],
                                capture_output=True, text=True, timeout=300)
    assert evaluation.returncode == 0, evaluation.stderr
    assert evaluation.stdout.count("│ ") >= 4


def test_ctrl_c_stops_every_process_and_leaves_the_cut_trials_to_rerun(tiny_npz: Path, tmp_path: Path) -> None:
    # trials of a few seconds each, so that the interrupt lands while both workers train
    command = ["random", "mlp", "--data", tiny_npz, "--dir", tmp_path, "--max-trials", "2", "--epochs", "80",
               "--workers", "2", "--json", tmp_path / "s.json"]
    # Its own process group, as a terminal's foreground job; and SIGINT handled by default even
    # where this test itself runs with SIGINT ignored (a background job, some CI runners).
    process = kerastune(*command, start_new_session=True,
                        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    project = tmp_path / "random-mlp"
    wait_for(lambda: len(processes_mentioning(str(tmp_path))) >= 3, 120, "two workers")
    wait_for(lambda: (project / "oracle.json").exists() and len(json.loads(
        (project / "oracle.json").read_text())["ongoing_trials"]) == 2, 120, "both workers in a trial")

    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole group
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, (out, err)
    assert "Interrupted" in out
    wait_for(lambda: processes_mentioning(str(tmp_path)) == [], 10, "no process left")
    # the two trials cut short run again on resume (resuming itself is tested in test_recovery.py)
    report = subprocess.run([sys.executable, "-m", "kerastune", "report", project, "--format", "json"],
                            capture_output=True, text=True, timeout=60)
    assert [t["status"] for t in json.loads(report.stdout)["trials"]] == ["interrupted", "interrupted"]


def pausing_search(tmp_path: Path, tiny_npz: Path, *args: object) -> tuple[subprocess.Popen, Path]:
    """A search of the pausing network with two local workers, worker1 pausing in its first trial."""
    (tmp_path / "pausing.py").write_text(PAUSING_MODULE)
    env = {**os.environ, "PAUSE_WORKER": "worker1", "PAUSE_FILE": str(tmp_path / "paused"),
           "GO_FILE": str(tmp_path / "go")}
    process = kerastune("random", "pausing:Net", "--data", tiny_npz, "--dir", tmp_path / "tuning", "--name", "p",
                        "--workers", "2", "--json", tmp_path / "s.json", *args, cwd=tmp_path, env=env)
    wait_for(lambda: (tmp_path / "paused").exists(), 120, "worker1 to pause in its first trial")
    return process, tmp_path / "tuning" / "p"


def worker_process(tmp_path: Path, worker_id: str) -> int:
    [pid] = [pid for pid in processes_mentioning(worker_id) if str(tmp_path) in
             Path(f"/proc/{pid}/cmdline").read_bytes().decode()]
    return pid


def test_a_dead_worker_loses_only_its_own_trial(tiny_npz: Path, tmp_path: Path) -> None:
    process, _ = pausing_search(tmp_path, tiny_npz, "--max-trials", "3", "--epochs", "2")
    os.kill(worker_process(tmp_path, "worker1"), signal.SIGKILL)  # surely in the middle of its trial

    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert "worker worker1 was killed by signal 9 during trial" in err
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["trials_finished"] == 3
    assert (summary["completed"], summary["failed"]) == (2, 1)
    assert processes_mentioning(str(tmp_path)) == []


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--oracle", "127.0.0.1:9"], "--oracle HOST:PORT and --role chief|worker go together"),
        (["--role", "worker", "--oracle", "nowhere"], "write HOST:PORT"),
        (["--role", "worker", "--oracle", "127.0.0.1:9", "--worker-id", "chief1"], "must not contain 'chief'"),
        (["--role", "worker", "--oracle", "127.0.0.1:9", "--workers", "2"], "--workers is for the chief"),
        (["--workers", "0"], "--workers must be >= 1"),
        (["--worker-id", "w1"], "--worker-id is for --role worker"),
        (["--role", "worker", "--oracle", "127.0.0.1:9", "--overwrite"], "--overwrite is for the chief"),
        (["--role", "worker", "--oracle", "127.0.0.1:9"], "no project at"),
    ],
)
def test_parallel_options_are_checked(args: list[str], expected: str, tmp_path: Path, tiny_npz: Path) -> None:
    from typer.testing import CliRunner

    from kerastune.app.cli import app

    result = CliRunner().invoke(app, ["random", "mlp", "--data", str(tiny_npz), "--dir", str(tmp_path), *args])
    assert result.exit_code == 2, result.output
    assert expected in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_chief_on_a_non_loopback_address_warns_that_the_service_is_open(tiny_npz: Path, tmp_path: Path) -> None:
    process = kerastune("random", "mlp", "--data", tiny_npz, "--dir", tmp_path, "--max-trials", "1", "--epochs", "1",
                        "--oracle", f"0.0.0.0:{free_port()}", "--role", "chief", "--workers", "1")
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert "has no authentication" in err and "0.0.0.0" in err
    assert "as chief on 0.0.0.0" in out and "1 local worker" in out
    assert len([line for line in out.splitlines() if "] trial " in line]) == 1


# Records each trial's initial weights (their sum, by the trial's units) in the file WEIGHTS_FILE names.
RECORDING_NET = textwrap.dedent(
    """
    import os

    import keras
    import keras_tuner as kt
    import numpy as np


    class Net(kt.HyperModel):
        def build(self, hp):
            model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(hp.Choice("units", [8, 16, 24])),
                                      keras.layers.Dropout(0.5), keras.layers.Dense(10, activation="softmax")])
            model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
            return model

        def fit(self, hp, model, *args, **kwargs):
            with open(os.environ["WEIGHTS_FILE"], "a") as out:
                out.write(f"{hp['units']} {float(np.sum(model.get_weights()[0])):.9g}\\n")
            return model.fit(*args, **kwargs)
    """
)


def test_a_trial_trains_from_the_same_seed_whichever_worker_runs_it_in_whatever_order(tiny_npz: Path,
                                                                                     tmp_path: Path) -> None:
    """The grid's three trials, in this process one after the other and then on two workers: each trial starts
    from the same initial weights (seeded from --seed and its id), not from wherever the random state was."""
    (tmp_path / "recording.py").write_text(RECORDING_NET)
    initial = {}
    for workers in ("1", "2"):
        weights = tmp_path / f"weights-{workers}.txt"
        process = kerastune("grid", "recording:Net", "--data", tiny_npz, "--epochs", "1", "--workers", workers,
                            "--name", f"w{workers}", "--seed", "3", cwd=tmp_path,
                            env={**os.environ, "WEIGHTS_FILE": str(weights)})
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        initial[workers] = dict(line.split() for line in weights.read_text().splitlines())
    assert initial["1"] == initial["2"] and len(initial["1"]) == 3
    assert len(set(initial["1"].values())) == 3  # and each trial from its own seed


def test_a_silent_worker_loses_its_trial_to_another_and_its_late_report_is_ignored(tiny_npz: Path,
                                                                                  tmp_path: Path) -> None:
    """A worker stopped (SIGSTOP) in the middle of a trial sends no heartbeat: after --worker-timeout the chief
    gives its trial to the other worker. Woken up (SIGCONT), it learns so, drops the trial, and no trial counts
    twice."""
    process, project = pausing_search(tmp_path, tiny_npz, "--max-trials", "3", "--epochs", "3",
                                      "--worker-timeout", "5s")
    worker1 = worker_process(tmp_path, "worker1")
    os.kill(worker1, signal.SIGSTOP)
    try:
        taken = json.loads((project / "oracle.json").read_text())["ongoing_trials"]["worker1"]

        def taken_back() -> bool:
            oracle = json.loads((project / "oracle.json").read_text())
            return taken in oracle["retry_queue"] or oracle["ongoing_trials"].get("worker2") == taken \
                or taken in oracle["end_order"]

        wait_for(taken_back, 120, f"the chief to take trial {taken} back from the silent worker1")
        (tmp_path / "go").write_text("go")  # worker1 no longer pauses once it is woken up
    finally:
        os.kill(worker1, signal.SIGCONT)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert f"no word from worker worker1 for 5s: its trial {taken} goes back to the queue" in err
    summary = json.loads((tmp_path / "s.json").read_text())
    assert (summary["trials_finished"], summary["completed"], summary["failed"]) == (3, 3, 0)
    end_order = json.loads((project / "oracle.json").read_text())["end_order"]
    assert sorted(end_order) == ["0", "1", "2"]  # each trial ended once
    assert out.count(f"] trial {taken} on ") == 1 and out.count("] trial ") == 3  # reported once, rerun whole
    assert processes_mentioning(str(tmp_path)) == []


# A grid of six trials that pauses in its second (units=16), writing PAUSE_FILE, until GO_FILE exists.
PAUSING_GRID = textwrap.dedent(
    """
    import os
    import pathlib
    import time

    import keras
    import keras_tuner as kt

    PAUSED, GO = pathlib.Path(os.environ["PAUSE_FILE"]), pathlib.Path(os.environ["GO_FILE"])


    class Pause(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            PAUSED.write_text("paused")
            while not GO.exists():
                time.sleep(0.1)


    class Net(kt.HyperModel):
        def build(self, hp):
            units = hp.Choice("units", [8, 16, 24, 32, 40, 48])
            model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(units),
                                      keras.layers.Dense(10, activation="softmax")])
            model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
            return model

        def fit(self, hp, model, *args, **kwargs):
            if hp["units"] == 16:
                kwargs["callbacks"] = [*kwargs.get("callbacks", []), Pause()]
            return model.fit(*args, **kwargs)
    """
)


@pytest.mark.timeout(150)
def test_grid_search_keeps_both_workers_busy(tiny_npz: Path, tmp_path: Path) -> None:
    """While one worker holds the grid's latest trial (it pauses in the second), the other goes on with the next
    combinations instead of being told to wait until that trial ends (keras-tuner queues a grid trial for its next
    combination only as it ends, but the first)."""
    (tmp_path / "grid.py").write_text(PAUSING_GRID)
    go = tmp_path / "go"
    env = {**os.environ, "PAUSE_FILE": str(tmp_path / "paused"), "GO_FILE": str(go)}
    process = kerastune("grid", "grid:Net", "--data", tiny_npz, "--dir", tmp_path / "tuning", "--name", "g",
                        "--epochs", "1", "--workers", "2", "--json", tmp_path / "s.json", cwd=tmp_path, env=env)
    project = tmp_path / "tuning" / "g"
    try:
        wait_for(lambda: (tmp_path / "paused").exists(), 120, "a worker to pause in the grid's second trial")
        wait_for(lambda: len(ended_trials(project)) >= 4, 60, "the other worker to run four more trials meanwhile")
    finally:
        go.write_text("go")
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    summary = json.loads((tmp_path / "s.json").read_text())
    assert (summary["trials_finished"], summary["completed"]) == (6, 6)
    units = sorted(int(line.split("units=")[1].split()[0]) for line in out.splitlines() if "] trial " in line)
    assert units == [8, 16, 24, 32, 40, 48]  # the whole grid, each combination once
    logs = "".join(path.read_text() for path in (project / "workers").glob("*.log"))
    assert logs.count(" is done: it ran ") == 2, logs
    assert processes_mentioning(str(tmp_path)) == []


def remote_search(tmp_path: Path, tiny_npz: Path, *args: object) -> tuple[subprocess.Popen, dict, Path]:
    """A chief of the pausing network for remote workers only (the worker named w1 pauses in its first trial); the
    chief, and where to reach it with the environment its workers need."""
    (tmp_path / "pausing.py").write_text(PAUSING_MODULE)
    env = {**os.environ, "PAUSE_WORKER": "w1", "PAUSE_FILE": str(tmp_path / "paused"),
           "GO_FILE": str(tmp_path / "go")}
    address = f"127.0.0.1:{free_port()}"
    chief = kerastune("random", "pausing:Net", "--data", tiny_npz, "--dir", tmp_path, "--name", "p", "--role", "chief",
                      "--oracle", address, "--json", tmp_path / "s.json", *args, cwd=tmp_path, env=env)
    wait_for(lambda: (tmp_path / "p" / "kerastune.json").exists(), 120, "the chief's manifest")
    return chief, {"env": env, "address": address}, tmp_path / "p"


def remote_worker(tmp_path: Path, setup: dict, worker_id: str) -> subprocess.Popen:
    return kerastune("random", "pausing:Net", "--dir", tmp_path, "--name", "p", "--role", "worker", "--oracle",
                     setup["address"], "--worker-id", worker_id, cwd=tmp_path, env=setup["env"])


@pytest.mark.timeout(150)
def test_a_worker_waits_while_a_trial_is_out_and_runs_it_once_its_worker_is_lost(tiny_npz: Path,
                                                                              tmp_path: Path) -> None:
    """Two hosts' worth of processes: w1 is killed (-9) in its trial after w2 has run every other trial of the
    budget. w2 waits instead of quitting (keras-tuner stops a worker once --max-trials trials exist), and runs
    w1's trial once the chief takes it back: the budget's every trial runs."""
    chief, setup, project = remote_search(tmp_path, tiny_npz, "--max-trials", "4", "--epochs", "1",
                                          "--worker-timeout", "5s")
    w1 = remote_worker(tmp_path, setup, "w1")
    wait_for(lambda: (tmp_path / "paused").exists(), 120, "w1 to pause in its first trial")
    w2 = remote_worker(tmp_path, setup, "w2")
    try:
        wait_for(lambda: len(ended_trials(project)) == 3, 90, "w2 to run the three other trials")
        os.kill(w1.pid, signal.SIGKILL)  # in the middle of its trial, which is the last one out
        w2_out, w2_err = w2.communicate(timeout=60)
        out, err = chief.communicate(timeout=30)
    finally:
        for process in (w1, w2, chief):
            if process.poll() is None:
                process.kill()
    assert w2.returncode == 0 and chief.returncode == 0, (w2_err, err)
    assert "no word from worker w1 for 5s" in err
    assert "Worker w2 is done: it ran 4 trials" in w2_out
    summary = json.loads((tmp_path / "s.json").read_text())
    assert (summary["trials_finished"], summary["completed"]) == (4, 4)
    assert sorted(ended_trials(project)) == ["0", "1", "2", "3"]


@pytest.mark.timeout(150)
def test_a_chief_of_remote_workers_ends_at_its_deadline_once_its_workers_are_gone(tiny_npz: Path,
                                                                                tmp_path: Path) -> None:
    """A chief without local workers whose only worker is killed (-9) in its trial: after the deadline, with its
    trial taken back and no worker left to tell to stop, the chief writes its summary and exits 0."""
    chief, setup, project = remote_search(tmp_path, tiny_npz, "--max-trials", "4", "--epochs", "1",
                                          "--worker-timeout", "5s", "--time-budget", "30s")
    deadline = read_manifest_deadline(project)
    w1 = remote_worker(tmp_path, setup, "w1")
    try:
        wait_for(lambda: (tmp_path / "paused").exists(), 35, "w1 to pause in its first trial")
        assert time.time() < deadline, "w1 reached its trial after the deadline: raise --time-budget"
        os.kill(w1.pid, signal.SIGKILL)
        w1.wait(timeout=10)
        out, err = chief.communicate(timeout=max(0, deadline - time.time()) + 30)
    finally:
        for process in (w1, chief):
            if process.poll() is None:
                process.kill()
    assert chief.returncode == 0, err
    assert "no word from worker w1 for 5s" in err
    assert "The time budget ran out" in out
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["time_budget_spent"] and summary["trials_finished"] == 0
