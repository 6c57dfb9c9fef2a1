"""The `keras-switcher` command line."""

import argparse
import contextlib
import json
import math
import os
import shlex
import sys
import tempfile

import keras
import numpy as np

from keras_switcher import (
    callbacks,
    comparison,
    datasets,
    export,
    plot,
    reporting,
    saving,
    switchers,
    training,
)
from keras_switcher._extras import MissingExtraError, require
from keras_switcher.sparsity import ALLOCATIONS
from keras_switcher.training import SETTINGS

# The modules above import without TensorFlow: what a subcommand needs
# beyond Keras and NumPy is imported when it runs (`report` needs nothing
# more), and a missing one is named with its extra before the work starts.


def _number(kind, accept, expected):
    """An argparse type: converts with `kind`, then checks with `accept`."""

    def convert(value):
        try:
            number = kind(value)
        except ValueError:
            number = None
        if number is None or not accept(number):
            raise argparse.ArgumentTypeError(f"expected {expected}, received {value!r}")
        return number

    convert.__name__ = expected  # What argparse names in its messages.
    return convert


_positive_int = _number(int, lambda n: n > 0, "a positive integer")
_non_negative_int = _number(int, lambda n: n >= 0, "a non-negative integer")
_positive_float = _number(float, lambda x: x > 0 and x != float("inf"), "a positive number")
_sparsity = _number(float, lambda x: 0 <= x < 1, "a fraction in [0, 1)")
_holdout_fraction = _number(float, lambda x: 0 <= x < 1, "a fraction in [0, 1)")
_epoch_fraction = _number(float, lambda x: 0 < x <= 1, "a fraction of the epochs in (0, 1]")


def _alternate(value):
    if value == "epoch":
        return value
    return _number(int, lambda n: n > 0, "'epoch' or a positive number of steps")(value)


