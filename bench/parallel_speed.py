"""Throughput benchmark: the seed's plain keras-tuner program against kerastune on the same budget.

Runs, one after another, on the same data, trial budget, epochs and validation split:
  1. the seed tutorial's keras-tuner program (bench/seed_keras_tuner.py), one process;
  2. `kerastune random tutorial-kerastuner --workers 1` (in one process);
  3. `kerastune random tutorial-kerastuner` with its default workers;
  4. the same with --batch-size 32, Keras's default that (1) uses, to separate the two gains;
  5. a chief and two workers started by hand with --oracle/--role on loopback.
Reports wall time, trials per minute, speed-up over (1), the best model's test accuracy and the
peak resident memory of each process. The seed program's RandomSearch is seeded as kerastune's
oracle is for `--seed 0` (`--no-defaults-first` on kerastune's side), so both train the very same
configurations; the seed program does not seed the training itself, as the tutorial did not.

    .venv/bin/python bench/parallel_speed.py --data ../shared/data/mnist.npz --max-trials 10 --epochs 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kerastune.tuners.run.seeds import derived_seed

ROOT = Path(__file__).resolve().parent.parent

KERASTUNE = [sys.executable, "-m", "kerastune"]


def descendants(pid: int) -> list[int]:
    """The process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def timed(
    commands: list[list[str]], log: Path, wait_for: Path | None = None
) -> tuple[float, dict[int, float], list[str]]:
    """Run commands side by side (the later ones once `wait_for` exists); wall time until all end,
    peak RSS (MB) per process, and each command's standard output (kept in files, so that a
    chatty program never blocks on a full pipe)."""
    started = time.monotonic()
    outs = [log.with_suffix(f".out{i}") for i in range(len(commands))]
    with open(log, "w") as err:
        def start(i: int) -> subprocess.Popen:
            with open(outs[i], "w") as out:
                return subprocess.Popen(commands[i], stdout=out, stderr=err, cwd=ROOT)

        processes = [start(0)]
        while wait_for is not None and not wait_for.exists():
            time.sleep(0.1)
        processes += [start(i) for i in range(1, len(commands))]
        peaks: dict[int, float] = {}
        while any(p.poll() is None for p in processes):
            for p in processes:
                for pid in descendants(p.pid):
                    rss = peak_rss_mb(pid)
                    if rss:
                        peaks[pid] = max(peaks.get(pid, 0.0), rss)
            time.sleep(0.5)
    wall = time.monotonic() - started
    for p, command in zip(processes, commands, strict=True):
        if p.returncode != 0:
            raise SystemExit(f"failed ({p.returncode}): {' '.join(command)}; see {log}")
    return wall, peaks, [out.read_text() for out in outs]


