"""Microbenchmark of the levers on one trial's training speed (issue 13), each in a fresh process.

Trains one model for a few epochs on 50,000 MNIST digits and validates on the other 10,000, as a
search's trial does, once per setting and repetition (round after round), and prints a Markdown table:
training seconds, examples per second, speed-up over the baseline, the last validation accuracy.
Settings differ from the baseline (numpy arrays in, the training batch, one thread, as one local
worker trains) in one lever each:

  - steps_per_execution N: N training steps per call into TensorFlow (Keras calls the batch-level
    callbacks once per call);
  - tf.data: the training arrays fed as a cached, prefetched `tf.data.Dataset` instead of numpy;
  - validation batch: the validation pass in batches of 1024 instead of the training batch;
  - mixed_bfloat16: Keras's mixed-precision policy (bfloat16 matmuls, float32 weights);
  - threads: 2 TensorFlow threads instead of 1.

    .venv/bin/python bench/training_levers.py --data ../shared/data/mnist.npz --model tutorial
    .venv/bin/python bench/training_levers.py --data ../shared/data/mnist.npz --model mlp --batch 128
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

# the models: the seed tutorial's space at its midpoint (256 relu units, 3 layers of 32), and mlp's defaults
MODELS = {
    "tutorial": "[(256, 'relu'), (32, 'relu'), (32, 'relu'), (32, 'relu')], 0.05",
    "mlp": "[(512, 'relu'), (512, 'relu')], 0.2",
}

TRAIN = r"""
import json, sys, time
import numpy as np, keras, tensorflow as tf
data, batch, spe, feed, val_batch, policy, epochs, hidden = sys.argv[1:9]
batch, spe, val_batch, epochs = int(batch), int(spe), int(val_batch), int(epochs)
hidden, dropout = eval(hidden)
keras.mixed_precision.set_global_policy(policy)
keras.utils.set_random_seed(0)
with np.load(data, allow_pickle=False) as d:
    x, y = d["x_train"], d["y_train"].astype("int64")
layers = [keras.Input((28, 28), dtype="uint8"), keras.layers.Rescaling(1 / 255), keras.layers.Flatten()]
for units, activation in hidden:
    layers += [keras.layers.Dense(units, activation=activation), keras.layers.Dropout(dropout)]
layers.append(keras.layers.Dense(10, activation="softmax", dtype="float32"))
model = keras.Sequential(layers)
model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"],
              steps_per_execution=spe)
x_fit, y_fit, x_val, y_val = x[:50000], y[:50000], x[50000:], y[50000:]
kwargs = dict(epochs=epochs, verbose=0, validation_data=(x_val, y_val), validation_batch_size=val_batch or batch)
started = time.monotonic()
if feed == "tf.data":
    fit = (tf.data.Dataset.from_tensor_slices((x_fit, y_fit)).cache().shuffle(50000, seed=0)
           .batch(batch).prefetch(tf.data.AUTOTUNE))
    history = model.fit(fit, **kwargs)
else:
    history = model.fit(x_fit, y_fit, batch_size=batch, **kwargs)
seconds = time.monotonic() - started
print(json.dumps({"train_s": seconds, "val_accuracy": history.history["val_accuracy"][-1]}))
"""


def train(args: argparse.Namespace, threads: int = 1, spe: int = 1, feed: str = "numpy", val_batch: int = 0,
          policy: str = "float32") -> dict:
    env = {**os.environ, "TF_NUM_INTRAOP_THREADS": str(threads), "TF_NUM_INTEROP_THREADS": "1",
           "OMP_NUM_THREADS": str(threads), "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-c", TRAIN, args.data, str(args.batch), str(spe), feed, str(val_batch), policy,
               str(args.epochs), MODELS[args.model]]
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


SETTINGS = {
    "baseline (numpy, 1 thread)": {},
    "steps_per_execution 8": {"spe": 8},
    "steps_per_execution 32": {"spe": 32},
    "steps_per_execution 128": {"spe": 128},
    "tf.data cached, prefetched": {"feed": "tf.data"},
    "validation batch 1024": {"val_batch": 1024},
    "mixed_bfloat16": {"policy": "mixed_bfloat16"},
    "2 threads": {"threads": 2},
    "steps_per_execution 32 + validation batch 1024": {"spe": 32, "val_batch": 1024},
    "steps_per_execution 32 + mixed_bfloat16": {"spe": 32, "policy": "mixed_bfloat16"},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--model", choices=sorted(MODELS), default="tutorial")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--only", nargs="*", help="run only the settings whose name starts with one of these")
    args = parser.parse_args()
    print(f"model {args.model}, batch {args.batch}, {args.epochs} epochs on 50,000 digits, {args.repeat} run(s) each")
    print("| setting | training time (s) | examples/s (median) | speed-up | val accuracy |")
    print("| --- | ---: | ---: | ---: | ---: |")
    chosen = {label: setting for label, setting in SETTINGS.items()
              if not args.only or any(label.startswith(prefix) for prefix in args.only)}
    runs: dict[str, list[dict]] = {label: [] for label in chosen}
    for _ in range(args.repeat):  # round after round, so that a slow moment of the host hits every setting alike
        for label, setting in chosen.items():
            runs[label].append(train(args, **setting))
    baseline = None
    for label in chosen:
        times = sorted(r["train_s"] for r in runs[label])
        median = times[len(times) // 2]
        baseline = baseline or median
        accuracies = ", ".join(sorted({f"{r['val_accuracy']:.4f}" for r in runs[label]}))
        print(f"| {label} | {', '.join(f'{t:.1f}' for t in times)} | {50000 * args.epochs / median:,.0f} | "
              f"{baseline / median:.2f}x | {accuracies} |", flush=True)


if __name__ == "__main__":
    main()
