"""Reader of MNIST's original IDX files."""

import gzip
import os

import numpy as np

FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
_IMAGES_MAGIC = 2051
_LABELS_MAGIC = 2049
_HOW_TO_FIX = (
    "Download the original MNIST files (train-images-idx3-ubyte.gz, "
    "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
    "t10k-labels-idx1-ubyte.gz) into that folder again, or pass "
    "data_dir=None to use tensorflow-datasets."
)


def _read_idx(path, magic, ndim):
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"MNIST file not found: {path}. {_HOW_TO_FIX}"
        )
    try:
        with gzip.open(path, "rb") as file:
            raw = file.read()
    except (OSError, EOFError) as error:
        raise ValueError(
            f"MNIST file {path} is not a readable gzip file ({error}). "
            f"{_HOW_TO_FIX}"
        ) from None
    header_size = 4 * (1 + ndim)
    if len(raw) < header_size:
        raise ValueError(f"MNIST file {path} is truncated. {_HOW_TO_FIX}")
    header = np.frombuffer(raw[:header_size], dtype=">u4")
    if header[0] != magic:
        raise ValueError(
            f"MNIST file {path} has magic number {header[0]}, expected "
            f"{magic}: it is not this IDX file. {_HOW_TO_FIX}"
        )
    shape = tuple(int(n) for n in header[1:])
    expected = header_size + int(np.prod(shape))
    if len(raw) != expected:
        raise ValueError(
            f"MNIST file {path} holds {len(raw)} bytes, expected {expected} "
            f"for shape {shape}: it is truncated or corrupt. {_HOW_TO_FIX}"
        )
    return np.frombuffer(raw[header_size:], dtype=np.uint8).reshape(shape)


def read_split(data_dir, split):
    """Reads one split of MNIST from its original IDX files.

    Args:
        data_dir: Folder holding the four `*-ubyte.gz` files.
        split: `"train"` or `"test"`.

    Returns:
        `(images, labels)`: uint8 arrays of shape `(n, 28, 28, 1)` and `(n,)`.
    """
    images_file, labels_file = FILES[split]
    images = _read_idx(os.path.join(data_dir, images_file), _IMAGES_MAGIC, 3)
    labels = _read_idx(os.path.join(data_dir, labels_file), _LABELS_MAGIC, 1)
    if len(images) != len(labels):
        raise ValueError(
            f"MNIST files {images_file} and {labels_file} in {data_dir} hold "
            f"{len(images)} images but {len(labels)} labels. {_HOW_TO_FIX}"
        )
    return images[..., np.newaxis], labels
