"""Optional dependencies: imported where they are used, named when missing.

The core (`import keras_switcher`, the models, training on JAX, saving,
reports) needs Keras, NumPy and a Keras backend. What else a feature needs
comes with an extra of `pyproject.toml`; `require` imports it and, when it
is missing, says which extra to install.
"""

import importlib
import importlib.util
import json
import os

# Top-level module: (what to call it, the extra that installs it).
EXTRAS = {
    "tensorflow": ("TensorFlow", "tensorflow"),
    "tensorflow_datasets": ("tensorflow-datasets", "tensorflow"),
    "ai_edge_litert": ("LiteRT (ai-edge-litert)", "tensorflow"),
    "tensorboard": ("TensorBoard", "tensorflow"),
    "keras_tuner": ("Keras Tuner", "tuner"),
    "matplotlib": ("Matplotlib", "plot"),
    "sklearn": ("scikit-learn", "sklearn"),
    "jax": ("JAX", "jax"),
    "torch": ("PyTorch", "torch"),
}


class MissingExtraError(ModuleNotFoundError):
    """An optional dependency is not installed; the message names its extra."""


def install_hint(module):
    """`pip install 'keras-switcher[EXTRA]'` for a module of `EXTRAS`."""
    return f"pip install 'keras-switcher[{EXTRAS[module.split('.')[0]][1]}]'"


def require(module, feature, hint=""):
    """Imports `module`, or raises a `MissingExtraError` naming its extra.

    Args:
        module: Module to import, such as `"tensorflow"` or
            `"ai_edge_litert.interpreter"`; its top-level package must be a
            key of `EXTRAS`.
        feature: What needs it, for the message, such as
            `"keras_switcher.export.to_tflite"`.
        hint: Words appended to the message, such as another way to go on.

    Returns:
        The module.

    Example:

    >>> tf = require("tensorflow", "keras_switcher.export.to_tflite")
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        name, _ = EXTRAS[module.split(".")[0]]
        message = (
            f"{feature} needs {name}; it cannot be imported ({error}): "
            f"{install_hint(module)}"
        )
        raise MissingExtraError(
            f"{message}. {hint}" if hint else message, name=error.name
        ) from error


def _installed(module):
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def choose_backend():
    """For the command line: a Keras backend that is installed.

    Keras uses TensorFlow unless `KERAS_BACKEND` or `keras.json` names
    another. When neither does and TensorFlow is not installed (an install
    with the `jax` or `torch` extra only), this sets `KERAS_BACKEND` to JAX,
    else PyTorch, if one of them is, so that `keras-switcher report` runs
    there. Call it before Keras is imported.
    """
    if os.environ.get("KERAS_BACKEND"):
        return
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json")) as file:
            configured = json.load(file).get("backend", "tensorflow")
    except (OSError, ValueError, AttributeError):
        configured = "tensorflow"
    if configured != "tensorflow" or _installed("tensorflow"):
        return
    for backend in ("jax", "torch"):
        if _installed(backend):
            os.environ["KERAS_BACKEND"] = backend
            return
