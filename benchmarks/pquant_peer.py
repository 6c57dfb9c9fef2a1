"""PQuantML peer: parametric differentiable pruning (PDP) on LeNet-300-100.

PQuantML (`pquant-ml`, CERN's Keras 3 pruning and quantisation library)
pins TensorFlow <= 2.20, which keras_switcher's TensorFlow does not meet, so
this script runs in its own virtual environment on the JAX backend:

    python -m venv .venv-pquant
    .venv-pquant/bin/pip install pquant-ml "jax[cpu]"
    .venv-pquant/bin/pip install --no-deps -e .
    cd benchmarks && KERAS_BACKEND=jax ../.venv-pquant/bin/python pquant_peer.py \
        --data-dir DIR --seed 0 | tail -n 1 > results/pquant_peer_seed0.json

PDP (Cho et al. 2023) is PQuantML's method that learns soft masks during
training toward a given sparsity (continuous sparsification and AutoSparse
find their own sparsity, Wanda prunes once from activations). PDP prunes
every layer to the same fraction: the library has no global split. Each
layer's sparsity rises linearly to the target over the first
`--ramp-fraction` of the epochs, its soft mask follows the weights' magnitude
until the last `--fine-tune-fraction` of the epochs, which train with the
mask fixed; quantisation is off. Same model, data, batch size, Adam 1e-3 and
x0.1 steps at 50% and 75% of the epochs as `mnist_peers.py`. Prints one
JSON line (which `mnist_summary.py` reads from `results/pquant_peer_seedN.json`):
a dense run and one run per target, with final-epoch test
accuracy, sparsity counted from the compressed kernels and seconds per
epoch against the dense run of this process.
"""

import argparse
import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pquant  # noqa: E402
from pquant.core.keras.train import PQuantCallback  # noqa: E402

from _mnist_idx import load  # noqa: E402
from keras_switcher import training  # noqa: E402
from keras_switcher.comparison import EpochTimer  # noqa: E402


def lenet300100():
    """LeNet-300-100 ending in logits: PQuantML's `add_compression_layers`
    drops a softmax activation, so `applications.LeNet300100` is not used."""
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(300, activation="relu"),
            keras.layers.Dense(100, activation="relu"),
            keras.layers.Dense(10),
        ]
    )


def pdp_config(target, args):
    """PQuantML's PDP configuration for one target, quantisation off."""
    config = pquant.pdp_config().get_dict()
    fine_tune = round(args.fine_tune_fraction * args.epochs)
    config["pruning_parameters"].update(
        sparsity=target, epsilon=1.0 / max(1, round(args.ramp_fraction * args.epochs))
    )
    config["quantization_parameters"]["enable_quantization"] = False
    config["training_parameters"].update(
        pretraining_epochs=0, epochs=args.epochs - fine_tune, fine_tuning_epochs=fine_tune, rounds=1
    )
    return pquant.load_from_dictionary(config)


def train(model, data, args, callbacks):
    (x, y), (x_test, y_test) = data
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    timer = EpochTimer()
    model.fit(x, y, batch_size=args.batch_size, epochs=args.epochs, verbose=0,
              callbacks=callbacks + [training.decay(args.epochs), timer], shuffle=True)
    _, accuracy = model.evaluate(x_test, y_test, batch_size=1000, verbose=0)
    return float(accuracy), timer.steady_seconds()


def counted_sparsity(model):
    """Share of zero entries over the model's dense kernels, as pruned."""
    kernels = [np.asarray(layer.kernel) for layer in model.layers if getattr(layer, "kernel", None) is not None]
    zeros = sum(int(k.size - np.count_nonzero(k)) for k in kernels)
    return zeros / sum(k.size for k in kernels)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--sparsities", type=float, nargs="+", default=[0.95, 0.98, 0.99])
    parser.add_argument("--ramp-fraction", type=float, default=0.5)
    parser.add_argument("--fine-tune-fraction", type=float, default=0.25)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = load(args.data_dir, "train"), load(args.data_dir, "t10k")

    keras.utils.set_random_seed(args.seed)
    dense_accuracy, dense_seconds = train(lenet300100(), data, args, [])
    results = {"dense": {"test_accuracy": dense_accuracy, "seconds_per_epoch": dense_seconds}}
    for target in args.sparsities:
        keras.utils.set_random_seed(args.seed)
        config = pdp_config(target, args)
        model = pquant.add_compression_layers(lenet300100(), config, (1, 28, 28, 1))
        # `apply_final_compression` fails on JAX in pquant-ml 0.1.0 (its input
        # quantiser calls zeros_like on a Keras variable); without it each
        # layer's `kernel` is still the pruned kernel the model computes with.
        callback = PQuantCallback(
            config, log_ebops=False, log_keep_ratio=False, apply_final_compression=False
        )
        if callback.total_epochs != args.epochs:
            raise ValueError(f"PQuantML phases add up to {callback.total_epochs} epochs, not {args.epochs}")
        accuracy, seconds = train(model, data, args, [callback])
        results[f"pquant_pdp_{target}"] = {
            "target": target,
            "test_accuracy": accuracy,
            "sparsity": counted_sparsity(model),
            "seconds_per_epoch": seconds,
            "time_ratio_to_dense": seconds / dense_seconds,
        }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
