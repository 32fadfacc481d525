"""Write the example data of the README's "Your data" section into a folder, from data this machine has:

- breast_cancer.csv: scikit-learn's breast-cancer table (569 rows, 30 measurements, the diagnosis 0/1 last);
- diabetes.csv: scikit-learn's diabetes table (442 rows, 10 columns, the disease progression last);
- fashion32.npz: Fashion-MNIST padded to 32x32 and repeated to 3 channels, no test split (a stand-in for
  CIFAR-10-sized colour images when Keras cannot download CIFAR-10);
- fashion-folder/: 300 Fashion-MNIST test images of each class as PNG files, one subfolder per class.

    python scripts/example_data.py examples/data --fashion /usr/share/datasets/fashion-mnist

Fashion-MNIST comes from Debian's `dataset-fashion-mnist` IDX files (`apt-get install dataset-fashion-mnist`).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

FASHION_CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"]


def write_tables(folder: Path) -> dict[str, Path]:
    """scikit-learn's bundled breast-cancer and diabetes tables as CSV files with a header row, target last."""
    from sklearn.datasets import load_breast_cancer, load_diabetes

    paths = {}
    for name, bunch in (("breast_cancer", load_breast_cancer()), ("diabetes", load_diabetes(scaled=False))):
        path = folder / f"{name}.csv"
        with open(path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([*(str(column).replace(" ", "_") for column in bunch.feature_names), "target"])
            writer.writerows([*row, target] for row, target in zip(bunch.data.tolist(), bunch.target.tolist(),
                                                                   strict=True))
        paths[name] = path
    return paths


def write_fashion_examples(folder: Path, fashion: Path, per_class: int = 300) -> None:
    """fashion32.npz and fashion-folder/ (see the module's docstring)."""
    from PIL import Image

    from kerastune import data

    dataset = data.load(fashion)
    padded = np.pad(dataset.x_train, ((0, 0), (2, 2), (2, 2)))
    np.savez_compressed(folder / "fashion32.npz", x_train=np.repeat(padded[..., None], 3, axis=-1),
                        y_train=dataset.y_train)
    for label, name in enumerate(FASHION_CLASSES):
        (folder / "fashion-folder" / name).mkdir(parents=True, exist_ok=True)
        for index in np.flatnonzero(dataset.y_test == label)[:per_class]:
            Image.fromarray(dataset.x_test[index], "L").save(folder / "fashion-folder" / name / f"{index}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--fashion", type=Path, help="the Fashion-MNIST IDX folder (skipped without it)")
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    write_tables(args.folder)
    if args.fashion:
        write_fashion_examples(args.folder, args.fashion)
    print(f"wrote {', '.join(sorted(p.name for p in args.folder.iterdir()))} in {args.folder}")


if __name__ == "__main__":
    main()