def build_parser():
    """The `argparse` parser of `keras-switcher` and its three commands.

    Returns:
        An `argparse.ArgumentParser`.

    Example:

    >>> build_parser().parse_args(["report", "model.keras"]).command
    'report'
    """
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
    train.add_argument("--dataset", default="digits", choices=datasets.NAMES)
    train.add_argument(
        "--data-dir",
        default=None,
        help="folder of the dataset's original files (default: tensorflow-datasets)",
    )
    train.add_argument("--model", default="lenet300100", choices=sorted(training.BUILDERS))
    train.add_argument(
        "--augment", action="store_true", help="CIFAR's random crop and flip"
    )
    train.add_argument(
        "--normalize", action="store_true", help="standardise each image channel"
    )
    train.add_argument(
        "--setting",
        default="recommended",
        choices=sorted(SETTINGS),
        # argparse formats help with `%`: the descriptions' percentages are escaped.
        help="; ".join(f"{name}: {s.description}" for name, s in SETTINGS.items()).replace("%", "%%"),
    )
    train.add_argument(
        "--switcher",
        default=None,
        choices=sorted(switchers.NAMES),
        help="the rule that switches the connections; default: the setting's (unet)",
    )
    train.add_argument("--epochs", type=_positive_int, default=20)
    train.add_argument("--batch-size", type=_positive_int, default=None, help="default: the setting's")
    train.add_argument("--train-split", default="train", help="e.g. 'train[:10000]'")
    train.add_argument(
        "--validation-split",
        type=_holdout_fraction,
        default=0.1,
        help="fraction of the training split held out for validation curves (0: none)",
    )
    train.add_argument(
        "--compare",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also train the plain model and magnitude pruning on the same data, "
        "for comparison (--no-compare on large datasets)",
    )
    train.add_argument(
        "--task-optimizer",
        choices=sorted(training.TASK_OPTIMIZERS),
        default=None,
        help="task optimiser (momentum: SGD 0.1, Nesterov momentum 0.9, weight decay 5e-4; "
        "default: the setting's)",
    )
    train.add_argument("--lr", type=_positive_float, default=None, help="task learning rate")
    train.add_argument("--switcher-lr", type=_positive_float, default=None)
    train.add_argument(
        "--alternate",
        type=_alternate,
        default=None,
        help="'epoch' or a number of steps per phase (default: the setting's)",
    )
    train.add_argument("--warmup-epochs", type=_non_negative_int, default=0)
    train.add_argument(
        "--target-sparsity",
        type=_sparsity,
        default=None,
        help="overall sparsity of the switched layers (default: the setting's)",
    )
    train.add_argument(
        "--allocation",
        choices=ALLOCATIONS,
        default=None,
        help="how the sparsity is shared among layers (default: the setting's, else erk)",
    )
    train.add_argument(
        "--block-size",
        type=_positive_int,
        default=None,
        help="switch connections in blocks of this many inputs (4: TFLite's fast float kernel)",
    )
    train.add_argument(
        "--decay-at",
        type=_epoch_fraction,
        nargs="*",
        default=(0.5, 0.75),
        help="fractions of the epochs at which both learning rates drop 10x",
    )
    train.add_argument("--seed", type=int, default=0)
    train.add_argument(
        "--output",
        default="switched_model.keras",
        help="model file; a .tflite export and a .json summary are written beside it",
    )
    train.add_argument(
        "--tensorboard", default=None, help="folder for TensorBoard logs (sparsity and masks)"
    )
    train.add_argument("--verbose", type=int, default=2, choices=(0, 1, 2))

    report_command = commands.add_parser(
        "report",
        help="print the per-layer sparsity of a saved switched model",
        description="Counts kept connections and dead neurons of each switched layer.",
    )
    report_command.add_argument("model", help="a .keras file with switched layers")
    report_command.add_argument("--json", action="store_true", help="print JSON instead of a table")

    export_command = commands.add_parser(
        "export",
        help="write a saved switched model as a sparse TFLite file",
        description=(
            "Strips the switchers of a saved model (Dense kernels hold kernel "
            "* gate), converts it to TFLite with sparse weights, checks it in "
            "the LiteRT interpreter against Keras and prints a report."
        ),
    )
    export_command.add_argument("model", help="a .keras file with switched layers")
    export_command.add_argument("--tflite", required=True, help="output .tflite file")
    export_command.add_argument(
        "--quantize", default=None, choices=[q for q in export.QUANTIZATIONS if q]
    )
    export_command.add_argument(
        "--shrink", action="store_true", help="remove dead units first"
    )
    export_command.add_argument(
        "--dataset",
        default=None,
        choices=datasets.NAMES,
        help="real inputs to check the file on and to calibrate int8 (default: random inputs)",
    )
    export_command.add_argument("--data-dir", default=None)
    export_command.add_argument(
        "--normalize", action="store_true", help="standardise the sample images' channels"
    )
    return parser


