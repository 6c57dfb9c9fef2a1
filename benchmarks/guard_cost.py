"""Cost of `NonFiniteGuard`'s state check against the training step.

The guard checks every floating-point variable of the model every
`frequency` steps (default 20). For LeNet-300-100 (recommended setting) and
ResNet18 with a switched head, this script times, in one process, a
training step (`train_on_batch`, median) and one state check (median), and
gives the overhead at the default frequency: `check / (20 * step)`. For
LeNet-300-100 it also times whole epochs of `fit` with the guard checking
every step, every 20 steps (the default) and only at the end of each epoch.
Writes `benchmarks/results/guard_cost.json` and `.md`.

    python benchmarks/guard_cost.py
"""

import argparse
import os

import keras
import numpy as np

from _common import SHARED_DATA, EpochTimer, machine, median_seconds, write_results
from keras_switcher import NonFiniteGuard, datasets, training

DEFAULT_FREQUENCY = 20


def per_call(builder, input_shape, batch_size, repeats):
    """Median seconds of one training step and of one state check."""
    keras.utils.set_random_seed(0)
    model = training.build_model(builder, input_shape, epochs=10, setting="recommended")
    rng = np.random.RandomState(0)
    x = rng.rand(batch_size, *input_shape).astype("float32")
    y = rng.randint(0, 10, batch_size)
    step = median_seconds(lambda: model.train_on_batch(x, y), repeats)
    guard = NonFiniteGuard()
    guard.set_model(model)
    check = median_seconds(lambda: guard.check({"loss": 1.0}), repeats)
    variables = [v for v in model.variables if keras.backend.is_float_dtype(v.dtype)]
    return {
        "model": builder,
        "input_shape": list(input_shape),
        "batch_size": batch_size,
        "checked_variables": len(variables),
        "checked_values": int(sum(np.prod(v.shape) for v in variables)),
        "step_seconds": step,
        "check_seconds": check,
        "overhead_at_default_frequency": check / (DEFAULT_FREQUENCY * step),
    }


def per_epoch(images, labels, epochs):
    """Seconds per epoch of LeNet-300-100 with the guard at three frequencies."""
    rows = []
    for label, frequency in [("every step", 1), ("every 20 steps (default)", 20), ("epoch ends only", 10**9)]:
        keras.utils.set_random_seed(0)
        model = training.build_model("lenet300100", images.shape[1:], epochs, setting="recommended")
        timer = EpochTimer()
        model.fit(
            images, labels, batch_size=128, epochs=epochs, verbose=0,
            callbacks=[NonFiniteGuard(frequency=frequency), timer],
        )
        rows.append({"guard": label, "frequency": frequency, "seconds_per_epoch": timer.steady_seconds()})
    base = rows[-1]["seconds_per_epoch"]
    for row in rows:
        row["ratio"] = row["seconds_per_epoch"] / base
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--examples", type=int, default=20000, help="MNIST training images per epoch")
    args = parser.parse_args()
    calls = [
        per_call("lenet300100", (28, 28, 1), 128, args.repeats),
        per_call("resnet18", (32, 32, 3), 64, max(args.repeats // 6, 3)),
    ]
    try:
        data = datasets.load("mnist", split=f"train[:{args.examples}]", batch_size=args.examples,
                             data_dir=os.path.join(SHARED_DATA, "mnist"), shuffle=False)
        source = "MNIST"
    except (OSError, ValueError):
        data = datasets.load("digits", split="train", batch_size=2000, shuffle=False)
        source = "digits"
    images, labels = (np.asarray(t) for t in next(iter(data)))
    epochs = per_epoch(images, labels, args.epochs)
    results = {"machine": machine(), "calls": calls, "epochs": epochs, "epoch_data": source,
               "epoch_examples": len(images)}
    lines = [
        "# NonFiniteGuard: cost of the state check",
        "",
        "Medians in one process, recommended setting, CPU. Overhead = check / "
        f"({DEFAULT_FREQUENCY} x step), the guard's default frequency.",
        "",
        "| model | batch | variables checked | values checked | step ms | check ms | overhead |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in calls:
        lines.append(
            f"| {row['model']} {tuple(row['input_shape'])} | {row['batch_size']} | {row['checked_variables']} "
            f"| {row['checked_values']:,} | {1000 * row['step_seconds']:.2f} | {1000 * row['check_seconds']:.2f} "
            f"| {row['overhead_at_default_frequency']:.2%} |"
        )
    lines += [
        "",
        f"LeNet-300-100 `fit`, {len(images):,} {source} images, batch 128, {args.epochs} epochs "
        "(median epoch after the first):",
        "",
        "| guard checks | s/epoch | vs epoch ends only |",
        "|---|---|---|",
    ]
    for row in epochs:
        lines.append(f"| {row['guard']} | {row['seconds_per_epoch']:.2f} | {row['ratio']:.2f}x |")
    write_results("guard_cost", results, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
