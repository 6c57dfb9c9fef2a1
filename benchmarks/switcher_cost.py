"""Cost of computing a gate: seconds and peak memory against kernel size.

For each kernel size, a fresh process builds the default U-Net switcher (the
authors' network), times the gate's forward pass and its forward+backward
pass (what one uncached training step pays per switched layer), and reads
the process's peak resident memory. A second table times a whole switcher
step of a `SwitchedDense` 784x300 layer at several batch sizes, to show that
the switcher's cost does not grow with the batch. Writes
`benchmarks/results/switcher_cost.json` and `.md`.

    python benchmarks/switcher_cost.py
"""

import argparse
import json
import os
import resource
import subprocess
import sys

SIZES = [(784, 300), (1024, 1024), (2048, 2048), (4096, 4096)]
BATCHES = [32, 128, 512, 2048]


def measure_kernel(rows, cols, repeats):
    """Runs in a child process: one kernel size."""
    import keras
    import tensorflow as tf

    from _common import median_seconds
    from keras_switcher import UNetSwitcher

    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    switcher = UNetSwitcher()
    kernel = tf.Variable(keras.random.normal((rows, cols), seed=0))
    switcher.build(kernel.shape)
    variables = [v.value for v in switcher.trainable_variables] + [kernel]

    @tf.function
    def forward():
        return tf.reduce_sum(switcher(kernel))

    @tf.function
    def forward_backward():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(switcher(kernel) * kernel)
        return tape.gradient(loss, variables)

    result = {
        "kernel": f"{rows}x{cols}",
        "connections": rows * cols,
        "forward_seconds": median_seconds(lambda: forward().numpy(), repeats),
        "forward_backward_seconds": median_seconds(
            lambda: [g.numpy() for g in forward_backward()], repeats
        ),
        # ru_maxrss is in KiB on Linux.
        "peak_memory_mib": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline) / 1024,
    }
    print(json.dumps(result))


def measure_batches(repeats):
    """Runs in a child process: switcher steps of one layer at several batch sizes."""
    import keras
    import numpy as np

    from _common import median_seconds
    from keras_switcher import SwitchedDense, SwitchedModel

    inputs = keras.Input((784,))
    model = SwitchedModel(inputs, SwitchedDense(300)(inputs), alternate=1_000_000)
    model.compile(optimizer="sgd", switcher_optimizer="sgd", loss="mse")
    model.steps_seen.assign(1_000_000)  # Every step is a switcher step.
    rows = []
    for batch in BATCHES:
        x = np.random.rand(batch, 784).astype("float32")
        y = np.random.rand(batch, 300).astype("float32")
        rows.append(
            {"batch": batch, "step_seconds": median_seconds(lambda: model.train_on_batch(x, y), repeats)}
        )
    print(json.dumps(rows))


def child(arguments):
    output = subprocess.run(
        [sys.executable, __file__, *arguments],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernel", nargs=2, type=int, help=argparse.SUPPRESS)
    parser.add_argument("--batches", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.kernel:
        return measure_kernel(*args.kernel, args.repeats)
    if args.batches:
        return measure_batches(args.repeats)

    from _common import machine, write_results

    kernels = [child(["--kernel", str(r), str(c), "--repeats", str(args.repeats)]) for r, c in SIZES]
    batches = child(["--batches", "--repeats", str(args.repeats)])
    lines = [
        "Gate computation of the default U-Net switcher (depth 5, 8-256 channels), "
        f"median of {args.repeats} runs, CPU ({machine()['cpus']} cores). Peak memory is the "
        "growth of the process's resident memory over the measurement.",
        "",
        "| kernel | connections | forward s | forward+backward s | s per 1M connections (fwd+bwd) | peak memory MiB |",
        "|---|---|---|---|---|---|",
    ]
    for row in kernels:
        per_million = row["forward_backward_seconds"] / row["connections"] * 1e6
        lines.append(
            f"| {row['kernel']} | {row['connections']:,} | {row['forward_seconds']:.3f} | "
            f"{row['forward_backward_seconds']:.3f} | {per_million:.3f} | {row['peak_memory_mib']:.0f} |"
        )
    lines += [
        "",
        "Switcher-phase training step of one `SwitchedDense(300)` on 784 inputs (uncached):",
        "",
        "| batch | s per step |",
        "|---|---|",
    ]
    lines += [f"| {row['batch']} | {row['step_seconds']:.3f} |" for row in batches]
    write_results(
        "switcher_cost",
        {"machine": machine(), "kernels": kernels, "batches": batches},
        "\n".join(lines) + "\n",
    )


if __name__ == "__main__":
    main()
