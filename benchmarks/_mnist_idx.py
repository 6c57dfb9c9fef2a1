"""MNIST's IDX files read with NumPy alone, for the peers' own processes.

The peer scripts (`tfmot_peer.py`, `pquant_peer.py`) run in environments
without keras_switcher, so they read the data here instead of through
`keras_switcher.datasets`.
"""

import gzip
import os

import numpy as np


def read_idx(path):
    """Returns the array stored in a gzipped IDX file."""
    with gzip.open(path, "rb") as file:
        raw = file.read()
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load(data_dir, prefix):
    """Returns `(images, labels)`: float32 in `[0, 1]` of shape `(n, 28, 28, 1)`, int64.

    Args:
        data_dir: Folder of MNIST's four `.gz` files.
        prefix: `"train"` or `"t10k"`.
    """
    images = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))
    return images[..., None].astype("float32") / 255.0, labels.astype("int64")
