"""Reader of the original binary files of CIFAR-10 and CIFAR-100."""

import os

import numpy as np

_IMAGE_BYTES = 32 * 32 * 3
# Per dataset: folder, label bytes, classes per label byte, files per split.
LAYOUTS = {
    "cifar10": {
        "folder": "cifar-10-batches-bin",
        "label_bytes": 1,
        "classes": (10,),
        "train": tuple(f"data_batch_{i}.bin" for i in range(1, 6)),
        "test": ("test_batch.bin",),
    },
    "cifar100": {
        "folder": "cifar-100-binary",
        "label_bytes": 2,
        "classes": (20, 100),  # Coarse, then fine.
        "train": ("train.bin",),
        "test": ("test.bin",),
    },
}


def read_records(path, label_bytes=1):
    """Reads one binary CIFAR file: records of label bytes and a 32x32x3 image.

    Args:
        path: A `.bin` file in the CIFAR binary layout (each record holds
            `label_bytes` labels, then 1024 red, 1024 green and 1024 blue
            bytes, rows first).
        label_bytes: `1` for CIFAR-10, `2` (coarse, fine) for CIFAR-100.

    Returns:
        `(images, labels)`: uint8 arrays of shape `(n, 32, 32, 3)` and
        `(n, label_bytes)`.

    Example:

    >>> records = np.zeros((2, 1 + 32 * 32 * 3), "uint8")  # A label byte, then the pixels.
    >>> records.tofile("two_images.bin")
    >>> images, labels = read_records("two_images.bin")
    >>> images.shape, labels.shape
    ((2, 32, 32, 3), (2, 1))
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"CIFAR file not found: {path}. Download the binary version of "
            "CIFAR into that folder again, or pass data_dir=None to use "
            "tensorflow-datasets."
        )
    raw = np.fromfile(path, dtype=np.uint8)
    record = label_bytes + _IMAGE_BYTES
    if raw.size == 0 or raw.size % record:
        raise ValueError(
            f"CIFAR file {path} holds {raw.size} bytes, not a whole number of "
            f"{record}-byte records: it is truncated, corrupt or from another "
            "dataset. Download it again."
        )
    records = raw.reshape(-1, record)
    images = records[:, label_bytes:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), records[:, :label_bytes]


def read_split(data_dir, name, split, label_mode="fine"):
    """Reads one split of CIFAR-10 or CIFAR-100 from its binary files.

    Args:
        data_dir: The folder of the binary files (`cifar-10-batches-bin` or
            `cifar-100-binary`), or a folder that contains it.
        name: `"cifar10"` or `"cifar100"`.
        split: `"train"` or `"test"`.
        label_mode: For CIFAR-100, `"fine"` (100 classes) or `"coarse"` (20).

    Returns:
        `(images, labels)`: uint8 images `(n, 32, 32, 3)` and int64 labels.
    """
    layout = LAYOUTS[name]
    if label_mode not in ("fine", "coarse"):
        raise ValueError(
            "Received an invalid value for `label_mode`, expected 'fine' or "
            f"'coarse'. Received: label_mode={label_mode!r}"
        )
    nested = os.path.join(data_dir, layout["folder"])
    folder = nested if os.path.isdir(nested) else data_dir
    parts = [
        read_records(os.path.join(folder, file), layout["label_bytes"])
        for file in layout[split]
    ]
    images = np.concatenate([images for images, _ in parts])
    labels = np.concatenate([labels for _, labels in parts])
    column = 0 if label_mode == "coarse" and name == "cifar100" else -1
    classes = layout["classes"][column]
    labels = labels[:, column].astype(np.int64)
    if labels.max() >= classes:
        raise ValueError(
            f"The {name} files in {folder} hold label {labels.max()}, but "
            f"{name} has {classes} classes: they are corrupt or from another "
            "dataset."
        )
    return images, labels
