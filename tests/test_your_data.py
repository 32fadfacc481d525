"""A new user's data, end to end: search, evaluate and export from the command line on an .npz of 32x32x3
images, a CSV for classification and one for regression, and a folder of images; then the exported model,
reloaded by plain Keras on the raw test inputs, scores what `export` reported."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from kerastune.app.cli import app

RUNNER = CliRunner()


def run(*args) -> object:
    return RUNNER.invoke(app, [str(arg) for arg in args])


def colour_npz(folder: Path) -> Path:
    """60 + 20 colour images of 32x32 whose class (0-2) is the channel that is brightest."""
    rng = np.random.default_rng(0)

    def images(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = np.arange(n) % 3
        x = rng.integers(0, 100, (n, 32, 32, 3), dtype=np.uint8)
        x[np.arange(n), :, :, y] += 120
        return x, y

    (x_train, y_train), (x_test, y_test) = images(90), images(30)
    path = folder / "colours.npz"
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


def classes_csv(folder: Path) -> Path:
    """150 rows: 4 measurements and a species name (3 species), no test split: kerastune holds one out."""
    rng = np.random.default_rng(1)
    species = ["setosa", "versicolor", "virginica"]
    lines = ["sepal_length,sepal_width,petal_length,petal_width,species"]
    for row in range(150):
        kind = row % 3
        values = rng.normal(size=4) * 0.3 + [5 + kind, 3 - 0.3 * kind, 1.5 + 2 * kind, 0.2 + kind]
        lines.append(",".join(f"{v:.2f}" for v in values) + f",{species[kind]}")
    path = folder / "flowers.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def quantity_csv(folder: Path) -> Path:
    """200 rows: a price in the first column, made from the three others."""
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 10, size=(200, 3))
    price = 50_000 + 20_000 * x[:, 0] - 3_000 * x[:, 1] + 500 * x[:, 2] + rng.normal(0, 1000, 200)
    lines = ["price,rooms,age,garden"] + [f"{p:.2f},{a:.3f},{b:.3f},{c:.3f}" for p, (a, b, c) in zip(price, x,
                                                                                                   strict=True)]
    path = folder / "houses.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def image_folder(folder: Path) -> Path:
    """Greyscale 16x16 PNGs in two class folders: bright squares and dark ones."""
    from PIL import Image

    rng = np.random.default_rng(3)
    for name, level in (("bright", 200), ("dark", 40)):
        (folder / "shapes" / name).mkdir(parents=True)
        for index in range(30):
            pixels = np.clip(rng.normal(level, 30, (16, 16)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels, "L").save(folder / "shapes" / name / f"{index}.png")
    return folder / "shapes"


CASES = {
    "npz of 32x32x3 images": (colour_npz, ["cnn"], "classification into 3 classes"),
    "CSV classification": (classes_csv, ["mlp"], "classification into 3 classes, target column 'species'"),
    "CSV regression": (quantity_csv, ["mlp", "--target", "price"], "regression, target column 'price'"),
    "image folder": (image_folder, ["mlp"], "classification into 2 classes"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_search_evaluate_export_and_reload_on_your_data(case: str, tmp_path: Path) -> None:
    import keras

    from kerastune import data

    make, hypermodel, stated = CASES[case]
    source = make(tmp_path)
    searched = run("random", *hypermodel, "--data", source, "--dir", tmp_path / "tuning", "--name", "p",
                   "--max-trials", "1", "--epochs", "1", "--workers", "1", "--fix", "batch_size=32")
    assert searched.exit_code == 0, searched.output
    assert stated in searched.stdout
    assert "Task: " in searched.stdout
    scores = "test MAE, RMSE and R²" if case == "CSV regression" else "test accuracy"
    assert f"({scores}: kerastune evaluate {tmp_path / 'tuning' / 'p'};" in " ".join(searched.stdout.split())
    project = tmp_path / "tuning" / "p"

    evaluated = run("evaluate", project, "--json", tmp_path / "e.json")
    assert evaluated.exit_code == 0, evaluated.output
    best = json.loads((tmp_path / "e.json").read_text())["models"][0]
    regression = case == "CSV regression"
    expected = {"test_mae", "test_rmse", "test_r2", "test_loss"} if regression else {"test_accuracy", "test_loss"}
    assert {key for key in best if key.startswith("test_")} == expected

    exported = run("export", project)
    assert exported.exit_code == 0, exported.output
    report = json.loads((project / "best_model.json").read_text())

    # plain Keras, the raw test inputs as the user holds them (the project's held-out rows, where it held some)
    from kerastune.tuners.records.project import recorded_data

    manifest = json.loads((project / "kerastune.json").read_text())
    if manifest["data"]["held_out_test"]:  # kept once, in a file of their own: not in the manifest, nor in --json
        assert set(manifest["data"]["test_rows"]) == {"count", "fingerprint"}
        assert (project / "test_rows.npy").is_file() and manifest["summary"]["data"]["test_rows"]["count"] > 0
    dataset = data.load_recorded(recorded_data(project, manifest))
    model = keras.saving.load_model(project / "best_model.keras")
    predictions = model.predict(data.model_input(dataset.x_test), verbose=0)  # a table: a dict of its columns
    if regression:
        assert report["task"] == "regression" and report["classes"] is None
        errors = predictions[:, 0] - dataset.y_test
        assert float(np.mean(np.abs(errors))) == pytest.approx(report["test_mae"], rel=1e-5)
        assert f"Test MAE {report['test_mae']:.4g}" in exported.stdout
    else:
        accuracy = float(np.mean(predictions.argmax(axis=1) == dataset.y_test))
        assert accuracy == pytest.approx(report["test_accuracy"])
        assert f"Test accuracy {report['test_accuracy']:.4f}" in exported.stdout
        assert len(report["classes"]) == predictions.shape[1]


REOPEN = """
import sys, numpy as np, pandas as pd
import keras
import kerastune.layers  # registers FillMissing, which a table's model uses for its missing numbers
model = keras.saving.load_model(sys.argv[1])
rows = pd.read_csv(sys.argv[2]).iloc[:5]
rows.loc[0, "Island"] = "Atlantis"  # a category never seen in training
rows.loc[1, "Culmen Length (mm)"] = None  # a missing number
columns = {"Date Egg.year": 2007.0, "Date Egg.month": 11.0, "Date Egg.day": 11.0, "Date Egg.weekday": 6.0}
inputs = {}
for name in model.input:
    if name in columns:
        inputs[name] = np.full(len(rows), columns[name], dtype="float32")
    else:
        column = rows[name.replace("_", "/") if name not in rows else name]
        numbers = pd.api.types.is_numeric_dtype(column)
        inputs[name] = column.to_numpy("float32") if numbers else column.fillna("").to_numpy(object)
