"""Sparse fine-tuning: a model trained on some classes is made sparse while it learns others.

A model is trained on the source classes (Adam 1e-3, `--source-epochs`),
then each method fine-tunes the same pretrained weights, with a new head
for the target classes, under the same budget, optimiser (SGD 0.01,
momentum 0.9, batch 128) and ramp: the hidden fully connected layers lose
`target` of their connections each (the `"uniform"` plan) on a cubic ramp
over 70% of the steps, the gates refreshed every 20 steps. The new head is
not switched. Methods (`--methods`):

- `dense`: fine-tuning without pruning;
- `magnitude`, `movement`, `movement+magnitude`: the weightless switchers
  of those names (gradual magnitude pruning; movement pruning; the mix
  `z(movement) + w * z(|W|)`, `w` from `--mix-weight`);
- `unet`: the U-Net switcher with the magnitude prior (the `concurrent`
  setting's: it learns from every task step's gate gradient, one update
  per refresh); `unet-frozen`: the same with its learning rate at 0;
- `unet+movement`: the U-Net whose input also has the movement scores as
  a channel and whose prior is the `movement+magnitude` mix;
  `unet+movement-frozen` its frozen twin.

Accuracy is the final epoch's on the target classes' test images; sparsity
is counted from the gates of the switched layers. Writes
`OUT/results.json` (one row per method, target and seed), `OUT/results.md`
and `OUT/accuracy_vs_sparsity.png`.

    python benchmarks/fine_tune.py --model lenet300100 --targets 0.98 0.99 --seeds 0 1 2 \
        --out benchmarks/results/fine_tune_lenet300100

`--dataset cifar10 --model cifar_cnn` fine-tunes a small convolutional
network on a CIFAR-10 class split (test images: the first 1,000 at hand).
"""

import argparse
import json
import os
import sys

import keras
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras_switcher as ks  # noqa: E402
from _common import SHARED_DATA, EpochTimer, cifar10_test_arrays, machine  # noqa: E402
from keras_switcher import applications, datasets, switchers  # noqa: E402

# Model name: (builder of the source model, its switched hidden layers).
MODELS = {
    "lenet300100": ("mnist", ["fc1", "fc2"]),
    "lenet5": ("mnist", ["fc1"]),
    "cifar_cnn": ("cifar10", ["fc1", "fc2"]),
}
METHODS = (
    "dense",
    "magnitude",
    "movement",
    "movement+magnitude",
    "unet",
    "unet-frozen",
    "unet+movement",
    "unet+movement-frozen",
)


def cifar_cnn(classes):
    """A small CIFAR network that trains in minutes on 2 cores."""
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(32, 3, activation="relu", name="conv1")(inputs)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Conv2D(64, 3, activation="relu", name="conv2")(x)
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(256, activation="relu", name="fc1")(x)
    x = keras.layers.Dense(128, activation="relu", name="fc2")(x)
    outputs = keras.layers.Dense(classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="cifar_cnn")


def source_model(name, classes):
    if name == "cifar_cnn":
        return cifar_cnn(classes)
    builder = {"lenet300100": applications.LeNet300100, "lenet5": applications.LeNet5}[name]
    return builder(input_shape=(28, 28, 1), classes=classes, switched=False)


def parse_classes(text):
    """`"0-4"` or `"0,2,4"` as a list of class indices."""
    if "-" in text:
        first, last = text.split("-")
        return list(range(int(first), int(last) + 1))
    return [int(part) for part in text.split(",")]


def split(images, labels, classes, limit=None):
    """The images of `classes`, labels renumbered 0..len(classes)-1."""
    keep = np.isin(labels, classes)
    x, y = images[keep], labels[keep]
    y = np.searchsorted(np.array(classes), y)
    if limit:
        x, y = x[:limit], y[:limit]
    return x, y.astype("int64")


