"""Reference figures for the table scenarios of bench/data_sources.py: scikit-learn's linear models on the very
test rows kerastune holds out of each table with each seed (logistic regression on breast cancer, least squares
on diabetes).

    .venv/bin/python bench/linear_references.py --seed 0 --seed 1 --seed 2
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from example_data import write_tables  # noqa: E402


def main() -> None:
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from kerastune import data

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, action="append")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tables = write_tables(Path(folder))
        for seed in args.seed or [0]:
            cancer = data.load(tables["breast_cancer"], seed=seed)
            logistic = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
            accuracy = logistic.fit(cancer.x_train, cancer.y_train).score(cancer.x_test, cancer.y_test)
            diabetes = data.load(tables["diabetes"], task="regression", seed=seed)
            predicted = LinearRegression().fit(diabetes.x_train, diabetes.y_train).predict(diabetes.x_test)
            scores = data.score_predictions("regression", diabetes.y_test, predicted[:, None])
            print(f"seed {seed}: breast cancer, logistic regression test accuracy {accuracy:.4f}; diabetes, least "
                  f"squares test R² {scores['test_r2']:.3f}, MAE {scores['test_mae']:.2f}")


if __name__ == "__main__":
    main()