probabilities = model.predict(inputs, verbose=0)
assert probabilities.shape == (5, 3) and np.isfinite(probabilities).all(), probabilities
print("ok", probabilities.argmax(axis=1).tolist())
"""


@pytest.mark.timeout(300)
def test_a_real_table_searched_exported_and_reopened_in_plain_keras(tmp_path):
    """Palmer penguins as published (text labels, categories, NA cells, a date, an id, comments): the first lines
    say how each column is used, --json records it, and the export predicts on raw rows in a fresh process."""
    import subprocess
    import sys

    table = Path(__file__).parent / "data" / "penguins-raw.csv"
    searched = run("random", "mlp", "--data", table, "--target", "Species", "--dir", tmp_path / "tuning", "--name",
                   "p", "--max-trials", "1", "--epochs", "2", "--workers", "1", "--json", tmp_path / "s.json")
    assert searched.exit_code == 0, searched.output
    assert "Columns: 7 numeric (6 with " in searched.stdout
    assert "left out: Region (constant: 'Anvers')" in searched.stdout
    recorded = json.loads((tmp_path / "tuning" / "p" / "kerastune.json").read_text())["data"]["columns"]
    assert {column["name"]: column["kind"] for column in recorded}["Date Egg"] == "date"
    exported = run("export", tmp_path / "tuning" / "p", "--output", tmp_path / "penguins.keras")
    assert exported.exit_code == 0, exported.output
    reopened = subprocess.run([sys.executable, "-c", REOPEN, str(tmp_path / "penguins.keras"), str(table)],
                              capture_output=True, text=True, timeout=240)
    assert reopened.returncode == 0, reopened.stderr[-2000:]
    assert reopened.stdout.startswith("ok")
