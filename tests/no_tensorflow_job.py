"""Imports and trains keras-switcher on JAX with `import tensorflow` failing;
run by test_backends.py in its own process.

    KERAS_BACKEND=jax python tests/no_tensorflow_job.py FOLDER
"""

import importlib.abc
import sys


class _NoTensorFlow(importlib.abc.MetaPathFinder):
    """Makes every import of tensorflow (and its datasets) fail."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "tensorflow_datasets"):
            raise ImportError(f"No module named '{name}' (blocked by the test)")
        return None


sys.meta_path.insert(0, _NoTensorFlow())

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_switcher as ks  # noqa: E402


def main(folder):
    assert keras.backend.backend() == "jax"
    keras.utils.set_random_seed(0)
    model = ks.training.build_model("lenet300100", (8, 8, 1), epochs=2, setting="recommended")
    train = ks.datasets.load("digits", "train", 64, seed=0)
    test = ks.datasets.load("digits", "test", 360)
    callbacks = ks.training.training_callbacks("recommended", 2)
    model.fit(train, epochs=2, verbose=0, callbacks=callbacks)
    path = f"{folder}/model.keras"
    model.save(path)
    loaded = ks.saving.load_model(path)
    images, labels = test[0]
    accuracy = float(np.mean(np.argmax(loaded.predict(images, verbose=0), -1) == labels))
    print("tensorflow imported:", "tensorflow" in sys.modules)
    print("sparsity", round(ks.report(loaded)["total"]["sparsity"], 4))
    print("accuracy", accuracy)
    try:
        ks.datasets.load("digits", "train", 64, output="tf.data")
    except ImportError as error:
        print("tf.data refused:", error)


if __name__ == "__main__":
    main(sys.argv[1])
