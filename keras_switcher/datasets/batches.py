"""Batches of images drawn from NumPy arrays, with no TensorFlow."""

import math

import keras
import numpy as np


def crop_and_flip(images, rng, padding=4):
    """The standard CIFAR augmentation, in NumPy.

    Each image is zero-padded by `padding` pixels on every side, cropped back
    to its size at a random offset, and flipped left to right with
    probability one half.

    Args:
        images: Array `(n, height, width, channels)`.
        rng: A `numpy.random.Generator`.
        padding: Non-negative integer.

    Returns:
        An array of the shape and dtype of `images`.

    Example:

    >>> crop_and_flip(np.ones((2, 32, 32, 3), "uint8"), np.random.default_rng(0)).shape
    (2, 32, 32, 3)
    """
    count, height, width, _ = images.shape
    padded = np.pad(images, [(0, 0), (padding, padding), (padding, padding), (0, 0)])
    rows = rng.integers(0, 2 * padding + 1, count)
    cols = rng.integers(0, 2 * padding + 1, count)
    flips = rng.random(count) < 0.5
    out = np.empty_like(images)
    for index in range(count):
        crop = padded[index, rows[index] : rows[index] + height, cols[index] : cols[index] + width]
        out[index] = crop[:, ::-1] if flips[index] else crop
    return out


class ImageBatches(keras.utils.PyDataset):
    """Batches of `(image, label)` from uint8 images, for any Keras backend.

    Images come out float32 in `[0, 1]` (standardised with `mean` and
    `std`), labels int32. With `shuffle`, the order is drawn again after
    every epoch from a generator seeded with `seed`.

    Args:
        images: uint8 array `(n, height, width, channels)`.
        labels: Integer array `(n,)`.
        batch_size: Positive integer.
        shuffle: Whether to shuffle the examples each epoch.
        seed: Seed of the shuffling and augmentation generator.
        augment: Whether to apply `crop_and_flip` to each batch.
        mean: Per-channel mean of images in `[0, 1]`.
        std: Per-channel standard deviation of images in `[0, 1]`.
        **kwargs: Arguments of `keras.utils.PyDataset` (`workers`, ...).

    Example:

    >>> batches = ImageBatches(np.zeros((10, 8, 8, 1), "uint8"), np.zeros(10), 4)
    >>> len(batches), batches[2][0].shape
    (3, (2, 8, 8, 1))
    """

    def __init__(
        self,
        images,
        labels,
        batch_size,
        shuffle=False,
        seed=None,
        augment=False,
        mean=0.0,
        std=1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.images = images
        self.labels = np.asarray(labels).astype("int32")
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.augment = augment
        self.mean = np.asarray(mean, "float32")
        self.std = np.asarray(std, "float32")
        self._rng = np.random.default_rng(seed)
        self._order = np.arange(len(images))
        if shuffle:
            self._rng.shuffle(self._order)

    def __len__(self):
        return math.ceil(len(self.images) / self.batch_size)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"Batch {index} is out of range: there are {len(self)}.")
        picked = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        images = self.images[picked]
        if self.augment:
            images = crop_and_flip(images, self._rng)
        images = (images.astype("float32") / 255.0 - self.mean) / self.std
        return images, self.labels[picked]

    def on_epoch_end(self):
        if self.shuffle:
            self._rng.shuffle(self._order)
