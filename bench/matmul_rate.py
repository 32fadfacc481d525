"""This machine's measured matrix-multiply rate, the physical limit of dense-network training (issue 13).

Times `tf.matmul` in a compiled loop, in a fresh process per setting (1 or 2 TensorFlow threads, float32
or bfloat16), on the shapes a dense network's training multiplies: a batch of 128 by 784 -> 512 and
512 -> 512 layers, and one large square product for the peak. Prints GFLOP/s (2*m*k*n per product).

Then puts one epoch of a dense network beside it: the floating-point work of training (forward, and
the backward pass's two products per layer: about 3x the forward) on 50,000 examples plus the
validation forward pass on 10,000, divided by the measured rate, is the fastest that epoch can be.

    .venv/bin/python bench/matmul_rate.py
    .venv/bin/python bench/matmul_rate.py --layers 784,1024,1024,512,10 --epoch-seconds 9.1
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

MEASURE = r"""
import json, sys, time
import tensorflow as tf
m, k, n, dtype, seconds = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
a = tf.random.normal((m, k), dtype="float32")
b = tf.random.normal((k, n), dtype="float32")
a, b = tf.cast(a, dtype), tf.cast(b, dtype)

@tf.function
def repeat(a, b, times):
    # a loop of products, each on an input scaled by the step (so no product can be hoisted out of the loop)
    def step(i, total):
        return i + 1, total + tf.matmul(a * tf.cast(i, dtype), b)
    return tf.while_loop(lambda i, total: i < times, step, (tf.constant(0), tf.zeros((m, n), dtype)))[1]

repeat(a, b, tf.constant(2)).numpy()  # traced and warmed up
times = 8
while True:
    started = time.perf_counter()
    repeat(a, b, tf.constant(times)).numpy()
    elapsed = time.perf_counter() - started
    if elapsed > seconds:
        break
    times *= 2
print(json.dumps({"gflops": 2 * m * k * n * times / elapsed / 1e9}))
"""

SHAPES = {
    "batch 128: 784 -> 512": (128, 784, 512),
    "batch 128: 512 -> 512": (128, 512, 512),
    "batch 32: 784 -> 512": (32, 784, 512),
    "square 2048": (2048, 2048, 2048),
}


def measure(shape: tuple[int, int, int], dtype: str, threads: int, seconds: float) -> float:
    env = {**os.environ, "TF_NUM_INTRAOP_THREADS": str(threads), "TF_NUM_INTEROP_THREADS": "1",
           "OMP_NUM_THREADS": str(threads), "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-c", MEASURE, *map(str, shape), dtype, str(seconds)]
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])["gflops"]


def epoch_flops(layers: list[int], train: int = 50_000, validation: int = 10_000) -> float:
    """Multiply-adds of one epoch, as FLOPs: 2 per weight per example forward, 3 times that to train."""
    weights = sum(a * b for a, b in zip(layers, layers[1:], strict=False))
    return 2 * weights * (3 * train + validation)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=1.0, help="time each measurement at least this long")
    parser.add_argument("--layers", default="784,512,512,10", help="the dense network's widths, input to output")
    parser.add_argument("--epoch-seconds", type=float, help="a measured epoch time to put beside the limit")
    args = parser.parse_args()
    print("| product | dtype | 1 thread (GFLOP/s) | 2 threads (GFLOP/s) |")
    print("| --- | --- | ---: | ---: |")
    rates = {}
    for label, shape in SHAPES.items():
        for dtype in ("float32", "bfloat16"):
            one, two = (measure(shape, dtype, threads, args.seconds) for threads in (1, 2))
            rates[(label, dtype)] = (one, two)
            print(f"| {label} | {dtype} | {one:.0f} | {two:.0f} |", flush=True)
    layers = [int(width) for width in args.layers.split(",")]
    flops = epoch_flops(layers)
    print(f"\nOne epoch of a {'-'.join(map(str, layers))} dense network (50,000 trained, 10,000 validated): "
          f"{flops / 1e9:.1f} GFLOP")
    for threads, index in (("1 thread", 0), ("2 threads", 1)):
        rate = rates[("batch 128: 784 -> 512", "float32")][index]
        line = f"- {threads}, float32 at the batch-128 rate ({rate:.0f} GFLOP/s): at best {flops / 1e9 / rate:.2f} s"
        if args.epoch_seconds:
            line += f"; measured {args.epoch_seconds:.2f} s, {flops / 1e9 / rate / args.epoch_seconds:.0%} of the limit"
        print(line)


if __name__ == "__main__":
    main()
