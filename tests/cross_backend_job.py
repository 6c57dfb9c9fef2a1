"""One leg of a `.keras` file's trip across backends; run by
test_cross_backend_files.py, a process per backend.

    KERAS_BACKEND=jax python tests/cross_backend_job.py FOLDER [previous]

Without `previous` it builds, trains and saves `FOLDER/model.keras` with its
predictions; with it, it loads the file the previous backend saved, checks
that it predicts the same, trains on, and saves again. Then it loads the shipped models of
`saved_models/` (on TensorFlow only the one test_saved_models.py leaves
out) and prints their counted sparsity.
"""

import json
import os
import sys

import keras
import numpy as np

import keras_switcher as ks

HERE = os.path.dirname(os.path.abspath(__file__))
SHIPPED = ["lenet300100_mnist", "lenet300100_mnist_blocks", "lenet300100_digits0-4_to_5-9"]


def data():
    rng = np.random.RandomState(0)
    return rng.rand(64, 6).astype("float32"), rng.randint(0, 3, 64)


def build():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((6,))
    hidden = ks.SwitchedDense(8, activation="relu", switcher=ks.UNetSwitcher(depth=1, base_channels=2, target_sparsity=0.5), name="hidden")(inputs)
    outputs = ks.SwitchedDense(3, activation="softmax", switcher="movement", name="out")(hidden)
    model = ks.SwitchedModel(inputs, outputs, alternate=(3, 1), gate_refresh_steps=2, switcher_accumulation_steps=1)
    model.compile("adam", switcher_optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def main(folder, previous=None):
    backend = keras.backend.backend()
    x, y = data()
    path = os.path.join(folder, "model.keras")
    if previous is None:
        model = build()
    else:
        model = ks.saving.load_model(path)
        expected = np.load(os.path.join(folder, "predictions.npy"))
        difference = float(np.abs(model.predict(x, verbose=0) - expected).max())
        print(f"{previous} -> {backend}: largest difference {difference:.2e}")
        assert difference < 1e-5, difference
    steps = int(keras.ops.convert_to_numpy(model.steps_seen))
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    print(f"{backend}: steps_seen {int(keras.ops.convert_to_numpy(model.steps_seen))} (was {steps})")
    model.save(path)
    np.save(os.path.join(folder, "predictions.npy"), model.predict(x, verbose=0))
    # test_saved_models.py checks the first two on TensorFlow.
    for stem in SHIPPED[2:] if backend == "tensorflow" else SHIPPED:
        shipped = ks.saving.load_model(os.path.join(HERE, "..", "saved_models", f"{stem}.keras"))
        with open(os.path.join(HERE, "..", "saved_models", f"{stem}.json")) as file:
            card = json.load(file)
        counted = ks.report(shipped)["total"]
        assert counted["kept"] == card["sparsity"]["total"]["kept"], (stem, counted, card["sparsity"]["total"])
        print(f"{backend}: {stem} kept {counted['kept']} as its card")


if __name__ == "__main__":
    main(*sys.argv[1:])
