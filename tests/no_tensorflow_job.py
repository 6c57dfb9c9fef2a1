"""Imports and trains keras-switcher on JAX (or PyTorch) with `import
tensorflow` failing; run by test_backends.py (and test_torch.py) in its own
process.

    KERAS_BACKEND=jax python tests/no_tensorflow_job.py FOLDER
"""

import importlib.abc
import os
import sys


class _NoTensorFlow(importlib.abc.MetaPathFinder):
    """Makes every import of tensorflow (and its datasets) fail."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "tensorflow_datasets"):
            raise ImportError(f"No module named '{name}' (blocked by the test)")
        return None


if os.environ.get("KERAS_BACKEND") == "torch":
    # Its import looks for installed packages, TensorFlow among them, with
    # `importlib.util.find_spec`, which the finder below makes raise; it
    # imports none of them.
    import torch._dynamo  # noqa: F401

sys.meta_path.insert(0, _NoTensorFlow())

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_switcher as ks  # noqa: E402


def main(folder):
    assert keras.backend.backend() in ("jax", "torch")
    keras.utils.set_random_seed(0)
    # The recommended setting's parts (a magnitude prior, a sparsity target
    # reached by a ramp, cached gates, step alternation, decay) with a small
    # U-Net, which compiles in seconds.
    switcher = ks.UNetSwitcher(depth=1, base_channels=4, magnitude_prior=True)
    model = ks.applications.LeNet300100(
        input_shape=(8, 8, 1), switcher=switcher, target_sparsity=0.9,
        alternate=(10, 2), gate_cache_steps=2,
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        switcher_optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
    )
    train = ks.datasets.load("digits", "train", 64, seed=0)
    test = ks.datasets.load("digits", "test", 360)
    callbacks = [ks.MultiStepDecay((1,)), ks.SparsityRamp(end_epoch=1)]
    model.fit(train, epochs=2, verbose=0, callbacks=callbacks)
    path = f"{folder}/model.keras"
    model.save(path)
    loaded = ks.saving.load_model(path)
    images, labels = test[0]
    accuracy = float(np.mean(np.argmax(loaded.predict(images, verbose=0), -1) == labels))
    print("tensorflow imported:", "tensorflow" in sys.modules)
    print("sparsity", round(ks.report(loaded)["total"]["sparsity"], 4))
    print("accuracy", accuracy)
    model.get_layer("fc2").kernel.assign(np.full((300, 100), np.nan, "float32"))
    try:
        model.fit(train, epochs=1, verbose=0, callbacks=[ks.NonFiniteGuard(frequency=1)])
    except FloatingPointError as error:
        print("non-finite stopped:", error)
    plain = ks.applications.LeNet300100(input_shape=(8, 8, 1), switched=False)
    plain.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    pruning = ks.baselines.GradualMagnitudePruning(0.9, end_epoch=1, frequency=10)
    plain.fit(train, epochs=2, verbose=0, callbacks=[pruning])
    kernels = [np.asarray(layer.kernel) for layer in ks.baselines.prunable_layers(plain)]
    print("magnitude pruned:", round(sum((k == 0).sum() for k in kernels) / sum(k.size for k in kernels), 4))
    try:
        ks.datasets.load("digits", "train", 64, output="tf.data")
    except ImportError as error:
        print("tf.data refused:", error)


if __name__ == "__main__":
    main(sys.argv[1])
