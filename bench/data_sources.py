"""Data-sources benchmark (issue 12): kerastune's commands on data other than MNIST digits, and `cnn` beside `mlp`.

Each scenario writes its data if needed (scikit-learn's bundled tables to CSV), then runs a search with a time
budget and `kerastune export`, in a new empty folder, and reports: search wall time, trials finished, best
validation score, and the exported model's test figures (measured by `export` on the reloaded `.keras` file).

    .venv/bin/python bench/data_sources.py --scenario fashion-mlp --scenario fashion-cnn
    .venv/bin/python bench/data_sources.py --mnist ../shared/data/mnist.npz --scenario mnist-cnn
    .venv/bin/python bench/data_sources.py --scenario breast-cancer-csv --scenario diabetes-csv

Fashion-MNIST comes from Debian's `dataset-fashion-mnist` IDX files (`apt-get install dataset-fashion-mnist`).
Prints one JSON line per scenario and a Markdown row; `--results FILE` appends the rows.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KERASTUNE = str(Path(sys.executable).parent / "kerastune")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from example_data import write_tables  # noqa: E402  (scikit-learn's tables as CSV, as the README's examples)

FASHION = "/usr/share/datasets/fashion-mnist"

# scenario -> (search command, what the data is); {data} is filled in, the search runs in an empty folder
SCENARIOS: dict[str, tuple[str, str]] = {
    "fashion-mlp": ("random mlp --data {fashion} --epochs 10 --time-budget 5m --seed {seed}", "Fashion-MNIST IDX"),
    "fashion-cnn": ("random cnn --data {fashion} --epochs 2 --time-budget 6m --seed {seed}", "Fashion-MNIST IDX"),
    "mnist-mlp": ("random mlp --data {mnist} --epochs 10 --time-budget 5m --seed {seed}", "MNIST npz"),
    "mnist-cnn": ("random cnn --data {mnist} --epochs 2 --time-budget 6m --seed {seed}", "MNIST npz"),
    "breast-cancer-csv": ("random mlp --data {breast_cancer} --epochs 30 --max-trials 20 --seed {seed}",
                          "scikit-learn breast cancer, CSV (569 rows, 30 columns, 2 classes)"),
    "diabetes-csv": ("random mlp --data {diabetes} --task regression --epochs 60 --max-trials 20 --seed {seed}",
                     "scikit-learn diabetes, CSV (442 rows, 10 columns, regression)"),
}


def run(command: str, cwd: Path) -> float:
    started = time.monotonic()
    subprocess.run([KERASTUNE, *shlex.split(command)], cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def scenario(name: str, sources: dict[str, str], seed: int) -> dict:
    command, what = SCENARIOS[name]
    with tempfile.TemporaryDirectory(prefix=f"kerastune-{name}-") as folder:
        workdir = Path(folder)
        search = command.format(seed=seed, **sources) + " --name bench --quiet --json search.json"
        search_s = run(search, workdir)
        export_s = run("export tuning/bench", workdir)
        summary = json.loads((workdir / "search.json").read_text())
        exported = json.loads((workdir / "tuning" / "bench" / "best_model.json").read_text())
    best = summary["best_trials"][0]
    scores = {key: round(value, 4) for key, value in exported.items() if key.startswith("test_") and
              isinstance(value, float)}
    return {"scenario": name, "data": what, "command": f"kerastune {search}", "seed": seed,
            "search_s": round(search_s), "export_s": round(export_s), "trials": summary["trials_finished"],
            "objective": summary["objective"], "best_val": round(best["score"], 4),
            "best_hyperparameters": best["hyperparameters"], **scores}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS), required=True)
    parser.add_argument("--mnist", default="../shared/data/mnist.npz", help="the full MNIST .npz")
    parser.add_argument("--seed", type=int, action="append", help="repeat with each seed (default: 0)")
    parser.add_argument("--results", type=Path, help="append the Markdown rows to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kerastune-tables-") as tables:
        tables = {name: str(path) for name, path in write_tables(Path(tables)).items()}
        sources = {"fashion": FASHION, "mnist": str(Path(args.mnist).resolve()), **tables}
        for name in args.scenario:
            for seed in args.seed or [0]:
                result = scenario(name, sources, seed)
                print(json.dumps(result), flush=True)
                figures = ", ".join(f"{key} {value}" for key, value in result.items() if key.startswith("test_"))
                row = (f"| {name} | {result['seed']} | {result['search_s']} s | {result['trials']} | "
                       f"{result['objective']} {result['best_val']} | {figures} |")
                print(row, flush=True)
                if args.results:
                    with open(args.results, "a") as handle:
                        handle.write(row + "\n")


if __name__ == "__main__":
    main()
