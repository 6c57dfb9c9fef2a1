"""ResNet18 on real CIFAR-10: switched head against the plain head, same run.

Trains ResNet18 (CIFAR stem) twice in this process with the same data,
seed, optimiser and budget: once with its classifier switched (the
`recommended` switcher at a target sparsity), once with a plain `Dense`
classifier. Reports true test accuracy on the first 1,000 CIFAR-10 test
images (`../shared/data/cifar10-test-first1000`), the head's sparsity
counted from its weights, and seconds per epoch.

    python benchmarks/cifar10_resnet18.py [--train-examples 5000] [--epochs 2]

The default is a CPU budget. The paper's budget needs a GPU, see the
README (`examples/cifar10_resnet18.py --epochs 200`).
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_switcher import baselines, datasets, report, training  # noqa: E402

from _common import SHARED_DATA, EpochTimer, cifar10_test_arrays, machine, write_results  # noqa: E402

TEST_FILE = os.path.join(SHARED_DATA, "cifar10-test-first1000", "test_batch_first1000.bin")


def test_data():
    return tf.data.Dataset.from_tensor_slices(cifar10_test_arrays()).batch(500)


def run(switched, args):
    keras.utils.set_random_seed(args.seed)
    train = datasets.load(
        "cifar10",
        split=f"train[:{args.train_examples}]",
        batch_size=args.batch_size,
        data_dir=SHARED_DATA,
        augment=True,
        normalize=True,
        seed=args.seed,
    )
    model = training.build_model(
        "resnet18",
        (32, 32, 3),
        args.epochs,
        setting="recommended",
        switched=switched,
        target_sparsity=args.target_sparsity,
        alternate=(args.task_steps, args.switcher_steps),
    )
    timer = EpochTimer()
    callbacks = [timer]
    if switched:
        callbacks += training.training_callbacks("recommended", args.epochs)
    else:
        callbacks.append(training.decay(args.epochs))
    model.fit(train, epochs=args.epochs, callbacks=callbacks, verbose=2)
    _, accuracy = model.evaluate(test_data(), verbose=0)
    if switched:
        sparsity = report(model)["total"]["sparsity"]
    else:
        sparsity = baselines.zero_fraction(model)
    return {
        "head": "switched" if switched else "plain",
        "test_accuracy": float(accuracy),
        "head_sparsity": sparsity,
        "seconds_per_epoch": timer.steady_seconds(),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-examples", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--target-sparsity", type=float, default=0.9)
    parser.add_argument("--task-steps", type=int, default=60)
    parser.add_argument("--switcher-steps", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not os.path.isfile(TEST_FILE):
        raise SystemExit(f"CIFAR-10 files not found under {SHARED_DATA} (pass the folder of the CIFAR-10 binary files, see README.md)")
    rows = [run(True, args), run(False, args)]
    budget = (
        f"ResNet18 (CIFAR stem) on the first {args.train_examples:,} CIFAR-10 training "
        f"images (crop + flip, normalised), {args.epochs} epochs, batch {args.batch_size}, "
        "setting `recommended` (Adam 1e-3, x0.1 at 50%/75%; switcher: binary gate, "
        f"magnitude prior, ramp to {args.target_sparsity:.0%} over the first half, "
        f"{args.task_steps} task / {args.switcher_steps} switcher steps). Test: the first "
        "1,000 CIFAR-10 test images. CPU (2 cores), seed "
        f"{args.seed}."
    )
    lines = [budget, "", "| head | test accuracy | head sparsity | s/epoch |", "|---|---|---|---|"]
    for row in rows:
        lines.append(
            f"| {row['head']} | {row['test_accuracy']:.2%} | {row['head_sparsity']:.2%} | "
            f"{row['seconds_per_epoch']:.0f} |"
        )
    write_results(
        "cifar10_resnet18",
        {"machine": machine(), "arguments": vars(args), "rows": rows},
        "\n".join(lines) + "\n",
    )


if __name__ == "__main__":
    main()
