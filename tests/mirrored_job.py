"""Trains a SwitchedModel on one device and under MirroredStrategy on two
logical CPUs; run by test_distribution.py in its own process, because the
logical devices must be set before TensorFlow starts.

    python tests/mirrored_job.py [GATE_CACHE_STEPS]
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402

CPU = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(CPU, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from keras_switcher import UNetSwitcher  # noqa: E402
from keras_switcher.applications import LeNet300100  # noqa: E402


def train(strategy, gate_cache_steps):
    keras.utils.set_random_seed(3)
    with strategy.scope():
        model = LeNet300100(
            input_shape=(8, 8, 1),
            switcher=UNetSwitcher(depth=1, base_channels=2),
            alternate=2,
            gate_cache_steps=gate_cache_steps,
        )
        model.compile(
            optimizer=keras.optimizers.SGD(0.1),
            switcher_optimizer=keras.optimizers.SGD(0.1),
            loss="sparse_categorical_crossentropy",
        )
    rng = np.random.RandomState(0)
    x, y = rng.rand(64, 8, 8, 1).astype("float32"), rng.randint(0, 10, 64)
    history = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    return model, history.history


def main():
    cache = int(sys.argv[1]) if len(sys.argv) > 1 else None
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    try:
        model, history = train(mirrored, cache)
    except ValueError as error:
        print("refused:", error)
        return
    single, single_history = train(tf.distribute.get_strategy(), cache)
    difference = max(
        float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
        for a, b in zip(model.weights, single.weights)
    )
    print("phases", history["phase"], single_history["phase"])
    print("switcher steps", int(model.switcher_optimizer.iterations.numpy()))
    print("largest weight difference", difference)


if __name__ == "__main__":
    main()
