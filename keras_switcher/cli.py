"""The `keras-switcher` command line."""

import argparse
import os
import sys

import keras

from keras_switcher import datasets, reporting, saving, training
from keras_switcher.training import SETTINGS


def _alternate(value):
    return value if value == "epoch" else int(value)


def _parser():
    parser = argparse.ArgumentParser(
        prog="keras-switcher",
        description="Train sparse networks whose connections a switcher learns.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser(
        "train",
        help="train a switched model, report its sparsity and save it",
        description=(
            "Trains a switched model in the authors' setting, evaluates it on "
            "the test split, prints its per-layer sparsity and saves it. "
            "Without arguments: LeNet-300-100 at 90% sparsity on "
            "scikit-learn's bundled 8x8 digits, offline, in under a minute."
        ),
    )
    train.add_argument("--dataset", default="digits", choices=("digits", "mnist"))
    train.add_argument(
        "--data-dir",
        default=None,
        help="folder of the dataset's original files (default: tensorflow-datasets)",
    )
    train.add_argument("--model", default="lenet300100", choices=("lenet300100", "lenet5"))
    train.add_argument(
        "--setting",
        default="recommended",
        choices=sorted(SETTINGS),
        help="; ".join(f"{name}: {s.description}" for name, s in SETTINGS.items()),
    )
    train.add_argument("--epochs", type=int, default=20)
    train.add_argument("--batch-size", type=int, default=None, help="default: the setting's")
    train.add_argument("--train-split", default="train", help="e.g. 'train[:10000]'")
    train.add_argument("--lr", type=float, default=None, help="task learning rate")
    train.add_argument("--switcher-lr", type=float, default=None)
    train.add_argument(
        "--alternate",
        type=_alternate,
        default=None,
        help="'epoch' or a number of steps per phase (default: the setting's)",
    )
    train.add_argument("--warmup-epochs", type=int, default=0)
    train.add_argument(
        "--target-sparsity",
        type=float,
        default=None,
        help="overall sparsity of the switched layers (default: the setting's)",
    )
    train.add_argument(
        "--decay-at",
        type=float,
        nargs="*",
        default=(0.5, 0.75),
        help="fractions of the epochs at which both learning rates drop 10x",
    )
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--output", default="switched_model.keras")
    train.add_argument("--verbose", type=int, default=2, choices=(0, 1, 2))
    return parser


def train(args):
    """Runs `keras-switcher train` with parsed arguments."""
    saving.check_keras_path(args.output)
    keras.utils.set_random_seed(args.seed)
    train_data = datasets.load(
        args.dataset,
        split=args.train_split,
        batch_size=args.batch_size or SETTINGS[args.setting].batch_size,
        data_dir=args.data_dir,
        seed=args.seed,
    )
    test_data = datasets.load(
        args.dataset, split="test", batch_size=1000, data_dir=args.data_dir
    )
    input_shape = tuple(train_data.element_spec[0].shape[1:])
    model = training.build_model(
        args.model,
        input_shape,
        args.epochs,
        setting=args.setting,
        target_sparsity=args.target_sparsity,
        alternate=args.alternate,
        warmup_epochs=args.warmup_epochs,
        learning_rate=args.lr,
        switcher_learning_rate=args.switcher_lr,
    )
    model.fit(
        train_data,
        epochs=args.epochs,
        callbacks=training.training_callbacks(args.setting, args.epochs, args.decay_at),
        shuffle=False,  # The dataset reshuffles itself each epoch.
        verbose=args.verbose,
    )
    results = model.evaluate(test_data, return_dict=True, verbose=0)
    sparsity = reporting.report(model)
    print(
        f"\nTest accuracy: {results['accuracy']:.2%}  "
        f"loss: {results['loss']:.4f}  "
        f"sparsity of switched layers: {sparsity['total']['sparsity']:.2%}\n"
    )
    print(reporting.format_report(sparsity))
    saving.save_model(model, args.output)
    print(f"\nSaved {os.path.abspath(args.output)}")


def main(argv=None):
    """Entry point of the `keras-switcher` console script."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "train":
            train(args)
    except (ValueError, OSError, RuntimeError) as error:
        print(f"keras-switcher {args.command}: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
