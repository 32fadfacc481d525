"""Time one kerastune command at two commits, side by side: runs alternate (A, B, A, B, ...) so that a noisy,
shared host slows both alike. Each commit is checked out with `git worktree` into a temporary folder and run
with this environment's Python and packages (its code first on PYTHONPATH); each run gets an empty folder.

    .venv/bin/python bench/compare_commits.py 1167695 HEAD --repeat 3 -- \\
        grid tutorial-micro --data ../shared/data/mnist.npz --max-trials 6 --epochs 2

Prints each run's wall time and exit code, then the median per commit and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def checkout(commit: str, folder: Path) -> Path:
    """A work tree of `commit` (with no test data or venv: the code only)."""
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(folder), commit], check=True)
    return folder


def importable(tree: Path) -> tuple[Path, str]:
    """A folder to put first on the path so that Python imports `tree`'s code, and the module that runs its command
    line. A tree whose pyproject maps folders to packages ([tool.setuptools.package-dir]: app/ is kerastune.app...)
    gets that layout built of symbolic links in `tree/.importable`; an older tree is importable as it is."""
    layout = tomllib.loads((tree / "pyproject.toml").read_text()).get("tool", {}).get("setuptools", {})
    folders = layout.get("package-dir")
    if not folders:
        return tree, "app"  # the layout before kerastune.app: top-level app/, tuners/, data/
    root = tree / ".importable"
    if root.exists():
        return root, "kerastune"
    for package, folder in sorted(folders.items()):  # parents first: kerastune before kerastune.app
        link = root.joinpath(*package.split("."))
        link.parent.mkdir(parents=True, exist_ok=True)
        if package in ("kerastune",):  # a package with children of its own: a folder of links
            link.mkdir(exist_ok=True)
            for item in (tree / folder).iterdir():
                (link / item.name).symlink_to(item)
        else:
            link.symlink_to(tree / folder)
    return root, "kerastune"


def timed_run(code: Path, args: list[str]) -> tuple[float, int, str]:
    """Wall time, exit code and last line of stderr of kerastune ARGS, with the code of work tree `code` first on
    the path, in an empty folder."""
    path, module = importable(code)
    env = {**os.environ, "PYTHONPATH": str(path)}
    with tempfile.TemporaryDirectory(prefix="kerastune-bench-") as workdir:
        data_args = [str(Path(arg).resolve()) if Path(arg).exists() else arg for arg in args]
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", module, *data_args, "--quiet"], cwd=workdir, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        error = (result.stderr.strip().splitlines() or [""])[-1] if result.returncode else ""
        return time.monotonic() - started, result.returncode, error


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("commit_a")
    parser.add_argument("commit_b")
    parser.add_argument("--repeat", type=int, default=3)
    argv = sys.argv[1:]
    if "--" not in argv:
        parser.error("give the kerastune command's arguments after --")
    split = argv.index("--")
    options, args = parser.parse_args(argv[:split]), argv[split + 1:]
    if options.commit_a == options.commit_b:
        parser.error("name two different commits")
    times: dict[str, list[float]] = {options.commit_a: [], options.commit_b: []}
    with tempfile.TemporaryDirectory(prefix="kerastune-commits-") as top:
        trees = {commit: checkout(commit, Path(top) / f"tree{index}") for index, commit in enumerate(times)}
        try:
            for repetition in range(1, options.repeat + 1):
                for commit, tree in trees.items():
                    seconds, code, error = timed_run(tree, args)
                    times[commit].append(seconds)
                    print(f"run {repetition} {commit}: {seconds:.1f} s (exit {code}) {error}", flush=True)
        finally:
            for tree in trees.values():
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
    medians = {commit: statistics.median(values) for commit, values in times.items()}
    for commit, values in times.items():
        print(f"{commit}: median {medians[commit]:.1f} s, runs {', '.join(f'{v:.1f}' for v in values)}")
    print(f"{options.commit_b} / {options.commit_a}: {medians[options.commit_b] / medians[options.commit_a]:.3f}")


if __name__ == "__main__":
    main()