@contextlib.contextmanager
def _native_logs_held_back():
    """Holds back what native code (the TFLite converter, LiteRT) writes to
    the process's standard error, and shows it only if the block fails."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _arrays(dataset):
    """Concatenates a dataset of `(images, labels)` batches into two arrays."""
    images, labels = zip(*((np.asarray(x), np.asarray(y)) for x, y in dataset))
    return np.concatenate(images), np.concatenate(labels)


def _data(args):
    """The training split, its held-out validation part and the test arrays.

    Returns:
        `(train_split, train_data, validation_data, images, labels)`;
        `validation_data` is `None` with `--validation-split 0`.
    """
    batch_size = args.batch_size if args.batch_size is not None else SETTINGS[args.setting].batch_size
    train_split, validation = args.train_split, None
    if args.validation_split:
        train_split, validation_split = datasets.hold_out(args.dataset, args.train_split, args.validation_split)
        validation = datasets.load(
            args.dataset, split=validation_split, batch_size=1000, data_dir=args.data_dir,
            normalize=args.normalize, shuffle=False,
        )
    train_data = datasets.load(
        args.dataset,
        split=train_split,
        batch_size=batch_size,
        data_dir=args.data_dir,
        seed=args.seed,
        augment=args.augment,
        normalize=args.normalize,
    )
    images, labels = _arrays(
        datasets.load(args.dataset, split="test", batch_size=1000, data_dir=args.data_dir, normalize=args.normalize)
    )
    return train_split, train_data, validation, images, labels


def _pictures(model, history, sparsity, input_shape, stem, events):
    """Writes the run's PNGs beside the model and returns their paths."""
    pictures = [
        plot.training_curves(history, f"{stem}_curves.png", events=events),
        plot.model_overview(sparsity, f"{stem}_model.png"),
    ]
    for layer in model.switched_layers:
        if layer.kernel.shape[0] == math.prod(input_shape):  # Fed by the image itself.
            pictures.append(plot.input_map(layer, input_shape, f"{stem}_pixels_{layer.name}.png"))
        pictures.append(plot.mask(layer, f"{stem}_mask_{layer.name}.png"))
    return pictures


def train(args):
    """Runs `keras-switcher train` with parsed arguments."""
    saving.check_output_path(args.output, ".keras")
    # Checked first, not after minutes of training: the TFLite export and
    # the pictures at the end.
    export.check_convertible_backend(
        "keras-switcher train ends with one: Run it with KERAS_BACKEND=tensorflow "
        "or KERAS_BACKEND=jax."
    )
    require("tensorflow", "keras-switcher train (its TFLite export)")
    require("ai_edge_litert", "keras-switcher train (its TFLite check)")
    require("matplotlib", "keras-switcher train (its pictures)")
    keras.utils.set_random_seed(args.seed)
    train_split, train_data, validation, images, labels = _data(args)
    input_shape = tuple(images.shape[1:])
    classes = datasets.CLASSES[args.dataset]
    switcher = args.switcher
    if args.block_size is not None:
        switcher = switchers.fresh(
            switcher or SETTINGS[args.setting].switcher(), block_size=args.block_size
        )
    model = training.build_model(
        args.model,
        input_shape,
        args.epochs,
        classes=classes,
        setting=args.setting,
        target_sparsity=args.target_sparsity,
        allocation=args.allocation,
        alternate=args.alternate,
        warmup_epochs=args.warmup_epochs,
        switcher=switcher,
        learning_rate=args.lr,
        switcher_learning_rate=args.switcher_lr,
        task_optimizer=args.task_optimizer,
    )
    timer = comparison.EpochTimer()
    history = model.fit(
        train_data,
        epochs=args.epochs,
        validation_data=validation,
        callbacks=training.training_callbacks(args.setting, args.epochs, args.decay_at)
        + [callbacks.SparsityLogger(args.tensorboard), timer],
        shuffle=False,  # The dataset reshuffles itself each epoch.
        verbose=args.verbose,
    )
    predictions = model.predict(images, batch_size=1000, verbose=0)  # Few gate computations.
    keras_correct = int(np.sum(np.argmax(predictions, -1) == labels))
    sparsity = reporting.report(model)
    rows = [
        {
            "method": f"switcher ({args.setting})",
            "test_correct": keras_correct,
            "test_accuracy": keras_correct / len(labels),
            "sparsity": sparsity["total"]["sparsity"],
            "seconds_per_epoch": timer.steady_seconds(),
            "history": {key: [float(v) for v in values] for key, values in history.history.items()},
        }
    ]
    print(
        f"\nTest accuracy: {rows[0]['test_accuracy']:.2%}  "
        f"sparsity of switched layers: {rows[0]['sparsity']:.2%}\n"
    )
    print(reporting.format_report(sparsity))
    if args.compare:
        rows += comparison.baseline_runs(
            args.model, input_shape, classes, args.setting, args.epochs, train_data, images, labels,
            sparsity=rows[0]["sparsity"], validation_data=validation, decay_at=args.decay_at,
            learning_rate=args.lr, task_optimizer=args.task_optimizer,
        )
        print(f"\nThe same model, data and epochs ({len(labels):,} test images):\n")
        print(comparison.format_comparison(rows))
    saving.save_model(model, args.output)
    stem = args.output[: -len(".keras")]
    with _native_logs_held_back():
        tflite = export.to_tflite(model, f"{stem}.tflite", sample_inputs=images)
        tflite_outputs = export.run_tflite(tflite["path"], images)
    tflite_correct = int(np.sum(np.argmax(tflite_outputs, -1) == labels))
    events = {
        "ramp ends": training.ramp_end_epoch(args.setting, args.epochs),
        "switchers freeze": training.freeze_epoch(args.setting, args.epochs, args.warmup_epochs),
    }
    events = {name: epoch for name, epoch in events.items() if epoch is not None and epoch < args.epochs}
    summary = {
        "command": shlex.join(["keras-switcher"] + args.argv),
        "dataset": args.dataset,
        "setting": args.setting,
        "epochs": args.epochs,
        "train_split": train_split,
        "validation_split": args.validation_split,
        "test_examples": len(labels),
        "keras_correct": keras_correct,
        "keras_accuracy": keras_correct / len(labels),
        "tflite_correct": tflite_correct,
        "tflite_accuracy": tflite_correct / len(labels),
        "tflite_max_abs_error": tflite["max_abs_error"],
        "sparsity": sparsity,
        "comparison": rows,
        "events": events,
        "keras_bytes": os.path.getsize(args.output),
        "tflite_bytes": tflite["bytes"],
    }
    saving.write_atomic(f"{stem}.json", json.dumps(summary, indent=2).encode())
    pictures = _pictures(model, history, sparsity, input_shape, stem, events)
    print(
        f"\nSaved {os.path.abspath(args.output)}\n"
        f"Saved {os.path.abspath(tflite['path'])} ({tflite['bytes']:,} bytes, "
        f"test accuracy {tflite_correct / len(labels):.2%}, largest difference "
        f"from Keras {tflite['max_abs_error']:.2g})\n"
        f"Saved {os.path.abspath(stem)}.json and {len(pictures)} pictures: "
        + ", ".join(os.path.basename(picture) for picture in pictures)
    )


