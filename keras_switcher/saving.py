"""Saving that never leaves a half-written file at the destination."""

import os


def save_model(model, path):
    """Saves `model` to a `.keras` file through a temporary file and a rename.

    If saving fails midway, a file already at `path` stays as it was.

    Args:
        model: The Keras model.
        path: Destination ending in `.keras`.
    """
    path = os.fspath(path)
    if not path.endswith(".keras"):
        raise ValueError(
            "Received an invalid value for `path`, expected a file name "
            f"ending in '.keras'. Received: path={path!r}"
        )
    partial = f"{path[:-len('.keras')]}.partial.keras"
    try:
        model.save(partial)
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