def load(args):
    """`(train, test)` arrays of the dataset, float images in [0, 1] or normalised."""
    dataset = MODELS[args.model][0]
    if dataset == "mnist":
        folder = os.path.join(args.data_dir, "mnist")
        train_x, train_y = datasets.arrays("mnist", "train", folder)
        test_x, test_y = datasets.arrays("mnist", "test", folder)
        return (train_x / 255.0, train_y), (test_x / 255.0, test_y)
    train_x, train_y = datasets.arrays("cifar10", "train", os.path.join(args.data_dir, "cifar-10-batches-bin"))
    mean, std = datasets.CHANNEL_STATISTICS["cifar10"]
    return ((train_x / 255.0 - mean) / std, train_y.ravel()), cifar10_test_arrays(args.data_dir)


def pretrain(args, data, seed):
    """The source model, trained on the source classes."""
    keras.utils.set_random_seed(seed)
    (train_x, train_y), _ = data
    x, y = split(train_x, train_y, args.source_classes, args.limit)
    model = source_model(args.model, len(args.source_classes))
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    model.fit(x.astype("float32"), y, batch_size=args.batch_size, epochs=args.source_epochs, verbose=0)
    return model


def with_new_head(source, classes, seed):
    """A copy of `source` whose last layer is a new `classes`-way head."""
    keras.utils.set_random_seed(seed)
    copy = keras.models.clone_model(source)
    copy.set_weights(source.get_weights())
    features = copy.layers[-2].output
    outputs = keras.layers.Dense(classes, activation="softmax", name="new_head")(features)
    return keras.Model(copy.inputs, outputs, name=f"{source.name}_fine_tuned")


def switcher_of(method, args):
    """The switcher of a method (before the plan gives it its target)."""
    if method in ("magnitude", "movement"):
        return method
    if method == "movement+magnitude":
        return switchers.MovementSwitcher(magnitude_weight=args.mix_weight)
    movement = method.startswith("unet+movement")
    return switchers.UNetSwitcher(
        depth=3, base_channels=4, gate="binary", magnitude_prior=True,
        movement_input=movement, magnitude_weight=args.mix_weight if movement else 1.0,
    )


