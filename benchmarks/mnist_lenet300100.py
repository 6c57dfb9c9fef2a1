"""LeNet-300-100 on full MNIST: switched model against plain Dense, same run.

Trains the plain-Dense model and the switched model with the same setting,
epochs and batch size in one process, evaluates both on the 10,000 test
images, counts sparsity from the gates and times the epochs. Writes
`benchmarks/results/mnist_lenet300100[_SETTING].json` and `.md`.

    python benchmarks/mnist_lenet300100.py --epochs 20 --batch-size 128
"""

import argparse
import os

import keras

from keras_switcher import datasets, report, training

from _common import SHARED_DATA, EpochTimer, machine, write_results


def train(model, train_data, test_data, epochs, setting):
    timer = EpochTimer()
    callbacks = [timer]
    if hasattr(model, "switcher_optimizer"):
        callbacks += training.training_callbacks(setting, epochs)
    else:
        callbacks.append(training.decay(epochs))
    model.fit(train_data, epochs=epochs, callbacks=callbacks, shuffle=False, verbose=2)
    _, accuracy = model.evaluate(test_data, verbose=0)
    return accuracy, timer


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.path.join(SHARED_DATA, "mnist"))
    parser.add_argument("--setting", default="paper", choices=sorted(training.SETTINGS))
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    train_data = datasets.load("mnist", "train", args.batch_size, args.data_dir, seed=args.seed)
    test_data = datasets.load("mnist", "test", 1000, args.data_dir)
    runs = {}
    for switched in (False, True):
        keras.utils.set_random_seed(args.seed)
        model = training.build_model(
            "lenet300100", (28, 28, 1), args.epochs, setting=args.setting, switched=switched
        )
        accuracy, timer = train(model, train_data, test_data, args.epochs, args.setting)
        runs["switched" if switched else "dense"] = (model, accuracy, timer)

    dense_seconds = runs["dense"][2].steady_seconds()
    model, accuracy, timer = runs["switched"]
    sparsity = report(model)
    results = {
        "setting": args.setting,
        "setting_description": training.SETTINGS[args.setting].description,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "machine": machine(),
        "dense": {
            "test_accuracy": runs["dense"][1],
            "seconds_per_epoch": dense_seconds,
            "epoch_seconds": runs["dense"][2].seconds,
        },
        "switched": {
            "test_accuracy": accuracy,
            "seconds_per_epoch": timer.steady_seconds(),
            "epoch_seconds": timer.seconds,
            "time_ratio_to_dense": timer.steady_seconds() / dense_seconds,
            "sparsity": sparsity,
        },
    }
    lines = [
        f"LeNet-300-100, full MNIST (60k train / 10k test), setting `{args.setting}` "
        f"({results['setting_description']}), {args.epochs} epochs, batch {args.batch_size}, "
        "learning rates x0.1 at 50% and 75% of the epochs, CPU "
        f"({machine()['cpus']} cores).",
        "",
        "| model | test accuracy | FC sparsity | s/epoch | time vs dense |",
        "|---|---|---|---|---|",
        f"| plain Dense | {runs['dense'][1]:.2%} | 0.00% | {dense_seconds:.1f} | 1.00x |",
        f"| switched | {accuracy:.2%} | {sparsity['total']['sparsity']:.2%} | "
        f"{timer.steady_seconds():.1f} | {timer.steady_seconds() / dense_seconds:.2f}x |",
        "",
        "| layer | shape | kept | sparsity |",
        "|---|---|---|---|",
    ]
    for row in sparsity["layers"]:
        lines.append(
            f"| {row['name']} | {row['shape'][0]}x{row['shape'][1]} | "
            f"{row['kept']:,} of {row['connections']:,} | {row['sparsity']:.2%} |"
        )
    suffix = "" if args.setting == "paper" else f"_{args.setting}"
    write_results(f"mnist_lenet300100{suffix}", results, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
