"""Accuracy benchmark (issue 6): what kerastune's commands reach on the full MNIST, from an empty folder.

Each scenario is a list of kerastune commands run one after another in a new empty folder. The
last one is `kerastune export`, which retrains the best configuration on all 60,000 training digits
and measures the saved model on the 10,000 test digits (which no trial saw). Wall time counts
everything: TensorFlow start-up, search, retraining, saving, test.

    .venv/bin/python bench/accuracy.py --data ../shared/data/mnist.npz --scenario quick
    .venv/bin/python bench/accuracy.py --data ../shared/data/mnist.npz --scenario deadline-3m --seed 0 1 2
    .venv/bin/python bench/accuracy.py --data ../shared/data/mnist.npz --scenario budget-30m
    .venv/bin/python bench/accuracy.py --data ../shared/data/mnist.npz --scenario budget-30m-long-export --seed 0 1
    .venv/bin/python bench/accuracy.py --data ../shared/data/mnist.npz --scenario tutorial-gridsearchcv

Prints one JSON line per command and a Markdown row per scenario; `--results FILE` appends the rows.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KERASTUNE = str(Path(sys.executable).parent / "kerastune")

# scenario -> commands ({data}: the --data file); the last exports the search's best model
SCENARIOS: dict[str, list[str]] = {
    # time to a model with test accuracy >= 0.98: target 5 minutes, search and export
    "quick": [
        "kerastune random mlp --data {data} --epochs 6 --time-budget 2m --quiet",
        "kerastune export tuning/random-mlp",
    ],
    # time to a model with test accuracy >= 0.98 (issue 13): a 3-minute deadline and export in at most 5 minutes
    "deadline-3m": [
        "kerastune random mlp --data {data} --time-budget 3m --quiet",
        "kerastune export tuning/random-mlp",
    ],
    # the same with a plan longer than the budget: the deadline ends it, stopping the trials under way
    "deadline-3m-50-trials": [
        "kerastune random mlp --data {data} --time-budget 3m --max-trials 50 --quiet",
        "kerastune export tuning/random-mlp",
    ],
    # the defaults, as a user who sets no tuning knob runs them
    "defaults": [
        "kerastune hyperband mlp --data {data} --quiet",
        "kerastune export tuning/hyperband-mlp",
    ],
    # best test accuracy with a 30-minute search budget: target >= 0.986
    "budget-30m": [
        "kerastune hyperband mlp --data {data} --time-budget 30m --quiet",
        "kerastune export tuning/hyperband-mlp",
    ],
    # the 30-minute question (issue 14): a shorter search, and the export trains longer (40 epochs, ~11 minutes)
    "budget-30m-long-export": [
        "kerastune hyperband mlp --data {data} --time-budget 15m --quiet",
        "kerastune export tuning/hyperband-mlp --epochs 40",
    ],
    # the 30-minute question with longer trials: Hyperband up to 30 epochs for 20 minutes, export at the best epoch
    "budget-30m-max-epochs-30": [
        "kerastune hyperband mlp --data {data} --max-epochs 30 --time-budget 20m --quiet",
        "kerastune export tuning/hyperband-mlp",
    ],
    # the seed tutorials' own search spaces, through kerastune
    "tutorial-gridsearchcv": [
        "kerastune grid tutorial-gridsearchcv --data {data} --quiet",
        "kerastune export tuning/grid-tutorial-gridsearchcv",
    ],
    "tutorial-kerastuner-random": [
        "kerastune random tutorial-kerastuner --data {data} --max-trials 10 --epochs 10 --quiet",
        "kerastune export tuning/random-tutorial-kerastuner",
    ],
    "tutorial-kerastuner-hyperband": [
        "kerastune hyperband tutorial-kerastuner --data {data} --quiet",
        "kerastune export tuning/hyperband-tutorial-kerastuner",
    ],
}


def run_scenario(name: str, data: Path, workdir: Path, seed: int | None = None) -> dict:
    """Run a scenario's commands in `workdir` (the search with `--seed`, when given); return their times and the
    export's figures."""
    steps = []
    started = time.monotonic()
    for number, template in enumerate(SCENARIOS[name]):
        command = template.format(data=data) + (f" --seed {seed}" if seed is not None and number == 0 else "")
        step_start = time.monotonic()
        words = shlex.split(command)
        completed = subprocess.run([KERASTUNE, *words[1:]], cwd=workdir, capture_output=True, text=True)
        step = {"command": command, "seconds": round(time.monotonic() - step_start, 1),
                "exit_code": completed.returncode}
        print(json.dumps(step), flush=True)
        if completed.returncode != 0:
            sys.exit(f"{command} failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}")
        steps.append({**step, "output": completed.stdout})
    total = time.monotonic() - started
    project = Path(workdir) / shlex.split(SCENARIOS[name][-1])[2]  # kerastune export PROJECT ...
    export = json.loads((project / "best_model.json").read_text())
    manifest = json.loads((project / "kerastune.json").read_text())
    summary = manifest["summary"]
    return {
        "scenario": name,
        "commands": [s["command"] for s in steps],
        "seconds": [s["seconds"] for s in steps],
        "total_seconds": round(total, 1),
        "trials": summary["trials_finished"],
        "stopped_by_budget": summary.get("stopped_by_budget", []),
        "best_val": export["val_score"],
        "best_trial": export["trial_id"],
        "hyperparameters": export["hyperparameters"],
        "export_epochs": export["epochs"],
        "test_accuracy": export["test_accuracy"],
        "machine": f"{platform.node()}, {os.cpu_count()} CPUs",
    }


