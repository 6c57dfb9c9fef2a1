"""Runs `keras-switcher train` with the authors' setting for one pair of the paper."""

import sys

from keras_switcher import cli

# The authors' budgets: MNIST 100 epochs; CIFAR 200 epochs with crop + flip.
_DEFAULTS = {
    "mnist": ["--epochs", "100", "--batch-size", "64"],
    "cifar10": ["--epochs", "200", "--batch-size", "64", "--augment", "--normalize"],
    "cifar100": ["--epochs", "200", "--batch-size", "64", "--augment", "--normalize"],
}


def run(model, dataset, *extra):
    """Trains `model` on `dataset` in the `paper` setting; command-line
    arguments (`--epochs 2 --data-dir DIR`, ...) override the defaults."""
    argv = ["train", "--model", model, "--dataset", dataset, "--setting", "paper"]
    argv += _DEFAULTS[dataset] + list(extra) + sys.argv[1:]
    argv += ["--output", f"{model}_{dataset}.keras"] if "--output" not in sys.argv else []
    sys.exit(cli.main(argv))
