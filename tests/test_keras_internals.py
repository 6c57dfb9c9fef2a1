"""The private Keras names the package uses are fenced in one module, and
are all still there."""

import os
import re

import keras

from keras_switcher import keras_internals

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "keras_switcher")
PRIVATE = re.compile(
    r"keras\.src|\._(flatten_layers|tracker|trainable_variables|non_trainable_variables|"
    r"inbound_nodes|keras_history|compile_config|loss_tracker|make_function|nodes|"
    r"jax_state|jax_state_synced|value)\b"
)


def test_every_private_keras_name_is_still_there():
    gone = keras_internals.missing()
    assert not gone, (
        f"Keras {keras.__version__} no longer has these private names that "
        f"keras-switcher uses: {gone}. keras_switcher/keras_internals.py says "
        "why each is needed and which public route to take instead."
    )


def test_no_other_module_reaches_into_keras_privately():
    found = []
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            path = os.path.join(folder, name)
            if not name.endswith(".py") or name == "keras_internals.py":
                continue
            with open(path) as file:
                for number, line in enumerate(file, 1):
                    code = line.split("#")[0]
                    if PRIVATE.search(code):
                        found.append(f"{os.path.relpath(path, PACKAGE)}:{number}: {line.strip()}")
    assert not found, "Private Keras names outside keras_internals.py:\n" + "\n".join(found)
