"""Datasets as `tf.data` pipelines of `(image, label)` batches."""

import os

import numpy as np
import tensorflow as tf

from keras_switcher.datasets import mnist, splits

NAMES = ("digits", "mnist")
_SPLIT_NAMES = ("train", "test")


def _digits_arrays():
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images * (255.0 / 16.0)).round().astype(np.uint8)
    order = np.random.RandomState(0).permutation(len(images))
    images, labels = images[order, :, :, np.newaxis], digits.target[order]
    cut = int(0.8 * len(images))
    return {
        "train": (images[:cut], labels[:cut]),
        "test": (images[cut:], labels[cut:]),
    }


def _local_arrays(name, split, data_dir):
    if name == "digits":
        if data_dir is not None:
            raise ValueError(
                "The 'digits' dataset ships with scikit-learn and reads no "
                f"files: pass data_dir=None. Received: data_dir={data_dir!r}"
            )
        return splits.select(_digits_arrays(), split, _SPLIT_NAMES)
    if not os.path.isdir(data_dir):
        raise FileNotFoundError(
            f"Received an invalid value for `data_dir`: {data_dir!r} is not a "
            f"readable folder. Pass the folder that holds the original "
            f"'{name}' files, or data_dir=None to use tensorflow-datasets."
        )
    split_name = splits.parse(split, _SPLIT_NAMES)[0]
    arrays = {split_name: mnist.read_split(data_dir, split_name)}
    return splits.select(arrays, split, _SPLIT_NAMES)


def _tfds_dataset(name, split):
    import tensorflow_datasets as tfds

    splits.parse(split, _SPLIT_NAMES)
    try:
        return tfds.load(name, split=split, as_supervised=True)
    except Exception as error:  # tfds raises many kinds on failed downloads.
        raise RuntimeError(
            f"Could not load '{name}' through tensorflow-datasets: {error}. "
            "Without a network, download the original files elsewhere and "
            "pass their folder as data_dir."
        ) from error


def load(
    name,
    split="train",
    batch_size=32,
    data_dir=None,
    shuffle=None,
    seed=None,
):
    """Loads a dataset as batches of `(image, label)`.

    Images are float32 in `[0, 1]` with shape `(height, width, channels)`;
    labels are int64 class indices.

    Args:
        name: `"mnist"` (28x28x1, 10 classes) or `"digits"` (scikit-learn's
            bundled 8x8x1 handwritten digits, 1,797 images; 80% train, 20%
            test in a fixed order).
        split: `"train"` or `"test"`, optionally sliced in the
            tensorflow-datasets way: `"train[:5000]"`, `"test[50%:]"`.
        batch_size: Positive integer.
        data_dir: `None` to load through tensorflow-datasets (downloads on
            first use), or a folder holding the dataset's original files
            (for MNIST the four `*-ubyte.gz` IDX files).
        shuffle: Whether to reshuffle the examples each epoch. Defaults to
            `True` for the training split.
        seed: Shuffling seed.

    Returns:
        A batched, prefetching `tf.data.Dataset`.

    Example:

    >>> train = load("digits", split="train", batch_size=64)
    >>> images, labels = next(iter(train))
    >>> tuple(images.shape)
    (64, 8, 8, 1)
    """
    if name not in NAMES:
        raise ValueError(
            f"Received an invalid value for `name`, expected one of {NAMES}. "
            f"Received: name={name!r}"
        )
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
        raise ValueError(
            "Received an invalid value for `batch_size`, expected a positive "
            f"integer. Received: batch_size={batch_size!r}"
        )
    if data_dir is None and name != "digits":
        dataset = _tfds_dataset(name, split)
        size = None
    else:
        images, labels = _local_arrays(name, split, data_dir)
        dataset = tf.data.Dataset.from_tensor_slices((images, labels))
        size = len(images)
    if shuffle is None:
        shuffle = splits.parse(split, _SPLIT_NAMES)[0] == "train"
    if shuffle:
        dataset = dataset.shuffle(size or 60_000, seed=seed)
    dataset = dataset.batch(batch_size).map(
        lambda image, label: (tf.cast(image, tf.float32) / 255.0, tf.cast(label, tf.int64)),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return dataset.prefetch(tf.data.AUTOTUNE)
