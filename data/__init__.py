"""Data for kerastune: load any `--data` source or arrays, check it, find its task, and describe it to models.

    from kerastune import data
    dataset = data.load("train.csv", target="price")   # or an .npz, an image folder, "fashion-mnist"...
    dataset = data.from_arrays(x_train, y_train)       # a test set is held out when none is given
    data.spec_of(dataset)                               # what a hypermodel is told: shapes, task, classes

Loading and checking data is kept apart from tuning (`tuners`) and from search spaces (`hypermodels`).
"""

from __future__ import annotations

from kerastune.data.columns import ColumnPlan, describe_plan
from kerastune.data.dataset import CLASSIFICATION, IMAGES, REGRESSION, TABLE, TASKS, DataError, Dataset, fingerprint
from kerastune.data.loading import from_arrays, load, load_recorded, sample_path
from kerastune.data.spec import MNIST_SPEC, DataSpec, spec_of
from kerastune.data.splits import holdout_indices, validation_indices
from kerastune.data.table import Table, model_input
from kerastune.data.tasks import score_predictions

__all__ = [
    "CLASSIFICATION",
    "ColumnPlan",
    "IMAGES",
    "MNIST_SPEC",
    "REGRESSION",
    "TABLE",
    "TASKS",
    "Table",
    "DataError",
    "DataSpec",
    "describe_plan",
    "Dataset",
    "fingerprint",
    "from_arrays",
    "holdout_indices",
    "load",
    "load_recorded",
    "model_input",
    "sample_path",
    "score_predictions",
    "spec_of",
    "validation_indices",
]