def export_again(result: dict, workdir: Path, seeds: list[int]) -> None:
    """Retrain the same best configuration with other seeds: how much does the test accuracy vary?"""
    project = shlex.split(result["commands"][-1])[2]
    result["other_seeds"] = {}
    for seed in seeds:
        command = f"kerastune export {project} --seed {seed} --output {project}/seed{seed}.keras"
        started = time.monotonic()
        completed = subprocess.run([KERASTUNE, *shlex.split(command)[1:]], cwd=workdir, capture_output=True, text=True)
        if completed.returncode != 0:
            sys.exit(f"{command} failed:\n{completed.stderr[-3000:]}")
        accuracy = json.loads((workdir / project / f"seed{seed}.json").read_text())["test_accuracy"]
        result["other_seeds"][seed] = accuracy
        print(json.dumps({"command": command, "seconds": round(time.monotonic() - started, 1),
                          "test_accuracy": accuracy}), flush=True)


def markdown_row(result: dict) -> str:
    commands = "<br>".join(f"`{c}`" for c in result["commands"])
    minutes = f"{result['total_seconds'] / 60:.1f} ({' + '.join(f'{s / 60:.1f}' for s in result['seconds'])})"
    values = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                      for k, v in result["hyperparameters"].items())
    others = result.get("other_seeds") or {}
    again = ""
    if others:
        again = f" (seeds {', '.join(map(str, others))}: {', '.join(f'{a:.4f}' for a in others.values())})"
    return (f"| {result['scenario']} | {commands} | {minutes} | {result['trials']} | {result['best_val']:.4f} | "
            f"{result['export_epochs']} | {values} | **{result['test_accuracy']:.4f}**{again} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the full MNIST .npz")
    parser.add_argument("--scenario", choices=list(SCENARIOS), action="append", required=True)
    parser.add_argument("--workdir", type=Path, default=None, help="parent of the scenarios' empty folders")
    parser.add_argument("--seed", type=int, nargs="*", default=[None],
                        help="run each scenario once per seed, given to its search as --seed")
    parser.add_argument("--results", type=Path, default=None, help="append the Markdown rows to this file")
    parser.add_argument("--export-seeds", type=int, nargs="*", default=[],
                        help="afterwards, export the same best configuration again with these seeds")
    args = parser.parse_args()
    data = args.data.resolve()
    for name, seed in ((name, seed) for name in args.scenario for seed in args.seed):
        workdir = Path(tempfile.mkdtemp(prefix=f"kerastune-{name}-", dir=args.workdir))
        result = run_scenario(name, data, workdir, seed)
        if args.export_seeds:
            export_again(result, workdir, args.export_seeds)
        print(json.dumps(result), flush=True)
        row = markdown_row(result)
        print(row, flush=True)
        if args.results:
            with open(args.results, "a") as out:
                out.write(row + "\n")


if __name__ == "__main__":
    main()
