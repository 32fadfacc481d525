"""Search strategies at equal wall-clock budgets (issue 14): random, bayesian, hyperband, tpe, and random and tpe
with --prune median, each searching `mlp` on the full MNIST for the same time, then exporting its best model.

Each run has one CPU core of its own (`taskset`, one TensorFlow thread, `--workers 1`), and `--parallel 2` runs
two at a time on a 2-core machine, so that 18 runs of 10 minutes take 90 minutes, not 180. The pairs rotate, so
no strategy always runs beside the same one. The export (retraining the best configuration on all 60,000 digits,
then the test set, which no trial saw) runs on the same core, after the search.

    .venv/bin/python bench/strategies.py --data ../shared/data/mnist.npz --budget 10m --seeds 0 1 2

Prints one JSON line per run and, at the end, a Markdown table (one row per strategy: the runs' figures and
their mean); `--results FILE` appends it to FILE.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent import futures
from pathlib import Path

KERASTUNE = str(Path(sys.executable).parent / "kerastune")
# strategy -> the search command's own arguments
STRATEGIES: dict[str, list[str]] = {
    "random": ["random"],
    "bayesian": ["bayesian"],
    "hyperband": ["hyperband"],
    "tpe": ["tpe"],
    "random --prune median": ["random", "--prune", "median"],
    "tpe --prune median": ["tpe", "--prune", "median"],
}
MANY_TRIALS = 1000  # the plan of the trial-budget tuners: the deadline ends them


def one_thread() -> dict[str, str]:
    return {**os.environ, "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1"}


def run(strategy: str, seed: int, budget: str, data: Path, core: int, workdir: Path) -> dict:
    """One search and its export, in an empty folder, on one core."""
    arguments = STRATEGIES[strategy]
    tuner = arguments[0]
    plan = ["--max-trials", str(MANY_TRIALS)] if tuner != "hyperband" else []
    search = [KERASTUNE, tuner, "mlp", *arguments[1:], "--data", str(data), "--time-budget", budget, "--seed",
              str(seed), "--workers", "1", "--name", "run", "--quiet", "--json", "summary.json", *plan]
    export = [KERASTUNE, "export", "tuning/run"]
    times = []
    for command in (search, export):
        started = time.monotonic()
        done = subprocess.run(["taskset", "-c", str(core), *command], cwd=workdir, env=one_thread(),
                              capture_output=True, text=True)
        times.append(round(time.monotonic() - started, 1))
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    summary = json.loads((workdir / "summary.json").read_text())
    exported = json.loads((workdir / "tuning/run/best_model.json").read_text())
    return {
        "strategy": strategy, "seed": seed, "budget": budget, "core": core,
        "search_s": times[0], "export_s": times[1],
        "trials": summary["trials_finished"], "completed": summary["completed"], "pruned": summary.get("pruned", 0),
        "best_val": summary["best_trials"][0]["score"], "best_trial": summary["best_trials"][0]["trial_id"],
        "test_accuracy": exported["test_accuracy"], "hyperparameters": exported["hyperparameters"],
    }


def table(results: list[dict]) -> str:
    lines = ["| strategy | runs (seeds) | trials finished (pruned) | best val_accuracy | test accuracy of the export | "
             "mean test accuracy |", "| --- | --- | --- | --- | --- | ---: |"]
    for strategy in STRATEGIES:
        runs = sorted((r for r in results if r["strategy"] == strategy), key=lambda r: r["seed"])
        if not runs:
            continue
        trials = ", ".join(f"{r['trials']} ({r['pruned']})" if r["pruned"] else str(r["trials"]) for r in runs)
        mean = statistics.mean(r["test_accuracy"] for r in runs)
        seeds = ", ".join(str(r["seed"]) for r in runs)
        best = ", ".join(f"{r['best_val']:.4f}" for r in runs)
        tests = ", ".join(f"{r['test_accuracy']:.4f}" for r in runs)
        lines.append(f"| {strategy} | {len(runs)} ({seeds}) | {trials} | {best} | {tests} | **{mean:.4f}** |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the full MNIST .npz")
    parser.add_argument("--budget", default="10m", help="each search's --time-budget")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--strategy", choices=list(STRATEGIES), action="append", help="default: all")
    parser.add_argument("--parallel", type=int, default=2, help="runs at a time, each on a core of its own")
    parser.add_argument("--results", type=Path, default=None, help="append the Markdown table to this file")
    args = parser.parse_args()
    strategies = args.strategy or list(STRATEGIES)
    # seed by seed, so that each pair runs two different strategies and the pairs rotate
    jobs = [(strategy, seed) for seed in args.seeds for strategy in strategies]
    results = []
    with futures.ThreadPoolExecutor(args.parallel) as pool:
        free = list(range(args.parallel))
        pending: dict[futures.Future, int] = {}
        queue = list(jobs)
        while queue or pending:
            while queue and free:
                strategy, seed = queue.pop(0)
                core = free.pop(0)
                workdir = Path(tempfile.mkdtemp(prefix="kerastune-strategy-"))
                pending[pool.submit(run, strategy, seed, args.budget, args.data.resolve(), core, workdir)] = core
            done, _ = futures.wait(pending, return_when=futures.FIRST_COMPLETED)
            for future in done:
                free.append(pending.pop(future))
                result = future.result()
                results.append(result)
                print(json.dumps(result), flush=True)
    text = table(results)
    print(text)
    if args.results:
        with open(args.results, "a") as out:
            out.write(text + "\n")


if __name__ == "__main__":
    main()
