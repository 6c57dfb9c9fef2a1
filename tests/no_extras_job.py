"""The core without its extras: keras-switcher on JAX with TensorFlow,
tensorflow-datasets, LiteRT, TensorBoard, Keras Tuner, Matplotlib,
scikit-learn and PyTorch made unimportable, as in an install of
`keras-switcher jax`; run by test_install.py in its own process.

    KERAS_HOME=EMPTY_FOLDER python tests/no_extras_job.py FOLDER

Without KERAS_BACKEND: the command line picks JAX, as it does in an
install without TensorFlow.
"""

import importlib.abc
import sys

BLOCKED = (
    "tensorflow", "tensorflow_datasets", "ai_edge_litert", "tensorboard",
    "keras_tuner", "matplotlib", "sklearn", "torch",
)


class _Blocked(importlib.abc.MetaPathFinder):
    """Makes every import of the extras' packages fail."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named '{name}' (blocked by the test)", name=name)
        return None


sys.meta_path.insert(0, _Blocked())
sys.argv[0] = "keras-switcher"  # As the console script: it chooses the backend.

import keras_switcher as ks  # noqa: E402
from keras_switcher import cli  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402


def refused(call):
    try:
        call()
    except ImportError as error:
        return str(error)
    return "not refused"


def main(folder):
    print("backend:", keras.backend.backend())
    # A weightless switcher: nothing to compile but the layers.
    inputs = keras.Input((8,))
    hidden = ks.SwitchedDense(16, activation="relu", switcher="magnitude")(inputs)
    model = ks.SwitchedModel(inputs, ks.SwitchedDense(4, switcher="magnitude")(hidden))
    print("predicts:", model.predict(np.ones((2, 8), "float32"), verbose=0).shape)
    path = f"{folder}/model.keras"
    model.save(path)
    print("report status:", cli.main(["report", path]))
    print("export status:", cli.main(["export", path, "--tflite", f"{folder}/model.tflite"]))
    print("strip:", type(ks.export.strip(model)).__name__)
    print("to_tflite refused:", refused(lambda: ks.export.to_tflite(model, f"{folder}/m.tflite")))
    print("digits refused:", refused(lambda: ks.datasets.load("digits")))
    print("mnist refused:", refused(lambda: ks.datasets.load("mnist")))
    print("plot refused:", refused(lambda: ks.plot.mask(model.switched_layers[0], f"{folder}/m.png")))
    print("logger refused:", refused(lambda: ks.SparsityLogger(f"{folder}/logs").on_train_begin()))
    print("tuner refused:", refused(lambda: ks.tuner))
    print("imported:", sorted(name for name in BLOCKED if name in sys.modules))


if __name__ == "__main__":
    main(sys.argv[1])
