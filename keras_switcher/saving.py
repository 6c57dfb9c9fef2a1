"""Saving that never leaves a half-written file at the destination."""

import os


def check_keras_path(path):
    """Raises unless `path` names a `.keras` file in an existing folder.

    Args:
        path: Destination of a model file.

    Returns:
        The path as a string.
    """
    path = os.fspath(path)
    if not path.endswith(".keras"):
        raise ValueError(
            "Received an invalid value for `path`, expected a file name "
            f"ending in '.keras'. Received: path={path!r}"
        )
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise OSError(
            f"Cannot write {path!r}: the folder {folder!r} does not exist or "
            "is not writable."
        )
    return path


def save_model(model, path):
    """Saves `model` to a `.keras` file through a temporary file and a rename.

    If saving fails midway, a file already at `path` stays as it was.

    Args:
        model: The Keras model.
        path: Destination ending in `.keras`.
    """
    path = check_keras_path(path)
    partial = f"{path[:-len('.keras')]}.partial.keras"
    try:
        model.save(partial)
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