def run(method, target, seed, pretrained, data, args):
    """Fine-tunes the pretrained model with one method.

    Returns:
        `(row, model)`: the results row and the fine-tuned model.
    """
    (train_x, train_y), (test_x, test_y) = data
    x, y = split(train_x, train_y, args.target_classes, args.limit)
    test_x, test_y = split(test_x, test_y, args.target_classes)
    model = with_new_head(pretrained, len(args.target_classes), seed)
    optimizer = keras.optimizers.SGD(args.learning_rate, momentum=0.9)
    callbacks = [EpochTimer()]
    if method != "dense":
        learns = method.startswith("unet")
        model = ks.switch(
            model,
            layer_names=MODELS[args.model][1],
            switcher=switcher_of(method, args),
            target_sparsity=ks.SparsityPlan(target, allocation="uniform"),
            gate_refresh_steps=args.refresh_steps,
            # The U-Net learns from the task steps' gate gradients; each of its
            # updates also refreshes the gates, so it updates as often as
            # the other rules refresh.
            **(dict(alternate=(1, 0), concurrent_switcher_updates=args.refresh_steps) if learns else {}),
        )
        frozen = method.endswith("-frozen")
        model.compile(
            optimizer=optimizer,
            switcher_optimizer=keras.optimizers.Adam(0.0 if frozen else args.switcher_learning_rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        callbacks.append(ks.SparsityRamp(end_epoch=0.7 * args.epochs, frequency=args.refresh_steps))
    else:
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    keras.utils.set_random_seed(seed)
    model.fit(x.astype("float32"), y, batch_size=args.batch_size, epochs=args.epochs, verbose=0,
              callbacks=callbacks)
    accuracy = model.evaluate(test_x.astype("float32"), test_y, batch_size=1000, verbose=0)[1]
    sparsity = ks.report(model)["total"]["sparsity"] if method != "dense" else 0.0
    row = {"method": method, "target": target, "seed": seed, "accuracy": 100.0 * float(accuracy),
           "sparsity": sparsity, "seconds_per_epoch": callbacks[0].steady_seconds(),
           "test_images": int(len(test_y))}
    print(row, flush=True)
    return row, model


def table(rows):
    """Markdown: mean accuracy (per seed) and seconds per epoch against the
    magnitude run of the same seed and target."""
    seconds = {(r["seed"], r["target"]): r["seconds_per_epoch"] for r in rows if r["method"] == "magnitude"}
    lines = ["| method | target | accuracy (mean) | per seed | sparsity | time vs magnitude |",
             "|---|---|---|---|---|---|"]
    order = {method: index for index, method in enumerate(METHODS)}
    keys = sorted({(r["target"], r["method"]) for r in rows},
                  key=lambda k: (k[0], order.get(k[1], len(order)), k[1]))
    for target, method in keys:
        group = [r for r in rows if r["target"] == target and r["method"] == method]
        # Dense against the first target's magnitude run of its seed.
        first = min((t for _, t in seconds), default=None)
        keys = [(r["seed"], r["target"] or first) for r in group]
        ratio = [r["seconds_per_epoch"] / seconds[key] for r, key in zip(group, keys) if key in seconds]
        lines.append(
            f"| {method} | {target:.0%} | {np.mean([r['accuracy'] for r in group]):.2f} | "
            f"{', '.join('%.2f' % r['accuracy'] for r in group)} | "
            f"{np.mean([r['sparsity'] for r in group]):.2%} | "
            f"{f'{np.mean(ratio):.2f}x' if ratio else ''} |"
        )
    return "\n".join(lines) + "\n"


def plot(rows, path):
    """Mean accuracy against target sparsity, one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 4))
    dense = [r["accuracy"] for r in rows if r["method"] == "dense"]
    if dense:
        axis.axhline(np.mean(dense), color="grey", linestyle="--", label="dense")
    for method in sorted({r["method"] for r in rows} - {"dense"}):
        targets = sorted({r["target"] for r in rows if r["method"] == method})
        means = [np.mean([r["accuracy"] for r in rows if r["method"] == method and r["target"] == t])
                 for t in targets]
        axis.plot([100 * t for t in targets], means, marker="o", label=method)
    axis.set_xlabel("connections removed from the hidden layers (%)")
    axis.set_ylabel("target-class test accuracy (%)")
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def write(rows, args):
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "results.json"), "w") as file:
        json.dump(rows, file, indent=2)
    header = (
        f"# Sparse fine-tuning: {args.model}, classes {args.source_classes} -> {args.target_classes}\n\n"
        f"Pretrained {args.source_epochs} epochs (Adam 1e-3); fine-tuned {args.epochs} epochs, SGD "
        f"{args.learning_rate:g} momentum 0.9, batch {args.batch_size}; hidden layers pruned on a cubic "
        f"ramp over 70% of the steps, gates refreshed every {args.refresh_steps} steps. Final-epoch "
        f"accuracy on the target classes' test images; CPU ({machine()['cpus']} cores).\n\n"
    )
    with open(os.path.join(args.out, "results.md"), "w") as file:
        file.write(header + table(rows))
    plot(rows, os.path.join(args.out, "accuracy_vs_sparsity.png"))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="lenet300100", choices=sorted(MODELS))
    parser.add_argument("--source-classes", type=parse_classes, default=parse_classes("0-4"))
    parser.add_argument("--target-classes", type=parse_classes, default=parse_classes("5-9"))
    parser.add_argument("--targets", type=float, nargs="+", default=[0.98, 0.99])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--source-epochs", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument("--switcher-learning-rate", type=float, default=1e-3)
    parser.add_argument("--refresh-steps", type=int, default=20)
    parser.add_argument("--mix-weight", type=float, default=0.5,
                        help="weight of z(|W|) in the movement+magnitude mix")
    parser.add_argument("--limit", type=int, default=None, help="at most this many training images per split")
    parser.add_argument("--data-dir", default=SHARED_DATA)
    parser.add_argument("--out", required=True, help="folder of results.json")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    data = load(args)
    rows = []
    for seed in args.seeds:
        pretrained = pretrain(args, data, seed)
        for target in args.targets:
            for method in args.methods:
                if method == "dense" and target != args.targets[0]:
                    continue
                row, _ = run(method, target, seed, pretrained, data, args)
                if method == "dense":
                    row["target"] = 0.0  # Nothing is pruned.
                rows.append(row)
                # Written after every run, so a stopped benchmark keeps its rows.
                write(rows, args)
    return rows


if __name__ == "__main__":
    main()
