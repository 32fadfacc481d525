"""The seed tutorial's plain keras-tuner program, as a user would write it: one process, RandomSearch
over the tutorial's search space (kerastune's reproduction of it, `tutorial-kerastuner`), Keras's
default batch size, then the best model on the test set.

It validates on the same stratified split kerastune uses (10,000 of the 60,000 training digits,
seed 0), so that both are measured on equal terms.

    python bench/seed_keras_tuner.py DATA.npz --max-trials 10 --epochs 3 --dir /tmp/seed
"""

from __future__ import annotations

import argparse
import json
import time

import keras_tuner as kt
import numpy as np

import hypermodels
from kerastune import data as kerastune_data


def prepare_images(x: np.ndarray) -> np.ndarray:
    """As the seed tutorial prepares them: flattened to 784 floats in [0, 1]."""
    return x.reshape(len(x), 784).astype("float32") / 255.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("--max-trials", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--executions-per-trial", type=int, default=1)
    parser.add_argument("--dir", default="seed-tuning")
    parser.add_argument("--oracle-seed", type=int, default=0,
                        help="the RandomSearch seed (0: a random one); kerastune's for --seed S is "
                             "kerastune.tuners.run.seeds.derived_seed(S, 'oracle'), with which both draw the same "
                             "configurations")
    args = parser.parse_args()

    started = time.monotonic()
    data = kerastune_data.load(args.data)
    fit, held = kerastune_data.validation_indices(data.y_train, None, seed=0)
    x_fit, y_fit, x_val, y_val = data.x_train[fit], data.y_train[fit], data.x_train[held], data.y_train[held]
    tuner = kt.RandomSearch(
        hypermodels.get("tutorial-kerastuner"),
        objective="val_accuracy",
        max_trials=args.max_trials,
        executions_per_trial=args.executions_per_trial,
        seed=args.oracle_seed,
        directory=args.dir,
        project_name="seed",
        overwrite=True,
    )
    tuner.search(prepare_images(x_fit), y_fit, epochs=args.epochs,
                 validation_data=(prepare_images(x_val), y_val))
    search_seconds = time.monotonic() - started
    best = tuner.get_best_models(1)[0]
    loss, accuracy = best.evaluate(prepare_images(data.x_test), data.y_test, verbose=0)
    trials = [t for t in tuner.oracle.trials.values() if t.status == "COMPLETED"]
    print(json.dumps({"search_seconds": search_seconds, "trials": len(trials), "test_accuracy": accuracy,
                      "best_val_accuracy": tuner.oracle.get_best_trials(1)[0].score}))


if __name__ == "__main__":
    main()
