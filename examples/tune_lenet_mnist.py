"""A short real Keras Tuner search of LeNet-300-100's switcher settings on MNIST.

Searches the target sparsity, gate, switcher size and learning rates with
Hyperband, maximising validation accuracy among models with at least 90% of
their connections off (`val_score`), then evaluates the best model on the
test set and prints its per-layer sparsity.

    python examples/tune_lenet_mnist.py --data-dir DIR [--train-examples 10000] [--max-epochs 4]
"""

import argparse

import keras_tuner

from keras_switcher import datasets, format_report, report
from keras_switcher.tuner import SwitchedHyperModel, build_tuner


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="MNIST's IDX files (default: tensorflow-datasets)")
    parser.add_argument("--train-examples", type=int, default=10_000)
    parser.add_argument("--max-epochs", type=int, default=4)
    parser.add_argument("--directory", default="tuning")
    args = parser.parse_args()
    train = datasets.load(
        "mnist", f"train[:{args.train_examples}]", 128, data_dir=args.data_dir, seed=0
    )
    validation = datasets.load("mnist", "train[-5000:]", 1000, data_dir=args.data_dir)
    test = datasets.load("mnist", "test", 1000, data_dir=args.data_dir)
    hypermodel = SwitchedHyperModel(
        "lenet300100",
        (28, 28, 1),
        10,
        search_space={
            "target_sparsity": [0.9, 0.95],
            "switcher_depth": [2, 3],
            "switcher_channels": 4,
            "optimizer": "adam",
            "learning_rate": (3e-4, 3e-3),
            "task_steps": 50,
            "switcher_steps": [5, 10],
            "gate_cache_steps": 25,
        },
        min_sparsity=0.9,
    )
    tuner = build_tuner(
        keras_tuner.Hyperband,
        hypermodel,
        objective="val_score",
        max_epochs=args.max_epochs,
        factor=2,
        directory=args.directory,
        project_name="lenet_mnist",
        seed=0,
    )
    tuner.search(train, validation_data=validation, verbose=2)
    best = tuner.get_best_models(1)[0]
    _, accuracy = best.evaluate(test, verbose=0)
    print("Best settings:", tuner.get_best_hyperparameters(1)[0].values)
    print(f"Test accuracy of the best model: {accuracy:.2%}")
    print(format_report(report(best)))


if __name__ == "__main__":
    main()