def test_accuracy(project: Path, workdir: Path) -> float:
    result_file = workdir / f"{project.name}-evaluation.json"
    subprocess.run([*KERASTUNE, "evaluate", str(project), "--top", "1", "--json", str(result_file)],
                   check=True, capture_output=True, cwd=ROOT)
    return json.loads(result_file.read_text())["models"][0]["test_accuracy"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="full MNIST as a Keras-layout .npz")
    parser.add_argument("--max-trials", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--executions-per-trial", type=int, default=1)
    parser.add_argument("--only", nargs="*", help="run only these rows (seed, workers1, default, batch32, roles)")
    parser.add_argument("--repeat", type=int, default=1, help="run each row this many times (mean and range)")
    args = parser.parse_args()
    data = str(Path(args.data).resolve())
    workdir = Path(tempfile.mkdtemp(prefix="kerastune-bench-"))
    budget = ["--max-trials", str(args.max_trials), "--epochs", str(args.epochs),
              "--executions-per-trial", str(args.executions_per_trial)]
    # --no-defaults-first: every trial drawn at random, as the seed program draws them (the space's defaults are
    # its smallest network, which would make kerastune's first trial cheaper than the seed program's)
    search = [*KERASTUNE, "random", "tutorial-kerastuner", "--data", data, "--dir", str(workdir), *budget,
              "--no-defaults-first"]
    rows = []

    def record(name: str, wall: float, peaks: dict[int, float], accuracy: float) -> None:
        rows.append({"run": name, "wall_s": round(wall, 1), "trials_per_min": round(args.max_trials / wall * 60, 2),
                     "test_accuracy": round(accuracy, 4), "peak_rss_mb": sorted(round(v) for v in peaks.values())})
        print(json.dumps(rows[-1]), flush=True)

    wanted = set(args.only or ["seed", "workers1", "default", "batch32", "roles"])
    for _ in range(args.repeat):
        run_rows(args, data, workdir, budget, search, wanted, record)
    rows[:] = summarize(rows)
    print_table(rows, args)
    (workdir / "results.json").write_text(json.dumps(rows, indent=2))
    print(f"\n(results in {workdir})")


def run_rows(args, data, workdir, budget, search, wanted, record) -> None:
    """One run of every wanted row."""
    if "seed" in wanted:
        # the RandomSearch seed of kerastune's oracle for --seed 0: both programs train the same configurations
        oracle_seed = str(derived_seed(0, "oracle"))
        wall, peaks, (out,) = timed([[sys.executable, "bench/seed_keras_tuner.py", data, *budget,
                                      "--dir", str(workdir / "seed"), "--oracle-seed", oracle_seed]],
                                    workdir / "seed.log")
        record("1. seed keras-tuner program (one process, batch 32)", wall, peaks,
               json.loads(out.strip().splitlines()[-1])["test_accuracy"])
    for key, name, extra in [
        ("workers1", "2. kerastune --workers 1", ["--workers", "1"]),
        ("default", "3. kerastune, default workers", []),
        ("batch32", "4. kerastune, default workers, --batch-size 32", ["--batch-size", "32"]),
    ]:
        if key in wanted:
            project = f"bench-{key}"
            wall, peaks, _ = timed([[*search, "--name", project, "--overwrite", *extra]], workdir / f"{key}.log")
            record(name, wall, peaks, test_accuracy(workdir / project, workdir))
    if "roles" in wanted:
        address = f"127.0.0.1:{free_port()}"
        project = workdir / "bench-roles"
        chief = [*search, "--name", project.name, "--overwrite", "--oracle", address, "--role", "chief"]
        # one thread each, as the default local workers get on two cores
        worker = ["env", "TF_NUM_INTRAOP_THREADS=1", "TF_NUM_INTEROP_THREADS=1", *KERASTUNE, "random",
                  "tutorial-kerastuner", "--dir", str(workdir), "--name", project.name,
                  "--oracle", address, "--role", "worker"]
        env_note = "TF_NUM_INTRAOP_THREADS=1 per worker"
        # The workers read the chief's manifest, so they start once it exists.
        wall, peaks, _ = timed([chief, worker + ["--worker-id", "w1"], worker + ["--worker-id", "w2"]],
                               workdir / "roles.log", wait_for=project / "kerastune.json")
        record(f"5. chief + 2 workers via --oracle/--role on loopback ({env_note})", wall, peaks,
               test_accuracy(project, workdir))



def summarize(rows: list[dict]) -> list[dict]:
    """One row per run name: mean wall time and accuracy, with their ranges over repetitions."""
    merged: dict[str, dict] = {}
    for row in rows:
        entry = merged.setdefault(row["run"], {"run": row["run"], "walls": [], "accuracies": [], "peaks": []})
        entry["walls"].append(row["wall_s"])
        entry["accuracies"].append(row["test_accuracy"])
        entry["peaks"].append(row["peak_rss_mb"])
    for entry in merged.values():
        entry["wall_s"] = round(sum(entry["walls"]) / len(entry["walls"]), 1)
        entry["test_accuracy"] = round(sum(entry["accuracies"]) / len(entry["accuracies"]), 4)
        entry["peak_rss_mb"] = [max(p) for p in zip(*entry["peaks"], strict=False)]
    return list(merged.values())


def print_table(rows: list[dict], args) -> None:
    seed = next((r for r in rows if r["run"].startswith("1.")), None)
    print()
    print(f"Machine: {platform.platform()}, {len(os.sched_getaffinity(0))} cores; budget: {args.max_trials} "
          f"trials x {args.epochs} epochs x {args.executions_per_trial} execution(s); {args.repeat} run(s) each")
    print("| run | wall time (s) | trials/min | speed-up vs (1) | best model's test accuracy "
          "| peak RSS per process (MB) |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for r in rows:
        ratio = f"{seed['wall_s'] / r['wall_s']:.2f}x" if seed else "-"
        spread = lambda values: "" if len(values) < 2 else f" ({min(values)}-{max(values)})"  # noqa: E731
        print(f"| {r['run']} | {r['wall_s']}{spread(r['walls'])} | {args.max_trials / r['wall_s'] * 60:.2f} | "
              f"{ratio} | {r['test_accuracy']}{spread(r['accuracies'])} | {', '.join(map(str, r['peak_rss_mb']))} |")


if __name__ == "__main__":
    main()
