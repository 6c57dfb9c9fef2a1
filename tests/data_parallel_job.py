"""Trains a SwitchedModel on JAX on one CPU device and with
`keras.distribution.DataParallel` over two; run by test_backends.py in its
own process, because the devices must be set before JAX starts.

    XLA_FLAGS=--xla_force_host_platform_device_count=2 KERAS_BACKEND=jax \\
        python tests/data_parallel_job.py
"""

import jax
import keras
import numpy as np

from keras_switcher import UNetSwitcher
from keras_switcher.applications import LeNet300100


def train(distribution, gate_cache_steps):
    keras.distribution.set_distribution(distribution)
    try:
        keras.utils.set_random_seed(3)
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
        weights = [np.asarray(w) for w in model.weights]
        return model, weights, history.history
    finally:
        keras.distribution.set_distribution(None)


def main():
    devices = jax.devices("cpu")
    assert len(devices) == 2, devices
    parallel = keras.distribution.DataParallel(devices=devices)
    for cache in (None, 2):
        model, weights, _ = train(parallel, cache)
        sharding = model.trainable_variables[0].value.sharding
        _, single_weights, _ = train(None, cache)
        difference = max(
            float(np.max(np.abs(a - b))) for a, b in zip(weights, single_weights)
        )
        print(
            f"cache {cache}: devices {len(sharding.device_set)}, switcher steps "
            f"{int(model.switcher_optimizer.iterations.numpy())}, largest weight "
            f"difference {difference}"
        )


if __name__ == "__main__":
    main()
