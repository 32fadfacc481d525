"""Build the bundled MNIST sample (data/mnist_sample.npz) from a full MNIST .npz.

Usage: python scripts/make_mnist_sample.py [SOURCE_NPZ] [OUT]

Takes 1,000 training digits and 200 test digits per class (10,000 / 2,000 in all), chosen
with numpy's default_rng(seed=0), kept in their original order, and writes them in the Keras
layout (x uint8 (n, 28, 28), y uint8 (n,)) with np.savez_compressed. Every run gives the same
arrays (and, as np.savez stamps zip entries 1980-01-01, the same file bytes); the script prints
a sha256 of the array contents and one of the file.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO_ROOT.parent / "shared" / "data" / "mnist.npz"
DEFAULT_OUT = REPO_ROOT / "data" / "mnist_sample.npz"
KEYS = ("x_train", "y_train", "x_test", "y_test")
TRAIN_PER_CLASS = 1000
TEST_PER_CLASS = 200
SEED = 0


def pick_balanced(y: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of `per_class` random examples of each digit 0..9, sorted by original index."""
    chosen = []
    for digit in range(10):
        members = np.flatnonzero(y == digit)
        if len(members) < per_class:
            raise SystemExit(f"only {len(members)} examples of digit {digit}; need {per_class}")
        chosen.append(rng.permutation(members)[:per_class])
    return np.sort(np.concatenate(chosen))


def make_sample(source: Path) -> dict[str, np.ndarray]:
    """Read the full MNIST .npz and return the four sample arrays."""
    with np.load(source, allow_pickle=False) as f:
        full = {key: f[key] for key in KEYS}
    for split in ("train", "test"):
        x, y = full[f"x_{split}"], full[f"y_{split}"]
        if x.dtype != np.uint8 or x.shape[1:] != (28, 28) or y.shape != (len(x),):
            raise SystemExit(f"{source}: {split} arrays are not in the Keras MNIST layout")
    rng = np.random.default_rng(seed=SEED)
    train = pick_balanced(full["y_train"], TRAIN_PER_CLASS, rng)
    test = pick_balanced(full["y_test"], TEST_PER_CLASS, rng)
    return {
        "x_train": full["x_train"][train].astype(np.uint8),
        "y_train": full["y_train"][train].astype(np.uint8),
        "x_test": full["x_test"][test].astype(np.uint8),
        "y_test": full["y_test"][test].astype(np.uint8),
    }


def content_sha256(arrays: dict[str, np.ndarray]) -> str:
    """sha256 over the keys, dtypes, shapes and bytes of the arrays (stable across runs)."""
    digest = hashlib.sha256()
    for key in KEYS:
        a = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}:{a.dtype.str}:{a.shape};".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    arrays = make_sample(args.source)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)

    file_sha = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")
    for split in ("train", "test"):
        counts = np.bincount(arrays[f"y_{split}"], minlength=10)
        print(f"{split}: {len(arrays[f'y_{split}']):,} digits, per class {counts.tolist()}")
    print(f"content sha256 {content_sha256(arrays)}")
    print(f"file sha256    {file_sha}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
