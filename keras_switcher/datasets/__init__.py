"""Datasets as batches of `(image, label)`: `tf.data` or `keras.utils.PyDataset`."""

import os

import keras
import numpy as np

from keras_switcher._extras import install_hint, require
from keras_switcher.datasets import cifar, mnist, splits
from keras_switcher.datasets.batches import ImageBatches

NAMES = ("digits", "mnist", "cifar10", "cifar100")
CLASSES = {"digits": 10, "mnist": 10, "cifar10": 10, "cifar100": 100}
_SPLIT_NAMES = ("train", "test")
# Per-channel mean and standard deviation of the training images in [0, 1].
CHANNEL_STATISTICS = {
    "mnist": ((0.1307,), (0.3081,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
}
_AUGMENTED = ("cifar10", "cifar100")
OUTPUTS = ("tf.data", "pydataset")


def _digits_arrays():
    sklearn_datasets = require("sklearn.datasets", "The 'digits' dataset")
    digits = sklearn_datasets.load_digits()
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
    if name == "mnist":
        arrays = {split_name: mnist.read_split(data_dir, split_name)}
    else:
        arrays = {split_name: cifar.read_split(data_dir, name, split_name)}
    return splits.select(arrays, split, _SPLIT_NAMES)


def _tfds_dataset(name, split, as_numpy=False):
    splits.parse(split, _SPLIT_NAMES)
    tfds = require(
        "tensorflow_datasets",
        f"Loading '{name}' without data_dir (through tensorflow-datasets)",
        hint="Or pass the folder of the original files as data_dir.",
    )
    try:
        if as_numpy:
            images, labels = tfds.as_numpy(
                tfds.load(name, split=split, as_supervised=True, batch_size=-1)
            )
            return images, labels
        return tfds.load(name, split=split, as_supervised=True)
    except ImportError as error:
        raise RuntimeError(
            f"tensorflow-datasets cannot load '{name}': the package "
            f"'{error.name}' it needs is not installed ({error}). Install it "
            f"(pip install {error.name}; {install_hint('tensorflow_datasets')} "
            "installs what it needs), or pass the folder of the original files "
            "as data_dir."
        ) from error
    except Exception as error:  # tfds raises many kinds on failed downloads.
        if _network_error(error):
            raise RuntimeError(
                f"Could not download '{name}' through tensorflow-datasets: the "
                f"network is unreachable ({type(error).__name__}: {error}). "
                "Without a network, download the original files elsewhere "
                "and pass their folder as data_dir."
            ) from error
        raise RuntimeError(
            f"tensorflow-datasets failed to load '{name}' "
            f"({type(error).__name__}: {error})."
        ) from error


def _network_error(error):
    """Whether `error`, or an error it came from, is a connection failure."""
    while error is not None:
        if isinstance(error, (ConnectionError, OSError)) and not isinstance(
            error, (FileNotFoundError, PermissionError)
        ):
            return True
        error = error.__cause__ or error.__context__
    return False


def hold_out(name, split, fraction):
    """Splits a dataset's split into training and validation splits.

    Args:
        name: A name of `NAMES`.
        split: The split to cut, such as `"train"` or `"train[:10000]"`.
        fraction: Fraction of its examples held out for validation (the
            last ones), in `(0, 1)`.

    Returns:
        `(training_split, validation_split)`, split strings for `load`.

    Example:

    >>> hold_out("mnist", "train", 0.1)
    ('train[:90%]', 'train[90%:]')
    """
    return splits.hold_out(split, fraction, _SPLIT_NAMES)


def _check_name(name):
    if name not in NAMES:
        raise ValueError(
            f"Received an invalid value for `name`, expected one of {NAMES}. "
            f"Received: name={name!r}"
        )


def arrays(name, split="train", data_dir=None):
    """Loads a dataset's split as NumPy arrays.

    Args:
        name: As in `load`.
        split: As in `load`.
        data_dir: As in `load`.

    Returns:
        `(images, labels)`: uint8 images `(n, height, width, channels)` and
        integer labels `(n,)`.

    Example:

    >>> images, labels = arrays("digits", "test")
    >>> images.shape, images.dtype
    ((360, 8, 8, 1), dtype('uint8'))
    """
    _check_name(name)
    if data_dir is None and name != "digits":
        return _tfds_dataset(name, split, as_numpy=True)
    return _local_arrays(name, split, data_dir)


def _tensorflow(output):
    return require(
        "tensorflow",
        f"output={output!r} builds a `tf.data` pipeline, which",
        hint="Or pass output='pydataset' for batches made in NumPy, which "
        "every Keras backend trains on.",
    )


def _augment(tf, image, seed):
    """The standard CIFAR augmentation: 4-pixel padding, random crop, flip."""
    padded = tf.pad(image, [[4, 4], [4, 4], [0, 0]])
    image = tf.image.random_crop(padded, tf.shape(image), seed=seed)
    return tf.image.random_flip_left_right(image, seed=seed)


def load(
    name,
    split="train",
    batch_size=32,
    data_dir=None,
    shuffle=None,
    seed=None,
    augment=False,
    normalize=False,
    output=None,
):
    """Loads a dataset as batches of `(image, label)`.

    Images are float32 in `[0, 1]` with shape `(height, width, channels)`
    (standardised per channel with `normalize=True`); labels are class
    indices (int64 from `tf.data`, int32 from a `PyDataset`).

    Args:
        name: `"mnist"` (28x28x1, 10 classes), `"cifar10"` (32x32x3, 10
            classes), `"cifar100"` (32x32x3, 100 fine classes) or
            `"digits"` (scikit-learn's bundled 8x8x1 handwritten digits,
            1,797 images; 80% train, 20% test in a fixed order).
        split: `"train"` or `"test"`, optionally sliced in the
            tensorflow-datasets way: `"train[:5000]"`, `"test[50%:]"`.
        batch_size: Positive integer.
        data_dir: `None` to load through tensorflow-datasets (downloads on
            first use), or a folder holding the dataset's original files:
            for MNIST the four `*-ubyte.gz` IDX files; for CIFAR the binary
            version's folder (`cifar-10-batches-bin/`, `cifar-100-binary/`)
            or a folder that contains it.
        shuffle: Whether to reshuffle the examples each epoch. Defaults to
            `True` for the training split.
        seed: Shuffling and augmentation seed.
        augment: CIFAR only: the standard training augmentation (zero
            padding by 4 pixels, a random 32x32 crop, a random horizontal
            flip), done in the pipeline.
        normalize: Subtract each channel's mean and divide by its standard
            deviation over the training set (`CHANNEL_STATISTICS`); not for
            `"digits"`.
        output: `"tf.data"` (needs TensorFlow), `"pydataset"` (an
            `ImageBatches`, made in NumPy, for any backend), or `None`: the
            first on the TensorFlow backend, the second on the others.

    Returns:
        A batched, prefetching `tf.data.Dataset`, or an `ImageBatches`.

    Example:

    >>> train = load("digits", split="train", batch_size=64)
    >>> images, labels = next(iter(train))
    >>> tuple(images.shape)
    (64, 8, 8, 1)
    """
    _check_name(name)
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
        raise ValueError(
            "Received an invalid value for `batch_size`, expected a positive "
            f"integer. Received: batch_size={batch_size!r}"
        )
    if augment and name not in _AUGMENTED:
        raise ValueError(
            f"Received augment=True for name={name!r}: the random crop and "
            f"flip are CIFAR's augmentation (names {_AUGMENTED}); flipping "
            "would change what digits mean."
        )
    if normalize and name not in CHANNEL_STATISTICS:
        raise ValueError(
            f"Received normalize=True for name={name!r}, which has no "
            f"channel statistics; expected one of {sorted(CHANNEL_STATISTICS)}."
        )
    if output is None:
        output = "tf.data" if keras.backend.backend() == "tensorflow" else "pydataset"
    if output not in OUTPUTS:
        raise ValueError(
            f"Received an invalid value for `output`, expected None or one of "
            f"{OUTPUTS}. Received: output={output!r}"
        )
    if shuffle is None:
        shuffle = splits.parse(split, _SPLIT_NAMES)[0] == "train"
    mean, std = CHANNEL_STATISTICS.get(name, (0.0, 1.0)) if normalize else (0.0, 1.0)
    if output == "pydataset":
        images, labels = arrays(name, split, data_dir)
        return ImageBatches(
            images, labels, batch_size, shuffle=shuffle, seed=seed,
            augment=augment, mean=mean, std=std,
        )
    tf = _tensorflow(output)
    if data_dir is None and name != "digits":
        dataset = _tfds_dataset(name, split)
        size = None
    else:
        images, labels = _local_arrays(name, split, data_dir)
        dataset = tf.data.Dataset.from_tensor_slices((images, labels))
        size = len(images)
    if shuffle:
        dataset = dataset.shuffle(size or 60_000, seed=seed)
    if augment:
        dataset = dataset.map(
            lambda image, label: (_augment(tf, image, seed), label),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    dataset = dataset.batch(batch_size).map(
        lambda image, label: (
            (tf.cast(image, tf.float32) / 255.0 - mean) / std,
            tf.cast(label, tf.int64),
        ),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return dataset.prefetch(tf.data.AUTOTUNE)
