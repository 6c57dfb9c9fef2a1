"""Saving that never leaves a half-written file at the destination."""

import contextlib
import os
import tempfile

import keras


def check_output_path(path, extension):
    """Raises unless `path` names a file with `extension` in a writable folder.

    Args:
        path: Destination of a file.
        extension: The required ending, such as `".keras"`.

    Returns:
        The path as a string.
    """
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path).endswith(extension):
        raise ValueError(
            "Received an invalid value for `path`, expected a file name "
            f"ending in '{extension}'. Received: path={path!r}"
        )
    path = os.fspath(path)
    if os.path.isdir(path):
        raise ValueError(
            f"Received an invalid value for `path`: {path!r} is a folder; "
            f"expected the name of a file ending in '{extension}'."
        )
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise OSError(
            f"Cannot write {path!r}: the folder {folder!r} does not exist or "
            "is not writable."
        )
    return path


@contextlib.contextmanager
def atomic_path(path):
    """Yields a fresh temporary path that replaces `path` if the block succeeds.

    The temporary file sits in the destination's folder (so the final rename
    is atomic), has a unique hidden name ending like `path` (`.keras`,
    `.weights.h5`, ...), and is removed if the block raises: a file already
    at `path` is then left as it was.

    Args:
        path: The destination file.

    Yields:
        The temporary path to write.

    Example:

    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    >>> with atomic_path("model.keras") as partial:
    ...     model.save(partial)
    >>> os.listdir()  # Only the finished file.
    ['model.keras']
    """
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    ending = name[name.index("."):] if "." in name else ""
    handle, partial = tempfile.mkstemp(prefix=f".{name}.", suffix=f".partial{ending}", dir=folder)
    os.close(handle)
    try:
        yield partial
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(partial, 0o666 & ~umask)  # mkstemp's file is private.
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def save_model(model, path):
    """Saves `model` to a `.keras` file through a temporary file and a rename.

    If saving fails midway, a file already at `path` stays as it was.

    Args:
        model: The Keras model.
        path: Destination ending in `.keras`.
    """
    path = check_output_path(path, ".keras")
    with atomic_path(path) as partial:
        # Keras's own save: `SwitchedModel.save` would add a second
        # temporary file around this one.
        keras.Model.save(model, partial)


def write_atomic(path, content):
    """Writes bytes to `path` through a temporary file and a rename.

    Args:
        path: Destination file, in an existing folder.
        content: The bytes to write.
    """
    with atomic_path(path) as partial:
        with open(partial, "wb") as file:
            file.write(content)


def load_model(path, compile=True):
    """Loads a `.keras` file, with a clear error for a missing or bad file.

    Args:
        path: A `.keras` file saved by Keras.
        compile: Whether to restore the training configuration as well.

    Returns:
        The Keras model.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Model file not found: {path!r}")
    try:
        return keras.saving.load_model(path, compile=compile)
    except Exception as error:  # Keras raises many kinds on bad archives.
        raise ValueError(
            f"Cannot load {path!r} as a Keras model ({type(error).__name__}: "
            f"{error}): the file is truncated, corrupt or not a '.keras' file."
        ) from None
