"""Runs `keras-switcher train` with the authors' setting for one pair of the paper.

The script's arguments go to `keras-switcher train` after the authors'
budget, so they override it: `--epochs 2 --data-dir DIR`, or the smallest
run, `--epochs 1 --train-split 'train[:16]' --batch-size 16
--validation-split 0 --no-compare` (one step; the model is still evaluated
on the whole test split and exported to TFLite). `--dry-run` prints the
command, checked by the command line's parser, and trains nothing.
"""

import shlex
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
    arguments = [argument for argument in sys.argv[1:] if argument != "--dry-run"]
    argv = ["train", "--model", model, "--dataset", dataset, "--setting", "paper"]
    argv += _DEFAULTS[dataset] + list(extra) + arguments
    argv += ["--output", f"{model}_{dataset}.keras"] if "--output" not in arguments else []
    if "--dry-run" in sys.argv[1:]:
        cli.build_parser().parse_args(argv)  # Exits with status 2 on a wrong argument.
        print(shlex.join(["keras-switcher"] + argv))
        sys.exit(0)
    sys.exit(cli.main(argv))
