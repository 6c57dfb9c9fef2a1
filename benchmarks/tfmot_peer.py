"""TensorFlow Model Optimization Toolkit peer: `prune_low_magnitude` on a LeNet.

tfmot runs only on `tf_keras` (Keras 2), so this script runs in its own
process with `TF_USE_LEGACY_KERAS=1` and never imports Keras 3 or
keras_switcher. It reads MNIST's IDX files itself, trains a dense model and
models whose `Dense` layers are pruned (polynomial schedule from 0 to each
target over the first `--prune-fraction` of the steps, then training with
the masks fixed; LeNet-5-Caffe's convolutions stay dense), and
prints one JSON line with test accuracy, sparsity counted from the
weights and seconds per epoch against its own dense run.

    TF_USE_LEGACY_KERAS=1 python benchmarks/tfmot_peer.py --data-dir DIR --model lenet5
"""

import argparse
import json
import os
import statistics
import time

os.environ["TF_USE_LEGACY_KERAS"] = "1"

import numpy as np  # noqa: E402
import tensorflow_model_optimization as tfmot  # noqa: E402
import tf_keras  # noqa: E402
from _mnist_idx import load  # noqa: E402


class EpochTimer(tf_keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)


def lenet300100():
    return tf_keras.Sequential(
        [
            tf_keras.layers.Flatten(input_shape=(28, 28, 1)),
            tf_keras.layers.Dense(300, activation="relu"),
            tf_keras.layers.Dense(100, activation="relu"),
            tf_keras.layers.Dense(10, activation="softmax"),
        ]
    )


def lenet5():
    return tf_keras.Sequential(
        [
            tf_keras.layers.Conv2D(20, 5, input_shape=(28, 28, 1)),
            tf_keras.layers.MaxPooling2D(2),
            tf_keras.layers.Conv2D(50, 5),
            tf_keras.layers.MaxPooling2D(2),
            tf_keras.layers.Flatten(),
            tf_keras.layers.Dense(500, activation="relu"),
            tf_keras.layers.Dense(10, activation="softmax"),
        ]
    )


BUILDERS = {"lenet300100": lenet300100, "lenet5": lenet5}
# The task optimisers of keras_switcher.training.TASK_OPTIMIZERS, in tf_keras:
# a builder taking the rate, and the default rate.
OPTIMIZERS = {
    "adam": (tf_keras.optimizers.Adam, 1e-3),
    "momentum": (lambda rate: tf_keras.optimizers.SGD(rate, momentum=0.9, nesterov=True, weight_decay=5e-4), 0.1),
}


def prune_dense_layers(model, schedule):
    """`model` with `prune_low_magnitude` around each `Dense` layer."""

    def wrap(layer):
        if isinstance(layer, tf_keras.layers.Dense):
            return tfmot.sparsity.keras.prune_low_magnitude(layer, pruning_schedule=schedule)
        return layer.__class__.from_config(layer.get_config())

    return tf_keras.models.clone_model(model, clone_function=wrap)


def run(model, data, args, callbacks):
    (x, y), (x_test, y_test) = data
    milestones = {round(0.5 * args.epochs), round(0.75 * args.epochs)}
    decay = tf_keras.callbacks.LearningRateScheduler(
        lambda epoch, rate: rate * 0.1 if epoch in milestones else rate
    )
    timer = EpochTimer()
    optimizer, default_rate = OPTIMIZERS[args.task_optimizer]
    model.compile(
        optimizer=optimizer(args.learning_rate or default_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x, y, batch_size=args.batch_size, epochs=args.epochs, verbose=0,
              callbacks=callbacks + [decay, timer], shuffle=True)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    return accuracy, statistics.median(timer.seconds[1:] or timer.seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--model", default="lenet300100", choices=sorted(BUILDERS))
    parser.add_argument("--task-optimizer", default="adam", choices=sorted(OPTIMIZERS))
    parser.add_argument("--learning-rate", type=float, default=None, help="default: the task optimiser's")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--sparsities", type=float, nargs="+", default=[0.9, 0.95, 0.98])
    parser.add_argument("--prune-fraction", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = load(args.data_dir, "train"), load(args.data_dir, "t10k")
    build = BUILDERS[args.model]

    tf_keras.utils.set_random_seed(args.seed)
    dense_accuracy, dense_seconds = run(build(), data, args, [])
    results = {"dense": {"test_accuracy": dense_accuracy, "seconds_per_epoch": dense_seconds}}
    steps = int(np.ceil(len(data[0][0]) / args.batch_size)) * args.epochs
    for target in args.sparsities:
        tf_keras.utils.set_random_seed(args.seed)
        schedule = tfmot.sparsity.keras.PolynomialDecay(
            initial_sparsity=0.0,
            final_sparsity=target,
            begin_step=0,
            end_step=int(args.prune_fraction * steps),
            frequency=100,
        )
        model = prune_dense_layers(build(), schedule)
        accuracy, seconds = run(model, data, args, [tfmot.sparsity.keras.UpdatePruningStep()])
        stripped = tfmot.sparsity.keras.strip_pruning(model)
        kernels = [layer.kernel.numpy() for layer in stripped.layers if isinstance(layer, tf_keras.layers.Dense)]
        kept = sum(int(np.count_nonzero(k)) for k in kernels)
        results[f"tfmot_{target}"] = {
            "target": target,
            "test_accuracy": accuracy,
            "sparsity": 1 - kept / sum(k.size for k in kernels),
            "seconds_per_epoch": seconds,
            "time_ratio_to_dense": seconds / dense_seconds,
        }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
