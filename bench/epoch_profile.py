"""Where one trial's time goes: process start, data, model, tracing, training steps, validation.

In a fresh process with one TensorFlow thread (as a local worker trains), builds a model the way a kerastune search
does (the hypermodel behind its preprocessing layers, `kerastune.tuners.run.prepared_hypermodel`), trains it for 2
epochs on 50,000 MNIST digits and validates on 10,000, and times each part with callbacks: TensorFlow's import,
loading the data, building and compiling, the first call of the training function (tracing), the training steps, the
validation passes. Once per --steps-per-execution value.

    .venv/bin/python bench/epoch_profile.py --data ../shared/data/mnist.npz
    .venv/bin/python bench/epoch_profile.py --data ../shared/data/mnist.npz --hypermodel mlp --batch 128
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROFILE = r"""
import json, sys, time
started = time.perf_counter()
import keras, tensorflow as tf
imported = time.perf_counter()
import hypermodels, data as kdata
from kerastune.tuners.run.prepared_hypermodel import PreparedHyperModel
path, name, batch, steps, values = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), json.loads(sys.argv[5])
dataset = kdata.load(path)
x, y = dataset.x_train, dataset.y_train
loaded = time.perf_counter()
prepared = PreparedHyperModel(hypermodels.get(name), kdata.spec_of(dataset), steps_per_execution=steps)
hp = hypermodels.search_space(prepared.hypermodel).copy()
hp.values.update(values)
keras.utils.set_random_seed(0)
model = prepared.build(hp)
built = time.perf_counter()

class Clock(keras.callbacks.Callback):
    def __init__(self):
        self.marks = {"first_call": 0.0, "train": 0.0, "validate": 0.0}
    def on_train_batch_begin(self, batch, logs=None):
        self.batch_started = time.perf_counter()
    def on_train_batch_end(self, batch, logs=None):
        spent = time.perf_counter() - self.batch_started
        if not self.marks["first_call"]:
            self.marks["first_call"] = spent
        else:
            self.marks["train"] += spent
    def on_test_begin(self, logs=None):
        self.test_started = time.perf_counter()
    def on_test_end(self, logs=None):
        self.marks["validate"] += time.perf_counter() - self.test_started

clock = Clock()
fit_started = time.perf_counter()
history = model.fit(x[:50000], y[:50000], batch_size=batch, epochs=2, validation_data=(x[50000:], y[50000:]),
                    verbose=0, callbacks=[clock])
fit = time.perf_counter() - fit_started
print(json.dumps({"import_tf": imported - started, "load_data": loaded - imported, "build": built - loaded,
                  **clock.marks, "fit": fit, "val_accuracy": history.history["val_accuracy"][-1]}))
"""

# the seed tutorial's space at its midpoint; mlp at its defaults
VALUES = {
    "tutorial-kerastuner": {"activation": "relu", "units": 256, "units_2": 32, "units_3": 32, "units_4": 32,
                            "dropout": 0.05, "learning_rate": 0.001},
    "mlp": {},
}


def profile(args: argparse.Namespace, steps: int) -> dict:
    env = {**os.environ, "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1",
           "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", PROFILE, args.data, args.hypermodel, str(args.batch), str(steps),
               json.dumps(VALUES[args.hypermodel])]
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=True, cwd=ROOT).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--hypermodel", choices=sorted(VALUES), default="tutorial-kerastuner")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, nargs="*", default=[1, 32])
    args = parser.parse_args()
    print(f"{args.hypermodel}, batch {args.batch}, 2 epochs on 50,000 digits, validated on 10,000, one thread")
    print("| steps_per_execution | TF import (s) | data (s) | build (s) | first call, traced (s) | training steps (s) "
          "| validation (s) | fit in all (s) | val accuracy |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for steps in args.steps:
        r = profile(args, steps)
        print(f"| {steps} | {r['import_tf']:.1f} | {r['load_data']:.1f} | {r['build']:.1f} | {r['first_call']:.1f} | "
              f"{r['train']:.1f} | {r['validate']:.1f} | {r['fit']:.1f} | {r['val_accuracy']:.4f} |", flush=True)


if __name__ == "__main__":
    main()
