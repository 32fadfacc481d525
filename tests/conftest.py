"""Shared fixtures: tiny real MNIST slices, a seeded and quiet Keras, a clean registry."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TINY_TRAIN_PER_CLASS = 40
TINY_TEST_PER_CLASS = 10


def _balanced(x: np.ndarray, y: np.ndarray, per_class: int) -> tuple[np.ndarray, np.ndarray]:
    index = np.concatenate([np.flatnonzero(y == digit)[:per_class] for digit in range(10)])
    index.sort()
    return x[index], y[index]


@pytest.fixture(scope="session")
def tiny_npz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Keras-layout .npz of 400 training and 100 test real digits from the bundled sample."""
    from kerastune.data import sample_path

    with np.load(sample_path(), allow_pickle=False) as sample:
        x_train, y_train = _balanced(sample["x_train"], sample["y_train"], TINY_TRAIN_PER_CLASS)
        x_test, y_test = _balanced(sample["x_test"], sample["y_test"], TINY_TEST_PER_CLASS)
    path = tmp_path_factory.mktemp("data") / "tiny_mnist.npz"
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


@pytest.fixture(scope="session")
def tiny_data(tiny_npz: Path):
    from kerastune import data

    return data.load(tiny_npz)


@pytest.fixture(autouse=True)
def _seeded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts from the same random state."""
    import random

    random.seed(0)
    np.random.seed(0)


@pytest.fixture(scope="session")
def finished_project(tiny_npz: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real project of one finished random trial of `mlp` on the tiny data (copy it before changing it)."""
    from typer.testing import CliRunner

    from kerastune.app.cli import app

    directory = tmp_path_factory.mktemp("finished")
    result = CliRunner().invoke(app, ["random", "mlp", "--data", str(tiny_npz), "--dir", str(directory),
                                      "--max-trials", "1", "--epochs", "1", "--workers", "1"])
    assert result.exit_code == 0, result.output
    return directory / "random-mlp"
