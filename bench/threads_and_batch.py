"""Microbenchmark behind kerastune's defaults: threads per process, processes side by side, batch size.

Trains a 2x512 ReLU MLP (dropout 0.2, Adam 1e-3) for 2 epochs on 50,000 MNIST digits, validating on
the other 10,000, in fresh processes:
  - one process with 1 or 2 TensorFlow threads, at batch 32 and 128;
  - two one-thread processes side by side (what two local workers do);
  - optionally with steps_per_execution.

    .venv/bin/python bench/threads_and_batch.py --data ../shared/data/mnist.npz
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

TRAIN = r"""
import json, sys, time
import numpy as np, keras
data, batch, spe = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with np.load(data, allow_pickle=False) as d:
    x, y = d["x_train"].reshape(-1, 784).astype("float32") / 255, d["y_train"].astype("int64")
model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(512, activation="relu"), keras.layers.Dropout(0.2),
                          keras.layers.Dense(512, activation="relu"), keras.layers.Dropout(0.2),
                          keras.layers.Dense(10, activation="softmax")])
model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"],
              steps_per_execution=spe)
started = time.monotonic()
history = model.fit(x[:50000], y[:50000], batch_size=batch, epochs=2, validation_data=(x[50000:], y[50000:]), verbose=0)
seconds, accuracy = time.monotonic() - started, history.history["val_accuracy"][-1]
print(json.dumps({"train_s": round(seconds, 1), "val_accuracy": round(accuracy, 4)}))
"""


def train(data: str, threads: int, batch: int, spe: int = 1, copies: int = 1) -> list[dict]:
    env = {**os.environ, "TF_NUM_INTRAOP_THREADS": str(threads), "TF_NUM_INTEROP_THREADS": "1",
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    processes = [subprocess.Popen([sys.executable, "-c", TRAIN, data, str(batch), str(spe)], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                 for _ in range(copies)]
    return [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in processes]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    args = parser.parse_args()
    print("| setting | training time of 2 epochs (s) | models per minute | val accuracy |")
    print("| --- | ---: | ---: | ---: |")
    for label, threads, batch, spe, copies in [
        ("1 process, 2 threads, batch 32", 2, 32, 1, 1),
        ("1 process, 2 threads, batch 128", 2, 128, 1, 1),
        ("1 process, 1 thread, batch 128", 1, 128, 1, 1),
        ("2 processes side by side, 1 thread each, batch 128", 1, 128, 1, 2),
        ("1 process, 1 thread, batch 128, steps_per_execution 16", 1, 128, 16, 1),
        ("1 process, 1 thread, batch 32", 1, 32, 1, 1),
        ("1 process, 1 thread, batch 32, steps_per_execution 16", 1, 32, 16, 1),
    ]:
        results = train(args.data, threads, batch, spe, copies)
        slowest = max(r["train_s"] for r in results)
        print(f"| {label} | {', '.join(str(r['train_s']) for r in results)} | {60 * copies / slowest:.1f} | "
              f"{', '.join(str(r['val_accuracy']) for r in results)} |", flush=True)


if __name__ == "__main__":
    main()