def export_model(args):
    """Runs `keras-switcher export` with parsed arguments."""
    saving.check_output_path(args.tflite, ".tflite")
    require("tensorflow", "keras-switcher export (the TFLite converter)")
    require("ai_edge_litert", "keras-switcher export (the LiteRT interpreter)")
    model = saving.load_model(args.model, compile=False)
    samples = None
    if args.dataset is not None:
        samples = datasets.load(
            args.dataset,
            split="test[:1000]",
            batch_size=1000,
            data_dir=args.data_dir,
            normalize=args.normalize,
        )
    elif args.quantize == "int8":
        raise ValueError(
            "--quantize int8 needs real inputs to calibrate the activations: "
            "pass --dataset (and --data-dir)."
        )
    with _native_logs_held_back():
        result = export.to_tflite(
            model,
            args.tflite,
            quantize=args.quantize,
            representative_data=samples,
            sample_inputs=samples,
            shrink=args.shrink,
        )
    print(export.format_export_report(result))


def report_model(args):
    """Runs `keras-switcher report` with parsed arguments."""
    counted = reporting.report(saving.load_model(args.model, compile=False))
    print(json.dumps(counted, indent=2) if args.json else reporting.format_report(counted))


def main(argv=None):
    """Entry point of the `keras-switcher` console script."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        {"train": train, "export": export_model, "report": report_model}[args.command](args)
    except (ValueError, OSError, RuntimeError, MissingExtraError) as error:
        print(f"keras-switcher {args.command}: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
